"""Bar aggregation and pair alignment.

Owns two steps between storage and the statistics: :func:`resample_bars` aggregates one
symbol's 1-second bars (``bars_1s`` rows) into 1s/1m/5m bars labelled by their start time, and
:func:`align_legs` (and :func:`align_pair` for two) puts legs' closes on one regular time grid
with a bounded forward fill,
so a stale price is never silently repeated; :func:`complete_rows` keeps the rows where both
legs are known, which is what the statistics consume. Imports numpy, pandas and our errors.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from analytics._checks import check_choice, check_window
from analytics.errors import ParameterError
from analytics.vocabulary import BAR_COLUMNS, BAR_SECONDS, TIMEFRAMES


def resample_bars(bars_1s: pd.DataFrame, tf: str) -> pd.DataFrame:
    """
    Aggregate one symbol's 1-second bars into bars of timeframe ``tf``.

    Parameters
    ----------
    bars_1s : pd.DataFrame
        Columns :data:`BAR_COLUMNS` (extra columns are ignored); ``ts_s`` is the bar start in
        integer epoch seconds (UTC). Rows need not be sorted; they are sorted stably by ``ts_s``.
    tf : str
        One of :data:`~analytics.vocabulary.TIMEFRAMES` (``"1s"``, ``"1m"`` or ``"5m"``).

    Returns
    -------
    pd.DataFrame
        Columns :data:`BAR_COLUMNS` with a fresh RangeIndex, one row per non-empty bar, labelled
        by its start ``ts_s // size * size``: ``open`` first, ``close`` last, ``high`` max,
        ``low`` min, ``volume`` and ``n_trades`` summed, ``vwap`` the volume-weighted mean of
        the 1s ``vwap`` values (the bar's ``close`` when its total volume is zero).

    Raises
    ------
    ParameterError
        Unknown ``tf`` or a missing column.
    """
    size = BAR_SECONDS[check_choice("tf", tf, TIMEFRAMES)]
    missing = [c for c in BAR_COLUMNS if c not in bars_1s.columns]
    if missing:
        raise ParameterError(f"bars_1s is missing column(s) {missing}")
    if bars_1s.empty:
        return bars_1s.loc[:, list(BAR_COLUMNS)].reset_index(drop=True)

    ts = bars_1s["ts_s"].to_numpy(dtype=np.int64)
    order = np.argsort(ts, kind="stable")
    ts = ts[order]

    def column(name: str) -> np.ndarray:
        return bars_1s[name].to_numpy(dtype=np.float64)[order]

    label = ts // size * size
    # First row of each bar: where the label changes (labels are sorted).
    starts = np.flatnonzero(np.r_[True, label[1:] != label[:-1]])
    ends = np.r_[starts[1:], label.size] - 1
    volume = column("volume")
    close = column("close")
    bar_volume = np.add.reduceat(volume, starts)
    weighted = np.add.reduceat(column("vwap") * volume, starts)
    vwap = np.divide(weighted, bar_volume, out=close[ends].copy(), where=bar_volume > 0)
    n_trades = np.add.reduceat(bars_1s["n_trades"].to_numpy(dtype=np.int64)[order], starts)
    return pd.DataFrame(
        {
            "ts_s": label[starts],
            "open": column("open")[starts],
            "high": np.maximum.reduceat(column("high"), starts),
            "low": np.minimum.reduceat(column("low"), starts),
            "close": close[ends],
            "volume": bar_volume,
            "vwap": vwap,
            "n_trades": n_trades,
        }
    )


def _on_grid(name: str, leg: pd.Series, bar_seconds: int) -> pd.Series:
    if not pd.api.types.is_integer_dtype(leg.index.dtype):
        raise ParameterError(f"{name} must be indexed by integer epoch seconds (ts_s)")
    if not leg.index.is_unique:
        raise ParameterError(f"{name} has duplicate timestamps")
    ts = leg.index.to_numpy(dtype=np.int64)
    off_grid = ts % bar_seconds != 0
    if off_grid.any():
        raise ParameterError(
            f"{name} has {int(off_grid.sum())} timestamp(s) not on the {bar_seconds}s grid, "
            f"first {int(ts[off_grid][0])}"
        )
    return leg.astype(np.float64).sort_index()


def align_legs(
    legs: dict[str, pd.Series], *, bar_seconds: int, max_stale_bars: int
) -> pd.DataFrame:
    """
    Put any number of legs' closes on one regular grid, each forward-filled a bounded time.

    The one alignment rule of pairwatch (pairs, the correlation heatmap): a leg with no bar at a
    grid time keeps its last price for at most ``max_stale_bars`` bars (0: never); after that,
    and before its first bar, it is NaN. The grid runs from the earliest to the latest bar of
    any leg, step ``bar_seconds``; columns are the keys of ``legs``, in order.

    Raises
    ------
    ParameterError
        Timestamps not integer, not unique or off the grid; bad ``bar_seconds`` or
        ``max_stale_bars``.
    """
    step = check_window("bar_seconds", bar_seconds, minimum=1)
    limit = check_window("max_stale_bars", max_stale_bars, minimum=0)
    on_grid = {name: _on_grid(name, leg, step) for name, leg in legs.items()}
    stamps = [leg.index for leg in on_grid.values() if not leg.empty]
    if not stamps:
        empty = pd.Index([], dtype=np.int64, name="ts_s")
        return pd.DataFrame({name: [] for name in legs}, index=empty, dtype=np.float64)
    first = min(int(s.min()) for s in stamps)
    last = max(int(s.max()) for s in stamps)
    grid = pd.Index(np.arange(first, last + step, step, dtype=np.int64), name="ts_s")
    columns = {}
    for name, leg in on_grid.items():
        filled = leg.reindex(grid)
        columns[name] = filled.ffill(limit=limit) if limit > 0 else filled
    return pd.DataFrame(columns, index=grid)


def align_pair(
    base: pd.Series,
    hedge: pd.Series,
    *,
    bar_seconds: int,
    max_stale_bars: int,
    log: bool = False,
) -> pd.DataFrame:
    """
    Put two legs' closes on one regular grid (:func:`align_legs`), as columns ``base``/``hedge``.

    Rows are **not** dropped: the grid is regular, which keeps gaps visible (for example to
    block alerts). Pass the frame through :func:`complete_rows` before computing statistics.

    Parameters
    ----------
    base, hedge : pd.Series
        Closes indexed by bar start ``ts_s`` (integer epoch seconds, multiples of
        ``bar_seconds``, unique). NaN values count as missing bars.
    bar_seconds : int
        Grid step in seconds (for example ``BAR_SECONDS["1m"]``).
    max_stale_bars : int
        Largest number of consecutive bars a leg may be carried forward (0: never).
    log : bool
        Return natural-log prices (prices must then be positive). Do not also set
        ``PairParams.log``, which takes logs again inside :func:`analytics.compute_pair`.

    Raises
    ------
    ParameterError
        As :func:`align_legs`; non-positive prices with ``log=True``.
    """
    frame = align_legs(
        {"base": base, "hedge": hedge}, bar_seconds=bar_seconds, max_stale_bars=max_stale_bars
    )
    if log and not frame.empty:
        values = frame.to_numpy()
        if (values[np.isfinite(values)] <= 0).any():
            raise ParameterError("log=True needs positive prices")
        frame = np.log(frame)
    return frame


def complete_rows(aligned: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of an :func:`align_pair` frame where both legs have a price."""
    return aligned[aligned["base"].notna() & aligned["hedge"].notna()]


def closes(bars: pd.DataFrame) -> pd.Series:
    """The ``close`` column of a bar frame as a float Series indexed by ``ts_s``."""
    return pd.Series(
        bars["close"].to_numpy(dtype=np.float64),
        index=pd.Index(bars["ts_s"].to_numpy(dtype=np.int64), name="ts_s"),
    )


def aligned_closes(
    base_bars: pd.DataFrame, hedge_bars: pd.DataFrame, *, bar_seconds: int, max_stale_bars: int
) -> pd.DataFrame:
    """Both legs' closes on one grid, only where both have a price (align, then complete)."""
    aligned = align_pair(
        closes(base_bars),
        closes(hedge_bars),
        bar_seconds=bar_seconds,
        max_stale_bars=max_stale_bars,
    )
    return complete_rows(aligned)


def closes_grid(
    bars: Mapping[str, pd.DataFrame], *, bar_seconds: int, max_stale_bars: int
) -> pd.DataFrame:
    """Closes of every symbol with bars on one grid (:func:`align_legs`); symbols without
    bars are left out, so the columns are the symbols that have data."""
    present = {name: closes(frame) for name, frame in bars.items() if not frame.empty}
    return align_legs(present, bar_seconds=bar_seconds, max_stale_bars=max_stale_bars)
