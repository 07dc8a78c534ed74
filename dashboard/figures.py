"""Pure figure builders: arrays and frames in, ``go.Figure`` out, nothing read or stored.

Owns the look of every chart (a slim dark template matching the vendored Darkly theme, bright
trace colours, ``uirevision`` so zoom survives refreshes) and the point budget: every time
series is cut to ``max_points`` with MinMaxLTTB before it enters a trace. X values are wall-clock
milliseconds in the display zone on a date axis (numbers serialise compactly; Plotly has no
time-zone support), with the zone named in the axis title.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from dash import dcc

from analytics.backtest import drawdown
from dashboard.downsample import keep_indices
from dashboard.timefmt import wall_clock_ms

COLORS = ("#4fc3f7", "#ffb74d", "#81c784", "#f06292", "#ba68c8", "#fff176")
UP_COLOR, DOWN_COLOR, BAND_COLOR = "#ef5350", "#42a5f5", "#ffa726"
_AXIS = {"gridcolor": "#383838", "zerolinecolor": "#4a4a4a", "linecolor": "#4a4a4a"}
TEMPLATE = go.layout.Template(
    layout={
        "paper_bgcolor": "#222222",
        "plot_bgcolor": "#222222",
        "font": {"color": "#dee2e6", "size": 12},
        "colorway": list(COLORS),
        "xaxis": _AXIS,
        "yaxis": _AXIS,
        "hoverlabel": {"bgcolor": "#303030"},
        "legend": {"orientation": "h", "y": 1.08, "x": 0},
    }
)
GRAPH_CONFIG = dcc.Graph.Config(
    displaylogo=False, modeBarButtonsToRemove=["sendChartToCloud", "lasso2d"]
)


def _layout(title: str, zone: str | None, **extra: object) -> dict[str, object]:
    layout: dict[str, object] = {
        "template": TEMPLATE,
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "margin": {"l": 60, "r": 60, "t": 48, "b": 40},
        "hovermode": "x unified",
        "uirevision": title,
    }
    if zone is not None:
        layout["xaxis"] = {"type": "date", "title": {"text": f"time ({zone})"}}
    return layout | extra


def _points(
    ts_s: np.ndarray, y: np.ndarray, zone: str, max_points: int
) -> tuple[np.ndarray, np.ndarray]:
    values = np.asarray(y, dtype=np.float64)
    keep = keep_indices(np.asarray(ts_s, dtype=np.int64), values, max_points)
    return wall_clock_ms(np.asarray(ts_s)[keep], zone), values[keep]


def _hline(level: float, color: str, dash: str) -> dict[str, object]:
    """A full-width horizontal line (``add_hline`` costs ~9 ms per call; a dict does not)."""
    return {
        "type": "line",
        "xref": "paper",
        "x0": 0,
        "x1": 1,
        "yref": "y",
        "y0": level,
        "y1": level,
        "line": {"color": color, "width": 1, "dash": dash},
    }


def placeholder(message: str, title: str = "") -> go.Figure:
    """An empty chart that says why it is empty (never a blank white box)."""
    figure = go.Figure(layout=_layout(title, None))
    figure.update_layout(
        xaxis={"visible": False},
        yaxis={"visible": False},
        annotations=[{"text": message, "showarrow": False, "font": {"size": 14}}],
    )
    return figure


def prices_figure(
    legs: Mapping[str, pd.DataFrame], zone: str, *, normalise: bool, max_points: int
) -> go.Figure:
    """Both legs' closes: dual y-axes, or one axis rebased to 100 at each leg's first bar."""
    title = "Prices (rebased to 100)" if normalise else "Prices"
    figure = go.Figure(layout=_layout(title, zone))
    for index, (symbol, frame) in enumerate(legs.items()):
        if frame.empty:
            continue
        close = frame["close"].to_numpy(dtype=np.float64)
        y = close / close[0] * 100.0 if normalise else close
        x, y = _points(frame["ts_s"].to_numpy(), y, zone, max_points)
        axis = "y2" if index == 1 and not normalise else "y"
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                name=symbol,
                mode="lines",
                yaxis=axis,
                line={"color": COLORS[index], "width": 1.5},
            )
        )
    if not normalise:
        names = list(legs)
        figure.update_layout(
            yaxis={"title": {"text": names[0]}, "tickformat": ",.6~g"},
            yaxis2={
                "title": {"text": names[-1]},
                "overlaying": "y",
                "side": "right",
                "tickformat": ",.6~g",
                "showgrid": False,
            },
        )
    return figure


def volume_figure(legs: Mapping[str, pd.DataFrame], zone: str, *, max_points: int) -> go.Figure:
    """Traded volume per bar of each leg."""
    figure = go.Figure(layout=_layout("Volume per bar", zone, barmode="group", bargap=0.05))
    for index, (symbol, frame) in enumerate(legs.items()):
        if frame.empty:
            continue
        x, y = _points(frame["ts_s"].to_numpy(), frame["volume"].to_numpy(), zone, max_points)
        figure.add_trace(go.Bar(x=x, y=y, name=symbol, marker={"color": COLORS[index]}))
    return figure


def spread_figure(
    ts_s: np.ndarray, spread: np.ndarray, zone: str, *, max_points: int, title: str = "Spread"
) -> go.Figure:
    """The spread ``base - β·hedge - α`` (or the Kalman prediction error) over time."""
    figure = go.Figure(layout=_layout(title, zone))
    x, y = _points(ts_s, spread, zone, max_points)
    figure.add_trace(
        go.Scatter(x=x, y=y, name="spread", mode="lines", line={"color": COLORS[2], "width": 1.2})
    )
    figure.update_layout(shapes=[_hline(0.0, "#666666", "dot")])
    return figure


def zscore_figure(
    ts_s: np.ndarray,
    z: np.ndarray,
    threshold: float,
    alerts: pd.DataFrame,
    zone: str,
    *,
    max_points: int,
) -> go.Figure:
    """Z-score with ±threshold bands and the stored alerts as markers."""
    figure = go.Figure(layout=_layout("Z-score", zone))
    x, y = _points(ts_s, z, zone, max_points)
    figure.add_trace(
        go.Scatter(x=x, y=y, name="z", mode="lines", line={"color": COLORS[0], "width": 1.2})
    )
    figure.update_layout(
        shapes=[_hline(level, BAND_COLOR, "dash") for level in (threshold, -threshold)],
        annotations=[
            {
                "x": 1.0,
                "xref": "paper",
                "xanchor": "left",
                "y": level,
                "yref": "y",
                "text": f"{level:+.1f}",
                "showarrow": False,
                "font": {"color": BAND_COLOR},
            }
            for level in (threshold, -threshold)
        ],
    )
    for direction, color, symbol in (
        ("UP", UP_COLOR, "triangle-up"),
        ("DOWN", DOWN_COLOR, "triangle-down"),
    ):
        rows = alerts[alerts["direction"] == direction] if not alerts.empty else alerts
        if rows.empty:
            continue
        rows = rows.iloc[-max_points:]
        stamps = rows["ts_ms"].to_numpy(dtype=np.int64) // 1000
        fired_z = rows["z"].to_numpy(dtype=np.float64)
        figure.add_trace(
            go.Scatter(
                x=wall_clock_ms(stamps, zone),
                y=_on_line(ts_s, z, stamps, fired_z),
                name=f"alert {direction}",
                mode="markers",
                marker={"color": color, "symbol": symbol, "size": 10},
                text=[
                    f"rule {r}: z={v:.2f} on its own window"
                    for r, v in zip(rows["rule"], fired_z, strict=True)
                ],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    return figure


def _on_line(
    ts_s: np.ndarray, z: np.ndarray, stamps: np.ndarray, fired_z: np.ndarray
) -> np.ndarray:
    """Marker heights: the charted z of the bar holding each alert (the rule's z if none).

    A rule may watch another z window than the chart, so its own z would float off the line.
    """
    if ts_s.size == 0:
        return fired_z
    index = np.clip(np.searchsorted(ts_s, stamps, side="right") - 1, 0, ts_s.size - 1)
    charted = np.asarray(z, dtype=np.float64)[index]
    inside = (stamps >= ts_s[0]) & np.isfinite(charted)
    return np.where(inside, charted, fired_z)


def eg_figure(ts_s: np.ndarray, eg_p: np.ndarray, window: int, zone: str) -> go.Figure:
    """The rolling Engle-Granger p (evaluated every few bars) with the 5 % and 10 % levels."""
    figure = go.Figure(layout=_layout(f"Engle-Granger p ({window}-bar window)", zone))
    values = np.asarray(eg_p, dtype=np.float64)
    keep = np.isfinite(values)
    figure.add_trace(
        go.Scatter(
            x=wall_clock_ms(np.asarray(ts_s)[keep], zone),
            y=values[keep],
            name="EG p",
            mode="lines",
            line={"color": COLORS[5], "width": 1.2, "shape": "hv"},
        )
    )
    figure.update_layout(
        shapes=[_hline(0.05, COLORS[2], "dash"), _hline(0.10, BAND_COLOR, "dot")],
        margin={"l": 60, "r": 60, "t": 36, "b": 30},
    )
    figure.update_yaxes(range=[0, 1])
    return figure


def correlation_figure(
    ts_s: np.ndarray, corr: np.ndarray, window: int, zone: str, *, max_points: int
) -> go.Figure:
    """Rolling correlation of log returns, fixed to [-1, 1]."""
    figure = go.Figure(layout=_layout(f"Rolling correlation ({window} bars)", zone))
    x, y = _points(ts_s, corr, zone, max_points)
    figure.add_trace(
        go.Scatter(x=x, y=y, name="corr", mode="lines", line={"color": COLORS[4], "width": 1.2})
    )
    figure.update_yaxes(range=[-1.05, 1.05])
    return figure


def heatmap_figure(matrix: pd.DataFrame, title: str = "Correlation of log returns") -> go.Figure:
    """Symbol × symbol correlation matrix with the values printed in the cells."""
    labels = [str(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype=np.float64)
    figure = go.Figure(layout=_layout(title, None))
    figure.add_trace(
        go.Heatmap(
            z=values,
            x=labels,
            y=labels,
            zmin=-1,
            zmax=1,
            colorscale="RdBu",
            reversescale=True,
            text=[[f"{v:.2f}" if np.isfinite(v) else "—" for v in row] for row in values],
            texttemplate="%{text}",
            hovertemplate="%{y} / %{x}: %{z:.3f}<extra></extra>",
        )
    )
    figure.update_layout(
        hovermode="closest",
        xaxis={"automargin": True},
        yaxis={"autorange": "reversed", "automargin": True},
    )
    return figure


def equity_figure(equity: pd.Series, zone: str, *, max_points: int) -> go.Figure:
    """Cumulative backtest P&L (currency) over time."""
    figure = go.Figure(layout=_layout("Equity (P&L)", zone))
    x, y = _points(equity.index.to_numpy(), equity.to_numpy(), zone, max_points)
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name="equity",
            mode="lines",
            fill="tozeroy",
            line={"color": COLORS[2], "width": 1.2},
        )
    )
    return figure


def drawdown_figure(equity: pd.Series, notional: float, zone: str, *, max_points: int) -> go.Figure:
    """Drawdown from peak capital (:func:`analytics.backtest.drawdown`), drawn below zero."""
    below = -drawdown(equity.to_numpy(dtype=np.float64), notional)
    figure = go.Figure(layout=_layout("Drawdown", zone))
    x, y = _points(equity.index.to_numpy(), below, zone, max_points)
    figure.add_trace(
        go.Scatter(
            x=x,
            y=y,
            name="drawdown",
            mode="lines",
            fill="tozeroy",
            line={"color": UP_COLOR, "width": 1.2},
        )
    )
    figure.update_yaxes(tickformat=".2%")
    return figure
