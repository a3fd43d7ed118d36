"""Sorting the order list by any column, from the keyboard (``o`` picks a column, ``O`` flips it).

No Textual here. A :class:`ViewSort` names a column and a direction; :meth:`ViewSort.key` gives
the key function and the ``reverse`` flag :meth:`OrderTable.set_sort` takes. The table sorts
once when the sort changes and keeps the order through loads by splicing (never per keystroke).

Every key is total (it ends with the default key: worst risk, scheduled time, identity), so equal
values keep a stable, meaningful order, and rows without a value (no worker, no ETA) go last in
both directions. Descending sorts use the table's ``reverse`` flag with a key whose tie-break is
itself inverted, so that within one worker (say) the worst risk still comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.api.vocab import OPEN_STATUSES
from console.session.table import OrderRow, SortKey


@dataclass(frozen=True)
class SortColumn:
    name: str
    #: As the list header spells it (the risk badges' header is the eight letters).
    title: str
    #: What ascending and descending read as, e.g. ("earliest first", "latest first").
    directions: tuple[str, str]
    #: True when the natural direction shows the largest values first (risk: worst first), for
    #: the short form's arrow.
    natural_descending: bool = False

    def arrow(self, reverse: bool, *, ascii: bool = False) -> str:
        """``↓`` when the largest values come first, ``↑`` when the smallest (ASCII: ``desc`` and
        ``asc``, since a ``v`` would read as a letter)."""
        descending = self.natural_descending != reverse
        if ascii:
            return " desc" if descending else " asc"
        return "↓" if descending else "↑"


SORT_COLUMNS: tuple[SortColumn, ...] = (
    SortColumn("risk", "Risk", ("worst first", "best first"), natural_descending=True),
    SortColumn("handle", "Order", ("A-Z", "Z-A")),
    SortColumn("status", "Status", ("unplanned to done", "done to unplanned")),
    SortColumn("worker", "Worker", ("A-Z", "Z-A")),
    SortColumn("ops", "Ops group", ("A-Z", "Z-A")),
    SortColumn("scheduled", "Scheduled", ("earliest first", "latest first")),
    SortColumn("eta", "ETA", ("earliest first", "latest first")),
    SortColumn("address", "Destination", ("A-Z", "Z-A")),
)
_BY_NAME = {column.name: column for column in SORT_COLUMNS}


def sort_column(name: str) -> SortColumn:
    return _BY_NAME[name]


#: The order statuses go through, so "Status" sorts by progress rather than alphabetically.
_STATUS_RANK = {status: rank for rank, status in enumerate((*OPEN_STATUSES, "completed", "cancelled"))}


@dataclass(frozen=True)
class ViewSort:
    """The list's sort: a column name from :data:`SORT_COLUMNS` and a direction.

    ``reverse`` flips the column's natural direction (for "risk" the natural one is worst
    first, for times earliest first, for text A-Z).
    """

    column: str = "risk"
    reverse: bool = False

    def __post_init__(self) -> None:
        if self.column not in _BY_NAME:
            raise ValueError(f"unknown sort column {self.column!r}")

    @property
    def is_default(self) -> bool:
        return self.column == "risk" and not self.reverse

    def describe(self) -> str:
        """``risk, worst first``; ``scheduled, latest first``."""
        column = _BY_NAME[self.column]
        return f"{column.title.lower()}, {column.directions[1 if self.reverse else 0]}"

    def describe_short(self, *, ascii: bool = False) -> str:
        """``risk↓``; ``scheduled↑`` (ASCII ``risk desc``)."""
        column = _BY_NAME[self.column]
        return f"{column.title.lower()}{column.arrow(self.reverse, ascii=ascii)}"

    def key(self) -> tuple[SortKey | None, bool]:
        """(key function, reverse) for :meth:`OrderTable.set_sort`; (None, False) is the default."""
        if self.is_default:
            return None, False
        return _KEYS[self.column][1 if self.reverse else 0], self.reverse


# ---------------------------------------------------------------------------- key functions
#
# A row's default key (``row.sort_key``) is (-worst, scheduled timestamp or inf, handle, type,
# type index, attempt). Ascending keys append it as is; descending keys (sorted with reverse=True)
# append it with its first two parts negated, so ties still show the worst risk, then the
# earliest time, first.


def _desc_tiebreak(row: OrderRow) -> tuple:
    key = row.sort_key
    return (-key[0], -key[1], *key[2:])


def _text_keys(value: Callable[[OrderRow], str | None]) -> tuple[SortKey, SortKey]:
    def ascending(row: OrderRow) -> tuple:
        text = value(row)
        return (not text, text.casefold() if text else "", row.sort_key)

    def descending(row: OrderRow) -> tuple:
        text = value(row)
        return (bool(text), text.casefold() if text else "", _desc_tiebreak(row))

    return ascending, descending


def _time_keys(value: Callable[[OrderRow], Any]) -> tuple[SortKey, SortKey]:
    def ascending(row: OrderRow) -> tuple:
        when = value(row)
        return (when is None, when.timestamp() if when is not None else 0.0, row.sort_key)

    def descending(row: OrderRow) -> tuple:
        when = value(row)
        return (when is not None, when.timestamp() if when is not None else 0.0, _desc_tiebreak(row))

    return ascending, descending


def _status_rank(row: OrderRow) -> tuple[int, str]:
    return _STATUS_RANK.get(row.status, len(_STATUS_RANK)), row.status or ""


def _status_ascending(row: OrderRow) -> tuple:
    return (_status_rank(row), row.sort_key)


def _status_descending(row: OrderRow) -> tuple:
    rank, text = _status_rank(row)
    # Unknown statuses last in both directions: their rank is negated before the reverse.
    return ((rank if rank < len(_STATUS_RANK) else -1, text), _desc_tiebreak(row))


def _risk_descending(row: OrderRow) -> tuple:
    # Best first: with reverse=True the larger -worst (the better risk) comes first; within a
    # level, the earliest scheduled time first and the unscheduled last (-inf).
    key = row.sort_key
    return (key[0], -key[1], *key[2:])


def _risk_ascending(row: OrderRow) -> tuple:
    return row.sort_key


def _scheduled(row: OrderRow):
    return row.scheduled_at


def _eta(row: OrderRow):
    return row.eta


_KEYS: dict[str, tuple[SortKey, SortKey]] = {
    "risk": (_risk_ascending, _risk_descending),
    "handle": _text_keys(lambda row: row.ref.order_handle),
    "status": (_status_ascending, _status_descending),
    "worker": _text_keys(lambda row: row.worker),
    "ops": _text_keys(lambda row: row.ops_group),
    "scheduled": _time_keys(_scheduled),
    "eta": _time_keys(_eta),
    "address": _text_keys(lambda row: row.address),
}

assert set(_KEYS) == set(_BY_NAME)
