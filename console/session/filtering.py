"""What the list shows: the text filter (``/``) and the quick filters by risk and status.

No Textual here. A :class:`ViewFilter` is a value (text, lowest risk, status); the app keeps one
and hands :meth:`ViewFilter.row_filter` to the order table, which does the filtering:

- The text is plain text, matched case-insensitively as a substring of each row's search text
  (handle, worker, ops group, status, address, metadata values). It is never a regular
  expression or a pattern: ``.*``, ``[`` or ``\\`` match themselves, so no input can crash or
  slow the filter. Leading and trailing spaces are ignored; spaces inside are matched.
- The text filter is a :class:`~console.session.table.TextFilter`: the table scans one joined
  string with C-speed matching, and a keystroke that extends the text re-checks only the rows
  already shown. For that, the risk/status part (``also``) must be the *same object* from one
  keystroke to the next: :func:`_also` memoises it per (risk, status).
- Nothing here re-sorts: filtering keeps the table's order.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

from console.api.vocab import RiskLevel
from console.api.sanitize import sanitize
from console.session.table import RowFilter, TextFilter

#: The risk quick filters: key -> lowest worst-risk level shown (None: every row).
RISK_KEYS: dict[str, RiskLevel | None] = {
    "1": RiskLevel.RED,
    "2": RiskLevel.YELLOW,
    "0": None,
}

_RISK_WORDS = {
    None: "all",
    RiskLevel.RED: "red",
    RiskLevel.YELLOW: "red+yellow",
    RiskLevel.GREEN: "red+yellow+green",
    RiskLevel.UNKNOWN: "all",
}


def risk_word(min_risk: RiskLevel | None) -> str:
    """``all``, ``red`` or ``red+yellow``: how the view bar names a risk filter."""
    return _RISK_WORDS[min_risk]


@dataclass(frozen=True)
class ViewFilter:
    """The list's filter: ``text`` (as typed), the lowest worst-risk shown, one status."""

    text: str = ""
    min_risk: RiskLevel | None = None
    status: str | None = None

    @property
    def needle(self) -> str:
        """The text as it is matched: trimmed, lower-cased, and with any control character
        escaped exactly as the rows show it (the search texts hold the sanitized values)."""
        return sanitize(self.text.strip()).lower()

    @property
    def active(self) -> bool:
        return bool(self.needle) or self.min_risk not in (None, RiskLevel.UNKNOWN) or self.status is not None

    def with_text(self, text: str) -> "ViewFilter":
        return replace(self, text=text)

    def with_risk(self, min_risk: RiskLevel | None) -> "ViewFilter":
        return replace(self, min_risk=min_risk)

    def with_status(self, status: str | None) -> "ViewFilter":
        return replace(self, status=status)

    def row_filter(self) -> RowFilter | None:
        """What :meth:`OrderTable.set_filter` takes: None (every row) or a :class:`TextFilter`
        (its text may be empty: the risk/status part alone). Always a TextFilter, so that the
        first keystroke after ``1`` narrows the red rows rather than scanning them all again."""
        also = _also(self.min_risk, self.status)
        needle = self.needle
        if not needle and also is None:
            return None
        return TextFilter(needle, also)


@lru_cache(maxsize=64)
def _also(min_risk: RiskLevel | None, status: str | None) -> RowFilter | None:
    """The risk/status part of a filter, one object per combination (see the module doc)."""
    if min_risk in (None, RiskLevel.UNKNOWN):
        if status is None:
            return None

        def status_only(row) -> bool:
            return row.status == status

        return status_only
    if status is None:

        def risk_only(row) -> bool:
            return row.worst >= min_risk

        return risk_only

    def risk_and_status(row) -> bool:
        return row.worst >= min_risk and row.status == status

    return risk_and_status
