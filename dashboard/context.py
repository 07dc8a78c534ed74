"""Where callbacks find the per-process ``DataService``: the Flask app's extensions.

``create_app`` stores the service under one key; callbacks, page layouts and API views call
:func:`services` inside a request (or a test's ``app_context``), so no module holds a global.
"""

from __future__ import annotations

from flask import current_app

from dashboard.services import DataService

EXTENSION_KEY = "pairwatch.services"


def services() -> DataService:
    """The ``DataService`` of the running app."""
    return current_app.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]
