"""The JSON/CSV API under ``/api/v1`` and the ``/healthz`` probe, as one Flask blueprint.

Owns the HTTP contract of DESIGN.md: ``pairs``, ``bars``, ``analytics``, ``alerts``,
``backtest`` and ``status`` (JSON, ``?format=csv`` for tables, CSV injection-guarded) and
``/healthz``. Every parameter is parsed strictly with :mod:`dashboard.params`; any invalid,
unknown or repeated parameter is an HTTP 400 ``{"error", "parameter"}``, never a 500; so is a
query over a work cap of :mod:`dashboard.budget`, and heavy work finding every heavy slot of the
worker taken is a 429 with ``Retry-After`` (:mod:`dashboard.limiter`). Data comes from
:mod:`dashboard.services` only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd
from flask import Blueprint, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from analytics.backtest import TRADE_COLUMNS
from analytics.pipeline import PairSnapshot
from analytics.screener import MIN_SCREEN_BARS
from analytics.vocabulary import BAR_SECONDS, DIRECTIONS, RELATIONSHIP_EVENTS, TIMEFRAMES
from dashboard import budget
from dashboard.context import services
from dashboard.csvsafe import to_safe_csv
from dashboard.data import alert_log, feed, pairs, screen, windows
from dashboard.errors import BusyError, QueryError
from dashboard.params import (
    View,
    parse_choice,
    parse_int,
    parse_pair,
    parse_symbol,
    parse_time,
    parse_view,
)
from dashboard.wording import notice_text
from ingest.storage import SCREEN_FIELDS, StorageError

api = Blueprint("pairwatch_api", __name__)
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
FORMATS = ("json", "csv")
SERIES_COLUMNS = ("ts", "base", "hedge", "beta", "spread", "z", "corr", "eg_p")
LATEST_FIELDS = tuple(f.name for f in fields(PairSnapshot) if f.name != "n")


def _query(allowed: Iterable[str]) -> dict[str, str]:
    names = set(allowed) | {"format"}
    for name in request.args:
        if name not in names:
            raise QueryError(name[:40], f"unknown parameter; allowed: {', '.join(sorted(names))}")
        if len(request.args.getlist(name)) > 1:
            raise QueryError(name, f"{name} given more than once")
    return dict(request.args.items())


def _format(query: dict[str, str]) -> str:
    return parse_choice("format", query["format"], FORMATS) if "format" in query else "json"


def _json_value(value: Any) -> Any:
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _csv(frame: pd.DataFrame, name: str) -> Response:
    response = Response(to_safe_csv(frame), mimetype="text/csv")
    safe = name.replace(":", "-")  # usdm:BTCUSDT → usdm-BTCUSDT: ``:`` is not a file name
    response.headers["Content-Disposition"] = f'attachment; filename="{safe}.csv"'
    return response


def _table(frame: pd.DataFrame, fmt: str, name: str, body: Callable[[], Any]) -> Response:
    return _csv(frame, name) if fmt == "csv" else jsonify(body())


def _view_fields(view: View) -> dict[str, Any]:
    """The pair and analytics settings an answer was computed with."""
    return {
        "pair": view.pair.name,
        "base": view.pair.base,
        "hedge": view.pair.hedge,
        "tf": view.tf,
        "method": view.method,
        "window": view.window,
        "z_window": view.z_window,
    }


@api.errorhandler(StorageError)
def _storage_unusable(exc: StorageError) -> tuple[Response, int]:
    """A database the dashboard cannot read (not initialised yet, newer schema): 503, why."""
    return jsonify({"error": str(exc), "parameter": None}), 503


@api.errorhandler(QueryError)
def _bad_query(exc: QueryError) -> tuple[Response, int]:
    return jsonify({"error": exc.message, "parameter": exc.parameter}), 400


@api.errorhandler(BusyError)
def _busy(exc: BusyError) -> tuple[Response, int]:
    """Every heavy slot is taken: 429 at once (``dashboard.limiter`` adds ``Retry-After``)."""
    return jsonify({"error": str(exc), "parameter": None}), 429


def _within_budget(view: View, series: str | None) -> None:
    """400 when ``view`` is over a work cap (``series`` names the parameter that asks for a
    per-bar answer, if any), then a heavy slot for the rest of the request when it is heavy."""
    budget.check_robust(view)
    if series is not None:
        budget.check_series(series, view.span_s, view.bar_seconds)
    services().limiter.admit(budget.pair_work(view, points=series is not None).heavy)


@api.route("/api/", defaults={"unknown": ""}, methods=ANY_METHOD)
@api.route("/api/<path:unknown>", methods=ANY_METHOD)
def _unknown_endpoint(unknown: str) -> tuple[Response, int]:
    """Unknown API paths answer a JSON 404 instead of the dashboard's HTML."""
    known = "pairs, bars, analytics, alerts, rules, backtest, status, screener"
    where = request.path[:90]
    body = {"error": f"no endpoint {where}; known under /api/v1/: {known}", "parameter": None}
    return jsonify(body), 404


