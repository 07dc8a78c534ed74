"""Which bars a hole in the trade record touches: the one gap-overlap rule.

A gap is a range of trade ids the feed did not receive. Its time span runs from the trade
before the hole (``from_ms``) to the trade after it (``to_ms``); when the trade before is not
known, the span starts at ``to_ms``, and when neither is known (a hole reported by the exchange
alone) it is the instant the gap was detected. A bar ``[t, t + bar_seconds)`` is affected when
it meets that closed span. The alert worker blocks such bars and the dashboard warns about a
window that holds one; both go through :func:`overlaps`.
"""

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analytics._checks import check_window

GAP_TIME_COLUMNS: tuple[str, ...] = ("from_ms", "to_ms", "detected_ms")
"""Columns of a gap frame this rule reads (epoch ms; ``from_ms``/``to_ms`` may be missing)."""


def gap_spans_ms(gaps: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """
    First and last epoch ms of each gap's time span.

    Parameters
    ----------
    gaps : pd.DataFrame
        Columns :data:`GAP_TIME_COLUMNS`; missing times are NaN or None.

    Returns
    -------
    tuple of np.ndarray of int64
        ``(first_ms, last_ms)``, one entry per row.
    """
    detected = pd.to_numeric(gaps["detected_ms"]).astype("float64")
    to_ms = pd.to_numeric(gaps["to_ms"]).astype("float64").fillna(detected)
    from_ms = pd.to_numeric(gaps["from_ms"]).astype("float64").fillna(to_ms)
    return from_ms.to_numpy(dtype=np.int64), to_ms.to_numpy(dtype=np.int64)


def overlaps(
    bar_start_s: Sequence[int] | np.ndarray, bar_seconds: int, gaps: pd.DataFrame
) -> np.ndarray:
    """
    Which bar meets which gap: the one rule, as a matrix.

    Parameters
    ----------
    bar_start_s : array-like of int
        Bar start times (epoch s).
    bar_seconds : int
        Bar length; a whole window is one bar of its own length.
    gaps : pd.DataFrame
        Columns :data:`GAP_TIME_COLUMNS`.

    Returns
    -------
    np.ndarray of bool, shape (bars, gaps)
        True where bar ``[t, t + bar_seconds)`` meets the gap's closed time span.
    """
    starts = np.asarray(bar_start_s, dtype=np.int64) * 1000
    length = check_window("bar_seconds", bar_seconds, minimum=1) * 1000
    if gaps.empty or starts.size == 0:
        return np.zeros((starts.size, len(gaps)), dtype=bool)
    first, last = gap_spans_ms(gaps)
    return (starts[:, None] + length > first[None, :]) & (starts[:, None] <= last[None, :])


def bars_in_gaps(
    bar_start_s: Sequence[int] | np.ndarray, bar_seconds: int, gaps: pd.DataFrame
) -> np.ndarray:
    """True for each bar that meets the time span of any gap in ``gaps`` (see :func:`overlaps`)."""
    return np.asarray(overlaps(bar_start_s, bar_seconds, gaps).any(axis=1), dtype=bool)


def gaps_in_window(start_s: int, length_s: int, gaps: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``gaps`` that meet the window ``[start_s, start_s + length_s)``."""
    return gaps[overlaps([start_s], length_s, gaps)[0]] if not gaps.empty else gaps
