"""gunicorn configuration: serve the dashboard and run exactly one ingestor beside it.

The master process reads ``config.yaml`` (a bad file stops it with one line and exit status 2),
binds ``dashboard.host:dashboard.port`` (127.0.0.1:8050 by default) with ``dashboard.workers``
threaded workers, and in ``on_starting`` starts one ``python -m ingest run`` child — never in a
worker, which would start one ingestor per worker. The ingestor is supervised: a crash restarts
it with backoff (see ``ingest.supervisor``). With ``PAIRWATCH_DEMO=1`` it first starts the
simulator on the feed URL's loopback port. ``on_exit`` stops the children with SIGTERM (they
drain their queue) and kills them only if they overstay. ``PAIRWATCH_NO_INGEST=1`` serves the
dashboard alone (ingest on another host).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import urlsplit

from ingest.settings import ConfigError, load_settings

try:
    _settings = load_settings()
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
threads = 4
timeout = 30
graceful_timeout = 5
accesslog = None
_children: list[subprocess.Popen[bytes]] = []


def _wait_for_port(host: str, port: int, deadline_s: float) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        with socket.socket() as probe:
            probe.settimeout(0.2)
            if probe.connect_ex((host, port)) == 0:
                return True
        time.sleep(0.1)
    return False


def _start_simulator(server: Any) -> None:
    feed = urlsplit(_settings.feed.ws_url)
    if not _settings.feed.simulated or feed.port is None:
        server.log.error("PAIRWATCH_DEMO=1 needs feed.ws_url on 127.0.0.1 with a port")
        sys.exit(2)
    command = [
        sys.executable,
        "-m",
        "ingest",
        "simulate",
        "--port",
        str(feed.port),
        "--symbols",
        ",".join(_settings.symbols),
        "--hedge",
        _settings.pairs[0].hedge,
        "--proportional",
    ]
    _children.append(subprocess.Popen(command))
    if not _wait_for_port("127.0.0.1", feed.port, 15):
        server.log.error("the simulator did not open port %d", feed.port)


def on_starting(server: Any) -> None:
    """Start the simulator (demo only) and the single, supervised ingestor."""
    if os.environ.get("PAIRWATCH_DEMO") == "1":
        _start_simulator(server)
    if os.environ.get("PAIRWATCH_NO_INGEST") != "1":
        command = [
            sys.executable,
            "-m",
            "ingest.supervisor",
            "--name",
            "ingestor",
            "--",
            sys.executable,
            "-m",
            "ingest",
            "run",
        ]
        _children.append(subprocess.Popen(command))


def on_exit(server: Any) -> None:
    """Stop the children, newest first: the ingestor drains its buffer, then the simulator."""
    for child in reversed(_children):
        if child.poll() is None:
            child.terminate()
    for child in reversed(_children):
        try:
            child.wait(timeout=12)
        except subprocess.TimeoutExpired:
            server.log.warning("child %d did not stop; killing it", child.pid)
            child.kill()
