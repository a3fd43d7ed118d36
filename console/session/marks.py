"""Marked orders: the set a bulk completion acts on, kept by identity, never by row position.

A mark is keyed by the order's full identity (:class:`OrderRef`: handle, type, type index,
fulfillment attempt) as the :data:`~console.session.table.RowKey` tuple, so it follows its order
through a refresh, a re-sort or a filter, and a new attempt of the same handle is a different,
unmarked order. Marks of orders that left the open list are dropped by :meth:`Marks.prune`
(called after every load).

No Textual here: the app turns keys into calls and asks :attr:`Marks.version` whether anything
changed before redrawing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from console.api.vocab import OrderRef
from console.session.table import OrderRow, OrderTable, RowKey, ref_key


class Marks:
    """An insertion-ordered set of marked order identities."""

    def __init__(self) -> None:
        self._refs: dict[RowKey, OrderRef] = {}
        #: Bumped on every change: views redraw only when it moved.
        self.version = 0

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self._refs)

    def __bool__(self) -> bool:
        return bool(self._refs)

    def __contains__(self, item: object) -> bool:
        key = ref_key(item) if isinstance(item, OrderRef) else item
        return key in self._refs

    def __iter__(self) -> Iterator[OrderRef]:
        return iter(list(self._refs.values()))

    def keys(self) -> set[RowKey]:
        return set(self._refs)

    def is_marked(self, key: RowKey) -> bool:
        """For the list's renderer: one dict lookup per drawn row."""
        return key in self._refs

    def frozen(self, table: OrderTable) -> list[OrderRef]:
        """The marked refs in the list's display order (all rows, also those a filter hides):
        the exact list a bulk run is given. Refs not in the table come last, in mark order."""
        if not self._refs:
            return []
        marked = self._refs
        in_table = [row.ref for row in table.rows if row.key in marked]
        seen = {ref_key(ref) for ref in in_table}
        return in_table + [ref for key, ref in marked.items() if key not in seen]

    # ------------------------------------------------------------------ changing

    def toggle(self, ref: OrderRef) -> bool:
        """Mark ``ref`` or unmark it; returns True when it is now marked."""
        key = ref_key(ref)
        self.version += 1
        if key in self._refs:
            del self._refs[key]
            return False
        self._refs[key] = ref
        return True

    def mark(self, refs: Iterable[OrderRef]) -> int:
        """Mark every ref; returns how many were not marked before."""
        added = 0
        for ref in refs:
            key = ref_key(ref)
            if key not in self._refs:
                self._refs[key] = ref
                added += 1
        if added:
            self.version += 1
        return added

    def unmark(self, refs: Iterable[OrderRef]) -> int:
        removed = 0
        for ref in refs:
            if self._refs.pop(ref_key(ref), None) is not None:
                removed += 1
        if removed:
            self.version += 1
        return removed

    def clear(self) -> int:
        count = len(self._refs)
        if count:
            self._refs.clear()
            self.version += 1
        return count

    def prune(self, keep: Callable[[OrderRef], bool]) -> list[OrderRef]:
        """Drop the marks for which ``keep`` is false; returns the dropped refs."""
        gone = [ref for ref in self._refs.values() if not keep(ref)]
        if gone:
            for ref in gone:
                del self._refs[ref_key(ref)]
            self.version += 1
        return gone


def still_open(table: OrderTable) -> Callable[[OrderRef], bool]:
    """A :meth:`Marks.prune` predicate: the order is in the list and open (a completed row that
    the list keeps on screen for one load is no longer markable)."""

    def keep(ref: OrderRef) -> bool:
        row: OrderRow | None = table.get(ref)
        return row is not None and row.is_open

    return keep
