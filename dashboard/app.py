"""The app factory: ``create_app(settings)`` builds the one Dash app of a process.

Owns the composition root: the Dash Pages app (pages from ``dashboard/pages/``, vendored dark
theme from ``assets/``, no CDN), the shell layout and callbacks, the callback error policy (a
database the dashboard cannot read, or a refused heavy request, leaves outputs as they are),
the heavy-work limiter, the per-process ``DataService`` stored on the Flask server, the API
blueprint and the HTTP hardening. Build it once per process: Dash Pages registers page
callbacks globally and hands them to the first app that serves a request.
"""

from __future__ import annotations

import os

from dash import Dash

from dashboard import api, callback_input, limiter, security, shell
from dashboard.context import EXTENSION_KEY
from dashboard.errors import BusyError
from dashboard.services import DataService
from ingest.settings import Settings
from ingest.storage import StorageError

DARK_HTML = '<html data-bs-theme="dark">'


def _callback_failed(exc: Exception) -> None:
    """A callback that cannot read the database keeps its outputs (the shell's status area
    says why, e.g. "database not initialised — start the ingestor"), and so does one refused
    because every heavy slot is taken (the page keeps its last figures); others propagate."""
    if isinstance(exc, StorageError | BusyError):
        return
    raise exc


def create_app(settings: Settings, service: DataService | None = None) -> Dash:
    """Build the dashboard for ``settings`` (``service`` lets tests inject a clock)."""
    app = Dash(
        __name__,
        use_pages=True,
        title="pairwatch",
        update_title=None,  # type: ignore[arg-type]  # Dash documents None: no "Updating…"
        external_stylesheets=[],
        serve_locally=True,
        suppress_callback_exceptions=False,
        on_error=_callback_failed,
    )
    app.index_string = app.index_string.replace("<html>", DARK_HTML, 1)
    server = app.server
    security.init_auth(server, settings.dashboard.auth, os.environ)
    security.init_headers(app)
    security.init_errors(server)
    callback_input.init_callback_checks(app)
    limiter.init_limiter(server)
    server.extensions[EXTENSION_KEY] = service or DataService(settings)
    server.register_blueprint(api.api)
    app.layout = shell.layout_factory(settings)
    shell.register_callbacks(app)
    return app
