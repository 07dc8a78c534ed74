"""The alert state machine: hysteresis, cooldown, direction filter, blocked bars, streaming."""

import dataclasses

import numpy as np
import pytest

from analytics import AlertEvent, AlertRule, AlertState, ParameterError, evaluate

NAN = float("nan")


def _rule(**overrides: object) -> AlertRule:
    fields: dict[str, object] = {
        "name": "z2",
        "pair": "ETH-BTC",
        "entry_z": 2.0,
        "exit_z": 0.5,
        "cooldown_s": 0.0,
        "direction": "both",
    }
    fields.update(overrides)
    return AlertRule(**fields)  # type: ignore[arg-type]


def _fired(z: list[float], rule: AlertRule, **kwargs: object) -> list[tuple[int, str]]:
    ts = np.arange(len(z), dtype=np.int64) * 10  # 10-second bars
    events, _ = evaluate(ts, np.array(z), rule, AlertState(), **kwargs)  # type: ignore[arg-type]
    return [(e.ts // 10, e.direction) for e in events]


@pytest.mark.parametrize(
    ("z", "overrides", "expected"),
    [
        # Hysteresis: after a firing, |z| must drop below exit_z before the next one.
        ([0, 2.5, 2.6, 1.0, 2.7, 0.3, 2.8], {}, [(1, "UP"), (6, "UP")]),
        ([0, -2.5, -0.2, -3.0], {}, [(1, "DOWN"), (3, "DOWN")]),
        ([0, 2.5, -2.5, 0.0, -2.5], {}, [(1, "UP"), (4, "DOWN")]),
        # Thresholds are strict.
        ([0, 2.0, 2.01, 0.5, 2.5, 0.49, 2.5], {}, [(2, "UP"), (6, "UP")]),
        # Direction filter: the other side neither fires nor disarms.
        ([0, -2.5, 0, 2.5], {"direction": "UP"}, [(3, "UP")]),
        ([0, 2.5, -2.5, 3.0, -3.0], {"direction": "DOWN"}, [(2, "DOWN")]),
        # Cooldown (bars are 10 s apart): a re-armed crossing inside it waits, then fires.
        (
            [0, 2.5, 0, 2.5, 2.5, 2.5, 0, 2.5],
            {"cooldown_s": 30},
            [(1, "UP"), (4, "UP"), (7, "UP")],
        ),
        ([0, 2.5, 0, 2.5, 0, 2.5], {"cooldown_s": 100}, [(1, "UP")]),
        ([0, 2.5, 0, -2.5], {"cooldown_s": 20}, [(1, "UP"), (3, "DOWN")]),
        # Missing z never fires and never re-arms.
        ([NAN, 2.5, NAN, NAN, 2.5, 0.1, 2.5], {}, [(1, "UP"), (6, "UP")]),
    ],
)
def test_alert_sequences(
    z: list[float], overrides: dict[str, object], expected: list[tuple[int, str]]
) -> None:
    assert _fired(z, _rule(**overrides)) == expected


@pytest.mark.parametrize(
    ("z", "blocked", "expected"),
    [
        ([0, 2.5, 0, 2.5], [False, True, False, False], [(3, "UP")]),  # blocked crossing
        ([0, 2.5, 0.1, 2.5], [False, False, True, False], [(1, "UP")]),  # blocked re-arm
        ([0, 2.5, 0.1, 2.5], [False] * 4, [(1, "UP"), (3, "UP")]),  # control
    ],
)
def test_blocked_bars_neither_fire_nor_rearm(
    z: list[float], blocked: list[bool], expected: list[tuple[int, str]]
) -> None:
    assert _fired(z, _rule(), blocked=np.array(blocked)) == expected


def test_a_disarmed_start_needs_a_rearm_first() -> None:
    ts = np.array([0, 1, 2, 3])
    events, state = evaluate(ts, np.array([2.5, 1.0, 0.2, 2.5]), _rule(), AlertState(armed=False))
    assert [e.ts for e in events] == [3]
    assert state == AlertState(armed=False, last_fire_ts=3, last_direction="UP")


def test_events_carry_rule_pair_spread_and_beta() -> None:
    events, _ = evaluate(
        np.array([100, 160]),
        np.array([0.0, -2.4]),
        _rule(),
        AlertState(),
        spread=np.array([0.0, -12.5]),
        beta=np.array([NAN, NAN]),
    )
    assert events == [
        AlertEvent(rule="z2", pair="ETH-BTC", direction="DOWN", z=-2.4, ts=160, spread=-12.5)
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("direction", ["UP", "DOWN", "both"])
def test_bar_by_bar_equals_batch(seed: int, direction: str) -> None:
    rng = np.random.default_rng(seed)
    n = 3_000
    noise = rng.normal(0.0, 0.47, n)
    z = np.zeros(n)
    for i in range(1, n):
        z[i] = 0.95 * z[i - 1] + noise[i]  # AR(1) with a stationary std of ~1.5
    z[rng.random(n) < 0.02] = NAN
    ts = np.cumsum(rng.integers(1, 5, n))
    blocked = rng.random(n) < 0.03
    rule = _rule(direction=direction, cooldown_s=25, exit_z=0.3)
    batch, batch_state = evaluate(ts, z, rule, AlertState(), blocked=blocked, spread=z * 3)
    streamed: list[AlertEvent] = []
    state = AlertState()
    for i in range(n):
        fired, state = evaluate(
            ts[i : i + 1],
            z[i : i + 1],
            rule,
            state,
            blocked=blocked[i : i + 1],
            spread=z[i : i + 1] * 3,
        )
        streamed.extend(fired)
    assert streamed == batch
    assert state == batch_state
    assert len(batch) >= 3  # the sequence really exercises the machine


@pytest.mark.parametrize(
    "overrides",
    [
        {"entry_z": 0.0},
        {"entry_z": -1.0},
        {"exit_z": 2.0},
        {"exit_z": -0.1},
        {"entry_z": float("inf")},
        {"cooldown_s": -1},
        {"direction": "sideways"},
        {"tf": "2m"},
        {"window": 1},
        {"name": ""},
        {"entry_z": "2"},
    ],
)
def test_invalid_rules_are_rejected(overrides: dict[str, object]) -> None:
    with pytest.raises(ParameterError):
        _rule(**overrides)


def test_rule_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _rule().entry_z = 3.0  # type: ignore[misc]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"z": np.zeros(3)},
        {"blocked": np.zeros(3, dtype=bool)},
        {"spread": np.zeros(3)},
    ],
)
def test_mismatched_lengths_are_rejected(kwargs: dict[str, np.ndarray]) -> None:
    args = {"z": np.zeros(4)} | kwargs
    with pytest.raises(ParameterError):
        evaluate(np.arange(4), rule=_rule(), state=AlertState(), **args)  # type: ignore[arg-type]
