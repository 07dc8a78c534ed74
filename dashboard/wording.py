"""The words of every degraded state: ``Notice`` codes and warm-ups turned into sentences.

The data layer says what is wrong as a ``NoticeCode`` with facts; this module alone decides how
the dashboard and the API say it, so a state reads the same on a page, in a card and in
``notices`` of an API answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from analytics.vocabulary import BAR_SECONDS
from dashboard.data.notices import Notice, NoticeCode, Warmup
from ingest.storage import approx_duration


def warmup_text(warmup: Warmup) -> str:
    """``warming up: 41 of 300 bars (about 4 min at 1s)``: the wait assumes live bars."""
    wait = approx_duration((warmup.needed - warmup.bars) * BAR_SECONDS[warmup.tf])
    return f"warming up: {warmup.bars} of {warmup.needed} bars (about {wait} at {warmup.tf})"


def _cannot_connect(facts: dict[str, object]) -> str:
    """Why no trades arrive: where to, what failed, when it retries, what else to try."""
    wait_s = float(facts["retry_in_s"])  # type: ignore[arg-type]
    retry = f"Next retry in about {approx_duration(wait_s)}." if wait_s >= 1 else "Retrying now."
    advice = (
        "Is the simulator running? `make demo` starts it with the dashboard."
        if facts["simulated"]
        else "No internet or Binance blocked here? `make demo` runs fully offline on the "
        "built-in simulator."
    )
    error = str(facts["error"]).rstrip(". ")
    return f"The feed cannot connect to {facts['ws_url']}: {error}. {retry} {advice}"


def _no_data(facts: dict[str, object]) -> str:
    why = (
        "the feed cannot connect"
        if facts["cannot_connect"]
        else "the database has no bars for them. Start the ingestor or wait for the first trades"
    )
    return f"No data yet for {facts['base']} and {facts['hedge']}: {why}."


_TEXT: dict[NoticeCode, Callable[[dict[str, object]], str]] = {
    NoticeCode.INGESTOR_STOPPED: lambda f: (
        f"Ingestor stopped: no status update for {f['stopped_s']} s. "
        "Data shown may be old; start it with `python -m ingest run`."
    ),
    NoticeCode.CANNOT_CONNECT: _cannot_connect,
    NoticeCode.NO_FEED_STATUS: lambda f: "No feed status yet: the ingestor has not reported.",
    NoticeCode.OPEN_GAP: lambda f: (
        f"Open gap in {f['symbol']}: trade ids {f['from_id']}–{f['to_id']} missing "
        "(backfill pending); this window may lack trades."
    ),
    NoticeCode.NO_DATA: _no_data,
    NoticeCode.ONE_LEG_MISSING: lambda f: (
        f"No data for {f['symbol']} in this window: only one leg of the pair has bars, so no "
        "spread can be computed."
    ),
    NoticeCode.NO_ANALYTICS: lambda f: f"No analytics for this view: {f['reason']}",
    NoticeCode.TOO_FEW_SYMBOLS: lambda f: (
        f"Correlation needs bars of at least two symbols; found {f['found']}."
    ),
    NoticeCode.NO_CORRELATION: lambda f: f"No correlation yet: {f['reason']}",
    NoticeCode.WARMING_UP: lambda f: warmup_text(f["warmup"]),  # type: ignore[arg-type]
    NoticeCode.SAME_BAR_FILLS: lambda f: (
        "Same-bar fills are optimistic: each order fills at the close of the bar whose z "
        "produced it, with zero latency. Choose next-bar fills for an honest test."
    ),
    NoticeCode.NO_BACKTEST: lambda f: f"Backtest not possible: {f['reason']}",
    NoticeCode.NO_MATCHING_ALERTS: lambda f: "No alerts match these filters yet.",
    NoticeCode.OVER_BUDGET: lambda f: f"Not computed: {f['reason']}",
    NoticeCode.NO_RANKING: lambda f: (
        "No pair can be ranked yet: the screener needs at least 20 common bars of two symbols "
        f"at {f['tf']}."
    ),
}


def notice_text(notice: Notice) -> str:
    """The sentence a page or the API shows for ``notice``."""
    return _TEXT[notice.code](notice.facts)


def headline(notices: Sequence[Notice], default: str) -> str:
    """The first notice's sentence, for a chart placeholder (``default`` when all is well)."""
    return notice_text(notices[0]) if notices else default
