"""Trailing-window moments by block-restarted cumulative sums (private).

Owns the one numerically careful primitive behind rolling OLS, rolling z-scores and rolling
correlation: for every index ``t`` the count, means, centred sums of squares and centred
cross-product of the finite observations in ``[t - window + 1, t]``. Plain cumulative sums over
a whole series lose precision when prices are large (BTC ~ 60,000) and series are long, so the
sums restart every ``window`` points from a per-block centre (its first counted value). A window
ending at ``t`` spans the tail of the previous block and the head of ``t``'s block; the tail
sums are shifted to the centre of ``t``'s block and combined. Every operation is a vectorised
numpy pass. Imports numpy only.
"""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False, slots=True)
class WindowMoments:
    count: FloatArray
    mean_x: FloatArray
    m2_x: FloatArray
    mean_y: FloatArray | None = None
    m2_y: FloatArray | None = None
    c_xy: FloatArray | None = None


def _blocked(values: FloatArray, valid: npt.NDArray[np.bool_] | None, block: int) -> FloatArray:
    """Reshape ``values`` (invalid → 0) into zero-padded rows of ``block`` points."""
    n_blocks = -(-values.size // block)
    padded = np.zeros(n_blocks * block)
    padded[: values.size] = values if valid is None else np.where(valid, values, 0.0)
    return padded.reshape(n_blocks, block)


def _split_sums(blocks: FloatArray, size: int) -> tuple[FloatArray, FloatArray]:
    """Per window: the sum over its part in the previous block and over its part in t's block."""
    window = blocks.shape[1]
    prefix = np.cumsum(blocks, axis=1)
    totals = prefix[:, -1]
    own = prefix.ravel()[:size]
    prev = np.zeros(size)
    if size > window:
        # The previous block's points after t - window: its total minus its prefix up to there.
        prev[window:] = np.repeat(totals[:-1], window)[: size - window] - own[: size - window]
    return prev, own


def window_moments(
    x: FloatArray, y: FloatArray | None, window: int, *, var_y: bool = True
) -> WindowMoments:
    """Moments of the finite (pairwise finite when ``y`` is given) points of each window.

    With ``var_y=False`` the sum of squares of ``y`` is skipped (``m2_y`` is None).
    """
    size = x.size
    valid = np.isfinite(x) if y is None else np.isfinite(x) & np.isfinite(y)
    mask: npt.NDArray[np.bool_] | None = None if valid.all() else valid
    counts = _blocked(np.ones(size), mask, window)
    t = np.arange(size)
    block = t // window
    prev_block = np.maximum(block - 1, 0)
    if mask is None:
        n_own = (t % window + 1).astype(np.float64)
        n_prev = np.where(t >= window, window - n_own, 0.0)
    else:
        n_prev, n_own = _split_sums(counts, size)
    n = n_prev + n_own
    # Each block is centred on its first counted value: known before any later point, so a
    # window's result never depends on data after it (bit-identical under truncation).
    first = np.argmax(counts > 0, axis=1)

    def parts(values: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        blocks = _blocked(values, mask, window)
        centre = blocks[np.arange(blocks.shape[0]), first]
        dev = blocks - centre[:, None]
        if mask is not None:
            dev *= counts  # invalid points contribute nothing (padding is never read)
        own_c = centre[block]
        # Every window is expressed around a centre inside it: its own block's, or the
        # previous block's while its own block has no counted point yet (its own-part sums
        # are then exactly 0, so only the previous part ever needs shifting).
        target = own_c if mask is None else np.where(n_own > 0, own_c, centre[prev_block])
        return dev, target, centre[prev_block] - target

    with np.errstate(divide="ignore", invalid="ignore"):
        dx, cx, shift_x = parts(x)
        s1x_p, s1x_o = _split_sums(dx, size)
        s2x_p, s2x_o = _split_sums(dx * dx, size)
        s1x = s1x_p + s1x_o + n_prev * shift_x
        s2x = s2x_p + s2x_o + shift_x * (2.0 * s1x_p + n_prev * shift_x)
        mean_x = cx + s1x / n
        m2_x = np.maximum(s2x - s1x * s1x / n, 0.0)
        if y is None:
            return WindowMoments(count=n, mean_x=mean_x, m2_x=m2_x)
        dy, cy, shift_y = parts(y)
        s1y_p, s1y_o = _split_sums(dy, size)
        sxy_p, sxy_o = _split_sums(dx * dy, size)
        s1y = s1y_p + s1y_o + n_prev * shift_y
        sxy = sxy_p + sxy_o + shift_x * s1y_p + shift_y * s1x_p + n_prev * shift_x * shift_y
        m2_y = None
        if var_y:
            s2y_p, s2y_o = _split_sums(dy * dy, size)
            s2y = s2y_p + s2y_o + shift_y * (2.0 * s1y_p + n_prev * shift_y)
            m2_y = np.maximum(s2y - s1y * s1y / n, 0.0)
        return WindowMoments(
            count=n,
            mean_x=mean_x,
            m2_x=m2_x,
            mean_y=cy + s1y / n,
            m2_y=m2_y,
            c_xy=sxy - s1x * s1y / n,
        )


def window_constant(x: FloatArray, window: int) -> npt.NDArray[np.bool_]:
    """True where every point of the trailing window equals the previous one (exact test)."""
    changed = np.ones(x.size)
    changed[1:] = x[1:] != x[:-1]
    changed[0] = 0.0
    total = np.cumsum(changed)
    start = np.maximum(np.arange(x.size) - window + 1, 0)
    return (total - total[start]) == 0