@api.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 while the database exists, is the file the dashboard opened and can be read; 503
    with the reason otherwise (see ``DataService.check_database``)."""
    try:
        services().check_database()
    except StorageError as exc:
        return jsonify({"status": "error", "error": str(exc)}), 503
    except SQLAlchemyError:
        return jsonify({"status": "error", "error": "database unavailable"}), 503
    return jsonify({"status": "ok"}), 200


@api.get("/api/v1/pairs")
def pair_list() -> Response:
    fmt = _format(_query(()))
    settings = services().settings
    frame = pd.DataFrame(
        [{"name": p.name, "base": p.base, "hedge": p.hedge} for p in settings.pairs]
    )
    return _table(frame, fmt, "pairs", lambda: _records(frame))


@api.get("/api/v1/bars")
def bars() -> Response:
    query = _query(("symbol", "tf", "start", "end"))
    fmt = _format(query)
    settings = services().settings
    if "symbol" not in query:
        raise QueryError("symbol", "symbol is required")
    symbol = parse_symbol(settings, query["symbol"])
    tf = parse_choice("tf", query.get("tf", "1m"), TIMEFRAMES)
    start = parse_time("start", query["start"]) if "start" in query else None
    end = parse_time("end", query["end"]) if "end" in query else None
    if start is not None and end is not None:
        if start > end:
            raise QueryError("start", "start must not be after end")
        budget.check_series("end", end - start, BAR_SECONDS[tf])
    if start is not None and end is None:
        end = start + budget.series_span_s(BAR_SECONDS[tf])
    if end is not None and start is None:
        start = end - 3600
    span = 3600 if start is None or end is None else end - start
    services().limiter.admit(budget.Work(read_bars=span, points=span // BAR_SECONDS[tf]).heavy)
    frame = windows.bars(services(), symbol, tf, start, end)
    return _table(
        frame,
        fmt,
        f"{symbol}_{tf}_bars",
        lambda: {"symbol": symbol, "tf": tf, "bars": _records(frame)},
    )


@api.get("/api/v1/analytics")
def analytics() -> Response:
    query = _query(
        ("pair", "tf", "window", "z_window", "corr_window", "method", "series", "lookback")
    )
    fmt = _format(query)
    if "pair" not in query:
        raise QueryError("pair", "pair is required")
    settings = services().settings
    parse_pair(settings, query["pair"])
    series = parse_choice("series", query.get("series", "false"), ("true", "false", "1", "0"))
    view = parse_view(settings, {k: v for k, v in query.items() if k != "series"}, strict=True)
    wants_series = series in ("true", "1")
    _within_budget(view, "format" if fmt == "csv" else "series" if wants_series else None)
    result = pairs.pair_result(services(), view)
    latest = result.analytics.latest if result.analytics else None
    aligned = result.window.aligned
    nan = np.full(len(result.ts), np.nan)
    frame = pd.DataFrame(
        {
            "ts": result.ts,
            "base": aligned["base"].to_numpy(),
            "hedge": aligned["hedge"].to_numpy(),
            "beta": result.analytics.beta if result.analytics else nan,
            "spread": result.analytics.spread if result.analytics else nan,
            "z": result.analytics.z if result.analytics else nan,
            "corr": result.corr,
            "eg_p": result.analytics.eg_p if result.analytics else nan,
        }
    )
    if fmt == "csv":  # the documented CSV columns; eg_p is in the JSON series only
        name = f"{view.pair.name.replace('/', '-')}_{view.tf}_analytics"
        return _csv(frame.drop(columns="eg_p"), name)
    body: dict[str, Any] = {
        **_view_fields(view),
        "corr_window": view.corr_window,
        "n": len(result.ts),
        "last_ts": int(result.ts[-1]) if len(result.ts) else None,
        "notices": [notice_text(n) for n in result.notices],
        "warming_up": (
            {"bars": result.warmup.bars, "needed": result.warmup.needed} if result.warmup else None
        ),
    }
    for name in LATEST_FIELDS:
        body[name] = _json_value(getattr(latest, name)) if latest else None
    body["corr"] = result.last_corr  # from its own window, also while the z warms up
    if wants_series:
        body["series"] = {c: [_json_value(v) for v in frame[c].tolist()] for c in SERIES_COLUMNS}
    return jsonify(body)


@api.get("/api/v1/alerts")
def alerts() -> Response:
    query = _query(("pair", "direction", "start", "end", "limit"))
    fmt = _format(query)
    settings = services().settings
    pair = parse_pair(settings, query["pair"]).name if "pair" in query else None
    raw_direction = query.get("direction")
    direction = (
        None
        if raw_direction is None
        else parse_choice("direction", raw_direction, (*DIRECTIONS, *RELATIONSHIP_EVENTS))
    )
    start = parse_time("start", query["start"]) if "start" in query else None
    end = parse_time("end", query["end"]) if "end" in query else None
    if start is not None and end is not None and start > end:
        raise QueryError("start", "start must not be after end")
    limit = parse_int("limit", query["limit"], 1, 10_000) if "limit" in query else 1000
    frame = alert_log.alerts(
        services(),
        pair=pair,
        direction=direction,
        start_ms=None if start is None else start * 1000,
        end_ms=None if end is None else end * 1000 + 999,
        limit=limit,
    )
    return _table(frame, fmt, "alerts", lambda: {"alerts": _records(frame)})


BACKTEST_NAMES = {"entry_z": "entry", "exit_z": "exit"}
"""API parameter → ``View`` field, for the backtest parameters whose names differ."""
_VIEW_NAME = re.compile(r"\b(entry|exit)\b")


def _backtest_view(query: dict[str, str]) -> View:
    """The strict view of a backtest query; errors name the API parameter (``exit_z``)."""
    settings = services().settings
    renamed = {BACKTEST_NAMES.get(k, k): v for k, v in query.items() if k != "format"}
    try:
        return parse_view(settings, renamed, strict=True)
    except QueryError as exc:
        if exc.parameter not in BACKTEST_NAMES.values():
            raise
        message = _VIEW_NAME.sub(lambda m: f"{m.group(1)}_z", exc.message)
        raise QueryError(f"{exc.parameter}_z", message) from None


@api.get("/api/v1/backtest")
def backtest() -> Response:
    """The alert rule as a β-hedged trade over the view's window (fills at the next bar)."""
    query = _query(
        (
            "pair",
            "tf",
            "method",
            "window",
            "z_window",
            "entry_z",
            "exit_z",
            "fee_bps",
            "slippage_bps",
            "fill",
            "lookback",
        )
    )
    fmt = _format(query)
    if "pair" not in query:
        raise QueryError("pair", "pair is required")
    view = _backtest_view(query)
    _within_budget(view, "lookback" if fmt == "json" else None)  # JSON holds the equity curve
    outcome = pairs.backtest(services(), view)
    result = outcome.result
    trades = result.trades if result is not None else pd.DataFrame(columns=list(TRADE_COLUMNS))
    if fmt == "csv":
        return _csv(trades, f"{view.pair.name.replace('/', '-')}_{view.tf}_backtest_trades")
    stats: dict[str, Any] = {
        "total_return": None,
        "sharpe": None,
        "sharpe_reason": None,
        "max_drawdown": None,
        "hit_rate": None,
        "n_trades": 0,
        "days": None,
        "notional": None,
    }
    if result is not None:
        stats.update({name: _json_value(getattr(result, name)) for name in stats})
    stats |= {
        "fill": view.fill,
        "entry_z": view.entry,
        "exit_z": view.exit,
        "fee_bps": view.fee_bps,
        "slippage_bps": view.slippage_bps,
    }
    equity = result.equity if result is not None else pd.Series(dtype="float64")
    body = {
        **_view_fields(view),
        "lookback": view.lookback,
        "trades": _records(trades),
        "equity": {
            "ts": [int(t) for t in equity.index.tolist()],
            "equity": [_json_value(v) for v in equity.tolist()],
        },
        "stats": stats,
        "notices": [notice_text(n) for n in outcome.notices],
    }
    return jsonify(body)


