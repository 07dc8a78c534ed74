"""Browser-test fixtures: the real product under gunicorn, fed by an in-process simulator.

Session scope: one ``Simulator`` (BTCUSDT, SOLUSDT, ETHUSDT; ETH is the hedge leg) on a free
loopback port, a temporary ``config.yaml`` (SQLite file in the session's tmp folder, pairs
BTC-ETH and SOL-ETH, one alert rule on BTC-ETH, small windows so analytics appear after ~30 s
of bars), and ``gunicorn -c gunicorn.conf.py --no-control-socket wsgi:server`` as a subprocess
whose ``on_starting`` hook starts the real ingestor. Startup fails fast with gunicorn's log tail
when gunicorn exits; teardown always stops gunicorn (SIGTERM, wait, kill) and the simulator.
Chromium is Debian's ``/usr/bin/chromium`` driven by Playwright (never ``playwright install``),
one browser per session and a fresh 1280x900 context per test. ``console`` collects console
errors, page errors and HTTP 5xx responses; ``shots`` saves full-page PNGs under
``test-results/screenshots/`` (git-ignored).

Nothing here imports playwright at import time: each test module calls ``require_browser()``
first, which skips it with the reason when chromium or playwright is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import urllib.error
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from ingest.simulator import Simulator, SimulatorConfig
from tests.browser.support import PAIRS, Product
from tests.conftest import REPO, free_port, wait_until

SYMBOLS = ("BTCUSDT", "SOLUSDT", "ETHUSDT")  # the simulator's hedge leg is the last one
VIEWPORT = {"width": 1280, "height": 900}
CHROME_ARGS = [
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
READY_TIMEOUT_S = 120.0
READY_BARS = 30  # aligned 1 s bars per pair before the first test (z windows up to 20 + slack)
SCREENSHOTS = REPO / "test-results" / "screenshots"


def product_config(simulator: Simulator, db: Path, port: int) -> dict[str, Any]:
    """The config.yaml of the session: simulator feed, SQLite in tmp, small windows."""
    return {
        "feed": {"ws_url": simulator.ws_base, "rest_url": simulator.rest_base, "silence_s": 3},
        "storage": {"url": f"sqlite:///{db}"},
        "ingest": {"flush_ms": 50},
        "pairs": [
            {"name": "BTC-ETH", "base": "BTCUSDT", "hedge": "ETHUSDT"},
            {"name": "SOL-ETH", "base": "SOLUSDT", "hedge": "ETHUSDT"},
        ],
        "analytics": {"timeframe": "1s", "window": 20, "z_window": 10, "corr_window": 10},
        "alerts": {
            "rules": [
                {
                    "name": "z2",
                    "pair": "BTC-ETH",
                    "entry_z": 2.0,
                    "exit_z": 0.5,
                    "cooldown_s": 2,
                    "direction": "both",
                    "timeframe": "1s",
                    "window": 30,
                }
            ]
        },
        "dashboard": {"port": port, "workers": 2, "refresh_ms": 1000, "timezone": "Asia/Kolkata"},
    }


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _wait_ready(product: Product) -> None:
    """Fail fast when gunicorn dies; otherwise wait until every pair has READY_BARS and a z."""
    last: list[object] = ["no answer yet"]

    def ready() -> bool:
        product.alive()
        try:
            stats = [product.analytics(pair) for pair in PAIRS]
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError) as exc:
            last[0] = exc
            return False
        last[0] = [{k: s.get(k) for k in ("pair", "n", "z")} for s in stats]
        return all(s.get("z") is not None and s.get("n", 0) >= READY_BARS for s in stats)

    try:
        wait_until(ready, READY_TIMEOUT_S, "the product to serve analytics")
    except AssertionError as exc:
        pytest.fail(
            f"{exc}; last answer: {last[0]}; simulator generated "
            f"{product.simulator.generated_count} trades over "
            f"{product.simulator.total_connections} connections\n"
            f"--- gunicorn log ---\n{product.log_tail()}"
        )


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    """Simulator + gunicorn (+ its ingestor child), ready once both pairs have analytics."""
    folder = tmp_path_factory.mktemp("product")
    simulator = Simulator(
        SimulatorConfig(
            symbols=SYMBOLS,
            rate=50,
            seed=11,
            betas={"BTCUSDT": 24.0, "SOLUSDT": 0.06},
            spread_sigma=2.0,
            spread_half_life_s=5.0,
        )
    ).start()
    port = free_port()
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(product_config(simulator, folder / "pairwatch.db", port)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIRWATCH_")}
    env |= {"PAIRWATCH_CONFIG": str(config), "PYTHONPATH": str(REPO)}
    log_path = folder / "gunicorn.log"
    gunicorn = Path(sys.executable).with_name("gunicorn")
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(gunicorn), "-c", "gunicorn.conf.py", "--no-control-socket", "wsgi:server"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    running = Product(f"http://127.0.0.1:{port}", simulator, proc, log_path)
    try:
        _wait_ready(running)
        yield running
    finally:
        _stop(proc)
        simulator.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - optional dependency

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=shutil.which("chromium"), args=CHROME_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, product: Product) -> Iterator[Any]:
    """A page in a fresh 1280x900 context (own storage, downloads accepted)."""
    product.alive()
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()
    product.alive()


@dataclass
class Console:
    """Console errors, uncaught page errors and HTTP >= 500 responses seen by one page."""

    messages: list[str] = field(default_factory=list)

    def assert_clean(self) -> None:
        assert self.messages == [], "the browser reported errors:\n" + "\n".join(self.messages)


@pytest.fixture
def console(page: Any) -> Console:
    seen = Console()
    page.on("console", lambda m: seen.messages.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: seen.messages.append(f"pageerror: {exc}"))
    page.on(
        "response",
        lambda r: seen.messages.append(f"HTTP {r.status} {r.url}") if r.status >= 500 else None,
    )
    return seen


@pytest.fixture
def shots() -> Callable[[Any, str], Path]:
    """``shots(page, name)`` saves a full-page PNG as test-results/screenshots/<name>.png."""

    def take(page: Any, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True, animations="disabled")
        return path

    return take
