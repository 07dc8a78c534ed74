"""The seam between exchange candles and bars of trades is exact on 1s, 1m and 5m.

One synthetic tape stands for the exchange: its bars (from every trade) are the truth. The
database gets what pairwatch would hold after a start in the middle of a second: candles of
the tape before the seam (1s for two hours, 1m before that) and the trades from the first live
trade on. Every bar that ``read_bars`` + ``resample_bars`` yields around and across the seam
must equal the tape's bar, with none missing and none extra.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analytics.bars import resample_bars
from ingest.storage import (
    HistoryRow,
    Trade,
    aggregate_trades,
    insert_klines,
    insert_trades,
    make_engine,
    merge_bars,
    note_imported_klines,
    read_bars,
    save_history,
)

SYMBOL = "BTCUSDT"
START_S = 1_735_689_600  # 2025-01-01 00:00 UTC
FIRST_TRADE_MS = (START_S + 3 * 3600 + 1234) * 1000 + 517  # mid-second, mid-minute
END_S = START_S + 3 * 3600 + 1234 + 900


def _tape() -> list[Trade]:
    """About two trades a second from START_S to END_S; ids ascend with time."""
    rng = np.random.default_rng(7)
    n = (END_S - START_S) * 2
    times = np.sort(rng.integers(START_S * 1000, END_S * 1000, n))
    prices = 50_000 + np.cumsum(rng.normal(0, 3, n))
    qty = rng.uniform(0.001, 1.0, n)
    return [
        Trade(SYMBOL, 10_000 + i, int(times[i]), float(prices[i]), float(qty[i]), bool(i % 2))
        for i in range(n)
    ]


def _candles(bars: pd.DataFrame) -> list[dict[str, object]]:
    frame = bars.assign(quote_volume=bars.vwap * bars.volume)
    keys = ("ts_s", "open", "high", "low", "close", "volume", "quote_volume", "n_trades")
    return [
        {
            k: (int(v) if k in ("ts_s", "n_trades") else float(v))
            for k, v in zip(keys, row, strict=True)
        }
        for row in frame.loc[:, list(keys)].itertuples(index=False)
    ]


@pytest.fixture(scope="module")
def tape() -> tuple[list[Trade], pd.DataFrame]:
    trades = _tape()
    truth = pd.DataFrame(aggregate_trades(trades)).sort_values("ts_s", ignore_index=True)
    return trades, truth


def _store(url: str, tape: tuple[list[Trade], pd.DataFrame], *, with_1s: bool) -> None:
    trades, truth = tape
    engine = make_engine(url)
    first_trade_s = FIRST_TRADE_MS // 1000
    trades_from = first_trade_s + 1
    one_s_from = (trades_from - 2 * 3600) // 60 * 60
    live = [t for t in trades if t.ts_ms >= FIRST_TRADE_MS]
    minutes = resample_bars(truth, "1m")
    with engine.begin() as conn:
        insert_trades(conn, live)
        merge_bars(conn, aggregate_trades(live))
        if with_1s:
            seconds = truth[(truth.ts_s >= one_s_from) & (truth.ts_s < trades_from)]
            insert_klines(conn, SYMBOL, "1s", _candles(seconds))
            save_history(
                conn,
                HistoryRow(
                    SYMBOL, "1s", one_s_from, trades_from, trades_from, trades_from, "loaded", "", 0
                ),
            )
            minute_to = one_s_from
        else:
            minute_to = -(-trades_from // 60) * 60
        insert_klines(conn, SYMBOL, "1m", _candles(minutes[minutes.ts_s < minute_to]))
        save_history(
            conn,
            HistoryRow(SYMBOL, "1m", START_S, minute_to, minute_to, trades_from, "loaded", "", 0),
        )


def _assert_equal_bars(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert got.ts_s.tolist() == want.ts_s.tolist()
    assert got.n_trades.tolist() == want.n_trades.tolist()
    for column in ("open", "high", "low", "close", "volume", "vwap"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-12, err_msg=column)


@pytest.mark.parametrize("with_1s", [True, False], ids=["spot-1s-and-1m", "usdm-1m-only"])
@pytest.mark.parametrize("tf", ["1m", "5m"])
def test_minute_views_equal_the_tape_across_every_seam(backend_url, tape, tf, with_1s) -> None:
    _store(backend_url, tape, with_1s=with_1s)
    size = 60 if tf == "1m" else 300
    with make_engine(backend_url).connect() as conn:
        got = resample_bars(read_bars(conn, SYMBOL, START_S, END_S, size), tf)
    want = resample_bars(tape[1], tf)
    _assert_equal_bars(got, want)


def test_one_second_view_uses_candles_before_the_seam_and_trades_after(sqlite_url, tape) -> None:
    _store(sqlite_url, tape, with_1s=True)
    trades_from = FIRST_TRADE_MS // 1000 + 1
    lo, hi = trades_from - 2 * 3600 + 60, END_S
    with make_engine(sqlite_url).connect() as conn:
        got = resample_bars(read_bars(conn, SYMBOL, lo, hi, 1), "1s")
    truth = tape[1]
    want = resample_bars(truth[(truth.ts_s >= lo) & (truth.ts_s <= hi)], "1s")
    _assert_equal_bars(got, want)
    seam = got[(got.ts_s >= trades_from - 2) & (got.ts_s <= trades_from + 1)]
    assert len(seam) == len(set(seam.ts_s))  # the partial first second is not counted twice


def test_without_history_rows_the_trade_bars_are_returned_unchanged(sqlite_url, tape) -> None:
    trades = tape[0][:500]
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        insert_trades(conn, trades)
        merge_bars(conn, aggregate_trades(trades))
        insert_klines(conn, SYMBOL, "1m", _candles(resample_bars(tape[1], "1m").head(3)))
    with engine.connect() as conn:
        got = read_bars(conn, SYMBOL, 0, 2**40, 60)
    assert got.n_trades.sum() == 500  # candles without a history row are not read


def test_an_import_before_any_trade_is_authoritative_up_to_its_end(sqlite_url, tape) -> None:
    minutes = resample_bars(tape[1], "1m").head(30)
    engine = make_engine(sqlite_url)
    with engine.begin() as conn:
        insert_klines(conn, SYMBOL, "1m", _candles(minutes))
        end_s = int(minutes.ts_s.iloc[-1]) + 60
        row = note_imported_klines(conn, SYMBOL, "1m", int(minutes.ts_s.iloc[0]), end_s, now_ms=0)
    assert (row.from_s, row.to_s, row.trades_from_s, row.state) == (START_S, end_s, end_s, "loaded")
    with engine.connect() as conn:
        got = resample_bars(read_bars(conn, SYMBOL, 0, 2**40, 60), "1m")
    _assert_equal_bars(got, minutes)
