"""Command line of the ingest process: ``python -m ingest run|simulate|import|status|universe``.

This module owns argument parsing, logging setup, signal handling and turning every expected
failure (bad configuration, unusable database, lock held, bad import file, bad argument) into
one line on stderr with exit status 2, never a traceback; a lost lock, a failed REST call or an
unusable exchange answer exit with 1, a SQLite file removed or replaced under a running ``run``
with 3 (``DATABASE_LOST_EXIT``). ``run`` streams live trades (or the simulator's, when the
feed URL is loopback), ``simulate`` serves the Binance-compatible simulator, ``import`` loads
trade, aggTrade and kline files, ``status`` prints per-symbol coverage and gaps, ``universe``
prints a venue's top symbols by 24 h quote volume as a ``symbols:`` block for config.yaml.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
import time
from pathlib import Path

import pandas as pd

from ingest.binance import Market
from ingest.errors import DATABASE_LOST_EXIT, IngestError, LockLostError, RestError
from ingest.settings import (
    MARKETS,
    SYMBOL_PATTERN,
    ConfigError,
    Settings,
    load_settings,
    split_symbol,
)
from ingest.storage import (
    DatabaseLostError,
    GapState,
    StorageError,
    claim_feed_kind,
    completeness_of,
    make_engine,
    read_gaps,
    read_history,
    read_status,
    trade_summary,
)

USAGE_ERROR = 2
ANSWER_ERROR = 1


def _top(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def _asset(text: str) -> str:
    if not SYMBOL_PATTERN.match(text.upper()):
        raise argparse.ArgumentTypeError(f"{text!r} is not an asset such as USDT")
    return text.upper()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--config", help="config file (default: $PAIRWATCH_CONFIG or config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    verbs = parser.add_subparsers(dest="verb", required=True)
    run = verbs.add_parser("run", help="stream trades into the database")
    run.add_argument("--standby", action="store_true", help="wait for the lock instead of failing")
    verbs.add_parser("simulate", help="serve the Binance-compatible simulator", add_help=False)
    imp = verbs.add_parser("import", help="load trades, aggTrades or 1s/1m klines (CSV/ZIP)")
    imp.add_argument("files", nargs="+", type=Path)
    imp.add_argument("--symbol", help="symbol of the files (default: from the file name)")
    verbs.add_parser("status", help="per-symbol rows, time range, rate and gaps")
    universe = verbs.add_parser("universe", help="top symbols by 24 h quote volume, as YAML")
    universe.add_argument("--quote", type=_asset, default="USDT", help="quote asset (USDT)")
    universe.add_argument("--top", type=_top, default=30, help="how many symbols (30)")
    universe.add_argument("--market", choices=MARKETS, help="venue (default: feed.market)")
    return parser


def _install_signal_handlers(stop: threading.Event) -> None:
    def handle(signum: int, _frame: object) -> None:
        logging.getLogger("ingest").info("signal %d received", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def _run(settings: Settings, standby: bool) -> int:
    from ingest.service import Ingestor  # noqa: PLC0415 - keeps `status` free of websocket

    stop = threading.Event()
    _install_signal_handlers(stop)
    Ingestor(settings, make_engine(settings.storage.url)).run(stop, standby=standby)
    return 0


def _import(settings: Settings, files: list[Path], symbol: str | None) -> int:
    from ingest.importer import ImportFileError, import_file, plan_import  # noqa: PLC0415

    engine = make_engine(settings.storage.url)
    plans = [plan_import(path, symbol) for path in files]
    claims: set[tuple[str, str, str]] = set()
    for plan in plans:  # refuse before storing anything
        kind = plan.detected.layout.feed
        if kind is None:
            continue
        market = split_symbol(plan.symbol, settings.feed.market)[0]
        feed = (market, settings.feed.for_market(market).stream)
        if kind != feed:
            raise ImportFileError(
                f"{plan.path}: {plan.label} does not match the feed of {plan.symbol} "
                f"({feed[0]} {feed[1]}): their trade ids do not mix; import it into a "
                "database configured for that kind"
            )
        claims.add((*feed, "" if market == settings.feed.market else f"{market}:"))
    with engine.begin() as conn:
        for market, stream, prefix in sorted(claims):
            claim_feed_kind(conn, market, stream, now_ms=int(time.time() * 1000), prefix=prefix)
    for plan in plans:
        rows = import_file(engine, plan.path, symbol)
        print(f"{plan.path}: {plan.label}: {rows:,} rows")
    return 0


def _universe(settings: Settings, market: Market | None, quote: str, top: int) -> int:
    from ingest.universe import AnswerError, render, top_symbols  # noqa: PLC0415

    stop = threading.Event()
    _install_signal_handlers(stop)
    try:
        print(render(top_symbols(settings, market or settings.feed.market, quote, top, stop)))
    except (RestError, AnswerError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return ANSWER_ERROR
    return 0


STATUS_ROW = "{:<10} {:>10} {:<23} {:<23} {:>8} {:>9} {:>9}"


def _status(settings: Settings) -> int:
    engine = make_engine(settings.storage.url)
    summary = trade_summary(engine)
    with engine.connect() as conn:
        feed = read_status(conn)
        rates = dict(feed[["symbol", "rate"]].itertuples(index=False))
        gaps = read_gaps(conn)
        history = read_history(conn)
        records = completeness_of(conn, summary["symbol"])
    print(
        STATUS_ROW.format(
            "symbol",
            "rows",
            "first trade (UTC)",
            "last trade (UTC)",
            "rate/s",
            "complete",
            "open gaps",
        )
    )
    for row in summary.itertuples(index=False):
        ledger = records[row.symbol]
        complete = "-" if ledger.fraction is None else f"{ledger.fraction:.2%}"
        print(
            STATUS_ROW.format(
                row.symbol,
                int(row.rows),
                _utc(row.first_ms),
                _utc(row.last_ms),
                f"{rates.get(row.symbol, 0.0):.1f}",
                complete,
                ledger.open,
            )
        )
    if summary.empty:
        print("(no trades stored yet)")
    _print_feed(feed)
    _print_gaps(gaps)
    for row in history:
        print(f"history: {row.describe()}")
    return 0


def _print_feed(feed: pd.DataFrame) -> None:
    notes = sorted({note for note in feed.get("rest_note", ()) if note})
    for note in notes:
        print(f"rest: {note}")
    for row in feed.itertuples(index=False):
        state = "connected" if row.connected else "disconnected"
        print(
            f"feed {row.symbol}: {state} ({row.source}), reconnects {row.reconnects}, "
            f"rejected frames {row.rejected_frames}, dropped trades {row.dropped_trades}"
            + (f"; {row.reason}" if row.reason else "")
        )


def _print_gaps(gaps: pd.DataFrame, shown: int = 10) -> None:
    for state in GapState:
        print(f"gaps {state}: {int((gaps['state'] == state).sum())}")
    unresolved = gaps[gaps["state"] != GapState.FILLED].head(shown)
    for gap in unresolved.itertuples(index=False):
        reason = f": {gap.reason}" if gap.reason else ""
        print(
            f"  {gap.state} {gap.symbol} ids {gap.from_id}-{gap.to_id} "
            f"(detected {_utc(gap.detected_ms)}){reason}"
        )


def _utc(ms: int) -> str:
    import datetime as dt  # noqa: PLC0415

    return dt.datetime.fromtimestamp(int(ms) / 1000, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[
        :-3
    ]


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit status."""
    args, rest = _parser().parse_known_args(argv)
    if args.verb == "simulate":
        from ingest.simulator.cli import main as simulate  # noqa: PLC0415

        return simulate(rest)
    if rest:
        _parser().error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("websocket").setLevel(logging.CRITICAL)  # the reader logs each drop itself
    try:
        settings = load_settings(args.config)
        if args.verb == "run":
            return _run(settings, args.standby)
        if args.verb == "import":
            return _import(settings, args.files, args.symbol)
        if args.verb == "universe":
            return _universe(settings, args.market, args.quote, args.top)
        return _status(settings)
    except LockLostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except DatabaseLostError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return DATABASE_LOST_EXIT
    except (ConfigError, StorageError, IngestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return USAGE_ERROR
