"""Correlation page: rolling correlation of the pair's log returns and the all-symbol heatmap.

The rolling correlation needs only its own window (``corr_window + 1`` bars), not the hedge
window: until then a progress bar of bars present / needed stands in for the chart.
"""

from __future__ import annotations

import functools

import dash_bootstrap_components as dbc
import numpy as np
from dash import Output, callback, dcc, html, register_page

from dashboard import budget, components, figures
from dashboard.context import services
from dashboard.data import pairs, windows
from dashboard.ids import CORRELATION, SHELL
from dashboard.pagekit import (
    REFRESH_INPUTS,
    as_text,
    current_view,
    lookback_minutes,
    max_points,
    register_url_writer,
    shared_render,
    zone_of,
)
from dashboard.params import View
from dashboard.refresh import refresh_slot
from dashboard.wording import headline

register_page(
    __name__, path="/correlation", name="Correlation", order=3, title="pairwatch · correlation"
)


def layout(**query: str) -> html.Div:
    view = current_view(query)
    controls = dbc.Row(
        [
            dbc.Col(
                components.labelled(
                    "Correlation window (bars)",
                    dcc.Slider(
                        id=CORRELATION.window,
                        min=5,
                        max=1000,
                        step=5,
                        value=min(max(view.corr_window, 5), 1000),
                        allow_direct_input=False,
                        marks={5: "5", 60: "60", 250: "250", 500: "500", 1000: "1000"},
                        tooltip={"always_visible": False, "placement": "bottom"},
                    ),
                ),
                md=6,
            ),
            dbc.Col(components.lookback_slider(CORRELATION.lookback, view.lookback), md=6),
        ]
    )
    return html.Div(
        [
            components.page_header("Correlation", "Pearson correlation of 1-bar log returns"),
            controls,
            html.Div(id=CORRELATION.notices),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Div(id=CORRELATION.warmup),
                            html.Div(
                                components.graph(CORRELATION.chart, "45vh"),
                                id=CORRELATION.chart_box,
                            ),
                        ],
                        md=7,
                    ),
                    dbc.Col(components.graph(CORRELATION.heatmap, "45vh"), md=5),
                ]
            ),
        ]
    )


register_url_writer(
    {
        "corr_window": (CORRELATION.window, as_text),
        "lookback": (CORRELATION.lookback, lookback_minutes),
    }
)


def work(view: View) -> budget.Work:
    """The pair's window and the heatmap of every symbol over ``corr_window``."""
    symbols = len(services().settings.symbols)
    return budget.pair_work(view) + budget.heatmap_work(symbols, view.tf, view.corr_window)


@functools.partial(shared_render, work=work)
def render(view: View) -> tuple:
    result = pairs.pair_result(services(), view, with_health=False)
    notices = list(result.notices)
    matrix, matrix_notices = windows.correlation_matrix(services(), view.tf, view.corr_window)
    notices += [n for n in matrix_notices if n not in notices]
    if np.isfinite(result.corr).any():
        chart = figures.correlation_figure(
            result.ts, result.corr, view.corr_window, zone_of(view), max_points=max_points()
        )
    else:
        chart = figures.placeholder(headline(notices, "No correlation yet"))
    heatmap = (
        figures.heatmap_figure(matrix)
        if not matrix.empty
        else figures.placeholder("No correlation matrix yet")
    )
    warming = result.corr_warmup is not None
    progress = components.warmup_progress(result.corr_warmup)
    return chart, heatmap, components.notice_alerts(notices), progress, warming


@callback(
    Output(CORRELATION.chart, "figure"),
    Output(CORRELATION.heatmap, "figure"),
    Output(CORRELATION.notices, "children"),
    Output(CORRELATION.warmup, "children"),
    Output(CORRELATION.chart_box, "hidden"),
    *REFRESH_INPUTS,
)
def refresh(
    _tick: int | None, _clicks: int | None, search: str | None, session: str | None
) -> tuple:
    with refresh_slot("correlation", session, SHELL.tick):
        return render(current_view(search))
