"""Gap ledger and REST backfill: fillable and unfillable holes, 429 + Retry-After, SIGTERM.

Ids are withheld from the stream with ``sim.skip_ids`` (REST still serves them) and, for the
unfillable case, also removed from REST with ``sim.forget_ids``. The ledger must end with the
first gap ``filled`` and the second ``lost`` with a reason, and ``python -m ingest status``
must report both.
"""

from __future__ import annotations

import time

import pytest

from ingest.storage import make_engine, read_gaps
from tests.conftest import wait_until
from tests.ingest_process import IngestProcess, ingest_config, run_ingest, stored_count
from tests.reliability.support import paused_simulator, tally, wait_complete
from tests.simulator_helpers import wait_connections, wait_generated

pytestmark = pytest.mark.slow


def _next_id(sim, symbol: str) -> int:
    return sim.config.start_id_for(symbol) + sim.generated(symbol)


def test_fillable_gap_is_filled_and_unfillable_gap_is_marked_lost(tmp_path, sqlite_url) -> None:
    """Case 4: 500 skipped ids REST serves, 200 skipped ids REST has forgotten."""
    sim = paused_simulator(rate=1000, seed=21, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url)
        with IngestProcess(config) as ingest:
            wait_connections(sim, 1, timeout=15)
            start = _next_id(sim, "BTCUSDT")
            fillable = (start + 1000, start + 1499)
            unfillable = (start + 2500, start + 2699)
            sim.skip_ids("BTCUSDT", *fillable)
            sim.skip_ids("BTCUSDT", *unfillable)
            sim.forget_ids("BTCUSDT", *unfillable)
            sim.resume()
            wait_generated(sim, start + 4000, timeout=20, symbol="BTCUSDT")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert ingest.terminate() == 0
        with engine.connect() as conn:
            gaps = read_gaps(conn).set_index("from_id")
        status = run_ingest(config, "status").stdout
        filled, lost = gaps.loc[fillable[0]], gaps.loc[unfillable[0]]
        print(
            f"\n[gaps] {final} filled={fillable} ({filled.state}) "
            f"lost={unfillable} ({lost.state}: {lost.reason!r})\n{status}"
        )
        assert len(gaps) == 2
        assert (filled.state, int(filled.to_id)) == ("filled", fillable[1])
        assert (lost.state, int(lost.to_id)) == ("lost", unfillable[1])
        assert "200 of 200 ids not served" in lost.reason
        assert "gaps filled: 1" in status
        assert "gaps lost: 1" in status
        assert f"lost BTCUSDT ids {unfillable[0]}-{unfillable[1]}" in status
        assert "200 of 200 ids not served" in status


def _rest_waits(sim) -> tuple[float, float]:
    """(time of the first 429, time of the next call) from the simulator's REST log."""
    log = [entry for entry in sim.rest_log() if "historicalTrades" in entry[1]]
    first = next(i for i, entry in enumerate(log) if entry[2] == 429)
    return log[first][0], log[first + 1][0]


