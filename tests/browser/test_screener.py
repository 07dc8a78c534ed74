"""The /screener page in a real browser: ranked rows, sorting, click-through, watch snippet.

The session's product streams three symbols (BTCUSDT, SOLUSDT, ETHUSDT), so the screener ranks
three pairs. The simulator serves a generated past as klines and the ingestor's history loader
stores it, so 1m bars exist long before the live tape has 20 minutes of its own. Each test waits
(never sleeps) until ``GET /api/v1/screener`` ranks every pair at the page's minimum window of
20 bars, then opens the page with that window typed into its window box. The ranking is
recomputed on every closed 1m bar, so row order and orientation may change between two reads;
every check reads the grid once (one DOM pass) and compares within that read.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser import require_browser

require_browser()

from playwright.sync_api import Page, expect  # noqa: E402

from tests.browser.support import Product, assert_no_dash_error, dropdown_text  # noqa: E402
from tests.conftest import wait_until  # noqa: E402

pytestmark = pytest.mark.browser
PAIR_COUNT = 3  # three streamed symbols: one row per unordered pair
WINDOW = 20  # the page's minimum window (MIN_SCREEN_BARS)
CONFIGURED = {("BTCUSDT", "ETHUSDT"): "BTC-ETH", ("SOLUSDT", "ETHUSDT"): "SOL-ETH"}
ROWS = "#screener-grid .ag-center-cols-container .ag-row"
READ_ROWS = """(rows) => Array.from(document.querySelectorAll(rows))
    .sort((a, b) => Number(a.getAttribute('row-index')) - Number(b.getAttribute('row-index')))
    .map(r => {
        const cells = {};
        r.querySelectorAll('[col-id]').forEach(c => {
            cells[c.getAttribute('col-id')] = c.innerText.trim();
        });
        const link = r.querySelector('[col-id="pair"] a');
        cells.href = link ? link.getAttribute('href') : null;
        return cells;
    })"""


def wait_for_ranking(product: Product) -> list[dict[str, Any]]:
    """The API's 1m ranking at WINDOW, once every pair has WINDOW common bars."""
    found: list[list[dict[str, Any]]] = [[]]

    def ready() -> bool:
        found[0] = product.get_json(f"/api/v1/screener?tf=1m&window={WINDOW}")["pairs"]
        return len(found[0]) == PAIR_COUNT and all(p["bars"] >= WINDOW for p in found[0])

    wait_until(ready, 60, f"a 1m screener ranking of {PAIR_COUNT} pairs at window {WINDOW}")
    return found[0]


def open_screener(page: Page, product: Product) -> None:
    """Open /screener, type WINDOW into its window box and wait for every ranked row."""
    wait_for_ranking(product)
    page.goto(product.url + "/screener")
    box = page.locator("#screener-window")
    box.fill(str(WINDOW))
    box.blur()
    expect(page.locator(ROWS)).to_have_count(PAIR_COUNT)
    # the default window's rows may come first; wait for the ranking over WINDOW bars
    expect(page.locator(f"{ROWS} [col-id='bars']")).to_have_text([str(WINDOW)] * PAIR_COUNT)
    expect(page.locator("#screener-as-of")).to_contain_text("as of the 1m bar")


def rows(page: Page) -> list[dict[str, str]]:
    """Every displayed row in display order: cell texts by column id, plus the link's href."""
    return page.evaluate(READ_ROWS, ROWS)


def number(text: str) -> float:
    """A grid number as displayed (d3 format: thousands commas, U+2212 minus)."""
    return float(text.replace(",", "").replace("\u2212", "-"))


def pair_name(base: str, hedge: str) -> str:
    """The pair the spread page is opened with: the configured name, else ad hoc BASE/HEDGE."""
    return CONFIGURED.get((base, hedge), f"{base}/{hedge}")


