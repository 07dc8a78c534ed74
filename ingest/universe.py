"""The universe helper: a venue's most traded symbols as a ``symbols:`` block for config.yaml.

This module owns ``python -m ingest universe``'s work: two REST calls through the paced
``RestClient`` (``exchangeInfo`` for each symbol's quote asset and trading status, then the 24 h
ticker of every symbol), the validation of both answers (any field of the wrong type or form
refuses the whole answer with ``AnswerError``), the ranking (symbols quoted in the asked asset,
status ``TRADING``, a name the configuration accepts, quote volume above zero, largest first,
ties by name) and the text printed. Delisted and halted symbols stay in the ticker with zero
volumes, so the status check and the zero filter each keep them out. Symbols print as the
configuration stores them: unqualified on ``feed.market``, ``usdm:BTCUSDT`` on the other one.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from ingest.binance import (
    EXCHANGE_INFO_WEIGHT,
    TICKER_24HR_ALL_WEIGHT,
    Market,
    exchange_info_url,
    ticker_24hr_url,
)
from ingest.errors import IngestError, RestError
from ingest.rest import RestClient
from ingest.settings import SYMBOL_PATTERN, Settings

DECIMAL_STRING = re.compile(r"^[0-9]+(?:\.[0-9]+)?$")
"""How Binance writes ``quoteVolume``: a non-negative decimal string such as ``"15.30000000"``."""

VENUE_NAMES: dict[Market, str] = {"spot": "Binance spot", "usdm": "Binance USD-M futures"}


class AnswerError(IngestError):
    """The exchange answered, but not with a usable exchangeInfo or ticker (exit status 1)."""


class UnknownQuoteError(IngestError):
    """No trading symbol of the venue is quoted in the asked asset (a bad argument)."""


@dataclass(frozen=True, slots=True)
class Ranked:
    """One listed symbol: its configuration key and 24 h quote volume."""

    key: str
    quote_volume: Decimal


@dataclass(frozen=True, slots=True)
class Universe:
    """The top symbols of one venue and quote asset, as of the ticker's newest ``closeTime``."""

    market: Market
    quote: str
    asked: int
    ranked: tuple[Ranked, ...]
    as_of_ms: int


def _get(client: RestClient, url: str, weight: int, stop: threading.Event) -> Any:
    try:
        return client.get_json(url, weight, stop)
    except RestError as exc:
        raise RestError(f"GET {url}: {exc}", refused=exc.refused, status=exc.status) from None


def _field(row: Any, name: str, kind: type, where: str) -> Any:
    if not isinstance(row, dict):
        raise AnswerError(f"{where} is {type(row).__name__}, not an object")
    value = row.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise AnswerError(f"{where}: {name} = {value!r} is not {kind.__name__}")
    return value


def trading_symbols(answer: Any, url: str, quote: str) -> set[str]:
    """The ``TRADING`` symbols quoted in ``quote`` of an ``exchangeInfo`` answer."""
    symbols = _field(answer, "symbols", list, url)
    quoted: set[str] = set()
    for index, row in enumerate(symbols):
        where = f"{url}: symbols[{index}]"
        name = _field(row, "symbol", str, where)
        status = _field(row, "status", str, f"{where} ({name})")
        if _field(row, "quoteAsset", str, f"{where} ({name})") == quote and status == "TRADING":
            quoted.add(name)
    return quoted


def quote_volumes(answer: Any, url: str) -> tuple[dict[str, Decimal], int]:
    """``({symbol: quote volume}, newest closeTime)`` of a ticker answer of every symbol."""
    if not isinstance(answer, list) or not answer:
        raise AnswerError(f"{url}: expected a non-empty array of tickers")
    volumes: dict[str, Decimal] = {}
    newest = 0
    for index, row in enumerate(answer):
        where = f"{url}: ticker [{index}]"
        name = _field(row, "symbol", str, where)
        where = f"{where} ({name})"
        text = _field(row, "quoteVolume", str, where)
        if not DECIMAL_STRING.match(text):
            raise AnswerError(f"{where}: quoteVolume = {text!r} is not a decimal string")
        close_ms = _field(row, "closeTime", int, where)
        if name in volumes:
            raise AnswerError(f"{where}: listed twice")
        volumes[name] = Decimal(text)
        newest = max(newest, close_ms)
    return volumes, newest


def top_symbols(
    settings: Settings, market: Market, quote: str, top: int, stop: threading.Event
) -> Universe:
    """The ``top`` symbols of ``market`` quoted in ``quote`` by 24 h quote volume."""
    base = settings.feed.for_market(market).rest_url
    client = RestClient(market)
    info_url = exchange_info_url(base, market)
    tradable = trading_symbols(
        _get(client, info_url, EXCHANGE_INFO_WEIGHT[market], stop), info_url, quote
    )
    if not tradable:
        raise UnknownQuoteError(f"no trading symbol on {VENUE_NAMES[market]} is quoted in {quote}")
    ticker_url = ticker_24hr_url(base, market)
    volumes, as_of_ms = quote_volumes(
        _get(client, ticker_url, TICKER_24HR_ALL_WEIGHT[market], stop), ticker_url
    )
    listed = [
        (volume, name)
        for name, volume in volumes.items()
        if name in tradable and volume > 0 and SYMBOL_PATTERN.match(name)
    ]
    if not listed:
        raise AnswerError(
            f"none of the {len(tradable)} trading {quote} symbols on {VENUE_NAMES[market]} "
            "had 24 h quote volume"
        )
    listed.sort(key=lambda pair: (-pair[0], pair[1]))
    ranked = tuple(
        Ranked(settings.symbol_key(f"{market}:{name}"), volume) for volume, name in listed[:top]
    )
    return Universe(market, quote, top, ranked, as_of_ms)


def render(universe: Universe) -> str:
    """The comment line and ``symbols:`` block to paste into config.yaml."""
    when = datetime.fromtimestamp(universe.as_of_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")
    venue = VENUE_NAMES[universe.market]
    count = len(universe.ranked)
    lines = [f"# top {count} {universe.quote} symbols on {venue} by 24 h quote volume ({when} UTC)"]
    if count < universe.asked:
        lines.append(
            f"# only {count} of the {universe.asked} asked: no other trading {universe.quote} "
            "symbol had 24 h volume"
        )
    lines.append("symbols:")
    width = max(len(row.key) for row in universe.ranked)
    lines += [
        f"  - {row.key:<{width}}    # {row.quote_volume:,.0f} {universe.quote}"
        for row in universe.ranked
    ]
    return "\n".join(lines)
