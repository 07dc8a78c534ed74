"""The app shell around every page: navbar, shared controls, status lights and the one Interval.

Owns the view state shared across pages — pair, timeframe and the UTC toggle — which lives in
the URL query of the single ``dcc.Location`` (``refresh=False``: writing it neither reloads nor
re-routes). ``sync_view`` is the only callback that both reads and writes that state, so there
is no cross-callback cycle: a URL (typed, pasted or navigated to) sets the controls, and a
control change rewrites the URL; page controls add their own keys the same way. Also here: nav
links that carry the shared query, the refresh-interval selector, pause/resume and the
collapse toggle (clientside, no server round trip), the per-symbol status lights, the SIMULATED
badge and the last-update time.
"""

from __future__ import annotations

import uuid
from typing import Any, cast

import dash
import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, dcc, html, no_update
from dash.exceptions import MissingCallbackContextException

from analytics.vocabulary import TIMEFRAMES
from dashboard.context import services
from dashboard.data.feed import feed_overview
from dashboard.ids import SHELL
from dashboard.params import merge_query, pair_choices, parse_view, query_values
from dashboard.timefmt import display_zone, format_time
from ingest.settings import Settings
from ingest.storage import StorageError

SHARED_KEYS = ("pair", "tf", "utc")
REFRESH_CHOICES_S = (1, 2, 3, 5, 10)
LIGHT_CLASS = {"green": "text-bg-success", "orange": "text-bg-warning", "red": "text-bg-danger"}


def _nav_links() -> list[dbc.NavItem]:
    pages = sorted(
        (p for p in dash.page_registry.values() if not p["module"].endswith("not_found_404")),
        key=lambda p: p.get("order") or 0,
    )
    return [
        dbc.NavItem(
            dbc.NavLink(
                page["name"],
                href=page["path"],
                active="exact",
                id={"type": SHELL.nav_link, "path": page["path"]},
            )
        )
        for page in pages
    ]


def _controls(settings: Settings) -> list[Any]:
    default = parse_view(settings, {})
    refresh_ms = settings.dashboard.refresh_ms
    choices = sorted({s * 1000 for s in REFRESH_CHOICES_S} | {refresh_ms})
    return [
        dcc.Dropdown(
            id=SHELL.pair,
            clearable=False,
            value=default.pair.name,
            style={"width": "10rem"},
            options=[{"label": p.name, "value": p.name} for p in pair_choices(settings)],
        ),
        dbc.RadioItems(
            id=SHELL.timeframe,
            value=default.tf,
            inline=True,
            options=[{"label": tf, "value": tf} for tf in TIMEFRAMES],
            class_name="btn-group",
            input_class_name="btn-check",
            label_class_name="btn btn-outline-secondary btn-sm",
            label_checked_class_name="active",
        ),
        dcc.Dropdown(
            id=SHELL.refresh_s,
            clearable=False,
            value=refresh_ms,
            style={"width": "5.5rem"},
            options=[{"label": f"{ms / 1000:g} s", "value": ms} for ms in choices],
        ),
        dbc.Button("Pause", id=SHELL.pause, size="sm", color="secondary", outline=True),
        dbc.Button("Refresh", id=SHELL.refresh_now, size="sm", color="primary", outline=True),
        dbc.Switch(id=SHELL.utc, label="UTC", value=False, class_name="mb-0"),
    ]


def layout_factory(settings: Settings) -> Any:
    """The shell layout as a function, so each page load gets its own session id."""

    def layout() -> html.Div:
        navbar = dbc.Navbar(
            dbc.Container(
                [
                    dbc.NavbarBrand("pairwatch", href="/"),
                    html.Span(
                        "SIMULATED",
                        id=SHELL.simulated,
                        className="badge text-bg-warning me-2",
                        title="Data comes from the built-in simulator, not Binance",
                        style={"display": "inline-block" if settings.feed.simulated else "none"},
                    ),
                    dbc.NavbarToggler(id=SHELL.nav_toggle),
                    dbc.Collapse(
                        [
                            dbc.Nav(_nav_links(), navbar=True, class_name="me-auto"),
                            html.Div(
                                _controls(settings),
                                className="d-flex flex-wrap align-items-center gap-2",
                            ),
                        ],
                        id=SHELL.nav_collapse,
                        navbar=True,
                        is_open=False,
                    ),
                ],
                fluid=True,
            ),
            id=SHELL.navbar,
            color="dark",
            dark=True,
            class_name="mb-2 py-1",
        )
        status = html.Div(
            [
                html.Div(id=SHELL.status, className="d-flex flex-wrap gap-1"),
                html.Small(id=SHELL.last_update, className="text-body-secondary ms-auto"),
            ],
            className="d-flex align-items-center px-3 mb-2",
        )
        return html.Div(
            [
                dcc.Location(id=SHELL.url, refresh=False),
                dcc.Store(id=SHELL.session, data=uuid.uuid4().hex),
                dcc.Interval(id=SHELL.tick, interval=settings.dashboard.refresh_ms),
                navbar,
                status,
                dbc.Container(dash.page_container, fluid=True, class_name="pb-4"),
            ]
        )

    return layout


