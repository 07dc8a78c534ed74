"""The websocket reader in process on scripted loopback servers: frames, rejects, reconnects."""

from __future__ import annotations

import re
from collections import deque
from typing import Any

import orjson

from ingest.backoff import AttemptLimit, Backoff
from ingest.feedstate import FeedState
from ingest.settings import FeedSettings
from ingest.source import BinanceSource
from ingest.storage.records import Trade
from tests.conftest import wait_until
from tests.ingest.fakes import (
    T0,
    DeafServer,
    FrameServer,
    Script,
    mark_frame,
    running,
    trade,
    trade_frame,
)

SPOT = {"BTCUSDT": "BTCUSDT", "ETHUSDT": "ETHUSDT"}
CONNECT_FAILURE = re.compile(
    r"cannot connect to 127\.0\.0\.1:\d+: HTTP 503 Service Unavailable refused by the test "
    r"server; retry at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
)


class ReasonLog(FeedState):
    """A ``FeedState`` that keeps every reason it is given, in order, in ``reasons``."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "reason":
            self.__dict__.setdefault("reasons", []).append(value)
        super().__setattr__(name, value)

    def given(self) -> list[str]:
        """The non-empty reasons so far (connecting clears the reason)."""
        return [reason for reason in self.__dict__["reasons"] if reason]


class RecordingBackoff(Backoff):
    """A fast backoff logging each step: the attempt a delay was drawn for, or ``reset``."""

    def __init__(self) -> None:
        super().__init__(base_s=0.01, cap_s=0.05)
        self.steps: list[int | str] = []

    def next_delay(self) -> float:
        self.steps.append(self.attempt)
        return super().next_delay()

    def reset(self) -> None:
        self.steps.append("reset")
        super().reset()


def reader(
    server: FrameServer | DeafServer,
    state: FeedState,
    buffer: deque[Trade],
    *,
    exchange: dict[str, str] = SPOT,
    buffer_max: int = 100,
    backoff: Backoff | None = None,
    min_gap_s: float = 0.0,
    **feed: Any,
) -> BinanceSource:
    """A reader of ``server`` whose reconnects are not held back by Binance's attempt floor."""
    settings = FeedSettings(ws_url=server.url, **feed)
    return BinanceSource(
        settings,
        exchange,
        buffer,
        buffer_max,
        state,
        backoff=backoff or Backoff(base_s=0.01, cap_s=0.05),
        limit=AttemptLimit(min_gap_s=min_gap_s),
    )


def spot_state(cls: type[FeedState] = FeedState) -> Any:
    return cls(symbols=tuple(SPOT), source="binance")


def altered(frame: str, **fields: Any) -> str:
    """``frame`` with fields of its ``data`` object replaced."""
    message = orjson.loads(frame)
    message["data"].update(fields)
    return orjson.dumps(message).decode()


def test_frames_become_trades_and_rejects_are_counted_by_kind() -> None:
    btc = trade("BTCUSDT", 7, T0, price=60_000.5, qty=0.002)
    eth = trade("ETHUSDT", 3, T0 + 5, price=2_500.25, qty=0.25)
    frames = (
        trade_frame(btc),
        "{not json",
        '["a list"]',
        altered(trade_frame(btc), p="abc"),
        altered(trade_frame(btc), m="yes"),
        trade_frame(trade("XRPUSDT", 1, T0)),
        '{"e": "kline", "s": "BTCUSDT"}',
        '{"result": null, "id": 1}',
        '{"code": 2, "msg": "Invalid request"}',
        trade_frame(eth),
    )
    state, buffer = spot_state(), deque[Trade]()
    with FrameServer(Script(frames)) as server, running(reader(server, state, buffer)):
        wait_until(lambda: len(buffer) == 2, 3.0, "both trades")
        assert state.connected and state.reason == ""
    assert list(buffer) == [btc, eth]
    assert state.rejected == {
        "invalid_json": 1,
        "unexpected": 1,
        "wrong_types": 2,
        "unknown_symbol": 1,
        "unknown_event": 1,
        "error_reply": 1,
    }
    assert server.paths == ["/stream?streams=btcusdt@trade/ethusdt@trade"]
    assert set(state.last_trade_ms) == {"BTCUSDT", "ETHUSDT"}
    assert (state.connections, state.reconnects) == (1, 0)
    assert not state.connected and state.reason == "stopped"


