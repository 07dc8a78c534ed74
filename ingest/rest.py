"""The one REST client of the ingest process, shared by trade backfill and candle history.

``RestClient`` owns the request-weight budget of the IP: Binance counts weight per minute and
reports the count in the ``X-MBX-USED-WEIGHT-1M`` response header; the client trusts that
header when present, counts locally when absent, and waits for the next minute before a call
would take the count past half of the venue's limit (spot 6,000, USD-M 2,400 per minute), so
pairwatch leaves room for whatever else runs on the machine. A 429 or 418 answer blocks every
caller until its ``Retry-After`` has passed (418 is a ban, honoured up to 3 days). A 451
(restricted region) stops REST for the process's life with a reason; a 403 (the WAF, which
"can indicate a rate limit violation") is retried with backoff like a 5xx. Any other 4xx raises
``RestError`` with ``refused`` set: the exchange will repeat it. ``condition()`` says in words
what holds REST back (ban, rate limit, refusal) for the status.
Waits end early when the caller's ``stop`` event is set.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit

import requests

from ingest.errors import RestError

log = logging.getLogger(__name__)

WEIGHT_LIMIT_PER_MIN: Final[dict[str, int]] = {"spot": 6000, "usdm": 2400}
"""Binance's request-weight limit per IP and minute (spot REST docs 2026-07, USD-M docs)."""

USED_WEIGHT_HEADER: Final = "X-MBX-USED-WEIGHT-1M"
REQUEST_TIMEOUT_S: Final = 10.0
MAX_RETRY_AFTER_S: Final = 300.0
MAX_BAN_S: Final = 3 * 86_400.0
DEFAULT_RETRY_AFTER_S: Final = 60.0


class RestClient:
    """Paced, thread-safe GET against one venue's REST API."""

    def __init__(self, market: str) -> None:
        self.budget = WEIGHT_LIMIT_PER_MIN[market] // 2
        self.calls = 0
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._minute = -1
        self._used = 0
        self._blocked_until = 0.0
        self._blocked_by = 0
        self._blocked_wall = 0.0
        self._paced_until = 0.0
        self.refusal = ""

    def get_json(self, url: str, weight: int, stop: threading.Event) -> Any:
        """The decoded JSON body of a 200 answer to ``url``, which costs ``weight``."""
        if self.refusal:
            raise RestError(self.refusal, refused=False, status=451)
        while True:
            self._wait_turn(weight, stop)
            try:
                response = self._session.get(url, timeout=REQUEST_TIMEOUT_S)
            except requests.RequestException as exc:
                raise RestError(f"request failed: {type(exc).__name__}") from None
            self._account(response)
            if response.status_code not in (418, 429):
                break
            wait = _retry_after(response.status_code, response.headers.get("Retry-After"))
            log.warning("REST %d: waiting %.1f s as the server asks", response.status_code, wait)
            with self._lock:
                self._blocked_until = max(self._blocked_until, time.monotonic() + wait)
                self._blocked_by = response.status_code
                self._blocked_wall = time.time() + wait
        if response.status_code != 200:
            status = response.status_code
            if status == 451:
                self.refusal = (
                    f"REST stopped: HTTP 451, Binance refuses requests from this region "
                    f"(restricted location) at {urlsplit(url).netloc}"
                )
                log.error("%s", self.refusal)
            # 403 is Binance's WAF and "can indicate a rate limit violation": back off, retry
            # 451 is the region's fault, not the request's: callers keep their work for later
            refused = 400 <= status < 500 and status not in (403, 451)
            raise RestError(f"HTTP {status}: {response.text[:120]}", refused=refused, status=status)
        try:
            return response.json()
        except ValueError as exc:
            raise RestError(f"unusable response: {exc}") from None

    def condition(self) -> str:
        """What holds REST back now, for ``status``: a ban, a rate limit, a refusal or ``""``."""
        if self.refusal:
            return self.refusal
        with self._lock:
            if time.monotonic() >= self._blocked_until:
                if self._paced_until > time.time():
                    return (
                        f"REST paced: {self._used:,} of {self.budget:,} weight used this minute; "
                        f"next call at {_clock(self._paced_until)}"
                    )
                return ""
            what = "IP banned" if self._blocked_by == 418 else "rate-limited"
            until = _clock(self._blocked_wall)
            return f"REST {what} until {until} (HTTP {self._blocked_by} Retry-After)"

    def _wait_turn(self, weight: int, stop: threading.Event) -> None:
        while True:
            with self._lock:
                now = time.monotonic()
                minute = int(time.time() // 60)
                if minute != self._minute:
                    self._minute, self._used = minute, 0
                if now >= self._blocked_until and self._used + weight <= self.budget:
                    self._used += weight
                    self._paced_until = 0.0
                    return
                blocked = self._blocked_until - now
                wait = blocked if blocked > 0 else 60.0 - time.time() % 60 + 0.05
                if blocked <= 0:
                    self._paced_until = time.time() + wait
            if stop.wait(wait):
                raise RestError("stopped while waiting for the request budget")

    def _account(self, response: requests.Response) -> None:
        with self._lock:
            self.calls += 1
            header = response.headers.get(USED_WEIGHT_HEADER, "")
            if header.isdigit():
                self._used = max(self._used, int(header))


def _clock(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, tz=UTC).strftime("%H:%M:%S UTC")


def _retry_after(status: int, value: str | None) -> float:
    """Seconds to wait: the server's ``Retry-After``; a 418 ban is honoured up to 3 days."""
    try:
        seconds = float(value) if value is not None else DEFAULT_RETRY_AFTER_S
    except ValueError:
        seconds = DEFAULT_RETRY_AFTER_S
    cap = MAX_BAN_S if status == 418 else MAX_RETRY_AFTER_S
    return min(max(seconds, 0.5), cap)
