"""Notifications: each fired alert delivered once to every ``alerts.notify`` URL and the webhook.

``build_targets`` turns the configured URLs (``${NAME}`` replaced from the environment) into one
``Target`` each: an ``AppriseTarget`` (an ``apprise.Apprise`` holding only that service) per
``alerts.notify`` URL and a ``WebhookTarget`` for ``alerts.webhook_url`` (the alert row as JSON,
``ingest.http_post``: an overall deadline, redirects never followed), each with a stable key and
a label that keeps only the scheme and host, so neither the database nor the status API ever
holds a token. ``Notifier`` runs one ``TargetSender`` thread per target. The
alert worker queues deliveries with ``Notifier.enqueue`` in the transaction that stores the
alerts (the ``notifications`` outbox, so a restart neither loses nor repeats one) and wakes the
senders after its commit. A sender delivers its due rows one at a time with a per-delivery
timeout; a failed attempt is retried after a pause that doubles from ``backoff_base_s`` up to
``backoff_cap_s``, and after ``max_attempts`` the row is ``failed``. Ingestion and alert
evaluation never wait on a delivery, and a slow or dead target never holds back another.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import apprise
from sqlalchemy import Connection, Engine

from ingest.feedstate import now_ms
from ingest.http_post import DeliveryError, post_json
from ingest.settings import ENV_REFERENCE, ConfigError, Settings, expand_env
from ingest.storage import (
    DueNotification,
    NotifyState,
    abandon_other_targets,
    due_notifications,
    enqueue_notifications,
    record_attempt,
)
from ingest.worker import Worker

log = logging.getLogger(__name__)
GONE = "target no longer in alerts.notify"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """How long one delivery may take and how failed ones are retried."""

    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_base_s: float = 5.0
    backoff_cap_s: float = 600.0
    poll_s: float = 1.0
    """Longest sleep between looks for due rows (a queued alert wakes the sender at once)."""

    def retry_delay_s(self, attempts: int) -> float:
        """The pause after the ``attempts``-th failed attempt."""
        return float(min(self.backoff_cap_s, self.backoff_base_s * 2 ** (attempts - 1)))


class Target(Protocol):
    """A place alerts are delivered to."""

    @property
    def key(self) -> str:
        """Stable id of the target in the outbox (a hash; never a secret)."""
        ...

    @property
    def label(self) -> str:
        """``scheme://host[:port]``: what the status API shows."""
        ...

    def send(self, alert: DueNotification, timeout_s: float) -> str:
        """Deliver one alert: '' on success, else why not (one line, no secrets)."""
        ...


@dataclass(frozen=True, slots=True)
class AppriseTarget:
    """One configured apprise URL, ready to send."""

    key: str
    """A hash of apprise's privacy URL."""
    label: str
    """``scheme://host[:port]`` of the privacy URL."""
    service: apprise.Apprise
    secrets: tuple[str, ...]
    """Values taken from the environment, masked in any error text."""

    def send(self, alert: DueNotification, timeout_s: float) -> str:
        """Deliver one message: '' when apprise reports success, else why not.

        ``Apprise.notify`` (apprise 2.2.0 docstring) returns an ``AppriseResult`` that is truthy
        only on success, limits the whole call to ``timeout`` seconds, and whose ``logs()`` are
        the captured WARNING-and-above entries of the call in time order.
        """
        title, body = message(alert)
        with self.service.notify(body=body, title=title, timeout=timeout_s) as result:
            if result:
                return ""
            entries = [entry.message for entry in result.logs()]
            text = entries[-1] if entries else f"apprise reported {result.status.name}"
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


@dataclass(frozen=True, slots=True)
class WebhookTarget:
    """``alerts.webhook_url``: the alert row POSTed as JSON, as the webhook always received it."""

    key: str
    label: str
    url: str

    @classmethod
    def of(cls, url: str) -> WebhookTarget:
        parts = urlsplit(url)
        label = f"webhook {parts.scheme}://{parts.netloc}"
        return cls(hashlib.sha256(f"webhook {url}".encode()).hexdigest()[:16], label, url)

    def send(self, alert: DueNotification, timeout_s: float) -> str:
        payload = {
            "pair": alert.pair,
            "rule": alert.rule,
            "direction": alert.direction,
            "z": alert.z,
            "spread": alert.spread,
            "beta": alert.beta,
            "eg_p": alert.eg_p,
            "ts_ms": alert.ts_ms,
            "state": "fired",
        }
        try:
            status = post_json(self.url, payload, timeout_s)
        except DeliveryError as exc:
            return str(exc)
        return "" if status < 300 else f"HTTP {status}"


def build_targets(
    urls: Sequence[str], environ: Mapping[str, str], webhook_url: str | None = None
) -> tuple[Target, ...]:
    """One ``Target`` per URL (and the webhook last); a URL apprise cannot use, or a second URL
    for the same target, is a ``ConfigError`` that names its place in ``alerts.notify`` but not
    its tokens."""
    targets: dict[str, Target] = {}
    for index, template in enumerate(urls):
        where = f"alerts.notify[{index}]"
        # ``instantiate`` returns None for an invalid, unsupported or disabled URL, and
        # ``url(privacy=True)`` is the URL with its private tokens masked, "safe to
        # log/print/store" (apprise 2.2.0: Apprise.instantiate, NotifyResult.url docstrings).
        service = apprise.Apprise.instantiate(expand_env(template, environ, where))
        if service is None:
            scheme = template.partition("://")[0]
            raise ConfigError(
                f"{where}: apprise cannot use this {scheme}:// URL; check its parts against "
                f"https://appriseit.com/services/"
            )
        private = service.url(privacy=True)
        parts = urlsplit(private)
        label = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"
        key = hashlib.sha256(private.encode()).hexdigest()[:16]
        if key in targets:
            raise ConfigError(f"{where}: {label} is already an earlier entry of alerts.notify")
        box = apprise.Apprise()
        box.add(service)  # add() keeps a service object as it is (apprise 2.2.0 docstring)
        secrets = tuple(environ[name] for name in ENV_REFERENCE.findall(template))
        targets[key] = AppriseTarget(key, label, box, secrets)
    if webhook_url:
        hook = WebhookTarget.of(webhook_url)
        targets[hook.key] = hook
    return tuple(targets.values())


