"""The world's clock (console/session/clock.py): the wall clock, or a fast sandbox's."""

from __future__ import annotations

import time
from datetime import datetime, timezone

import pytest

from console.sandbox.clock import WallClock
from console.session.clock import WorldClock, real_seconds


def test_it_starts_at_its_epoch_and_runs_at_its_speed() -> None:
    epoch = time.time() - 2.0  # two real seconds ago
    clock = WorldClock(60, epoch)
    elapsed = clock.timestamp() - epoch
    assert 115 <= elapsed <= 125 + 60 * 0.5  # two real seconds: two simulated minutes (and a little)
    assert abs(clock().timestamp() - clock.timestamp()) < 60 * 0.5
    assert clock().tzinfo is timezone.utc
    assert abs(WorldClock().timestamp() - time.time()) < 0.5  # speed 1 from now: the wall clock


def test_it_agrees_with_the_sandbox_s_clock_given_the_same_epoch() -> None:
    clock = WorldClock(600)
    sandbox = WallClock(600, clock.epoch)
    for _ in range(3):
        a, b, c = clock.timestamp(), sandbox(), clock.timestamp()
        # Read in turn: the sandbox's reading lies between the two others, give or take the
        # microseconds of reading the two system clocks at each one's start (times 600).
        assert a - 0.05 <= b <= c + 0.05


def test_a_span_of_a_fast_clock_is_told_in_real_seconds() -> None:
    assert real_seconds(WorldClock(60), 120.0) == 2.0
    assert real_seconds(lambda: datetime.now(timezone.utc), 120.0) == 120.0


def test_a_speed_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError):
        WorldClock(0)
