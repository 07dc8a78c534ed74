"""The screener as the dashboard reads it: the stored ranking, or one computed on request.

The ingestor stores the default rankings (``screener.timeframes`` at ``screener.window``) after
each bar close; ``ranking`` returns that stored result as it is. Any other window (or a default
the ingestor has not stored yet) is computed here from the same bars, with the same functions
(``analytics.closes_grid`` and ``analytics.screen_pairs``) over closed bars only, and cached per
newest closed bar, so a second request for the same window costs nothing; an on-request
ranking is bounded by the read budget (``dashboard.budget.check_screen``) and, when heavy, takes
the worker's heavy slot.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from analytics.bars import closes_grid
from analytics.screener import screen_pairs
from analytics.vocabulary import BAR_SECONDS, Timeframe
from dashboard import budget
from dashboard.data.windows import read_window
from dashboard.services import DataService
from ingest.storage import last_bar_time, read_screen

Source = Literal["stored", "computed"]
SCREENER_TIMEFRAMES: tuple[Timeframe, ...] = ("1m", "5m")
"""Timeframes the screener ranks (1s bars are too noisy and too many for cointegration)."""
MAX_SCREENER_WINDOW = 20_000


@dataclass(frozen=True, slots=True)
class Ranking:
    """Pairs ranked by Engle-Granger p over ``window`` bars of ``tf`` closed by ``as_of_s``."""

    tf: Timeframe
    window: int
    as_of_s: int | None
    pairs: tuple[dict[str, Any], ...]
    source: Source


def ranking(service: DataService, tf: Timeframe, window: int) -> Ranking:
    """The stored ranking when this is a default one the ingestor keeps, else computed."""
    defaults = service.settings.screener
    if defaults.enabled and window == defaults.window and tf in defaults.timeframes:
        with service.engine.connect() as conn:
            stored = read_screen(conn, tf, window)
        if stored is not None:
            return Ranking(tf, window, stored.as_of_s, stored.pairs, "stored")
    symbols = service.settings.symbols
    bar = BAR_SECONDS[tf]
    service.limiter.admit(budget.check_screen(len(symbols), tf, window).heavy)
    with service.engine.connect() as conn:
        newest = last_bar_time(conn, symbols)
    if not newest:
        return Ranking(tf, window, None, (), "computed")
    as_of = max(newest.values()) // bar * bar - bar  # the newest closed bar
    return service.cached(("screener", tf, window, as_of), lambda: _compute(service, tf, window, as_of))


def _compute(service: DataService, tf: Timeframe, window: int, as_of_s: int) -> Ranking:
    bar = BAR_SECONDS[tf]
    with service.engine.connect() as conn:
        frames, _, _ = read_window(conn, service.settings.symbols, tf, (window + 1) * bar)
    grid = closes_grid(
        frames, bar_seconds=bar, max_stale_bars=service.settings.analytics.max_stale_bars
    )
    closed = grid.loc[:as_of_s]
    if closed.shape[1] < 2 or len(closed) < 20:
        return Ranking(tf, window, as_of_s, (), "computed")
    ranked = screen_pairs(closed, window, log=service.settings.analytics.log_prices)
    return Ranking(tf, window, as_of_s, tuple(asdict(pair) for pair in ranked), "computed")
