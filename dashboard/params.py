"""View parameters: the URL query of a page (and the API query) parsed into a validated ``View``.

This module owns the names, bounds and defaults of every parameter a view can carry (pair,
timeframe, lookback, hedge method, windows, thresholds, backtest inputs, UTC toggle). The same
field parsers serve both callers: the API parses strictly and turns a ``QueryError`` into HTTP
400, the pages parse leniently so a bad or stale link falls back to the default of that one field
and never crashes. Pairs are configured names or ad-hoc ``BASE/HEDGE`` of two configured symbols.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlencode

from analytics.backtest import FILLS, Fill
from analytics.vocabulary import BAR_SECONDS, HEDGE_METHODS, TIMEFRAMES, HedgeMethod, Timeframe
from dashboard.errors import QueryError
from ingest.settings import Settings

LOOKBACK_MINUTES = (5, 15, 30, 60, 240, 720, 1440)
DEFAULT_LOOKBACK_MINUTES = 60
Choice = TypeVar("Choice", bound=str)
MAX_SPAN_S = 2 * 86_400
"""Longest span of 1-second bars one view or API call may read per leg."""
MAX_RAW_LENGTH = 64
ADHOC_SEPARATOR = "/"
MAX_EPOCH_S = 4_102_444_800  # 2100-01-01
_INTEGER = re.compile(r"^[+-]?[0-9]{1,12}\Z")


@dataclass(frozen=True, slots=True)
class PairRef:
    """A pair to analyse: a configured one (``configured``) or an ad-hoc ``BASE/HEDGE``."""

    name: str
    base: str
    hedge: str
    configured: bool

    @property
    def legs(self) -> tuple[str, str]:
        return (self.base, self.hedge)


@dataclass(frozen=True, slots=True)
class View:
    """Everything a page or API call needs to know about what to show."""

    pair: PairRef
    tf: Timeframe
    utc: bool
    lookback: int
    method: HedgeMethod
    window: int
    z_window: int
    z: float
    corr_window: int
    entry: float
    exit: float
    fee_bps: float
    slippage_bps: float = 0.0
    fill: Fill = "next"

    @property
    def bar_seconds(self) -> int:
        return BAR_SECONDS[self.tf]

    @property
    def span_s(self) -> int:
        """Seconds of 1s bars to read: the lookback, widened to fit the windows, capped."""
        needed = (max(self.window, self.corr_window) + self.z_window) * self.bar_seconds
        return min(max(self.lookback * 60, needed), MAX_SPAN_S)

    def query_items(self, names: Iterable[str]) -> dict[str, str]:
        """The URL form of the named fields (``pair`` as its name, ``utc`` as 0/1)."""
        items: dict[str, str] = {}
        for name in names:
            value = getattr(self, name)
            if isinstance(value, PairRef):
                items[name] = value.name
            elif isinstance(value, bool):
                items[name] = "1" if value else "0"
            else:
                items[name] = f"{value:g}" if isinstance(value, float) else str(value)
        return items


def pair_choices(settings: Settings) -> list[PairRef]:
    """Configured pairs first, then every other ordered pair of configured symbols."""
    configured = [PairRef(p.name, p.base, p.hedge, True) for p in settings.pairs]
    taken = {p.legs for p in configured}
    adhoc = [
        PairRef(f"{base}{ADHOC_SEPARATOR}{hedge}", base, hedge, False)
        for base in settings.symbols
        for hedge in settings.symbols
        if base != hedge and (base, hedge) not in taken
    ]
    return configured + adhoc


def _text(name: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise QueryError(name, f"{name} must be text")
    value = raw.strip()
    if not value:
        raise QueryError(name, f"{name} is empty")
    if len(value) > MAX_RAW_LENGTH or not value.isascii() or not value.isprintable():
        raise QueryError(name, f"{name} must be at most {MAX_RAW_LENGTH} printable ASCII chars")
    return value


def parse_pair(settings: Settings, raw: object, name: str = "pair") -> PairRef:
    """A configured pair name or ``BASE/HEDGE`` of two distinct configured symbols."""
    value = _text(name, raw)
    for pair in settings.pairs:
        if pair.name == value:
            return PairRef(pair.name, pair.base, pair.hedge, True)
    base, sep, hedge = value.partition(ADHOC_SEPARATOR)
    base, hedge = settings.symbol_key(base), settings.symbol_key(hedge)
    if sep and base in settings.symbols and hedge in settings.symbols and base != hedge:
        for pair in settings.pairs:
            if (pair.base, pair.hedge) == (base, hedge):
                return PairRef(pair.name, base, hedge, True)
        return PairRef(f"{base}{ADHOC_SEPARATOR}{hedge}", base, hedge, False)
    known = ", ".join(p.name for p in settings.pairs)
    raise QueryError(name, f"unknown pair; use one of {known} or BASE/HEDGE of known symbols")


def parse_symbol(settings: Settings, raw: object, name: str = "symbol") -> str:
    value = settings.symbol_key(_text(name, raw))
    if value not in settings.symbols:
        raise QueryError(name, f"unknown symbol; use one of {', '.join(settings.symbols)}")
    return value


def parse_choice(name: str, raw: object, allowed: Iterable[Choice]) -> Choice:
    """``raw`` (case-insensitive) as one of ``allowed``, typed as the options are."""
    value = _text(name, raw).lower()
    options = tuple(allowed)
    for option in options:
        if option.lower() == value:
            return option
    raise QueryError(name, f"{name} must be one of {', '.join(options)}")


def parse_int(name: str, raw: object, low: int, high: int) -> int:
    value = _text(name, raw)
    if not _INTEGER.match(value):
        raise QueryError(name, f"{name} must be an integer between {low} and {high}")
    number = int(value)
    if not low <= number <= high:
        raise QueryError(name, f"{name} must be between {low} and {high}")
    return number


def parse_float(name: str, raw: object, low: float, high: float) -> float:
    value = _text(name, raw)
    try:
        number = float(value)
    except ValueError:
        raise QueryError(name, f"{name} must be a number between {low:g} and {high:g}") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise QueryError(name, f"{name} must be a number between {low:g} and {high:g}")
    return number


def parse_bool(name: str, raw: object) -> bool:
    return parse_choice(name, raw, ("0", "1", "false", "true")) in {"1", "true"}


def parse_time(name: str, raw: object) -> int:
    """Epoch seconds from an integer (seconds) or an ISO 8601 time (UTC when no offset)."""
    value = _text(name, raw)
    if value.isdigit():
        return parse_int(name, value, 0, MAX_EPOCH_S)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(name, f"{name} must be epoch seconds or an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    seconds = int(moment.timestamp())
    if not 0 <= seconds <= MAX_EPOCH_S:
        raise QueryError(name, f"{name} must be between 1970 and 2100")
    return seconds


def _rule_for(settings: Settings, pair: PairRef) -> Any:
    return next((r for r in settings.alerts.rules if r.pair == pair.name), None)


def default_view(settings: Settings, pair: PairRef | None = None) -> View:
    """The view a page shows when the URL says nothing: config defaults of ``pair``."""
    ref = pair or pair_choices(settings)[0]
    own = next((p for p in settings.pairs if p.name == ref.name), None) if ref.configured else None
    rule = _rule_for(settings, ref)
    analytics = settings.analytics
    return View(
        pair=ref,
        tf=analytics.timeframe,
        utc=False,
        lookback=DEFAULT_LOOKBACK_MINUTES,
        method=(own.hedge_method if own and own.hedge_method else analytics.hedge_method),
        window=(own.window if own and own.window else analytics.window),
        z_window=(own.z_window if own and own.z_window else analytics.z_window),
        z=rule.entry_z if rule else 2.0,
        corr_window=analytics.corr_window,
        entry=rule.entry_z if rule else 2.0,
        exit=rule.exit_z if rule else 0.5,
        fee_bps=5.0,
        slippage_bps=0.0,
        fill="next",
    )


_FIELD_PARSERS: dict[str, Callable[[object], Any]] = {
    "tf": lambda raw: parse_choice("tf", raw, TIMEFRAMES),
    "utc": lambda raw: parse_bool("utc", raw),
    "lookback": lambda raw: parse_int("lookback", raw, 1, MAX_SPAN_S // 60),
    "method": lambda raw: parse_choice("method", raw, HEDGE_METHODS),
    "window": lambda raw: parse_int("window", raw, 10, 100_000),
    "z_window": lambda raw: parse_int("z_window", raw, 5, 100_000),
    "z": lambda raw: parse_float("z", raw, 0.1, 10.0),
    "corr_window": lambda raw: parse_int("corr_window", raw, 5, 100_000),
    "entry": lambda raw: parse_float("entry", raw, 0.1, 10.0),
    "exit": lambda raw: parse_float("exit", raw, 0.0, 10.0),
    "fee_bps": lambda raw: parse_float("fee_bps", raw, 0.0, 1000.0),
    "slippage_bps": lambda raw: parse_float("slippage_bps", raw, 0.0, 1000.0),
    "fill": lambda raw: parse_choice("fill", raw, FILLS),
}
VIEW_FIELDS = tuple(f.name for f in fields(View))


def parse_view(settings: Settings, query: Mapping[str, object], *, strict: bool = False) -> View:
    """Build a ``View`` from query values; strict raises ``QueryError``, lenient uses defaults."""
    pair: PairRef | None = None
    if "pair" in query:
        try:
            pair = parse_pair(settings, query["pair"])
        except QueryError:
            if strict:
                raise
    view = default_view(settings, pair)
    changes: dict[str, Any] = {}
    for name, parse in _FIELD_PARSERS.items():
        if name not in query:
            continue
        try:
            changes[name] = parse(query[name])
        except QueryError:
            if strict:
                raise
    view = replace(view, **changes)
    if view.exit >= view.entry:
        if strict:
            raise QueryError("exit", "exit must be below entry")
        view = replace(view, exit=view.entry / 4)
    return view


def query_values(search: str | None) -> dict[str, str]:
    """``?a=1&b=2`` → ``{"a": "1", "b": "2"}`` (first value of each name)."""
    parsed = parse_qs((search or "").lstrip("?"), keep_blank_values=True)
    return {name: values[0] for name, values in parsed.items() if values}


def merge_query(search: str | None, updates: Mapping[str, str]) -> str:
    """``search`` with ``updates`` applied, keys in a stable order (view fields first)."""
    merged = query_values(search) | dict(updates)
    order = [n for n in VIEW_FIELDS if n in merged] + sorted(set(merged) - set(VIEW_FIELDS))
    return "?" + urlencode([(name, merged[name]) for name in order], safe="/")
