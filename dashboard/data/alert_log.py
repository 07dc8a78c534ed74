"""Stored alerts and alert-rule states, read as the alert worker wrote them (never replayed).

``alerts`` filters the ``alerts`` table; ``rule_states`` joins each configured rule with its
``rule_states`` row. A z rule is ``armed`` (fires on the next crossing) or ``triggered``
(fired; re-arms once |z| < exit_z); a relationship rule is ``holding`` (EG p at or below
max_p) or ``broken``; either is ``waiting`` while the worker has stored nothing for it yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import pandas as pd

from analytics.vocabulary import Direction, DirectionFilter, RelationshipEvent, RuleKind, Timeframe
from dashboard.services import DataService
from ingest.settings import AlertRuleSettings
from ingest.storage import read_alerts, rule_states_by_rule


class RuleStatus(StrEnum):
    """Where a rule stands."""

    ARMED = "armed"
    TRIGGERED = "triggered"
    HOLDING = "holding"
    BROKEN = "broken"
    WAITING = "waiting"


@dataclass(frozen=True, slots=True)
class RuleState:
    """A configured alert rule with the state the alert worker stored for it.

    ``last_z`` and ``last_eval_ts`` are the z-score and time (epoch s) of the last bar the
    worker evaluated; ``last_direction`` and ``last_alert_ts`` (epoch s, bar time) are those of
    its last firing.
    """

    pair: str
    name: str
    kind: RuleKind
    entry_z: float
    exit_z: float
    direction: DirectionFilter
    timeframe: Timeframe
    window: int
    max_p: float
    state: RuleStatus
    last_direction: Direction | RelationshipEvent | None = None
    last_z: float | None = None
    last_p: float | None = None
    last_eval_ts: int | None = None
    last_alert_ts: int | None = None


def alerts(
    service: DataService,
    *,
    pair: str | None = None,
    direction: Direction | RelationshipEvent | None = None,
    start_ms: int | None = None,
    end_ms: int | None = None,
    limit: int = 1000,
) -> pd.DataFrame:
    """Stored alerts, newest first, filtered."""
    with service.engine.connect() as conn:
        return read_alerts(
            conn, pair=pair, direction=direction, start_ms=start_ms, end_ms=end_ms, limit=limit
        )


def rule_states(service: DataService) -> list[RuleState]:
    """Each configured rule with the state the alert worker stored (one read, no replay)."""
    with service.engine.connect() as conn:
        stored = rule_states_by_rule(conn)
    return [
        _rule_state(rule, stored.get((rule.pair, rule.name, rule.timeframe)))
        for rule in service.settings.alerts.rules
    ]


def _rule_state(rule: AlertRuleSettings, row: dict[str, Any] | None) -> RuleState:
    """A configured rule joined with its stored row (None: the worker has not written one)."""
    config = (
        rule.pair,
        rule.name,
        rule.kind,
        rule.entry_z,
        rule.exit_z,
        rule.direction,
        rule.timeframe,
        rule.window,
        rule.max_p,
    )
    if row is None or row["kind"] != rule.kind:
        return RuleState(*config, state=RuleStatus.WAITING)
    on, off = (
        (RuleStatus.ARMED, RuleStatus.TRIGGERED)
        if rule.kind == "z"
        else (RuleStatus.HOLDING, RuleStatus.BROKEN)
    )
    return RuleState(
        *config,
        state=on if row["armed"] else off,
        last_direction=row["last_direction"],
        last_z=row["last_z"],
        last_p=row["last_p"],
        last_eval_ts=row["last_eval_ts"],
        last_alert_ts=row["last_alert_ts"],
    )
