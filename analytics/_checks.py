"""Input validation shared by the analytics modules (private).

Owns the coercion of array-likes to 1-D float64 arrays and the checks on windows, lengths and
option values, so every public function reports bad input with the same wording and the same
:mod:`analytics.errors` classes. Imports numpy and our errors only.
"""

from collections.abc import Collection
from typing import Any

import numpy as np
import numpy.typing as npt

from analytics.errors import InsufficientDataError, ParameterError

FloatArray = npt.NDArray[np.float64]


def as_float_array(name: str, values: Any) -> FloatArray:
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"{name} must be numeric, got {type(values).__name__}") from exc
    if array.ndim != 1:
        raise ParameterError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def as_pair(base: Any, hedge: Any) -> tuple[FloatArray, FloatArray]:
    x_base = as_float_array("base", base)
    x_hedge = as_float_array("hedge", hedge)
    if x_base.size != x_hedge.size:
        raise ParameterError(
            f"base and hedge must have the same length, got {x_base.size} and {x_hedge.size}"
        )
    return x_base, x_hedge


def check_window(name: str, window: Any, minimum: int = 2) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer):
        raise ParameterError(f"{name} must be an integer, got {window!r}")
    if window < minimum:
        raise ParameterError(f"{name} must be at least {minimum}, got {window}")
    return int(window)


def check_min_length(name: str, size: int, minimum: int) -> None:
    if size < minimum:
        raise InsufficientDataError(f"{name} needs at least {minimum} observations, got {size}")


def check_finite(name: str, values: FloatArray) -> None:
    if not np.isfinite(values).all():
        bad = int(np.count_nonzero(~np.isfinite(values)))
        raise ParameterError(f"{name} contains {bad} non-finite value(s); drop or fill them first")


def check_choice(name: str, value: Any, allowed: Collection[str]) -> str:
    if value not in allowed:
        raise ParameterError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return str(value)


def check_number(
    name: str, value: Any, *, low: float | None = None, strict_low: bool = False
) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ParameterError(f"{name} must be a number, got {value!r}")
    number = float(value)
    if not np.isfinite(number):
        raise ParameterError(f"{name} must be finite, got {value!r}")
    if low is not None and (number <= low if strict_low else number < low):
        relation = ">" if strict_low else ">="
        raise ParameterError(f"{name} must be {relation} {low}, got {value!r}")
    return number
