"""Shared plumbing of the benchmarks: a simulator subprocess, timing, and result files.

Benchmarks are scripts (``python -m tests.bench.bench_*``), not tests: they print a markdown
table and write ``bench-results/<name>.json`` so the README figures can be traced to a run.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "bench-results"
PG_URL = os.environ.get(
    "PAIRWATCH_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


@contextmanager
def simulator_process(*args: str) -> Iterator[tuple[str, str]]:
    """Run ``python -m ingest simulate --port 0 ARGS`` and yield its (ws, rest) bases."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingest", "simulate", "--port", "0", *args],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("SIMULATOR "):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                break
        else:
            raise RuntimeError("simulator exited before printing its address")
        yield fields["ws"], fields["rest"]
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def wait_for(condition: Any, timeout: float, period: float = 0.05) -> bool:
    """Poll ``condition`` until true or ``timeout``; returns whether it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(period)
    return False


def save(name: str, payload: dict[str, Any]) -> Path:
    """Write ``bench-results/<name>.json`` with machine facts and return its path."""
    RESULTS.mkdir(exist_ok=True)
    payload = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}, **payload}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(payload, indent=2))
    return path


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)
