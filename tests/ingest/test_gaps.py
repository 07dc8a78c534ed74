"""Gap tracker: fresh, late and missing ids per symbol."""

from __future__ import annotations

from ingest.gaps import Gap, GapTracker
from ingest.storage.records import Trade


def trade(symbol: str, trade_id: int, ts_ms: int = 0) -> Trade:
    return Trade(symbol, trade_id, ts_ms, 1.0, 1.0, False)


def test_first_trades_open_no_gap_and_contiguous_ids_advance() -> None:
    tracker = GapTracker()
    split = tracker.split([trade("A", 5), trade("A", 6), trade("B", 1)])
    assert [t.trade_id for t in split.fresh] == [5, 6, 1]
    assert split.gaps == [] and split.late == []
    assert tracker.last_id("A") == 6


def test_hole_in_ids_is_a_gap_with_bounding_times() -> None:
    tracker = GapTracker({"A": (10, 1000)})
    split = tracker.split([trade("A", 14, 2000), trade("A", 11, 1500)])
    assert split.gaps == [Gap("A", 12, 13, 1500, 2000)]
    assert tracker.last_id("A") == 14


def test_restart_after_downtime_detects_the_gap_from_stored_ids() -> None:
    tracker = GapTracker({"A": (100, 5)})
    split = tracker.split([trade("A", 150, 9)])
    assert split.gaps == [Gap("A", 101, 149, 5, 9)]


def test_repeated_and_old_ids_are_late_not_fresh() -> None:
    tracker = GapTracker({"A": (10, 0)})
    split = tracker.split([trade("A", 9), trade("A", 10), trade("A", 11)])
    assert [t.trade_id for t in split.late] == [9, 10]
    assert [t.trade_id for t in split.fresh] == [11]
