"""The ingest process: wires readers, writer, backfill, alerts and retention around one lock.

``Ingestor.run`` takes the single-instance lock (or waits for it as a standby), starts the
writer before the readers so no trade waits on a missing consumer, then per market (spot,
USD-M: see ``venues``) one paced REST client shared by that market's candle-history loader and
backfillers, and per connection (a market's symbols split under its stream cap) one reader and
one backfiller; then the alert worker (with its apprise senders), the screener and the
retention pruner. It blocks until
``stop`` is set
(the CLI sets it on
SIGTERM/SIGINT). Shutdown closes the socket first, then lets the writer drain every buffered
trade, then releases the lock, so a clean stop loses nothing and takes well under five seconds.
It checks every two seconds that it still holds the lock; if the lock's PostgreSQL session has
ended, another ingestor may already write, so it stops at once without flushing the buffer
(those trades become a gap for whoever holds the lock) and exits with status 1, which the
supervisor answers with a restart that waits for or retakes the lock. On SQLite it also checks
then that the database path still names the file it opened (``FileWatch``): a file removed or
replaced while running stops it the same way, with one ERROR line naming the path and what
happened, and exit status 3, which the supervisor does not restart (a restart would start over
on an empty file while the data went with the old one).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from sqlalchemy import Engine

from ingest.alert_worker import AlertWorker
from ingest.backfill import Backfiller
from ingest.errors import LockLostError
from ingest.feedstate import FeedState, now_ms
from ingest.history import HistoryLoader
from ingest.lock import InstanceLock
from ingest.notify import Notifier
from ingest.rest import RestClient
from ingest.retention import Pruner
from ingest.screener_worker import ScreenerWorker
from ingest.settings import Settings
from ingest.source import BinanceSource
from ingest.storage import DatabaseLostError, FileWatch, claim_feed_kind
from ingest.storage.records import Trade
from ingest.venues import Venue, venues
from ingest.writer import Writer

log = logging.getLogger(__name__)
LOCK_CHECK_S = 2.0
SHUTDOWN_BUDGET_S = 4.0
"""Everything stops within this (the README promises exit within 5 s; the supervisor kills at
8 s)."""
WRITER_GRACE_S = 3.0


class ShutdownBudget:
    """One deadline shared by every ``stop`` of a shutdown, so joins never add up."""

    def __init__(self, seconds: float) -> None:
        self._deadline = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left (at least a sliver, so a stop can still notice its thread ended)."""
        return max(self._deadline - time.monotonic(), 0.05)


@dataclass(frozen=True, slots=True)
class _Link:
    """One websocket connection: its symbols' state, its reader and its backfiller."""

    state: FeedState
    reader: BinanceSource
    backfiller: Backfiller | None


@dataclass(frozen=True, slots=True)
class _Market:
    """One venue's REST client, candle-history loader and connections."""

    rest: RestClient
    history: HistoryLoader
    links: tuple[_Link, ...]


