"""Huber robust regression of many windows at once (private).

Owns the batched form of statsmodels' ``RLM(y, [1, x], M=HuberT()).fit()`` used for the causal
robust hedge ratio: every row of ``y``/``x`` is one trailing window and is fitted on its own,
with the same iteration as statsmodels (OLS start; scale = MAD about 0; Huber weights with
t = 1.345; weighted least squares; convergence when the deviance ``sum(rho(resid / s²))`` moves
by at most ``1e-8``, at most 50 iterations), so each row equals the single fit to within that
tolerance. Rows are fitted independently (a converged row leaves the batch), so a row's result
never depends on which other rows are in the batch. Imports numpy only.
"""

from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

HUBER_T: Final[float] = 1.345
MAD_NORMAL: Final[float] = 0.6744897501960817  # Φ⁻¹(3/4): MAD of a standard normal
TOLERANCE: Final[float] = 1e-8
MAX_ITERATIONS: Final[int] = 50


def _weighted_fit(
    y: FloatArray, x: FloatArray, w: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Per-row WLS of ``y = alpha + beta·x``: beta, alpha, residuals and weighted s²."""
    total = w.sum(axis=1)
    mx = np.einsum("ij,ij->i", w, x) / total
    my = np.einsum("ij,ij->i", w, y) / total
    dx = x - mx[:, None]
    dy = y - my[:, None]
    wdx = w * dx
    with np.errstate(divide="ignore", invalid="ignore"):
        beta = np.einsum("ij,ij->i", wdx, dy) / np.einsum("ij,ij->i", wdx, dx)
    alpha = my - beta * mx
    dy -= beta[:, None] * dx
    w *= dy
    return beta, alpha, dy, np.einsum("ij,ij->i", w, dy) / (y.shape[1] - 2)


def _huber_rho(z: FloatArray) -> FloatArray:
    """Huber's rho summed per row: ``z²/2`` inside ``±t``, ``t·|z| - t²/2`` outside."""
    a = np.abs(z)
    m = np.minimum(a, HUBER_T)
    a -= m
    a *= HUBER_T
    m *= m
    m *= 0.5
    m += a
    return m.sum(axis=1)


def _huber_weights(z: FloatArray) -> FloatArray:
    """1 inside ``±t``, ``t/|z|`` outside."""
    return HUBER_T / np.maximum(np.abs(z), HUBER_T)


def huber_rows(y: FloatArray, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Huber (RLM) ``beta``, ``alpha`` of every row of the 2-D arrays ``y`` and ``x``.

    Rows whose ``x`` is constant give NaN. Arrays must be finite, shape (rows, window >= 3).
    """
    rows = y.shape[0]
    beta_out = np.full(rows, np.nan)
    alpha_out = np.full(rows, np.nan)
    beta, alpha, resid, s2 = _weighted_fit(y, x, np.ones_like(y))
    scale = np.median(np.abs(resid), axis=1) / MAD_NORMAL
    with np.errstate(divide="ignore", invalid="ignore"):
        deviance = _huber_rho(resid / s2[:, None])
    active = np.flatnonzero(np.isfinite(beta) & (scale > 0.0))
    done = np.flatnonzero(np.isfinite(beta) & (scale == 0.0))
    beta_out[done], alpha_out[done] = beta[done], alpha[done]
    ya, xa = y[active], x[active]
    resid, scale, deviance = resid[active], scale[active], deviance[active]
    iteration = 1
    while active.size:
        weights = _huber_weights(resid / scale[:, None])
        beta, alpha, resid, s2 = _weighted_fit(ya, xa, weights)
        scale = np.median(np.abs(resid), axis=1) / MAD_NORMAL
        with np.errstate(divide="ignore", invalid="ignore"):
            new_deviance = _huber_rho(resid / s2[:, None])
        iteration += 1
        moving = np.abs(new_deviance - deviance) > TOLERANCE
        # statsmodels stops a fit whose scale reached 0 (perfect fit of the weighted data).
        keep = moving & (scale > 0.0) if iteration < MAX_ITERATIONS else np.zeros_like(moving)
        finished = ~keep
        beta_out[active[finished]] = beta[finished]
        alpha_out[active[finished]] = alpha[finished]
        active = active[keep]
        ya, xa, resid = ya[keep], xa[keep], resid[keep]
        scale, deviance = scale[keep], new_deviance[keep]
    return beta_out, alpha_out
