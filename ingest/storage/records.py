"""Record types shared by the writer, the parsers and the repositories.

``Trade`` is the one row shape of a trade everywhere in pairwatch: the Binance parser builds it,
the simulator and importer produce it, and ``insert_trades`` stores it. It is a ``NamedTuple`` so
building millions of them stays cheap.
"""

from __future__ import annotations

from typing import NamedTuple


class Trade(NamedTuple):
    """One exchange trade; ``ts_ms`` is the exchange trade time in epoch milliseconds UTC."""

    symbol: str
    trade_id: int
    ts_ms: int
    price: float
    qty: float
    buyer_maker: bool
