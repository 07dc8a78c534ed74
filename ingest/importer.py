"""Import of data.binance.vision trade files (CSV or ZIP) into ``trades`` and ``bars_1s``.

This module owns reading the exchange's published trade dumps: with or without a header row,
millisecond or microsecond timestamps, plain or zipped. Rows go in chunks through the same
idempotent insert as live ingestion, and the bars of each chunk's time range are rebuilt from
the table, so importing a file twice (or over live data) changes nothing. A tqdm bar on stderr
shows progress on large files.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from tqdm import tqdm

from ingest.errors import IngestError
from ingest.settings import SYMBOL_PATTERN
from ingest.storage import insert_trades, rebuild_bars
from ingest.storage.records import Trade

CHUNK_ROWS = 100_000
COLUMNS = ["id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"]
MICROSECOND_THRESHOLD = 10**14


class ImportFileError(IngestError):
    """A file that is not a Binance trades dump."""


def symbol_from_name(path: Path) -> str:
    """The symbol in a file name such as ``BTCUSDT-trades-2024-08-08.zip``."""
    for token in re.split(r"[-_.]", path.name):
        if SYMBOL_PATTERN.match(token) and sum(c.isalpha() for c in token) >= 4:
            return token
    raise ImportFileError(f"{path}: no symbol in the file name; pass --symbol")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix.lower() == ".zip":
        archive = zipfile.ZipFile(path)
        members = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(members) != 1:
            raise ImportFileError(f"{path}: expected exactly one .csv inside the zip")
        return io.TextIOWrapper(archive.open(members[0]), encoding="utf-8")
    return open(path, encoding="utf-8")


def _chunks(path: Path) -> pd.io.parsers.TextFileReader:
    with _open_text(path) as probe:
        first = probe.readline()
    has_header = not first.split(",", 1)[0].strip().isdigit()
    names = None if has_header else COLUMNS[: first.count(",") + 1]
    return pd.read_csv(
        _open_text(path),
        header=0 if has_header else None,
        names=names,
        chunksize=CHUNK_ROWS,
        dtype={"price": "float64", "qty": "float64"},
    )


def _trades(frame: pd.DataFrame, symbol: str) -> list[Trade]:
    missing = {"id", "price", "qty", "time", "is_buyer_maker"} - set(frame.columns)
    if missing:
        raise ImportFileError(f"missing columns {sorted(missing)}")
    times = frame["time"].astype("int64")
    if len(times) and int(times.max()) > MICROSECOND_THRESHOLD:
        times = times // 1000
    makers = frame["is_buyer_maker"].astype(str).str.lower().eq("true")
    return [
        Trade(symbol, int(i), int(t), float(p), float(q), bool(m))
        for i, t, p, q, m in zip(
            frame["id"].astype("int64"), times, frame["price"], frame["qty"], makers, strict=True
        )
    ]


def import_file(engine: Engine, path: Path, symbol: str | None = None) -> int:
    """Import one file; returns the number of rows read (duplicates are skipped)."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    symbol = symbol or symbol_from_name(path)
    rows = 0
    with tqdm(desc=path.name, unit=" trades", unit_scale=True, leave=False) as progress:
        try:
            for frame in _chunks(path):
                batch = _trades(frame, symbol)
                if not batch:
                    continue
                with engine.begin() as conn:
                    for start in range(0, len(batch), 5000):
                        insert_trades(conn, batch[start : start + 5000])
                    first_s = min(t.ts_ms for t in batch) // 1000
                    last_s = max(t.ts_ms for t in batch) // 1000
                    rebuild_bars(conn, symbol, first_s, last_s)
                rows += len(batch)
                progress.update(len(batch))
        except (ValueError, pd.errors.ParserError, UnicodeDecodeError, zipfile.BadZipFile) as exc:
            raise ImportFileError(f"{path}: not a Binance trades file ({exc})") from None
    return rows
