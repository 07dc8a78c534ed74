"""Backtest page: the z-score rule as a β-hedged trade, run on demand over the current window.

Entry/exit thresholds, fees, slippage, fill timing and lookback are read when "Run" is pressed
(and once on page load); the pair, timeframe, hedge method and windows come from the URL like
every page. Orders fill at the next bar's close by default; same-bar fills are offered but are
labelled optimistic. The Sharpe ratio is from daily P&L and shows "—" with the reason when the
run covers fewer than two days.
"""

from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, register_page

from dashboard import components, figures, grids
from dashboard.budget import pair_work
from dashboard.context import services
from dashboard.csvsafe import to_safe_csv
from dashboard.data import pairs
from dashboard.data.pairs import BacktestOutcome
from dashboard.ids import BACKTEST, SHELL
from dashboard.pagekit import (
    as_text,
    current_view,
    lookback_minutes,
    max_points,
    register_subtitle,
    register_url_writer,
    shared_render,
    zone_of,
)
from dashboard.params import View, merge_query
from dashboard.wording import headline

register_page(__name__, path="/backtest", name="Backtest", order=5, title="pairwatch · backtest")

TRADE_COLUMNS = ("entry", "exit", "side", "entry_z", "exit_z", "beta", "pnl", "fees", "reason")
NUMERIC = ("entry_z", "exit_z", "beta", "pnl", "fees")
NOTIONAL = 10_000.0
FILL_LABELS = {"next": "next bar close", "same": "same bar close (optimistic)"}
FILL_OPTIONS = [
    {"label": f"{text} (default)" if fill == "next" else text, "value": fill}
    for fill, text in FILL_LABELS.items()
]


def _number_input(
    component_id: str, value: float, low: float, high: float, step: float
) -> dbc.Input:
    return dbc.Input(id=component_id, type="number", value=value, min=low, max=high, step=step)


def layout(**query: str) -> html.Div:
    view = current_view(query)
    controls = dbc.Card(
        dbc.CardBody(
            [
                components.labelled(
                    "Entry |z|", _number_input(BACKTEST.entry, view.entry, 0.1, 10, 0.1)
                ),
                components.labelled(
                    "Exit |z|", _number_input(BACKTEST.exit, view.exit, 0.0, 10, 0.1)
                ),
                components.labelled(
                    "Fees (bps per leg and fill)",
                    _number_input(BACKTEST.fees, view.fee_bps, 0, 1000, 0.5),
                ),
                components.labelled(
                    "Slippage (bps per leg and fill)",
                    _number_input(BACKTEST.slippage, view.slippage_bps, 0, 1000, 0.5),
                ),
                components.labelled(
                    "Fill",
                    dcc.Dropdown(
                        id=BACKTEST.fill,
                        options=[
                            {
                                "label": f"{text} (default)" if value == "next" else text,
                                "value": value,
                            }
                            for value, text in FILL_LABELS.items()
                        ],
                        value=view.fill,
                        clearable=False,
                        searchable=False,
                    ),
                ),
                components.lookback_slider(BACKTEST.lookback, view.lookback),
                dbc.Button(
                    "Run backtest", id=BACKTEST.run, color="primary", class_name="w-100 mb-2"
                ),
                dbc.Button(
                    "Download trades CSV",
                    id=BACKTEST.download_btn,
                    color="secondary",
                    outline=True,
                    class_name="w-100 mb-3",
                ),
                html.Div(id=BACKTEST.stats),
                dcc.Download(id=BACKTEST.download),
            ]
        )
    )
    results = html.Div(
        [
            html.Div(id=BACKTEST.notices),
            components.graph(BACKTEST.equity, "30vh"),
            components.graph(BACKTEST.drawdown, "22vh"),
            grids.grid(BACKTEST.trades, TRADE_COLUMNS, NUMERIC, times=("entry", "exit")),
        ]
    )
    return html.Div(
        [
            components.page_header("Backtest", subtitle(view), BACKTEST.subtitle),
            dbc.Row([dbc.Col(controls, md=3), dbc.Col(results, md=9)]),
        ]
    )


def subtitle(view: View) -> str:
    return (
        f"{view.pair.name}: z-score mean reversion, {view.method} hedge, notional {NOTIONAL:,.0f}"
    )


register_subtitle(BACKTEST.subtitle, subtitle)
register_url_writer(
    {
        "entry": (BACKTEST.entry, as_text),
        "exit": (BACKTEST.exit, as_text),
        "fee_bps": (BACKTEST.fees, as_text),
        "slippage_bps": (BACKTEST.slippage, as_text),
        "fill": (BACKTEST.fill, as_text),
        "lookback": (BACKTEST.lookback, lookback_minutes),
    }
)


