"""``/api/v1/status`` reports notification deliveries per apprise target, tokens masked.

A real sender delivers one alert to a loopback receiver and keeps retrying a closed port; the
status body then shows the good target sent and the dead one pending with its last error, and
no token of either URL.
"""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient
from sqlalchemy import select

from dashboard.services import DataService
from ingest.notify import DeliveryPolicy, Notifier
from ingest.storage import insert_alerts, make_engine
from ingest.storage.schema import notifications
from tests.conftest import free_port, wait_until
from tests.dashboard.conftest import write_settings
from tests.notify_receiver import Receiver

RETRYING = DeliveryPolicy(
    timeout_s=5.0, max_attempts=50, backoff_base_s=0.1, backoff_cap_s=0.2, poll_s=0.05
)
ALERT = {
    "pair": "BTC-ETH",
    "rule": "z2",
    "direction": "UP",
    "z": 2.4,
    "spread": 12.5,
    "beta": 20.0,
    "ts_ms": 1_717_200_000_000,
    "state": "fired",
}


def test_status_shows_each_target_with_its_deliveries(
    tmp_path: Path, client: FlaskClient, use_service
) -> None:
    settings = write_settings(tmp_path)
    dead_port = free_port()
    dead = f"json://user:${{HOOK_PW}}@127.0.0.1:{dead_port}/"
    engine = make_engine(settings.storage.url)
    with Receiver() as good:
        alerts = settings.alerts.model_copy(update={"notify": (good.url, dead)})
        notifier = Notifier(
            engine,
            settings.model_copy(update={"alerts": alerts}),
            environ={"HOOK_PW": "pw-s3cret"},
            policy=RETRYING,
        )
        notifier.start()
        with engine.begin() as conn:
            insert_alerts(conn, [ALERT])
            notifier.enqueue(conn, [ALERT])
        notifier.wake()

        def retried() -> bool:
            with engine.connect() as conn:
                attempts = conn.execute(select(notifications.c.attempts)).scalars().all()
            return len(good.bodies) == 1 and sorted(attempts)[-1] >= 3

        wait_until(retried, 10, "the good target served and the dead one retried")
        assert notifier.stop(2.0)
    with use_service(DataService(settings, share=False)):
        response = client.get("/api/v1/status")
    body = response.get_json()["notify"]
    by_target = {line["target"]: line for line in body}
    good_line = by_target[good.url.removesuffix("/")]
    dead_line = by_target[f"json://127.0.0.1:{dead_port}"]
    assert (good_line["sent"], good_line["pending"], good_line["failed"]) == (1, 0, 0)
    assert good_line["last_error"] == ""
    assert (dead_line["sent"], dead_line["pending"], dead_line["failed"]) == (0, 1, 0)
    assert "Connection error" in dead_line["last_error"]
    assert "pw-s3cret" not in response.get_data(as_text=True)
    assert "user" not in dead_line["target"]
    engine.dispose()
