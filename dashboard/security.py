"""HTTP hardening of the Flask server: security headers, JSON errors, optional basic auth.

Owns three ``init_*`` hooks called by ``create_app``: every response gets
``X-Content-Type-Options``, ``X-Frame-Options``, ``Referrer-Policy`` and a Content Security
Policy whose scripts are this origin's files plus Dash's own inline scripts by hash (no
``unsafe-inline``, no ``unsafe-eval``); API and CSV answers get ``Cache-Control: no-store``;
request bodies are capped at ``MAX_BODY_BYTES`` (413 beyond); an unknown component-suite file
is a JSON 404 and any other unhandled exception a JSON 500 without details (the traceback goes
to the log only);
and, when ``dashboard.auth.enabled``, a ``before_request`` enforces HTTP basic auth on pages,
callbacks and the API (``/healthz`` stays open). Malformed ``Authorization`` headers are a 401,
never a 500, and credentials are compared in constant time.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import os

from dash import Dash
from dash.exceptions import DashException
from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from ingest.settings import AuthSettings

log = logging.getLogger(__name__)
OPEN_PATHS = ("/healthz",)
MAX_BODY_BYTES = 1024 * 1024
"""Largest request body (a page callback is a few kB; the API takes none)."""
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}
CSP = (
    "default-src 'self'; script-src 'self' {scripts}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
"""Styles stay ``unsafe-inline``: Plotly and AG Grid set element styles at run time."""
NO_STORE_PREFIXES = ("/api/", "/healthz")
SUITES_PREFIX = "/_dash-component-suites/"


def content_security_policy(app: Dash) -> str:
    """The policy for ``app``: its inline scripts (clientside callbacks, the renderer) by hash."""
    return CSP.format(scripts=" ".join(app.csp_hashes()))


def init_headers(app: Dash) -> None:
    server = app.server
    server.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @server.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(app))
        csv = response.mimetype == "text/csv"
        if csv or request.path.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response


def init_errors(server: Flask) -> None:
    @server.errorhandler(Exception)
    def _error(exc: Exception) -> tuple[Response, int] | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        if isinstance(exc, DashException) and request.path.startswith(SUITES_PREFIX):
            return jsonify({"error": f"no such file {request.path[:120]}"}), 404
        log.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal server error"}), 500


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``Basic b64(user:pass)`` → ``(user, pass)``; None for anything malformed."""
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def init_auth(
    server: Flask, auth: AuthSettings, environ: dict[str, str] | os._Environ[str]
) -> None:
    if not auth.enabled:
        return
    user, password = auth.credentials(environ)
    expected = (user.encode(), password.encode())

    @server.before_request
    def _require_auth() -> Response | None:
        if request.path in OPEN_PATHS:
            return None
        given = parse_basic(request.headers.get("Authorization"))
        if given is not None:
            user_ok = hmac.compare_digest(given[0].encode(), expected[0])
            password_ok = hmac.compare_digest(given[1].encode(), expected[1])
            if user_ok and password_ok:
                return None
        response = jsonify({"error": "authentication required"})
        response.status_code = 401
        response.headers["WWW-Authenticate"] = 'Basic realm="pairwatch", charset="UTF-8"'
        return response
