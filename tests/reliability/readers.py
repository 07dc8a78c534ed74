"""Reader processes for the concurrency case: dashboard-like short reads of ``bars_1s``.

``read_loop`` runs in a child process (spawned, so nothing of the parent's threads is
inherited): for ``seconds`` it opens a connection, reads the last five minutes of 1-second bars
of one symbol in one short read transaction, as a dashboard refresh does, and records the
latency. It returns its counts and latencies; errors are counted by message, never raised.
"""

from __future__ import annotations

import time

from ingest.storage import make_engine, read_bars

WINDOW_S = 300


def read_loop(url: str, symbols: tuple[str, ...], seconds: float) -> dict[str, object]:
    """Read bars in a closed loop for ``seconds``; returns reads, errors and latencies (s)."""
    engine = make_engine(url, create=False)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    rows = 0
    deadline = time.monotonic() + seconds
    turn = 0
    while time.monotonic() < deadline:
        symbol = symbols[turn % len(symbols)]
        turn += 1
        now_s = int(time.time())
        began = time.perf_counter()
        try:
            with engine.connect() as conn:
                rows += len(read_bars(conn, symbol, now_s - WINDOW_S, now_s + 1))
        except Exception as exc:
            key = str(exc).splitlines()[0][:80]
            errors[key] = errors.get(key, 0) + 1
            continue
        latencies.append(time.perf_counter() - began)
    engine.dispose()
    return {"reads": len(latencies), "errors": errors, "latencies": latencies, "rows": rows}
