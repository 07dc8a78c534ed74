"""Benchmark: the spread page's refresh round trip with 10k and with 10M trades stored.

Seeds ``trades`` and ``bars_1s`` for BTCUSDT/ETHUSDT in temporary SQLite files and PostgreSQL
schemas (through the product's own bulk insert), builds the dashboard once, and times
``POST /_dash-update-component`` of the spread page's refresh callback through the Flask test
client (default view: 1s bars, 60-minute lookback, OLS) with result sharing off, so every
request pays the full refresh (the live cost of one tab, whose data changes every second).
On the small SQLite database it also times each hedge method (all causal: a static fit is
refitted per bar).
Prints a markdown table and writes ``bench-results/dashboard.json``.
Targets: p95 <= 50 ms, response <= 150 KB, p95(10M) / p95(10k) <= 1.5.

Run: ``python -m tests.bench.bench_dashboard [--quick] [--requests N]``
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import psycopg
from sqlalchemy import insert

from dashboard.app import create_app
from dashboard.context import EXTENSION_KEY
from dashboard.services import DataService
from ingest.settings import Settings, load_settings
from ingest.storage import Trade, insert_trades, make_engine
from ingest.storage.schema import bars_1s
from tests.bench.common import PG_URL, save, table

BAR_FIELDS = (
    "symbol",
    "ts_s",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "vwap",
    "n_trades",
    "quote_volume",
    "first_id",
    "last_id",
)

SYMBOLS = ("BTCUSDT", "ETHUSDT")
METHOD_REQUESTS = {"ols": 60, "rolling": 60, "kalman": 60, "robust": 10}
"""Requests per hedge method (robust refits a Huber regression per bar: fewer requests)."""
TARGET_P95_MS, TARGET_BYTES, TARGET_RATIO = 50.0, 150_000, 1.5
CONFIG = """
storage: {{url: "{url}"}}
pairs: [{{name: BTC-ETH, base: BTCUSDT, hedge: ETHUSDT}}]
dashboard: {{max_points: 2000}}
"""


def _chunks(n_trades: int, trades_per_bar: int) -> Iterator[tuple[list[tuple], list[tuple]]]:
    """Trades (split over both symbols) and their 1-second bars, ending now, in chunks."""
    seconds = n_trades // (len(SYMBOLS) * trades_per_bar)
    end_s = int(time.time())
    start_s = end_s - seconds + 1
    rng = np.random.default_rng(1)
    hedge = 3000.0 + np.cumsum(rng.normal(0, 0.5, seconds))
    prices = {"ETHUSDT": hedge, "BTCUSDT": 20 * hedge + 500 + rng.normal(0, 3, seconds)}
    chunk = 200_000 // trades_per_bar
    for symbol, close in prices.items():
        for lo in range(0, seconds, chunk):
            hi = min(lo + chunk, seconds)
            secs = np.arange(lo, hi)
            ids = (
                np.repeat(secs, trades_per_bar) * trades_per_bar
                + np.tile(np.arange(trades_per_bar), hi - lo)
                + 1
            )
            ts_ms = (start_s + ids // trades_per_bar) * 1000 + (ids % trades_per_bar) * 7
            px = np.repeat(close[lo:hi], trades_per_bar)
            trades = list(
                zip(
                    [symbol] * ids.size,
                    ids.tolist(),
                    ts_ms.tolist(),
                    px.tolist(),
                    [0.01] * ids.size,
                    [False] * ids.size,
                    strict=True,
                )
            )
            volume = 0.01 * trades_per_bar
            bars = [
                (
                    symbol,
                    start_s + int(s),
                    c,
                    c,
                    c,
                    c,
                    volume,
                    c,
                    trades_per_bar,
                    c * volume,
                    int(s) * trades_per_bar + 1,
                    (int(s) + 1) * trades_per_bar,
                )
                for s, c in zip(secs, close[lo:hi], strict=True)
            ]
            yield trades, bars


def seed(url: str, n_trades: int, trades_per_bar: int) -> None:
    """Fill an empty database at ``url`` with the benchmark's trades and bars."""
    engine = make_engine(url)
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for trades, bars in _chunks(n_trades, trades_per_bar):
            insert_trades(conn, [Trade(*row) for row in trades])
            conn.execute(insert(bars_1s), [dict(zip(BAR_FIELDS, row, strict=True)) for row in bars])
    engine.dispose()


