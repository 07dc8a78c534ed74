"""AG Grid tables in the dark theme, and the frames they show with times in the display zone.

Owns the grid configuration shared by the alerts, backtest and screener pages (sortable, filterable,
resizable columns; formatted right-aligned numbers; time columns wide enough to read; the
Theming API dark parameters, since AG Grid's CDN themes are not used)
and the conversion of epoch columns into zone-formatted text columns for display and CSV.
"""

from __future__ import annotations

from collections.abc import Sequence

import dash_ag_grid as dag
import pandas as pd

from dashboard.timefmt import format_series

DARK_THEME = {
    "function": "themeQuartz.withParams({backgroundColor: '#222222', foregroundColor: '#ffffff',"
    " headerBackgroundColor: '#303030', accentColor: '#00bc8c', browserColorScheme: 'dark'})"
}
NUMBER_FORMAT = {
    "function": "params.value == null ? '' : (params.value != 0 && params.value < 1e-4 && "
    "params.value > -1e-4) ? d3.format('.2~e')(params.value) : d3.format(',.4~f')(params.value)"
}
"""Four decimals; magnitudes below 1e-4 (a tiny p-value) in scientific notation, never as 0."""


TIME_MIN_WIDTH = 205  # px: "2024-06-01 21:00:03 IST" (or an epoch in ms) without an ellipsis


def _column(name: str, numeric: bool, wide: bool, markdown: bool) -> dict[str, object]:
    column: dict[str, object] = {"field": name}
    if markdown:  # links rendered by AG Grid's markdown renderer (no raw HTML allowed)
        column |= {"cellRenderer": "markdown", "linkTarget": "_self", "minWidth": 190}
    if numeric:
        column |= {
            "type": "rightAligned",
            "valueFormatter": NUMBER_FORMAT,
            "filter": "agNumberColumnFilter",
        }
    if wide:
        column["minWidth"] = TIME_MIN_WIDTH
    return column


def grid(
    component_id: str,
    columns: Sequence[str],
    numeric: Sequence[str] = (),
    times: Sequence[str] = (),
    markdown: Sequence[str] = (),
    *,
    selectable: bool = False,
    row_id: str | None = None,
) -> dag.AgGrid:
    """A dark grid; ``numeric`` columns right-aligned and formatted, ``times`` kept readable,
    ``markdown`` columns rendered as links; ``selectable``: one row can be selected;
    ``row_id``: AG Grid ``getRowId`` expression, so a refresh updates rows in place (without
    it every new ``rowData`` rebuilds every row: a click can land on a vanishing link and the
    selection is dropped)."""
    column_defs = [
        _column(name, name in numeric, name in times, name in markdown) for name in columns
    ]
    options: dict[str, object] = {"theme": DARK_THEME, "pagination": True, "paginationPageSize": 50}
    if selectable:
        options["rowSelection"] = {"mode": "singleRow"}
    return dag.AgGrid(
        id=component_id,
        columnDefs=column_defs,
        rowData=[],
        defaultColDef={
            "sortable": True,
            "filter": True,
            "resizable": True,
            "flex": 1,
            "minWidth": 80,
        },
        dashGridOptions=options,
        style={"height": "45vh"},
        **({"getRowId": row_id} if row_id else {}),
    )


def with_times(frame: pd.DataFrame, columns: dict[str, str], zone: str) -> pd.DataFrame:
    """``frame`` plus text columns ``{new: epoch-ms column}`` in ``zone``, new ones first."""
    shown = frame.copy()
    for new, source in columns.items():
        shown[new] = format_series(shown[source], zone) if not shown.empty else pd.Series(dtype=str)
    return shown[list(columns) + [c for c in frame.columns if c not in columns]]
