"""HTTP hardening of the Flask server: security headers, JSON errors, optional basic auth.

Owns three ``init_*`` hooks called by ``create_app``: every response gets
``X-Content-Type-Options``, ``X-Frame-Options``/CSP ``frame-ancestors`` and ``Referrer-Policy``;
an unhandled exception becomes a JSON 500 without details (the traceback goes to the log only);
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

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from dashboard.errors import AuthConfigError
from ingest.settings import AuthSettings

log = logging.getLogger(__name__)
OPEN_PATHS = ("/healthz",)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "SAMEORIGIN",
    "Content-Security-Policy": "frame-ancestors 'self'; object-src 'none'; base-uri 'self'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def init_headers(server: Flask) -> None:
    @server.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def init_errors(server: Flask) -> None:
    @server.errorhandler(Exception)
    def _error(exc: Exception) -> tuple[Response, int] | HTTPException:
        if isinstance(exc, HTTPException):
            return exc
        log.exception("unhandled error on %s", request.path)
        return jsonify({"error": "internal server error"}), 500


def credentials(auth: AuthSettings, environ: dict[str, str] | os._Environ[str]) -> tuple[str, str]:
    """The configured username and password, or ``AuthConfigError`` naming the missing vars."""
    missing = [name for name in (auth.username_env, auth.password_env) if not environ.get(name)]
    if missing:
        raise AuthConfigError(
            f"dashboard.auth.enabled is true but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set in the environment"
        )
    return environ[auth.username_env], environ[auth.password_env]


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
    user, password = credentials(auth, environ)
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
