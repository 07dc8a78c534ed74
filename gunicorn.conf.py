"""gunicorn configuration: serve the dashboard and run exactly one ingestor beside it.

The master process reads ``config.yaml`` (a bad file, a public bind with auth off, or auth on
without usable credentials stops it with one line and exit status 2, before any worker starts),
binds ``dashboard.host:dashboard.port`` (127.0.0.1:8050 by default) with ``dashboard.workers``
threaded workers, and leaves its child processes to ``ingest.children``: ``on_starting`` starts
the single supervised ``python -m ingest run`` (in the master, never in a worker), first the
simulator with ``PAIRWATCH_DEMO=1``, no ingestor with ``PAIRWATCH_NO_INGEST=1`` (ingest on
another host); ``on_exit`` stops them with SIGTERM and kills them only if they overstay.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from dashboard.limiter import WORKER_THREADS
from ingest.children import Children
from ingest.settings import ConfigError, load_settings

try:
    _settings = load_settings()
    if _settings.dashboard.auth.enabled:  # in the master: workers must never crash-loop on it
        _settings.dashboard.auth.credentials(os.environ)
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

_host = _settings.dashboard.host
bind = (
    f"[{_host}]:{_settings.dashboard.port}"
    if ":" in _host
    else f"{_host}:{_settings.dashboard.port}"
)
workers = _settings.dashboard.workers
worker_class = "gthread"
threads = WORKER_THREADS  # dashboard.limiter: one runs heavy work, the others stay light
timeout = 30
graceful_timeout = 5
accesslog = None
_children = Children(logging.getLogger("gunicorn.error"))


def on_starting(server: Any) -> None:
    """Start the simulator (demo only) and the single, supervised ingestor."""
    try:
        _children.start(_settings, os.environ)
    except ConfigError as exc:
        server.log.error("%s", exc)
        sys.exit(2)


def on_exit(server: Any) -> None:
    """Stop the children, newest first: the ingestor drains its buffer, then the simulator."""
    _children.stop()
