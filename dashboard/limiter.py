"""Per-process limit on concurrent heavy work: refuse at once instead of queueing.

A gunicorn worker serves ``WORKER_THREADS`` requests at a time (``gunicorn.conf.py`` reads it
from here). A heavy request (estimated by :mod:`dashboard.budget`) must hold one of
``HEAVY_SLOTS`` slots, so the other threads always stay free for light requests (``/healthz``,
``/api/v1/pairs``, assets, layouts, default refreshes), which never take a slot. One slot per
worker: heavy work is CPU-bound Python, which the GIL runs one thread at a time, so a second
heavy request in the same worker adds no throughput, only latency for the light ones (under the
hostile-load test, three slots per worker gave a normal refresh p95 of 0.76-0.96 s and a
``/healthz`` p95 of 143-269 ms; one slot gives 0.45-0.71 s and 28-72 ms).
A heavy request that finds every slot taken raises ``BusyError`` at once: the API answers 429,
a callback answers an update of no output (the page keeps its figures), and both carry
``Retry-After``. A slot is taken before the shared-results memo (so requests waiting on
another's result hold one too) and held until the request's app context ends, so it covers
serialising the answer. The limit counts this process's requests only and never looks at
anything a client sends (no session id, no address), so fresh session ids or parameters cannot
get around it.
"""

from __future__ import annotations

import threading

from flask import Flask, Response, g

from dashboard.errors import BusyError

WORKER_THREADS = 4
HEAVY_SLOTS = 1
RETRY_AFTER_S = 1
_HELD = "pairwatch_heavy_slot"
_REFUSED = "pairwatch_refused"


class HeavyLimiter:
    """A bounded number of heavy slots; ``admit`` takes one for the current request."""

    def __init__(self, slots: int = HEAVY_SLOTS) -> None:
        self.slots = slots
        self._free = threading.BoundedSemaphore(slots)

    def try_acquire(self) -> bool:
        """Take a slot if one is free, without waiting."""
        return self._free.acquire(blocking=False)

    def release(self) -> None:
        self._free.release()

    def admit(self, heavy: bool) -> None:
        """Hold a slot until this request ends (light work passes), or raise ``BusyError``."""
        if not heavy or _HELD in g:
            return
        if not self.try_acquire():
            setattr(g, _REFUSED, True)
            raise BusyError(
                f"busy: all {self.slots} heavy slots of this worker are taken; "
                f"retry in {RETRY_AFTER_S} s or ask for less (a shorter lookback or window)"
            )
        setattr(g, _HELD, self)


def init_limiter(server: Flask) -> None:
    """Release a request's slot when its context ends; add ``Retry-After`` to a refusal."""

    @server.after_request
    def _retry_after(response: Response) -> Response:
        if g.get(_REFUSED):
            response.headers["Retry-After"] = str(RETRY_AFTER_S)
        return response

    @server.teardown_appcontext
    def _release(_exc: BaseException | None) -> None:
        held = g.pop(_HELD, None)
        if held is not None:
            held.release()
