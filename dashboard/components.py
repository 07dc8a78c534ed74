"""Reusable layout pieces shared by the pages: notices, graphs, sliders, stat tables, numbers.

Owns how a degraded state looks (a ``dbc.Alert`` per ``Notice``, a labelled progress bar per
``Warmup``), how a graph is configured (no Plotly logo or cloud button, responsive height), the
lookback slider (an index over ``LOOKBACK_MINUTES`` with readable marks), the mark price and
funding line of a perpetual leg, and number formatting with ``—`` for unknown values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from dashboard.data.feed import PerpQuote
from dashboard.data.notices import Notice, Warmup
from dashboard.figures import GRAPH_CONFIG
from dashboard.params import LOOKBACK_MINUTES
from dashboard.timefmt import format_time
from dashboard.wording import notice_text, warmup_text


def notice_alerts(notices: Sequence[Notice]) -> list[dbc.Alert]:
    """One alert per notice, in order (an empty list when all is well)."""
    return [dbc.Alert(notice_text(n), color=n.level, class_name="py-2 mb-2") for n in notices]


def warmup_progress(warmup: Warmup | None) -> list[Component]:
    """The warm-up text over a progress bar of bars present / needed (nothing once ready)."""
    if warmup is None:
        return []
    return [
        html.Div(warmup_text(warmup), className="small text-body-secondary mb-1"),
        dbc.Progress(
            value=warmup.bars,
            max=warmup.needed,
            striped=True,
            animated=True,
            style={"height": "0.5rem"},
            class_name="mb-3",
        ),
    ]


def perp_line(quote: PerpQuote, zone: str) -> html.Div:
    """``usdm:BTCUSDT mark 60,000.50 · funding −0.0120 % · next funding 08:00:00 IST``."""
    funding = f"{quote.funding_rate * 100:+.4f} %".replace("-", "−")
    when = format_time(quote.next_funding_ms / 1000, zone)
    return html.Div(
        f"{quote.symbol} mark {quote.mark_price:,.2f} · funding {funding} · next funding {when}",
        className="small text-body-secondary mb-2",
    )


def graph(component_id: str, height: str = "38vh") -> dcc.Graph:
    return dcc.Graph(
        id=component_id, config=GRAPH_CONFIG, responsive=True, style={"height": height}
    )


def _minutes_label(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h" if minutes < 1440 else f"{minutes // 1440}d"


def lookback_index(minutes: int) -> int:
    """Index of the slider mark closest to ``minutes``."""
    return min(range(len(LOOKBACK_MINUTES)), key=lambda i: abs(LOOKBACK_MINUTES[i] - minutes))


def lookback_slider(component_id: str, minutes: int) -> html.Div:
    marks = {i: _minutes_label(m) for i, m in enumerate(LOOKBACK_MINUTES)}
    return labelled(
        "Lookback",
        dcc.Slider(
            id=component_id,
            min=0,
            max=len(LOOKBACK_MINUTES) - 1,
            step=1,
            marks=marks,
            value=lookback_index(minutes),
            allow_direct_input=False,
        ),
    )


def labelled(label: str, control: Component) -> html.Div:
    return html.Div(
        [dbc.Label(label, class_name="small text-body-secondary mb-1"), control], className="mb-3"
    )


def number(value: float | None, pattern: str = "{:,.4f}") -> str:
    """Format ``value`` or show ``—`` when it is unknown."""
    return "—" if value is None else pattern.format(value)


EG_GOOD, EG_FAIR = 0.05, 0.10
"""Engle-Granger p below which a pair is shown cointegrated (green) or borderline (orange)."""
EG_HINT = (
    "Engle-Granger p of the last window: the test for cointegration. Green < 0.05, "
    "orange < 0.10, red otherwise."
)
ADF_HINT = (
    "ADF of the fitted spread. It uses Dickey-Fuller tables on a residual whose β was fitted "
    "to make it look stationary, so it finds cointegration too often; trust EG p."
)


def eg_colour(p: float | None) -> str:
    """Bootstrap colour of an Engle-Granger p-value: success, warning, danger (secondary: none)."""
    if p is None:
        return "secondary"
    return "success" if p < EG_GOOD else "warning" if p < EG_FAIR else "danger"


def eg_value(p: float | None) -> html.Span:
    """The EG p-value, coloured by :func:`eg_colour`."""
    return html.Span(number(p, "{:.3f}"), className=f"text-{eg_colour(p)} fw-bold")


_DOTTED = {"textDecorationStyle": "dotted", "cursor": "help"}


def hinted(label: str, hint: str) -> html.Span:
    """A label that explains itself on hover."""
    return html.Span(label, title=hint, className="text-decoration-underline", style=_DOTTED)


StatRow = tuple[str | html.Span, str | html.Span]
"""A label and its value in a stats table (either may be a hinted or coloured span)."""


def stats_table(rows: Sequence[StatRow], component_id: str | None = None) -> dbc.Table:
    body = [
        html.Tr(
            [
                html.Th(label, className="fw-normal text-body-secondary"),
                html.Td(value, className="text-end font-monospace"),
            ]
        )
        for label, value in rows
    ]
    extra = {"id": component_id} if component_id else {}
    return dbc.Table(html.Tbody(body), size="sm", class_name="mb-0", **extra)


def page_header(title: str, subtitle: str = "", subtitle_id: str | None = None) -> html.Div:
    """Page title with a muted subtitle (give it an id when a callback keeps it current)."""
    extra: dict[str, Any] = {"id": subtitle_id} if subtitle_id else {}
    return html.Div(
        [
            html.H4(title, className="mb-0"),
            html.Small(subtitle, className="text-body-secondary", **extra),
        ],
        className="mb-3",
    )
