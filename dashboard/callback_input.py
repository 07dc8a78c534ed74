"""Callback requests checked before Dash runs them: a malformed one is a 400, never a traceback.

A browser running the dashboard sends ``/_dash-update-component`` bodies of one shape, with
each input and state value of the type its component property has: text for ``search``,
``pathname``, dates and stores, a count for ``n_clicks``/``n_intervals``, a flag for
``disabled``/``is_open``, a scalar or a list of scalars for ``value``, rows for
``selectedRows``. ``check_callback_body`` refuses anything else (a body that is not such an
object, an unknown property, NaN, nested objects, oversized text) with a ``QueryError`` that
names the offending ``id.property``; the app turns it into HTTP 400 with a JSON error, so a
hostile client costs a log line at most. Values of the right type are still parsed leniently
by the pages (``dashboard.params``).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Container
from typing import Any

from dash import Dash
from flask import Response, jsonify, request

from dashboard.errors import QueryError

log = logging.getLogger(__name__)
CALLBACK_PATH = "/_dash-update-component"
MAX_TEXT = 2048
MAX_ITEMS = 100

Check = Callable[[Any], bool]


def _text(value: Any) -> bool:
    return value is None or (isinstance(value, str) and len(value) <= MAX_TEXT)


def _path(value: Any) -> bool:
    return value is None or (_text(value) and value.startswith("/"))


def _count(value: Any) -> bool:
    return value is None or (type(value) is int and 0 <= value < 2**53)


def _flag(value: Any) -> bool:
    return value is None or isinstance(value, bool)


def _scalar(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) < 2**53
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _value(value: Any) -> bool:
    if isinstance(value, list):
        return len(value) <= MAX_ITEMS and all(_scalar(item) for item in value)
    return _scalar(value)


def _rows(value: Any) -> bool:
    if value is None:
        return True
    return (
        isinstance(value, list)
        and len(value) <= MAX_ITEMS
        and all(isinstance(row, dict) and all(_scalar(v) for v in row.values()) for row in value)
    )


def _ids(value: Any) -> bool:
    """A pattern-matching id: one entry per matched component, its value that component's id."""
    return value is None or (
        isinstance(value, dict)
        and len(value) <= MAX_ITEMS
        and all(isinstance(k, str) and _scalar(v) for k, v in value.items())
    )


PROPERTY_CHECKS: dict[str, Check] = {
    "search": _text,
    "pathname": _path,
    "data": _text,
    "start_date": _text,
    "end_date": _text,
    "n_clicks": _count,
    "n_intervals": _count,
    "disabled": _flag,
    "is_open": _flag,
    "value": _value,
    "selectedRows": _rows,
    "id": _ids,
}
"""What each component property the dashboard's callbacks read may hold."""


def _entries(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    entries = body.get(name, [])
    if not isinstance(entries, list):
        raise QueryError(name, f"{name} must be a list")
    flat: list[dict[str, Any]] = []
    for entry in entries:  # pattern-matching inputs arrive as a list of entries
        items = entry if isinstance(entry, list) else [entry]
        if not all(isinstance(item, dict) for item in items):
            raise QueryError(name, f"{name} entries must be objects")
        flat += items
    return flat


def check_callback_body(body: Any, outputs: Container[str]) -> None:
    """Raise ``QueryError`` unless ``body`` is a well-formed request for one of ``outputs``."""
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        raise QueryError("output", "a callback request is an object naming its output")
    if body["output"] not in outputs:
        raise QueryError("output", "no callback has this output")
    for entry in _entries(body, "inputs") + _entries(body, "state"):
        prop = entry.get("property")
        where = f"{entry.get('id')!s:.60}.{prop!s:.30}"
        check = PROPERTY_CHECKS.get(prop) if isinstance(prop, str) else None
        if check is None:
            raise QueryError(where, f"{where} is not an input of this dashboard")
        if not check(entry.get("value")):
            raise QueryError(where, f"invalid value for {where}")


def init_callback_checks(app: Dash) -> None:
    """Refuse malformed callback requests with a JSON 400 before Dash parses them."""

    @app.server.before_request
    def _check_callback() -> tuple[Response, int] | None:
        if request.path != CALLBACK_PATH or request.method != "POST":
            return None
        try:
            check_callback_body(request.get_json(silent=True), app.callback_map)
        except QueryError as exc:
            log.info("refused a callback request: %s", exc.message)
            return jsonify({"error": exc.message, "parameter": exc.parameter}), 400
        return None