def refresh_payload(deps: list[dict], session: str, method: str = "ols") -> dict:
    spread = next(d for d in deps if "spread-chart.figure" in d["output"])
    outputs = [o.split(".") for o in spread["output"].strip(".").split("...")]
    return {
        "output": spread["output"],
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": "pw-tick", "property": "n_intervals", "value": 1},
            {"id": "pw-refresh-now", "property": "n_clicks", "value": None},
            {"id": "pw-url", "property": "search", "value": f"?pair=BTC-ETH&tf=1s&method={method}"},
        ],
        "state": [{"id": "pw-session", "property": "data", "value": session}],
        "changedPropIds": ["pw-tick.n_intervals"],
    }


def measure(client, payload: dict, requests: int) -> dict[str, float]:
    timings, sizes = [], []
    for i in range(requests + 5):
        began = time.perf_counter()
        response = client.post("/_dash-update-component", json=payload)
        elapsed = (time.perf_counter() - began) * 1000
        if response.status_code != 200:
            raise SystemExit(f"refresh failed with HTTP {response.status_code}")
        if i >= 5:
            timings.append(elapsed)
            sizes.append(len(response.data))
    timings.sort()
    return {
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
        "bytes": max(sizes),
    }


def settings_for(url: str, directory: Path) -> Settings:
    path = directory / "bench.yaml"
    path.write_text(CONFIG.format(url=url), encoding="utf-8")
    return load_settings(path, environ={})


@contextmanager
def database(backend: str, directory: Path, label: str) -> Iterator[str]:
    """A fresh database URL: a SQLite file, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / f'{label}.db'}"
        return
    schema = f"bench_{label.lower()}"
    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M instead of 10M trades")
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    big = 1_000_000 if args.quick else 10_000_000
    # 10k trades at one per bar are 5,000 s of bars: both cases fill the 1 h window
    cases = {"10k": (10_000, 1), f"{big // 1_000_000}M": (big, 20)}
    backends = ("sqlite",) if args.no_postgres else ("sqlite", "postgresql")
    results: dict[str, dict[str, dict[str, float]]] = {b: {} for b in backends}
    app = None
    with tempfile.TemporaryDirectory(prefix="pairwatch-bench-") as tmp:
        for backend in backends:
            for label, (n_trades, per_bar) in cases.items():
                with database(backend, Path(tmp), label) as url:
                    began = time.perf_counter()
                    seed(url, n_trades, per_bar)
                    seed_s = time.perf_counter() - began
                    settings = settings_for(url, Path(tmp))
                    app = app or create_app(settings)
                    app.server.extensions[EXTENSION_KEY] = DataService(settings, share=False)
                    gc.collect()
                    gc.freeze()  # as wsgi.py does: startup objects leave the full collections
                    client = app.server.test_client()
                    deps = client.get("/_dash-dependencies").get_json()
                    measured = measure(client, refresh_payload(deps, label), args.requests)
                    results[backend][label] = measured | {"trades": n_trades, "seed_s": seed_s}
                    if backend == "sqlite" and label == "10k":
                        by_method = {
                            m: measure(client, refresh_payload(deps, m, m), n)
                            for m, n in METHOD_REQUESTS.items()
                        }
    rows, ratios = [], {}
    for backend, by_case in results.items():
        small, large = by_case["10k"], by_case[list(cases)[1]]
        ratios[backend] = large["p95_ms"] / small["p95_ms"]
        rows += [
            [
                backend,
                label,
                f"{r['p50_ms']:.1f}",
                f"{r['p95_ms']:.1f}",
                f"{r['bytes'] / 1000:.1f}",
                f"{r['seed_s']:.0f}",
            ]
            for label, r in by_case.items()
        ]
    print("\n## Spread-page refresh by hedge method (SQLite, 1 h of 1 s bars, causal)\n")
    print(
        table(
            ["method", "p50 ms", "p95 ms", "response KB"],
            [
                [m, f"{r['p50_ms']:.1f}", f"{r['p95_ms']:.1f}", f"{r['bytes'] / 1000:.1f}"]
                for m, r in by_method.items()
            ],
        )
    )
    print("\n## Spread-page refresh round trip (POST /_dash-update-component)\n")
    print(table(["backend", "stored trades", "p50 ms", "p95 ms", "response KB", "seed s"], rows))
    print(
        "\nratio p95 big/10k: "
        + ", ".join(f"{b} {r:.2f}" for b, r in ratios.items())
        + f" (target <= {TARGET_RATIO}); targets p95 <= {TARGET_P95_MS} ms, "
        f"response <= {TARGET_BYTES / 1000:.0f} KB"
    )
    save(
        "dashboard",
        {
            "cases": results,
            "by_method": by_method,
            "ratio_p95": ratios,
            "requests": args.requests,
            "targets": {"p95_ms": TARGET_P95_MS, "bytes": TARGET_BYTES, "ratio": TARGET_RATIO},
        },
    )


if __name__ == "__main__":
    main()
