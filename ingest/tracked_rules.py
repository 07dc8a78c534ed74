"""The alert worker's live rules: each configured rule with its state between passes.

A tracked rule knows how many bars before the first new one it needs (``lookback_bars``), turns
the causal values of a pass's new bars into fired alert rows (``step``), and moves its state to
and from its ``rule_states`` row (``state_row``, ``restore``). ``TrackedZ`` runs the z-score
state machine (``analytics.evaluate``); ``TrackedRelationship`` runs the relationship one
(``analytics.relationship.evaluate_relationship``) on the Engle-Granger p of the window ending at
each new bar, and evaluates only bars whose z is known, so every stored alert carries a z.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from analytics.alerts import AlertRule, AlertState, evaluate
from analytics.pipeline import PairParams
from analytics.relationship import RelationshipRule, RelationshipState, evaluate_relationship
from analytics.vocabulary import DIRECTIONS, RELATIONSHIP_EVENTS, Timeframe


@dataclass(frozen=True, slots=True)
class PassValues:
    """Causal values at a pass's new bars: times, z, spread, β, EG p and the blocked bars."""

    ts: np.ndarray
    z: np.ndarray
    spread: np.ndarray
    beta: np.ndarray
    blocked: np.ndarray
    eg_p: np.ndarray | None = None


class TrackedRule(Protocol):
    """What the alert worker needs of a rule, whatever its kind."""

    base: str
    hedge: str
    params: PairParams
    last_eval_s: int | None

    @property
    def name(self) -> str: ...
    @property
    def pair(self) -> str: ...
    @property
    def tf(self) -> Timeframe: ...
    def lookback_bars(self) -> int: ...
    def needs_p(self) -> int | None: ...
    def step(self, values: PassValues) -> list[dict[str, Any]]: ...
    def state_row(self) -> dict[str, Any]: ...
    def restore(self, stored: dict[str, Any] | None, fired: tuple[int, str] | None) -> None: ...


def _seen(values: PassValues, usable: np.ndarray) -> int | None:
    """Index of the last bar the state machine looked at (None when it skipped them all)."""
    looked = np.flatnonzero(usable & ~values.blocked)
    return int(looked[-1]) if looked.size else None


def _row(rule: str, pair: str, kind: str, **values: Any) -> dict[str, Any]:
    return {"pair": pair, "rule": rule, "kind": kind, "state": "fired", **values}


class _RuleNames:
    """Name, pair and timeframe of a tracked rule, read from its ``rule``."""

    rule: AlertRule | RelationshipRule

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def pair(self) -> str:
        return self.rule.pair

    @property
    def tf(self) -> Timeframe:
        return self.rule.tf


