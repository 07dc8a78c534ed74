"""Hostile input never reaches a traceback: every registered callback fed garbage, malformed
callback bodies, unknown component-suite and API paths, oversized bodies; and the headers that
keep answers out of caches and scripts to this origin."""

from __future__ import annotations

import math
from typing import Any

import pytest
from flask.testing import FlaskClient

from dashboard.services import DataService
from tests.dashboard.conftest import write_settings

GARBAGE: tuple[Any, ...] = (None, math.nan, 10**12, "\r=1+1", [1, 2], {"a": 1})


def _outputs(spec: str) -> list[dict[str, str]] | dict[str, str]:
    """Dash's ``outputs`` for a dependency's ``output`` (one object, or a list for many)."""

    def one(part: str) -> dict[str, str]:
        component, prop = part.rsplit(".", 1)
        return {"id": component, "property": prop.split("@")[0]}

    if spec.startswith(".."):
        return [one(part) for part in spec.strip(".").split("...")]
    return one(spec)


def _payload(dep: dict[str, Any], value: Any, at: int) -> dict[str, Any]:
    def items(specs: list[dict[str, Any]], offset: int) -> list[dict[str, Any]]:
        return [
            {"id": s["id"], "property": s["property"], "value": value if i + offset == at else None}
            for i, s in enumerate(specs)
        ]

    inputs = items(dep["inputs"], 0)
    return {
        "output": dep["output"],
        "outputs": _outputs(dep["output"]),
        "inputs": inputs,
        "state": items(dep["state"], len(inputs)),
        "changedPropIds": [f"{dep['inputs'][0]['id']}.{dep['inputs'][0]['property']}"],
    }


def _server_callbacks(client: FlaskClient) -> list[dict[str, Any]]:
    deps = client.get("/_dash-dependencies").get_json()
    return [d for d in deps if not d.get("clientside_function") and "{" not in d["output"]]


def test_every_callback_survives_garbage_in_every_argument(client: FlaskClient, caplog) -> None:
    failures = []
    for dep in _server_callbacks(client):
        arguments = len(dep["inputs"]) + len(dep["state"])
        for at in range(arguments):
            for value in GARBAGE:
                answer = client.post("/_dash-update-component", json=_payload(dep, value, at))
                if answer.status_code >= 500:
                    failures.append((dep["output"], at, repr(value)[:20], answer.status_code))
    assert not failures, failures[:10]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "body", [{}, [], "null", {"output": 5}, {"output": "a.b", "inputs": "x"}, {"output": "nope.x"}]
)
def test_malformed_callback_bodies_are_400(client: FlaskClient, body: Any) -> None:
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 400 and "error" in answer.get_json()


def test_unknown_suites_and_api_paths_are_404(client: FlaskClient) -> None:
    for path in (
        "/_dash-component-suites/nothing/here.js",
        "/_dash-component-suites/dash/nope.v1m1.js",
        "/api/v2/pairs",
        "/api/",
        "/api/v1/nope",
    ):
        answer = client.get(path)
        assert answer.status_code == 404, path
    assert client.get("/api/v2/pairs").get_json()["error"].startswith("no endpoint")


def test_an_oversized_body_is_refused_before_it_is_read(client: FlaskClient) -> None:
    answer = client.post(
        "/_dash-update-component", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
        content_type="application/json",
    )  # fmt: skip
    assert answer.status_code == 413


def test_api_and_csv_answers_are_not_cached_and_scripts_come_from_here(
    client: FlaskClient,
) -> None:
    for path in ("/api/v1/pairs", "/api/v1/pairs?format=csv", "/healthz"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    policy = client.get("/").headers["Content-Security-Policy"]
    script = next(d for d in policy.split("; ") if d.startswith("script-src"))
    assert script.startswith("script-src 'self' 'sha256-")
    assert "unsafe-inline" not in script and "unsafe-eval" not in script
    assert "default-src 'self'" in policy and "frame-ancestors 'self'" in policy


def test_a_missing_database_leaves_every_callback_as_it_is(
    client: FlaskClient, use_service, tmp_path
) -> None:
    """The status area says "database not initialised"; other callbacks keep their outputs."""
    with use_service(DataService(write_settings(tmp_path, "absent.db"))):
        for dep in _server_callbacks(client):
            answer = client.post("/_dash-update-component", json=_payload(dep, None, -1))
            assert answer.status_code in (200, 204), (dep["output"], answer.status_code)


def test_the_nav_links_pattern_matching_state_passes_the_check(client: FlaskClient) -> None:
    """What a real browser sends for ``State({"type": "pw-nav-link", "path": ALL}, "id")``."""
    deps = client.get("/_dash-dependencies").get_json()
    nav = next(d for d in deps if "pw-nav-link" in d["output"])
    links = [{"path": "/", "type": "pw-nav-link"}, {"path": "/alerts", "type": "pw-nav-link"}]
    body = {
        "output": nav["output"],
        "outputs": [{"id": link, "property": "href"} for link in links],
        "inputs": [{"id": "pw-url", "property": "search", "value": "?pair=BTC-ETH"}],
        "state": [[{"id": link, "property": "id", "value": link} for link in links]],
        "changedPropIds": ["pw-url.search"],
    }
    answer = client.post("/_dash-update-component", json=body)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert "?pair=BTC-ETH" in answer.get_data(as_text=True)
