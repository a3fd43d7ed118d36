"""Relative times: compact for table cells ("in 12m", "LATE 1h05", "3d02h ago").

Pure functions of (timestamp, now). Every relative time the console shows, in the list and in the
detail pane, counts its minutes with :func:`minutes_until`: against the clock floored to the
minute, whole minutes toward zero. So the list and the detail say the same "in 7m" for the same
ETA at the same moment, and a row's text only changes when the minute does (idle refreshes
redraw nothing).
"""

from __future__ import annotations

from datetime import datetime, timezone


def compact_duration(seconds: float) -> str:
    """A duration in at most six cells: ``<1m``, ``59m``, ``23h59``, ``99d23h``, ``999d+``."""
    seconds = abs(seconds)
    if seconds < 60:
        return "<1m"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}"
    days, hours = divmod(hours, 24)
    if days < 100:
        return f"{days}d{hours:02d}h"
    return "999d+" if days > 999 else f"{days}d"


def minute_floor(now: datetime) -> datetime:
    """``now`` at the start of its minute (UTC)."""
    return datetime.fromtimestamp(now.timestamp() // 60 * 60, timezone.utc)


def minutes_until(when: datetime, now: datetime) -> int:
    """Whole minutes from ``now`` to ``when`` (negative: ``when`` is past): the one rounding rule
    of every relative time on screen.

    Counted from the start of ``now``'s minute and cut toward zero, so the answer only changes
    when the minute does, whatever the caller's clock resolution: an ETA of 18:38:43 is "in 8m"
    from 18:30:00 to 18:30:59, in the list (drawn once a minute) and in the detail (redrawn every
    30 s) alike. 0 means within the minute: "now".
    """
    return int((when - minute_floor(now)).total_seconds() / 60)


def relative(when: datetime | None, now: datetime) -> str:
    """``in 12m`` for the future, ``12m ago`` for the past, ``now`` within the minute, ``-`` when
    unknown (minutes by :func:`minutes_until`)."""
    if when is None:
        return "-"
    minutes = minutes_until(when, now)
    if minutes == 0:
        return "now"
    if minutes > 0:
        return f"in {compact_duration(minutes * 60)}"
    return f"{compact_duration(minutes * 60)} ago"


def scheduled_cell(when: datetime | None, now: datetime, *, open_order: bool) -> tuple[str, bool]:
    """The scheduled column: ``(text, late)``. An open order a minute or more past its time (by
    :func:`minutes_until`) reads ``LATE 12m``, so lateness is visible without colour."""
    if when is None:
        return "-", False
    minutes = minutes_until(when, now)
    if minutes < 0 and open_order:
        return f"LATE {compact_duration(minutes * 60)}", True
    return relative(when, now), False


def ago(seconds: float) -> str:
    """``updated 5s ago`` style ages, second-precise under a minute."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    return compact_duration(seconds)
