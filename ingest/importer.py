"""Import of exchange data files (CSV or ZIP) into ``trades``/``bars_1s`` and ``klines``.

This module owns reading a file whose layout ``ingest.import_layouts`` named, in chunks whose
rows ``ingest.import_rows`` builds, and storing them: trades and aggTrades through the same
idempotent insert as live ingestion, rebuilding the bars of each chunk's time range from the
table; candles through the idempotent ``insert_klines``, one transaction per chunk, then one
``note_imported_klines`` for the file so the dashboard reads them. Importing a file twice (or
over live data) changes nothing. A tqdm bar on stderr shows progress on large files.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine
from tqdm import tqdm

from ingest.import_layouts import Detected, ImportFileError, detect_layout
from ingest.import_rows import candle_reader, trade_rows
from ingest.settings import QUALIFIED_SYMBOL, SYMBOL_PATTERN
from ingest.storage import (
    KLINE_INTERVALS,
    insert_klines,
    insert_trades,
    note_imported_klines,
    rebuild_bars,
)

__all__ = ["ImportFileError", "ImportPlan", "import_file", "plan_import", "symbol_from_name"]

CHUNK_ROWS = 100_000
TRADE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class ImportPlan:
    """A file ready to import: its path, the symbol it holds and its detected layout."""

    path: Path
    symbol: str
    detected: Detected

    @property
    def label(self) -> str:
        """What the file holds, e.g. ``BTCUSDT 1m klines (binance klines)``."""
        layout = self.detected.layout
        what = "trades" if layout.reader == "trades" else f"{self.detected.interval} klines"
        return f"{self.symbol} {what} ({layout.name})"


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


def plan_import(path: Path, symbol: str | None = None) -> ImportPlan:
    """The layout and symbol of ``path``; ``ImportFileError`` if either is unknown."""
    if not path.is_file():
        raise ImportFileError(f"{path}: no such file")
    try:
        with _open_text(path) as probe:
            first = probe.readline()
    except (UnicodeDecodeError, zipfile.BadZipFile) as exc:
        raise ImportFileError(f"{path}: not a CSV file or a ZIP of one ({exc})") from None
    detected = detect_layout(first, path.name)
    if symbol is not None and not QUALIFIED_SYMBOL.match(symbol):
        raise ImportFileError(f"--symbol {symbol!r}: expected e.g. BTCUSDT or usdm:BTCUSDT")
    return ImportPlan(path, symbol or symbol_from_name(path), detected)


def _store_trades(
    engine: Engine, plan: ImportPlan, chunks: Iterable[pd.DataFrame]
) -> Iterable[int]:
    for frame in chunks:
        batch = trade_rows(frame, plan.detected.layout, plan.symbol)
        with engine.begin() as conn:
            for start in range(0, len(batch), TRADE_BATCH):
                insert_trades(conn, batch[start : start + TRADE_BATCH])
            first_s = min(t.ts_ms for t in batch) // 1000
            last_s = max(t.ts_ms for t in batch) // 1000
            rebuild_bars(conn, plan.symbol, first_s, last_s)
        yield len(batch)


def _store_klines(
    engine: Engine, plan: ImportPlan, chunks: Iterable[pd.DataFrame]
) -> Iterable[int]:
    interval = plan.detected.interval
    assert interval is not None  # detect_layout gives every candle layout its interval
    read = candle_reader(plan.detected.layout, interval)
    span: tuple[int, int] | None = None
    for frame in chunks:
        rows = read(frame)
        with engine.begin() as conn:
            insert_klines(conn, plan.symbol, interval, rows)
        first_s, last_s = min(r["ts_s"] for r in rows), max(r["ts_s"] for r in rows)
        span = (first_s, last_s) if span is None else (min(span[0], first_s), max(span[1], last_s))
        yield len(rows)
    if span is not None:
        with engine.begin() as conn:
            end_s = span[1] + KLINE_INTERVALS[interval]
            now_ms = int(time.time() * 1000)
            note_imported_klines(conn, plan.symbol, interval, span[0], end_s, now_ms=now_ms)


def import_file(engine: Engine, path: Path, symbol: str | None = None) -> int:
    """Import one file; returns the number of rows read (rows already stored are kept)."""
    plan = plan_import(path, symbol)
    detected = plan.detected
    is_trades = detected.layout.reader == "trades"
    rows = 0
    unit = " trades" if is_trades else " klines"
    with tqdm(desc=path.name, unit=unit, unit_scale=True, leave=False) as progress:
        try:
            with (
                _open_text(path) as text,
                pd.read_csv(
                    text,
                    header=0 if detected.has_header else None,
                    names=list(detected.layout.columns),
                    chunksize=CHUNK_ROWS,
                ) as chunks,
            ):
                store = _store_trades if is_trades else _store_klines
                for stored in store(engine, plan, chunks):
                    rows += stored
                    progress.update(stored)
        except ValueError as exc:  # pandas' ParserError and UnicodeDecodeError among them
            raise ImportFileError(
                f"{path}: not a valid {detected.layout.name} file ({exc})"
            ) from None
    return rows
