"""The one shape of a background thread in the ingest process: start, stop, still alive?

``Worker`` owns a named daemon thread and its stop event. ``stop`` sets the event, wakes the
loop (``_wake``: a subclass that waits on its own event overrides it), joins within the given
budget and says whether the thread really ended; a thread that outlives its budget is logged
by name, so a slow shutdown is visible instead of silently cut short by the supervisor.
Subclasses implement ``_run`` and check ``_stopping`` in their loops.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Worker:
    """A named background loop with a stop event."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        """Start the loop on its thread."""
        self._thread.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Ask the loop to end and wait up to ``timeout`` s; True when the thread has ended."""
        self._stopping.set()
        self._wake()
        if self._thread.ident is not None:
            self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("%s still running %.1f s after stop was asked", self._thread.name, timeout)
            return False
        return True

    def _wake(self) -> None:
        """Interrupt the loop's wait (the stop event itself needs nothing more)."""

    def _run(self) -> None:
        raise NotImplementedError


class CommitListener(Worker):
    """A worker woken by the writer's commits (``notify``), for work done after bar closes.

    ``notify(newest_second)`` is what the writer calls after each commit: it records the newest
    bar second and wakes the loop, which runs ``_pass(newest)`` at most once per ``spacing_s``
    and looks again after ``wait_s`` without a wake-up. Subclasses implement ``_pass``.
    """

    wait_s = 1.0
    spacing_s = 0.0

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self._newest = 0
        self._committed = threading.Event()

    def notify(self, newest_second: int) -> None:
        """Called by the writer after a commit; cheap and non-blocking."""
        self._newest = max(self._newest, newest_second)
        self._committed.set()

    def _wake(self) -> None:
        self._committed.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._committed.wait(self.wait_s)
            self._committed.clear()
            if self._stopping.is_set() or not self._newest:
                continue
            self._pass(self._newest)
            if self.spacing_s:
                self._stopping.wait(self.spacing_s)

    def _pass(self, newest_second: int) -> None:
        raise NotImplementedError