def test_screener_ranks_every_pair_by_eg_p(page, console, product, shots) -> None:
    open_screener(page, product)
    assert_no_dash_error(page)
    expect(page.locator("#screener-notices")).to_be_empty()
    shown = rows(page)
    assert [r["rank"] for r in shown] == ["1", "2", "3"], shown
    pvalues = [number(r["eg_p"]) for r in shown]
    assert pvalues == sorted(pvalues), shown
    assert all(int(r["bars"]) == WINDOW for r in shown), shown
    unordered = {frozenset((r["base"], r["hedge"])) for r in shown}
    assert unordered == {
        frozenset(p)
        for p in (("BTCUSDT", "ETHUSDT"), ("SOLUSDT", "ETHUSDT"), ("BTCUSDT", "SOLUSDT"))
    }, shown
    for row in shown:
        assert row["pair"] == f"{row['base']} / {row['hedge']}", row
        query = parse_qs(urlparse(row["href"]).query)
        assert query == {"pair": [pair_name(row["base"], row["hedge"])], "tf": ["1m"]}, row
    shots(page, "screener")
    console.assert_clean()


def test_screener_sorts_by_a_column_header(page, console, product) -> None:
    open_screener(page, product)
    header = page.locator('#screener-grid .ag-header-cell[col-id="eg_p"]')
    header.click()  # ascending: the server's order
    expect(header).to_have_attribute("aria-sort", "ascending")
    header.click()
    expect(header).to_have_attribute("aria-sort", "descending")
    shown = rows(page)
    pvalues = [number(r["eg_p"]) for r in shown]
    assert pvalues == sorted(pvalues, reverse=True), shown
    assert [r["rank"] for r in shown] == ["3", "2", "1"], shown  # rank is the ascending order
    assert_no_dash_error(page)
    console.assert_clean()


def test_pair_link_opens_its_spread_page(page, console, product) -> None:
    open_screener(page, product)
    links: dict[tuple[str, str], dict[str, str]] = {}
    for shown in rows(page):
        query = parse_qs(urlparse(shown["href"]).query)
        links[(query["pair"][0], query["tf"][0])] = shown
    page.locator(f"{ROWS}[row-index='0'] [col-id='pair'] a").click()
    page.wait_for_url(re.compile(r"/spread\?"))
    query = parse_qs(urlparse(page.url).query)  # the shell may add the view's other parameters
    pair = query["pair"][0]
    assert (pair, query["tf"][0]) in links, (page.url, list(links))
    row = links[(pair, "1m")]
    expect(page.locator("#spread-stats")).to_contain_text("Half-life")
    expect(page.locator("#spread-banner")).to_contain_text(re.compile(r"^z = [+−-]\d|^ALERT"))
    expect(page.locator("#spread-subtitle")).to_contain_text(row["base"])
    assert dropdown_text(page, "pw-pair") == pair
    assert_no_dash_error(page)
    console.assert_clean()


def test_selecting_a_row_shows_its_config_snippet(page, console, product) -> None:
    open_screener(page, product)
    # BTCUSDT/SOLUSDT is configured in neither orientation, so it stays ad hoc when it flips
    row = page.locator(ROWS).filter(
        has=page.locator(
            "[col-id='pair']", has_text=re.compile("BTCUSDT / SOLUSDT|SOLUSDT / BTCUSDT")
        )
    )
    checkbox = row.get_by_role("checkbox")  # rowSelection singleRow: one checkbox per row
    checkbox.check()
    expect(checkbox).to_be_checked()
    snippet = page.locator("#screener-watch-yaml")
    expect(snippet).to_contain_text(re.compile(r"\{name: (\w+)-(\w+), base: \1, hedge: \2\}"))
    text = snippet.inner_text()
    legs = re.search(r"base: (\w+), hedge: (\w+)", text)
    assert legs is not None, text
    base, hedge = legs.groups()
    assert {base, hedge} == {"BTCUSDT", "SOLUSDT"}, text
    assert re.search(r"pair: " + f"{base}-{hedge}" + r", entry_z: .*timeframe: 1m", text), text
    expect(page.locator("#screener-watch")).to_contain_text(f"Watch {base}/{hedge}")

    # refreshes (one per shell tick) update rows in place: same elements, selection kept
    page.evaluate("(rows) => { window.pwLink = document.querySelector(rows + ' a'); }", ROWS)
    for _ in range(2):
        before = page.locator("#pw-last-update").inner_text()
        expect(page.locator("#pw-last-update")).not_to_have_text(before)
    assert page.evaluate("() => window.pwLink.isConnected"), "a refresh rebuilt the grid's rows"
    expect(checkbox).to_be_checked()
    expect(snippet).to_contain_text(f"base: {base}, hedge: {hedge}")
    assert_no_dash_error(page)
    console.assert_clean()
