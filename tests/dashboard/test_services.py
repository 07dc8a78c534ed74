"""The dashboard's read side over real SQLite files seeded through ingest.storage."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from dashboard.data import alert_log, feed, pairs, windows
from dashboard.params import parse_view
from dashboard.services import DataService
from dashboard.wording import notice_text
from ingest.settings import Settings
from ingest.storage import NotInitialisedError, SchemaVersionError, make_engine, upsert_status
from ingest.storage.schema import SCHEMA_VERSION
from tests.dashboard.conftest import (
    END_S,
    NOW_MS,
    START_S,
    TRUE_BETA,
    cointegrated_trades,
    seed,
    status_row,
    write_settings,
)


def test_pair_result_recovers_beta_and_reads_only_the_window(
    service: DataService, settings: Settings
) -> None:
    view = parse_view(settings, {"pair": "BTC-ETH", "lookback": "30"})
    result = pairs.pair_result(service, view)
    assert result.analytics is not None
    assert result.analytics.latest.beta == pytest.approx(TRUE_BETA, rel=0.15)
    assert len(result.ts) == 30 * 60
    assert result.ts[0] == END_S - 30 * 60 + 1 and result.ts[-1] == END_S
    assert result.analytics.latest.adf_p is not None and result.analytics.latest.adf_p < 0.05


def test_timeframe_resamples_and_widens_to_fit_windows(
    service: DataService, settings: Settings
) -> None:
    view = parse_view(settings, {"pair": "BTC-ETH", "tf": "1m", "window": "60", "z_window": "20"})
    result = pairs.pair_result(service, view)
    assert set(result.ts % 60) == {0}
    assert len(result.ts) == 80  # (window + z_window) bars, more than the 60-minute lookback


def test_open_gap_inside_window_is_reported(service: DataService, settings: Settings) -> None:
    notices = pairs.pair_result(service, parse_view(settings, {"pair": "BTC-ETH"})).notices
    assert any("Open gap in BTCUSDT" in notice_text(n) for n in notices)
    short = pairs.pair_result(
        service, parse_view(settings, {"pair": "BTC-ETH", "lookback": "5"})
    ).notices
    assert not any("Open gap" in notice_text(n) for n in short)


def test_single_leg_pair_explains_itself(service: DataService, settings: Settings) -> None:
    result = pairs.pair_result(service, parse_view(settings, {"pair": "SOL-ETH"}))
    assert result.analytics is None
    first = notice_text(result.notices[0])
    assert "only one leg" in first and "SOLUSDT" in first


def test_empty_database_message(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, "empty.db")
    make_engine(settings.storage.url).dispose()  # the ingestor created the schema, no trades yet
    empty = DataService(settings, clock_ms=lambda: NOW_MS)
    result = pairs.pair_result(empty, parse_view(empty.settings, {}))
    assert result.analytics is None
    assert notice_text(result.notices[0]).startswith("No data yet for BTCUSDT and ETHUSDT")
    assert feed.status_report(empty).symbols[0].light.light == "red"


def test_a_missing_database_is_not_created_and_says_start_the_ingestor(tmp_path: Path) -> None:
    """The dashboard is a reader: a mistyped or not yet created database is refused, not made."""
    settings = write_settings(tmp_path, "missing.db")
    reader = DataService(settings, clock_ms=lambda: NOW_MS)
    with pytest.raises(NotInitialisedError, match="database not initialised — start the ingestor"):
        feed.feed_overview(reader)
    assert not (tmp_path / "missing.db").exists()
    make_engine(settings.storage.url).dispose()  # the ingestor starts a moment later
    assert feed.feed_overview(reader).lights[0].light == "red"  # the same service recovers


def test_an_uninitialised_or_newer_schema_is_refused_without_ddl(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, "bare.db")
    bare = create_engine(settings.storage.url)
    with bare.begin() as conn:
        conn.execute(text("CREATE TABLE unrelated (x INTEGER)"))
    reader = DataService(settings, clock_ms=lambda: NOW_MS)
    with pytest.raises(NotInitialisedError, match="has no pairwatch tables"):
        alert_log.rule_states(reader)
    assert inspect(bare).get_table_names() == ["unrelated"]  # no DDL ran
    make_engine(settings.storage.url).dispose()
    with bare.begin() as conn:
        conn.execute(text(f"INSERT INTO schema_version (version) VALUES ({SCHEMA_VERSION + 1})"))
    with pytest.raises(SchemaVersionError, match="newer than this pairwatch"):
        alert_log.rule_states(DataService(settings, clock_ms=lambda: NOW_MS))
    bare.dispose()


def test_stopped_ingestor_is_reported(tmp_path: Path) -> None:
    config = write_settings(tmp_path, "stopped.db")
    seed(config.storage.url, cointegrated_trades(START_S, 600))
    engine = make_engine(config.storage.url)
    with engine.begin() as conn:
        upsert_status(conn, [status_row("BTCUSDT", updated_ms=NOW_MS - 60_000, last_trade_ms=1)])
    engine.dispose()
    stopped = DataService(config, clock_ms=lambda: NOW_MS)
    notices = pairs.pair_result(stopped, parse_view(config, {})).notices
    assert notices[0].level == "danger" and "Ingestor stopped" in notice_text(notices[0])
    assert feed.feed_overview(stopped).stopped_for_s == 60


def test_status_report_lights_gaps_and_completeness(service: DataService) -> None:
    report = feed.status_report(service)
    rows = {r.light.symbol: r for r in report.symbols}
    lights = tuple(rows[s].light.light for s in ("BTCUSDT", "ETHUSDT", "SOLUSDT"))
    assert lights == ("green", "orange", "red")
    btc = rows["BTCUSDT"].ledger
    assert (btc.open, btc.filled, btc.lost) == (1, 0, 0)
    assert btc.fraction == pytest.approx(1 - 10 / (2 * 7200))
    assert report.simulated is True


def test_correlation_matrix_needs_two_symbols(service: DataService) -> None:
    matrix, _ = windows.correlation_matrix(service, "1s", 60)
    assert list(matrix.columns) == ["BTCUSDT", "ETHUSDT"]
    assert matrix.loc["BTCUSDT", "ETHUSDT"] > 0.5


def test_rule_state_and_backtest(service: DataService, settings: Settings) -> None:
    (rule,) = alert_log.rule_states(service)  # the alert worker never ran on this database
    assert (rule.pair, rule.name, rule.state, rule.window) == ("BTC-ETH", "z2", "waiting", 60)
    assert rule.last_alert_ts is None and rule.last_z is None and rule.last_eval_ts is None
    view = replace(parse_view(settings, {"method": "rolling", "window": "120"}), fee_bps=1.0)
    outcome = pairs.backtest(service, view)
    assert outcome.result is not None and outcome.result.n_trades > 0
    assert len(outcome.result.equity) == len(outcome.pair.ts)


def test_a_flat_leg_is_a_notice_in_plain_words(tmp_path: Path) -> None:
    """A leg whose price never moves: no crash, the page says why (audit finding B1)."""
    settings = write_settings(tmp_path, "flat.db")
    trades = [
        t._replace(price=65_000.0) if t.symbol == "BTCUSDT" else t
        for t in cointegrated_trades(START_S, 900)
    ]
    seed(settings.storage.url, trades)
    service = DataService(settings, clock_ms=lambda: NOW_MS)
    result = pairs.pair_result(service, parse_view(settings, {"pair": "BTC-ETH", "lookback": "15"}))
    assert result.analytics is None
    assert any(
        "base leg's price did not change over the last 300 bars" in notice_text(n)
        for n in result.notices
    ), result.notices
