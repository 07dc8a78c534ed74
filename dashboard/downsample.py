"""Server-side downsampling so no trace sends more than ``max_points`` points to the browser.

Uses tsdownsample's MinMaxLTTB (the plotly-resampler choice: keeps spikes, shape-preserving and
about 1 ms for 10^5 points). Returns *indices*, so every column of a frame can be sliced the
same way; NaN values (warm-up of rolling statistics) are dropped before selecting.
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler

_DOWNSAMPLER = MinMaxLTTBDownsampler()
MIN_POINTS = 4


def keep_indices(x: np.ndarray, y: np.ndarray, max_points: int) -> np.ndarray:
    """Indices of the finite points of ``y`` to plot, at most ``max_points`` of them, sorted."""
    finite = np.flatnonzero(np.isfinite(y))
    if finite.size <= max_points:
        return finite
    budget = max(max_points, MIN_POINTS)
    xs = np.ascontiguousarray(x[finite], dtype=np.int64)
    ys = np.ascontiguousarray(y[finite], dtype=np.float64)
    chosen = _DOWNSAMPLER.downsample(xs, ys, n_out=budget)
    return finite[np.asarray(chosen, dtype=np.int64)]
