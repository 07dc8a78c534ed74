"""Import of data.binance.vision trade files: real CSVs, zips, headerless µs files, errors."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from ingest.importer import ImportFileError, import_file, symbol_from_name
from ingest.storage import make_engine, read_bars, trade_summary
from tests.conftest import REPO, real_file
from tests.ingest.test_storage import pandas_bars
from tests.ingest_process import stored_trades

BTC = "binance_spot_BTCUSDT_trades_20240808T2354_20240809T0005.csv"
ETH = "binance_spot_ETHUSDT_trades_20240808T2354_20240809T0005.csv"


def test_real_files_import_with_right_counts_and_ids(sqlite_url, write_config) -> None:
    config = write_config({"storage": {"url": sqlite_url}})
    files = [real_file(BTC), real_file(ETH)]
    result = subprocess.run(
        [sys.executable, "-m", "ingest", "--config", str(config), "import", *map(str, files)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    summary = trade_summary(make_engine(sqlite_url)).set_index("symbol")
    assert summary.loc["BTCUSDT", "rows"] == 19_904
    assert summary.loc["BTCUSDT", "first_id"] == 3_735_683_259
    assert summary.loc["ETHUSDT", "rows"] == 14_515
    btc = pd.read_csv(files[0])
    assert summary.loc["BTCUSDT", "last_id"] == btc["id"].max()
    assert summary.loc["BTCUSDT", "last_ms"] == btc["time"].max()


def test_import_twice_changes_nothing_and_bars_are_exact(sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    path = real_file(ETH)
    import_file(engine, path)
    import_file(engine, path)
    stored = stored_trades(engine, "ETHUSDT")
    assert len(stored) == 14_515
    frame = pd.read_csv(path)
    expected = pandas_bars(
        [
            (
                "ETHUSDT",
                int(r.id),
                int(r.time),
                float(r.price),
                float(r.qty),
                bool(r.is_buyer_maker),
            )
            for r in frame.itertuples(index=False)
        ]
    )
    with engine.connect() as conn:
        bars = read_bars(conn, "ETHUSDT", 0, 2**40)
    pd.testing.assert_frame_equal(bars[expected.columns], expected, check_dtype=False, rtol=1e-9)


def test_headerless_microsecond_zip(tmp_path: Path, sqlite_url) -> None:
    csv = (
        "7,100.5,2.0,201.0,1723161255342001,True,True\n"
        "8,100.6,1.0,100.6,1723161256000000,False,True\n"
    )
    archive = tmp_path / "SOLUSDT-trades-2025-01-01.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("SOLUSDT-trades-2025-01-01.csv", csv)
    engine = make_engine(sqlite_url)
    assert import_file(engine, archive) == 2
    stored = stored_trades(engine, "SOLUSDT")
    assert stored.ts_ms.tolist() == [1723161255342, 1723161256000]
    assert stored.buyer_maker.astype(bool).tolist() == [True, False]


def test_symbol_from_file_names() -> None:
    assert symbol_from_name(Path("BTCUSDT-trades-2024-08-08.zip")) == "BTCUSDT"
    assert symbol_from_name(Path(BTC)) == "BTCUSDT"
    with pytest.raises(ImportFileError, match="--symbol"):
        symbol_from_name(Path("trades.csv"))


def test_bad_files_raise_clear_errors(tmp_path: Path, sqlite_url) -> None:
    engine = make_engine(sqlite_url)
    with pytest.raises(ImportFileError, match="no such file"):
        import_file(engine, tmp_path / "BTCUSDT-missing.csv")
    garbage = tmp_path / "BTCUSDT-garbage.csv"
    garbage.write_text("hello,world\n1,2\n")
    with pytest.raises(ImportFileError, match="unknown layout: found a header row 'hello,world'"):
        import_file(engine, garbage)
