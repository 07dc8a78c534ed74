"""Pure pieces: parameter parsing, CSV guard, health rules, downsampling, figure builders."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
import pytest

from dashboard import figures
from dashboard.csvsafe import guard_cell, to_safe_csv
from dashboard.data.notices import Notice, NoticeCode, Warmup
from dashboard.downsample import keep_indices
from dashboard.errors import QueryError
from dashboard.health import classify
from dashboard.params import merge_query, pair_choices, parse_pair, parse_view, query_values
from dashboard.refresh import RefreshGuard
from dashboard.timefmt import approx_duration
from dashboard.wording import notice_text
from ingest.settings import Settings


def test_pair_choices_lists_configured_then_adhoc(settings: Settings) -> None:
    names = [p.name for p in pair_choices(settings)]
    assert names[:2] == ["BTC-ETH", "SOL-ETH"]
    assert "ETHUSDT/BTCUSDT" in names and "BTCUSDT/ETHUSDT" not in names


def test_parse_pair_adhoc_and_configured_legs(settings: Settings) -> None:
    assert parse_pair(settings, "btcusdt/solusdt").legs == ("BTCUSDT", "SOLUSDT")
    assert parse_pair(settings, "BTCUSDT/ETHUSDT").name == "BTC-ETH"
    with pytest.raises(QueryError) as info:
        parse_pair(settings, "BTCUSDT/BTCUSDT")
    assert info.value.parameter == "pair"


def test_lenient_view_falls_back_per_field(settings: Settings) -> None:
    view = parse_view(settings, {"pair": "nope", "tf": "1m", "window": "abc", "z": "nan"})
    assert (view.pair.name, view.tf, view.window, view.z) == ("BTC-ETH", "1m", 300, 2.0)


def test_strict_view_names_the_bad_parameter(settings: Settings) -> None:
    with pytest.raises(QueryError) as info:
        parse_view(settings, {"pair": "BTC-ETH", "z_window": "99999999999"}, strict=True)
    assert info.value.parameter == "z_window"


def test_merge_query_round_trips(settings: Settings) -> None:
    search = merge_query("?tf=1m&foo=1", {"pair": "BTCUSDT/SOLUSDT", "tf": "5m"})
    assert search == "?pair=BTCUSDT/SOLUSDT&tf=5m&foo=1"
    assert parse_view(settings, query_values(search)).pair.legs == ("BTCUSDT", "SOLUSDT")


def test_csv_guard_prefixes_text_only() -> None:
    frame = pd.DataFrame({"rule": ["=SUM(A1)", "@x", "ok", "\tx"], "z": [-1.5, 2.0, -3.25, 0.0]})
    text = to_safe_csv(frame)
    assert text.splitlines() == ["rule,z", "'=SUM(A1),-1.5", "'@x,2.0", "ok,-3.25", "'\tx,0.0"]
    assert guard_cell(-2.0) == -2.0 and guard_cell("+1") == "'+1"


def test_a_line_break_inside_a_cell_can_neither_start_a_record_nor_a_formula() -> None:
    """The red-team bypass: ``bye\r=cmd|' /C calc'!A0`` in a feed's close reason."""
    evil = "closed by server (1000 bye\r=cmd|' /C calc'!A0)"
    frame = pd.DataFrame(
        {"reason": [evil, "\r@SUM(1+1)", "a\r\nb", 'say "hi", then -1'], "rate": [1.0] * 4}
    )
    text = to_safe_csv(frame)
    records = list(csv.reader(io.StringIO(text, newline="")))
    assert records[0] == ["reason", "rate"] and len(records) == 5  # one record per row
    cells = [record[0] for record in records[1:]]
    assert cells[0] == "closed by server (1000 bye\r'=cmd|' /C calc'!A0)"
    assert cells[1] == "'\r'@SUM(1+1)" and cells[2] == "a\r\nb"
    assert cells[3] == 'say "hi", then -1'
    for cell in cells:  # no line of any cell starts a formula
        assert not any(line.startswith(("=", "+", "-", "@")) for line in cell.splitlines())


@pytest.mark.parametrize(
    ("row", "light"),
    [
        ({"connected": True, "last_trade_ms": 99_000, "updated_ms": 99_500}, "green"),
        ({"connected": True, "last_trade_ms": 80_000, "updated_ms": 99_500}, "orange"),
        ({"connected": False, "reconnects": 3, "updated_ms": 99_500}, "orange"),
        ({"connected": False, "link_state": "reconnecting", "updated_ms": 99_500}, "orange"),
        ({"connected": False, "reason": "planned reconnect", "updated_ms": 99_500}, "red"),
        ({"connected": False, "reconnects": 0, "updated_ms": 99_500, "reason": "403"}, "red"),
        ({"connected": True, "last_trade_ms": 99_000, "updated_ms": 80_000}, "red"),
        (None, "red"),
    ],
)
def test_status_light_rules(row: dict | None, light: str) -> None:
    assert classify(row, "BTCUSDT", now_ms=100_000).light == light


