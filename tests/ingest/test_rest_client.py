"""The shared REST client against the simulator on loopback: bans, WAF answers, region refusal.

Binance spot REST docs (2026-07, "LIMITS"): 429 when a limit is broken, then 418 bans "from 2
minutes to 3 days", ``Retry-After`` in seconds; "HTTP 403 … WAF … can indicate a rate limit
violation"; 451 is the restricted-location answer. The client must honour the wait in full and
say what holds it back, retry a 403 instead of treating it as final, and stop asking after a
451 instead of hammering a region that refuses it.
"""

from __future__ import annotations

import threading
import time

import pytest

from ingest.errors import RestError
from ingest.rest import RestClient
from ingest.simulator import Simulator, SimulatorConfig
from tests.conftest import wait_until

SYMBOLS = ("BTCUSDT", "ETHUSDT")


@pytest.fixture
def sim():
    simulator = Simulator(SimulatorConfig(symbols=SYMBOLS, generate="always", rate=10)).start()
    with simulator:
        yield simulator


def _trades_url(sim: Simulator) -> str:
    return f"{sim.rest_base}/api/v3/trades?symbol=BTCUSDT&limit=1"


def test_418_ban_is_waited_out_in_full_and_named_in_the_condition(sim) -> None:
    client = RestClient("spot")
    sim.inject_rest_errors(1, status=418, retry_after=2)
    seen: list[str] = []
    done = threading.Event()

    def call() -> None:
        client.get_json(_trades_url(sim), 25, threading.Event())
        done.set()

    began = time.monotonic()
    worker = threading.Thread(target=call)
    worker.start()
    while not done.is_set() and time.monotonic() - began < 10:
        seen.append(client.condition())
        done.wait(0.05)
    worker.join(10)
    assert done.is_set()
    assert time.monotonic() - began >= 2.0
    assert any(c.startswith("REST IP banned until ") for c in seen), seen[:3]
    assert client.condition() == ""


def test_403_is_retryable_not_a_refusal(sim) -> None:
    client = RestClient("spot")
    sim.inject_rest_errors(1, status=403)
    with pytest.raises(RestError) as raised:
        client.get_json(_trades_url(sim), 25, threading.Event())
    assert (raised.value.status, raised.value.refused) == (403, False)
    assert isinstance(client.get_json(_trades_url(sim), 25, threading.Event()), list)  # goes on


def test_451_stops_rest_with_a_region_reason_and_no_more_calls(sim) -> None:
    client = RestClient("spot")
    sim.inject_rest_errors(5, status=451)
    with pytest.raises(RestError):
        client.get_json(_trades_url(sim), 25, threading.Event())
    calls = sim.rest_calls
    for _ in range(3):
        with pytest.raises(RestError) as raised:
            client.get_json(_trades_url(sim), 25, threading.Event())
        assert raised.value.status == 451
    assert sim.rest_calls == calls  # nothing more reached the exchange
    assert "restricted location" in client.condition()
    assert "127.0.0.1" in client.condition()


def test_stop_ends_a_ban_wait_at_once(sim) -> None:
    client = RestClient("spot")
    sim.inject_rest_errors(1, status=429, retry_after=60)
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    began = time.monotonic()
    with pytest.raises(RestError, match="stopped"):
        client.get_json(_trades_url(sim), 25, stop)
    assert time.monotonic() - began < 5


def test_high_used_weight_reported_by_the_exchange_holds_the_next_call(sim) -> None:
    """X-MBX-USED-WEIGHT-1M near the limit: the client waits for the next minute, and says so."""
    client = RestClient("spot")
    if time.time() % 60 > 55:  # keep both calls inside one weight minute
        wait_until(lambda: time.time() % 60 < 5, 10, "a fresh minute")
    sim.report_used_weight(client.budget - 10)
    client.get_json(_trades_url(sim), 25, threading.Event())
    calls = sim.rest_calls
    stop = threading.Event()
    failures: list[Exception] = []

    def call() -> None:
        try:
            client.get_json(_trades_url(sim), 25, stop)
        except RestError as exc:
            failures.append(exc)

    worker = threading.Thread(target=call)
    worker.start()
    wait_until(lambda: client.condition().startswith("REST paced: "), 5, "the client pacing")
    assert sim.rest_calls == calls  # held back, not sent
    assert f"of {client.budget:,} weight used this minute" in client.condition()
    stop.set()
    worker.join(5)
    assert failures and "stopped" in str(failures[0])
