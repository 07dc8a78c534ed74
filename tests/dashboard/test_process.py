"""Things that need a fresh process: wsgi import, bad config exit, basic auth on a second app."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ingest.storage import make_engine
from tests.dashboard.conftest import write_settings

ROOT = Path(__file__).resolve().parents[2]

AUTH_PROBE = """
import base64, json, sys
from dashboard.app import create_app
from ingest.settings import load_settings
client = create_app(load_settings(sys.argv[1])).server.test_client()
good = "Basic " + base64.b64encode(b"ana:s3cret-pass").decode()
probes = {
    "page": ("/spread", None), "layout": ("/_dash-layout", None), "api": ("/api/v1/pairs", None),
    "bearer": ("/api/v1/pairs", "Bearer abc"), "bad_b64": ("/api/v1/pairs", "Basic !!!notb64"),
    "no_colon": ("/api/v1/pairs", "Basic " + base64.b64encode(b"nocolon").decode()),
    "wrong": ("/", "Basic " + base64.b64encode(b"ana:nope").decode()),
    "good": ("/api/v1/pairs", good), "healthz": ("/healthz", None),
}
result = {k: client.get(p, headers={"Authorization": h} if h else {}).status_code
          for k, (p, h) in probes.items()}
result["callback"] = client.post("/_dash-update-component", json={}).status_code
print(json.dumps(result))
"""


def run(code: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *code],
        cwd=ROOT,
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_wsgi_imports_and_serves(tmp_path: Path) -> None:
    """The web tier is a reader: without the ingestor's database it says so and creates none."""
    config = write_settings(tmp_path)
    database = Path(config.storage.url.removeprefix("sqlite:///"))
    probe = (
        "import wsgi; r = wsgi.server.test_client().get('/healthz'); "
        "print(r.status_code, r.get_json()['error'] if r.status_code != 200 else 'ok')"
    )
    env = {"PAIRWATCH_CONFIG": str(tmp_path / "pairwatch.db.yaml")}
    done = run(["-c", probe], env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("503 database not initialised — start the ingestor")
    assert not database.exists()
    make_engine(config.storage.url).dispose()  # what the ingestor does on start
    served = run(["-c", probe], env)
    assert served.stdout.strip() == "200 ok", served.stderr


def test_wsgi_bad_config_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("pairs: []\n", encoding="utf-8")
    done = run(["-c", "import wsgi"], {"PAIRWATCH_CONFIG": str(bad)})
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "pairs" in done.stderr


def test_auth_enabled_without_credentials_refuses_to_start(tmp_path: Path) -> None:
    write_settings(tmp_path, auth=True)
    env = {
        "PAIRWATCH_CONFIG": str(tmp_path / "pairwatch.db.yaml"),
        "PAIRWATCH_AUTH_USERNAME": "",
        "PAIRWATCH_AUTH_PASSWORD": "",
    }
    done = run(["-c", "import wsgi"], env)
    assert done.returncode == 2 and "PAIRWATCH_AUTH_USERNAME" in done.stderr


GUNICORN_CHECK = ["-m", "gunicorn", "-c", "gunicorn.conf.py", "--check-config", "wsgi:server"]


@pytest.mark.parametrize(
    ("env", "auth", "needle"),
    [
        ({"PAIRWATCH_DASHBOARD__HOST": "0.0.0.0"}, False, "dashboard.auth.enabled: true"),
        ({"PAIRWATCH_DASHBOARD__HOST": "192.168.1.20"}, False, "or bind 127.0.0.1"),
        ({"PAIRWATCH_DASHBOARD__HOST": "not a host!"}, False, "IP address or a host name"),
        ({"PAIRWATCH_AUTH_USERNAME": "ana"}, True, "PAIRWATCH_AUTH_PASSWORD is not set"),
        ({"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": " "}, True, "not set"),
        (
            {"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": "short"},
            True,
            "at least 8",
        ),
    ],
    ids=["any-address", "lan-address", "not-a-host", "no-password", "blank", "short-password"],
)
def test_unsafe_exposure_stops_gunicorn_before_any_worker(
    tmp_path: Path, env: dict[str, str], auth: bool, needle: str
) -> None:
    """``--check-config`` fails with exit 2 and one line saying how to fix it."""
    write_settings(tmp_path, auth=auth)
    base = {"PAIRWATCH_CONFIG": str(tmp_path / "pairwatch.db.yaml"), "PAIRWATCH_NO_INGEST": "1"}
    cleared = {"PAIRWATCH_AUTH_USERNAME": "", "PAIRWATCH_AUTH_PASSWORD": ""}
    done = run(GUNICORN_CHECK, {**base, **cleared, **env})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], done.stderr


def test_a_public_bind_with_auth_and_a_real_password_passes_the_check(tmp_path: Path) -> None:
    make_engine(write_settings(tmp_path, auth=True).storage.url).dispose()
    env = {
        "PAIRWATCH_CONFIG": str(tmp_path / "pairwatch.db.yaml"),
        "PAIRWATCH_NO_INGEST": "1",
        "PAIRWATCH_DASHBOARD__HOST": "0.0.0.0",
        "PAIRWATCH_AUTH_USERNAME": "ana",
        "PAIRWATCH_AUTH_PASSWORD": "correct-horse",
    }
    assert run(GUNICORN_CHECK, env).returncode == 0


def test_basic_auth_guards_pages_callbacks_and_api(tmp_path: Path) -> None:
    make_engine(write_settings(tmp_path, auth=True).storage.url).dispose()
    env = {"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": "s3cret-pass"}
    done = run(["-c", AUTH_PROBE, str(tmp_path / "pairwatch.db.yaml")], env)
    assert done.returncode == 0, done.stderr
    codes = json.loads(done.stdout)
    for name in ("page", "layout", "api", "bearer", "bad_b64", "no_colon", "wrong", "callback"):
        assert codes[name] == 401, name
    assert codes["good"] == 200 and codes["healthz"] == 200
