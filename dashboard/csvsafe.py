"""CSV export with a formula-injection guard (OWASP CSV injection, ASVS 1.2.10).

Spreadsheets execute a cell that starts with ``= + - @`` (or tab, CR, LF, NUL). Every CSV the
dashboard hands out — API ``?format=csv`` and ``dcc.Download`` buttons — goes through
``to_safe_csv``, which prefixes such text cells with ``'``. Numeric columns are written as
numbers, so a negative z-score stays ``-1.23``.
"""

from __future__ import annotations

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")


def guard_cell(value: object) -> object:
    """Prefix a text cell that a spreadsheet would treat as a formula with ``'``."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


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
    """``frame`` as CSV text (no index), injection-guarded."""
    return guard_frame(frame).to_csv(index=False, lineterminator="\n")
