"""The relationship state machine, hand-computed: persistence, restore, skips, cooldown."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.errors import ParameterError
from analytics.relationship import (
    RelationshipRule,
    RelationshipState,
    evaluate_relationship,
)

RULE = RelationshipRule("eg", "A-B", max_p=0.05, persist=3, tf="1m", window=60)


def run(p: list[float], rule: RelationshipRule = RULE, blocked: list[bool] | None = None):
    ts = np.arange(len(p)) * 60
    mask = None if blocked is None else np.array(blocked)
    return evaluate_relationship(ts, np.array(p), rule, RelationshipState(), blocked=mask)


def test_broken_after_persist_evaluations_above_and_restored_after_persist_below() -> None:
    p = [0.01, 0.2, 0.3, 0.01, 0.2, 0.3, 0.4, 0.5, 0.04, 0.02, 0.3, 0.01, 0.02, 0.03]
    alerts, state = run(p)
    assert [(a.event, a.ts, a.eg_p) for a in alerts] == [
        ("BROKEN", 6 * 60, 0.4),  # three in a row above 0.05: bars 4, 5, 6 (bar 3 reset it)
        ("RESTORED", 13 * 60, 0.03),  # three in a row at or below: bars 11, 12, 13
    ]
    assert state == RelationshipState(True, 0, 13 * 60, "RESTORED")


def test_skipped_bars_neither_count_nor_reset() -> None:
    p = [0.2, float("nan"), 0.3, 0.01, 0.4]
    alerts, state = run(p, blocked=[False, False, False, True, False])
    assert [(a.event, a.ts) for a in alerts] == [("BROKEN", 4 * 60)]
    assert not state.holding


def test_one_bar_at_a_time_equals_all_at_once() -> None:
    rng = np.random.default_rng(5)
    p = np.clip(rng.normal(0.06, 0.05, 200), 0, 1)
    ts = np.arange(200) * 60
    together, final = evaluate_relationship(ts, p, RULE, RelationshipState())
    state, alone = RelationshipState(), []
    for i in range(200):
        fired, state = evaluate_relationship(ts[i : i + 1], p[i : i + 1], RULE, state)
        alone += fired
    assert together == alone and final == state and len(together) >= 2


def test_cooldown_delays_a_firing_until_it_has_passed() -> None:
    rule = RelationshipRule("eg", "A-B", max_p=0.05, persist=1, cooldown_s=180, window=60)
    alerts, _ = run([0.2, 0.01, 0.01, 0.01, 0.2], rule)
    assert [(a.event, a.ts) for a in alerts] == [("BROKEN", 0), ("RESTORED", 180)]


@pytest.mark.parametrize(
    "kwargs",
    [{"max_p": 0.0}, {"max_p": 1.0}, {"persist": 0}, {"window": 10}, {"tf": "2m"}, {"name": ""}],
)
def test_bad_rules_are_refused(kwargs: dict[str, object]) -> None:
    fields = {"name": "eg", "pair": "A-B"} | kwargs
    with pytest.raises(ParameterError):
        RelationshipRule(**fields)  # type: ignore[arg-type]
