"""Record types and states shared by the writer, the parsers, the repositories and the readers.

``Trade`` is the one row shape of a trade everywhere in pairwatch: the Binance parser builds it,
the simulator and importer produce it, and ``insert_trades`` stores it. It is a ``NamedTuple`` so
building millions of them stays cheap. ``Gap`` is a hole in a symbol's trade ids and
``GapState`` its lifecycle; ``NotifyState`` is the lifecycle of a notification in the outbox;
``LinkState`` is what a feed connection is doing and
``REJECT_KINDS`` the kinds of rejected frame, each counted in its own ``feed_status`` column.
These are the typed values that cross the storage boundary: readers compare states with these
enums (they are ``str`` subclasses, so stored text compares equal) and never parse a reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal, NamedTuple, get_args


class Trade(NamedTuple):
    """One exchange trade; ``ts_ms`` is the exchange trade time in epoch milliseconds UTC."""

    symbol: str
    trade_id: int
    ts_ms: int
    price: float
    qty: float
    buyer_maker: bool


@dataclass(frozen=True, slots=True)
class Gap:
    """Missing ids ``from_id..to_id`` (inclusive) of ``symbol``, with the trades' times either
    side of the hole (``from_ms`` is None when the trade before it is not known)."""

    symbol: str
    from_id: int
    to_id: int
    from_ms: int | None
    to_ms: int


class GapState(StrEnum):
    """A gap's lifecycle: ``open`` until backfill ``filled`` it or found it ``lost``."""

    OPEN = "open"
    FILLED = "filled"
    LOST = "lost"


class NotifyState(StrEnum):
    """An outbox row: ``pending`` until delivered (``sent``) or given up (``failed``)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class LinkState(StrEnum):
    """What a feed connection is doing, as the reader last reported it."""

    STARTING = "starting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    """A working connection ended; the next attempt is scheduled."""
    CONNECT_FAILED = "connect_failed"
    """The last attempt failed before the handshake (``connect_error``, ``retry_at_ms``)."""
    STOPPED = "stopped"


RejectKind = Literal[
    "invalid_json",
    "wrong_types",
    "oversized",
    "unexpected",
    "unknown_event",
    "error_reply",
    "unknown_symbol",
]
REJECT_KINDS: Final[tuple[RejectKind, ...]] = get_args(RejectKind)
"""Why a frame was rejected; each kind has a ``feed_status.rejected_<kind>`` counter."""


def reject_column(kind: RejectKind) -> str:
    """The ``feed_status`` column counting frames rejected as ``kind``."""
    return f"rejected_{kind}"
