"""The 404 page: shown for any path no page registered."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html, register_page

register_page(__name__, path="/404", name="Not found", title="pairwatch · not found")


def layout(**_query: str) -> html.Div:
    return html.Div(
        [
            dbc.Alert("This page does not exist.", color="warning", id="notfound-message"),
            dcc.Link("Back to the overview", href="/"),
        ]
    )
