"""RateLimitedLog: one line per kind of error and minute, with the count of those left out."""

from __future__ import annotations

import logging

import pytest

from ingest import ratelog
from ingest.ratelog import RateLimitedLog

NAME = "tests.ratelog"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(log: RateLimitedLog, error: Exception, batch: int = 3) -> None:
    try:
        raise error
    except Exception:
        log.exception("write of %d trades failed; retrying them", batch)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.ERROR, logger=NAME)
    return caplog


def test_repeats_within_a_minute_are_counted_and_reported_with_the_next_line(logged) -> None:
    clock = Clock()
    log = RateLimitedLog(logging.getLogger(NAME), clock=clock)
    for tick in range(120):  # twice a second for a minute
        clock.now = 1000.0 + tick / 2
        fail(log, OSError("file is not a database"), batch=tick)
    assert [r.getMessage() for r in logged.records] == ["write of 0 trades failed; retrying them"]
    assert logged.records[0].exc_info is not None  # the first one keeps its traceback
    clock.now = 1060.5
    fail(log, OSError("file is not a database"), batch=7)
    assert len(logged.records) == 2
    assert logged.records[1].getMessage() == (
        "write of 7 trades failed; retrying them (119 more like this in the last 60 s)"
    )
    assert logged.records[1].exc_info is not None and logged.records[1].funcName == "fail"


def test_a_different_error_or_message_is_logged_at_once(logged) -> None:
    log = RateLimitedLog(logging.getLogger(NAME), clock=Clock())
    fail(log, OSError("file is not a database"))
    fail(log, OSError("database is locked"))
    fail(log, ValueError("file is not a database"))
    try:
        raise OSError("file is not a database")
    except OSError:
        log.exception("backfill pass failed; retrying")
    assert len(logged.records) == 4


def test_a_lone_error_after_a_quiet_minute_carries_no_count(logged) -> None:
    clock = Clock()
    log = RateLimitedLog(logging.getLogger(NAME), clock=clock)
    fail(log, OSError("disk I/O error"))
    clock.now += 90
    fail(log, OSError("disk I/O error"))
    assert [r.getMessage() for r in logged.records] == [
        "write of 3 trades failed; retrying them"
    ] * 2


def test_kinds_whose_minute_is_over_are_forgotten_past_the_limit(logged) -> None:
    clock = Clock()
    log = RateLimitedLog(logging.getLogger(NAME), clock=clock)
    for n in range(ratelog.MAX_KINDS):
        fail(log, OSError(f"error {n}"))
    clock.now += 61
    for n in range(ratelog.MAX_KINDS):
        fail(log, OSError(f"other error {n}"))
    assert len(logged.records) == 2 * ratelog.MAX_KINDS  # every new kind is logged
    assert len(log._kinds) <= ratelog.MAX_KINDS  # and memory stays bounded
