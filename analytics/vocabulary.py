"""The words pairwatch speaks everywhere: timeframes, hedge methods, alert directions, bar columns.

This module is the one home of that vocabulary. Settings validate config values against it, the
dashboard builds its dropdowns and parses URL queries from it, storage names its bar columns
after it, and the statistics check their arguments with it; nothing else declares a timeframe,
a method or a direction. It holds constants and one predicate only (no numpy, no I/O), so every
package may import it.
"""

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal, get_args

Timeframe = Literal["1s", "1m", "5m"]
TIMEFRAMES: Final[tuple[Timeframe, ...]] = get_args(Timeframe)
"""Supported bar timeframes, shortest first."""

BAR_SECONDS: Final[Mapping[str, int]] = MappingProxyType({"1s": 1, "1m": 60, "5m": 300})
"""Bar size in seconds of each timeframe."""

HedgeMethod = Literal["ols", "rolling", "kalman", "robust"]
HEDGE_METHODS: Final[tuple[HedgeMethod, ...]] = get_args(HedgeMethod)
"""Hedge-ratio estimators: static OLS, rolling OLS, Kalman filter, robust (Huber) regression."""

WINDOW_FIT_METHODS: Final[frozenset[str]] = frozenset({"ols", "robust"})
"""Methods that fit one β over a window; they also have an in-sample (look-ahead) variant."""

Direction = Literal["UP", "DOWN"]
DIRECTIONS: Final[tuple[Direction, ...]] = get_args(Direction)
"""Directions of a fired alert: z crossed above +entry (UP) or below −entry (DOWN)."""

DirectionFilter = Literal["UP", "DOWN", "both"]
DIRECTION_FILTERS: Final[tuple[DirectionFilter, ...]] = get_args(DirectionFilter)
"""Which crossings an alert rule fires on."""

BAR_COLUMNS: Final[tuple[str, ...]] = (
    "ts_s",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "n_trades",
)
"""Columns of a bar frame, in order (the ``bars_1s`` table without ``symbol``)."""


def is_causal(method: str, *, in_sample: bool) -> bool:
    """Whether every per-bar value of ``method`` uses bars up to its own bar only.

    Every method is causal by default; only a window fit asked for in sample (one β fitted on
    the whole window and applied to every bar in it) looks ahead.
    """
    return not (in_sample and method in WINDOW_FIT_METHODS)


RuleKind = Literal["z", "relationship"]
"""Alert rules watch a pair's z-score (``z``) or its Engle-Granger p (``relationship``)."""

RelationshipEvent = Literal["BROKEN", "RESTORED"]
RELATIONSHIP_EVENTS: Final[tuple[RelationshipEvent, ...]] = get_args(RelationshipEvent)
"""A relationship rule fires BROKEN when the p stays above its threshold, RESTORED when back."""
