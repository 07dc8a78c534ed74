"""One JSON POST with an overall deadline and no redirects: how pairwatch calls a webhook.

``post_json`` opens one ``http.client`` connection to an ``http``/``https`` URL, sends the body
and reads the status line, headers and at most ``MAX_ANSWER_BYTES`` of the answer. A timer shuts
the socket down when ``deadline_s`` has passed, so a server that drips its answer a byte at a
time cannot hold the caller past the deadline (a per-read timeout alone would let it). A 3xx
answer is returned as it is, never followed: a redirect cannot re-post an alert elsewhere.
Every failure is a ``DeliveryError`` with a one-line reason.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
from typing import Any
from urllib.parse import urlsplit

from ingest.errors import IngestError

MAX_ANSWER_BYTES = 64 * 1024


class DeliveryError(IngestError):
    """A POST that did not get an answer in time (or at all)."""


def post_json(url: str, payload: Any, deadline_s: float) -> int:
    """POST ``payload`` as JSON to ``url`` and return the HTTP status (redirects not followed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DeliveryError(f"not an http(s) URL: {parts.scheme}://…")
    body = json.dumps(payload, separators=(",", ":")).encode()
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=deadline_s, context=ssl.create_default_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=deadline_s)
    expired = threading.Event()

    def cut() -> None:
        expired.set()
        if connection.sock is not None:
            with contextlib.suppress(OSError):  # already closed: nothing left to cut
                connection.sock.shutdown(socket.SHUT_RDWR)

    timer = threading.Timer(deadline_s, cut)
    timer.daemon = True
    timer.start()
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            path,
            body=body,
            headers={"Content-Type": "application/json", "User-Agent": "pairwatch"},
        )
        answer = connection.getresponse()
        answer.read(MAX_ANSWER_BYTES)
        if expired.is_set():  # the cut ended the headers early: not a real answer
            raise DeliveryError(f"no answer within {deadline_s:g} s")
        return answer.status
    except (OSError, http.client.HTTPException) as exc:
        if expired.is_set():
            raise DeliveryError(f"no answer within {deadline_s:g} s") from None
        raise DeliveryError(f"{type(exc).__name__}: {exc}"[:200]) from None
    finally:
        timer.cancel()
        connection.close()
