"""Compact relative times for table cells ("in 12m", "LATE 1h05", "3d02h ago").

Pure functions of (timestamp, now): the list renders against a clock floored to the minute, so a
row's text only changes when the minute does (and idle refreshes redraw nothing).
"""

from __future__ import annotations

from datetime import datetime


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


def relative(when: datetime | None, now: datetime) -> str:
    """``in 12m`` for the future, ``12m ago`` for the past, ``-`` when unknown."""
    if when is None:
        return "-"
    delta = (when - now).total_seconds()
    if delta >= 0:
        return f"in {compact_duration(delta)}"
    return f"{compact_duration(delta)} ago"


def scheduled_cell(when: datetime | None, now: datetime, *, open_order: bool) -> tuple[str, bool]:
    """The scheduled column: ``(text, late)``. An open order past its time reads ``LATE 12m``,
    so lateness is visible without colour."""
    if when is None:
        return "-", False
    delta = (when - now).total_seconds()
    if delta < 0 and open_order:
        return f"LATE {compact_duration(delta)}", True
    return relative(when, now), False


def ago(seconds: float) -> str:
    """``updated 5s ago`` style ages, second-precise under a minute."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{int(seconds)}s"
    return compact_duration(seconds)
