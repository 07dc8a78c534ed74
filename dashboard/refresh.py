"""No-overlap guard for interval-driven refreshes: a slow refresh is skipped, never queued.

Choice: a per-process, non-blocking "busy" set keyed by ``(session, page)``. When a tick arrives
while the previous refresh of the same tab and page still runs in this worker, the callback
raises ``PreventUpdate`` at once (HTTP 204, the browser keeps the last figures) instead of
computing a second copy; Dash's renderer does not abort superseded requests, so without this the
server would pile up work on a slow refresh. A user action (a control change or "refresh now")
waits briefly for the running refresh instead, so it is never dropped. Clientside gating
(``running=`` disabling the Interval) was rejected because it fights the pause button, which
also drives ``disabled``. The guard is per worker: with N gunicorn workers at most N refreshes
of one tab can overlap, which the sticky keep-alive connection of a tab makes rare.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from dash import ctx
from dash.exceptions import MissingCallbackContextException, PreventUpdate

USER_WAIT_S = 5.0


class RefreshGuard:
    """A set of busy keys with a condition to wait on."""

    def __init__(self) -> None:
        self._busy: set[tuple[str, str]] = set()
        self._changed = threading.Condition()

    @contextmanager
    def slot(self, key: tuple[str, str], *, wait: bool) -> Iterator[bool]:
        """Yield True when the slot was taken (then released on exit), False when busy."""
        with self._changed:
            if wait:
                self._changed.wait_for(lambda: key not in self._busy, timeout=USER_WAIT_S)
            if key in self._busy:
                acquired = False
            else:
                self._busy.add(key)
                acquired = True
        try:
            yield acquired
        finally:
            if acquired:
                with self._changed:
                    self._busy.discard(key)
                    self._changed.notify_all()

    def busy(self, key: tuple[str, str]) -> bool:
        with self._changed:
            return key in self._busy


GUARD = RefreshGuard()


def triggered_by(component_id: str) -> bool:
    """Whether the running callback was triggered by ``component_id`` (False outside one)."""
    try:
        return ctx.triggered_id == component_id
    except MissingCallbackContextException:
        return False


@contextmanager
def refresh_slot(page: str, session: str | None, tick_id: str) -> Iterator[None]:
    """Run a refresh body, or raise ``PreventUpdate`` when a tick finds the last one running."""
    key = (session or "anonymous", page)
    with GUARD.slot(key, wait=not triggered_by(tick_id)) as acquired:
        if not acquired:
            raise PreventUpdate
        yield
