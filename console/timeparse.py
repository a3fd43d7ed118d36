"""Times typed by a supervisor (reschedule): ``+30m``, ``+2h``, ``+1h30m``, ``14:30`` and ISO 8601.

:func:`parse_when` is the one reader, shared by the headless ``reschedule --at`` and the UI's
time input, so both accept and refuse exactly the same things with the same words.

Invariants of the result: it is timezone-aware and strictly later than ``now``. A wall-clock
time (``14:30``) means today in the given zone and is refused, not rolled over to tomorrow,
when it has already passed: a silent roll-over would reschedule an order a day later than
the supervisor meant. ISO 8601 without an offset is read in the given zone; with an offset
(or ``Z``) it keeps that offset.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, tzinfo

__all__ = ["parse_when", "EXAMPLES"]

#: Shown in error messages so the person sees every accepted form.
EXAMPLES = "+30m, +2h, +1h30m, 14:30 or 2026-12-08T14:30 (ISO 8601, offset optional)"

_RELATIVE = re.compile(r"\+\s*(?:(?P<h>\d{1,3})\s*h)?\s*(?:(?P<m>\d{1,4})\s*m(?:in)?)?", re.IGNORECASE)
_CLOCK = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})")
# A date and a time; fromisoformat does the rest (offsets, seconds, fractions, "Z").
_ISO_SHAPE = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{1,2}:\d{2}.*")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")

_MAX_TEXT = 64


def _shown(text: str) -> str:
    """The input as it may be echoed back: printable ASCII only, and short."""
    safe = "".join(ch if " " <= ch <= "~" else "?" for ch in text[:_MAX_TEXT])
    return safe + ("..." if len(text) > _MAX_TEXT else "")


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip() or moment.isoformat()


def parse_when(text: str, *, now: datetime, tz: tzinfo) -> datetime:
    """The moment ``text`` names, aware, strictly after ``now``.

    Raises :class:`ValueError` with a message meant for the person who typed ``text`` when it
    cannot be read or names a time that is not in the future. ``now`` must be aware.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise TypeError("now must be a timezone-aware datetime")
    local_now = now.astimezone(tz)
    raw = text.strip()
    if not raw:
        raise ValueError(f"No time given. Use {EXAMPLES}.")

    if raw.startswith("+"):
        match = _RELATIVE.fullmatch(raw)
        if not match or (match["h"] is None and match["m"] is None):
            raise ValueError(f"Cannot read {_shown(raw)!r} as a relative time. Use e.g. +30m, +2h or +1h30m.")
        delta = timedelta(hours=int(match["h"] or 0), minutes=int(match["m"] or 0))
        if delta <= timedelta(0):
            raise ValueError(f"{_shown(raw)!r} is not in the future: give at least one minute, e.g. +30m.")
        return local_now + delta

    match = _CLOCK.fullmatch(raw)
    if match:
        hour, minute = int(match["h"]), int(match["m"])
        if hour > 23 or minute > 59:
            raise ValueError(f"{_shown(raw)!r} is not a time of day (00:00 to 23:59).")
        moment = local_now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if moment <= now:
            raise ValueError(
                f"{hour:02d}:{minute:02d} has already passed today (it is {local_now:%H:%M} now). "
                f"For tomorrow, give the date: {(local_now + timedelta(days=1)):%Y-%m-%d}T{hour:02d}:{minute:02d}."
            )
        return moment

    if _DATE_ONLY.fullmatch(raw):
        raise ValueError(f"{_shown(raw)!r} is a date without a time. Add the time, e.g. {raw}T14:30.")
    if _ISO_SHAPE.fullmatch(raw):
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            raise ValueError(f"{_shown(raw)!r} is not a valid date and time. Use {EXAMPLES}.") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=tz)
        if moment <= now:
            raise ValueError(f"{_shown(raw)!r} is in the past (it is {_fmt(local_now)} now).")
        return moment

    raise ValueError(f"Cannot read {_shown(raw)!r} as a time. Use {EXAMPLES}.")
