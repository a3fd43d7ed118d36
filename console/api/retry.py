"""Backoff and ``Retry-After``: shared by the client's GET retries and the bulk engine."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

# delta-seconds (RFC 9110: 1*DIGIT), with a decimal fraction tolerated.
_SECONDS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def parse_retry_after(value: str | None, *, now: datetime | None = None, cap: float = 3600.0) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    A date in the past gives 0; a malformed value gives None (the caller falls back to its own
    backoff); the result is capped so a hostile header cannot park us for a day silently.
    """
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if _SECONDS_RE.fullmatch(value):
        # ASCII digits only: str.isdigit() is also true for "²" (a latin-1 header byte), which
        # float() then refuses; float() alone would take "inf", "nan", "1_0" and "1e9".
        return min(float(value), cap)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return min(max(0.0, (when - now).total_seconds()), cap)


@dataclass(frozen=True)
class Backoff:
    """Capped exponential backoff with full jitter (AWS architecture blog's "full jitter")."""

    base: float = 0.5
    cap: float = 20.0
    max_attempts: int = 4

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Delay before retry number ``attempt`` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return (rng or random).uniform(0, ceiling)
