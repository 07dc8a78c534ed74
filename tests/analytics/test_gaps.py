"""The one gap-overlap rule: which bars a hole in the trade record touches (hand-computed)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analytics.gaps import bars_in_gaps, gaps_in_window


def gaps(*rows: tuple[float | None, float | None, int]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["from_ms", "to_ms", "detected_ms"])


def test_a_bar_meets_the_span_between_the_trades_either_side() -> None:
    # trades at 10.5 s and 12.2 s: bars 10, 11 and 12 are touched, 9 and 13 are not
    hole = gaps((10_500, 12_200, 99_000))
    assert bars_in_gaps([9, 10, 11, 12, 13], 1, hole).tolist() == [False, True, True, True, False]


def test_a_span_ending_on_a_bar_start_touches_that_bar_only_from_the_left() -> None:
    hole = gaps((5_000, 10_000, 99_000))
    assert bars_in_gaps([4, 5, 9, 10, 11], 1, hole).tolist() == [False, True, True, True, False]


def test_missing_trade_before_starts_the_span_at_the_trade_after() -> None:
    hole = gaps((None, 30_000, 99_000))
    assert bars_in_gaps([29, 30, 31], 1, hole).tolist() == [False, True, False]


def test_no_trade_times_at_all_uses_the_detection_instant() -> None:
    hole = gaps((None, None, 61_000))
    assert bars_in_gaps([0, 60, 120], 60, hole).tolist() == [False, True, False]


def test_a_whole_window_is_one_bar_of_its_own_length() -> None:
    hole = gaps((3_600_500, 3_600_900, 0))
    assert bars_in_gaps([0], 3_600, hole).tolist() == [False]
    assert bars_in_gaps([0], 3_601, hole).tolist() == [True]


def test_no_gaps_blocks_nothing() -> None:
    assert not bars_in_gaps(np.arange(5), 1, gaps()).any()


def test_gaps_in_window_keeps_the_gaps_that_meet_it() -> None:
    ledger = gaps((1_000, 2_000, 0), (50_000, 51_000, 0), (None, None, 9_500))
    assert gaps_in_window(5, 5, ledger).index.tolist() == [2]
    assert gaps_in_window(0, 60, ledger).index.tolist() == [0, 1, 2]
