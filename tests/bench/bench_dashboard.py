"""Benchmark: the spread page's refresh round trip with 10k and with 10M trades stored.

Seeds two temporary SQLite files (``trades`` and ``bars_1s`` for BTCUSDT/ETHUSDT, bulk
``executemany``), builds the dashboard once, and times ``POST /_dash-update-component`` of the
spread page's refresh callback through the Flask test client (default view: 1s bars, 60-minute
lookback, OLS) with result sharing off, so every request pays the full refresh (the live cost of
one tab, whose data changes every second). Prints a markdown table and writes
``bench-results/dashboard.json``.
Targets: p95 <= 50 ms, response <= 150 KB, p95(10M) / p95(10k) <= 1.5.

Run: ``python -m tests.bench.bench_dashboard [--quick] [--requests N]``
"""

from __future__ import annotations

import argparse
import gc
import json
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from dashboard.app import create_app
from dashboard.context import EXTENSION_KEY
from dashboard.services import DataService
from ingest.settings import Settings, load_settings
from ingest.storage import make_engine

SYMBOLS = ("BTCUSDT", "ETHUSDT")
TARGET_P95_MS, TARGET_BYTES, TARGET_RATIO = 50.0, 150_000, 1.5
CONFIG = """
storage: {{url: "sqlite:///{db}"}}
pairs: [{{name: BTC-ETH, base: BTCUSDT, hedge: ETHUSDT}}]
dashboard: {{max_points: 2000}}
"""


def seed(db: Path, n_trades: int, trades_per_bar: int) -> None:
    """Write ``n_trades`` trades (split over both symbols) and their 1-second bars."""
    make_engine(f"sqlite:///{db}").dispose()
    seconds = n_trades // (len(SYMBOLS) * trades_per_bar)
    end_s = int(time.time())
    start_s = end_s - seconds + 1
    rng = np.random.default_rng(1)
    hedge = 3000.0 + np.cumsum(rng.normal(0, 0.5, seconds))
    prices = {"ETHUSDT": hedge, "BTCUSDT": 20 * hedge + 500 + rng.normal(0, 3, seconds)}
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
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
            conn.executemany(
                "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?)",
                zip(
                    [symbol] * ids.size,
                    ids.tolist(),
                    ts_ms.tolist(),
                    px.tolist(),
                    [0.01] * ids.size,
                    [False] * ids.size,
                    strict=True,
                ),
            )
            conn.executemany(
                "INSERT INTO bars_1s (symbol, ts_s, open, high, low, close, volume, vwap, "
                "n_trades, quote_volume, first_id, last_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        symbol,
                        start_s + int(s),
                        c,
                        c,
                        c,
                        c,
                        0.01 * trades_per_bar,
                        c,
                        trades_per_bar,
                        c * 0.01 * trades_per_bar,
                        int(s) * trades_per_bar + 1,
                        (int(s) + 1) * trades_per_bar,
                    )
                    for s, c in zip(secs, close[lo:hi], strict=True)
                ],
            )
            conn.commit()
    conn.close()


def refresh_payload(deps: list[dict], session: str) -> dict:
    spread = next(d for d in deps if "spread-chart.figure" in d["output"])
    outputs = [o.split(".") for o in spread["output"].strip(".").split("...")]
    return {
        "output": spread["output"],
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": "pw-tick", "property": "n_intervals", "value": 1},
            {"id": "pw-refresh-now", "property": "n_clicks", "value": None},
            {"id": "pw-url", "property": "search", "value": "?pair=BTC-ETH&tf=1s"},
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


def settings_for(db: Path) -> Settings:
    path = db.with_suffix(".yaml")
    path.write_text(CONFIG.format(db=db), encoding="utf-8")
    return load_settings(path, environ={})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1M instead of 10M trades")
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    big = 1_000_000 if args.quick else 10_000_000
    cases = {"10k": (10_000, 2), f"{big // 1_000_000}M": (big, 20)}
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="pairwatch-bench-") as tmp:
        app = None
        for label, (n_trades, per_bar) in cases.items():
            db = Path(tmp) / f"{label}.db"
            began = time.perf_counter()
            seed(db, n_trades, per_bar)
            seed_s = time.perf_counter() - began
            settings = settings_for(db)
            app = app or create_app(settings)
            app.server.extensions[EXTENSION_KEY] = DataService(settings, share=False)
            gc.collect()
            gc.freeze()  # as wsgi.py does: startup objects leave the collector's full passes
            client = app.server.test_client()
            payload = refresh_payload(client.get("/_dash-dependencies").get_json(), label)
            results[label] = measure(client, payload, args.requests) | {
                "trades": n_trades,
                "seed_s": round(seed_s, 1),
            }
    small, large = results["10k"], results[list(cases)[1]]
    ratio = large["p95_ms"] / small["p95_ms"]
    print("| stored trades | p50 ms | p95 ms | response KB | seed s |")
    print("|---|---|---|---|---|")
    for label, r in results.items():
        print(
            f"| {label} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['bytes'] / 1000:.1f} "
            f"| {r['seed_s']} |"
        )
    print(
        f"\nratio p95 {list(cases)[1]}/10k = {ratio:.2f} (target <= {TARGET_RATIO}); "
        f"targets p95 <= {TARGET_P95_MS} ms, response <= {TARGET_BYTES / 1000:.0f} KB"
    )
    out = Path("bench-results")
    out.mkdir(exist_ok=True)
    report = {
        "cases": results,
        "ratio_p95": ratio,
        "requests": args.requests,
        "targets": {"p95_ms": TARGET_P95_MS, "bytes": TARGET_BYTES, "ratio": TARGET_RATIO},
        "pass": ratio <= TARGET_RATIO
        and all(
            r["p95_ms"] <= TARGET_P95_MS and r["bytes"] <= TARGET_BYTES for r in results.values()
        ),
    }
    (out / "dashboard.json").write_text(json.dumps(report, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
