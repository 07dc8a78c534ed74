"""Repeated errors logged once per minute with a count, not on every retry.

A loop that retries a failing operation (the writer every half second, a worker on each pass)
would otherwise write the same traceback into the log many times a second, and bury everything
else. ``RateLimitedLog.exception`` logs the first error of a kind at once, with its traceback;
errors of the same kind within the next ``every_s`` seconds are only counted, and the first one
after that is logged with how many were left out. Two errors are of the same kind when they
come from the same message template with the same exception type and first line of text (the
arguments, such as a batch size, may differ).
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

EVERY_S = 60.0
MAX_KINDS = 256
"""Kinds remembered at most; past that, those whose interval has ended are forgotten."""


@dataclass(slots=True)
class _Kind:
    logged_at: float
    left_out: int = 0


class RateLimitedLog:
    """Logs through ``logger`` at most once per ``every_s`` seconds per kind of error."""

    def __init__(
        self,
        logger: logging.Logger,
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._logger = logger
        self._every_s = every_s
        self._clock = clock
        self._kinds: dict[tuple[str, str], _Kind] = {}
        self._lock = threading.Lock()

    def exception(self, msg: str, *args: object) -> None:
        """``logger.exception(msg, *args)`` unless an error of this kind was logged within
        ``every_s``; then it is counted, and the next line logged says how many were."""
        error = sys.exc_info()[1]
        text = str(error).strip().splitlines() if error is not None else []
        key = (msg, f"{type(error).__qualname__}: {text[0] if text else ''}")
        now = self._clock()
        with self._lock:
            kind = self._kinds.get(key)
            if kind is not None and now - kind.logged_at < self._every_s:
                kind.left_out += 1
                return
            if kind is None and len(self._kinds) >= MAX_KINDS:
                self._kinds = {
                    k: v for k, v in self._kinds.items() if now - v.logged_at < self._every_s
                }
            self._kinds[key] = _Kind(now)
        if kind is None or not kind.left_out:
            self._logger.exception(msg, *args, stacklevel=2)
            return
        since = now - kind.logged_at
        line = f"{msg} (%d more like this in the last %.0f s)"
        self._logger.exception(line, *args, kind.left_out, since, stacklevel=2)
