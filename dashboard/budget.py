"""Work budgets: the most one request may make a worker do, estimated from its query alone.

A view's cost is dominated by three things, measured on the 2-core reference machine (see the
README's Security section): reading stored 1-second bars (about 4 µs each, read and resampled,
also for 1m and 5m views), fitting the hedge per bar (at most about 3 µs a bar, except the robust
fit, which refits a Huber regression on every trailing window: about 0.75 µs per bar × window)
and writing a per-bar answer (about 9 µs per JSON point). ``Work`` counts these for a query
before anything is read, so the same query always gets the same answer whatever the data holds.
The caps: a pair reads at most ``MAX_SPAN_S`` per leg and a request ``MAX_READ_BARS`` in all (the
heatmap's symbols share it); a robust fit handles at most ``MAX_ROBUST_VALUES``; an answer holds
at most ``MAX_SERIES_POINTS`` per-bar rows. The API refuses a query over a cap with a 400 naming
it; a page shows the reason instead of the analytics. Work estimated above ``HEAVY_MS`` is heavy
and runs only in one of the worker's heavy slots (:mod:`dashboard.limiter`).
"""

from __future__ import annotations

from dataclasses import dataclass

from analytics.vocabulary import BAR_SECONDS, Timeframe
from dashboard.errors import QueryError
from dashboard.params import MAX_SPAN_S, View

MAX_READ_BARS = 2 * MAX_SPAN_S
"""Stored 1-second bars one request may read, summed over symbols: a pair over two days."""
MAX_ROBUST_VALUES = 2_000_000
"""Bars × window one robust hedge fit may handle (about 1.5 s of CPU)."""
MAX_SERIES_POINTS = 20_000
"""Per-bar rows one answer may hold: a series, a CSV export, ``/bars``, an equity curve."""
HEAVY_MS = 100.0
"""Estimated CPU milliseconds above which a request needs a heavy slot."""
READ_US_PER_BAR = 4.0
FIT_US_PER_BAR = 3.0
ROBUST_US_PER_VALUE = 0.75
POINT_US = 9.0


@dataclass(frozen=True, slots=True)
class Work:
    """What a request will do: bars read and fitted, robust values, points written."""

    read_bars: int = 0
    fit_bars: int = 0
    robust_values: int = 0
    points: int = 0

    def __add__(self, other: Work) -> Work:
        return Work(
            self.read_bars + other.read_bars,
            self.fit_bars + other.fit_bars,
            self.robust_values + other.robust_values,
            self.points + other.points,
        )

    @property
    def cpu_ms(self) -> float:
        """The estimated CPU time, from the measured unit costs."""
        micros = (
            self.read_bars * READ_US_PER_BAR
            + self.fit_bars * FIT_US_PER_BAR
            + self.robust_values * ROBUST_US_PER_VALUE
            + self.points * POINT_US
        )
        return micros / 1000

    @property
    def heavy(self) -> bool:
        return self.cpu_ms > HEAVY_MS


def view_bars(view: View) -> int:
    """Bars per leg at the view's timeframe over the span it reads."""
    return view.span_s // view.bar_seconds


def robust_values(view: View) -> int:
    """Bars × window the view's hedge fit handles (0 unless the method is robust)."""
    if view.method != "robust":
        return 0
    return max(view_bars(view) - view.window + 1, 0) * view.window


def pair_work(view: View, *, points: bool = False) -> Work:
    """A pair view: both legs read over its span, fitted, with ``points`` if it has a series."""
    bars = view_bars(view)
    return Work(2 * view.span_s, bars, robust_values(view), bars if points else 0)


def heatmap_span(symbols: int, tf: Timeframe, bars: int) -> int:
    """Seconds the correlation heatmap reads per symbol for ``bars`` bars, within the budget."""
    return min(bars * BAR_SECONDS[tf], MAX_SPAN_S, MAX_READ_BARS // max(symbols, 1))


def heatmap_work(symbols: int, tf: Timeframe, window: int) -> Work:
    """The heatmap of ``symbols`` over ``window`` returns (``window + 1`` bars each)."""
    return Work(read_bars=symbols * heatmap_span(symbols, tf, window + 1))


def robust_problem(view: View) -> str | None:
    """Why the view's robust fit is over budget, or None when it fits."""
    values = robust_values(view)
    if values <= MAX_ROBUST_VALUES:
        return None
    return (
        f"a robust hedge over {view_bars(view):,} bars with window {view.window:,} is "
        f"{values:,} values, over the cap of {MAX_ROBUST_VALUES:,} per request; shorten the "
        "lookback or the window, or pick another method"
    )


def check_robust(view: View) -> None:
    """``QueryError`` on ``window`` when the robust fit of ``view`` is over budget."""
    problem = robust_problem(view)
    if problem is not None:
        raise QueryError("window", problem)


def series_span_s(bar_seconds: int) -> int:
    """The longest span one per-bar answer may cover at ``bar_seconds`` bars."""
    return min(MAX_SERIES_POINTS * bar_seconds, MAX_SPAN_S)


def check_series(parameter: str, span_s: int, bar_seconds: int) -> None:
    """``QueryError`` on ``parameter`` when a per-bar answer over ``span_s`` is over the cap."""
    longest = series_span_s(bar_seconds)
    if span_s > longest:
        raise QueryError(
            parameter,
            f"this answer would hold {span_s // bar_seconds:,} bars; one answer holds at most "
            f"{MAX_SERIES_POINTS:,} bars and {longest:,} s ({longest // 60:,} min at this tf): "
            "ask for a shorter lookback, a coarser tf or smaller pieces",
        )


def check_screen(symbols: int, tf: Timeframe, window: int) -> Work:
    """The work of ranking ``symbols`` over ``window`` bars on request; ``QueryError`` on
    ``window`` when it reads more than ``MAX_READ_BARS`` (the stored default costs nothing)."""
    work = Work(read_bars=symbols * (window + 1) * BAR_SECONDS[tf])
    if work.read_bars > MAX_READ_BARS:
        longest = MAX_READ_BARS // (max(symbols, 1) * BAR_SECONDS[tf]) - 1
        raise QueryError(
            "window",
            f"ranking {symbols} symbols over {window:,} bars of {tf} reads {work.read_bars:,} "
            f"stored bars, over the cap of {MAX_READ_BARS:,} per request; ask for at most "
            f"{longest:,} bars, or use the stored default window",
        )
    return work
