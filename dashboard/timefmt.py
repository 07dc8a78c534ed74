"""Display time: epoch seconds/milliseconds (UTC, as stored) shown in the configured zone.

Storage and transport stay in UTC epoch units; this module is the one place that converts them
for people: wall-clock milliseconds for Plotly date axes (Plotly has no time zone support, so the
shift happens on the server), formatted strings for labels and tables and the zone label; rough
durations ("4 min") come from ``ingest.storage.approx_duration``, shared with the status lines.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from ingest.storage import approx_duration

__all__ = ["approx_duration", "display_zone", "format_series", "format_time", "wall_clock_ms"]

UTC_NAME = "UTC"


def display_zone(configured: str, utc: bool) -> str:
    """The IANA zone to show times in: UTC when toggled, else the configured one."""
    return UTC_NAME if utc else configured


def wall_clock_ms(ts_s: np.ndarray | pd.Series, zone: str) -> np.ndarray:
    """Epoch seconds → int64 milliseconds of the wall clock in ``zone`` (for Plotly date axes)."""
    stamps = pd.to_datetime(np.asarray(ts_s, dtype=np.int64), unit="s", utc=True)
    local = stamps.tz_convert(zone).tz_localize(None)
    return local.as_unit("ms").asi8


def format_time(epoch_s: float | None, zone: str, *, with_date: bool = True) -> str:
    """``2024-06-01 21:00:03 IST`` style text (``—`` when unknown)."""
    if epoch_s is None or not np.isfinite(epoch_s):
        return "—"
    moment = pd.Timestamp(float(epoch_s), unit="s", tz="UTC").tz_convert(ZoneInfo(zone))
    pattern = "%Y-%m-%d %H:%M:%S %Z" if with_date else "%H:%M:%S %Z"
    return moment.strftime(pattern)


def format_series(epoch_ms: pd.Series, zone: str) -> pd.Series:
    """Vectorised :func:`format_time` for millisecond columns (tables and CSV exports)."""
    stamps = pd.to_datetime(epoch_ms.astype("int64"), unit="ms", utc=True).dt.tz_convert(zone)
    return stamps.dt.strftime("%Y-%m-%d %H:%M:%S %Z")
