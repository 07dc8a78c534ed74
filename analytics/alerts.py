"""Z-score alert state machine with hysteresis, cooldown and a direction filter.

Owns the rule (:class:`AlertRule`), the state carried between evaluations
(:class:`AlertState`), the fired record (:class:`AlertEvent`) and the pure transition
:func:`evaluate`. The state machine is the only thing that decides whether an alert fires, so the
ingest alert worker (bar by bar) and the dashboard (whole history) agree: evaluating bars one at
a time gives exactly the events of evaluating them all at once. Imports numpy and our helpers.
"""

import math
from dataclasses import dataclass

import numpy as np

from analytics._checks import as_float_array, check_choice, check_number, check_window
from analytics.errors import ParameterError
from analytics.vocabulary import (
    DIRECTION_FILTERS,
    TIMEFRAMES,
    Direction,
    DirectionFilter,
    Timeframe,
)


@dataclass(frozen=True, slots=True)
class AlertRule:
    """
    Fire when the z-score crosses ``±entry_z``; re-arm once ``|z| < exit_z``.

    ``direction`` ``"UP"`` fires only for ``z > entry_z``, ``"DOWN"`` only for ``z < -entry_z``,
    ``"both"`` for either. ``cooldown_s`` is the least time between two firings of the rule.
    ``tf`` and ``window`` say which z-series the rule watches (timeframe and z window).
    """

    name: str
    pair: str
    entry_z: float
    exit_z: float
    cooldown_s: float = 0.0
    direction: DirectionFilter = "both"
    tf: Timeframe = "1s"
    window: int = 60

    def __post_init__(self) -> None:
        if not self.name or not self.pair:
            raise ParameterError("alert rule needs a non-empty name and pair")
        entry = check_number("entry_z", self.entry_z, low=0.0, strict_low=True)
        exit_ = check_number("exit_z", self.exit_z, low=0.0)
        if exit_ >= entry:
            raise ParameterError(f"exit_z ({exit_}) must be below entry_z ({entry})")
        check_number("cooldown_s", self.cooldown_s, low=0.0)
        check_choice("direction", self.direction, DIRECTION_FILTERS)
        check_choice("tf", self.tf, TIMEFRAMES)
        check_window("window", self.window)


@dataclass(frozen=True, slots=True)
class AlertState:
    """What a rule remembers between bars: armed flag, last firing time and direction."""

    armed: bool = True
    last_fire_ts: int | None = None
    last_direction: Direction | None = None


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One firing: ``ts`` in epoch seconds (bar time); ``spread``/``beta`` at that bar if given."""

    rule: str
    pair: str
    direction: Direction
    z: float
    ts: int
    spread: float | None = None
    beta: float | None = None


def bar_series(
    ts: object, name: str, values: object, blocked: object | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Checked bar times, values and the bars to skip (``blocked`` or a non-finite value)."""
    times = np.asarray(ts)
    if times.ndim != 1 or not np.issubdtype(times.dtype, np.number):
        raise ParameterError("ts must be a 1-D numeric array of epoch seconds")
    size = times.size
    series = as_float_array(name, values)
    if series.size != size:
        raise ParameterError(f"{name} has length {series.size}, expected {size}")
    skip = np.zeros(size, dtype=bool) if blocked is None else np.asarray(blocked, dtype=bool)
    if skip.shape != (size,):
        raise ParameterError(f"blocked has shape {skip.shape}, expected ({size},)")
    return times, series, skip | ~np.isfinite(series)


def _optional(name: str, values: object, size: int) -> list[float] | None:
    if values is None:
        return None
    array = as_float_array(name, values)
    if array.size != size:
        raise ParameterError(f"{name} has length {array.size}, expected {size}")
    return array.tolist()


def evaluate(
    ts: np.ndarray,
    z: np.ndarray,
    rule: AlertRule,
    state: AlertState,
    *,
    spread: np.ndarray | None = None,
    beta: np.ndarray | None = None,
    blocked: np.ndarray | None = None,
) -> tuple[list[AlertEvent], AlertState]:
    """
    Run the rule over bars in time order and return the fired events and the new state.

    For each bar: a NaN ``z`` or ``blocked[i]`` (stale leg, open gap) is skipped entirely (no
    firing, no re-arming). A disarmed rule re-arms when ``|z| < exit_z``. An armed rule fires
    ``UP`` when ``z > entry_z`` or ``DOWN`` when ``z < -entry_z`` if that direction is allowed
    and ``ts - last_fire_ts >= cooldown_s``; firing disarms it. A crossing suppressed by the
    direction filter or the cooldown leaves the rule armed, so it fires on a later bar still
    beyond the threshold once the cooldown has passed.

    Parameters
    ----------
    ts : np.ndarray of int, shape (n,)
        Bar times in epoch seconds, increasing.
    z : np.ndarray of float, shape (n,)
    rule : AlertRule
    state : AlertState
        State after the previous call (``AlertState()`` to start armed).
    spread, beta : np.ndarray of float, shape (n,), optional
        Copied into the events.
    blocked : np.ndarray of bool, shape (n,), optional

    Returns
    -------
    (events, state) : tuple of list of AlertEvent and AlertState
    """
    times, zs, skip = bar_series(ts, "z", z, blocked)
    spreads = _optional("spread", spread, times.size)
    betas = _optional("beta", beta, times.size)

    allow_up = rule.direction in ("UP", "both")
    allow_down = rule.direction in ("DOWN", "both")
    armed, last_ts, last_dir = state.armed, state.last_fire_ts, state.last_direction
    events: list[AlertEvent] = []
    # Only bars that can change something need a look: skip the quiet middle band quickly.
    active = ~skip & ((np.abs(zs) < rule.exit_z) | (np.abs(zs) > rule.entry_z))
    for i in np.flatnonzero(active).tolist():
        zi = float(zs[i])
        if not armed:
            armed = abs(zi) < rule.exit_z
            continue
        direction: Direction | None = None
        if zi > rule.entry_z and allow_up:
            direction = "UP"
        elif zi < -rule.entry_z and allow_down:
            direction = "DOWN"
        now = int(times[i])
        if direction is None or (last_ts is not None and now - last_ts < rule.cooldown_s):
            continue
        events.append(
            AlertEvent(
                rule=rule.name,
                pair=rule.pair,
                direction=direction,
                z=zi,
                ts=now,
                spread=None if spreads is None else _or_none(spreads[i]),
                beta=None if betas is None else _or_none(betas[i]),
            )
        )
        armed, last_ts, last_dir = False, now, direction
    return events, AlertState(armed=armed, last_fire_ts=last_ts, last_direction=last_dir)


def _or_none(value: float) -> float | None:
    return value if math.isfinite(value) else None
