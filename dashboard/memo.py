"""Shared, single-flight memo of page results within one worker process.

Fifty tabs showing the same view poll once a second; they must not cost fifty computations.
``SharedResults`` keeps the most recent results keyed by what determines them (the page, its
arguments and a data stamp: newest bars, feed heartbeat, latest alert and gap), and when several
requests miss the same key at once only the first computes while the others wait for its
result. A key includes the current second, so time-dependent notices ("ingestor stopped for
N s") stay exact to the second.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")
WAIT_S = 10.0


class SharedResults:
    """A bounded LRU of results with per-key single flight."""

    def __init__(self, size: int = 128) -> None:
        self._size = size
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._pending: dict[Hashable, threading.Event] = {}
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached result for ``key``, computing it once if absent."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]  # type: ignore[return-value]
            pending = self._pending.get(key)
            if pending is None:
                self._pending[key] = threading.Event()
        if pending is not None:
            pending.wait(WAIT_S)
            with self._lock:
                if key in self._values:
                    return self._values[key]  # type: ignore[return-value]
            return compute()
        try:
            value = compute()
            with self._lock:
                self._values[key] = value
                while len(self._values) > self._size:
                    self._values.popitem(last=False)
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()
