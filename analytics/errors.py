"""Errors raised by the analytics package.

Every failure of an ``analytics`` function on bad input is an :class:`AnalyticsError`, so callers
(dashboard callbacks, the ingest alert worker) can catch one type and show its message:

* AnalyticsError (a ``ValueError``)
  + InsufficientDataError   too few observations for the requested window or statistic
  + ParameterError          an argument is out of range, of the wrong shape or inconsistent
"""


class AnalyticsError(ValueError):
    """Base class for every error raised by ``analytics``."""


class InsufficientDataError(AnalyticsError):
    """There are too few (finite) observations for the requested computation."""


class ParameterError(AnalyticsError):
    """An argument is invalid: wrong shape, out of range, unknown option or inconsistent."""
