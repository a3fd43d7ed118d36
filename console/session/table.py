"""The order list's data, without Textual: keyed rows, versions, sorting, merging, a filter hook.

Why it is shaped like this (tens of thousands of orders, a 16 ms budget per keystroke):

- A row is keyed by its :class:`OrderRef` (handle + leg + attempt), never by position, so a
  refresh can re-sort and the cursor can follow *its* order.
- A row carries a ``fingerprint`` of everything the list displays. A refresh keeps the previous
  row object (and so its ``version`` and every cached rendering) when the fingerprint is equal;
  only changed rows get a new version. An idle refresh therefore changes nothing and redraws
  nothing.
- Per-order work (fingerprint, sort key, the comparison with the previous row) happens when its
  page arrives, spread across the load. What is left for the end of a refresh is a filtering pass
  that yields to the event loop every few thousand rows, and a synchronous step that only touches
  the rows that changed: they are sorted among themselves and spliced into the kept rows at
  positions found by bisection on a parallel list of sort keys. No full sort of 50k rows, whose
  key extraction alone costs tens of milliseconds on a slow shared machine.
- Sorting happens when the data or the sort changes, never per keystroke.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from console.api.sanitize import sanitize
from console.api.summaries import OrderSummary
from console.api.vocab import OPEN_STATUSES, RISK_KEY_NAMES, OrderRef, RiskLevel

if TYPE_CHECKING:  # the list path never needs the full pydantic models: see summaries.py
    from console.api.models import Order

_versions = itertools.count(1)

#: The ref as a plain tuple. Dicts of 50k rows are keyed by it because a tuple hashes and compares
#: in C, while the frozen dataclass's generated ``__hash__``/``__eq__`` run Python code (measured:
#: about half of a 50k-row merge went there).
RowKey = tuple[str, str | None, int | None, int | None]


def ref_key(ref: OrderRef) -> RowKey:
    return (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)

_NO_LEVELS = (RiskLevel.UNKNOWN,) * len(RISK_KEY_NAMES)
_LEVEL_CACHE: dict[str, RiskLevel] = {}


def _level(value: Any) -> RiskLevel:
    """``RiskLevel.parse`` memoised on the raw string: the same few labels repeat 400k times."""
    if isinstance(value, str):
        level = _LEVEL_CACHE.get(value)
        if level is None:
            level = RiskLevel.parse(value)
            if len(_LEVEL_CACHE) < 256:
                _LEVEL_CACHE[value] = level
        return level
    return RiskLevel.parse(value)


_KNOWN_KEYS = frozenset(RISK_KEY_NAMES)
_COMBOS: dict[tuple, tuple[tuple[RiskLevel, ...], RiskLevel]] = {}


def _risk_levels(risks: dict[str, Any] | None) -> tuple[tuple[RiskLevel, ...], RiskLevel]:
    """The eight badge levels and the worst level of any risk.

    Memoised on the raw labels: 3^8 combinations at most, so 50k rows cost 50k dict lookups.
    """
    if not risks:
        return _NO_LEVELS, RiskLevel.UNKNOWN
    raw = tuple(map(risks.get, RISK_KEY_NAMES))
    try:
        hit = _COMBOS.get(raw)
    except TypeError:  # an unhashable value (a webhook-shaped dict): no memo
        hit = None
        raw = None
    if hit is None:
        levels = tuple(map(_level, raw if raw is not None else map(risks.get, RISK_KEY_NAMES)))
        hit = (levels, max(levels))
        if raw is not None and len(_COMBOS) < 20_000:
            _COMBOS[raw] = hit
    if risks.keys() <= _KNOWN_KEYS:
        return hit
    # Every value counts for the worst, also keys the console has no badge for.
    return hit[0], max(max(map(_level, risks.values())), hit[1])

#: A sort key function over rows (column sorts, on top of the default).
SortKey = Callable[["OrderRow"], Any]
RowFilter = Callable[["OrderRow"], bool]
#: Separates rows in the text-filter corpus; never part of a row's search text.
_ROW_END = "\x01"


@dataclass(frozen=True)
class TextFilter:
    """Rows whose search text contains ``needle`` (lower case), and that ``also`` accepts.

    Understood by :meth:`OrderTable.set_filter`: it scans one joined string with a compiled
    regular expression (C speed) instead of calling a predicate 50k times, and a needle that
    extends the previous one only re-checks the rows already shown.
    """

    needle: str
    also: RowFilter | None = None

    def __call__(self, row: "OrderRow") -> bool:
        return self.needle in row.search_text and (self.also is None or self.also(row))

    def narrows(self, other: object) -> bool:
        """True when every row this filter accepts was accepted by ``other``."""
        return isinstance(other, TextFilter) and other.also is self.also and other.needle in self.needle

    def select(
        self, rows: Sequence["OrderRow"], texts: Sequence[str] | None = None
    ) -> tuple[list["OrderRow"], Sequence[str] | None]:
        """The rows of ``rows`` this filter accepts, in order, and their search texts.

        The text test runs in C (``compress`` over the search texts; ``texts``, when given, are
        those of ``rows``, so the rows themselves are not even touched): a Python call per row
        cost ~35 ms per keystroke at 50k rows here. Only ``also`` (risk, status) is a Python
        call per row. The texts returned (None when not needed) let the next keystroke narrow
        without touching the rows either; they come as a tuple, which the garbage collector
        stops tracking (nothing in it can be part of a cycle), so it never walks 50k entries.
        """
        needle = self.needle
        if needle:
            if texts is None:
                texts = list(map(_SEARCH_OF, rows))
                if None in texts:  # a row changed since its text was built: build those now
                    texts = [t if t is not None else r.search_text for t, r in zip(texts, rows)]
            mask = list(map(operator.contains, texts, itertools.repeat(needle)))
            rows = list(itertools.compress(rows, mask))
            texts = tuple(itertools.compress(texts, mask))
        else:
            rows = list(rows)
        also = self.also
        if also is not None:
            mask = list(map(also, rows))
            rows = list(itertools.compress(rows, mask))
            if texts is not None:
                texts = tuple(itertools.compress(texts, mask))
        return rows, texts


_SEARCH_OF = operator.attrgetter("_search")


def default_sort_key(row: "OrderRow") -> tuple:
    """Worst risk first, then the earliest scheduled time (unscheduled last), then identity so
    that the order is total and a re-sort never shuffles equal rows."""
    ref = row.ref
    scheduled = row.scheduled_at
    return (
        -int(row.worst),
        scheduled.timestamp() if scheduled is not None else math.inf,
        ref.order_handle,
        ref.type or "",
        ref.type_index if ref.type_index is not None else -1,
        ref.fulfillment_attempt if ref.fulfillment_attempt is not None else -1,
    )


def _shared(text: str | None) -> str | None:
    # Statuses, ops groups and workers repeat thousands of times: keep one copy of each.
    return sys.intern(text) if text is not None and len(text) <= 64 else text


def _fingerprint(order: OrderSummary, levels: tuple[RiskLevel, ...], worst: RiskLevel) -> tuple:
    """Everything the list displays of an order (see :attr:`OrderRow.fingerprint`)."""
    return (
        order.status, order.worker, order.ops_group, order.scheduled_at, order.address, order.eta,
        levels, worst, order.completed_at,
    )


class OrderRow:
    """One line of the list: what it shows of an order, plus everything precomputed to sort,
    compare and find it.

    The row keeps only the fields the list, its filters and the detail summary use: it is built
    from an :class:`~console.api.summaries.OrderSummary` (what a list page is read into), or
    from a full :class:`Order` (a completion's answer), which is summarized first.
    """

    __slots__ = (
        "ref", "key", "status", "worker", "worker_name", "ops_group", "scheduled_after",
        "scheduled_at", "address", "eta", "completed_at", "share_url", "metadata", "levels",
        "worst", "fingerprint", "sort_key", "version", "stamp", "_search", "timezone",
    )

    def __init__(self, order: "OrderSummary | Order", ref: OrderRef | None = None) -> None:
        if type(order) is not OrderSummary:
            order = OrderSummary.of_order(order)  # type: ignore[arg-type]
        self.ref: OrderRef = ref if ref is not None else order.ref
        self.key: RowKey = ref_key(self.ref)
        self.status: str = _shared(order.status)  # type: ignore[assignment]
        self.worker = _shared(order.worker)
        self.worker_name = order.worker_name
        self.ops_group = _shared(order.ops_group)
        self.scheduled_after = order.scheduled_after
        self.scheduled_at = order.scheduled_at
        self.address = order.address
        self.eta = order.eta
        self.completed_at = order.completed_at
        self.share_url = order.share_url
        self.metadata = order.metadata
        #: The order's own ``timezone`` (the reschedule input shows times in it).
        self.timezone = _shared(order.timezone)
        self.levels, self.worst = _risk_levels(order.risks)
        self.fingerprint = _fingerprint(order, self.levels, self.worst)
        self.sort_key = default_sort_key(self)
        self.version = next(_versions)
        #: Set by a refresh to its own number when the server still lists this row.
        self.stamp = 0
        self._search: str | None = None

    @property
    def display_handle(self) -> str:
        return sanitize(self.ref.order_handle)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def search_text(self) -> str:
        """Lower-cased text a filter matches: handle, worker, ops group, address, metadata values,
        separated by NUL (a needle never spans two fields).

        Built when the row enters the table (a page at a time), not on the first keystroke of a
        filter: 50k of them at once took most of a second here.
        """
        if self._search is None:
            handle = self.ref.order_handle  # the one field kept unsanitized (it is an address)
            parts = [handle if handle.isprintable() else sanitize(handle), self.worker or "",
                     self.worker_name or "", self.ops_group or "", self.status, self.address or ""]
            if self.metadata:
                # Metadata strings were sanitized when the page was read; other values are
                # made text (and that text made safe) here.
                parts.extend(v if type(v) is str else sanitize(str(v)) for v in self.metadata.values())
            self._search = "\x00".join(parts).lower().replace(_ROW_END, " ")
        return self._search

    def summary_order(self) -> Order:
        """An :class:`Order` holding what the list knows, for the detail pane to show while the
        full order loads. Built for one row at a time (the highlighted one)."""
        ref = self.ref
        risks = {
            name: level.name.lower()
            for name, level in zip(RISK_KEY_NAMES, self.levels)
            if level is not RiskLevel.UNKNOWN
        }
        fields: dict[str, Any] = dict(
            order_handle=ref.order_handle, status=self.status, type=ref.type,
            type_index=ref.type_index, fulfillment_attempt=ref.fulfillment_attempt,
            worker_handle=self.worker, worker_name=self.worker_name, ops_group_handle=self.ops_group,
            scheduled_after=self.scheduled_after, scheduled_at=self.scheduled_at,
            completed_at=self.completed_at, share_url=self.share_url, metadata=self.metadata,
            risks=risks or None, timezone=self.timezone,
        )
        # Imported here: only the detail pane asks for this, one row at a time.
        from console.api.models import Destination, Estimate, Order

        if self.address is not None:
            fields["destination"] = Destination.model_construct(address=self.address)
        if self.eta is not None:
            fields["estimate"] = Estimate.model_construct(arrive_at=self.eta)
        return Order.model_construct(**{k: v for k, v in fields.items() if v is not None})

    def __repr__(self) -> str:
        return f"OrderRow({self.ref.describe()!r}, v{self.version})"


def build_rows(orders: "Iterable[OrderSummary | Order]") -> list[OrderRow]:
    """Rows for (part of) a page, search texts included: the per-order work of adding a page,
    which a caller can spread over event-loop steps before :meth:`OrderTable.extend`."""
    rows = [OrderRow(order) for order in orders]
    for row in rows:
        row.search_text  # noqa: B018
    return rows


@dataclass
class MergeResult:
    """What a load changed: the list redraws only when ``changed`` is true.

    A refresh (:meth:`RefreshMerge.finish`) also names the rows behind the counts, for whoever
    watches what changed between two loads (the change detector): ``added_rows``,
    ``removed_rows``, and ``updated_rows``: every row whose data may differ from the previous
    load's, as it is now. That includes rows changed *between* loads (:meth:`OrderTable.
    replace_order`, a completion's answer) even when this load lists them as they are: a row is
    updated in place, so only the table knows it was touched. Nothing else changed: a row in
    none of the lists holds the previous load's data (only the clock moved).
    """

    added: int = 0
    removed: int = 0
    updated: int = 0
    added_rows: list["OrderRow"] = field(default_factory=list, compare=False, repr=False)
    removed_rows: list["OrderRow"] = field(default_factory=list, compare=False, repr=False)
    updated_rows: list["OrderRow"] = field(default_factory=list, compare=False, repr=False)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.updated)


@dataclass
class _Override:
    """A row the console changed itself (a completion).

    - A load that started before the change (``generation > started_generation``) read the
      server before it: its data for the row is ignored and ours is kept.
    - A load that started after it sees the server's truth. If the order left the list (a
      completed order is no longer open), the row still stays for that one load, showing
      "completed", so the supervisor sees the result: it leaves on the next load.
    """

    order: "Order"
    generation: int
    kept_once: bool = False

    def newer_than(self, started_generation: int) -> bool:
        return self.generation > started_generation


_stamps = itertools.count(1)
#: Everything a row holds that comes from the order (``ref`` and ``key`` are its identity).
_ROW_DATA = tuple(
    n for n in OrderRow.__slots__ if n not in ("ref", "key", "stamp", "_search")
)
#: Rows handled per step of a refresh's filtering pass, between yields to the event loop.
CHUNK = 4096


class OrderTable:
    """All loaded rows in display order, the filtered view, and lookups by key."""

    def __init__(self) -> None:
        self.rows: list[OrderRow] = []
        #: ``keys[i]`` is the sort key of ``rows[i]``: bisection finds where a row belongs
        #: without calling a key function 50k times.
        self._keys: list[Any] = []
        self.view: list[OrderRow] = self.rows
        self.sort_key: SortKey | None = None
        self.sort_reverse = False
        self.row_filter: RowFilter | None = None
        self._by_key: dict[RowKey, OrderRow] = {}
        self._overrides: dict[RowKey, _Override] = {}
        #: Keys of rows changed outside a refresh (``replace_order``) since the last finished
        #: refresh: the next one names them among its ``updated_rows``.
        self._touched: dict[RowKey, None] = {}
        #: Bumped by every local change (a completion); a load remembers the value it started at.
        self.generation = 0
        #: Bumped by anything that reorders ``rows`` outside a refresh.
        self._mutations = 0
        #: Bumped whenever rows or their search texts change; keys the text-filter corpus.
        self._text_version = 0
        self._corpus: tuple[int, str, tuple[int, ...]] | None = None
        #: The search texts of ``rows`` (built with the corpus) and of ``view`` (when a text
        #: filter made it; None otherwise): a keystroke filters these, not the row objects.
        self._texts: tuple[str, ...] = ()
        self._view_texts: Sequence[str] | None = None

    # ------------------------------------------------------------------ reading

    def __len__(self) -> int:
        return len(self.view)

    @property
    def total(self) -> int:
        return len(self.rows)

    def get(self, ref: OrderRef) -> OrderRow | None:
        return self._by_key.get(ref_key(ref))

    def index_of(self, ref: OrderRef | None) -> int | None:
        """Position of ``ref`` in the view, or None (one C-level scan; no 50k-entry index)."""
        row = self._by_key.get(ref_key(ref)) if ref is not None else None
        return self.position(row)

    def position(self, row: OrderRow | None) -> int | None:
        if row is None:
            return None
        try:
            return self.view.index(row)
        except ValueError:
            return None

    # ------------------------------------------------------------------ loading

    def extend(self, orders: "Iterable[OrderRow | OrderSummary | Order]") -> MergeResult:
        """Add a page during the first load: rows appear without waiting for the other pages.

        ``orders`` may be rows built beforehand (see :func:`build_rows`): building is most of
        the per-order work, and it can be spread over several event-loop steps while the page
        is spliced into the table in one.
        An order seen on an earlier page (the list moved while we paged) replaces that row.
        """
        result = MergeResult()
        fresh: list[OrderRow] = []
        by_key = self._by_key
        for order in orders:
            row = order if type(order) is OrderRow else OrderRow(order)
            row.search_text  # noqa: B018 - built now, a page at a time (see search_text)
            prev = by_key.get(row.key)
            if prev is not None:
                if self._update_row(prev, row):
                    result.updated += 1
                continue
            by_key[row.key] = row
            fresh.append(row)
        result.added = len(fresh)
        if result.updated:
            self.rows.extend(fresh)
            self._resort()
        elif fresh:
            self._splice(self.rows, self._keys, fresh)
        self._mutations += 1
        return result

    def begin_refresh(self) -> "RefreshMerge":
        """Start a complete reload; feed it pages, run its steps, then ``finish()`` it."""
        return RefreshMerge(self)

    def merge(self, orders: "Iterable[OrderSummary | Order]") -> MergeResult:
        """A complete reload in one call (tests, small lists)."""
        merge = self.begin_refresh()
        merge.add_page(orders)
        for _ in merge.steps():
            pass
        return merge.finish()

    def replace_order(self, ref: OrderRef, order: "Order") -> OrderRow | None:
        """Apply an order the server returned (e.g. a completion) to the row of ``ref``, and
        remember it so that a load that started earlier does not bring the old state back.

        ``ref`` is the row's identity: the server's answer may spell the leg differently."""
        self.generation += 1
        key = ref_key(ref)
        row = self._by_key.get(key)
        if row is None:
            return None
        self._overrides[key] = _Override(order, self.generation)
        self._touched[key] = None
        if self._update_row(row, OrderRow(order, row.ref)):
            self._resort()
        return row

    # ------------------------------------------------------------------ view

    def set_sort(self, key: SortKey | None, reverse: bool = False) -> None:
        """Sort by ``key`` (None: worst risk first, then scheduled time)."""
        self.sort_key = key
        self.sort_reverse = reverse
        self._resort()

    def set_filter(self, row_filter: RowFilter | None) -> None:
        """Show only rows for which ``row_filter`` is true (None: every row). No sort.

        A :class:`TextFilter` is fast: see there."""
        previous, self.row_filter = self.row_filter, row_filter
        if isinstance(row_filter, TextFilter) and row_filter.narrows(previous):
            self.view, self._view_texts = row_filter.select(self.view, self._view_texts)
            return
        self._refilter(data_changed=False)

    def text_matches(self, needle: str) -> list[OrderRow]:
        """Rows (in display order) whose search text contains ``needle`` (case-insensitive).

        One regular-expression pass over all search texts joined in one string; each match
        consumes the rest of its row, so a row is found once however often it matches.
        """
        needle = needle.lower()
        if not needle:
            return list(self.rows)
        version, corpus, starts = self._text_corpus()
        rows = self.rows
        pattern = re.compile(re.escape(needle) + f"[^{_ROW_END}]*")
        find_row = bisect.bisect_right
        return [rows[find_row(starts, match.start()) - 1] for match in pattern.finditer(corpus)]

    def prepare_text_search(self) -> None:
        """Build the text-filter corpus now (``/`` was pressed), not on the first keystroke."""
        self._text_corpus()

    def _text_corpus(self) -> tuple[int, str, tuple[int, ...]]:
        corpus = self._corpus
        if corpus is None or corpus[0] != self._text_version:
            texts = [row.search_text for row in self.rows]
            # Tuples of strings and ints, not lists: the garbage collector stops tracking a tuple
            # that can hold no cycle, while a list of 50k entries, alive until the next data
            # change, was walked by every full collection (~10 ms of each here, measured).
            starts = tuple(itertools.accumulate((len(text) + 1 for text in texts), initial=0))
            corpus = (self._text_version, _ROW_END.join(texts), starts)
            self._corpus = corpus
            # Fresh copies, allocated one after the other: scanning them is ~4x faster than
            # scanning the rows' own texts, scattered through memory by the load (measured).
            self._texts = tuple(corpus[1].split(_ROW_END))
        return corpus

    # ------------------------------------------------------------------ internals

    def _update_row(self, prev: OrderRow, new: OrderRow) -> bool:
        """Move ``new``'s data into ``prev``; return True if anything displayed changed."""
        self._text_version += 1
        changed = prev.fingerprint != new.fingerprint
        version, stamp = prev.version, prev.stamp
        for name in _ROW_DATA:
            setattr(prev, name, getattr(new, name))
        prev._search = None
        prev.stamp = stamp
        if not changed:
            prev.version = version  # same display: keep every cached rendering
        return changed

    def _key_function(self) -> Callable[[OrderRow], Any]:
        return self.sort_key if self.sort_key is not None else _default_key

    def _resort(self) -> None:
        # The key function runs once per row (sorting, then keying the sorted rows again, ran
        # it twice: ~0.15 s of a 50k-row column sort here).
        rows = self.rows
        keys = list(map(self._key_function(), rows))
        order = sorted(range(len(rows)), key=keys.__getitem__, reverse=self.sort_reverse)
        self._refill([rows[i] for i in order], [keys[i] for i in order])
        self._mutations += 1
        self._refilter()

    def _refill(self, rows: list[OrderRow], keys: list[Any]) -> None:
        """Make ``rows``/``keys`` the table's content, copied into the table's own two lists.

        The lists are long-lived, so they stay the same objects: the heap policy freezes them
        with the rows during the first load (console/gc_policy.py), and a garbage collection then
        never walks them. Fresh 50k-entry lists after every refresh were walked by every full
        collection that followed, each entry a cache miss on a row scattered through memory:
        ~25 ms of a 50 ms collection here, against ~1 ms for the ten thousand small objects
        Textual keeps besides (measured). Copying the pointers costs far less.
        """
        if rows is not self.rows:
            self.rows[:] = rows
        if keys is not self._keys:
            self._keys[:] = keys

    def _splice(self, rows: list[OrderRow], keys: list[Any], new: list[OrderRow]) -> None:
        """Make ``rows`` + ``new`` the sorted rows, given that ``rows`` is sorted.

        ``new`` is sorted (small) and each run of ``rows`` between two insertion points is
        copied in one slice: O(len(rows)) pointer copies plus O(len(new) log len(rows))
        comparisons. Reverse sorts take the plain sort.
        """
        if self.sort_reverse:
            rows.extend(new)
            self._refill(rows, self._keys)  # the keys are made again by the sort
            self._resort()
            return
        keyf = self._key_function()
        new_keyed = sorted(((keyf(r), r) for r in new), key=_first)
        out_rows: list[OrderRow] = []
        out_keys: list[Any] = []
        start = 0
        bisect_right = bisect.bisect_right
        for k, r in new_keyed:
            at = bisect_right(keys, k, start)
            if at > start:
                out_rows += rows[start:at]
                out_keys += keys[start:at]
            out_rows.append(r)
            out_keys.append(k)
            start = at
        out_rows += rows[start:]
        out_keys += keys[start:]
        self._refill(out_rows, out_keys)
        self._refilter()

    def _refilter(self, data_changed: bool = True) -> None:
        if data_changed:
            self._text_version += 1
        row_filter = self.row_filter
        self._view_texts = None
        if row_filter is None:
            self.view = self.rows
        elif isinstance(row_filter, TextFilter) and row_filter.needle:
            _version, corpus, _starts = self._text_corpus()
            if corpus.count(row_filter.needle) > len(self.rows) // 4:
                # A broad needle ("a"): one C pass over the texts beats a Python step per match.
                self.view, self._view_texts = row_filter.select(self.rows, self._texts)
                return
            matches = self.text_matches(row_filter.needle)
            also = row_filter.also
            self.view = matches if also is None else list(filter(also, matches))
        elif isinstance(row_filter, TextFilter):
            self.view, self._view_texts = row_filter.select(self.rows)
        else:
            self.view = [r for r in self.rows if row_filter(r)]


class RefreshMerge:
    """One complete reload merged into an :class:`OrderTable` without a long stall.

    ``add_page`` compares each arriving order with the row on screen (cheap, per page).
    ``steps()`` is a generator: the caller yields to its event loop at each step while the kept
    rows are gathered. ``finish()`` applies everything at once, touching only changed rows.
    """

    def __init__(self, table: OrderTable) -> None:
        self.table = table
        self.stamp = next(_stamps)
        self.started_generation = table.generation
        self.count = 0
        self._added: dict[RowKey, OrderRow] = {}
        self._changed: list[tuple[OrderRow, OrderRow]] = []
        self._kept_rows: list[OrderRow] | None = None
        self._kept_keys: list[Any] | None = None
        self._gone: list[OrderRow] = []
        self._mutations_at_steps = -1

    def add_page(self, orders: "Iterable[OrderSummary | Order]") -> None:
        """Compare a page with the rows on screen.

        Most orders of a refresh are unchanged: for those only the fingerprint is computed from
        the summary (no row is built: a row's sort key, version and search text cost several
        times more), and the row on screen is kept.
        """
        table = self.table
        by_key = table._by_key
        overrides = table._overrides
        stamp = self.stamp
        for order in orders:
            if type(order) is not OrderSummary:
                order = OrderSummary.of_order(order)  # type: ignore[arg-type]
            ref = order.ref
            key = (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)
            if overrides:
                override = overrides.get(key)
                if override is not None and override.newer_than(self.started_generation):
                    # This load may have read the server before our own change: keep ours.
                    order = OrderSummary.of_order(override.order)
                    order.ref = ref
            prev = by_key.get(key)
            if prev is None:
                if key not in self._added:
                    self._added[key] = OrderRow(order)
                    self.count += 1
                continue
            if prev.stamp == stamp or prev.stamp == -stamp:
                continue  # a duplicate across pages: the first one wins
            self.count += 1
            levels, worst = _risk_levels(order.risks)
            if prev.fingerprint == _fingerprint(order, levels, worst):
                # Nothing displayed changed: keep the row and its renderings. Fields the list
                # does not show (share URL, metadata) still take the fresh values.
                prev.share_url = order.share_url
                if prev.metadata != order.metadata:
                    prev.metadata = order.metadata
                    prev._search = None
                    prev.search_text  # noqa: B018
                    table._text_version += 1
                prev.stamp = stamp
            else:
                prev.stamp = -stamp  # leaves its place; re-inserted where it now belongs
                self._changed.append((prev, OrderRow(order)))

    def steps(self) -> Iterator[None]:
        """Sort the current rows into kept and gone, yielding every :data:`CHUNK` rows."""
        table = self.table
        self._mutations_at_steps = table._mutations
        rows, keys = table.rows, table._keys
        stamp = self.stamp
        kept_rows: list[OrderRow] = []
        kept_keys: list[Any] = []
        gone: list[OrderRow] = []
        for start in range(0, len(rows), CHUNK):
            for row, key in zip(rows[start:start + CHUNK], keys[start:start + CHUNK]):
                row_stamp = row.stamp
                if row_stamp == stamp:
                    kept_rows.append(row)
                    kept_keys.append(key)
                elif row_stamp != -stamp:
                    gone.append(row)
            yield
        self._kept_rows, self._kept_keys, self._gone = kept_rows, kept_keys, gone

    def finish(self) -> MergeResult:
        """Apply the reload: O(changed rows) plus slice copies; no key function over all rows."""
        table = self.table
        stamp = self.stamp
        if self._kept_rows is None or table._mutations != self._mutations_at_steps:
            # The table moved under us (a completion re-sorted it): gather again, synchronously.
            for _ in self.steps():
                pass
        kept_rows, kept_keys = self._kept_rows, self._kept_keys
        assert kept_rows is not None and kept_keys is not None
        by_key = table._by_key
        overrides = table._overrides
        moving: list[OrderRow] = list(self._added.values())
        gone: list[OrderRow] = []
        held: set[RowKey] = set()
        for row in self._gone:
            override = overrides.get(row.key) if overrides else None
            if override is not None and (override.newer_than(self.started_generation) or not override.kept_once):
                # Our own change (a completion) stays on screen through this load: see _Override.
                if not override.newer_than(self.started_generation):
                    override.kept_once = True
                held.add(row.key)
                moving.append(row)
            else:
                gone.append(row)
        result = MergeResult(added=len(self._added), removed=len(gone),
                             added_rows=list(self._added.values()), removed_rows=gone)
        touched = table._touched
        updated_rows = result.updated_rows
        for prev, new in self._changed:
            override = overrides.get(prev.key)
            if override is not None and override.newer_than(self.started_generation):
                new = OrderRow(override.order, prev.ref)  # our change came after this page
            if table._update_row(prev, new):
                result.updated += 1
            moving.append(prev)
            updated_rows.append(prev)
            touched.pop(prev.key, None)
        for row in gone:
            del by_key[row.key]
            touched.pop(row.key, None)
        for key in touched:  # changed between loads, listed as they are now (or held on screen)
            row = by_key.get(key)
            if row is not None:
                updated_rows.append(row)
        touched.clear()
        for key, row in self._added.items():
            by_key[key] = row
        for row in moving:
            row.stamp = stamp
            row.search_text  # noqa: B018 - new and changed rows: a few, built now
        if overrides:
            # This load started after these changes: the server's answer has them. Only a row
            # held on screen just now keeps its override, to leave on the next load.
            for key in [k for k, o in overrides.items()
                        if not o.newer_than(self.started_generation) and k not in held]:
                del overrides[key]
        if moving or gone:
            table._splice(kept_rows, kept_keys, moving)
            table._mutations += 1
        return result


def _first(pair: tuple[Any, OrderRow]) -> Any:
    return pair[0]


def _default_key(row: OrderRow) -> tuple:
    return row.sort_key
