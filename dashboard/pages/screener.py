"""Screener page: every pair of the streamed symbols ranked by Engle-Granger p, best first.

The default timeframe and window open the ranking the ingestor stored after the last bar close
(nothing is computed); another window is computed once per closed bar and shared. Each row
links to the spread page of that pair (its configured name when one exists, else the ad-hoc
``BASE/HEDGE``); selecting a row shows the ``config.yaml`` lines that watch it with a z alert,
since the configuration file, not the dashboard, decides what the ingestor streams and alerts.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, dcc, html, register_page

from analytics.screener import MIN_SCREEN_BARS
from dashboard import components, grids
from dashboard.context import services
from dashboard.csvsafe import to_safe_csv
from dashboard.data import screen
from dashboard.data.notices import Notice, NoticeCode
from dashboard.data.screen import MAX_SCREENER_WINDOW, SCREENER_TIMEFRAMES
from dashboard.errors import QueryError
from dashboard.ids import SCREENER, SHELL
from dashboard.pagekit import REFRESH_INPUTS, current_view, zone_of
from dashboard.params import ADHOC_SEPARATOR
from dashboard.refresh import refresh_slot
from dashboard.timefmt import format_time
from ingest.settings import Settings
from ingest.storage import SCREEN_FIELDS

register_page(__name__, path="/screener", name="Screener", order=6, title="pairwatch · screener")

NUMERIC = ("eg_p", "eg_stat", "beta", "half_life", "hurst", "corr", "z", "bars")
COLUMNS = ("rank", "pair", *SCREEN_FIELDS)
ROW_ID = (  # the unordered pair, so a row keeps its id (and selection) when its orientation flips
    "params.data.base < params.data.hedge ? params.data.base + '/' + params.data.hedge"
    " : params.data.hedge + '/' + params.data.base"
)


def layout(**_query: str) -> html.Div:
    settings = services().settings.screener
    controls = dbc.Row(
        [
            dbc.Col(
                components.labelled(
                    "Timeframe",
                    dcc.Dropdown(
                        id=SCREENER.tf,
                        options=[{"label": tf, "value": tf} for tf in SCREENER_TIMEFRAMES],
                        value=settings.timeframes[0] if settings.timeframes else "1m",
                        clearable=False,
                    ),
                ),
                md=2,
            ),
            dbc.Col(
                components.labelled(
                    "Window (bars)",
                    dbc.Input(
                        id=SCREENER.window,
                        type="number",
                        min=MIN_SCREEN_BARS,
                        max=MAX_SCREENER_WINDOW,
                        step=1,
                        value=settings.window,
                        debounce=True,
                    ),
                ),
                md=2,
            ),
            dbc.Col(html.Div(id=SCREENER.as_of, className="small mt-4 pt-2"), md=5),
            dbc.Col(
                dbc.Button(
                    "Download CSV", id=SCREENER.download_btn, color="secondary", class_name="mt-4"
                ),
                md=3,
            ),
        ]
    )
    return html.Div(
        [
            components.page_header(
                "Screener", "every pair of the streamed symbols, by Engle-Granger p (lowest first)"
            ),
            controls,
            html.Div(id=SCREENER.notices),
            grids.grid(
                SCREENER.grid,
                COLUMNS,
                NUMERIC,
                markdown=("pair",),
                selectable=True,
                row_id=ROW_ID,
            ),
            html.Div(id=SCREENER.watch, className="mt-3"),
            dcc.Download(id=SCREENER.download),
        ]
    )


def spread_link(settings: Settings, base: str, hedge: str, tf: str) -> str:
    """The spread page of ``base``/``hedge``: the configured pair's name, else ad hoc."""
    configured = next((p.name for p in settings.pairs if (p.base, p.hedge) == (base, hedge)), None)
    name = configured or f"{base}{ADHOC_SEPARATOR}{hedge}"
    return f"/spread?{urlencode({'pair': name, 'tf': tf})}"


def table(ranking: screen.Ranking, settings: Settings) -> pd.DataFrame:
    """The ranked rows with a rank and a markdown link to the pair's spread page."""
    frame = pd.DataFrame(list(ranking.pairs), columns=list(SCREEN_FIELDS))
    if frame.empty:
        return pd.DataFrame(columns=list(COLUMNS))
    frame.insert(0, "rank", range(1, len(frame) + 1))
    links = [
        f"[{b} / {h}]({spread_link(settings, b, h, ranking.tf)})"
        for b, h in zip(frame["base"], frame["hedge"], strict=True)
    ]
    frame.insert(1, "pair", links)
    return frame


