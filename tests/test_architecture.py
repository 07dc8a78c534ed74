"""The import arrows of DESIGN.md, enforced by reading every module's imports with ``ast``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO


def imports_of(path: Path) -> set[str]:
    """Top-level module names (and our own dotted names) imported by ``path``."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


def ours(names: set[str], *roots: str) -> set[str]:
    return {n for n in names if n.split(".")[0] in roots}


@pytest.mark.parametrize("path", modules("analytics"), ids=str)
def test_analytics_is_pure(path: Path) -> None:
    names = imports_of(path)
    assert not ours(names, "ingest", "dashboard", "wsgi")
    forbidden = {"sqlalchemy", "requests", "websocket", "socket", "time", "os", "pathlib", "io"}
    assert not {n.split(".")[0] for n in names} & forbidden


@pytest.mark.parametrize("path", modules("ingest/storage"), ids=str)
def test_storage_is_a_leaf(path: Path) -> None:
    """Storage imports only itself and the shared vocabulary (its bar columns)."""
    assert all(
        n.startswith("ingest.storage") or n == "analytics.vocabulary"
        for n in ours(imports_of(path), "ingest", "analytics", "dashboard")
    )


@pytest.mark.parametrize("path", modules("ingest/simulator"), ids=str)
def test_simulator_is_a_leaf(path: Path) -> None:
    """The offline exchange knows only Binance's protocol, none of pairwatch's code."""
    assert all(
        n.startswith("ingest.simulator")
        for n in ours(imports_of(path), "ingest", "analytics", "dashboard")
    )


def test_settings_import_only_the_vocabulary() -> None:
    """Config values are checked against ``analytics.vocabulary``, never a copy of it."""
    names = ours(imports_of(REPO / "ingest" / "settings.py"), "ingest", "analytics", "dashboard")
    assert names == {"analytics.vocabulary"}


def test_vocabulary_imports_nothing_of_ours() -> None:
    names = imports_of(REPO / "analytics" / "vocabulary.py")
    assert not ours(names, "ingest", "analytics", "dashboard")
    assert {n.split(".")[0] for n in names} <= {"collections", "types", "typing"}


@pytest.mark.parametrize("path", modules("ingest"), ids=str)
def test_ingest_never_imports_dashboard(path: Path) -> None:
    assert not ours(imports_of(path), "dashboard", "wsgi")


@pytest.mark.parametrize("path", modules("dashboard"), ids=str)
def test_dashboard_reads_only_through_storage_and_settings(path: Path) -> None:
    allowed = ("ingest.storage", "ingest.settings")
    assert all(n.startswith(allowed) for n in ours(imports_of(path), "ingest"))


def test_nothing_but_wsgi_and_tests_imports_dashboard() -> None:
    for package in ("analytics", "ingest"):
        for path in modules(package):
            assert not ours(imports_of(path), "dashboard"), path
    assert "dashboard.app" in imports_of(REPO / "wsgi.py")


def test_wsgi_does_not_start_an_ingestor() -> None:
    assert not ours(imports_of(REPO / "wsgi.py"), "ingest") - {"ingest.settings"}


def _calls(path: Path, name: str) -> list[ast.Call]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "id", None) == name or getattr(node.func, "attr", None) == name)
    ]


@pytest.mark.parametrize("path", modules("dashboard"), ids=str)
def test_dashboard_opens_the_database_read_only(path: Path) -> None:
    """The web tier never runs DDL: every engine it makes says ``create=False``, and it never
    reaches the schema machinery (``ensure_schema``, ``metadata.create_all``, migrations)."""
    for call in _calls(path, "make_engine"):
        create = [k for k in call.keywords if k.arg == "create"]
        assert create and isinstance(create[0].value, ast.Constant), path
        assert create[0].value.value is False, path
    assert not _calls(path, "ensure_schema") and not _calls(path, "create_all"), path
    assert not {n for n in imports_of(path) if "migrations" in n or n.endswith("schema")}, path


def test_the_dashboard_makes_an_engine_somewhere() -> None:
    """The read-only check above would pass vacuously if the engine moved out of sight."""
    assert any(_calls(path, "make_engine") for path in modules("dashboard"))
