"""``make bench``: run every benchmark in its own process, one after the other.

Each benchmark prints its markdown table and writes ``bench-results/<name>.json``; running them
as separate processes keeps one benchmark's memory, threads and garbage from skewing the next.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.bench.common import REPO

BENCHMARKS = (
    "bench_ingest",
    "bench_history",
    "bench_analytics",
    "bench_screener",
    "bench_dashboard",
    "bench_load",
)


def main() -> int:
    """Run all benchmarks; the exit status is the number that failed."""
    failed = 0
    for name in BENCHMARKS:
        started = time.perf_counter()
        print(f"\n# {name}", flush=True)
        result = subprocess.run(
            [sys.executable, "-m", f"tests.bench.{name}"], cwd=REPO, check=False
        )
        print(
            f"({name}: {time.perf_counter() - started:.0f} s, exit {result.returncode})", flush=True
        )
        failed += result.returncode != 0
    return failed


if __name__ == "__main__":
    sys.exit(main())