def view_with(*form: Any) -> View:
    """The URL's view with the form values applied (invalid ones fall back).

    ``form`` holds the values of :data:`FORM` in its order: entry, exit, fees, slippage, fill,
    lookback, and the URL query last.
    """
    entry, exit_, fees, slippage, fill, lookback, search = form
    values = {
        "entry": entry,
        "exit": exit_,
        "fee_bps": fees,
        "slippage_bps": slippage,
        "fill": fill,
        "lookback": lookback_minutes(lookback),
    }
    return current_view(
        merge_query(search, {k: as_text(v) for k, v in values.items() if v is not None})
    )


def trades_frame(outcome: BacktestOutcome, zone: str) -> pd.DataFrame:
    if outcome.result is None or outcome.result.trades.empty:
        return pd.DataFrame(columns=list(TRADE_COLUMNS))
    trades = outcome.result.trades.copy()
    trades["entry_ms"] = trades["entry_ts"] * 1000
    trades["exit_ms"] = trades["exit_ts"] * 1000
    shown = grids.with_times(trades, {"entry": "entry_ms", "exit": "exit_ms"}, zone)
    return shown[list(TRADE_COLUMNS)]


def stats_rows(outcome: BacktestOutcome) -> list[tuple[str, str]]:
    r = outcome.result
    return [
        ("Total return", components.number(r.total_return if r else None, "{:+.2%}")),
        ("Sharpe (daily, ann.)", components.number(r.sharpe if r else None, "{:.2f}")),
        ("Max drawdown", components.number(r.max_drawdown if r else None, "{:.2%}")),
        ("Hit rate", components.number(r.hit_rate if r else None, "{:.0%}")),
        ("Trades", str(r.n_trades) if r else "—"),
        ("Fill", FILL_LABELS[r.fill] if r else "—"),
    ]


def stats_block(outcome: BacktestOutcome) -> html.Div:
    """The statistics table, with the reason under it when the Sharpe ratio is "—"."""
    reason = outcome.result.sharpe_reason if outcome.result else None
    children: list[Any] = [components.stats_table(stats_rows(outcome))]
    if reason:
        children.append(
            html.Small(
                f"Sharpe —: {reason}.",
                id=BACKTEST.sharpe_reason,
                className="d-block text-body-secondary mt-1",
                title="Sharpe is computed from daily P&L (UTC days), annualised with √365.",
            )
        )
    return html.Div(children)


@shared_render
def render(view: View) -> tuple:
    outcome = pairs.backtest(services(), view)
    zone = zone_of(view)
    notices = components.notice_alerts(outcome.notices)
    stats = stats_block(outcome)
    if outcome.result is None:
        message = headline(outcome.notices, "No data")
        empty = figures.placeholder(message)
        return empty, empty, [], stats, notices
    points = max_points()
    equity = figures.equity_figure(outcome.result.equity, zone, max_points=points)
    drawdown = figures.drawdown_figure(outcome.result.equity, NOTIONAL, zone, max_points=points)
    rows = trades_frame(outcome, zone).to_dict("records")
    return equity, drawdown, rows, stats, notices


FORM = (
    State(BACKTEST.entry, "value"),
    State(BACKTEST.exit, "value"),
    State(BACKTEST.fees, "value"),
    State(BACKTEST.slippage, "value"),
    State(BACKTEST.fill, "value"),
    State(BACKTEST.lookback, "value"),
    State(SHELL.url, "search"),
)
"""The form values a run or a download reads, in callback-argument order."""


@callback(
    Output(BACKTEST.equity, "figure"),
    Output(BACKTEST.drawdown, "figure"),
    Output(BACKTEST.trades, "rowData"),
    Output(BACKTEST.stats, "children"),
    Output(BACKTEST.notices, "children"),
    Input(BACKTEST.run, "n_clicks"),
    *FORM,
    running=[(Output(BACKTEST.run, "disabled"), True, False)],
)
def run(_clicks: int | None, *form: Any) -> tuple:
    return render(view_with(*form))


@callback(
    Output(BACKTEST.download, "data"),
    Input(BACKTEST.download_btn, "n_clicks"),
    *FORM,
    prevent_initial_call=True,
)
def download(_clicks: int | None, *form: Any) -> dict:
    view = view_with(*form)
    services().limiter.admit(pair_work(view).heavy)
    frame = trades_frame(pairs.backtest(services(), view), zone_of(view))
    return dcc.send_string(to_safe_csv(frame), "pairwatch-backtest-trades.csv", type="text/csv")