class Ingestor:
    """One running ingest pipeline for ``settings`` on ``engine``; ``shutdown_s`` is the
    budget every stop of a shutdown shares (the writer alone may then take ``WRITER_GRACE_S``)."""

    def __init__(
        self, settings: Settings, engine: Engine, *, shutdown_s: float = SHUTDOWN_BUDGET_S
    ) -> None:
        self.settings = settings
        self.shutdown_s = shutdown_s
        self.engine = engine
        self.lock = InstanceLock(engine)
        self.source = "simulator" if settings.feed.simulated else "binance"
        self.venues = venues(settings)

    def run(self, stop: threading.Event, standby: bool = False) -> None:
        """Ingest until ``stop`` is set; raises ``LockHeldError`` if another one runs, and
        ``LockLostError`` or ``DatabaseLostError`` when the lock or the database file is lost.

        A database whose keys hold trades of another market or stream kind is refused first
        (``StorageError``), before anything is written.
        """
        with self.engine.begin() as conn:
            for venue in self.venues:
                feed = venue.feed
                claim_feed_kind(
                    conn, feed.market, feed.stream, now_ms=now_ms(), prefix=venue.prefix
                )
        watch = FileWatch.of(self.engine)
        if standby:
            log.info("standby: waiting for %s", self.lock.describe())
        self.lock.acquire(wait=standby, stop=stop)
        log.info(
            "holding %s; feeds %s (%s)",
            self.lock.describe(),
            ", ".join(f"{v.feed.market} {v.feed.ws_url}" for v in self.venues),
            self.source,
        )
        try:
            self._run_locked(stop, watch)
        finally:
            self.lock.release()

    def _market(
        self, venue: Venue, states: list[FeedState], buffer: deque[Trade], writer: Writer
    ) -> _Market:
        """The REST client, history loader and connections of ``venue`` (one state each)."""
        settings, feed = self.settings, venue.feed
        rest = RestClient(feed.market)
        links = []
        for state in states:
            exchange = {key: venue.exchange[key] for key in state.symbols}
            reader = BinanceSource(feed, exchange, buffer, settings.ingest.queue_max, state)
            backfiller = (
                Backfiller(self.engine, feed, writer, state, buffer, rest=rest, exchange=exchange)
                if feed.backfill
                else None
            )
            links.append(_Link(state, reader, backfiller))
        history = HistoryLoader(self.engine, feed, settings.history, venue.exchange, rest=rest)
        return _Market(rest, history, tuple(links))

    def _run_locked(self, stop: threading.Event, watch: FileWatch | None) -> None:
        settings = self.settings
        buffer: deque[Trade] = deque()
        states = [
            [FeedState(symbols=symbols, source=self.source) for symbols in venue.connections()]
            for venue in self.venues
        ]
        every_state = tuple(state for venue_states in states for state in venue_states)
        writer = Writer(self.engine, settings.ingest, buffer, every_state)
        markets = [
            self._market(venue, venue_states, buffer, writer)
            for venue, venue_states in zip(self.venues, states, strict=True)
        ]
        notifying = settings.alerts.notify or settings.alerts.webhook_url
        outbox = Notifier(self.engine, settings) if notifying else None
        alerts = AlertWorker(self.engine, settings, outbox)
        screener = ScreenerWorker(self.engine, settings) if settings.screener.enabled else None
        pruner = Pruner(self.engine, settings.symbols, settings.storage.retention_days)
        writer.on_commit(alerts.notify)
        writer.start()
        alerts.start()
        if outbox is not None:
            outbox.start()
        if screener is not None:
            writer.on_commit(screener.notify)
            screener.start()
        pruner.start()
        links = [link for market in markets for link in market.links]
        for link in links:
            if link.backfiller:
                link.backfiller.start()
            link.reader.start()
        for market in markets:
            market.history.start()
        halt = self._wait_for_stop(stop, markets, watch)
        if halt is not None:  # another ingestor may write now, or nothing keeps what is written
            log.error("%s; stopping without writing the buffer", halt)
            buffer.clear()
        else:
            log.info("stopping: closing the feed and draining %d buffered trades", len(buffer))
        budget = ShutdownBudget(self.shutdown_s)
        for link in links:
            link.reader.stop(budget.left())
        for market in markets:
            market.history.stop(budget.left())
        for link in links:
            if link.backfiller:
                link.backfiller.stop(budget.left())
        if not writer.stop(budget.left()):  # never hand the lock over while still writing
            log.error("the writer is still draining; waiting for it before releasing the lock")
            writer.stop(WRITER_GRACE_S)
        alerts.stop(budget.left())
        if outbox is not None:  # a delivery cut short stays pending for the next start
            outbox.stop(budget.left())
        if screener is not None:
            screener.stop(budget.left())
        pruner.stop(budget.left())
        log.info("stopped after writing %d trades", writer.written)
        if halt is not None:
            raise halt

    def _wait_for_stop(
        self, stop: threading.Event, markets: list[_Market], watch: FileWatch | None
    ) -> LockLostError | DatabaseLostError | None:
        """Block until ``stop``, publishing what holds REST back; the error that ends the run
        when the lock was lost or the database file is gone (None after a requested stop)."""
        while not stop.wait(LOCK_CHECK_S):
            for market in markets:
                note = market.rest.condition()
                for link in market.links:
                    link.state.rest_note = note
            if not self.lock.still_held():
                return LockLostError(f"lost {self.lock.describe()} while running")
            if watch is not None:
                try:
                    watch.check()
                except DatabaseLostError as exc:
                    return exc
        return None
