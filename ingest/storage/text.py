"""Text that came from the network, made safe to store and show: one line, bounded length.

Close reasons, error messages and REST answers reach ``feed_status``, ``gaps`` and ``history``
from servers pairwatch does not control; a CR or LF inside one could start a new line in a log,
a CSV record or a page. ``display_text`` replaces every control character with a space and cuts
the text to the column's width, and the repositories apply it to every such column.
"""

from __future__ import annotations

import re

REASON_WIDTH = 200
"""Width of the ``reason``-like columns."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def display_text(value: str | None, limit: int = REASON_WIDTH) -> str:
    """``value`` with control characters as spaces, at most ``limit`` characters."""
    return _CONTROL.sub(" ", value or "")[:limit]
