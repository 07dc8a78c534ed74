"""Alerts page: alert history in a sortable, filterable grid, the rule states, CSV export.

The rules table shows each rule's state exactly as the alert worker stored it; nothing is
replayed here, so the page and the server cannot disagree.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, register_page

from analytics.vocabulary import DIRECTIONS, RELATIONSHIP_EVENTS
from dashboard import components, grids
from dashboard.context import services
from dashboard.csvsafe import to_safe_csv
from dashboard.data import alert_log
from dashboard.data.alert_log import RuleState, RuleStatus
from dashboard.data.notices import Notice, NoticeCode
from dashboard.ids import ALERTS, SHELL
from dashboard.pagekit import REFRESH_INPUTS, current_view, zone_of
from dashboard.refresh import refresh_slot
from dashboard.timefmt import format_time

register_page(__name__, path="/alerts", name="Alerts", order=4, title="pairwatch · alerts")

COLUMNS = (
    "time",
    "pair",
    "rule",
    "kind",
    "direction",
    "z",
    "eg_p",
    "spread",
    "beta",
    "state",
    "ts_ms",
)
ALERT_DIRECTIONS = (*DIRECTIONS, *RELATIONSHIP_EVENTS)
NUMERIC = ("z", "eg_p", "spread", "beta", "ts_ms")
ALL = "all"
BADGE_COLORS = {
    RuleStatus.ARMED: "success",
    RuleStatus.TRIGGERED: "danger",
    RuleStatus.HOLDING: "success",
    RuleStatus.BROKEN: "danger",
    RuleStatus.WAITING: "secondary",
}


def layout(**_query: str) -> html.Div:
    pairs = [{"label": "all pairs", "value": ALL}] + [
        {"label": p.name, "value": p.name} for p in services().settings.pairs
    ]
    filters = dbc.Row(
        [
            dbc.Col(
                components.labelled(
                    "Pair", dcc.Dropdown(id=ALERTS.pair, options=pairs, value=ALL, clearable=False)
                ),
                md=3,
            ),
            dbc.Col(
                components.labelled(
                    "Direction",
                    dcc.Dropdown(
                        id=ALERTS.direction,
                        value=ALL,
                        clearable=False,
                        options=[{"label": v, "value": v} for v in (ALL, *ALERT_DIRECTIONS)],
                    ),
                ),
                md=2,
            ),
            dbc.Col(components.labelled("Dates", dcc.DatePickerRange(id=ALERTS.dates)), md=4),
            dbc.Col(
                dbc.Button(
                    "Download CSV", id=ALERTS.download_btn, color="secondary", class_name="mt-4"
                ),
                md=3,
            ),
        ]
    )
    return html.Div(
        [
            components.page_header("Alerts", "fired by the ingestor, stored in the database"),
            html.Div(id=ALERTS.notices),
            html.H6("Rules"),
            html.Div(id=ALERTS.rules, className="mb-3"),
            filters,
            grids.grid(ALERTS.grid, COLUMNS, NUMERIC, times=("time", "ts_ms")),
            dcc.Download(id=ALERTS.download),
        ]
    )


def _bound_ms(day: str | None, zone: str, end: bool) -> int | None:
    """Start or end of ``day`` (``YYYY-MM-DD…`` from the date picker) in ``zone``, epoch ms;
    None for no date or one that is not a date (the filter is then open on that side)."""
    try:
        picked = date.fromisoformat(day[:10]) if day else None
    except ValueError:
        return None
    if picked is None:
        return None
    moment = datetime.combine(picked, time.max if end else time.min, tzinfo=ZoneInfo(zone))
    return int(moment.timestamp() * 1000)


def history(
    pair: str | None, direction: str | None, start: str | None, end: str | None, zone: str
) -> pd.DataFrame:
    """Filtered alerts with a display-time column, newest first."""
    frame = alert_log.alerts(
        services(),
        pair=next((p.name for p in services().settings.pairs if p.name == pair), None),
        direction=next((d for d in ALERT_DIRECTIONS if d == direction), None),
        start_ms=_bound_ms(start, zone, end=False),
        end_ms=_bound_ms(end, zone, end=True),
        limit=5000,
    )
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    return grids.with_times(frame, {"time": "ts_ms"}, zone)[list(COLUMNS)]


def state_label(state: RuleState) -> str:
    """Badge text: the stored state, with the direction that triggered it."""
    if state.state == RuleStatus.TRIGGERED:
        return f"triggered {state.last_direction}" if state.last_direction else "triggered"
    return "waiting for first bar" if state.state == RuleStatus.WAITING else str(state.state)


def threshold(state: RuleState) -> str:
    """``±2 / 0.5`` for a z rule, ``p > 0.05`` for a relationship rule."""
    if state.kind == "relationship":
        return f"p > {state.max_p:g}"
    return f"±{state.entry_z:g} / {state.exit_z:g}"


def last_value(state: RuleState) -> str:
    if state.kind == "relationship":
        return components.number(state.last_p, "p {:.3f}")
    return components.number(state.last_z, "{:+.2f}")


def rules_table(states: list[RuleState], zone: str) -> dbc.Table | dbc.Alert:
    if not states:
        return dbc.Alert("No alert rules configured (alerts.rules in config.yaml).", color="info")
    header = html.Thead(
        html.Tr(
            [
                html.Th(h)
                for h in (
                    "pair",
                    "rule",
                    "threshold",
                    "direction",
                    "tf",
                    "state",
                    "last direction",
                    "z or p at last bar",
                    "last bar",
                    "last alert",
                )
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(s.pair),
                    html.Td(s.name),
                    html.Td(threshold(s)),
                    html.Td(s.direction if s.kind == "z" else "BROKEN / RESTORED"),
                    html.Td(s.timeframe),
                    html.Td(dbc.Badge(state_label(s), color=BADGE_COLORS[s.state])),
                    html.Td(s.last_direction or "—"),
                    html.Td(last_value(s)),
                    html.Td(format_time(s.last_eval_ts, zone)),
                    html.Td(format_time(s.last_alert_ts, zone)),
                ]
            )
            for s in states
        ]
    )
    return dbc.Table([header, body], size="sm", striped=True, id=f"{ALERTS.rules}-table")


@callback(
    Output(ALERTS.grid, "rowData"),
    Output(ALERTS.rules, "children"),
    Output(ALERTS.notices, "children"),
    Input(ALERTS.pair, "value"),
    Input(ALERTS.direction, "value"),
    Input(ALERTS.dates, "start_date"),
    Input(ALERTS.dates, "end_date"),
    *REFRESH_INPUTS,
)
def refresh(  # noqa: PLR0917 - Dash passes callback arguments positionally
    pair: str | None,
    direction: str | None,
    start: str | None,
    end: str | None,
    _tick: int | None,
    _clicks: int | None,
    search: str | None,
    session: str | None,
) -> tuple:
    with refresh_slot("alerts", session, SHELL.tick):
        zone = zone_of(current_view(search))
        frame = history(pair, direction, start, end, zone)
        notices = [] if not frame.empty else [Notice(NoticeCode.NO_MATCHING_ALERTS, "info")]
        return (
            frame.to_dict("records"),
            rules_table(alert_log.rule_states(services()), zone),
            components.notice_alerts(notices),
        )


@callback(
    Output(ALERTS.download, "data"),
    Input(ALERTS.download_btn, "n_clicks"),
    State(ALERTS.pair, "value"),
    State(ALERTS.direction, "value"),
    State(ALERTS.dates, "start_date"),
    State(ALERTS.dates, "end_date"),
    State(SHELL.url, "search"),
    prevent_initial_call=True,
)
def download(
    _clicks: int | None,
    pair: str | None,
    direction: str | None,
    start: str | None,
    end: str | None,
    search: str | None,
) -> dict:
    frame = history(pair, direction, start, end, zone_of(current_view(search)))
    return dcc.send_string(to_safe_csv(frame), "pairwatch-alerts.csv", type="text/csv")