def test_rest_429_retry_after_is_respected(tmp_path, sqlite_url) -> None:
    """Case 7: the first backfill call gets 429 with ``Retry-After: 2``."""
    sim = paused_simulator(rate=500, seed=23, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            start = _next_id(sim, "ETHUSDT")
            sim.inject_rest_errors(1, status=429, retry_after=2)
            sim.skip_ids("ETHUSDT", start + 200, start + 299)
            sim.resume()
            wait_generated(sim, start + 1000, timeout=15, symbol="ETHUSDT")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert ingest.terminate() == 0
            log = ingest.output()
        refused, retried = _rest_waits(sim)
        waited = retried - refused
        print(f"\n[429] waited={waited:.2f}s retry_after=2 rest_calls={sim.rest_calls} {final}")
        assert waited >= 2.0
        assert "REST 429: waiting 2.0 s" in log


def test_sigterm_during_backfill_exits_within_5s(tmp_path, sqlite_url) -> None:
    """A backfill stuck in a 60 s ``Retry-After`` must not delay a SIGTERM; a restart fills."""
    sim = paused_simulator(rate=500, seed=29, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        config = ingest_config(tmp_path, sim, sqlite_url)
        with IngestProcess(config) as ingest:
            wait_connections(sim, 1, timeout=15)
            start = _next_id(sim, "BTCUSDT")
            sim.inject_rest_errors(1, status=429, retry_after=60)
            sim.skip_ids("BTCUSDT", start + 100, start + 199)
            sim.resume()
            wait_until(lambda: any(e[2] == 429 for e in sim.rest_log()), 15, "a 429")
            began = time.monotonic()
            assert ingest.terminate(timeout=5) == 0
            stop_s = time.monotonic() - began
        with engine.connect() as conn:
            still_open = int((read_gaps(conn).state == "open").sum())
        before = stored_count(engine)
        with IngestProcess(config) as again:  # live trades after the restart reveal the hole
            wait_until(lambda: stored_count(engine) > before + 1000, 20, "live trades again")
            sim.pause()
            final = wait_complete(engine, sim, timeout=30)
            assert again.terminate() == 0
        print(f"\n[sigterm-in-backfill] exit={stop_s:.2f}s open_at_exit={still_open} {final}")
        assert stop_s < 5
        assert still_open == 1
        assert tally(engine, sim).complete


def _gap_row(engine):
    with engine.connect() as conn:
        gaps = read_gaps(conn)
    return gaps.iloc[0].to_dict() if len(gaps) == 1 and gaps.state[0] != "open" else None


def _run_with_rest_errors(
    tmp_path, sqlite_url, status: int, count: int, seed: int, *, fillable: bool
):
    """Skip 100 BTC ids while REST answers ``status`` ``count`` times; return the closed gap.

    With ``fillable`` the tally is taken once every trade sent before the pause is stored,
    so trades still in flight at the pause are not miscounted as lost.
    """
    sim = paused_simulator(rate=500, seed=seed, generate="always")
    with sim:
        engine = make_engine(sqlite_url)
        with IngestProcess(ingest_config(tmp_path, sim, sqlite_url)) as ingest:
            wait_connections(sim, 1, timeout=15)
            start = _next_id(sim, "BTCUSDT")
            sim.skip_ids("BTCUSDT", start + 200, start + 299)
            sim.inject_rest_errors(count, status=status)
            sim.resume()
            wait_generated(sim, start + 600, timeout=15, symbol="BTCUSDT")
            began = time.monotonic()
            gap = wait_until(lambda: _gap_row(engine), 40, "the gap to close")
            waited = time.monotonic() - began
            sim.pause()
            final = wait_complete(engine, sim, timeout=30) if fillable else tally(engine, sim)
            assert ingest.terminate() == 0
        return gap, waited, final


def test_failing_rest_is_retried_with_backoff_until_it_serves(tmp_path, sqlite_url) -> None:
    """HTTP 503 twice: backed off (2 s, 4 s), then filled; an outage is not a lost trade."""
    gap, waited, final = _run_with_rest_errors(tmp_path, sqlite_url, 503, 2, seed=51, fillable=True)
    print(f"\n[503 x2] state={gap['state']} attempts={gap['attempts']} after={waited:.1f}s {final}")
    assert gap["state"] == "filled"
    assert int(gap["attempts"]) == 2
    assert final.lost == 0


def test_gap_the_exchange_keeps_refusing_ends_lost(tmp_path, sqlite_url) -> None:
    """HTTP 401 on every call (e.g. futures historicalTrades without a key): lost, with why."""
    gap, waited, _final = _run_with_rest_errors(
        tmp_path, sqlite_url, 401, 1000, seed=53, fillable=False
    )
    print(f"\n[401] state={gap['state']} reason={gap['reason']!r} after={waited:.1f}s")
    assert gap["state"] == "lost"
    assert gap["reason"].startswith("REST refused 3 times: HTTP 401")
