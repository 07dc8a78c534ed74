"""The optional webhook: fired alerts POSTed as JSON to ``alerts.webhook_url``, off the way.

``WebhookSender`` is a ``Worker`` with a bounded queue: the alert worker ``post``s a row and
never waits; the sender POSTs it with the configured timeout and retries a failed delivery
(a connection error or a 5xx answer) with exponential pauses. A full queue drops the row with
a warning, so a dead endpoint can never hold back alert evaluation or ingestion.
"""

from __future__ import annotations

import logging
import queue
from typing import Any

import requests

from ingest.worker import Worker

log = logging.getLogger(__name__)
WEBHOOK_RETRIES = 3


class WebhookSender(Worker):
    """Posts fired alerts to ``alerts.webhook_url`` off the evaluation thread, with retries."""

    def __init__(self, url: str, timeout_s: float) -> None:
        super().__init__("webhook")
        self._url, self._timeout_s = url, timeout_s
        self._queue: queue.Queue[dict[str, Any]] = queue.Queue(maxsize=1000)

    def post(self, row: dict[str, Any]) -> None:
        """Queue one alert; a full queue drops it with a warning (ingestion never waits)."""
        try:
            self._queue.put_nowait(row)
        except queue.Full:
            log.warning("webhook queue full; alert %s not posted", row)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                row = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            for attempt in range(WEBHOOK_RETRIES):
                try:
                    response = requests.post(self._url, json=row, timeout=self._timeout_s)
                    if response.status_code < 500:
                        break
                except requests.RequestException as exc:
                    log.warning("webhook attempt %d failed: %s", attempt + 1, type(exc).__name__)
                if self._stopping.wait(2**attempt):
                    return
