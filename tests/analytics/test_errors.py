"""The analytics error hierarchy: one base class, catchable as ValueError."""

import pytest

from analytics import AnalyticsError, InsufficientDataError, ParameterError, ols_fit


@pytest.mark.parametrize("error", [InsufficientDataError, ParameterError])
def test_every_error_is_an_analytics_error_and_a_value_error(error: type[Exception]) -> None:
    assert issubclass(error, AnalyticsError)
    assert issubclass(error, ValueError)


def test_messages_name_the_problem() -> None:
    with pytest.raises(InsufficientDataError, match="at least 3"):
        ols_fit([1.0, 2.0], [3.0, 4.0])
    with pytest.raises(ParameterError, match="same length"):
        ols_fit([1.0, 2.0, 3.0], [3.0, 4.0])
