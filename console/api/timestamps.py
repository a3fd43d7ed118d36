"""Lenient timestamp parsing.

HyperTrack sends ``2023-10-26T01:39:45.503Z``; some values have no fraction, webhooks use six
digits, and converted specs show ``2023-10-26 01:39:45.503000+00:00``. All of these parse. A value
that is not a timestamp at all becomes ``None`` rather than failing the whole order: a bad
``scheduled_at`` must not hide the order from the supervisor.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

_TS_RE = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2}|UTC)?\s*$"
)


def parse_timestamp(value: object) -> datetime | None:
    """Parse an API timestamp into an aware UTC datetime, or return None."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str) or len(value) > 64:
        return None
    if len(value) == 24 and value[10] == "T" and value[23] == "Z":
        # The API's own form (YYYY-MM-DDTHH:MM:SS.mmmZ): C-speed parsing, since a 50k-order
        # list carries a few hundred thousand of these.
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            pass
    m = _TS_RE.match(value)
    if m is None:
        return None
    year, month, day, hour, minute, second, frac, zone = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0), micro
        )
    except ValueError:
        return None
    if zone in (None, "Z", "z", "UTC"):
        return dt.replace(tzinfo=timezone.utc)
    sign = 1 if zone[0] == "+" else -1
    digits = zone[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:])
    if hours > 23 or minutes > 59:
        return None  # "+25:99" is not an offset: garbage, not a time 26 hours away
    offset_minutes = sign * (hours * 60 + minutes)
    from datetime import timedelta

    try:
        return (dt - timedelta(minutes=offset_minutes)).replace(tzinfo=timezone.utc)
    except OverflowError:
        return None


def iso_utc(dt: datetime) -> str:
    """ISO 8601 in UTC with a ``Z`` (``2026-12-07T14:30:00Z``; microseconds kept when there are
    any): what a request body, the journal's parameters and ``watch --json`` write. A naive time
    is read as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


def format_timestamp(dt: datetime) -> str:
    """The API's own form: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` in UTC."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