def _symbol_body(line: feed.SymbolStatus) -> dict[str, Any]:
    """One symbol of ``/api/v1/status``: light, connection, counters, gaps, completeness."""
    light, ledger, quote = line.light, line.ledger, line.quote
    return {
        "symbol": light.symbol,
        "light": light.light,
        "reason": light.reason,
        "connected": line.connected,
        "link_state": line.link_state,
        "source": line.source,
        "last_trade_ms": light.last_trade_ms,
        "last_bar_s": line.last_bar_s,
        "reconnects": light.reconnects,
        "rate": light.rate,
        "rejected_frames": sum(line.rejected.values()),
        "rejected": dict(line.rejected),
        "dropped_trades": line.dropped_trades,
        "mark_price": None if quote is None else quote.mark_price,
        "funding_rate": None if quote is None else quote.funding_rate,
        "next_funding_ms": None if quote is None else quote.next_funding_ms,
        "gaps": {"open": ledger.open, "filled": ledger.filled, "lost": ledger.lost},
        "missing_ids": ledger.missing_ids,
        "completeness": ledger.fraction,
    }


def _status_body(report: feed.StatusReport) -> dict[str, Any]:
    return {
        "now_ms": report.now_ms,
        "simulated": report.simulated,
        "ingestor_stopped_for_s": report.ingestor_stopped_for_s,
        "symbols": [_symbol_body(line) for line in report.symbols],
        "rest": report.rest_note,
        "history": [
            {
                "symbol": row.symbol,
                "interval": row.interval,
                "state": row.state,
                "loaded": round(row.fraction, 4),
                "from_s": row.from_s,
                "to_s": row.to_s,
                "text": f"history: {row.describe()}",
            }
            for row in report.history
        ],
        "notify": [
            {
                "target": line.target,
                "key": line.key,
                "sent": line.sent,
                "pending": line.pending,
                "failed": line.failed,
                "last_error": line.last_error,
            }
            for line in report.notify
        ],
    }


