"""Relationship alerts: a pair's cointegration breaking and coming back, with persistence.

Owns the rule (:class:`RelationshipRule`), its state between evaluations
(:class:`RelationshipState`), the fired record (:class:`RelationshipAlert`) and the pure
transition :func:`evaluate_relationship`, the twin of :func:`analytics.alerts.evaluate` for the
Engle-Granger p instead of the z-score. A holding relationship fires ``BROKEN`` once p has been
above ``max_p`` for ``persist`` consecutive evaluations; a broken one fires ``RESTORED`` once p
has been at or below ``max_p`` for ``persist`` consecutive evaluations. Skipped bars (NaN p, a
stale leg, an open gap) neither count nor reset the streak; the cooldown spaces firings.
Evaluating bars one at a time gives exactly the events of evaluating them all at once.
"""

from dataclasses import dataclass

import numpy as np

from analytics._checks import check_choice, check_number, check_window
from analytics.alerts import bar_series
from analytics.errors import ParameterError
from analytics.vocabulary import TIMEFRAMES, RelationshipEvent, Timeframe


@dataclass(frozen=True, slots=True)
class RelationshipRule:
    """Watch the EG p over ``window`` bars of ``tf``; broken above ``max_p`` for ``persist``."""

    name: str
    pair: str
    max_p: float = 0.05
    persist: int = 3
    cooldown_s: float = 0.0
    tf: Timeframe = "1m"
    window: int = 300

    def __post_init__(self) -> None:
        if not self.name or not self.pair:
            raise ParameterError("relationship rule needs a non-empty name and pair")
        p = check_number("max_p", self.max_p, low=0.0, strict_low=True)
        if p >= 1.0:
            raise ParameterError(f"max_p must be below 1, got {self.max_p!r}")
        check_window("persist", self.persist, minimum=1)
        check_number("cooldown_s", self.cooldown_s, low=0.0)
        check_choice("tf", self.tf, TIMEFRAMES)
        check_window("window", self.window, minimum=20)


@dataclass(frozen=True, slots=True)
class RelationshipState:
    """Holding or broken, the evaluations in a row on the other side, the last firing."""

    holding: bool = True
    streak: int = 0
    last_fire_ts: int | None = None
    last_event: RelationshipEvent | None = None


@dataclass(frozen=True, slots=True)
class RelationshipAlert:
    """One firing at bar time ``ts`` (epoch s) with the p that completed the streak."""

    rule: str
    pair: str
    event: RelationshipEvent
    eg_p: float
    ts: int


def evaluate_relationship(
    ts: np.ndarray,
    p: np.ndarray,
    rule: RelationshipRule,
    state: RelationshipState,
    *,
    blocked: np.ndarray | None = None,
) -> tuple[list[RelationshipAlert], RelationshipState]:
    """
    Run the rule over bars in time order and return the fired alerts and the new state.

    Parameters
    ----------
    ts : np.ndarray of int, shape (n,)
        Bar times in epoch seconds, increasing.
    p : np.ndarray of float, shape (n,)
        Engle-Granger p at each bar (causal: the window ending at that bar).
    rule : RelationshipRule
    state : RelationshipState
        State after the previous call (``RelationshipState()`` to start holding).
    blocked : np.ndarray of bool, shape (n,), optional
        Bars to skip (stale leg, open gap).

    Returns
    -------
    (alerts, state) : tuple of list of RelationshipAlert and RelationshipState
    """
    times, ps, skip = bar_series(ts, "p", p, blocked)
    holding, streak = state.holding, state.streak
    last_ts, last_event = state.last_fire_ts, state.last_event
    alerts: list[RelationshipAlert] = []
    for i in np.flatnonzero(~skip).tolist():
        value = float(ps[i])
        other_side = value > rule.max_p if holding else value <= rule.max_p
        streak = streak + 1 if other_side else 0
        now = int(times[i])
        cooled = last_ts is None or now - last_ts >= rule.cooldown_s
        if streak < rule.persist or not cooled:
            continue
        event: RelationshipEvent = "BROKEN" if holding else "RESTORED"
        alerts.append(RelationshipAlert(rule.name, rule.pair, event, value, now))
        holding, streak, last_ts, last_event = not holding, 0, now, event
    return alerts, RelationshipState(holding, streak, last_ts, last_event)
