"""Time for the sandbox: an injectable clock and the API's timestamp format.

The fleet reads "now" from a clock that returns UNIX seconds. The default clock reads the wall
clock once and then advances with ``time.monotonic`` (a wall-clock jump does not reorder the
simulation); tests inject a :class:`ManualClock`, which only moves when told, so a given seed and
clock give byte-identical responses.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from console.session.clock import WorldClock

Clock = Callable[[], float]


class WallClock:
    """UNIX seconds that start at the wall clock and then follow the monotonic clock, ``speed``
    times as fast (``--speed 60``: a simulated hour per real minute, so a demo shows changes
    within seconds). ``epoch``: the UNIX seconds the simulation starts at (default: now); the
    console passes the epoch of its own clock, so that the two agree: this is that very clock
    (console/session/clock.py's :class:`WorldClock`), read as UNIX seconds.
    """

    def __init__(self, speed: float = 1.0, epoch: float | None = None) -> None:
        self._world = WorldClock(speed, epoch)
        self.speed = speed

    def __call__(self) -> float:
        return self._world.timestamp()


class ManualClock:
    """A clock that stands still until :meth:`advance` (or :meth:`set`) moves it."""

    def __init__(self, start: float | datetime) -> None:
        self.now = start.timestamp() if isinstance(start, datetime) else float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        self.now += seconds

    def set(self, when: float | datetime) -> None:
        value = when.timestamp() if isinstance(when, datetime) else float(when)
        if value < self.now:
            raise ValueError("a clock does not go backwards")
        self.now = value


def iso(ts: float) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ``, the form HyperTrack's own examples use.

    On the hot path of every list page, so the date part is cached per day.
    """
    ms = int(round(ts * 1000))
    secs, milli = divmod(ms, 1000)
    days, rem = divmod(secs, 86400)
    date = _DATES.get(days)
    if date is None:
        date = _DATES[days] = datetime.fromtimestamp(days * 86400, tz=timezone.utc).strftime("%Y-%m-%d")
    hours, rem = divmod(rem, 3600)
    minutes, seconds = divmod(rem, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{seconds:02d}.{milli:03d}Z"


_DATES: dict[int, str] = {}


def day_stamp(ts: float) -> str:
    """``YYYYMMDD`` (UTC) for order handles such as ``ORD-20261129-0042``."""
    return iso(ts)[:10].replace("-", "")
