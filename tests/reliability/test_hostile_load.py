"""Hostile load: 16 clients of maximal valid requests cannot stall the dashboard for others.

The real product (``gunicorn -c gunicorn.conf.py wsgi:server``, 2 workers x 4 threads, no
ingestor) serves a SQLite file seeded with two days of 1-second bars of BTCUSDT and ETHUSDT, as
much as one request may read. For ``FLOOD_S`` seconds 16 loopback clients send the largest
requests the work budgets accept, each with a window of its own so no result is shared, and the
callbacks with a fresh session id each time: analytics over two days of 1 s bars, the spread
page's refresh over a day of them, a two-day 1m series and two days of 1m bars. They never wait,
not even after a 429, and run in a process of their own, so their threads never hold the
normal client's interpreter lock. Meanwhile the normal client polls the default refresh and
``/healthz`` four times a second. The normal refresh keeps p95 <= 1 s and ``/healthz`` p95 <=
200 ms; refused heavy requests got 429 with ``Retry-After`` (callbacks: no output updated), and
nothing answered 5xx. Everything stops by itself: clients at the deadline, gunicorn by SIGTERM.
"""

from __future__ import annotations

import http.client
import itertools
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path

import numpy as np
import pytest
import requests
from sqlalchemy import insert

from ingest.storage import make_engine
from ingest.storage.schema import bars_1s
from tests.bench.common import percentile
from tests.conftest import REPO, free_port, wait_until

pytestmark = pytest.mark.slow

SECONDS = 2 * 86_400
CLIENTS = 16
BASELINE_S = 3.0
FLOOD_S = 20.0
POLL_S = 0.25
NORMAL = "/api/v1/analytics?pair=BTC-ETH"
REFUSED = (429, "refused callback")  # a refused callback updates no output (HTTP 200)
NO_UPDATE = b'{"multi":true,"response":{}}'
GUNICORN = (
    sys.executable,
    "-m",
    "gunicorn",
    "-c",
    "gunicorn.conf.py",
    "--no-control-socket",
    "wsgi:server",
)


def seed(url: str, end_s: int) -> None:
    """Two days of 1 s bars per symbol ending at ``end_s``: ETH a random walk, BTC ~ 20 ETH."""
    rng = np.random.default_rng(5)
    hedge = 3000.0 + np.cumsum(rng.normal(0.0, 0.5, SECONDS))
    closes = {"ETHUSDT": hedge, "BTCUSDT": 20 * hedge + 500 + rng.normal(0.0, 3.0, SECONDS)}
    seconds = np.arange(end_s - SECONDS + 1, end_s + 1)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("PRAGMA synchronous=OFF")
        for symbol, close in closes.items():
            rows = [
                {
                    "symbol": symbol,
                    "ts_s": int(ts),
                    "open": c,
                    "high": c,
                    "low": c,
                    "close": c,
                    "volume": 0.01,
                    "vwap": c,
                    "n_trades": 1,
                    "quote_volume": c * 0.01,
                    "first_id": i + 1,
                    "last_id": i + 1,
                }
                for i, (ts, c) in enumerate(zip(seconds, close.tolist(), strict=True))
            ]
            conn.execute(insert(bars_1s), rows)
    engine.dispose()


@dataclass
class Tally:
    """What the hostile clients got back, shared by their threads."""

    codes: Counter[int | str] = field(default_factory=Counter)
    refused_without_retry_after: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, code: int | str, retry_after: bool) -> None:
        with self.lock:
            self.codes[code] += 1
            if code in REFUSED and not retry_after:
                self.refused_without_retry_after += 1


def spread_refresh(output: str, search: str, session: str) -> bytes:
    """The spread page's refresh callback body (``output`` as ``/_dash-dependencies`` has it)."""
    outputs = [o.split(".") for o in output.strip(".").split("...")]
    body = {
        "output": output,
        "outputs": [{"id": i, "property": p} for i, p in outputs],
        "inputs": [
            {"id": "pw-tick", "property": "n_intervals", "value": 1},
            {"id": "pw-refresh-now", "property": "n_clicks", "value": None},
            {"id": "pw-url", "property": "search", "value": search},
        ],
        "state": [{"id": "pw-session", "property": "data", "value": session}],
        "changedPropIds": ["pw-tick.n_intervals"],
    }
    return json.dumps(body).encode()


