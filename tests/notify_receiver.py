"""A real notification target for tests: a loopback HTTP server that apprise's ``json://`` posts to.

``Receiver`` records every JSON body it is sent. With ``hold`` set it keeps each request
waiting until ``release`` (a slow target), so a test can look at the system while a delivery
is in flight. ``FAST`` is a delivery policy with pauses short enough for tests.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ingest.notify import DeliveryPolicy

FAST = DeliveryPolicy(
    timeout_s=5.0, max_attempts=3, backoff_base_s=0.2, backoff_cap_s=0.4, poll_s=0.05
)


class Receiver:
    """A ``json://127.0.0.1:PORT/`` target recording what it receives."""

    def __init__(self, *, hold: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.arrived = threading.Event()
        self._released = threading.Event()
        if not hold:
            self._released.set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.arrived.set()
                receiver._released.wait(10)
                receiver.bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_address[1]}/"

    def release(self) -> None:
        """Let held requests (and every later one) finish."""
        self._released.set()

    def titles(self) -> list[str]:
        return [body["title"] for body in self.bodies]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()
