"""Backend-specific INSERT construction behind one function.

SQLite and PostgreSQL both speak ``INSERT ... ON CONFLICT``, but SQLAlchemy exposes it through
dialect-specific ``insert`` constructs; ``upsert_insert`` picks the right one for a connection
so repositories stay backend-agnostic.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite


def upsert_insert(conn: Connection, table: Table) -> Any:
    """Return the dialect's ``insert(table)`` that supports ``on_conflict_*``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
