"""Spread & z-score page: hedge method, windows and threshold, live alert banner, two charts, stats.

The data callback reads the view from the URL, asks ``services`` for the pair's analytics and
hands the arrays to the figure builders; the controls only write the URL. Every value drawn is
what a live observer saw at its bar (``compute_pair`` is causal), so stored alert markers sit
on the line beyond the threshold. The banner turns red with the direction while |z| is beyond
the threshold and stays neutral with the current z otherwise. Cointegration health (EG p,
coloured, and its rolling line under the z chart) describes the last hedge window. While the
window holds fewer bars than the z-score needs, a progress bar of bars present / needed stands
in for the charts.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Output, callback, dcc, html, register_page

from analytics.vocabulary import HEDGE_METHODS
from dashboard import components, figures
from dashboard.context import services
from dashboard.data import pairs
from dashboard.data.pairs import PairResult
from dashboard.ids import SHELL, SPREAD
from dashboard.pagekit import (
    REFRESH_INPUTS,
    as_text,
    current_view,
    lookback_minutes,
    max_points,
    register_subtitle,
    register_url_writer,
    shared_render,
    zone_of,
)
from dashboard.params import View
from dashboard.refresh import refresh_slot
from dashboard.wording import headline

register_page(__name__, path="/spread", name="Spread & z", order=2, title="pairwatch · spread")


def layout(**query: str) -> html.Div:
    view = current_view(query)
    controls = dbc.Card(
        dbc.CardBody(
            [
                components.labelled(
                    "Hedge method",
                    dcc.Dropdown(
                        id=SPREAD.method,
                        value=view.method,
                        clearable=False,
                        options=[{"label": m, "value": m} for m in HEDGE_METHODS],
                    ),
                ),
                components.lookback_slider(SPREAD.lookback, view.lookback),
                components.labelled(
                    "Hedge window (bars)",
                    dbc.Input(
                        id=SPREAD.window,
                        type="number",
                        min=10,
                        max=100_000,
                        step=1,
                        value=view.window,
                        debounce=True,
                    ),
                ),
                components.labelled(
                    "Z window (bars)",
                    dcc.Slider(
                        id=SPREAD.z_window,
                        min=5,
                        max=1000,
                        step=5,
                        value=min(max(view.z_window, 5), 1000),
                        marks={5: "5", 250: "250", 500: "500", 1000: "1000"},
                        allow_direct_input=False,
                        tooltip={"always_visible": False, "placement": "bottom"},
                    ),
                ),
                components.labelled(
                    "Z threshold",
                    dcc.Slider(
                        id=SPREAD.threshold,
                        min=0.5,
                        max=5.0,
                        step=0.1,
                        value=min(max(view.z, 0.5), 5.0),
                        marks={0.5: "0.5", 2.0: "2", 3.0: "3", 5.0: "5"},
                        allow_direct_input=False,
                        tooltip={"always_visible": False, "placement": "bottom"},
                    ),
                ),
                html.Div(id=SPREAD.stats),
            ]
        )
    )
    charts = html.Div(
        [
            dbc.Alert("z —", id=SPREAD.banner, color="secondary", class_name="py-2 mb-2"),
            html.Div(id=SPREAD.notices),
            html.Div(id=SPREAD.warmup),
            html.Div(
                [
                    components.graph(SPREAD.chart, "30vh"),
                    components.graph(SPREAD.z_chart, "30vh"),
                    components.graph(SPREAD.eg_chart, "16vh"),
                ],
                id=SPREAD.charts,
            ),
        ]
    )
    return html.Div(
        [
            components.page_header("Spread & z-score", subtitle(view), SPREAD.subtitle),
            dbc.Row([dbc.Col(controls, md=3), dbc.Col(charts, md=9)]),
        ]
    )


def subtitle(view: View) -> str:
    return f"{view.pair.base} − β·{view.pair.hedge}"


register_subtitle(SPREAD.subtitle, subtitle)
register_url_writer(
    {
        "method": (SPREAD.method, str),
        "lookback": (SPREAD.lookback, lookback_minutes),
        "window": (SPREAD.window, as_text),
        "z_window": (SPREAD.z_window, as_text),
        "z": (SPREAD.threshold, as_text),
    }
)


def banner(z: float | None, threshold: float) -> tuple[str, str]:
    """Banner text and colour: red with the direction beyond the threshold, neutral otherwise."""
    if z is None:
        return "z — (not enough data)", "secondary"
    if z > threshold:
        return (
            f"ALERT UP: z = {z:+.2f} > +{threshold:.1f} (spread rich: short the spread)",
            "danger",
        )
    if z < -threshold:
        return (
            f"ALERT DOWN: z = {z:+.2f} < −{threshold:.1f} (spread cheap: buy the spread)",
            "danger",
        )
    return f"z = {z:+.2f} (threshold ±{threshold:.1f})", "secondary"


def stats_rows(result: PairResult) -> list[components.StatRow]:
    latest = result.analytics.latest if result.analytics else None

    def value(name: str) -> float | None:
        return getattr(latest, name) if latest else None

    hl, trace, critical = value("half_life"), value("johansen_trace"), value("johansen_cv95")
    johansen = "—" if trace is None or critical is None else f"{trace:.1f} / {critical:.1f}"
    return [
        ("β", components.number(value("beta"), "{:.4f}")),
        ("α", components.number(value("alpha"), "{:,.4f}")),
        ("R²", components.number(value("r2"), "{:.3f}")),
        (components.hinted("EG p", components.EG_HINT), components.eg_value(value("eg_p"))),
        (
            components.hinted("ADF of spread p", components.ADF_HINT),
            components.number(value("adf_p"), "{:.4f}"),
        ),
        (
            components.hinted(
                "Johansen trace / 95 %", "cointegrated at 5 % when the trace exceeds 95 %"
            ),
            johansen,
        ),
        ("Half-life", "—" if hl is None else f"{hl:.1f} bars"),
        ("Hurst", components.number(value("hurst"), "{:.3f}")),
        ("Corr", components.number(result.last_corr, "{:.3f}")),
        ("Bars", str(len(result.ts))),
    ]


@shared_render
def render(view: View) -> tuple[Any, ...]:
    """Everything the page shows for ``view`` (a plain function: tests call it directly)."""
    result = pairs.pair_result(services(), view)
    notices = components.notice_alerts(result.notices)
    stats = components.stats_table(stats_rows(result))
    warming = result.warmup is not None
    progress = components.warmup_progress(result.warmup)
    if result.analytics is None:
        message = headline(result.notices, "No data")
        empty = figures.placeholder(message)
        text, color = ("z — (warming up)", "secondary") if warming else banner(None, view.z)
        return text, color, empty, empty, empty, stats, notices, progress, warming
    zone, points = zone_of(view), max_points()
    title = "Kalman prediction error" if view.method == "kalman" else "Spread"
    spread = figures.spread_figure(
        result.ts, result.analytics.spread, zone, max_points=points, title=title
    )
    zfig = figures.zscore_figure(
        result.ts, result.analytics.z, view.z, result.alerts, zone, max_points=points
    )
    egfig = figures.eg_figure(result.ts, result.analytics.eg_p, view.window, zone)
    text, color = banner(result.analytics.latest.z, view.z)
    return text, color, spread, zfig, egfig, stats, notices, progress, warming


@callback(
    Output(SPREAD.banner, "children"),
    Output(SPREAD.banner, "color"),
    Output(SPREAD.chart, "figure"),
    Output(SPREAD.z_chart, "figure"),
    Output(SPREAD.eg_chart, "figure"),
    Output(SPREAD.stats, "children"),
    Output(SPREAD.notices, "children"),
    Output(SPREAD.warmup, "children"),
    Output(SPREAD.charts, "hidden"),
    *REFRESH_INPUTS,
)
def refresh(
    _tick: int | None, _clicks: int | None, search: str | None, session: str | None
) -> tuple:
    with refresh_slot("spread", session, SHELL.tick):
        return render(current_view(search))
