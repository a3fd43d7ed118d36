"""The time the orders live in: the wall clock, or an embedded sandbox's simulated clock.

Everything the console judges against "now" in the orders' own terms (LATE, "in 10m", an ETA's
distance, the change detector's LATE cutoff, a reschedule's "+30m") reads one clock, the app's
``now``. For a real account that is the wall clock. With ``--sandbox-speed X`` the embedded
sandbox's clock runs X times as fast (a simulated hour a real minute); the console's clock must
then run with it, or a demo's orders would never look late while the simulated day races on.
:class:`WorldClock` is that clock: it starts at ``epoch`` (UNIX seconds, the same value the
sandbox is given, so both agree from the start) and follows the monotonic clock ``speed`` times
as fast; the sandbox's ``WallClock`` (console/sandbox/clock.py) is this clock read as UNIX
seconds.

Durations that are about the supervisor's own time (how long ago the list was updated) are real
seconds: :func:`real_seconds` turns a span of this clock back into them.

No Textual here (pyproject.toml's import contracts).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone


class WorldClock:
    """``WorldClock(speed=1.0, epoch=None)``: a callable giving the world's time (UTC)."""

    def __init__(self, speed: float = 1.0, epoch: float | None = None) -> None:
        if not speed > 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self.epoch = time.time() if epoch is None else epoch
        # The monotonic reading at ``epoch``: later readings are measured from it, so a jump of
        # the wall clock does not move this one.
        self._origin = time.monotonic() - (time.time() - self.epoch)

    def timestamp(self) -> float:
        return self.epoch + (time.monotonic() - self._origin) * self.speed

    def __call__(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), timezone.utc)


def real_seconds(clock: Callable[[], datetime], seconds: float) -> float:
    """A span of ``clock``'s time in real seconds (the same for any clock without a speed)."""
    return seconds / getattr(clock, "speed", 1.0)


__all__ = ["WorldClock", "real_seconds"]
