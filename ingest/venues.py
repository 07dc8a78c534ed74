"""Markets of one configuration: which symbols each streams, under which exchange names.

A configured symbol is stored under its configured key: unqualified (``BTCUSDT``) for
``feed.market``, qualified (``usdm:BTCUSDT``) for the other market, so spot and perpetual
futures of one name live side by side as two keys. ``venues`` splits the settings into one
``Venue`` per market (its feed settings, its stored keys and their exchange names), and
``Venue.connections`` splits its symbols so that no connection carries more streams than the
venue allows (1,024 spot, 200 USD-M, mark price included).
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.binance import symbols_per_connection
from ingest.settings import FeedSettings, Settings, split_symbol


@dataclass(frozen=True, slots=True)
class Venue:
    """One market: its feed settings and symbols (stored key → exchange symbol)."""

    feed: FeedSettings
    exchange: dict[str, str]
    default: bool

    @property
    def symbols(self) -> tuple[str, ...]:
        """The stored keys of this market, in configuration order."""
        return tuple(self.exchange)

    @property
    def prefix(self) -> str:
        """The qualifier of this market's keys: ``""`` for ``feed.market``, else ``usdm:``."""
        return "" if self.default else f"{self.feed.market}:"

    def connections(self) -> list[tuple[str, ...]]:
        """The stored keys of each connection, in order, each within the stream cap."""
        size = symbols_per_connection(self.feed.market, self.feed.stream)
        keys = self.symbols
        return [keys[i : i + size] for i in range(0, len(keys), size)]


def venues(settings: Settings) -> list[Venue]:
    """One venue per market with configured symbols, ``feed.market`` first."""
    default = settings.feed.market
    return [
        Venue(
            settings.feed.for_market(market),
            {key: split_symbol(key, default)[1] for key in keys},
            market == default,
        )
        for market, keys in settings.markets().items()
    ]