def _window(raw: Any, default: int) -> int:
    """A window from the number box: out-of-range or empty falls back to the default."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return default
    return value if MIN_SCREEN_BARS <= value <= MAX_SCREENER_WINDOW else default


@callback(
    Output(SCREENER.grid, "rowData"),
    Output(SCREENER.as_of, "children"),
    Output(SCREENER.notices, "children"),
    Input(SCREENER.tf, "value"),
    Input(SCREENER.window, "value"),
    *REFRESH_INPUTS,
)
def refresh(
    tf: str | None,
    window: Any,
    _tick: int | None,
    _clicks: int | None,
    search: str | None,
    session: str | None,
) -> tuple:
    with refresh_slot("screener", session, SHELL.tick):
        settings = services().settings
        chosen = next((t for t in SCREENER_TIMEFRAMES if t == tf), SCREENER_TIMEFRAMES[0])
        try:
            ranking = screen.ranking(services(), chosen, _window(window, settings.screener.window))
        except QueryError as exc:  # over the read budget: say so, show nothing stale
            over = Notice(NoticeCode.OVER_BUDGET, "warning", {"reason": exc.message})
            return [], "", components.notice_alerts([over])
        frame = table(ranking, settings)
        empty = Notice(NoticeCode.NO_RANKING, "info", {"tf": chosen})
        notices = components.notice_alerts([empty] if frame.empty else [])
        as_of = (
            ""
            if ranking.as_of_s is None
            else f"as of the {chosen} bar of "
            f"{format_time(ranking.as_of_s, zone_of(current_view(search)))} · "
            + ("stored by the ingestor" if ranking.source == "stored" else "computed on request")
        )
        return frame.to_dict("records"), as_of, notices


@callback(
    Output(SCREENER.watch, "children"),
    Input(SCREENER.grid, "selectedRows"),
    State(SCREENER.tf, "value"),
    prevent_initial_call=True,
)
def watch(selected: list[dict[str, Any]] | None, tf: str | None) -> Any:
    """The config lines that watch the selected pair with a z alert on its timeframe."""
    if not selected:
        return None
    row = selected[0]
    base, hedge = str(row["base"]), str(row["hedge"])
    settings = services().settings
    if any((p.base, p.hedge) == (base, hedge) for p in settings.pairs):
        return dbc.Alert(f"{base}/{hedge} is already a configured pair.", color="secondary")
    name = f"{base}-{hedge}"[:40]
    snippet = (
        "pairs:\n"
        f"  - {{name: {name}, base: {base}, hedge: {hedge}}}\n"
        "alerts:\n"
        "  rules:\n"
        f"    - {{name: z2, pair: {name}, entry_z: 2.0, exit_z: 0.5, "
        f"timeframe: {tf or '1m'}, window: 60}}\n"
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H6(f"Watch {base}/{hedge}", className="card-title"),
                html.P(
                    "Add these lines to config.yaml (merge with the existing pairs and alert "
                    "rules), then restart the product; the ingestor streams and alerts from the "
                    "configuration file.",
                    className="small text-body-secondary",
                ),
                html.Pre(snippet, id=f"{SCREENER.watch}-yaml", className="mb-2"),
                dcc.Clipboard(target_id=f"{SCREENER.watch}-yaml", title="copy"),
            ]
        )
    )


@callback(
    Output(SCREENER.download, "data"),
    Input(SCREENER.download_btn, "n_clicks"),
    State(SCREENER.tf, "value"),
    State(SCREENER.window, "value"),
    prevent_initial_call=True,
)
def download(_clicks: int | None, tf: str | None, window: Any) -> dict:
    settings = services().settings
    chosen = next((t for t in SCREENER_TIMEFRAMES if t == tf), SCREENER_TIMEFRAMES[0])
    ranking = screen.ranking(services(), chosen, _window(window, settings.screener.window))
    frame = pd.DataFrame(list(ranking.pairs), columns=list(SCREEN_FIELDS))
    name = f"pairwatch-screener-{chosen}-{ranking.window}.csv"
    return dcc.send_string(to_safe_csv(frame), name, type="text/csv")
