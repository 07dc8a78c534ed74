"""Prices page: both legs on two y-axes or rebased to 100, traded volume, lookback slider,
and for a perpetual leg its mark price, funding rate and next funding time."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Output, callback, html, register_page

from dashboard import components, figures
from dashboard.context import services
from dashboard.data import feed, windows
from dashboard.errors import QueryError
from dashboard.ids import PRICES, SHELL
from dashboard.pagekit import (
    REFRESH_INPUTS,
    current_view,
    lookback_minutes,
    max_points,
    register_subtitle,
    register_url_writer,
    shared_render,
    zone_of,
)
from dashboard.params import View, parse_bool, query_values
from dashboard.refresh import refresh_slot
from dashboard.wording import headline

register_page(__name__, path="/prices", name="Prices", order=1, title="pairwatch · prices")


def _normalised(query: dict[str, str]) -> bool:
    try:
        return parse_bool("norm", query.get("norm", "0"))
    except QueryError:
        return False


def layout(**query: str) -> html.Div:
    view = current_view(query)
    controls = dbc.Row(
        [
            dbc.Col(components.lookback_slider(PRICES.lookback, view.lookback), md=8),
            dbc.Col(
                components.labelled(
                    "View",
                    dbc.RadioItems(
                        id=PRICES.normalise,
                        inline=True,
                        value="1" if _normalised(query) else "0",
                        options=[
                            {"label": "dual axis", "value": "0"},
                            {"label": "rebased to 100", "value": "1"},
                        ],
                    ),
                ),
                md=4,
            ),
        ]
    )
    return html.Div(
        [
            components.page_header("Prices", subtitle(view), PRICES.subtitle),
            controls,
            html.Div(id=PRICES.notices),
            components.graph(PRICES.chart, "45vh"),
            components.graph(PRICES.volume, "25vh"),
        ]
    )


def subtitle(view: View) -> str:
    return f"{view.pair.base} and {view.pair.hedge}"


register_subtitle(PRICES.subtitle, subtitle)
register_url_writer(
    {
        "lookback": (PRICES.lookback, lookback_minutes),
        "norm": (PRICES.normalise, str),
    }
)


@shared_render
def render(view: View, normalise: bool) -> tuple:
    window = windows.pair_window(services(), view)
    notices: list = components.notice_alerts(window.notices)
    notices += [
        components.perp_line(quote, zone_of(view))
        for quote in feed.perp_quotes(services(), window.view.pair.legs)
    ]
    if all(frame.empty for frame in window.legs.values()):
        empty = figures.placeholder(headline(window.notices, "No data"))
        return empty, empty, notices
    zone, points = zone_of(view), max_points()
    prices = figures.prices_figure(window.legs, zone, normalise=normalise, max_points=points)
    volume = figures.volume_figure(window.legs, zone, max_points=points)
    return prices, volume, notices


@callback(
    Output(PRICES.chart, "figure"),
    Output(PRICES.volume, "figure"),
    Output(PRICES.notices, "children"),
    *REFRESH_INPUTS,
)
def refresh(
    _tick: int | None, _clicks: int | None, search: str | None, session: str | None
) -> tuple:
    with refresh_slot("prices", session, SHELL.tick):
        return render(current_view(search), _normalised(query_values(search)))
