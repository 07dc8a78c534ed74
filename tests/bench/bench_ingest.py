"""Benchmark: end-to-end ingest throughput vs a naive per-trade ORM pipeline.

The pipeline case runs the real product: a simulator subprocess offers trades faster than one
client can take them, a ``python -m ingest run`` subprocess ingests them, and the benchmark
polls the database until every generated trade is committed; throughput is trades divided by
the time from the first to the last commit. The naive baseline runs in this process: the
default websocket-client (UTF-8 validation in Python), ``json.loads`` and one SQLAlchemy ORM
``add`` + ``commit`` per trade on a default-journal SQLite file, for a fixed time.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import websocket
import yaml
from sqlalchemy import BigInteger, Boolean, Float, String, create_engine, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from ingest.binance import stream_url
from ingest.storage import make_engine
from tests.bench.common import PG_URL, REPO, save, simulator_process, table, wait_for

SYMBOLS = ("BTCUSDT", "ETHUSDT")


class _Base(DeclarativeBase):
    pass


class _NaiveTrade(_Base):
    __tablename__ = "trades"
    symbol: Mapped[str] = mapped_column(String(20), primary_key=True)
    trade_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    ts_ms: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[float] = mapped_column(Float)
    qty: Mapped[float] = mapped_column(Float)
    buyer_maker: Mapped[bool] = mapped_column(Boolean)


def _count(engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM trades")).scalar() or 0)


def pipeline(url: str, per_symbol: int, rate: int, workdir: Path) -> dict[str, float]:
    """Trades/s committed by the real ingestor for ``per_symbol`` trades of each symbol."""
    engine = make_engine(url)
    with engine.begin() as conn:
        for table_name in ("trades", "bars_1s", "gaps", "feed_status"):
            conn.execute(text(f"DELETE FROM {table_name}"))
    args = ["--symbols", ",".join(SYMBOLS), "--rate", str(rate), "--max-trades", str(per_symbol)]
    with simulator_process(*args) as (ws, rest):
        config = workdir / f"ingest-{engine.dialect.name}.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "feed": {"ws_url": ws, "rest_url": rest},
                    "storage": {"url": url},
                    "pairs": [{"name": "BTC-ETH", "base": SYMBOLS[0], "hedge": SYMBOLS[1]}],
                }
            )
        )
        total = per_symbol * len(SYMBOLS)
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(config), "run"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(lambda: _count(engine) > 0, 30, 0.005)
            started = time.perf_counter()
            done = wait_for(lambda: _count(engine) >= total, 120, 0.02)
            elapsed = time.perf_counter() - started
        finally:
            proc.terminate()
            proc.wait(10)
    stored = _count(engine)
    engine.dispose()
    return {
        "trades": stored,
        "complete": float(done and stored == total),
        "seconds": elapsed,
        "rate": stored / elapsed,
    }


def naive(seconds: float, workdir: Path) -> dict[str, float]:
    """Trades/s of default websocket-client + json + one ORM commit per trade (this process)."""
    engine = create_engine(f"sqlite:///{workdir / 'naive.db'}")
    _Base.metadata.create_all(engine)
    stored = 0
    with (
        simulator_process("--symbols", ",".join(SYMBOLS), "--rate", "5000") as (ws, _rest),
        Session(engine) as session,
    ):

        def on_message(_ws: websocket.WebSocket, message: str) -> None:
            nonlocal stored
            data = json.loads(message)["data"]
            session.add(
                _NaiveTrade(
                    symbol=data["s"],
                    trade_id=data["t"],
                    ts_ms=data["T"],
                    price=float(data["p"]),
                    qty=float(data["q"]),
                    buyer_maker=data["m"],
                )
            )
            session.commit()
            stored += 1

        app = websocket.WebSocketApp(
            stream_url(ws, "spot", list(SYMBOLS), "trade"), on_message=on_message
        )
        timer = threading.Timer(seconds, app.close)
        thread = threading.Thread(target=app.run_forever, daemon=True)
        thread.start()
        timer.start()
        thread.join(seconds + 10)
    return {"trades": stored, "seconds": seconds, "rate": stored / seconds}


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark, print the table, write bench-results/ingest.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-symbol", type=int, default=150_000)
    parser.add_argument("--rate", type=int, default=30_000, help="offered trades/s per symbol")
    parser.add_argument("--naive-seconds", type=float, default=5.0)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results: dict[str, object] = {
            "sqlite": pipeline(
                f"sqlite:///{workdir / 'bench.db'}", args.per_symbol, args.rate, workdir
            ),
            "naive_sqlite_orm": naive(args.naive_seconds, workdir),
        }
        if not args.no_postgres:
            results["postgresql"] = pipeline(PG_URL, args.per_symbol, args.rate, workdir)
    naive_rate = results["naive_sqlite_orm"]["rate"]
    rows = [
        [
            name,
            f"{r['trades']:,}",
            f"{r['seconds']:.2f}",
            f"{r['rate']:,.0f}",
            f"{r['rate'] / naive_rate:.1f}x",
        ]
        for name, r in results.items()
    ]
    print("\n## Ingest throughput (simulator → websocket → parse → database, end to end)\n")
    print(table(["pipeline", "trades", "seconds", "trades/s", "vs naive"], rows))
    save("ingest", results)
    return results


if __name__ == "__main__":
    main()
