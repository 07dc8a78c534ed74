"""Webhook hygiene against real loopback servers: redirects never followed, an overall deadline
a slow-drip server cannot stretch, the alert row as the body and failures as one-line reasons,
and unsafe URLs refused when the settings load. Delivery once per alert, retries, isolation
from other targets and the status counts are the outbox's (``tests/ingest/test_notify.py``)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ingest.http_post import DeliveryError, post_json
from ingest.notify import WebhookTarget
from ingest.settings import ConfigError, load_settings
from ingest.storage import DueNotification


class Receiver(http.server.BaseHTTPRequestHandler):
    """Records each POST; the body's ``rule`` picks the behaviour."""

    seen: list[tuple[int, str, dict[str, Any]]]
    redirect_to = ""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.seen.append((self.server.server_address[1], self.path, body))
        if body.get("rule") == "redirect":
            self.send_response(307)
            self.send_header("Location", self.redirect_to)
            self.end_headers()
            return
        if body.get("rule") == "drip":
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for _ in range(40):  # a header line every 0.25 s for 10 s
                    self.wfile.write(b"X-Drip: 1\r\n")
                    self.wfile.flush()
                    time.sleep(0.25)
            except OSError:  # the client cut the connection at its deadline
                pass
            return
        self.send_response(200)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


@contextmanager
def receiver(**overrides: Any) -> Iterator[tuple[str, list]]:
    seen: list = []
    handler = type("Handler", (Receiver,), {"seen": seen, **overrides})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", seen
    finally:
        server.shutdown()
        server.server_close()


def row(rule: str) -> dict[str, Any]:
    return {"pair": "A-B", "rule": rule, "direction": "UP", "z": 2.5, "ts_ms": 1}


def test_a_redirect_is_answered_not_followed() -> None:
    with receiver() as (elsewhere, other), receiver(redirect_to=elsewhere) as (url, seen):
        assert post_json(url, row("redirect"), 2.0) == 307
    assert len(seen) == 1 and not other  # the alert never reached the redirect target


def test_a_slow_drip_cannot_stretch_the_deadline() -> None:
    with receiver() as (url, _):
        started = time.monotonic()
        with pytest.raises(DeliveryError, match="no answer within 1 s"):
            post_json(url, row("drip"), 1.0)
        assert time.monotonic() - started < 2.0


def test_the_webhook_target_posts_the_alert_row_and_reports_failures() -> None:
    alert = DueNotification(7, 0, "A-B", "eg", "BROKEN", 1.5, 0.2, 2.0, 0.31, 60_000)
    with receiver() as (url, seen):
        assert WebhookTarget.of(url).send(alert, 2.0) == ""
        ((_, path, body),) = seen
        assert path == "/hook" and body["direction"] == "BROKEN" and body["eg_p"] == 0.31
        assert body["pair"] == "A-B" and body["ts_ms"] == 60_000 and body["state"] == "fired"
    closed = WebhookTarget.of(url)  # the server is gone: a failure with its reason
    assert closed.send(alert, 1.0).startswith("ConnectionRefusedError")
    assert closed.label == f"webhook http://{url.split('/')[2]}"  # no path: it may hold a token


@pytest.mark.parametrize(
    ("url", "hint"),
    [
        ("file:///etc/passwd", "http:// or https://"),
        ("http://user:secret@example.com/hook", "credentials"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://example.com/\r\nX-Evil: 1", "control characters"),
    ],
)
def test_unsafe_webhook_urls_are_refused(write_config, url: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint):
        load_settings(write_config({"alerts": {"webhook_url": url}}), environ={})
