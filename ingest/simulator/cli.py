"""Command line of the simulator (``python -m ingest simulate ...`` calls ``main``).

This module owns argument parsing and validation (one-line ``simulate: error: ...`` messages,
exit code 2), the help text (including the routes and Binance limits the simulator enforces),
building a ``SimulatorConfig``, starting the ``Simulator``, printing the bound URLs (human
lines and a machine line ``SIMULATOR ws=ws://127.0.0.1:PORT rest=http://127.0.0.1:PORT``,
flushed, so parents can use ``--port 0``), and running until SIGINT/SIGTERM, then stopping
cleanly with exit code 0. A simulator that fails to start, or fails while running, prints
``simulate: error: ...`` and exits with code 1.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

from ingest.simulator.config import IdRange, ReplayFile, SimulatorConfig
from ingest.simulator.errors import SimulatorError
from ingest.simulator.simulator import Simulator


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _id_range(text: str) -> IdRange:
    try:
        return IdRange.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _symbols(text: str) -> tuple[str, ...]:
    syms = tuple(s.strip().upper() for s in text.split(",") if s.strip())
    if not syms:
        raise argparse.ArgumentTypeError("--symbols: give e.g. BTCUSDT,ETHUSDT")
    return syms


EPILOG = """\
routes (anything else answers HTTP 404, websocket upgrades included):
  spot websocket   /ws/<stream>[/<stream>..], /stream?streams=<s1>/<s2>  (<sym>@trade,
                   <sym>@aggTrade; at most 1024 streams per connection)
  USD-M websocket  /market/ws/<stream>.., /market/stream?streams=..  (<sym>@aggTrade,
                   <sym>@markPrice, <sym>@markPrice@1s; <sym>@trade is accepted and never fed;
                   at most 200 streams per connection; more closes with 1008)
  spot REST        /api/v3/ping, time, exchangeInfo, trades, historicalTrades, aggTrades, klines
  USD-M REST       /fapi/v1/ping, time, exchangeInfo, trades, historicalTrades (needs an
                   X-MBX-APIKEY header, else 401 -2014), aggTrades (last 48 h only), klines
