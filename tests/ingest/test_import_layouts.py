"""Every import layout by name: detection, refusals, and what lands in a real SQLite file.

Small synthetic files (CSV and ZIP, with and without a header, ms and µs timestamps) are
written in ``tmp_path`` and imported with ``import_file``; the stored trades and candles are
read back column by column, so a price that landed in the quantity column, or an aggTrades id
taken from the wrong field, fails. Refused files must name their layout and store nothing.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import Engine

from ingest import importer
from ingest.import_layouts import ImportFileError, detect_layout
from ingest.importer import import_file, plan_import
from ingest.storage import kline_span, make_engine, read_bars, read_history
from tests.conftest import REPO, real_file
from tests.ingest_process import stored_trades

AUG_8_S = 1_723_075_200  # 2024-08-08 00:00 UTC
JAN_2_S = 1_735_776_000  # 2025-01-02 00:00 UTC
KLINES_HEADER = (
    "open_time,open,high,low,close,volume,close_time,quote_volume,count,"
    "taker_buy_volume,taker_buy_quote_volume,ignore"
)
CCXT_MINUTES = "binance_spot_BTCUSDT_1m_20241001_20241104.csv"


def write(tmp_path: Path, name: str, text: str) -> Path:
    """``text`` as ``name``; a ``.zip`` name holds it as its one ``.csv`` member."""
    path = tmp_path / name
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(path.with_suffix(".csv").name, text)
    else:
        path.write_text(text)
    return path


def kline(open_s: int, seconds: int, values: tuple[float, ...], count: int, unit: int) -> str:
    """One data.binance.vision klines row; ``unit`` 1000 for ms, 1_000_000 for µs."""
    o, h, lo, c, v, q = values
    open_t = open_s * unit
    close_t = open_t + seconds * unit - 1
    return f"{open_t},{o},{h},{lo},{c},{v},{close_t},{q},{count},1.0,{q / 2},0\n"


CANDLES = [
    (100.0, 101.5, 99.25, 100.75, 2.5, 251.0, 7),
    (100.75, 102.0, 100.5, 101.0, 4.0, 405.0, 11),
    (101.0, 101.0, 100.0, 100.25, 0.5, 50.25, 2),
]


def klines_text(first_s: int, seconds: int, unit: int) -> str:
    return "".join(
        kline(first_s + i * seconds, seconds, c[:6], int(c[6]), unit) for i, c in enumerate(CANDLES)
    )


def expected_bars(first_s: int, seconds: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "ts_s": [first_s + i * seconds for i in range(len(CANDLES))],
            "open": [c[0] for c in CANDLES],
            "high": [c[1] for c in CANDLES],
            "low": [c[2] for c in CANDLES],
            "close": [c[3] for c in CANDLES],
            "volume": [c[4] for c in CANDLES],
            "vwap": [c[5] / c[4] for c in CANDLES],
            "n_trades": [c[6] for c in CANDLES],
        }
    )


def bars(engine: Engine, symbol: str, bar_seconds: int) -> pd.DataFrame:
    with engine.connect() as conn:
        return read_bars(conn, symbol, 0, 2**40, bar_seconds=bar_seconds)


def history(engine: Engine) -> list[tuple[object, ...]]:
    """``history`` rows without ``updated_ms`` (the import time)."""
    with engine.connect() as conn:
        rows = read_history(conn)
    return [dataclasses.astuple(dataclasses.replace(row, updated_ms=0)) for row in rows]


def nothing_stored(engine: Engine, symbol: str) -> bool:
    with engine.connect() as conn:
        no_klines = all(kline_span(conn, symbol, i)[2] == 0 for i in ("1s", "1m"))
        return no_klines and not read_history(conn) and stored_trades(engine, symbol).empty


# ---------------------------------------------------------------- detection by name


@pytest.mark.parametrize(
    ("first_line", "file_name", "name", "has_header", "interval"),
    [
        ("7,100.5,2.0,201.0,1723161255342,True,True", "X-trades.csv", "spot trades", False, None),
        (
            "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match",
            "binance_spot_BTCUSDT_trades_20240808T2354_20240809T0005.csv",
            "spot trades",
            True,
            None,
        ),
        ("id,price,qty,quote_qty,time,is_buyer_maker", "X-trades.zip", "USD-M trades", True, None),
        ("5,61800.3,0.006,370.8018,1723161256322,false", "X.zip", "USD-M trades", False, None),
        ("9,100.5,2.0,11,13,1735776000123456,False,True", "X.zip", "spot aggTrades", False, None),
        (
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker",
            "X-aggTrades-2024-08-08.zip",
            "USD-M aggTrades",
            True,
            None,
        ),
        ("9,100.5,2.0,11,13,1723161256322,true", "X.csv", "USD-M aggTrades", False, None),
        (
            kline(AUG_8_S, 60, CANDLES[0][:6], 7, 1000),
            "X-1m-2024-08-08.zip",
            "binance klines",
            False,
            "1m",
        ),
        (
            kline(JAN_2_S, 1, CANDLES[0][:6], 7, 10**6),
            "X-1s-2025-01-02.csv",
            "binance klines",
            False,
            "1s",
        ),
        (KLINES_HEADER, "X-1m-2024-08.zip", "binance klines", True, "1m"),
        ("timestamp,open,high,low,close,volume", CCXT_MINUTES, "ccxt ohlcv 1m", True, "1m"),
    ],
)
def test_detect_layout_names_each_layout(
    first_line: str, file_name: str, name: str, has_header: bool, interval: str | None
) -> None:
    detected = detect_layout(first_line, file_name)
    assert (detected.layout.name, detected.has_header, detected.interval) == (
        name,
        has_header,
        interval,
    )


@pytest.mark.parametrize(
    ("first_line", "file_name", "message"),
    [
        ("1,2,3,4,5,6,7,8,9", "X.csv", r"unknown layout: found a header-less row of 9 fields"),
        ("1,100.5,2.0,201.0,1723161255342,yes,no", "X.csv", r"unknown layout: .*7 fields"),
        ("hello,world", "X.csv", r"unknown layout: found a header row 'hello,world'"),
        ("id,qty,price,quote_qty,time,is_buyer_maker", "X.csv", r"unknown layout: .*'id,qty,price"),
        ("", "X.csv", "the first line is empty"),
        (
            kline(AUG_8_S, 300, CANDLES[0][:6], 7, 1000),
            "BTCUSDT-5m-2024-08-08.zip",
            r"binance klines file at interval 5m: only 1s and 1m candles are imported",
        ),
        (
            kline(AUG_8_S, 1, CANDLES[0][:6], 7, 1000),
            "BTCUSDT-1m-2024-08-08.zip",
            "the name says 1m but the first candle spans",
        ),
        (kline(AUG_8_S, 60, CANDLES[0][:6], 7, 1000), "BTCUSDT.csv", "its name gives no interval"),
        (
            "timestamp,open,high,low,close,volume",
            "BTCUSDT_5m.csv",
            "ccxt ohlcv 1m file at interval 5m: only 1m candles",
        ),
    ],
)
def test_unknown_or_contradicted_layouts_are_refused_by_name(
    first_line: str, file_name: str, message: str
) -> None:
    with pytest.raises(ImportFileError, match=message) as refused:
        detect_layout(first_line, file_name)
    assert str(refused.value).startswith(f"{file_name}: ")


# ---------------------------------------------------------------- trades and aggTrades


SPOT_TRADES = (
    "7,100.5,2.0,201.0,{t1},True,True\n"  # price, qty and quote_qty all differ
    "8,100.6,1.5,150.9,{t2},False,True\n"
)


@pytest.mark.parametrize(
    ("name", "text", "scale"),
    [
        ("SOLUSDT-trades-2024-08-08.csv", SPOT_TRADES, 1),
        (
            "SOLUSDT-trades-2025-01-02.zip",
            "id,price,qty,quote_qty,time,is_buyer_maker,is_best_match\n" + SPOT_TRADES,
            1000,
        ),
        (
            "SOLUSDT-trades-2024-08-08.zip",
            "id,price,qty,quote_qty,time,is_buyer_maker\n"
            "7,100.5,2.0,201.0,{t1},true\n8,100.6,1.5,150.9,{t2},false\n",
            1,
        ),
    ],
    ids=["spot-headerless-ms-csv", "spot-header-us-zip", "usdm-header-zip"],
)
def test_trades_layouts_store_each_column_where_it_belongs(
    tmp_path: Path, sqlite_url: str, name: str, text: str, scale: int
) -> None:
    t1, t2 = 1_723_161_255_342, 1_723_161_256_000
    path = write(tmp_path, name, text.format(t1=t1 * scale, t2=t2 * scale))
    engine = make_engine(sqlite_url)
    assert import_file(engine, path) == 2
    stored = stored_trades(engine, "SOLUSDT")
    assert stored.trade_id.tolist() == [7, 8]
    assert stored.ts_ms.tolist() == [t1, t2]
    assert stored.price.tolist() == [100.5, 100.6]
    assert stored.qty.tolist() == [2.0, 1.5]
    assert stored.buyer_maker.astype(bool).tolist() == [True, False]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "ETHUSDT-aggTrades-2025-01-02.zip",  # spot: no header, µs, best match last
            "501,2683.8,0.25,9001,9003,1735776000123456,False,True\n"
            "502,2684.1,1.75,9004,9004,1735776001500000,True,True\n",
        ),
        (
            "ETHUSDT-aggTrades-2024-08-08.csv",  # USD-M: header, ms
            "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,"
            "is_buyer_maker\n"
            "501,2683.8,0.25,9001,9003,1735776000123,false\n"
            "502,2684.1,1.75,9004,9004,1735776001500,true\n",
        ),
    ],
    ids=["spot-headerless-us-zip", "usdm-header-ms-csv"],
)
def test_aggtrades_are_stored_as_trades_with_the_aggregate_id(
    tmp_path: Path, sqlite_url: str, name: str, text: str
) -> None:
    engine = make_engine(sqlite_url)
    assert import_file(engine, write(tmp_path, name, text)) == 2
    stored = stored_trades(engine, "ETHUSDT")
    assert stored.trade_id.tolist() == [501, 502]  # not the first/last trade ids
    assert stored.ts_ms.tolist() == [1_735_776_000_123, 1_735_776_001_500]
    assert stored.price.tolist() == [2683.8, 2684.1]
    assert stored.qty.tolist() == [0.25, 1.75]
    assert stored.buyer_maker.astype(bool).tolist() == [False, True]
    one_second = bars(engine, "ETHUSDT", 1)
    assert one_second.ts_s.tolist() == [JAN_2_S, JAN_2_S + 1]
    assert one_second.close.tolist() == [2683.8, 2684.1]


# ---------------------------------------------------------------- klines


@pytest.mark.parametrize(
    ("name", "text", "first_s", "seconds"),
    [
        ("BTCUSDT-1m-2024-08-08.csv", klines_text(AUG_8_S, 60, 1000), AUG_8_S, 60),
        (
            "BTCUSDT-1m-2024-08-08.zip",
            KLINES_HEADER + "\n" + klines_text(AUG_8_S, 60, 1000),
            AUG_8_S,
            60,
        ),
        ("BTCUSDT-1s-2025-01-02.zip", klines_text(JAN_2_S, 1, 10**6), JAN_2_S, 1),
        ("BTCUSDT-1s-2024-08-08.csv", klines_text(AUG_8_S, 1, 1000), AUG_8_S, 1),
    ],
    ids=["spot-1m-ms-csv", "usdm-1m-header-zip", "spot-1s-us-zip", "spot-1s-ms-csv"],
)
def test_klines_show_up_in_read_bars_column_by_column(
    tmp_path: Path, sqlite_url: str, name: str, text: str, first_s: int, seconds: int
) -> None:
    engine = make_engine(sqlite_url)
    assert import_file(engine, write(tmp_path, name, text)) == 3
    got = bars(engine, "BTCUSDT", seconds)
    pd.testing.assert_frame_equal(got, expected_bars(first_s, seconds), check_dtype=False)
    interval = f"1{'m' if seconds == 60 else 's'}"
    with engine.connect() as conn:
        assert kline_span(conn, "BTCUSDT", interval) == (first_s, first_s + 2 * seconds, 3)
    ((symbol, stored_interval, from_s, to_s, *_),) = history(engine)
    assert (symbol, stored_interval, from_s, to_s) == (
        "BTCUSDT",
        interval,
        first_s,
        first_s + 3 * seconds,
    )


def test_importing_twice_changes_nothing(tmp_path: Path, sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    minutes = write(tmp_path, "BTCUSDT-1m-2024-08-08.zip", klines_text(AUG_8_S, 60, 1000))
    later_ms = (AUG_8_S + 86_400) * 1000
    trades = write(
        tmp_path,
        "BTCUSDT-trades-2024-08-09.csv",
        SPOT_TRADES.format(t1=later_ms + 5, t2=later_ms + 1500),
    )
    for path in (minutes, trades):
        import_file(engine, path)
    before = (bars(engine, "BTCUSDT", 60), stored_trades(engine, "BTCUSDT"), history(engine))
    for path in (minutes, trades):
        import_file(engine, path)
    after = (bars(engine, "BTCUSDT", 60), stored_trades(engine, "BTCUSDT"), history(engine))
    pd.testing.assert_frame_equal(after[0], before[0])
    pd.testing.assert_frame_equal(after[1], before[1])
    assert after[2] == before[2]
    with engine.connect() as conn:
        assert kline_span(conn, "BTCUSDT", "1m")[2] == 3


def test_chunks_are_stored_one_by_one_and_noted_once(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)  # 3 candles: two chunks
    engine = make_engine(sqlite_url)
    path = write(tmp_path, "BTCUSDT-1m-2024-08-08.zip", klines_text(AUG_8_S, 60, 1000))
    assert import_file(engine, path) == 3
    pd.testing.assert_frame_equal(
        bars(engine, "BTCUSDT", 60), expected_bars(AUG_8_S, 60), check_dtype=False
    )
    ((_, _, from_s, to_s, *_),) = history(engine)
    assert (from_s, to_s) == (AUG_8_S, AUG_8_S + 180)


def test_ccxt_minutes_are_checked_across_chunks(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "CHUNK_ROWS", 2)
    engine = make_engine(sqlite_url)
    header = "timestamp,open,high,low,close,volume\n"
    gap = ["03:00:00", "03:01:00", "03:03:00", "03:04:00", "03:05:00"]  # a gap at the chunk seam
    rows = "".join(
        f"2024-10-01 {t},{i + 1},{i + 2},{i},{i + 1.5},{i + 0.25}\n" for i, t in enumerate(gap)
    )
    assert import_file(engine, write(tmp_path, "BTCUSDT_1m_gap.csv", header + rows)) == 5
    got = bars(engine, "BTCUSDT", 60)
    assert (got.ts_s - got.ts_s[0]).tolist() == [0, 60, 180, 240, 300]
    assert got.open.tolist() == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert got.close.tolist() == [1.5, 2.5, 3.5, 4.5, 5.5]

    backwards = header + rows.replace("03:03:00", "02:59:00")
    with pytest.raises(ImportFileError, match="not increasing whole minutes"):
        import_file(engine, write(tmp_path, "ETHUSDT_1m_backwards.csv", backwards))
    with engine.connect() as conn:  # the first chunk is stored, but never noted as history
        assert kline_span(conn, "ETHUSDT", "1m")[2] == 2
        assert [row.symbol for row in read_history(conn)] == ["BTCUSDT"]


# ---------------------------------------------------------------- refusals store nothing


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("BTCUSDT-x.csv", "1,2,3,4,5,6,7,8,9\n", "unknown layout"),
        ("BTCUSDT-5m-2024-08-08.csv", klines_text(AUG_8_S, 300, 1000), "interval 5m"),
        (
            "BTCUSDT-1m-2024-08-08.csv",
            klines_text(AUG_8_S, 60, 1000) + kline(AUG_8_S + 180, 1, CANDLES[0][:6], 1, 1000),
            r"binance klines file \(candle .* does not span 1m\)",
        ),
        (
            "BTCUSDT-1m-2024-08-08.csv",
            kline(AUG_8_S + 30, 60, CANDLES[0][:6], 1, 1000),
            "does not open on a 1m boundary",
        ),
        (
            "BTCUSDT-trades-2024-08-08.csv",
            SPOT_TRADES.format(t1=1, t2=2) + "9,1.0,1.0,1.0,3,True,True,extra\n",
            r"spot trades file \(.*Expected 7 fields",
        ),
        (
            "BTCUSDT-trades-2024-08-08.csv",
            SPOT_TRADES.format(t1=1, t2=2) + "9,1.0,1.0,1.0,3,True\n",
            r"spot trades file \(a row has an empty field",
        ),
        (
            "BTCUSDT-trades-2024-08-08.csv",
            SPOT_TRADES.format(t1=1, t2=2) + "9,1.0,1.0,1.0,3,maybe,True\n",
            "is_buyer_maker holds a value other than True/False",
        ),
        (
            "BTCUSDT_1m_five_minute_steps.csv",
            "timestamp,open,high,low,close,volume\n"
            "2024-10-01 03:00:00,1,1,1,1,1\n2024-10-01 03:05:00,1,1,1,1,1\n",
            r"ccxt ohlcv 1m file \(no two candles are one minute apart",
        ),
        (
            "BTCUSDT_1m.csv",
            "timestamp,open,high,low,close,volume\n1727751600000,1,1,1,1,1\n",
            r"ccxt ohlcv 1m file \(.*1727751600000",
        ),
    ],
    ids=[
        "9-columns",
        "5m-klines",
        "1s-candle-in-1m-file",
        "misaligned-candle",
        "extra-field",
        "missing-field",
        "bad-flag",
        "ccxt-5m-steps",
        "ccxt-epoch-ms",
    ],
)
def test_refused_files_name_the_problem_and_store_nothing(
    tmp_path: Path, sqlite_url: str, name: str, text: str, message: str
) -> None:
    engine = make_engine(sqlite_url)
    path = write(tmp_path, name, text)
    with pytest.raises(ImportFileError, match=message):
        import_file(engine, path)
    assert nothing_stored(engine, "BTCUSDT")


def test_cli_says_what_it_imported_and_refuses_in_one_line(
    tmp_path: Path, sqlite_url: str, write_config
) -> None:
    config = write_config({"storage": {"url": sqlite_url}})
    good = write(tmp_path, "BTCUSDT-1m-2024-08-08.zip", klines_text(AUG_8_S, 60, 1000))
    bad = write(tmp_path, "BTCUSDT-5m-2024-08-08.zip", klines_text(AUG_8_S, 300, 1000))
    command = [sys.executable, "-m", "ingest", "--config", str(config), "import"]
    ok = subprocess.run(
        [*command, str(good)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"{good}: BTCUSDT 1m klines (binance klines): 3 rows\n"
    refused = subprocess.run(
        [*command, str(bad)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        "error: BTCUSDT-5m-2024-08-08.zip: binance klines file at interval 5m: only 1s and 1m "
        "candles are imported (pairwatch stores 1s and 1m)"
    )


# ---------------------------------------------------------------- the real ccxt minutes


def test_real_ccxt_minutes_import_as_1m_klines(sqlite_url: str) -> None:
    path = real_file(CCXT_MINUTES)
    engine = make_engine(sqlite_url)
    plan = plan_import(path)
    assert plan.label == "BTCUSDT 1m klines (ccxt ohlcv 1m)"
    assert import_file(engine, path) == 50_000
    first_s = 1_727_751_600  # 2024-10-01 03:00 UTC, the file's first row
    with engine.connect() as conn:
        assert kline_span(conn, "BTCUSDT", "1m") == (first_s, first_s + 49_999 * 60, 50_000)
    got = bars(engine, "BTCUSDT", 60)
    source = pd.read_csv(path)
    assert len(got) == 50_000
    for column in ("open", "high", "low", "close", "volume"):
        assert got[column].tolist() == source[column].tolist(), column
    stamps = pd.to_datetime(source["timestamp"], utc=True)
    seconds = (stamps - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
    assert got.ts_s.tolist() == seconds.tolist()
    assert got.vwap.to_numpy() == pytest.approx(got.close.to_numpy(), rel=1e-12)  # no quote vol.
    assert (got.n_trades == 0).all()  # nor a trade count
