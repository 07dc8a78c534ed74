"""Real-browser tests: Playwright driving Debian's chromium against gunicorn + simulator."""

from __future__ import annotations

import importlib.util
import shutil

import pytest


def require_browser() -> None:
    """Skip the calling test module, with the reason, when chromium or playwright is missing."""
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (pip install playwright)", allow_module_level=True)
    if shutil.which("chromium") is None:
        pytest.skip(
            "no chromium on PATH (apt-get install --no-install-recommends chromium)",
            allow_module_level=True,
        )