def _flat(row: dict[str, Any]) -> dict[str, Any]:
    """A status line for CSV: nested counters as ``gaps_open``, ``rejected_invalid_json`` …"""
    nested = ("gaps", "rejected")
    flat = {k: v for k, v in row.items() if k not in nested}
    for name in nested:
        flat |= {f"{name}_{k}": v for k, v in row[name].items()}
    return flat


@api.get("/api/v1/status")
def status() -> Response:
    query = _query(())
    body = _status_body(feed.status_report(services()))
    if _format(query) == "csv":
        return _csv(pd.DataFrame([_flat(row) for row in body["symbols"]]), "status")
    return jsonify(body)


RULE_FIELDS = (
    "pair",
    "rule",
    "kind",
    "entry_z",
    "exit_z",
    "direction",
    "timeframe",
    "window",
    "max_p",
    "state",
    "last_direction",
    "last_z",
    "last_p",
    "last_eval_ts",
    "last_alert_ts",
)


@api.get("/api/v1/rules")
def rules() -> Response:
    """Each configured alert rule with the state the alert worker stored (``waiting`` if none)."""
    query = _query(("pair",))
    fmt = _format(query)
    pair = parse_pair(services().settings, query["pair"]).name if "pair" in query else None
    rows = [
        {field: getattr(s, "name" if field == "rule" else field) for field in RULE_FIELDS}
        for s in alert_log.rule_states(services())
        if pair is None or s.pair == pair
    ]
    frame = pd.DataFrame(rows, columns=list(RULE_FIELDS), dtype=object)
    return _table(frame, fmt, "rules", lambda: {"rules": _records(frame)})


def screener_body(ranking: screen.Ranking) -> dict[str, Any]:
    """``{"tf", "window", "as_of", "pairs": [...]}``; ``as_of`` is the newest closed bar (s)."""
    pairs = [{name: _json_value(pair[name]) for name in SCREEN_FIELDS} for pair in ranking.pairs]
    return {
        "tf": ranking.tf,
        "window": ranking.window,
        "as_of": ranking.as_of_s,
        "source": ranking.source,
        "pairs": pairs,
    }


@api.get("/api/v1/screener")
def screener() -> Response:
    """Every unordered pair of the streamed symbols ranked by Engle-Granger p, ascending."""
    query = _query(("tf", "window"))
    fmt = _format(query)
    settings = services().settings
    tf = parse_choice("tf", query.get("tf", "1m"), screen.SCREENER_TIMEFRAMES)
    window = (
        parse_int("window", query["window"], MIN_SCREEN_BARS, screen.MAX_SCREENER_WINDOW)
        if "window" in query
        else settings.screener.window
    )
    body = screener_body(screen.ranking(services(), tf, window))
    frame = pd.DataFrame(body["pairs"], columns=list(SCREEN_FIELDS))
    return _table(frame, fmt, f"screener_{tf}_{window}", lambda: body)
