"""The ingest process: wires reader, writer, backfill, alerts and retention around one lock.

``Ingestor.run`` takes the single-instance lock (or waits for it as a standby), starts the
writer before the reader so no trade waits on a missing consumer, starts the backfiller, the
candle-history loader (both sharing one paced REST client), the alert worker and the
retention pruner, and blocks until ``stop`` is set (the CLI sets it on
SIGTERM/SIGINT). Shutdown closes the socket first, then lets the writer drain every buffered
trade, then releases the lock, so a clean stop loses nothing and takes well under five seconds.
It checks every two seconds that it still holds the lock; if the lock's PostgreSQL session has
ended, another ingestor may already write, so it stops at once without flushing the buffer
(those trades become a gap for whoever holds the lock) and exits with status 1, which the
supervisor answers with a restart that waits for or retakes the lock.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from sqlalchemy import Engine

from ingest.alert_worker import AlertWorker
from ingest.backfill import Backfiller
from ingest.errors import LockLostError
from ingest.feedstate import FeedState, now_ms
from ingest.history import HistoryLoader
from ingest.lock import InstanceLock
from ingest.rest import RestClient
from ingest.retention import Pruner
from ingest.settings import Settings
from ingest.source import BinanceSource
from ingest.storage import claim_feed_kind
from ingest.storage.records import Trade
from ingest.writer import Writer

log = logging.getLogger(__name__)
LOCK_CHECK_S = 2.0


class Ingestor:
    """One running ingest pipeline for ``settings`` on ``engine``."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.lock = InstanceLock(engine)
        source = "simulator" if settings.feed.simulated else "binance"
        self.state = FeedState(symbols=settings.symbols, source=source)

    def run(self, stop: threading.Event, standby: bool = False) -> None:
        """Ingest until ``stop`` is set; raises ``LockHeldError`` if another one runs.

        A database that holds trades of another market or stream kind is refused first
        (``StorageError``), before anything is written.
        """
        feed = self.settings.feed
        with self.engine.begin() as conn:
            claim_feed_kind(conn, feed.market, feed.stream, now_ms=now_ms())
        if standby:
            log.info("standby: waiting for %s", self.lock.describe())
        self.lock.acquire(wait=standby, stop=stop)
        log.info(
            "holding %s; feed %s (%s)",
            self.lock.describe(),
            self.settings.feed.ws_url,
            self.state.source,
        )
        try:
            self._run_locked(stop)
        finally:
            self.lock.release()

    def _run_locked(self, stop: threading.Event) -> None:
        settings = self.settings
        buffer: deque[Trade] = deque()
        writer = Writer(self.engine, settings.ingest, buffer, self.state)
        reader = BinanceSource(
            settings.feed, settings.symbols, buffer, settings.ingest.queue_max, self.state
        )
        rest = RestClient(settings.feed.market)
        backfiller = (
            Backfiller(self.engine, settings.feed, writer, self.state, buffer, rest=rest)
            if settings.feed.backfill
            else None
        )
        history = HistoryLoader(
            self.engine, settings.feed, settings.history, settings.symbols, rest=rest
        )
        alerts = AlertWorker(self.engine, settings)
        pruner = Pruner(self.engine, settings.symbols, settings.storage.retention_days)
        writer.on_commit(alerts.notify)
        writer.start()
        alerts.start()
        pruner.start()
        if backfiller:
            backfiller.start()
        reader.start()
        history.start()
        lock_lost = self._wait_for_stop(stop, rest)
        if lock_lost:  # another ingestor may write now: hand it the buffered trades, not bars
            log.error("lost %s; stopping without writing the buffer", self.lock.describe())
            buffer.clear()
        else:
            log.info("stopping: closing the feed and draining %d buffered trades", len(buffer))
        reader.stop()
        history.stop()
        if backfiller:
            backfiller.stop()
        writer.stop()
        alerts.stop()
        pruner.stop()
        log.info("stopped after writing %d trades", writer.written)
        if lock_lost:
            raise LockLostError(f"lost {self.lock.describe()} while running")

    def _wait_for_stop(self, stop: threading.Event, rest: RestClient) -> bool:
        """Block until ``stop``, publishing what holds REST back; True when the lock was lost."""
        while not stop.wait(LOCK_CHECK_S):
            self.state.rest_note = rest.condition()
            if not self.lock.still_held():
                return True
        return False
