"""Storage layer of pairwatch: schema, engine factory and repositories (a leaf package).

Everything that touches the database goes through here; it imports SQLAlchemy and pandas and
nothing else of ours, so the dashboard can use it without pulling in the ingest machinery.
Repositories are plain functions taking a SQLAlchemy ``Connection`` (writes run in the caller's
transaction) and returning pandas frames.
"""

from ingest.storage.alerts import insert_alerts, last_alert_times, read_alerts
from ingest.storage.bars import (
    BAR_COLUMNS,
    aggregate_trades,
    id_span,
    last_bar_time,
    merge_bars,
    read_trade_bars,
    rebuild_bars,
)
from ingest.storage.completeness import Completeness, completeness, completeness_of
from ingest.storage.engine import make_engine
from ingest.storage.errors import (
    DatabaseLostError,
    NotInitialisedError,
    SchemaVersionError,
    StorageError,
)
from ingest.storage.history import (
    KLINE_INTERVALS,
    HistoryRow,
    approx_duration,
    first_trade_second,
    insert_klines,
    kline_span,
    note_imported_klines,
    read_bars,
    read_history,
    save_history,
)
from ingest.storage.identity import FileWatch
from ingest.storage.kind import claim_feed_kind
from ingest.storage.migrations import check_schema
from ingest.storage.notifications import (
    DueNotification,
    NotifySummary,
    abandon_other_targets,
    due_notifications,
    enqueue_notifications,
    notification_summary,
    record_attempt,
)
from ingest.storage.probe import probe_schema
from ingest.storage.records import (
    REJECT_KINDS,
    Gap,
    GapState,
    LinkState,
    NotifyState,
    RejectKind,
    Trade,
    reject_column,
)
from ingest.storage.rules import rule_states_by_rule, upsert_rule_states
from ingest.storage.screens import SCREEN_FIELDS, StoredScreen, read_screen, save_screen
from ingest.storage.status import (
    close_gap,
    data_versions,
    note_gap_attempt,
    open_gap,
    read_gaps,
    read_status,
    upsert_status,
)
from ingest.storage.trades import (
    delete_trades_before,
    insert_trades,
    last_trades,
    trade_summary,
    trades_between_times,
)

__all__ = [
    "BAR_COLUMNS",
    "KLINE_INTERVALS",
    "REJECT_KINDS",
    "SCREEN_FIELDS",
    "Completeness",
    "DatabaseLostError",
    "DueNotification",
    "FileWatch",
    "Gap",
    "GapState",
    "HistoryRow",
    "LinkState",
    "NotInitialisedError",
    "NotifyState",
    "NotifySummary",
    "RejectKind",
    "SchemaVersionError",
    "StorageError",
    "StoredScreen",
    "Trade",
    "abandon_other_targets",
    "aggregate_trades",
    "approx_duration",
    "check_schema",
    "claim_feed_kind",
    "close_gap",
    "completeness",
    "completeness_of",
    "data_versions",
    "delete_trades_before",
    "due_notifications",
    "enqueue_notifications",
    "first_trade_second",
    "id_span",
    "insert_alerts",
    "insert_klines",
    "insert_trades",
    "kline_span",
    "last_alert_times",
    "last_bar_time",
    "last_trades",
    "make_engine",
    "merge_bars",
    "note_gap_attempt",
    "note_imported_klines",
    "notification_summary",
    "open_gap",
    "probe_schema",
    "read_alerts",
    "read_bars",
    "read_gaps",
    "read_history",
    "read_screen",
    "read_status",
    "read_trade_bars",
    "rebuild_bars",
    "record_attempt",
    "reject_column",
    "rule_states_by_rule",
    "save_history",
    "save_screen",
    "trade_summary",
    "trades_between_times",
    "upsert_rule_states",
    "upsert_status",
]
