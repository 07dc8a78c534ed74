"""The ingest process: wires reader, writer, backfill, alerts and retention around one lock.

``Ingestor.run`` takes the single-instance lock (or waits for it as a standby), starts the
writer before the reader so no trade waits on a missing consumer, starts the backfiller, the
alert worker and the retention pruner, and blocks until ``stop`` is set (the CLI sets it on
SIGTERM/SIGINT). Shutdown closes the socket first, then lets the writer drain every buffered
trade, then releases the lock, so a clean stop loses nothing and takes well under five seconds.
"""

from __future__ import annotations

import logging
import threading
from collections import deque

from sqlalchemy import Engine

from ingest.alert_worker import AlertWorker
from ingest.backfill import Backfiller
from ingest.feedstate import FeedState
from ingest.lock import InstanceLock
from ingest.retention import Pruner
from ingest.settings import Settings
from ingest.source import BinanceSource
from ingest.storage.records import Trade
from ingest.writer import Writer

log = logging.getLogger(__name__)


class Ingestor:
    """One running ingest pipeline for ``settings`` on ``engine``."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.lock = InstanceLock(engine)
        source = "simulator" if settings.feed.simulated else "binance"
        self.state = FeedState(symbols=settings.symbols, source=source)

    def run(self, stop: threading.Event, standby: bool = False) -> None:
        """Ingest until ``stop`` is set; raises ``LockHeldError`` if another one runs."""
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
        backfiller = (
            Backfiller(self.engine, settings.feed, writer, self.state, buffer)
            if settings.feed.backfill
            else None
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
        stop.wait()
        log.info("stopping: closing the feed and draining %d buffered trades", len(buffer))
        reader.stop()
        if backfiller:
            backfiller.stop()
        writer.stop()
        alerts.stop()
        pruner.stop()
        log.info("stopped after writing %d trades", writer.written)
