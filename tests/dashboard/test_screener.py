"""The screener end to end on imported synthetic data: one cointegrated pair among independent
random walks ranks first, every pair equals statsmodels ``coint``, the ingest worker's stored
ranking is what the API and page serve, and other windows are computed on request."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flask.testing import FlaskClient
from statsmodels.tsa.stattools import coint

from dashboard.data import screen
from dashboard.services import DataService
from ingest.importer import import_file
from ingest.screener_worker import ScreenerWorker
from ingest.settings import Settings, load_settings
from ingest.storage import make_engine, read_screen
from tests.dashboard.conftest import page

SYMBOLS = ("AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT", "EEEUSDT", "FFFUSDT")
MINUTES = 420
START_S = 1_723_075_200  # 2024-08-08 00:00 UTC
WINDOW = 300

CONFIG = """
storage: {{url: "sqlite:///{db}"}}
symbols: [{symbols}]
pairs:
  - {{name: A-B, base: AAAUSDT, hedge: BBBUSDT}}
screener: {{window: {window}, timeframes: [1m, 5m]}}
"""


def minute_closes(seed: int = 11) -> dict[str, np.ndarray]:
    """Geometric random walks per minute; CCC = 3·AAA + 7 + noise is cointegrated with AAA."""
    rng = np.random.default_rng(seed)
    walks = 100 * np.exp(np.cumsum(rng.normal(0, 0.003, (MINUTES, len(SYMBOLS))), axis=0))
    walks[:, 2] = 3 * walks[:, 0] + 7 + rng.normal(0, 0.3, MINUTES)
    return {symbol: walks[:, i].round(6) for i, symbol in enumerate(SYMBOLS)}


def write_trades(directory: Path, symbol: str, closes: np.ndarray) -> Path:
    """A data.binance.vision spot trades file: one trade 30 s into each minute."""
    path = directory / f"{symbol}-trades-2024-08-08.csv"
    lines = [
        f"{i + 1},{price},1.0,{price},{(START_S + 60 * i + 30) * 1000},False,True"
        for i, price in enumerate(closes)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def universe(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, dict[str, np.ndarray]]:
    directory = tmp_path_factory.mktemp("screener")
    config = directory / "screener.yaml"
    db = directory / "screener.db"
    config.write_text(CONFIG.format(db=db, symbols=", ".join(SYMBOLS), window=WINDOW))
    settings = load_settings(config, environ={})
    closes = minute_closes()
    engine = make_engine(settings.storage.url)
    for symbol, prices in closes.items():
        import_file(engine, write_trades(directory, symbol, prices), symbol)
    worker = ScreenerWorker(engine, settings)
    last_closed = START_S + 60 * (MINUTES - 2)  # the last minute is still open
    assert worker.rank("1m", last_closed) == 15
    engine.dispose()
    return settings, closes


def test_the_stored_ranking_puts_the_cointegrated_pair_first_and_equals_coint(universe) -> None:
    settings, closes = universe
    engine = make_engine(settings.storage.url, create=False)
    with engine.connect() as conn:
        stored = read_screen(conn, "1m", WINDOW)
    assert stored is not None and stored.as_of_s == START_S + 60 * (MINUTES - 2)
    first = stored.pairs[0]
    assert {first["base"], first["hedge"]} == {"AAAUSDT", "CCCUSDT"} and first["eg_p"] < 0.01
    for pair in stored.pairs:  # closed bars only: the window ends one minute before the last
        y = closes[pair["base"]][-WINDOW - 1 : -1]
        x = closes[pair["hedge"]][-WINDOW - 1 : -1]
        stat, p, _ = coint(y, x, trend="c", maxlag=1, autolag=None)
        assert pair["eg_stat"] == pytest.approx(stat, rel=1e-7)
        assert pair["eg_p"] == pytest.approx(p, rel=1e-7, abs=1e-12)
        assert pair["bars"] == WINDOW


def test_api_serves_the_stored_default_and_computes_other_windows(
    universe, client: FlaskClient, use_service
) -> None:
    settings, closes = universe
    with use_service(DataService(settings)):
        body = client.get("/api/v1/screener?tf=1m").get_json()
        assert (body["tf"], body["window"], body["source"]) == ("1m", WINDOW, "stored")
        assert body["as_of"] == START_S + 60 * (MINUTES - 2)
        assert set(body["pairs"][0]) == {
            "base", "hedge", "eg_stat", "eg_p", "beta", "half_life", "hurst", "corr", "z", "bars",
        }  # fmt: skip
        other = client.get("/api/v1/screener?tf=1m&window=200").get_json()
        assert other["source"] == "computed" and len(other["pairs"]) == 15
        best = other["pairs"][0]
        y, x = closes[best["base"]][-201:-1], closes[best["hedge"]][-201:-1]
        assert best["eg_p"] == pytest.approx(coint(y, x, trend="c", maxlag=1, autolag=None)[1])
        fives = client.get("/api/v1/screener?tf=5m&window=60").get_json()
        assert fives["source"] == "computed" and all(p["bars"] <= 60 for p in fives["pairs"])
        csv = client.get("/api/v1/screener?tf=1m&format=csv").get_data(as_text=True)
        assert csv.splitlines()[0] == "base,hedge,eg_stat,eg_p,beta,half_life,hurst,corr,z,bars"
        for bad in ("tf=1s", "window=5", "window=abc", "tf=1m&extra=1"):
            answer = client.get(f"/api/v1/screener?{bad}")
            assert answer.status_code == 400, bad


@pytest.mark.usefixtures("app_context")
def test_a_repeated_request_is_served_from_the_cache(universe) -> None:
    settings, _ = universe
    service = DataService(settings)
    assert screen.ranking(service, "1m", 250) is screen.ranking(service, "1m", 250)


@pytest.mark.usefixtures("app_context")
def test_the_page_links_each_row_to_its_spread_page_and_offers_the_config(
    universe, use_service
) -> None:
    settings, _ = universe
    with use_service(DataService(settings)):
        rows, as_of, notices = page("screener").refresh("1m", WINDOW, 1, None, "?", "s")
        assert not notices and "stored by the ingestor" in as_of
        assert rows[0]["rank"] == 1
        assert rows[0]["pair"].startswith(f"[{rows[0]['base']} / {rows[0]['hedge']}](/spread?pair=")
        configured = next(r for r in rows if {r["base"], r["hedge"]} == {"AAAUSDT", "BBBUSDT"})
        if configured["base"] == "AAAUSDT":
            assert "(/spread?pair=A-B&tf=1m)" in configured["pair"]
        card = page("screener").watch([rows[0]], "1m")
        text = str(card)
        assert f"name: {rows[0]['base']}-{rows[0]['hedge']}" in text and "timeframe: 1m" in text


def test_incremental_passes_rank_exactly_like_a_fresh_read(universe) -> None:
    """The worker keeps closes between passes and reads only new bars: same ranking."""
    settings, _ = universe
    engine = make_engine(settings.storage.url)
    last_closed = START_S + 60 * (MINUTES - 2)
    with engine.connect() as conn:
        fresh = read_screen(conn, "1m", WINDOW)
    worker = ScreenerWorker(engine, settings)
    for minutes_back in (30, 7, 1, 0):
        worker.rank("1m", last_closed - 60 * minutes_back)
    with engine.connect() as conn:
        incremental = read_screen(conn, "1m", WINDOW)
    engine.dispose()
    assert fresh is not None and incremental is not None
    assert incremental.pairs == fresh.pairs and incremental.as_of_s == fresh.as_of_s


def test_a_ranking_over_the_read_budget_is_refused_by_name(
    universe, client: FlaskClient, use_service
) -> None:
    settings, _ = universe
    with use_service(DataService(settings)):
        answer = client.get("/api/v1/screener?tf=5m&window=20000")
        assert answer.status_code == 400
        body = answer.get_json()
        assert body["parameter"] == "window" and "over the cap" in body["error"]
        assert client.get("/api/v1/screener?tf=1m").status_code == 200  # the stored default
