"""Stable component ids of every page, one frozen dataclass per page.

Callbacks, layouts and the browser tests all take ids from here, so a renamed id fails at import
time instead of silently breaking a callback. Ids are page-prefixed and never generic words,
which could collide with ids inside Plotly's SVG.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ShellIds:
    url: str = "pw-url"
    session: str = "pw-session"
    tick: str = "pw-tick"
    pair: str = "pw-pair"
    timeframe: str = "pw-timeframe"
    utc: str = "pw-utc"
    refresh_s: str = "pw-refresh-s"
    pause: str = "pw-pause"
    refresh_now: str = "pw-refresh-now"
    status: str = "pw-status"
    simulated: str = "pw-simulated"
    last_update: str = "pw-last-update"
    navbar: str = "pw-navbar"
    nav_toggle: str = "pw-nav-toggle"
    nav_collapse: str = "pw-nav-collapse"
    nav_link: str = "pw-nav-link"  # pattern-matching type: {"type": nav_link, "path": "/spread"}


@dataclass(frozen=True, slots=True)
class OverviewIds:
    cards: str = "overview-cards"
    heatmap: str = "overview-heatmap"
    notices: str = "overview-notices"
    card_prefix: str = "overview-card-"  # + pair name


@dataclass(frozen=True, slots=True)
class PricesIds:
    chart: str = "prices-chart"
    volume: str = "prices-volume"
    normalise: str = "prices-normalise"
    lookback: str = "prices-lookback"
    subtitle: str = "prices-subtitle"
    notices: str = "prices-notices"


@dataclass(frozen=True, slots=True)
class SpreadIds:
    method: str = "spread-method"
    lookback: str = "spread-lookback"
    window: str = "spread-window"
    z_window: str = "spread-z-window"
    threshold: str = "spread-threshold"
    banner: str = "spread-banner"
    chart: str = "spread-chart"
    z_chart: str = "spread-z-chart"
    eg_chart: str = "spread-eg-chart"
    charts: str = "spread-charts"
    warmup: str = "spread-warmup"
    stats: str = "spread-stats"
    subtitle: str = "spread-subtitle"
    notices: str = "spread-notices"


@dataclass(frozen=True, slots=True)
class CorrelationIds:
    window: str = "corr-window"
    lookback: str = "corr-lookback"
    chart: str = "corr-chart"
    chart_box: str = "corr-chart-box"
    warmup: str = "corr-warmup"
    heatmap: str = "corr-heatmap"
    notices: str = "corr-notices"


@dataclass(frozen=True, slots=True)
class AlertsIds:
    grid: str = "alerts-grid"
    pair: str = "alerts-pair"
    direction: str = "alerts-direction"
    dates: str = "alerts-dates"
    rules: str = "alerts-rules"
    download_btn: str = "alerts-download-btn"
    download: str = "alerts-download"
    notices: str = "alerts-notices"


@dataclass(frozen=True, slots=True)
class BacktestIds:
    entry: str = "bt-entry"
    exit: str = "bt-exit"
    fees: str = "bt-fees"
    slippage: str = "bt-slippage"
    fill: str = "bt-fill"
    lookback: str = "bt-lookback"
    run: str = "bt-run"
    equity: str = "bt-equity"
    drawdown: str = "bt-drawdown"
    trades: str = "bt-trades"
    stats: str = "bt-stats"
    sharpe_reason: str = "bt-sharpe-reason"
    download_btn: str = "bt-download-btn"
    download: str = "bt-download"
    notices: str = "bt-notices"
    subtitle: str = "bt-subtitle"


@dataclass(frozen=True, slots=True)
class ScreenerIds:
    tf: str = "screener-tf"
    window: str = "screener-window"
    grid: str = "screener-grid"
    notices: str = "screener-notices"
    as_of: str = "screener-as-of"
    watch: str = "screener-watch"
    download_btn: str = "screener-download-btn"
    download: str = "screener-download"


SHELL = ShellIds()
OVERVIEW = OverviewIds()
PRICES = PricesIds()
SPREAD = SpreadIds()
CORRELATION = CorrelationIds()
ALERTS = AlertsIds()
BACKTEST = BacktestIds()
SCREENER = ScreenerIds()
