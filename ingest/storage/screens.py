"""The screener's stored rankings: one ranked list of pairs per timeframe and window.

The ingestor's screener worker replaces the ranking of a ``(tf, window)`` after each pass
(``save_screen``, one transaction); the dashboard reads it back as it was stored
(``read_screen``), so the default screener view opens without computing anything. Each row
carries the fields of ``SCREEN_FIELDS``, the names the API answers with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, delete, insert, select

from ingest.storage.schema import screens

SCREEN_FIELDS = (
    "base",
    "hedge",
    "eg_stat",
    "eg_p",
    "beta",
    "half_life",
    "hurst",
    "corr",
    "z",
    "bars",
)
"""One screened pair, in the order the API lists them."""


@dataclass(frozen=True, slots=True)
class StoredScreen:
    """A ranking as stored: the newest bar it used (``as_of_s``), when, and its pairs."""

    tf: str
    window: int
    as_of_s: int
    computed_ms: int
    pairs: tuple[dict[str, Any], ...]


def save_screen(
    conn: Connection,
    *,
    tf: str,
    window: int,
    as_of_s: int,
    computed_ms: int,
    pairs: Sequence[Mapping[str, Any]],
) -> None:
    """Replace the stored ranking of ``(tf, window)`` with ``pairs`` (best first)."""
    key = (screens.c.tf == tf) & (screens.c.window_bars == window)
    conn.execute(delete(screens).where(key))
    rows = [
        {
            "tf": tf,
            "window_bars": window,
            "place": place,
            "as_of_s": as_of_s,
            "computed_ms": computed_ms,
            **{name: pair[name] for name in SCREEN_FIELDS},
        }
        for place, pair in enumerate(pairs)
    ]
    if rows:
        conn.execute(insert(screens), rows)


def read_screen(conn: Connection, tf: str, window: int) -> StoredScreen | None:
    """The stored ranking of ``(tf, window)``, best first; None when none was stored."""
    query = (
        select(screens)
        .where((screens.c.tf == tf) & (screens.c.window_bars == window))
        .order_by(screens.c.place)
    )
    rows = conn.execute(query).mappings().all()
    if not rows:
        return None
    pairs = tuple({name: row[name] for name in SCREEN_FIELDS} for row in rows)
    first = rows[0]
    return StoredScreen(tf, window, int(first["as_of_s"]), int(first["computed_ms"]), pairs)
