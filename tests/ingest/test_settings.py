"""Settings: the shipped file loads, env overrides apply, every bad file names its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.settings import ConfigError, load_settings
from tests.conftest import REPO
from tests.ingest_process import run_ingest


def test_shipped_config_has_btc_eth_first_and_more_pairs() -> None:
    settings = load_settings(REPO / "config.yaml", environ={})
    first = settings.pairs[0]
    assert (first.base, first.hedge) == ("BTCUSDT", "ETHUSDT")
    assert len(settings.pairs) >= 3
    assert settings.dashboard.host == "127.0.0.1"
    assert settings.dashboard.timezone == "Asia/Kolkata"
    assert settings.symbols[:2] == ("BTCUSDT", "ETHUSDT")
    assert not settings.feed.simulated


def test_symbols_are_derived_from_pairs_in_order(write_config) -> None:
    path = write_config(
        {
            "pairs": [
                {"name": "A", "base": "SOLUSDT", "hedge": "ETHUSDT"},
                {"name": "B", "base": "BTCUSDT", "hedge": "ETHUSDT"},
            ]
        }
    )
    assert load_settings(path, environ={}).symbols == ("SOLUSDT", "ETHUSDT", "BTCUSDT")


def test_env_overrides_nested_keys_with_types(write_config) -> None:
    env = {
        "PAIRWATCH_DASHBOARD__PORT": "9100",
        "PAIRWATCH_STORAGE__URL": "sqlite:///x.db",
        "PAIRWATCH_FEED__WS_URL": "ws://127.0.0.1:8765",
        "PAIRWATCH_DASHBOARD__AUTH__ENABLED": "true",
    }
    settings = load_settings(write_config(), environ=env)
    assert settings.dashboard.port == 9100
    assert settings.storage.url == "sqlite:///x.db"
    assert settings.feed.simulated
    assert settings.dashboard.auth.enabled is True


def test_config_path_from_environment(write_config) -> None:
    path = write_config({"dashboard": {"port": 8123}}, name="other.yaml")
    assert load_settings(environ={"PAIRWATCH_CONFIG": str(path)}).dashboard.port == 8123


def test_settings_are_frozen(write_config) -> None:
    settings = load_settings(write_config(), environ={})
    with pytest.raises(ValueError, match="frozen"):
        settings.dashboard.port = 1  # type: ignore[misc]


BAD_CASES = [
    ({"dashboard": {"colour": "red"}}, "dashboard.colour", "unknown key"),
    ({"dashboard": {"port": "eighty"}}, "dashboard.port", "eighty"),
    ({"dashboard": {"port": 70000}}, "dashboard.port", "70000"),
    ({"analytics": {"window": -5}}, "analytics.window", "-5"),
    ({"pairs": [{"name": "X", "base": "btcusdt", "hedge": "ETHUSDT"}]}, "pairs[0].base", "btcusdt"),
    ({"pairs": [{"name": "X", "base": "ETHUSDT", "hedge": "ETHUSDT"}]}, "pairs[0]", "two symbols"),
    ({"pairs": []}, "pairs", "at least 1"),
    ({"feed": {"ws_url": "wss://stream.binance.com/ws"}}, "feed.ws_url", "without path"),
    ({"feed": {"market": "margin"}}, "feed.market", "margin"),
    ({"dashboard": {"timezone": "Mars/Olympus"}}, "dashboard.timezone", "IANA"),
    ({"alerts": {"rules": [{"pair": "NOPE"}]}}, "alerts", "unknown pair"),
    ({"alerts": {"rules": [{"pair": "BTC-ETH", "entry_z": 1, "exit_z": 2}]}}, "rules[0]", "exit_z"),
    ({"storage": {"url": "mysql://x"}}, "storage.url", "sqlite"),
    ({"symbols": ["BTCUSDT"]}, "symbols", "ETHUSDT"),
    ({"symbols": ["BTCUSDT\n", "ETHUSDT"]}, "symbols[0]", "upper-case"),
    (
        {"pairs": [{"name": "X\n", "base": "BTCUSDT", "hedge": "ETHUSDT"}]},
        "pairs[0].name",
        "letters",
    ),
    ({"alerts": {"rules": [{"pair": "BTC-ETH", "name": "z\r=1+1"}]}}, "rules[0].name", "letters"),
    ({"alerts": {"rules": [{"pair": "BTC-ETH", "name": "a b"}]}}, "rules[0].name", "letters"),
]


@pytest.mark.parametrize(("override", "key", "hint"), BAD_CASES)
def test_bad_values_name_key_value_and_rule(write_config, override, key, hint) -> None:
    path = write_config(override)
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    message = str(caught.value)
    assert str(path) in message
    assert key in message
    assert hint in message
    assert "\n" not in message


def test_yaml_syntax_error_gives_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("pairs:\n  - {name: A, base: BTCUSDT\n")
    with pytest.raises(ConfigError, match=r"YAML syntax error at line \d+"):
        load_settings(path, environ={})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml", environ={})


def test_top_level_must_be_mapping(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(path, environ={})


def test_cli_exits_2_with_one_line_and_no_traceback(write_config) -> None:
    path = write_config({"analytics": {"z_window": 0}})
    result = run_ingest(path, "status")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "analytics.z_window = 0" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("host", "hint"),
    [("0.0.0.0", "dashboard.auth.enabled: true"), ("192.168.1.20", "or bind 127.0.0.1"),
     ("::", "auth off"), ("not a host!", "IP address or a host name")],
)  # fmt: skip
def test_a_public_or_bad_bind_is_refused_with_auth_off(write_config, host: str, hint: str) -> None:
    with pytest.raises(ConfigError, match=hint):
        load_settings(write_config({"dashboard": {"host": host}}), environ={})
    for loopback in ("127.0.0.1", "::1", "localhost", "127.0.0.2"):
        load_settings(write_config({"dashboard": {"host": loopback}}), environ={})
    public = {"dashboard": {"host": "0.0.0.0", "auth": {"enabled": True}}}
    assert load_settings(write_config(public), environ={}).dashboard.host == "0.0.0.0"


@pytest.mark.parametrize(
    ("environ", "hint"),
    [
        ({}, "PAIRWATCH_AUTH_USERNAME and PAIRWATCH_AUTH_PASSWORD are not set"),
        ({"PAIRWATCH_AUTH_USERNAME": "ana"}, "PAIRWATCH_AUTH_PASSWORD is not set"),
        ({"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": "   "}, "or blank"),
        ({"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": "1234567"}, "at least 8"),
    ],
)
def test_auth_needs_a_user_and_a_real_password(write_config, environ, hint: str) -> None:
    auth = load_settings(write_config({}), environ={}).dashboard.auth
    with pytest.raises(ConfigError, match=hint):
        auth.credentials(environ)
    good = {"PAIRWATCH_AUTH_USERNAME": "ana", "PAIRWATCH_AUTH_PASSWORD": "12345678"}
    assert auth.credentials(good) == ("ana", "12345678")


def test_auth_variables_must_be_ours(write_config) -> None:
    with pytest.raises(ConfigError, match="PAIRWATCH_"):
        load_settings(write_config({"dashboard": {"auth": {"password_env": "HOME"}}}), environ={})
