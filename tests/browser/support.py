"""Helpers of the browser tests: the running product handle and DOM/Plotly probes.

``Product`` wraps the gunicorn process, the in-process simulator and the JSON API (for the
facts a test compares the page with). The page helpers read what Plotly actually drew
(``_fullData``, i.e. after plotly.js decoded the typed arrays Plotly.py sends), pick Dash 4
dropdown options (the trigger is a ``<button>``) and assert that Dash shows no error. Every
wait has a deadline; nothing sleeps for a fixed time.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

    from ingest.simulator import Simulator

PAGES = {
    "overview": "/",
    "prices": "/prices",
    "spread": "/spread",
    "correlation": "/correlation",
    "alerts": "/alerts",
    "backtest": "/backtest",
}
PAIRS = ("BTC-ETH", "SOL-ETH")
GRAPHS = {
    "overview": ("overview-heatmap",),
    "prices": ("prices-chart", "prices-volume"),
    "spread": ("spread-chart", "spread-z-chart"),
    "correlation": ("corr-chart", "corr-heatmap"),
    "alerts": (),
    "backtest": ("bt-equity", "bt-drawdown"),
}


@dataclass
class Product:
    """The running product: its base URL, the simulator feeding it and gunicorn's log."""

    url: str
    simulator: Simulator
    proc: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> None:
        """Fail the test with gunicorn's log tail when it has exited."""
        if self.proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=5) as response:
            return json.loads(response.read())

    def analytics(self, pair: str = "BTC-ETH") -> dict[str, Any]:
        return dict(self.get_json(f"/api/v1/analytics?pair={pair}"))

    def alerts(self) -> list[dict[str, Any]]:
        return list(self.get_json("/api/v1/alerts")["alerts"])


def figure(page: Page, graph_id: str) -> dict[str, Any] | None:
    """What ``dcc.Graph`` ``graph_id`` draws: trace names/x/y/z as lists, shapes, axis titles."""
    return page.evaluate(
        """(id) => {
            const el = document.querySelector(`#${id} .js-plotly-plot`);
            if (!el || !el._fullData) { return null; }
            const list = (v) => (v && v.length !== undefined) ? Array.from(v) : [];
            const title = (ax) => (ax && ax.title && ax.title.text) || '';
            return {
                traces: el._fullData.map(t => ({
                    name: t.name, x: list(t.x), y: list(t.y), z: list(t.z).map(list),
                })),
                shapes: (el.layout.shapes || []).map(s => s.y0),
                title: (el.layout.title && el.layout.title.text) || '',
                xtitle: title(el._fullLayout.xaxis),
            };
        }""",
        graph_id,
    )


def wait_for_data(page: Page, graph_id: str, timeout_ms: int = 20_000) -> None:
    """Wait until ``graph_id`` draws at least one trace with two or more points."""
    page.wait_for_function(
        """(id) => {
            const el = document.querySelector(`#${id} .js-plotly-plot`);
            return !!(el && el._fullData
                      && el._fullData.some(t => ((t.z || t.x || []).length || 0) > 1));
        }""",
        arg=graph_id,
        timeout=timeout_ms,
    )


def wait_for_figure(page: Page, graph_id: str, predicate: str, timeout_ms: int = 20_000) -> None:
    """Wait until ``predicate`` (a JS expression over ``fig``, as :func:`figure` returns it).

    The expression is written into the polled function's source, not compiled in the page with
    ``new Function``: the dashboard's CSP forbids ``unsafe-eval``, in tests as in production.
    """
    page.wait_for_function(
        """(id) => {
            const el = document.querySelector(`#${id} .js-plotly-plot`);
            if (!el || !el._fullData) { return false; }
            const list = (v) => (v && v.length !== undefined) ? Array.from(v) : [];
            const fig = {
                traces: el._fullData.map(t => ({name: t.name, x: list(t.x), y: list(t.y)})),
                shapes: (el.layout.shapes || []).map(s => s.y0),
                xtitle: (el._fullLayout.xaxis.title || {}).text || '',
            };
            return !!(PREDICATE);
        }""".replace("PREDICATE", predicate),
        arg=graph_id,
        timeout=timeout_ms,
    )


def assert_no_dash_error(page: Page) -> None:
    """No Dash front-end error (the dev-tools error list or a renderer error box)."""
    errors = page.locator(".dash-fe-error, .dash-fe-error__title, .dash-error-card")
    assert errors.count() == 0, errors.all_inner_texts()


def pick(page: Page, dropdown_id: str, label: str) -> None:
    """Choose ``label`` in a Dash 4 dropdown: click the ``<button>`` trigger, then the option."""
    page.locator(f"button#{dropdown_id}").click()
    page.locator(".dash-dropdown-option", has_text=label).first.click()


def dropdown_text(page: Page, dropdown_id: str) -> str:
    return page.locator(f"button#{dropdown_id} .dash-dropdown-value").inner_text().strip()


def thumb(page: Page, slider_id: str) -> Any:
    """The Radix thumb of a Dash 4 slider (keyboard: arrows, Home, End, PageUp/Down)."""
    return page.locator(f"#{slider_id} [role=slider]")
