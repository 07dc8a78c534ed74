"""Shared fixtures for the analytics tests: real Binance 1m candles and seeded synthetic pairs."""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REAL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real"
REAL_WINDOWS = ("20241001_20241104", "20250101_20250204", "20250301_20250401")


@dataclass(frozen=True)
class Pair:
    """Aligned closes of two legs (``base`` regressed on ``hedge``)."""

    ts: np.ndarray
    base: np.ndarray
    hedge: np.ndarray


def _load_window(window: str) -> Pair:
    paths = {s: REAL_DATA / f"binance_spot_{s}USDT_1m_{window}.csv" for s in ("BTC", "ETH")}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        pytest.skip(f"real Binance 1m candles not available: {missing}")
    frames = {
        s: pd.read_csv(p, usecols=["timestamp", "close"]).set_index("timestamp")["close"]
        for s, p in paths.items()
    }
    both = pd.concat(frames, axis=1, join="inner")
    ts = pd.to_datetime(both.index).as_unit("s").asi8
    return Pair(ts=ts, base=both["ETH"].to_numpy(), hedge=both["BTC"].to_numpy())


@pytest.fixture(scope="session", params=REAL_WINDOWS)
def real_pair(request: pytest.FixtureRequest) -> Pair:
    """ETHUSDT (base) against BTCUSDT (hedge), 1-minute closes, one of three 30-35 day windows."""
    return _load_window(request.param)


@pytest.fixture(scope="session")
def real_march() -> Pair:
    """The March 2025 window only (44,640 bars), for the slower reference comparisons."""
    return _load_window("20250301_20250401")


def make_synthetic_pair(
    n: int = 5_000, *, beta: float = 1.5, alpha: float = 20.0, phi: float = 0.9, seed: int = 7
) -> Pair:
    """A cointegrated pair: random-walk hedge around 100, base = alpha + beta·hedge + AR(1)."""
    rng = np.random.default_rng(seed)
    hedge = 100.0 + np.cumsum(rng.normal(0.0, 0.5, n))
    noise = rng.normal(0.0, 0.3, n)
    resid = np.zeros(n)
    for t in range(1, n):
        resid[t] = phi * resid[t - 1] + noise[t]
    return Pair(ts=np.arange(n, dtype=np.int64), base=alpha + beta * hedge + resid, hedge=hedge)


@pytest.fixture
def synthetic_pair() -> Pair:
    return make_synthetic_pair()
