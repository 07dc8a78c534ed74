"""CSV export with a formula-injection guard (OWASP CSV injection, ASVS 1.2.10).

Spreadsheets execute a cell that starts with ``= + - @`` (or tab, CR, LF, NUL). Every CSV the
dashboard hands out — API ``?format=csv`` and ``dcc.Download`` buttons — goes through
``to_safe_csv``, which prefixes such text with ``'`` at the start of the cell **and after every
line break inside it**, and writes RFC 4180 records (CRLF between records), so a cell holding
CR, LF, a comma or a quote is always quoted and a reader can never start a new record inside
it. Numeric columns are written as numbers, so a negative z-score stays ``-1.23``.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
_LINE_START = re.compile(r"(?<=[\r\n])(?=[=+\-@\t\0])")
"""A position after a line break where a spreadsheet would see a formula start."""


def guard_cell(value: object) -> object:
    """Prefix every formula start of a text cell (its start, each line start) with ``'``."""
    if not isinstance(value, str):
        return value
    guarded = _LINE_START.sub("'", value)
    return "'" + guarded if guarded.startswith(FORMULA_TRIGGERS) else guarded


def guard_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text (non-numeric, non-boolean) columns are guarded."""
    safe = frame.copy()
    for column in safe.columns:
        series = safe[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        safe[column] = series.map(guard_cell).astype(object)
    safe.columns = [str(guard_cell(str(name))) for name in safe.columns]
    return safe


def to_safe_csv(frame: pd.DataFrame) -> str:
    """``frame`` as CSV text (no index, CRLF records, CR/LF cells quoted), injection-guarded."""
    return guard_frame(frame).to_csv(index=False, lineterminator="\r\n")