@dataclass
class TrackedZ(_RuleNames):
    """A z-score rule: fires UP/DOWN when |z| crosses entry_z, re-arms below exit_z."""

    rule: AlertRule
    params: PairParams
    base: str
    hedge: str
    state: AlertState = field(default_factory=AlertState)
    last_eval_s: int | None = None
    last_z: float | None = None
    last_bar_s: int | None = None

    def lookback_bars(self) -> int:
        return self.params.window + self.rule.window + 2

    def needs_p(self) -> int | None:
        return None

    def step(self, values: PassValues) -> list[dict[str, Any]]:
        events, self.state = evaluate(
            values.ts,
            values.z,
            self.rule,
            self.state,
            spread=values.spread,
            beta=values.beta,
            blocked=values.blocked,
        )
        last = _seen(values, np.isfinite(values.z))
        if last is not None:
            self.last_z, self.last_bar_s = float(values.z[last]), int(values.ts[last])
        return [
            _row(
                e.rule,
                e.pair,
                "z",
                direction=e.direction,
                z=e.z,
                spread=e.spread,
                beta=e.beta,
                ts_ms=e.ts * 1000,
            )
            for e in events
        ]

    def state_row(self) -> dict[str, Any]:
        state = self.state
        return {
            "pair": self.pair,
            "rule": self.name,
            "kind": "z",
            "armed": bool(state.armed),
            "last_direction": state.last_direction,
            "last_z": self.last_z,
            "last_eval_ts": self.last_bar_s,
            "last_alert_ts": None if state.last_fire_ts is None else int(state.last_fire_ts),
            "timeframe": self.tf,
            "updated_ms": time.time_ns() // 1_000_000,
        }

    def restore(self, stored: dict[str, Any] | None, fired: tuple[int, str] | None) -> None:
        """From the rule's ``rule_states`` row, else from its newest stored alert; a row that
        misses a newer alert in ``alerts`` does not describe this rule any more."""
        last_alert = None if stored is None else stored["last_alert_ts"]
        if stored is not None and (fired is None or fired[0] // 1000 <= (last_alert or 0)):
            direction = stored["last_direction"]
            known = direction if direction in DIRECTIONS else None
            self.state = AlertState(bool(stored["armed"]), last_alert, known)
            self.last_z, self.last_bar_s = stored["last_z"], stored["last_eval_ts"]
        elif fired is not None and fired[1] in DIRECTIONS:
            self.state = AlertState(False, fired[0] // 1000, fired[1])  # type: ignore[arg-type]


@dataclass
class TrackedRelationship(_RuleNames):
    """A relationship rule: BROKEN / RESTORED on the pair's Engle-Granger p, with persistence."""

    rule: RelationshipRule
    params: PairParams
    base: str
    hedge: str
    state: RelationshipState = field(default_factory=RelationshipState)
    last_eval_s: int | None = None
    last_z: float | None = None
    last_p: float | None = None
    last_bar_s: int | None = None

    def lookback_bars(self) -> int:
        return max(self.params.window + self.params.z_window, self.rule.window) + 2

    def needs_p(self) -> int | None:
        return self.rule.window

    def step(self, values: PassValues) -> list[dict[str, Any]]:
        p = np.full(values.ts.size, np.nan) if values.eg_p is None else values.eg_p
        usable = np.isfinite(p) & np.isfinite(values.z)
        blocked = values.blocked | ~usable
        alerts, self.state = evaluate_relationship(
            values.ts, p, self.rule, self.state, blocked=blocked
        )
        last = _seen(values, usable)
        if last is not None:
            self.last_p, self.last_z = float(p[last]), float(values.z[last])
            self.last_bar_s = int(values.ts[last])
        at = {int(t): i for i, t in enumerate(values.ts.tolist())}
        return [
            _row(
                a.rule,
                a.pair,
                "relationship",
                direction=a.event,
                z=float(values.z[at[a.ts]]),
                spread=float(values.spread[at[a.ts]]),
                beta=float(values.beta[at[a.ts]]),
                eg_p=a.eg_p,
                ts_ms=a.ts * 1000,
            )
            for a in alerts
        ]

    def state_row(self) -> dict[str, Any]:
        state = self.state
        return {
            "pair": self.pair,
            "rule": self.name,
            "kind": "relationship",
            "armed": bool(state.holding),
            "last_direction": state.last_event,
            "last_z": self.last_z,
            "last_p": self.last_p,
            "streak": state.streak,
            "last_eval_ts": self.last_bar_s,
            "last_alert_ts": None if state.last_fire_ts is None else int(state.last_fire_ts),
            "timeframe": self.tf,
            "updated_ms": time.time_ns() // 1_000_000,
        }

    def restore(self, stored: dict[str, Any] | None, fired: tuple[int, str] | None) -> None:
        """From the rule's row (holding flag, streak, last event), else its newest alert."""
        last_alert = None if stored is None else stored["last_alert_ts"]
        if stored is not None and (fired is None or fired[0] // 1000 <= (last_alert or 0)):
            event = stored["last_direction"]
            known = event if event in RELATIONSHIP_EVENTS else None
            self.state = RelationshipState(
                bool(stored["armed"]), int(stored["streak"] or 0), last_alert, known
            )
            self.last_z, self.last_p = stored["last_z"], stored["last_p"]
            self.last_bar_s = stored["last_eval_ts"]
        elif fired is not None and fired[1] in RELATIONSHIP_EVENTS:
            holding = fired[1] == "RESTORED"
            self.state = RelationshipState(holding, 0, fired[0] // 1000, fired[1])  # type: ignore[arg-type]