def message(alert: DueNotification) -> tuple[str, str]:
    """Title and body of one alert's notification."""
    bar = datetime.fromtimestamp(alert.ts_ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"rule: {alert.rule}",
        f"z: {alert.z:.2f}",
        f"spread: {_number(alert.spread)}",
        f"β: {_number(alert.beta)}",
        *([f"EG p: {alert.eg_p:.4f}"] if alert.eg_p is not None else []),
        f"bar: {bar}",
    ]
    return f"pairwatch ALERT {alert.pair} {alert.direction}", "\n".join(lines)


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.6g}"


class TargetSender(Worker):
    """Delivers the due outbox rows of one target until stopped."""

    def __init__(
        self, engine: Engine, target: Target, policy: DeliveryPolicy, timeout_s: float
    ) -> None:
        super().__init__(f"notify-{target.key[:8]}")
        self._engine, self._target, self._policy = engine, target, policy
        self._timeout_s = timeout_s
        self._queued = threading.Event()

    def wake(self) -> None:
        """New rows were queued: look for due rows now."""
        self._queued.set()

    def _wake(self) -> None:
        self._queued.set()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._queued.clear()
            try:
                with self._engine.connect() as conn:
                    due = due_notifications(conn, self._target.key, now_ms())
                for row in due:
                    if self._stopping.is_set():
                        return
                    self._deliver(row)
            except Exception:
                log.exception("notifications to %s failed", self._target.label)
            self._queued.wait(self._policy.poll_s)

    def _deliver(self, row: DueNotification) -> None:
        try:
            error = self._target.send(row, self._timeout_s)
        except Exception as exc:  # a plugin fault is this delivery's error, not the thread's end
            log.exception("delivering to %s raised", self._target.label)
            error = f"delivery raised {type(exc).__name__}"
        attempts, now = row.attempts + 1, now_ms()
        state, next_ms = NotifyState.SENT, now
        if error:
            given_up = attempts >= self._policy.max_attempts
            state = NotifyState.FAILED if given_up else NotifyState.PENDING
            next_ms = now + int(self._policy.retry_delay_s(attempts) * 1000)
            log.warning(
                "notification of alert %d (%s) to %s failed (attempt %d, now %s): %s",
                row.alert_id,
                row.pair,
                self._target.label,
                attempts,
                state.value,
                error,
            )
        with self._engine.begin() as conn:
            record_attempt(
                conn,
                row.alert_id,
                self._target.key,
                state=state,
                now_ms=now,
                next_attempt_ms=next_ms,
                error=error,
            )


def _timeout(target: Target, policy: DeliveryPolicy, webhook_timeout_s: float) -> float:
    """The webhook keeps its own ``alerts.webhook_timeout_s``; apprise targets the policy's."""
    return webhook_timeout_s if isinstance(target, WebhookTarget) else policy.timeout_s


class Notifier:
    """The outbox and one sender per ``alerts.notify`` target."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        policy: DeliveryPolicy | None = None,
    ) -> None:
        self._engine = engine
        alerts = settings.alerts
        env = os.environ if environ is None else environ
        self.targets = build_targets(alerts.notify, env, alerts.webhook_url)
        policy = policy or DeliveryPolicy(timeout_s=alerts.notify_timeout_s)
        self._senders = [
            TargetSender(engine, target, policy, _timeout(target, policy, alerts.webhook_timeout_s))
            for target in self.targets
        ]

    def start(self) -> None:
        """Give up the pending rows of targets no longer configured, then start sending."""
        keys = [target.key for target in self.targets]
        with self._engine.begin() as conn:
            abandoned = abandon_other_targets(conn, keys, GONE, now_ms())
        if abandoned:
            log.warning("%d pending notifications abandoned: %s", abandoned, GONE)
        for sender in self._senders:
            sender.start()

    def stop(self, timeout: float = 3.0) -> bool:
        """Stop every sender within ``timeout`` in all; True when all have ended (an
        interrupted delivery stays pending and is sent after the next start)."""
        deadline = time.monotonic() + timeout
        ended = [s.stop(max(0.05, deadline - time.monotonic())) for s in self._senders]
        return all(ended)

    def enqueue(self, conn: Connection, alerts: Sequence[Mapping[str, Any]]) -> None:
        """Queue the stored ``alerts`` rows for every target, in the caller's transaction."""
        fired = [(row["pair"], row["rule"], int(row["ts_ms"])) for row in alerts]
        targets = [(target.key, target.label) for target in self.targets]
        enqueue_notifications(conn, fired, targets, now_ms())

    def wake(self) -> None:
        """Call after the transaction that queued rows has committed."""
        for sender in self._senders:
            sender.wake()
