"""Alert-rule state: the alert worker's live view of each rule, one row per ``(pair, rule)``.

The worker owns the state machine; after each evaluation pass it writes here what it knows:
whether the rule is armed, the direction and bar time of its last firing, the z-score and time
of the last bar it evaluated, the rule's timeframe and when it wrote. Readers (the dashboard,
the API) show these rows as they are and never replay the rule themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select

from ingest.storage.dialect import upsert_insert
from ingest.storage.schema import rule_states

RULE_STATE_COLUMNS = tuple(c.name for c in rule_states.columns)
_KEY = ("pair", "rule")
_DEFAULTS = {"kind": "z", "streak": 0}
"""Values of the columns a z rule's writer need not name."""


def upsert_rule_states(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Replace the stored state of the given ``(pair, rule)`` rows (every column is written)."""
    if not rows:
        return
    statement = upsert_insert(conn, rule_states)
    columns = [name for name in RULE_STATE_COLUMNS if name not in _KEY]
    statement = statement.on_conflict_do_update(
        index_elements=list(_KEY), set_={name: statement.excluded[name] for name in columns}
    )
    values = [
        {name: row.get(name, _DEFAULTS.get(name)) for name in RULE_STATE_COLUMNS} for row in rows
    ]
    conn.execute(statement, values)


def rule_states_by_rule(conn: Connection) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Stored rows keyed by ``(pair, rule, timeframe)``, SQL NULL as None.

    The timeframe is part of the key because a row written while the rule watched another
    timeframe describes another rule: a lookup of the rule as configured now does not find it.
    """
    ordered = select(rule_states).order_by(rule_states.c.pair, rule_states.c.rule)
    rows = conn.execute(ordered).mappings()
    return {(r["pair"], r["rule"], r["timeframe"]): dict(r) for r in rows}
