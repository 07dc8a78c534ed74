"""Run ``python -m ingest run`` as a real subprocess against a simulator, for end-to-end tests.

``IngestProcess`` writes a config pointing the feed at a running ``Simulator`` and the storage
at a test database, starts the ingestor, and always stops it at the end (SIGTERM, then kill).
The helpers here read back what landed in the database so tests compare it with the
simulator's own record of what it generated.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from sqlalchemy import Engine, text

from tests.conftest import REPO


def ingest_config(
    tmp_path: Path,
    simulator: Any,
    url: str,
    extra: dict[str, Any] | None = None,
    name: str = "ingest.yaml",
) -> Path:
    """A config for an ingestor fed by ``simulator`` and writing to ``url``.

    Candle history is off unless a test asks for it in ``extra``: the trade-path tests compare
    stored bars with the trades the simulator sent.
    """
    data: dict[str, Any] = {
        "feed": {"ws_url": simulator.ws_base, "rest_url": simulator.rest_base, "silence_s": 5},
        "storage": {"url": url},
        "history": {"one_second_hours": 0, "one_minute_days": 0},
        "ingest": {"flush_ms": 50},
        "pairs": [{"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"}],
    }
    for key, value in (extra or {}).items():
        data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


def run_ingest(config: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m ingest --config CONFIG ARGS`` to completion, output captured (not checked)."""
    return subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


class IngestProcess:
    """A running ``python -m ingest run`` child; use as a context manager."""

    def __init__(self, config: Path, *args: str) -> None:
        self.log_path = config.with_suffix(".log")
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "ingest", "--config", str(config), "run", *args],
            cwd=REPO,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def __enter__(self) -> IngestProcess:
        return self

    def __exit__(self, *_exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        self._log.close()

    def terminate(self, timeout: float = 5.0) -> int:
        """SIGTERM and wait; returns the exit status (fails the test if it overstays)."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def output(self) -> str:
        """Everything the process logged so far."""
        self._log.flush()
        return self.log_path.read_text()


def stored_trades(engine: Engine, symbol: str) -> pd.DataFrame:
    """All trades of ``symbol`` in the database, by id."""
    with engine.connect() as conn:
        result = conn.execute(
            text(
                "SELECT trade_id, ts_ms, price, qty, buyer_maker FROM trades "
                "WHERE symbol = :s ORDER BY trade_id"
            ),
            {"s": symbol},
        )
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def stored_count(engine: Engine) -> int:
    """Number of rows in ``trades``."""
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM trades")).scalar() or 0)
