"""Rule states on the dashboard: read from ``rule_states`` as the alert worker wrote them.

A row written by hand (triggered DOWN, a z and times no replay of the stored bars would give)
must come back exactly from ``alert_log.rule_states``, ``GET /api/v1/rules`` and the alerts
page, which proves the dashboard reads the worker's state instead of recomputing it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from dashboard.data import alert_log
from dashboard.data.alert_log import RuleState
from dashboard.services import DataService
from ingest.storage import make_engine, upsert_rule_states
from tests.dashboard.conftest import (
    END_S,
    NOW_MS,
    START_S,
    cointegrated_trades,
    seed,
    write_settings,
)

KEYS = [
    "pair",
    "rule",
    "kind",
    "entry_z",
    "exit_z",
    "direction",
    "timeframe",
    "window",
    "max_p",
    "state",
    "last_direction",
    "last_z",
    "last_p",
    "last_eval_ts",
    "last_alert_ts",
]


@pytest.fixture
def stored(tmp_path: Path) -> DataService:
    """A database with bars and a hand-written state for the configured rule z2."""
    config = write_settings(tmp_path, "rules.db")
    seed(config.storage.url, cointegrated_trades(START_S, 600))
    row = {
        "pair": "BTC-ETH",
        "rule": "z2",
        "armed": False,
        "last_direction": "DOWN",
        "last_z": -7.25,
        "last_eval_ts": END_S - 5,
        "last_alert_ts": END_S - 30,
        "timeframe": "1s",
        "updated_ms": NOW_MS - 400,
    }
    engine = make_engine(config.storage.url)
    with engine.begin() as conn:
        upsert_rule_states(conn, [row, {**row, "rule": "gone", "armed": True}])
    engine.dispose()
    return DataService(config, clock_ms=lambda: NOW_MS)


def test_service_reports_the_stored_state_exactly(stored: DataService) -> None:
    assert alert_log.rule_states(stored) == [
        RuleState(
            pair="BTC-ETH",
            name="z2",
            kind="z",
            entry_z=2.0,
            exit_z=0.5,
            direction="both",
            timeframe="1s",
            window=60,
            max_p=0.05,
            state="triggered",
            last_direction="DOWN",
            last_z=-7.25,
            last_eval_ts=END_S - 5,
            last_alert_ts=END_S - 30,
        )
    ]


def test_a_row_for_another_timeframe_is_not_the_rule_state(stored: DataService) -> None:
    engine = make_engine(stored.settings.storage.url)
    with engine.begin() as conn:
        upsert_rule_states(
            conn,
            [{"pair": "BTC-ETH", "rule": "z2", "armed": True, "timeframe": "5m", "updated_ms": 1}],
        )
    engine.dispose()
    (state,) = alert_log.rule_states(stored)
    assert (state.state, state.last_z, state.last_alert_ts) == ("waiting", None, None)


def test_rules_api_json_and_csv(client: FlaskClient, use_service, stored: DataService) -> None:
    with use_service(stored):
        body = client.get("/api/v1/rules").get_json()
        assert body == {
            "rules": [
                {
                    "pair": "BTC-ETH",
                    "rule": "z2",
                    "kind": "z",
                    "entry_z": 2.0,
                    "exit_z": 0.5,
                    "direction": "both",
                    "timeframe": "1s",
                    "window": 60,
                    "max_p": 0.05,
                    "state": "triggered",
                    "last_direction": "DOWN",
                    "last_z": -7.25,
                    "last_p": None,
                    "last_eval_ts": END_S - 5,
                    "last_alert_ts": END_S - 30,
                }
            ]
        }
        assert client.get("/api/v1/rules?pair=BTC-ETH").get_json() == body
        assert client.get("/api/v1/rules?pair=SOL-ETH").get_json() == {"rules": []}
        response = client.get("/api/v1/rules?format=csv")
        lines = response.get_data(as_text=True).splitlines()
        assert "attachment" in response.headers["Content-Disposition"]
        assert lines[0] == ",".join(KEYS)
        assert (
            lines[1] == "BTC-ETH,z2,z,2.0,0.5,both,1s,60,0.05,triggered,DOWN,-7.25,,"
            f"{END_S - 5},{END_S - 30}"
        )


def test_rules_api_before_the_worker_ran(client: FlaskClient) -> None:
    (rule,) = client.get("/api/v1/rules").get_json()["rules"]
    assert sorted(rule) == sorted(KEYS)
    assert rule["state"] == "waiting" and rule["rule"] == "z2"
    assert rule["last_z"] is None and rule["last_alert_ts"] is None


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/rules?x=1", "x"),
        ("/api/v1/rules?pair=NOPE", "pair"),
        ("/api/v1/rules?format=xml", "format"),
        ("/api/v1/rules?pair=BTC-ETH&pair=SOL-ETH", "pair"),
    ],
)
def test_rules_api_bad_parameters(client: FlaskClient, url: str, parameter: str) -> None:
    response = client.get(url)
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter


@pytest.mark.usefixtures("app_context")
def test_alerts_page_shows_the_stored_state(use_service, stored: DataService) -> None:
    module = sys.modules["pages.alerts"]
    with use_service(stored):
        _rows, rules, _ = module.refresh(None, None, None, None, 1, None, "?utc=1", "s")
    text = str(rules)
    assert "triggered DOWN" in text and "-7.25" in text and "gone" not in text
    assert "2024-06-01 01:59:54 UTC" in text  # last evaluated bar, END_S - 5
    assert "2024-06-01 01:59:29 UTC" in text  # last alert, END_S - 30
    waiting = RuleState("p", "r", "z", 2, 0.5, "both", "1s", 60, 0.05, "waiting")  # type: ignore[arg-type]
    assert module.state_label(waiting) == "waiting for first bar"
    broken = RuleState("p", "eg", "relationship", 2, 0.5, "both", "1m", 300, 0.05, "broken")  # type: ignore[arg-type]
    assert module.state_label(broken) == "broken" and module.threshold(broken) == "p > 0.05"
