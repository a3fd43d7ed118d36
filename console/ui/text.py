"""The one place where untrusted values become things the UI can show.

Strings from the API (addresses, metadata, handles, error messages) may contain anything,
including Rich/Textual markup such as ``[/oops]`` (a MarkupError crash) or
``[@click=app.quit]x[/]`` (a live action). Widgets must therefore never receive them as plain
``str`` (which Textual parses as markup): they get a :class:`rich.text.Text` made here, which is
never parsed. :func:`safe` also re-runs the control-character sanitizer, so text that did not come
through a model (exception messages, raw dicts) is safe too.

Formatting helpers for times, distances, durations and speeds live here as well, so every part
of the UI says "12m ago" or "2.3 km" the same way.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

from rich.style import Style
from rich.text import Text

from console.api.vocab import RiskLevel
from console.risk_marks import MARKERS, MARKERS_ASCII
from console.api.sanitize import sanitize
from console.ui.timefmt import minutes_until

#: Shown where a value is absent.
MISSING = "—"
MISSING_ASCII = "-"


def safe(value: Any, *, limit: int | None = None, ellipsis: str = "…") -> str:
    """``value`` as a single-line, control-free string (None → "").

    Containers are flattened to compact JSON so that a nested metadata value is shown as data,
    not as Python's repr. ``limit`` truncates to that many characters, ending in ``ellipsis``.
    """
    if value is None:
        out = ""
    elif isinstance(value, str):
        out = value
    else:
        out = _flatten(value, 0)
    out = sanitize(out)  # also turns \n and \t into visible escapes: one value, one line
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - len(ellipsis))] + ellipsis
    return out


_MAX_FLATTEN_DEPTH = 8


def _flatten(value: Any, depth: int) -> str:
    """JSON-like, but strings are shown as they are (no backslash escaping), so an already
    sanitized ``\\x1b`` reads ``\\x1b`` and not ``\\\\x1b``."""
    if depth > _MAX_FLATTEN_DEPTH:
        return "…"
    if isinstance(value, str):
        return f'"{value}"' if depth else value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        items = ", ".join(f"{_flatten(str(k), depth + 1)}: {_flatten(v, depth + 1)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flatten(v, depth + 1) for v in value) + "]"
    try:
        return str(value)
    except ValueError:  # an int of more than 4,300 digits refuses str() (CVE-2020-10735 limit)
        return "(number too long to show)"


def text(
    value: Any, style: str | Style | None = None, *, limit: int | None = None, ellipsis: str = "…"
) -> Text:
    """A :class:`Text` holding ``safe(value)`` literally (markup is never parsed)."""
    return Text(safe(value, limit=limit, ellipsis=ellipsis), style=style or "")


def short_id(value: Any, length: int = 8, *, ellipsis: str = "…") -> str:
    """The first characters of a long id (a UUID route handle): ``812a1ea5…``."""
    s = safe(value)
    return s if len(s) <= length + len(ellipsis) else s[:length] + ellipsis


# --------------------------------------------------------------------------- numbers


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None: API numbers can be absurd (a 400-digit integer
    cannot even be converted to a float, and would raise OverflowError in arithmetic)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def format_duration(seconds: float | None, *, missing: str = MISSING) -> str:
    """``45s``, ``12m``, ``1h 05m``, ``2d 3h`` — truncated, never rounded up."""
    seconds = finite(seconds)
    if seconds is None:
        return missing
    s = int(abs(seconds))
    sign = "-" if seconds < 0 and s else ""
    if s < 60:
        return f"{sign}{s}s"
    minutes, _ = divmod(s, 60)
    if minutes < 60:
        return f"{sign}{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{sign}{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{sign}{days}d {hours}h"


def format_distance(metres: float | None, *, missing: str = MISSING) -> str:
    """``23 m``, ``2.3 km``, ``23 km``."""
    metres = finite(metres)
    if metres is None:
        return missing
    if abs(metres) < 1000:
        return f"{metres:.0f} m"
    km = metres / 1000
    if abs(km) < 100:
        return f"{km:.1f} km"
    return f"{km:,.0f} km"


def format_speed(metres_per_second: float | None, *, missing: str = MISSING) -> str:
    """In km/h: ``4.3 km/h`` below 10 km/h, ``27 km/h`` above."""
    metres_per_second = finite(metres_per_second)
    if metres_per_second is None:
        return missing
    kmh = metres_per_second * 3.6
    return f"{kmh:.1f} km/h" if abs(kmh) < 10 else f"{kmh:,.0f} km/h"


def format_coordinate(lon: float, lat: float) -> str:
    """Latitude first, as people read positions; 5 decimals is about a metre."""
    return f"{lat:.5f}, {lon:.5f}"


# --------------------------------------------------------------------------- times


def relative_time(
    dt: datetime | None, now: datetime, *, deadline: bool = False, missing: str = MISSING
) -> str:
    """``in 5m``, ``12m ago``, ``now`` (within the minute); with ``deadline=True`` a past time
    reads ``late 7m``. Minutes counted as the order list counts them
    (:func:`console.ui.timefmt.minutes_until`)."""
    if dt is None:
        return missing
    # The minutes are the order list's: one rounding rule for both panes.
    minutes = minutes_until(dt, now)
    if minutes == 0:
        return "now"
    if minutes > 0:
        return f"in {format_duration(minutes * 60)}"
    if deadline:
        return f"late {format_duration(-minutes * 60)}"
    return f"{format_duration(-minutes * 60)} ago"


def format_clock(dt: datetime | None, now: datetime, *, missing: str = MISSING) -> str:
    """A UTC wall-clock time: ``16:45:00`` today, ``Mar 14 16:45`` on another day."""
    if dt is None:
        return missing
    dt = dt.astimezone(timezone.utc)
    if dt.date() == now.astimezone(timezone.utc).date():
        return dt.strftime("%H:%M:%S")
    if dt.year == now.astimezone(timezone.utc).year:
        return dt.strftime("%b %d %H:%M")
    return dt.strftime("%Y-%m-%d %H:%M")


# --------------------------------------------------------------------------- risk levels

def risk_glyph(level: RiskLevel, *, ascii: bool = False) -> str:
    """The worst-risk marker of ``level``: one shape per level, so a level reads without colour
    (NO_COLOR, monochrome terminals, colour-blind supervisors). The shapes are
    :mod:`console.risk_marks`' (shared with the headless output); the ASCII ones are no badge
    letter, so a marker beside the badges never reads as one."""
    return (MARKERS_ASCII if ascii else MARKERS)[level]


def risk_word(level: RiskLevel) -> str:
    """``green``, ``yellow``, ``red`` or ``unknown``."""
    return level.name.lower()