limits: request weight per endpoint as documented, counted per market and calendar minute and
reported in X-MBX-USED-WEIGHT-1M (429 past 6000 spot / 2400 USD-M); 300 websocket connection
attempts per 5 minutes per IP (429 past it).
"""


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="simulate",
        description="Offline Binance-compatible exchange (spot and USD-M websocket streams + "
        "REST) on loopback.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port, 0 = ephemeral (default 8765)")
    p.add_argument(
        "--symbols",
        type=_symbols,
        default=("BTCUSDT", "ETHUSDT"),
        help="comma-separated symbols; the last one is the hedge (default BTCUSDT,ETHUSDT)",
    )
    p.add_argument("--rate", type=float, default=20.0, help="trades/s per symbol (default 20)")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--beta", type=float, default=22.0, help="hedge ratio of every base symbol")
    p.add_argument("--hedge", help="the hedge symbol every base follows (default: the last)")
    p.add_argument(
        "--proportional",
        action="store_true",
        help="each base follows the hedge in relative terms (beta = price ratio)",
    )
    p.add_argument(
        "--replay",
        nargs="+",
        metavar="FILE",
        default=[],
        help="trade CSVs to replay (FILE or SYMBOL=FILE) instead of synthetic data",
    )
    p.add_argument("--speed", type=float, default=1.0, help="replay speed, 0 = as fast as possible")
    p.add_argument("--start-id", type=int, default=1, help="first trade id of every symbol")
    p.add_argument(
        "--drop-after", type=int, metavar="N", help="drop every connection after N frames"
    )
    p.add_argument(
        "--shutdown-after-seconds",
        type=float,
        metavar="S",
        help="send serverShutdown S seconds after each connection opens, then close",
    )
    p.add_argument(
        "--skip-ids",
        type=_id_range,
        action="append",
        default=[],
        metavar="SYMBOL:A-B",
        help="withhold these ids from the stream (REST serves them)",
    )
    p.add_argument(
        "--forget-ids",
        type=_id_range,
        action="append",
        default=[],
        metavar="SYMBOL:A-B",
        help="REST no longer serves these ids",
    )
    p.add_argument(
        "--malformed-every",
        type=int,
        metavar="N",
        help="send a malformed frame after every N frames",
    )
    p.add_argument("--max-trades", type=int, metavar="N", help="stop after N trades per symbol")
    p.add_argument(
        "--excursion-at",
        type=float,
        metavar="S",
        help="push the spread several sigma away S seconds after generation starts",
    )
    p.add_argument(
        "--history-seconds",
        type=float,
        default=7 * 86400.0,
        metavar="S",
        help="generated past served as 1m klines before the live tape (default 7 days)",
    )
    p.add_argument(
        "--history-1s-seconds",
        type=float,
        default=2 * 3600.0,
        metavar="S",
        help="generated past served as 1s klines (default 2 hours)",
    )
    p.add_argument(
        "--no-klines",
        action="store_true",
        help="answer every klines request -1120 (an exchange without kline history)",
    )
    p.add_argument(
        "--always",
        action="store_true",
        help="generate even when no client is connected (default: only while connected)",
    )
    return p


def config_from_args(args: argparse.Namespace) -> SimulatorConfig:
    """Map parsed flags to a validated config (``ValueError`` on bad combinations)."""
    if args.replay and args.symbols != ("BTCUSDT", "ETHUSDT"):
        raise ValueError("--symbols cannot be combined with --replay (symbols come from the files)")
    replay = tuple(ReplayFile.parse(f) for f in args.replay)
    for rf in replay:
        if not Path(rf.path).is_file():
            raise ValueError(f"--replay: file not found: {rf.path}")
    cfg = SimulatorConfig(
        host=args.host,
        port=args.port,
        symbols=args.symbols,
        rate=args.rate,
        seed=args.seed,
        beta=args.beta,
        hedge_symbol=args.hedge,
        proportional=args.proportional,
        replay=replay,
        speed=args.speed,
        start_id=args.start_id,
        drop_after_frames=args.drop_after,
        shutdown_after_s=args.shutdown_after_seconds,
        skip_ids=tuple(args.skip_ids),
        forget_ids=tuple(args.forget_ids),
        malformed_every=args.malformed_every,
        max_trades=args.max_trades,
        excursion_at_s=args.excursion_at,
        generate="always" if args.always else "connected",
        klines=not args.no_klines,
        history_s=args.history_seconds,
        history_1s_s=args.history_1s_seconds,
    )
    cfg.validate()
    known = set(cfg.symbols) if not replay else None
    for r in (*cfg.skip_ids, *cfg.forget_ids):
        if known is not None and r.symbol not in known:
            raise ValueError(f"id range symbol {r.symbol} is not one of {sorted(known)}")
    return cfg


def main(argv: list[str] | None = None) -> int:
    """Run the simulator until SIGINT/SIGTERM. Returns the process exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code) if isinstance(e.code, int) else 2
    try:
        cfg = config_from_args(args)
        sim = Simulator(cfg)
    except ValueError as e:
        print(f"simulate: error: {e}", file=sys.stderr)
        return 2
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    try:
        with sim:
            mode = f"replay x{cfg.speed}" if cfg.replay else f"synthetic {cfg.rate}/s per symbol"
            print(f"Binance simulator ({mode}, symbols {','.join(sim.symbols)})", flush=True)
            print(f"  websocket: {sim.stream_url()}", flush=True)
            print(f"  USD-M:     {sim.stream_url('aggTrade', market='usdm')}", flush=True)
            print(f"  REST:      {sim.rest_base}/api/v3/ping, {sim.rest_base}/fapi/v1/ping")
            print(f"SIMULATOR ws={sim.ws_base} rest={sim.rest_base}", flush=True)
            while not stop.wait(0.5):
                sim.check()
    except SimulatorError as e:
        print(f"simulate: error: {e}", file=sys.stderr)
        return 1
    return 0