def hostile(port: int, index: int, end_s: int, stop: threading.Event, tally: Tally) -> None:
    """Maximal valid requests, each a cache miss, back to back until ``stop``.

    Plain ``http.client`` on one keep-alive connection: the attackers share the machine with
    the server, so they spend as little CPU per request as a client can.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/_dash-dependencies")
    deps = json.loads(conn.getresponse().read())
    output = next(d["output"] for d in deps if "spread-chart.figure" in d["output"])
    json_type = {"Content-Type": "application/json"}
    for n in itertools.count():
        if stop.is_set():
            return
        window = 10 + (index * 997 + n * 31) % 4000
        kind = (index + n) % 4
        if kind == 0:
            path = "/api/v1/analytics?pair=BTC-ETH&tf=1s&lookback=2880&method=kalman"
            conn.request("GET", f"{path}&window={window}")
        elif kind == 1:
            body = spread_refresh(
                output, f"?pair=BTC-ETH&tf=1s&lookback=1440&window={window}", f"a{index}-{n}"
            )
            conn.request("POST", "/_dash-update-component", body, json_type)
        elif kind == 2:
            path = "/api/v1/analytics?pair=BTC-ETH&tf=1m&lookback=2880&series=true"
            conn.request("GET", f"{path}&z_window={window % 1000 + 5}")
        else:
            start = end_s - SECONDS + 1 + n % 60
            conn.request("GET", f"/api/v1/bars?symbol=BTCUSDT&tf=1m&start={start}")
        answer = conn.getresponse()
        data = answer.read()
        refused_callback = kind == 1 and answer.status == 200 and data == NO_UPDATE
        code = "refused callback" if refused_callback else answer.status
        tally.add(code, answer.getheader("Retry-After") is not None)


def attack(port: int, end_s: int, seconds: float, out: Connection) -> None:
    """``CLIENTS`` hostile threads for ``seconds`` (in their own process); sends the tally."""
    stop, tally = threading.Event(), Tally()
    threads = [
        threading.Thread(target=hostile, args=(port, i, end_s, stop, tally), daemon=True)
        for i in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(35)
    out.send((dict(tally.codes), tally.refused_without_retry_after))


def timed(session: requests.Session, url: str) -> float:
    began = time.perf_counter()
    answer = session.get(url, timeout=30)
    elapsed = (time.perf_counter() - began) * 1000
    assert answer.status_code == 200, (url, answer.status_code, answer.text[:200])
    return elapsed


def normal_client(base: str, seconds: float) -> tuple[list[float], list[float]]:
    """Default refresh and ``/healthz`` latencies (ms), polled every ``POLL_S``."""
    session = requests.Session()
    refresh: list[float] = []
    health: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        refresh.append(timed(session, f"{base}{NORMAL}"))
        health.append(timed(session, f"{base}/healthz"))
        time.sleep(POLL_S)
    return refresh, health


def line(name: str, values: list[float]) -> str:
    return (
        f"{name}: n={len(values)} p50={percentile(values, 50):.0f} ms "
        f"p95={percentile(values, 95):.0f} ms max={max(values):.0f} ms"
    )


@pytest.fixture
def product(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """The dashboard under gunicorn on a seeded database; yields its port and last bar."""
    end_s = int(time.time())
    db = tmp_path / "hostile.db"
    seed(f"sqlite:///{db}", end_s)
    port = free_port()
    config = tmp_path / "hostile.yaml"
    config.write_text(
        f'storage: {{url: "sqlite:///{db}"}}\n'
        "pairs: [{name: BTC-ETH, base: BTCUSDT, hedge: ETHUSDT}]\n"
        f"dashboard: {{port: {port}, workers: 2}}\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PAIRWATCH_")}
    env |= {"PAIRWATCH_CONFIG": str(config), "PAIRWATCH_NO_INGEST": "1", "PYTHONPATH": str(REPO)}
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            GUNICORN,
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            assert server.poll() is None, log_path.read_text()[-2000:]
            try:
                return requests.get(f"{base}/healthz", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        wait_until(up, 30, "gunicorn to answer /healthz")
        yield port, end_s
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_flood_of_maximal_requests_leaves_normal_refresh_and_healthz_fast(
    product: tuple[int, int],
) -> None:
    port, end_s = product
    base = f"http://127.0.0.1:{port}"
    for _ in range(4):  # both workers import what the default refresh needs
        normal_client(base, 0.01)
    base_refresh, base_health = normal_client(base, BASELINE_S)
    context = multiprocessing.get_context("fork")
    results, sender = context.Pipe(duplex=False)
    attackers = context.Process(target=attack, args=(port, end_s, FLOOD_S, sender), daemon=True)
    attackers.start()
    try:
        time.sleep(1.0)  # every attacker has a request in flight
        refresh, health = normal_client(base, FLOOD_S - 1.0)
        assert results.poll(40), "the attackers did not report"
        codes, refused_without_retry_after = results.recv()
    finally:
        attackers.join(40)
        if attackers.is_alive():
            attackers.kill()
    print(f"\nbaseline  {line('refresh', base_refresh)} | {line('healthz', base_health)}")
    print(f"{CLIENTS} attackers {FLOOD_S:.0f} s: {line('refresh', refresh)}")
    print(f"{CLIENTS} attackers {FLOOD_S:.0f} s: {line('healthz', health)}")
    print(f"attacker answers: {codes}")
    assert percentile(refresh, 95) <= 1000
    assert percentile(health, 95) <= 200
    assert codes.get(429, 0) > 0 and codes.get("refused callback", 0) > 0
    assert refused_without_retry_after == 0
    assert codes.get(200, 0) > 0, "heavy requests within the budget are still served"
    assert set(codes) <= {200, *REFUSED}, codes
