"""The relational schema of pairwatch, as SQLAlchemy Core tables.

This module owns table names, columns, keys and indexes, exactly as DESIGN.md names them:
``trades``, ``bars_1s``, ``feed_status``, ``gaps`` and ``alerts``, plus ``schema_version``
for migrations, ``rule_states`` (the alert worker's live state of each rule, version 3) and,
since version 4, ``klines`` (exchange candles loaded as history) with ``history`` (what was
loaded per symbol and interval, and where trades take over); since version 5, ``feed_kind``
(the market and stream kind whose trade ids the database holds); since version 6,
``feed_status`` carries the connection's ``link_state``, the failed attempt's ``connect_error``
and ``retry_at_ms`` and one ``rejected_<kind>`` counter per reject kind, so no reader parses
``reason``, which is display text only; since version 7, ``screens`` (the screener's ranked
pairs per timeframe and window, as the ingestor last computed them); since version 8, alerts and
rule states carry their rule ``kind`` (``z`` or ``relationship``), the Engle-Granger p of a
relationship alert (``eg_p``, ``last_p``) and the persistence ``streak`` of a relationship rule.
Since version 9, ``notifications`` (the outbox: one row per alert and apprise target, so a
notification is delivered once per target across restarts).
Extra columns beyond the contract (``first_id``/``last_id``/``quote_volume`` on bars,
``source``/``reason`` on status) exist so bars merge exactly and the dashboard can explain a
state; they never change the meaning of the contract columns.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from ingest.storage.records import REJECT_KINDS, GapState, LinkState, NotifyState, reject_column

SCHEMA_VERSION = 9
SYMBOL_KEY_LEN = 28  # "usdm:" + a 20-character exchange symbol, with room
metadata = MetaData()

trades = Table(
    "trades",
    metadata,
    Column("symbol", String(SYMBOL_KEY_LEN), primary_key=True),
    Column("trade_id", BigInteger, primary_key=True, autoincrement=False),
    Column("ts_ms", BigInteger, nullable=False),
    Column("price", Float, nullable=False),
    Column("qty", Float, nullable=False),
    Column("buyer_maker", Boolean, nullable=False),
    Index("ix_trades_symbol_ts", "symbol", "ts_ms"),
)

bars_1s = Table(
    "bars_1s",
    metadata,
    Column("symbol", String(SYMBOL_KEY_LEN), primary_key=True),
    Column("ts_s", BigInteger, primary_key=True, autoincrement=False),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    Column("vwap", Float, nullable=False),
    Column("n_trades", Integer, nullable=False),
    Column("quote_volume", Float, nullable=False),
    Column("first_id", BigInteger, nullable=False),
    Column("last_id", BigInteger, nullable=False),
)

feed_status = Table(
    "feed_status",
    metadata,
    Column("symbol", String(SYMBOL_KEY_LEN), primary_key=True),
    Column("connected", Boolean, nullable=False),
    Column("last_trade_ms", BigInteger),
    Column("last_msg_ms", BigInteger),
    Column("reconnects", Integer, nullable=False, default=0),
    Column("updated_ms", BigInteger, nullable=False),
    Column("last_trade_id", BigInteger),
    Column("rate", Float, nullable=False, default=0.0),
    Column("source", String(20), nullable=False, default="binance"),
    Column("reason", String(200), nullable=False, default=""),
    Column("rejected_frames", Integer, nullable=False, server_default="0"),
    Column("dropped_trades", Integer, nullable=False, server_default="0"),
    Column("rest_note", String(200), nullable=False, server_default=""),
    Column("mark_price", Float),
    Column("funding_rate", Float),
    Column("next_funding_ms", BigInteger),
    Column("link_state", String(16), nullable=False, server_default=LinkState.STARTING.value),
    Column("connect_error", String(200), nullable=False, server_default=""),
    Column("retry_at_ms", BigInteger),
    *(
        Column(reject_column(kind), Integer, nullable=False, server_default="0")
        for kind in REJECT_KINDS
    ),
)

gaps = Table(
    "gaps",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("symbol", String(SYMBOL_KEY_LEN), nullable=False),
    Column("from_id", BigInteger, nullable=False),
    Column("to_id", BigInteger, nullable=False),
    Column("from_ms", BigInteger),
    Column("to_ms", BigInteger),
    Column("detected_ms", BigInteger, nullable=False),
    Column("state", String(10), nullable=False, default=GapState.OPEN.value),
    Column("filled_ms", BigInteger),
    Column("attempts", Integer, nullable=False, default=0),
    Column("reason", String(200), nullable=False, default=""),
    UniqueConstraint("symbol", "from_id", name="uq_gaps_symbol_from"),
    Index("ix_gaps_state", "state"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("pair", String(40), nullable=False),
    Column("rule", String(40), nullable=False),
    Column("direction", String(8), nullable=False),
    Column("z", Float, nullable=False),
    Column("spread", Float),
    Column("beta", Float),
    Column("ts_ms", BigInteger, nullable=False),
    Column("state", String(10), nullable=False, default="fired"),
    Column("kind", String(12), nullable=False, server_default="z"),
    Column("eg_p", Float),
    UniqueConstraint("pair", "rule", "ts_ms", name="uq_alerts_pair_rule_ts"),
    Index("ix_alerts_ts", "ts_ms"),
)

rule_states = Table(
    "rule_states",
    metadata,
    Column("pair", String(40), primary_key=True),
    Column("rule", String(40), primary_key=True),
    Column("armed", Boolean, nullable=False),
    Column("last_direction", String(8)),
    Column("last_z", Float),
    Column("last_eval_ts", BigInteger),
    Column("last_alert_ts", BigInteger),
    Column("timeframe", String(4)),
    Column("updated_ms", BigInteger, nullable=False),
    Column("kind", String(12), nullable=False, server_default="z"),
    Column("last_p", Float),
    Column("streak", Integer, nullable=False, server_default="0"),
)

klines = Table(
    "klines",
    metadata,
    Column("symbol", String(SYMBOL_KEY_LEN), primary_key=True),
    Column("interval_s", Integer, primary_key=True, autoincrement=False),
    Column("ts_s", BigInteger, primary_key=True, autoincrement=False),
    Column("open", Float, nullable=False),
    Column("high", Float, nullable=False),
    Column("low", Float, nullable=False),
    Column("close", Float, nullable=False),
    Column("volume", Float, nullable=False),
    Column("quote_volume", Float, nullable=False),
    Column("n_trades", Integer, nullable=False),
)

history = Table(
    "history",
    metadata,
    Column("symbol", String(SYMBOL_KEY_LEN), primary_key=True),
    Column("interval", String(4), primary_key=True),
    Column("from_s", BigInteger, nullable=False),
    Column("to_s", BigInteger, nullable=False),
    Column("next_s", BigInteger, nullable=False),
    Column("trades_from_s", BigInteger, nullable=False),
    Column("state", String(12), nullable=False),
    Column("reason", String(200), nullable=False, default=""),
    Column("updated_ms", BigInteger, nullable=False),
)

feed_kind = Table(
    "feed_kind",
    metadata,
    Column("prefix", String(8), primary_key=True),
    Column("market", String(8), nullable=False),
    Column("stream", String(10), nullable=False),
    Column("recorded_ms", BigInteger, nullable=False),
)

screens = Table(
    "screens",
    metadata,
    Column("tf", String(4), primary_key=True),
    Column("window_bars", Integer, primary_key=True, autoincrement=False),
    Column("place", Integer, primary_key=True, autoincrement=False),
    Column("as_of_s", BigInteger, nullable=False),
    Column("computed_ms", BigInteger, nullable=False),
    Column("base", String(SYMBOL_KEY_LEN), nullable=False),
    Column("hedge", String(SYMBOL_KEY_LEN), nullable=False),
    Column("eg_stat", Float, nullable=False),
    Column("eg_p", Float, nullable=False),
    Column("beta", Float, nullable=False),
    Column("half_life", Float),
    Column("hurst", Float),
    Column("corr", Float),
    Column("z", Float),
    Column("bars", Integer, nullable=False),
)

notifications = Table(
    "notifications",
    metadata,
    Column("alert_id", Integer, primary_key=True, autoincrement=False),
    Column("target_key", String(16), primary_key=True),
    Column("target", String(200), nullable=False),
    Column("state", String(8), nullable=False, server_default=NotifyState.PENDING.value),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("last_attempt_ms", BigInteger),
    Column("last_error", String(200), nullable=False, server_default=""),
    Column("sent_ms", BigInteger),
    Index("ix_notifications_due", "state", "next_attempt_ms"),
)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)
