"""WSGI entry point: ``gunicorn wsgi:server`` serves the pairwatch dashboard.

Builds exactly one app from ``config.yaml`` (or ``PAIRWATCH_CONFIG``). A bad configuration or
missing auth credentials print one line and exit with status 2 instead of a traceback. The
ingestor is never started from here. After the build, ``gc.freeze()`` moves the startup objects
(Dash, Plotly, pandas modules) out of the collector's reach, so a full collection no longer
stalls a refresh for ~200 ms.
"""

from __future__ import annotations

import gc
import sys

from dashboard.app import create_app
from dashboard.errors import DashboardError
from ingest.settings import ConfigError, load_settings

try:
    server = create_app(load_settings()).server
    gc.collect()
    gc.freeze()
except (ConfigError, DashboardError) as exc:
    print(f"pairwatch: {exc}", file=sys.stderr)
    raise SystemExit(2) from None