def test_downsample_keeps_budget_and_extremes() -> None:
    x = np.arange(50_000, dtype=np.int64)
    y = np.sin(x / 500.0)
    y[12_345] = 50.0
    y[:10] = np.nan
    keep = keep_indices(x, y, 2000)
    assert len(keep) == 2000 and 12_345 in keep and keep.min() >= 10


def test_zscore_figure_bands_markers_and_budget() -> None:
    ts = np.arange(1_717_200_000, 1_717_200_000 + 10_000)
    z = np.sin(np.arange(10_000) / 50.0) * 3
    alerts = pd.DataFrame(
        {
            "direction": ["UP", "DOWN", "UP"],
            "ts_ms": [ts[5] * 1000, ts[9] * 1000, (ts[0] - 60) * 1000],
            "z": [2.5, -2.6, 3.1],
            "rule": ["z2", "z2", "z2"],
        }
    )
    fig = figures.zscore_figure(ts, z, 2.5, alerts, "Asia/Kolkata", max_points=500)
    assert len(fig.data[0].x) == 500
    assert sorted(s.y0 for s in fig.layout.shapes) == [-2.5, 2.5]
    assert [t.name for t in fig.data[1:]] == ["alert UP", "alert DOWN"]
    # Wall clock in Kolkata is UTC + 5:30.
    assert fig.data[1].x[0] == (ts[5] + 19_800) * 1000
    # Markers sit on the charted z of their bar; one before the chart keeps the rule's z.
    assert list(fig.data[1].y) == pytest.approx([z[5], 3.1])
    assert list(fig.data[2].y) == pytest.approx([z[9]])
    assert "rule z2: z=2.50" in fig.data[1].text[0]
    assert fig.layout.xaxis.title.text == "time (Asia/Kolkata)"


def test_prices_figure_dual_axis_and_rebased() -> None:
    legs = {
        s: pd.DataFrame({"ts_s": [0, 1, 2], "close": [p, p * 1.1, p * 1.2], "volume": 1.0})
        for s, p in (("BTCUSDT", 60000.0), ("ETHUSDT", 3000.0))
    }
    dual = figures.prices_figure(legs, "UTC", normalise=False, max_points=100)
    assert [t.yaxis for t in dual.data] == ["y", "y2"]
    rebased = figures.prices_figure(legs, "UTC", normalise=True, max_points=100)
    assert list(rebased.data[1].y) == pytest.approx([100.0, 110.0, 120.0])


def test_placeholder_says_why() -> None:
    fig = figures.placeholder("No data yet for X")
    assert fig.layout.annotations[0].text == "No data yet for X"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-3, "0 s"),
        (41, "41 s"),
        (59.4, "59 s"),
        (259, "4 min"),  # 41 of 300 one-second bars
        (3599, "60 min"),
        (3600, "1 h"),
        (100_000, "28 h"),
        (2 * 86_400, "2 d"),
        (300 * 300, "25 h"),  # a 300-bar window of 5m bars
    ],
)
def test_approx_duration_picks_a_readable_unit(seconds: float, text: str) -> None:
    assert approx_duration(seconds) == text


def test_refresh_guard_skips_busy_key() -> None:
    guard = RefreshGuard()
    with guard.slot(("s", "p"), wait=False) as first:
        with guard.slot(("s", "p"), wait=False) as second:
            assert (first, second) == (True, False)
        with guard.slot(("s", "other"), wait=False) as third:
            assert third is True
    assert not guard.busy(("s", "p"))


def test_every_notice_code_has_words() -> None:
    """A state added without a sentence would be a KeyError on the page that meets it."""
    facts = {
        "stopped_s": 12,
        "ws_url": "wss://x",
        "error": "boom",
        "retry_in_s": 3.0,
        "simulated": False,
        "symbol": "BTCUSDT",
        "from_id": 1,
        "to_id": 2,
        "base": "BTCUSDT",
        "hedge": "ETHUSDT",
        "cannot_connect": False,
        "reason": "why",
        "found": 1,
        "warmup": Warmup(3, 10, "1m"),
        "tf": "5m",
    }
    texts = {code: notice_text(Notice(code, "info", facts)) for code in NoticeCode}
    assert all(text and "{" not in text for text in texts.values())
    assert texts[NoticeCode.WARMING_UP] == "warming up: 3 of 10 bars (about 7 min at 1m)"
    assert len(set(texts.values())) == len(NoticeCode)
