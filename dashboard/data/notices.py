"""The degraded states a page explains, as codes with their facts (no words here).

A ``Notice`` says *what* is wrong (``NoticeCode``), how bad (``level``) and the facts the text
needs (a symbol, a retry time, an error); ``dashboard.wording`` turns it into the sentence a
page or the API shows, so one state has one wording everywhere. A ``Warmup`` is a statistic
that still lacks bars: bars present of bars needed at a timeframe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from analytics.vocabulary import Timeframe

Level = Literal["info", "warning", "danger"]


class NoticeCode(StrEnum):
    """Every degraded state a page can be in."""

    INGESTOR_STOPPED = "ingestor_stopped"
    CANNOT_CONNECT = "cannot_connect"
    NO_FEED_STATUS = "no_feed_status"
    OPEN_GAP = "open_gap"
    NO_DATA = "no_data"
    ONE_LEG_MISSING = "one_leg_missing"
    NO_ANALYTICS = "no_analytics"
    TOO_FEW_SYMBOLS = "too_few_symbols"
    NO_CORRELATION = "no_correlation"
    WARMING_UP = "warming_up"
    SAME_BAR_FILLS = "same_bar_fills"
    NO_BACKTEST = "no_backtest"
    NO_MATCHING_ALERTS = "no_matching_alerts"
    NO_RANKING = "no_ranking"
    OVER_BUDGET = "over_budget"


@dataclass(frozen=True, slots=True)
class Notice:
    """A state a page shows instead of (or above) a chart: code, level and facts."""

    code: NoticeCode
    level: Level
    facts: dict[str, object] = field(default_factory=dict, hash=False, compare=True)


@dataclass(frozen=True, slots=True)
class Warmup:
    """A statistic that needs ``needed`` aligned bars of timeframe ``tf``; ``bars`` exist."""

    bars: int
    needed: int
    tf: Timeframe

    def notice(self) -> Notice:
        return Notice(NoticeCode.WARMING_UP, "info", {"warmup": self})
