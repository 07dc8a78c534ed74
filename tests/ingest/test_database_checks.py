"""FileWatch and probe_schema on real SQLite files: removed, replaced, moved, overwritten."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from ingest.storage import DatabaseLostError, FileWatch, StorageError, make_engine, probe_schema
from ingest.storage.identity import LOST


@pytest.fixture
def engine(sqlite_url: str) -> Iterator[Engine]:
    """A database in use: its pooled connection keeps the file open, as a running process's."""
    engine = make_engine(sqlite_url)
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    yield engine
    engine.dispose()


def path_of(engine: Engine) -> Path:
    return Path(str(engine.url.database))


def lost_reason(watch: FileWatch) -> str:
    with pytest.raises(DatabaseLostError) as caught:
        watch.check()
    return str(caught.value)


def test_the_same_file_passes(engine: Engine) -> None:
    watch = FileWatch.of(engine)
    assert watch is not None
    watch.check()
    assert watch.open_links() == 1


def test_a_removed_file_is_named_with_what_happened(engine: Engine) -> None:
    watch = FileWatch.of(engine)
    assert watch is not None
    path_of(engine).unlink()
    reason = lost_reason(watch)
    assert reason.startswith(f"{LOST}: {path_of(engine)} (no file is there now; ")
    assert "the file this process has open is deleted" in reason


def test_a_file_moved_over_the_path_is_another_file(engine: Engine, tmp_path: Path) -> None:
    watch = FileWatch.of(engine)
    assert watch is not None
    other = tmp_path / "other.db"
    sqlite3.connect(other).close()
    os.replace(other, path_of(engine))
    assert "another file is there now; the file this process has open is deleted" in lost_reason(
        watch
    )


def test_a_renamed_file_lives_on_under_another_name(engine: Engine, tmp_path: Path) -> None:
    watch = FileWatch.of(engine)
    assert watch is not None
    path_of(engine).rename(tmp_path / "kept.db")
    reason = lost_reason(watch)
    assert "no file is there now; the file this process has open lives on under another name" in (
        reason
    )


def test_a_file_this_process_does_not_hold_says_nothing_of_links(tmp_path: Path) -> None:
    path = tmp_path / "closed.db"
    sqlite3.connect(path).close()
    watch = FileWatch.of(create_engine(f"sqlite:///{path}"))
    assert watch is not None and watch.open_links() is None
    path.unlink()
    assert lost_reason(watch).endswith(
        "(no file is there now); restore it or start over, then restart pairwatch"
    )


@pytest.mark.parametrize(
    "url", ["sqlite://", "sqlite:///:memory:", "postgresql+psycopg://u@127.0.0.1:9/none"]
)
def test_no_file_no_watch(url: str) -> None:
    assert FileWatch.of(create_engine(url)) is None


def test_probe_reads_a_sound_database(engine: Engine) -> None:
    probe_schema(engine)


def test_probe_reads_the_file_afresh_past_the_pooled_cache(engine: Engine) -> None:
    path = path_of(engine)
    version = text("SELECT max(version) FROM schema_version")
    with engine.connect() as conn:
        before = conn.execute(version).scalar()
    for name in (path, path.with_name(f"{path.name}-wal")):  # in place, as the red team did
        with name.open("r+b") as handle:
            handle.write(os.urandom(name.stat().st_size))
    with engine.connect() as conn:  # the pooled connection answers from its cache
        assert conn.execute(version).scalar() == before
    with pytest.raises(StorageError, match=r"^database unreadable: file is not a database$"):
        probe_schema(engine)


def test_probe_refuses_a_file_without_the_schema(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    with pytest.raises(StorageError, match="no such table: schema_version"):
        probe_schema(create_engine(f"sqlite:///{path}"))
