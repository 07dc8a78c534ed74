"""AG Grid tables in the dark theme, and the frames they show with times in the display zone.

Owns the grid configuration shared by the alerts and backtest pages (sortable, filterable,
resizable columns; the Theming API dark parameters, since AG Grid's CDN themes are not used)
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
NUMBER_FORMAT = {"function": "params.value == null ? '' : d3.format(',.4~f')(params.value)"}


def grid(component_id: str, columns: Sequence[str], numeric: Sequence[str] = ()) -> dag.AgGrid:
    column_defs = [
        {
            "field": name,
            "type": "rightAligned",
            "valueFormatter": NUMBER_FORMAT,
            "filter": "agNumberColumnFilter",
        }
        if name in numeric
        else {"field": name}
        for name in columns
    ]
    return dag.AgGrid(
        id=component_id,
        columnDefs=column_defs,
        rowData=[],
        defaultColDef={"sortable": True, "filter": True, "resizable": True, "flex": 1},
        dashGridOptions={"theme": DARK_THEME, "pagination": True, "paginationPageSize": 50},
        style={"height": "45vh"},
    )


def with_times(frame: pd.DataFrame, columns: dict[str, str], zone: str) -> pd.DataFrame:
    """``frame`` plus text columns ``{new: epoch-ms column}`` in ``zone``, new ones first."""
    shown = frame.copy()
    for new, source in columns.items():
        shown[new] = format_series(shown[source], zone) if not shown.empty else pd.Series(dtype=str)
    return shown[list(columns) + [c for c in frame.columns if c not in columns]]