def _url_triggered() -> bool:
    try:
        trigger = dash.ctx.triggered_id
    except MissingCallbackContextException:
        return True
    return trigger in (None, SHELL.url)


def sync_view(search: str | None, pair: str | None, tf: str | None, utc: bool | None) -> tuple:
    """URL → shared controls when the URL changed; shared controls → URL otherwise."""
    settings = services().settings
    if _url_triggered():
        view = parse_view(settings, query_values(search))
        wanted = (view.pair.name, view.tf, view.utc)
        current = (pair, tf, bool(utc))
        return (
            no_update,
            *(w if w != c else no_update for w, c in zip(wanted, current, strict=True)),
        )
    view = parse_view(settings, {"pair": pair or "", "tf": tf or "", "utc": "1" if utc else "0"})
    updated = merge_query(search, view.query_items(SHARED_KEYS))
    return (updated if updated != search else no_update, no_update, no_update, no_update)


def nav_hrefs(search: str | None, ids: list[dict[str, str]]) -> list[str]:
    """Nav links keep the shared part of the query (pair, tf, utc) across pages."""
    values = query_values(search)
    shared = {k: values[k] for k in SHARED_KEYS if k in values}
    suffix = merge_query("", shared) if shared else ""
    return [f"{item['path']}{suffix}" for item in ids]


def status_lights(_tick: int | None, _clicks: int | None, search: str | None) -> tuple:
    """Per-symbol lights with the reason on hover, the SIMULATED badge and the update time."""
    service = services()
    settings = service.settings
    zone = display_zone(settings.dashboard.timezone, parse_view(settings, query_values(search)).utc)
    stamp = f"updated {format_time(service.now_ms() / 1000, zone)}"
    try:
        feed = feed_overview(service)
    except StorageError as exc:  # no database yet: say so where the lights would be
        problem = html.Span(str(exc), id="pw-storage-error", className="badge text-bg-danger")
        return [problem], {"display": "none"}, stamp
    lights = [
        html.Span(
            light.symbol,
            id=f"pw-light-{light.symbol}",
            title=light.reason,
            className=f"badge {LIGHT_CLASS[light.light]}",
            **cast("dict[str, Any]", {"data-light": light.light}),  # data-* only as kwargs
        )
        for light in feed.lights
    ]
    badge = {"display": "inline-block" if feed.simulated else "none"}
    stamp += f" · last bar {format_time(feed.latest_bar_s, zone, with_date=False)}"
    return lights, badge, stamp


def register_callbacks(app: Dash) -> None:
    """Attach the shell callbacks to ``app`` (not the global registry: one app per process)."""
    app.callback(
        Output(SHELL.url, "search"),
        Output(SHELL.pair, "value"),
        Output(SHELL.timeframe, "value"),
        Output(SHELL.utc, "value"),
        Input(SHELL.url, "search"),
        Input(SHELL.pair, "value"),
        Input(SHELL.timeframe, "value"),
        Input(SHELL.utc, "value"),
    )(sync_view)
    app.callback(
        Output({"type": SHELL.nav_link, "path": ALL}, "href"),
        Input(SHELL.url, "search"),
        State({"type": SHELL.nav_link, "path": ALL}, "id"),
    )(nav_hrefs)
    app.callback(
        Output(SHELL.status, "children"),
        Output(SHELL.simulated, "style"),
        Output(SHELL.last_update, "children"),
        Input(SHELL.tick, "n_intervals"),
        Input(SHELL.refresh_now, "n_clicks"),
        Input(SHELL.url, "search"),
    )(status_lights)
    app.clientside_callback(
        """(clicks, disabled) => {
            const skip = window.dash_clientside.no_update;
            if (!clicks) { return [skip, skip]; }
            const paused = !disabled;
            return [paused, paused ? "Resume" : "Pause"];
        }""",
        Output(SHELL.tick, "disabled"),
        Output(SHELL.pause, "children"),
        Input(SHELL.pause, "n_clicks"),
        State(SHELL.tick, "disabled"),
    )
    app.clientside_callback(
        "(ms) => ms || window.dash_clientside.no_update",
        Output(SHELL.tick, "interval"),
        Input(SHELL.refresh_s, "value"),
    )
    app.clientside_callback(
        "(clicks, open) => clicks ? !open : open",
        Output(SHELL.nav_collapse, "is_open"),
        Input(SHELL.nav_toggle, "n_clicks"),
        State(SHELL.nav_collapse, "is_open"),
    )