def test_perpetual_trades_take_their_stored_key_and_marks_are_kept() -> None:
    perp = trade("BTCUSDT", 11, T0, price=60_010.0)
    frames = (
        mark_frame("BTCUSDT", 60_000.5, 0.0001, T0 + 3_600_000),
        trade_frame(perp, stream="aggTrade"),
    )
    state = FeedState(symbols=("usdm:BTCUSDT",), source="binance")
    buffer = deque[Trade]()
    with FrameServer(Script(frames)) as server:
        source = reader(
            server,
            state,
            buffer,
            exchange={"usdm:BTCUSDT": "BTCUSDT"},
            market="usdm",
            stream="aggTrade",
        )
        with running(source):
            wait_until(lambda: buffer, 3.0, "the perpetual trade")
    assert list(buffer) == [perp._replace(symbol="usdm:BTCUSDT")]
    assert state.marks == {"usdm:BTCUSDT": (60_000.5, 0.0001, T0 + 3_600_000)}
    assert server.paths == ["/market/stream?streams=btcusdt@aggTrade/btcusdt@markPrice@1s"]


def test_a_full_buffer_drops_the_trade_and_counts_it() -> None:
    trades = [trade("BTCUSDT", i, T0 + i) for i in range(1, 4)]
    state, buffer = spot_state(), deque[Trade]()
    script = Script(tuple(map(trade_frame, trades)))
    with FrameServer(script) as server, running(reader(server, state, buffer, buffer_max=2)):
        wait_until(lambda: state.dropped, 3.0, "a dropped trade")
    assert list(buffer) == trades[:2] and state.dropped == 1
    assert state.last_trade_ms["BTCUSDT"] > 0  # a dropped trade still shows the symbol alive


def test_a_server_close_and_a_server_shutdown_reconnect_with_their_reasons() -> None:
    first, second, third = (trade("BTCUSDT", i, T0 + i) for i in range(1, 4))
    scripts = (
        Script((trade_frame(first),), close=True),
        Script((trade_frame(second), '{"e": "serverShutdown", "E": 1}')),
        Script((trade_frame(third),)),
    )
    state, buffer = spot_state(ReasonLog), deque[Trade]()
    with FrameServer(*scripts) as server, running(reader(server, state, buffer)):
        wait_until(lambda: state.connections == 3, 3.0, "the third connection")
        assert state.given() == [
            "starting",
            "WebSocketConnectionClosedException: Connection closed (code 1001): going away",
            "serverShutdown received",
        ]
        wait_until(lambda: len(buffer) == 3, 3.0, "the third trade")
    assert state.reconnects == 2 and len(server.paths) == 3
    assert list(buffer) == [first, second, third]
    assert state.given()[-2:] == ["stopping", "stopped"]


def test_failed_connects_back_off_say_why_and_data_resets_the_backoff() -> None:
    scripts = (
        Script(refuse=503),
        Script(refuse=503),
        Script((trade_frame(trade("BTCUSDT", 1, T0)),), close=True),
        Script(),
    )
    state, buffer, backoff = spot_state(ReasonLog), deque[Trade](), RecordingBackoff()
    with FrameServer(*scripts) as server, running(reader(server, state, buffer, backoff=backoff)):
        wait_until(lambda: state.connections == 2, 3.0, "the second open connection")
        assert backoff.steps == [0, 1, "reset", 0]  # ceilings base, 2 base; base again after data
    failures = [reason for reason in state.given() if reason.startswith("cannot connect")]
    assert len(failures) == 2 and all(CONNECT_FAILURE.fullmatch(r) for r in failures), failures
    assert state.reconnects == 3 and len(server.paths) == 4


def test_a_silent_link_is_closed_without_waiting_for_the_server_and_reconnected() -> None:
    state = spot_state(ReasonLog)
    with DeafServer() as server, running(reader(server, state, deque(), silence_s=0.2)):
        wait_until(lambda: state.connections == 2, 3.0, "a second connection")
    assert state.given()[1] == "no frame for 0.2 s" and server.accepted >= 2


def test_a_stop_ends_the_reader_even_when_the_server_never_answers() -> None:
    state = spot_state()
    with DeafServer() as server:
        source = reader(server, state, deque())
        source.start()
        wait_until(lambda: state.connected, 3.0, "the connection")
        assert source.stop(1.0)
    assert state.reason == "stopped"


def test_a_stop_during_the_backoff_wait_ends_the_reader_at_once() -> None:
    state, buffer = spot_state(), deque[Trade]()
    with FrameServer(Script(refuse=503)) as server:
        source = reader(server, state, buffer, min_gap_s=60.0)
        source.start()
        wait_until(lambda: state.reason.startswith("cannot connect"), 3.0, "a failed attempt")
        assert source.stop(0.5)
    assert state.reason == "stopped" and len(server.paths) == 1
