"""Benchmark: time from ``python -m ingest run`` on a fresh database to the first z per timeframe.

The real product runs: a simulator subprocess (klines served from its generated past, like
Binance's) and an ingest subprocess with the default ``history:`` (2 h of 1s, 7 d of 1m
klines). The benchmark polls the database as the dashboard reads it (``tests.history_probe``)
until a z exists on 1s (window 300), 1m (window 300) and 5m (window 200). The baseline is the
same product without history, where the first z needs the whole window to be streamed: its
wait is ``window × bar length`` (300 s, 5 h, 16.7 h), measured on 1s for ``--baseline-s``
seconds to confirm there is no z before it and extrapolated for the minute views.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from analytics.vocabulary import BAR_SECONDS
from ingest.storage import make_engine
from tests.bench.common import REPO, save, simulator_process, table, wait_for
from tests.history_probe import TF_WINDOWS, newest_z

SYMBOLS = ("BTCUSDT", "ETHUSDT")


def first_z_seconds(workdir: Path, history: dict[str, float], timeout: float) -> dict[str, float]:
    """Seconds from starting the ingestor to the first z on each timeframe (inf: none)."""
    url = f"sqlite:///{workdir / f'history-{len(list(workdir.iterdir()))}.db'}"
    engine = make_engine(url)
    reached: dict[str, float] = {}
    with simulator_process("--symbols", ",".join(SYMBOLS), "--rate", "50") as (ws, rest):
        config = workdir / "ingest.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "feed": {"ws_url": ws, "rest_url": rest},
                    "storage": {"url": url},
                    "history": history,
                    "pairs": [{"name": "BTC-ETH", "base": SYMBOLS[0], "hedge": SYMBOLS[1]}],
                }
            )
        )
        proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(config), "run"],
            cwd=REPO,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        started = time.perf_counter()

        def all_reached() -> bool:
            for tf, window in TF_WINDOWS.items():
                if tf not in reached and newest_z(engine, *SYMBOLS, tf, window) is not None:
                    reached[tf] = time.perf_counter() - started
            return len(reached) == len(TF_WINDOWS)

        try:
            wait_for(all_reached, timeout, 0.1)
        finally:
            proc.terminate()
            proc.wait(10)
    engine.dispose()
    return {tf: reached.get(tf, float("inf")) for tf in TF_WINDOWS}


def main(argv: list[str] | None = None) -> dict[str, object]:
    """Run the benchmark, print the table, write bench-results/history.json."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-s", type=float, default=20.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        with_history = first_z_seconds(workdir, {"one_second_hours": 2, "one_minute_days": 7}, 60)
        without = first_z_seconds(
            workdir, {"one_second_hours": 0, "one_minute_days": 0}, args.baseline_s
        )
    waits = {tf: float(window * BAR_SECONDS[tf]) for tf, window in TF_WINDOWS.items()}
    rows = [
        [
            tf,
            TF_WINDOWS[tf],
            f"{with_history[tf]:.1f} s",
            f"{waits[tf]:,.0f} s"
            + (" (none seen in the measured run)" if without[tf] == float("inf") else ""),
            f"{waits[tf] / with_history[tf]:,.0f}x",
        ]
        for tf in TF_WINDOWS
    ]
    print("\n## Time from start to the first z (fresh database, simulator feed)\n")
    print(table(["timeframe", "window", "with history", "without history", "faster"], rows))
    results = {"with_history_s": with_history, "without_history_s": without, "window_wait_s": waits}
    save("history", results)
    return results


if __name__ == "__main__":
    main()
