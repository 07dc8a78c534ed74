"""Server-side alerts: evaluate every configured rule after each bar close, no browser needed.

``AlertWorker`` runs in the ingest process. The writer calls ``notify(newest_second)`` after
each commit; at most once per second the worker reads, per rule, just the bars its windows
need, takes each newly closed bar's z-score, spread and β from
``analytics.causal_values_at`` (the same causal series the dashboard draws) and, for a
relationship rule, the Engle-Granger p of the window ending at that bar
(``analytics.cointegration.engle_granger_p_at``), and hands them to the rule
(``ingest.tracked_rules``: the z or the relationship state machine). Bars where a leg is stale
are absent after alignment and bars inside an open gap are blocked, so neither can fire. Alerts
are stored in ``alerts`` (unique per pair, rule and bar time, so a restart cannot duplicate
them). With an ``outbox`` (``ingest.notify.Notifier``), the same transaction queues each new
alert for every target (the apprise URLs and the webhook), and its senders are woken after the
commit; they deliver on their own threads, so nothing here ever waits on a delivery.

Each rule's state (armed, last direction, z and time of the last evaluated bar, last alert) is
written to ``rule_states`` in the same transaction as the alerts of that pass, once per rule
and pass, so the dashboard shows the worker's own state instead of replaying the rule. State is
restored from ``rule_states`` on start (from the newest stored alert when a rule has no row):
a z rule that fired before stays disarmed until |z| falls below its exit threshold, a broken
relationship stays broken until it is restored.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
from sqlalchemy import Engine

from analytics import (
    BAR_SECONDS,
    AlertRule,
    AnalyticsError,
    PairParams,
    aligned_closes,
    bars_in_gaps,
    causal_values_at,
    resample_bars,
)
from analytics.cointegration import engle_granger_p_at
from analytics.relationship import RelationshipRule
from ingest.notify import Notifier
from ingest.ratelog import RateLimitedLog
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
from ingest.tracked_rules import PassValues, TrackedRelationship, TrackedRule, TrackedZ
from ingest.worker import CommitListener

log = logging.getLogger(__name__)
MAX_CATCH_UP_BARS = 3600


class AlertWorker(CommitListener):
    """Evaluates ``settings.alerts.rules`` on fresh bars until stopped (at most once a second)."""

    spacing_s = 1.0

    def __init__(self, engine: Engine, settings: Settings, outbox: Notifier | None = None) -> None:
        super().__init__("alerts")
        self._engine = engine
        self._outbox = outbox
        self._settings = settings
        self._error_log = RateLimitedLog(log)
        self.fired = 0
        self._rules = [self._track(rule) for rule in settings.alerts.rules]

    def _track(self, config: AlertRuleSettings) -> TrackedRule:
        pair = self._settings.pair(config.pair)
        analytics = self._settings.analytics
        params = PairParams(
            method=pair.hedge_method or analytics.hedge_method,
            window=pair.window or analytics.window,
            z_window=config.window if config.kind == "z" else analytics.z_window,
            corr_window=analytics.corr_window,
            log=analytics.log_prices,
        )
        if config.kind == "relationship":
            rule = RelationshipRule(**config.relationship_fields())
            return TrackedRelationship(rule, params, pair.base, pair.hedge)
        return TrackedZ(AlertRule(**config.rule_fields()), params, pair.base, pair.hedge)

    def start(self) -> None:
        """Restore rule states, store them (so each rule shows before its first bar), start."""
        with self._engine.connect() as conn:
            stored = rule_states_by_rule(conn)
            fired = last_alert_times(conn)
        for tracked in self._rules:
            key = (tracked.pair, tracked.name)
            row = stored.get((*key, tracked.tf))
            mine = row if row is not None and row["kind"] == tracked.state_row()["kind"] else None
            tracked.restore(mine, fired.get(key))
        with self._engine.begin() as conn:
            upsert_rule_states(conn, [tracked.state_row() for tracked in self._rules])
        super().start()

    def _pass(self, newest_second: int) -> None:
        self.evaluate(newest_second)

    def evaluate(self, newest_second: int) -> None:
        """One pass: every rule over the bars closed since its last pass, up to the bar
        before ``newest_second``'s (the worker's loop calls this at most once per second)."""
        for tracked in self._rules:
            try:
                self._evaluate(tracked, newest_second)
            except AnalyticsError as exc:
                log.debug("rule %s/%s not evaluated: %s", tracked.pair, tracked.name, exc)
            except Exception:
                self._error_log.exception("alert rule %s/%s failed", tracked.pair, tracked.name)

    def _evaluate(self, tracked: TrackedRule, newest_second: int) -> None:
        tf_s = BAR_SECONDS[tracked.tf]
        last_closed = (newest_second // tf_s) * tf_s - tf_s
        if tracked.last_eval_s is not None and last_closed <= tracked.last_eval_s:
            return
        since = last_closed - tf_s if tracked.last_eval_s is None else tracked.last_eval_s
        since = max(since, last_closed - MAX_CATCH_UP_BARS * tf_s)
        history = tracked.lookback_bars() * tf_s
        legs = (tracked.base, tracked.hedge)
        with self._engine.connect() as conn:
            bars = [
                resample_bars(
                    read_bars(conn, symbol, since - history, last_closed + tf_s - 1, tf_s),
                    tracked.tf,
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
        base, hedge = aligned["base"].to_numpy(), aligned["hedge"].to_numpy()
        z, spread, beta = causal_values_at(base, hedge, new, tracked.params)
        p_window = tracked.needs_p()
        eg_p = None
        if p_window is not None:
            fy, fx = (np.log(base), np.log(hedge)) if tracked.params.log else (base, hedge)
            eg_p = engle_granger_p_at(fy, fx, new, p_window)
        blocked = bars_in_gaps(ts[new], tf_s, gaps[gaps["symbol"].isin(legs)])
        values = PassValues(ts[new], z, spread, beta, blocked, eg_p)
        self._persist(tracked.step(values), tracked)

    def _persist(self, rows: list[dict[str, Any]], tracked: TrackedRule) -> None:
        """Store the pass's alerts, their notifications and the rule's new state in one
        transaction."""
        with self._engine.begin() as conn:
            insert_alerts(conn, rows)
            if self._outbox is not None:
                self._outbox.enqueue(conn, rows)
            upsert_rule_states(conn, [tracked.state_row()])
        if self._outbox is not None and rows:
            self._outbox.wake()
        self.fired += len(rows)
        for row in rows:
            log.info("ALERT %s %s %s z=%.2f", row["pair"], row["rule"], row["direction"], row["z"])
