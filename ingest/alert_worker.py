"""Server-side alerts: evaluate every configured rule after each bar close, no browser needed.

``AlertWorker`` runs in the ingest process. The writer calls ``notify(newest_second)`` after
each commit; at most once per second the worker reads, per rule, just the bars its hedge and
z windows need, takes each newly closed bar's z-score from ``analytics.compute_pair`` (causal
for every hedge method, the same function the dashboard draws) and feeds them to the pure
``analytics.evaluate`` state machine. Bars where a leg is stale are
absent after alignment and bars inside an open gap are blocked, so neither can fire. Events are
stored in ``alerts`` (unique per pair, rule and bar time, so a restart cannot duplicate them)
and optionally POSTed to a webhook from a separate thread that never delays ingestion.

Each rule's state (armed, last direction, z and time of the last evaluated bar, last alert) is
written to ``rule_states`` in the same transaction as the alerts of that pass, once per rule
and pass, so the dashboard shows the worker's own state instead of replaying the rule. State is
restored from ``rule_states`` on start (from the newest stored alert when a rule has no row):
a rule that fired before stays disarmed until |z| falls below its exit threshold.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import requests
from sqlalchemy import Engine

from analytics import (
    BAR_SECONDS,
    AlertEvent,
    AlertRule,
    AlertState,
    AnalyticsError,
    PairParams,
    aligned_closes,
    bars_in_gaps,
    causal_values_at,
    evaluate,
    resample_bars,
)
from ingest.settings import AlertRuleSettings, Settings
from ingest.storage import (
    GapState,
    insert_alerts,
    last_alert_times,
    read_bars,
    read_gaps,
    rule_states_by_rule,
    upsert_rule_states,
)
from ingest.worker import Worker

log = logging.getLogger(__name__)
WEBHOOK_RETRIES = 3
MAX_CATCH_UP_BARS = 3600


@dataclass
class _Tracked:
    rule: AlertRule
    params: PairParams
    base: str
    hedge: str
    state: AlertState
    last_eval_s: int | None = None
    last_z: float | None = None  # z of the last bar the state machine looked at
    last_bar_s: int | None = None  # that bar's time (epoch s)


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


class AlertWorker(Worker):
    """Evaluates ``settings.alerts.rules`` on fresh bars until stopped."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        super().__init__("alerts")
        self._engine = engine
        self._settings = settings
        self._newest = 0
        self._bar_closed = threading.Event()
        self.fired = 0
        self._rules = [self._track(rule) for rule in settings.alerts.rules]
        url = settings.alerts.webhook_url
        self._sender = WebhookSender(url, settings.alerts.webhook_timeout_s) if url else None

    def _track(self, config: AlertRuleSettings) -> _Tracked:
        pair = self._settings.pair(config.pair)
        analytics = self._settings.analytics
        rule = AlertRule(**config.rule_fields())
        params = PairParams(
            method=pair.hedge_method or analytics.hedge_method,
            window=pair.window or analytics.window,
            z_window=config.window,
            corr_window=analytics.corr_window,
            log=analytics.log_prices,
        )
        return _Tracked(rule, params, pair.base, pair.hedge, AlertState())

    def start(self) -> None:
        """Restore rule states, store them (so each rule shows before its first bar), start."""
        with self._engine.connect() as conn:
            stored = rule_states_by_rule(conn)
            fired = last_alert_times(conn)
        for tracked in self._rules:
            rule = tracked.rule
            key = (rule.pair, rule.name)
            _restore(tracked, stored.get((*key, rule.tf)), fired.get(key))
        with self._engine.begin() as conn:
            upsert_rule_states(conn, [_state_row(tracked) for tracked in self._rules])
        super().start()
        if self._sender is not None:
            self._sender.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop evaluating and sending within ``timeout`` (pending webhooks are abandoned)."""
        deadline = time.monotonic() + timeout
        ended = super().stop(timeout)
        if self._sender is not None:
            ended = self._sender.stop(max(0.05, deadline - time.monotonic())) and ended
        return ended

    def notify(self, newest_second: int) -> None:
        """Called by the writer after a commit; cheap and non-blocking."""
        self._newest = max(self._newest, newest_second)
        self._bar_closed.set()

    def _wake(self) -> None:
        self._bar_closed.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._bar_closed.wait(1.0)
            self._bar_closed.clear()
            if self._stopping.is_set() or not self._newest:
                continue
            for tracked in self._rules:
                try:
                    self._evaluate(tracked, self._newest)
                except AnalyticsError as exc:
                    log.debug(
                        "rule %s/%s not evaluated: %s", tracked.rule.pair, tracked.rule.name, exc
                    )
                except Exception:
                    log.exception("alert rule %s/%s failed", tracked.rule.pair, tracked.rule.name)
            self._stopping.wait(1.0)

    def _evaluate(self, tracked: _Tracked, newest_second: int) -> None:
        rule, tf_s = tracked.rule, BAR_SECONDS[tracked.rule.tf]
        last_closed = (newest_second // tf_s) * tf_s - tf_s
        if tracked.last_eval_s is not None and last_closed <= tracked.last_eval_s:
            return
        since = last_closed - tf_s if tracked.last_eval_s is None else tracked.last_eval_s
        since = max(since, last_closed - MAX_CATCH_UP_BARS * tf_s)
        history = (tracked.params.window + rule.window + 2) * tf_s
        legs = (tracked.base, tracked.hedge)
        with self._engine.connect() as conn:
            bars = [
                resample_bars(
                    read_bars(conn, symbol, since - history, last_closed + tf_s - 1, tf_s), rule.tf
                )
                for symbol in legs
            ]
            gaps = read_gaps(conn, state=GapState.OPEN)
        aligned = aligned_closes(
            bars[0],
            bars[1],
            bar_seconds=tf_s,
            max_stale_bars=self._settings.analytics.max_stale_bars,
        )
        ts = aligned.index.to_numpy(dtype=np.int64)
        new = np.flatnonzero((ts > since) & (ts <= last_closed))
        tracked.last_eval_s = last_closed
        if new.size == 0:
            return
        z, spread, beta = causal_values_at(
            aligned["base"].to_numpy(), aligned["hedge"].to_numpy(), new, tracked.params
        )
        blocked = bars_in_gaps(ts[new], tf_s, gaps[gaps["symbol"].isin(legs)])
        events, tracked.state = evaluate(
            ts[new], z, rule, tracked.state, spread=spread, beta=beta, blocked=blocked
        )
        looked = np.flatnonzero(np.isfinite(np.asarray(z, dtype=float)) & ~np.asarray(blocked))
        if looked.size:  # the last bar the state machine saw (NaN and gap bars are skipped)
            tracked.last_z, tracked.last_bar_s = float(z[looked[-1]]), int(ts[new][looked[-1]])
        self._persist(events, tracked)

    def _persist(self, events: list[AlertEvent], tracked: _Tracked) -> None:
        """Store the pass's alerts and the rule's new state in one transaction."""
        rows: list[dict[str, Any]] = [
            {
                "pair": e.pair,
                "rule": e.rule,
                "direction": e.direction,
                "z": e.z,
                "spread": e.spread,
                "beta": e.beta,
                "ts_ms": e.ts * 1000,
                "state": "fired",
            }
            for e in events
        ]
        with self._engine.begin() as conn:
            insert_alerts(conn, rows)
            upsert_rule_states(conn, [_state_row(tracked)])
        self.fired += len(rows)
        for row in rows:
            log.info("ALERT %s %s %s z=%.2f", row["pair"], row["rule"], row["direction"], row["z"])
            if self._sender is not None:
                self._sender.post(row)


def _restore(
    tracked: _Tracked, stored: dict[str, Any] | None, fired: tuple[int, str] | None
) -> None:
    """Set a rule's state from its ``rule_states`` row, else from its newest stored alert.

    A row that misses a newer alert in ``alerts`` does not describe this rule any more and is
    ignored (a row for another timeframe never reaches here: see ``rule_states_by_rule``).
    """
    last_alert = None if stored is None else stored["last_alert_ts"]
    if stored is not None and (fired is None or fired[0] // 1000 <= (last_alert or 0)):
        direction = stored["last_direction"] if stored["last_direction"] in ("UP", "DOWN") else None
        tracked.state = AlertState(bool(stored["armed"]), last_alert, direction)
        tracked.last_z, tracked.last_bar_s = stored["last_z"], stored["last_eval_ts"]
    elif fired is not None:
        tracked.state = AlertState(False, fired[0] // 1000, fired[1])  # type: ignore[arg-type]


def _state_row(tracked: _Tracked) -> dict[str, Any]:
    """The ``rule_states`` row of a tracked rule as it stands now."""
    state = tracked.state
    return {
        "pair": tracked.rule.pair,
        "rule": tracked.rule.name,
        "armed": bool(state.armed),
        "last_direction": state.last_direction,
        "last_z": tracked.last_z,
        "last_eval_ts": tracked.last_bar_s,
        "last_alert_ts": None if state.last_fire_ts is None else int(state.last_fire_ts),
        "timeframe": tracked.rule.tf,
        "updated_ms": time.time_ns() // 1_000_000,
    }
