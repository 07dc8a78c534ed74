"""Overview page: one card per configured pair and the correlation heatmap of all symbols.

Each card shows both legs' last prices, β, z, correlation, Engle-Granger p (coloured by
cointegration health), half-life, the number of the
pair's alert rules currently beyond their entry threshold and the data completeness, and links
to the spread page of that pair. While the z-score warms up a card shows a progress bar of bars
present / needed (prices and correlation show as soon as they exist). A notice shown above the
cards (the state of the feed, say) is not repeated in every card.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from dataclasses import replace

import dash_bootstrap_components as dbc
from dash import Output, callback, dcc, html, register_page

from dashboard import budget, components, figures
from dashboard.context import services
from dashboard.data import feed, pairs, windows
from dashboard.data.notices import Notice
from dashboard.data.pairs import PairResult
from dashboard.ids import OVERVIEW, SHELL
from dashboard.pagekit import REFRESH_INPUTS, current_view, shared_render
from dashboard.params import View, default_view, merge_query, pair_choices
from dashboard.refresh import refresh_slot
from dashboard.wording import headline, notice_text

register_page(__name__, path="/", name="Overview", order=0, title="pairwatch · overview")


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            components.page_header("Overview", "configured pairs; click a card for its spread"),
            html.Div(id=OVERVIEW.notices),
            dbc.Row(id=OVERVIEW.cards, class_name="g-3 mb-3"),
            components.graph(OVERVIEW.heatmap, "42vh"),
        ]
    )


def open_alerts(pair: str, z: float | None) -> int:
    """Rules of ``pair`` whose entry threshold the current z is beyond (respecting direction)."""
    if z is None:
        return 0
    rules = [r for r in services().settings.alerts.rules if r.pair == pair]
    return sum(
        (z > r.entry_z and r.direction in ("UP", "both"))
        or (z < -r.entry_z and r.direction in ("DOWN", "both"))
        for r in rules
    )


def card(result: PairResult, view: View, shown: Collection[Notice]) -> dbc.Col:
    """The card of ``view.pair``, leaving out notices already ``shown`` above the cards."""
    pair = view.pair
    latest = result.analytics.latest if result.analytics else None
    legs = result.window.legs
    price = {s: (float(f["close"].iloc[-1]) if not f.empty else None) for s, f in legs.items()}
    completeness = feed.completeness(services(), pair.legs)
    z = latest.z if latest else None
    alerts = open_alerts(pair.name, z)
    rows: list[components.StatRow] = [
        (pair.base, components.number(price[pair.base], "{:,.6g}")),
        (pair.hedge, components.number(price[pair.hedge], "{:,.6g}")),
        ("β", components.number(latest.beta if latest else None, "{:.4f}")),
        ("z", components.number(z, "{:+.2f}")),
        ("corr", components.number(result.last_corr, "{:.3f}")),
        (
            components.hinted("EG p", components.EG_HINT),
            components.eg_value(latest.eg_p if latest else None),
        ),
        ("half-life", components.number(latest.half_life if latest else None, "{:.1f} bars")),
        ("open alerts", str(alerts)),
        ("completeness", components.number(completeness, "{:.2%}")),
    ]
    header = dbc.CardHeader(
        [
            html.Strong(pair.name),
            dbc.Badge(
                "ALERT" if alerts else "ok",
                color="danger" if alerts else "secondary",
                class_name="ms-2",
            ),
        ]
    )
    body = dbc.CardBody(
        [components.stats_table(rows), *components.warmup_progress(result.warmup)]
        + [
            html.Small(notice_text(n), className="text-warning d-block")
            for n in result.notices
            if n not in shown
        ]
    )
    href = "/spread" + merge_query("", view.query_items(("pair", "tf", "utc")))
    link = dcc.Link(
        dbc.Card([header, body], class_name="h-100"),
        href=href,
        id=f"{OVERVIEW.card_prefix}{pair.name}",
        className="text-reset text-decoration-none",
    )
    return dbc.Col(link, xs=12, md=6, xl=4)


def card_views(shared: View) -> list[View]:
    """The view of each configured pair's card: its defaults at the shared timeframe."""
    settings = services().settings
    return [
        replace(default_view(settings, pair), tf=shared.tf, utc=shared.utc, lookback=1)
        for pair in pair_choices(settings)
        if pair.configured
    ]


def work(shared: View) -> budget.Work:
    """Every card's pair window and the heatmap of every symbol."""
    settings = services().settings
    heatmap = budget.heatmap_work(len(settings.symbols), shared.tf, settings.analytics.corr_window)
    return sum((budget.pair_work(view) for view in card_views(shared)), heatmap)


@functools.partial(shared_render, work=work)
def render(shared: View) -> tuple:
    settings = services().settings
    matrix, notices = windows.correlation_matrix(
        services(), shared.tf, settings.analytics.corr_window
    )
    views = card_views(shared)
    cards = [card(pairs.pair_result(services(), view), view, notices) for view in views]
    heatmap = (
        figures.heatmap_figure(matrix)
        if not matrix.empty
        else figures.placeholder(headline(notices, "No data"))
    )
    return cards, heatmap, components.notice_alerts(notices)


@callback(
    Output(OVERVIEW.cards, "children"),
    Output(OVERVIEW.heatmap, "figure"),
    Output(OVERVIEW.notices, "children"),
    *REFRESH_INPUTS,
)
def refresh(
    _tick: int | None, _clicks: int | None, search: str | None, session: str | None
) -> tuple:
    with refresh_slot("overview", session, SHELL.tick):
        return render(current_view(search))
