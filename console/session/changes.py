"""What changed in the open set between two refreshes: typed events, a bounded feed, new reds.

A console over SSH cannot receive HyperTrack's webhooks, but it reloads the whole open set on every
refresh, so it can tell what changed at no extra request cost. This module does that without
Textual: the console, ``dispatch-console watch`` and tests use the same detector.

Two ways in, one per feeder; both give the same events (a property test checks it):

**The console** feeds its order table (``console/session/core.py``). The table's refresh merge
already compares each listed order with its row (a fingerprint of everything the list shows,
which includes every fact an event is made of) and updates a changed row in place, so the
detector does not read the open set again: :meth:`ChangeDetector.begin_table` gives a
:class:`TableDiff`, which takes the first load's rows page by page (``add``: the baseline) or a
refresh's merge result (``merged``: its added, removed and updated rows, including those a
completion's answer changed between loads); :meth:`ChangeDetector.compare_table` then looks at
those orders only, plus the few that the clock made LATE (a heap of scheduled times). Facts are
kept as values: a row changes in place, so it is never its own "before"::

    diff = detector.begin_table(load_started)
    diff.merged(merge.finish())             # or diff.add(rows) for each page of the first load
    events = detector.compare_table(diff, acted_on=refs_this_console_completed_or_cancelled)
    new_reds = feed.record(events)          # counter: feed.new_red_count; jump: feed.next_new_red()

**``watch``** has no table and feeds summaries, a page at a time:

1. :class:`SnapshotBuilder` (from :meth:`ChangeDetector.begin`) takes the refresh's orders a page
   at a time (``add``): each page is compared with the previous snapshot as it arrives, with
   per-order steps that run in C (summaries by their raw fields compared whole), so the load's
   pages carry that work.
2. ``finish()`` gives a :class:`Snapshot`; only a *complete* snapshot (every page read) is ever
   compared. A refresh that failed half-way is dropped with ``abandon()`` (or never finished):
   the orders it did not reach are not reported as gone.
3. :meth:`ChangeDetector.compare` diffs it against the previous complete snapshot: only the
   orders whose facts differ are examined (a snapshot built without the baseline is diffed in
   one C-speed pass first). The first snapshot only sets the baseline (no events).

Either way the first load gives no events and a failed load is never compared (nothing looks
gone). :class:`ChangeFeed` keeps the last N events (a deque: bounded memory) across refreshes,
the unacknowledged new reds (ack by order or all), and which orders changed in the last
refreshes.

Invariants: events are frozen; every string in an event is display-safe (sanitized) except
``ref.order_handle``, which is kept exact because it addresses the order (use
``ref.describe()`` to show it); :meth:`ChangeEvent.as_json` keeps data exact.
"""

from __future__ import annotations

import enum
import heapq
import itertools
import operator
import sys
from collections import deque
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from console.api.sanitize import sanitize
from console.api.timestamps import iso_utc
from console.api.vocab import OPEN_STATUSES, RISK_KEY_NAMES, RISK_KEYS, OrderRef, RiskLevel

#: The default of the ``eta_slip_minutes`` setting, and the longest slip a profile or the
#: command line may set (a day).
DEFAULT_ETA_SLIP_MINUTES = 15
MAX_ETA_SLIP_MINUTES = 24 * 60
#: The default number of events a feed keeps.
DEFAULT_FEED_SIZE = 500

RowKey = tuple[str, str | None, int | None, int | None]


def ref_key(ref: OrderRef) -> RowKey:
    """The ref as a plain tuple (hashes and compares in C; the same shape as the list's keys)."""
    return (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)


class ChangeKind(str, enum.Enum):
    """What changed. The value is the word ``watch --json`` writes."""

    RISK = "risk"          #: one of the eight risk keys changed level (``risk_key`` says which)
    WORST = "worst"        #: the worst risk level changed
    LATE = "late"          #: became LATE (``to == "late"``) or stopped being late (``"on time"``)
    ETA = "eta"            #: the ETA slipped by at least the configured minutes
    STATUS = "status"      #: the status changed (within the open set)
    WORKER = "worker"      #: reassigned to another worker (or assigned / unassigned)
    NEW = "new"            #: an order entered the open set
    LEFT = "left"          #: an order left the open set (``by_this_console`` says who)


_LEVEL_WORD = {
    RiskLevel.UNKNOWN: "none", RiskLevel.GREEN: "green", RiskLevel.YELLOW: "yellow", RiskLevel.RED: "red",
}
_RISK_WORDS = {key: words for key, _, words in RISK_KEYS}


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """One change of one order between two complete refreshes.

    ``before``/``after`` are words: risk levels (``green``, ``yellow``, ``red``, ``none``),
    ``late``/``on time``, ISO-8601 UTC times for an ETA, statuses, worker handles (``None``: no
    worker). For ``NEW``, ``before`` is None and ``after`` the status; for ``LEFT``, ``before``
    is the last status seen and ``after`` is None.
    """

    time: datetime
    ref: OrderRef
    kind: ChangeKind
    before: str | None
    after: str | None
    #: The order's worker at the time of the event (the new one for a reassignment); sanitized.
    worker: str | None = None
    #: The order's worst risk level after the change (before it left, for ``LEFT``).
    worst: RiskLevel = RiskLevel.UNKNOWN
    #: The risk key, for ``RISK`` events.
    risk_key: str | None = None
    #: For ``LEFT``: this console acted on the order (completed or cancelled it).
    by_this_console: bool = False
    ops_group: str | None = None

    @property
    def key(self) -> RowKey:
        return ref_key(self.ref)

    @property
    def is_new_red(self) -> bool:
        """The order newly turned red: its worst level became red, or it arrived red."""
        if self.kind is ChangeKind.WORST:
            return self.after == "red"
        return self.kind is ChangeKind.NEW and self.worst is RiskLevel.RED

    @property
    def is_red(self) -> bool:
        """About red: a risk or the worst level turned red, or an order arrived red
        (``watch --only red``)."""
        if self.kind in (ChangeKind.RISK, ChangeKind.WORST):
            return self.after == "red"
        return self.is_new_red

    def sentence(self) -> str:
        """The change in words, display-safe: ``Order h1 (drop #0), worker w7: worst risk rose
        from yellow to red.``"""
        return f"{self.who()}: {self.what()}."

    def who(self) -> str:
        """The sentence's subject: ``Order h1 (drop #0), worker w7`` (the worker left out of a
        reassignment, which names both)."""
        who = f"Order {self.ref.describe()}"
        if self.worker and self.kind is not ChangeKind.WORKER:
            who += f", worker {self.worker}"
        return who

    def what(self) -> str:
        """What changed, without the subject or the full stop: ``worst risk rose from yellow to
        red``."""
        kind = self.kind
        if kind is ChangeKind.RISK:
            words = _RISK_WORDS.get(self.risk_key or "", self.risk_key or "?")
            verb = _direction(self.before, self.after)
            what = f"risk '{words}' {verb} {self.before} to {self.after}"
        elif kind is ChangeKind.WORST:
            what = f"worst risk {_direction(self.before, self.after)} {self.before} to {self.after}"
        elif kind is ChangeKind.LATE:
            what = "is now LATE against its scheduled time" if self.after == "late" else "is no longer late"
        elif kind is ChangeKind.ETA:
            what = f"ETA slipped from {_clock(self.before)} to {_clock(self.after)}"
        elif kind is ChangeKind.STATUS:
            what = f"status changed from {self.before} to {self.after}"
        elif kind is ChangeKind.WORKER:
            what = (f"reassigned from {self.before or 'no worker'} to {self.after or 'no worker'}")
        elif kind is ChangeKind.NEW:
            what = f"is new in the open set ({self.after}, worst risk {_LEVEL_WORD[self.worst]})"
        else:
            what = ("left the open set: completed or cancelled by this console" if self.by_this_console
                    else "left the open set: completed or cancelled elsewhere")
        return what

    def as_json(self) -> dict[str, Any]:
        """The event as ``watch --json`` writes it: the handle and leg exact, times ISO-8601."""
        ref = self.ref
        out: dict[str, Any] = {
            "time": iso_utc(self.time),
            "order_handle": ref.order_handle,
            "type": ref.type,
            "type_index": ref.type_index,
            "fulfillment_attempt": ref.fulfillment_attempt,
            "worker": self.worker,
            "kind": self.kind.value,
            "from": self.before,
            "to": self.after,
            "worst": _LEVEL_WORD[self.worst],
        }
        if self.risk_key is not None:
            out["risk"] = self.risk_key
        if self.kind is ChangeKind.LEFT:
            out["by_this_console"] = self.by_this_console
        return out


def _direction(before: str | None, after: str | None) -> str:
    order = ("none", "green", "yellow", "red")
    try:
        return "rose from" if order.index(after or "none") > order.index(before or "none") else "fell from"
    except ValueError:
        return "changed from"


def _clock(text: str | None) -> str:
    # The ISO time's hour and minute (UTC), or the text itself when it is not one.
    if text and len(text) >= 16 and text[10] == "T":
        return text[11:16] + " UTC"
    return text or "none"


# =============================================================================== snapshots

_NO_LEVELS = (RiskLevel.UNKNOWN,) * len(RISK_KEY_NAMES)
_KNOWN = frozenset(RISK_KEY_NAMES)
_COMBOS: dict[tuple, tuple[tuple[RiskLevel, ...], RiskLevel]] = {}


def risk_levels(risks: Any) -> tuple[tuple[RiskLevel, ...], RiskLevel]:
    """The eight levels and the worst of any risk (unknown keys count for the worst), memoised
    on the raw labels: the same few combinations repeat across 50k orders."""
    if not risks or not isinstance(risks, dict):
        return _NO_LEVELS, RiskLevel.UNKNOWN
    raw = tuple(map(risks.get, RISK_KEY_NAMES))
    try:
        hit = _COMBOS.get(raw)
    except TypeError:  # an unhashable label (a webhook-shaped dict): no memo
        hit, raw = None, None
    if hit is None:
        levels = tuple(RiskLevel.parse(risks.get(k)) for k in RISK_KEY_NAMES)
        hit = (levels, max(levels))
        if raw is not None and len(_COMBOS) < 20_000:
            _COMBOS[raw] = hit
    if risks.keys() <= _KNOWN:
        return hit
    return hit[0], max(max(map(RiskLevel.parse, risks.values())), hit[1])


def late_cutoff(now: datetime) -> float:
    """The latest scheduled time (POSIX seconds) that reads LATE at ``now``: the list's rule
    (``console/ui/timefmt.py``: whole minutes from the start of ``now``'s minute, cut toward
    zero; negative is late), so the feed and the list agree on when an order became late."""
    return now.timestamp() // 60 * 60 - 60


#: Indexes into a facts tuple. Everything in it hashes and compares in C (no dataclass: the
#: order's ref is rebuilt from its key for the few orders that changed).
_STATUS, _WORKER, _LEVELS, _WORST, _LATE, _ETA, _OPS = range(7)
_OPEN = frozenset(OPEN_STATUSES)


class Snapshot:
    """The open set at one refresh. Only a complete snapshot is compared (see the module
    docstring).

    Orders read as summaries (``raw``): ``facts`` maps each order's key to its raw fields
    (``_RAW_OF``), made into a facts tuple (:meth:`facts_of`) only for the orders that changed;
    objects that carry their own ``levels`` (the list's rows): to the facts tuple itself, made
    when the order was added (a row may change in place later: only values are kept).
    """

    __slots__ = ("time", "facts", "complete", "raw", "cutoff", "_previous", "_changed", "_new", "_gone")

    def __init__(self, time: datetime, facts: dict[RowKey, Any], complete: bool, *, raw: bool = False,
                 previous: "Snapshot | None" = None, changed: dict[RowKey, None] | None = None,
                 new: dict[RowKey, None] | None = None, gone: dict[RowKey, Any] | None = None) -> None:
        self.time = time
        self.facts = facts
        self.complete = complete
        #: Summaries read raw: ``facts`` maps each key to the order's raw fields (``_RAW_OF``),
        #: made into a facts tuple (:meth:`facts_of`) only for the orders that changed.
        self.raw = raw
        #: The latest scheduled time that reads LATE at ``time``.
        self.cutoff = datetime.fromtimestamp(late_cutoff(time), timezone.utc)
        # What the builder found against ``previous`` page by page (None: not compared yet):
        # the keys changed (a superset: compare checks the facts), new and gone.
        self._previous = previous
        self._changed = changed
        self._new = new
        self._gone = gone

    def __len__(self) -> int:
        return len(self.facts)

    def tuples(self) -> dict[RowKey, tuple]:
        """Key -> facts tuple, whichever way the orders came."""
        cutoff = self.cutoff
        if self.raw:
            return {key: _raw_facts(raw, cutoff) for key, raw in self.facts.items()}
        return self.facts

    def facts_of(self, value: Any) -> tuple:
        """The facts tuple of a summary snapshot's ``facts`` value."""
        return _raw_facts(value, self.cutoff) if self.raw else value


#: A summary's raw fields: what its facts tuple is made of. Taken in C (one ``attrgetter`` call
#: per order); equal raw fields give equal facts, except LATE, which moves with the clock.
_RAW_OF = operator.attrgetter("status", "worker", "risks", "scheduled_at", "eta", "ops_group")
_REF_OF = operator.attrgetter("ref")
_REF_KEY = operator.attrgetter("order_handle", "type", "type_index", "fulfillment_attempt")  # ref_key
_RAW_STATUS = operator.itemgetter(0)
_RAW_SCHEDULED = operator.itemgetter(3)


def _raw_facts(raw: tuple, cutoff: datetime) -> tuple:
    status, worker, risks, scheduled, eta, ops = raw
    levels, worst = risk_levels(risks)
    return (sys.intern(status) if len(status) < 64 else status, worker, levels, worst,
            scheduled is not None and scheduled <= cutoff, eta, ops)


def _key_of(order: Any) -> RowKey:
    """The key of a list row (it carries one) or of a summary (made from its ref)."""
    key = getattr(order, "key", None)
    return key if key is not None else ref_key(order.ref)


def _row_facts(order: Any, cutoff: datetime) -> tuple:
    """The facts tuple of one order (a summary or a list row) at a LATE ``cutoff``."""
    status = order.status
    levels = getattr(order, "levels", None)
    if levels is None:
        levels, worst = risk_levels(order.risks)
    else:
        worst = order.worst
    scheduled = order.scheduled_at
    return (sys.intern(status) if len(status) < 64 else status, order.worker, levels, worst,
            scheduled is not None and scheduled <= cutoff, order.eta, order.ops_group)


class SnapshotBuilder:
    """Collects one refresh's orders a page at a time. ``now``: when the refresh started (the
    LATE rule is evaluated against it).

    Given the ``previous`` complete snapshot (:meth:`ChangeDetector.begin` passes it), each page
    is also compared with it as it arrives, so the refresh's end only examines the orders that
    changed: the per-order work is spread over the load instead of stalling its last step.
    Summaries are compared by their raw fields, whole, in C; objects carrying their own
    ``levels`` (the list's rows), one by one in Python.
    """

    __slots__ = ("_time", "_cutoff", "_facts", "_previous", "_changed", "_new", "_unseen", "_kind", "_raw",
                 "_due")

    def __init__(self, now: datetime, previous: Snapshot | None = None) -> None:
        self._time = now
        self._cutoff = datetime.fromtimestamp(late_cutoff(now), timezone.utc)
        self._facts: dict[Any, Any] = {}
        self._previous = previous
        #: Keys whose facts differ from the previous snapshot's, keys it did not have, and
        #: (``_unseen``) its orders not listed yet: at the end, the ones that left.
        self._changed: dict[RowKey, None] = {}
        self._new: dict[RowKey, None] = {}
        self._unseen: dict[RowKey, Any] | None = None
        #: Raw summaries against a baseline: ``_changed`` and ``_new`` map keys to this refresh's
        #: raw fields (the snapshot is the baseline's map with those applied, made at the end);
        #: ``_due``: keys whose scheduled time the clock passed (their LATE may differ).
        self._due: dict[RowKey, None] = {}
        #: False until the first page says how its orders are read.
        self._kind = False
        #: Summaries without precomputed levels: read raw (see ``_add_raw``).
        self._raw = False

    def add(self, orders: Iterable[Any]) -> None:
        """Add a page of orders (summaries or list rows). Orders outside the open statuses are
        not part of the open set and are ignored."""
        if not isinstance(orders, (list, tuple)):
            orders = list(orders)
        if not orders:
            return
        if not self._kind:
            self._kind = True
            self._raw = not hasattr(orders[0], "levels") and hasattr(orders[0], "ref")
            previous = self._previous
            if previous is not None and previous.raw != self._raw:
                self._previous = None  # a baseline of the other kind: diffed in one pass at the end
            elif previous is not None:
                self._unseen = dict(previous.facts)  # the previous orders not listed yet
        if self._raw:
            self._add_raw(orders)
        else:
            self._add_summaries(orders)

    def _add_raw(self, orders: Sequence[Any]) -> None:
        # Every per-order step runs in C (attrgetter, map, compress, dict operations): the raw
        # fields are compared whole with the previous snapshot's, and only the orders whose
        # fields differ, new ones and the few whose scheduled time the clock passed are looked
        # at in Python, at the end.
        raws = list(map(_RAW_OF, orders))
        opens = list(map(_OPEN.__contains__, map(_RAW_STATUS, raws)))
        if not all(opens):
            orders = list(itertools.compress(orders, opens))
            raws = list(itertools.compress(raws, opens))
            if not raws:
                return
        keys = list(map(_REF_KEY, map(_REF_OF, orders)))
        previous, unseen = self._previous, self._unseen
        if previous is None or unseen is None:
            self._facts.update(zip(keys, raws))
            return
        befores = list(map(unseen.pop, keys, itertools.repeat(None)))
        missing = list(itertools.compress(range(len(befores)), map(operator.is_, befores, itertools.repeat(None))))
        if missing:
            prev_get, new = previous.facts.get, self._new
            for i in missing:
                key = keys[i]
                if prev_get(key) is None:  # new (the last listing's fields are kept)
                    new[key] = raws[i]
                    befores[i] = raws[i]  # not a change
                # else listed twice in this refresh: None stays, so this listing's fields are
                # taken as changed (the last listing wins; compare checks the facts).
        self._changed.update(itertools.compress(zip(keys, raws), map(operator.ne, befores, raws)))
        # Unchanged fields, but the clock passed the scheduled time since the previous snapshot
        # (or went back past it): LATE differs. One test per distinct time in the page.
        low, high = sorted((previous.cutoff, self._cutoff))
        if low != high:
            scheduled = list(map(_RAW_SCHEDULED, raws))
            due = {s for s in set(scheduled) if s is not None and low < s <= high}
            if due:
                self._due.update(dict.fromkeys(itertools.compress(keys, map(due.__contains__, scheduled))))

    def _add_summaries(self, orders: Sequence[Any]) -> None:
        facts = self._facts
        cutoff = self._cutoff
        previous = self._previous
        prev_get = previous.facts.get if previous is not None else None
        unseen_pop = self._unseen.pop if self._unseen is not None else None
        changed, new = self._changed, self._new
        for order in orders:
            if order.status not in _OPEN:
                continue
            key = _key_of(order)
            item = facts[key] = _row_facts(order, cutoff)
            if prev_get is not None and unseen_pop is not None:
                before = unseen_pop(key, None)
                if before is None:
                    before = prev_get(key)  # listed twice in this refresh: compare again
                    if before is None:
                        new[key] = None
                        continue
                if before != item:
                    changed[key] = None
                else:
                    changed.pop(key, None)

    def finish(self) -> Snapshot:
        """Every page was read: the complete snapshot."""
        previous = self._previous
        if not self._kind:  # no order at all: the kind of the previous snapshot
            self._raw = previous.raw if previous is not None else False
            if previous is not None:
                self._unseen = dict(previous.facts)
        if previous is None:
            return Snapshot(self._time, self._facts, complete=True, raw=self._raw)
        gone = self._unseen if self._unseen is not None else dict(previous.facts)
        if self._raw:
            # The baseline's map less the gone, with the changed and new orders' fields: an
            # unchanged order keeps the baseline's (equal) raw tuple.
            facts = dict(previous.facts)
            for key in gone:
                del facts[key]
            facts.update(self._changed)
            facts.update(self._new)
            changed = dict.fromkeys(self._due)
            for key in self._new:
                changed.pop(key, None)
            changed.update(self._changed)
            return Snapshot(self._time, facts, complete=True, raw=True, previous=previous,
                            changed=changed, new=self._new, gone=gone)
        return Snapshot(self._time, self._facts, complete=True, previous=previous, changed=self._changed,
                        new=self._new, gone=gone)

    def abandon(self) -> Snapshot:
        """The refresh failed part-way: an incomplete snapshot, which the detector ignores."""
        return Snapshot(self._time, self._facts, complete=False, raw=self._raw)


def snapshot(orders: Iterable[Any], now: datetime) -> Snapshot:
    """A complete snapshot of ``orders`` in one call."""
    builder = SnapshotBuilder(now)
    builder.add(orders)
    return builder.finish()


# =============================================================================== the list's table

_KEY_OF = operator.attrgetter("key")


def _table_facts(row: Any, cutoff: datetime) -> tuple:
    """A facts tuple with the scheduled time appended (``_SCHEDULED``): the table path finds
    the orders the clock makes LATE from its baseline's values alone."""
    return (*_row_facts(row, cutoff), row.scheduled_at)


_SCHEDULED = 7


class TableDiff:
    """One load of the console's order table, as the detector takes it (from
    :meth:`ChangeDetector.begin_table`). ``now``: when the load started.

    The order table already compares every listed order with its row (a fingerprint of all it
    shows, which includes every fact a change event is made of) and updates a changed row in
    place. So the detector does not look at the open set again: it is given

    - for a refresh merged into the table, :meth:`merged` with the merge's result: its added,
      removed and updated rows (the updated ones include those changed between loads, by a
      completion's answer); every other row is as at the previous load;
    - for a load that *lists* rows (the first load, or a table that was empty), :meth:`add`
      for each page: the complete listing, compared in full (the first one is the baseline).

    Facts are taken when they are given (rows change in place later: only values are kept).
    A load that fails is never compared: drop its diff, and nothing looks gone.
    """

    __slots__ = ("time", "cutoff", "listed", "changes")

    def __init__(self, now: datetime) -> None:
        self.time = now
        self.cutoff = datetime.fromtimestamp(late_cutoff(now), timezone.utc)
        #: A listing: key -> facts of every order listed (None: this load was merged).
        self.listed: dict[RowKey, tuple] | None = None
        #: A merge: key -> facts now, or None for a row that left the table (None: no merge).
        self.changes: dict[RowKey, tuple | None] | None = None

    def add(self, orders: Iterable[Any]) -> None:
        """A page of a complete listing: the list's rows or summaries (the last listing of an
        order wins, as in the table)."""
        listed = self.listed if self.listed is not None else {}
        self.listed = listed
        cutoff = self.cutoff
        for order in orders:
            listed[_key_of(order)] = _table_facts(order, cutoff)

    def merged(self, result: Any) -> None:
        """A refresh merged into the table: ``result`` names its ``added_rows``,
        ``removed_rows`` and ``updated_rows`` (a :class:`console.session.table.MergeResult`)."""
        changes, cutoff = self.changes if self.changes is not None else {}, self.cutoff
        self.changes = changes
        changes.update(dict.fromkeys(map(_KEY_OF, result.removed_rows)))
        for row in itertools.chain(result.added_rows, result.updated_rows):
            changes[row.key] = _table_facts(row, cutoff)


# =============================================================================== the detector


class ChangeDetector:
    """Compares each complete load with the previous one.

    ``eta_slip_minutes``: an ETA moving later by at least this much, counted from the ETA at the
    last slip event (or the earliest seen since), is one ``ETA`` event; so a slow drift of a minute
    a refresh is reported once it adds up, and an ETA moving earlier resets the count.

    Two ways in, one detector each (they keep different baselines):

    - snapshots of the open set (:meth:`begin`, :meth:`compare`): ``watch`` and tests;
    - the console's order table (:meth:`begin_table`, :meth:`compare_table`): the baseline is a
      key -> facts map of the open orders, updated with the few that changed; an unchanged
      order is never visited, and the ones that become LATE only because the clock moved are
      found in a heap of the not-yet-late scheduled times.
    """

    def __init__(self, *, eta_slip_minutes: float = DEFAULT_ETA_SLIP_MINUTES) -> None:
        if not eta_slip_minutes > 0:
            raise ValueError("eta_slip_minutes must be positive")
        self.eta_slip = timedelta(minutes=eta_slip_minutes)
        self._previous: Snapshot | None = None
        #: ETA baselines of orders whose ETA moved later without reaching the slip yet.
        self._eta_base: dict[RowKey, datetime] = {}
        #: The table path's baseline: key -> facts (with ``_SCHEDULED``) of the open orders at
        #: the last compared load, its LATE cutoff (None: no baseline yet), and (scheduled time,
        #: key) of the open orders not late yet. Heap entries go stale when an order changes or
        #: leaves; they are checked against the baseline when due.
        self._open: dict[RowKey, tuple] = {}
        self._table_cutoff: datetime | None = None
        self._late_heap: list[tuple[datetime, RowKey]] = []

    @property
    def has_baseline(self) -> bool:
        return self._previous is not None or self._table_cutoff is not None

    def is_open(self, key: RowKey) -> bool:
        """Whether the order is in the baseline's open set."""
        if self._table_cutoff is not None:
            return key in self._open
        return self._previous is not None and key in self._previous.facts

    def begin(self, now: datetime) -> SnapshotBuilder:
        """A builder for the next refresh, comparing each page with the current baseline as it
        arrives (see :class:`SnapshotBuilder`)."""
        return SnapshotBuilder(now, self._previous)

    def begin_table(self, now: datetime) -> TableDiff:
        """The diff of the table's next load (see :class:`TableDiff`)."""
        return TableDiff(now)

    def compare(self, snap: Snapshot, *, acted_on: Collection[OrderRef] = ()) -> list[ChangeEvent]:
        """The events from the previous complete snapshot to ``snap`` (which becomes the
        baseline). An incomplete snapshot gives no events and leaves the baseline as it was; the
        first complete one gives none. ``acted_on``: the orders this console completed or
        cancelled, so that their leaving is told apart."""
        if not snap.complete:
            return []
        previous, self._previous = self._previous, snap
        if previous is None:
            return []
        if snap._previous is previous and snap._changed is not None and snap._new is not None \
                and snap._gone is not None:
            # Summaries compared page by page against this very baseline.
            old, new = previous.facts, snap.facts
            was, now_ = previous.facts_of, snap.facts_of
            pairs = [(k, was(old[k]), now_(new[k])) for k in snap._changed]
            new_facts = {k: now_(new[k]) for k in snap._new}
            gone_facts = {k: was(v) for k, v in snap._gone.items()}
        else:
            # One C-speed pass over tuples: (key, facts) pairs not in the previous snapshot.
            old, new = previous.tuples(), snap.tuples()
            diff = new.items() - old.items()
            pairs = [(k, old[k], f) for k, f in diff if k in old]
            new_facts = {k: f for k, f in diff if k not in old}
            gone_facts = {k: old[k] for k in old.keys() - new.keys()}
        return self._events(snap.time, pairs, new_facts, gone_facts, acted_on)

    def compare_table(self, diff: TableDiff, *, acted_on: Collection[OrderRef] = ()) -> list[ChangeEvent]:
        """The events from the previous compared load of the table to ``diff``'s (which becomes
        the baseline). The first gives none: it must be a listing (:meth:`TableDiff.add`)."""
        base, new_cut = self._open, diff.cutoff
        old_cut, self._table_cutoff = self._table_cutoff, new_cut
        if old_cut is None:
            if diff.changes is not None:
                # A merge says what changed since a baseline there is not: nothing to build one
                # from (the session lists the whole table instead: console/session/core.py).
                self._table_cutoff = None
                raise ValueError("the first load compared must list the orders (TableDiff.add)")
            self._open = {k: f for k, f in (diff.listed or {}).items() if f[_STATUS] in _OPEN}
            self._rebuild_late_heap()
            return []
        if diff.listed is not None:  # a complete listing: every order of the baseline is in it or gone
            changes: dict[RowKey, tuple | None] = dict.fromkeys(base.keys() - diff.listed.keys())
            changes.update(diff.listed)
        else:
            changes = diff.changes or {}
        pairs: list[tuple[RowKey, tuple, tuple]] = []
        new_facts: dict[RowKey, tuple] = {}
        gone_facts: dict[RowKey, tuple] = {}
        fresh: list[tuple] = []  # facts that entered the baseline: their LATE is due later
        for key, after in changes.items():
            before = base.get(key)
            if after is not None and after[_STATUS] not in _OPEN:
                after = None  # a row still shown (a completion held on screen) is out of the open set
            if before is None:
                if after is not None:
                    new_facts[key] = base[key] = after
                    fresh.append((key, after))
            elif after is None:
                gone_facts[key] = base.pop(key)
            elif before != after:
                pairs.append((key, before, after))
                base[key] = after
                fresh.append((key, after))
        if new_cut != old_cut:
            self._clock_moved(old_cut, new_cut, changes, pairs)
        heap = self._late_heap
        for key, facts in fresh:
            scheduled = facts[_SCHEDULED]
            if scheduled is not None and not facts[_LATE]:
                heapq.heappush(heap, (scheduled, key))
        if len(heap) > 2 * len(base) + 1000:  # mostly stale entries: start again
            self._rebuild_late_heap()
        return self._events(diff.time, pairs, new_facts, gone_facts, acted_on)

    def _clock_moved(self, old_cut: datetime, new_cut: datetime, skip: Collection[RowKey],
                     pairs: list[tuple[RowKey, tuple, tuple]]) -> None:
        """Unchanged orders whose scheduled time the clock passed since the previous load (or,
        with a clock set back, no longer passes): their facts differ only in LATE. ``skip``:
        the orders compared already."""
        base = self._open
        if new_cut > old_cut:
            heap = self._late_heap
            while heap and heap[0][0] <= new_cut:
                scheduled, key = heapq.heappop(heap)
                facts = base.get(key)
                if facts is None or key in skip or facts[_LATE] or facts[_SCHEDULED] != scheduled:
                    continue  # gone, compared anyway, late already, or rescheduled since
                after = base[key] = (*facts[:_LATE], True, *facts[_LATE + 1:])
                pairs.append((key, facts, after))
            return
        # The clock went back (rare): look at every late order once, then start the heap again.
        for key, facts in list(base.items()):
            scheduled = facts[_SCHEDULED]
            if facts[_LATE] and key not in skip and scheduled is not None and scheduled > new_cut:
                after = base[key] = (*facts[:_LATE], False, *facts[_LATE + 1:])
                pairs.append((key, facts, after))
        self._rebuild_late_heap()

    def _rebuild_late_heap(self) -> None:
        self._late_heap = [(f[_SCHEDULED], key) for key, f in self._open.items()
                           if f[_SCHEDULED] is not None and not f[_LATE]]
        heapq.heapify(self._late_heap)

    def _events(self, now: datetime, pairs: list[tuple[RowKey, tuple, tuple]], new_facts: dict[RowKey, tuple],
                gone_facts: dict[RowKey, tuple], acted_on: Collection[OrderRef]) -> list[ChangeEvent]:
        """The events of a compared load: changed orders, then new ones, then gone ones, each by
        key (so that both ways in give the same list)."""
        if not pairs and not new_facts and not gone_facts:
            return []
        events: list[ChangeEvent] = []
        for key, before, after in sorted(pairs, key=_first_key):
            if before != after:
                self._diff(now, key, before, after, events)
        for key in sorted(new_facts, key=_key_sort):
            events.append(self._new(now, key, new_facts[key]))
        if gone_facts:
            acted = {ref_key(r) for r in acted_on}
            for key in sorted(gone_facts, key=_key_sort):
                facts = gone_facts[key]
                self._eta_base.pop(key, None)
                events.append(ChangeEvent(
                    now, OrderRef(*key), ChangeKind.LEFT, _safe(facts[_STATUS]), None,
                    worker=_safe(facts[_WORKER]), worst=facts[_WORST], by_this_console=key in acted,
                    ops_group=_safe(facts[_OPS]),
                ))
        return events

    def _new(self, now: datetime, key: RowKey, facts: tuple) -> ChangeEvent:
        return ChangeEvent(now, OrderRef(*key), ChangeKind.NEW, None, _safe(facts[_STATUS]),
                           worker=_safe(facts[_WORKER]), worst=facts[_WORST], ops_group=_safe(facts[_OPS]))

    def _diff(self, now: datetime, key: RowKey, a: tuple, b: tuple, events: list[ChangeEvent]) -> None:
        ref, worst, worker, ops = OrderRef(*key), b[_WORST], _safe(b[_WORKER]), _safe(b[_OPS])
        # Events are built positionally (time, ref, kind, before, after, worker, worst, risk_key,
        # by_this_console, ops_group): keyword arguments cost more at a few thousand a refresh.
        add, make, words = events.append, ChangeEvent, _LEVEL_WORD
        if a[_STATUS] != b[_STATUS]:
            add(make(now, ref, ChangeKind.STATUS, _safe(a[_STATUS]), _safe(b[_STATUS]), worker, worst,
                     None, False, ops))
        if a[_WORKER] != b[_WORKER]:
            add(make(now, ref, ChangeKind.WORKER, _safe(a[_WORKER]), worker, worker, worst, None, False, ops))
        if a[_LEVELS] != b[_LEVELS]:
            for name, x, y in zip(RISK_KEY_NAMES, a[_LEVELS], b[_LEVELS]):
                if x != y:
                    add(make(now, ref, ChangeKind.RISK, words[x], words[y], worker, worst, name, False, ops))
        if a[_WORST] != worst:
            add(make(now, ref, ChangeKind.WORST, words[a[_WORST]], words[worst], worker, worst, None,
                     False, ops))
        if a[_LATE] != b[_LATE]:
            add(make(now, ref, ChangeKind.LATE, "late" if a[_LATE] else "on time",
                     "late" if b[_LATE] else "on time", worker, worst, None, False, ops))
        old_eta, new_eta = a[_ETA], b[_ETA]
        if old_eta != new_eta:
            if old_eta is None or new_eta is None:
                self._eta_base.pop(key, None)
                return
            base = self._eta_base.get(key, old_eta)
            if new_eta - base >= self.eta_slip:
                self._eta_base.pop(key, None)
                add(make(now, ref, ChangeKind.ETA, iso_utc(base), iso_utc(new_eta), worker, worst, None, False, ops))
            elif new_eta < base:
                self._eta_base.pop(key, None)  # earlier than the baseline: counting starts again
            else:
                self._eta_base[key] = base


def _safe(text: str | None) -> str | None:
    return text if text is None or text.isprintable() else sanitize(text)


def _first_key(item: tuple) -> tuple:
    return _key_sort(item[0])


def _key_sort(key: RowKey) -> tuple:
    handle, type_, index, attempt = key
    return (handle, type_ or "", index if index is not None else -1, attempt if attempt is not None else -1)


# =============================================================================== the feed


class ChangeFeed:
    """The session's change feed: the last ``size`` events, newest first, across refreshes;
    the unacknowledged new reds; which orders changed in the last ``marked_refreshes`` refreshes.

    Unaffected by any list filter: it holds every event it is given.
    """

    def __init__(self, size: int = DEFAULT_FEED_SIZE, *, marked_refreshes: int = 3) -> None:
        if size < 1 or marked_refreshes < 1:
            raise ValueError("size and marked_refreshes must be at least 1")
        self._events: deque[ChangeEvent] = deque(maxlen=size)
        #: key -> the event that made it newly red (insertion order: oldest first).
        self._unacked: dict[RowKey, ChangeEvent] = {}
        self._recent: deque[frozenset[RowKey]] = deque(maxlen=marked_refreshes)

    def record(self, events: Sequence[ChangeEvent]) -> list[ChangeEvent]:
        """Take one refresh's events (call it for every compared refresh, even without events,
        so markers age). Returns the events that are new reds."""
        self._events.extend(events)
        self._recent.append(frozenset(e.key for e in events))
        reds = [e for e in events if e.is_new_red]
        for event in events:
            key = event.key
            if event.kind is ChangeKind.LEFT or (event.kind is ChangeKind.WORST and event.after != "red"):
                self._unacked.pop(key, None)  # gone, or no longer red: nothing left to look at
        for event in reds:
            self._unacked.pop(event.key, None)
            self._unacked[event.key] = event
        return reds

    def events(self, *, red_only: bool = False) -> list[ChangeEvent]:
        """Newest first."""
        out = [e for e in reversed(self._events) if not red_only or e.is_red]
        return out

    def __len__(self) -> int:
        return len(self._events)

    @property
    def new_red_count(self) -> int:
        return len(self._unacked)

    def unacknowledged(self) -> list[ChangeEvent]:
        """The unacknowledged new reds, oldest first."""
        return list(self._unacked.values())

    def is_unacknowledged(self, ref: OrderRef) -> bool:
        return ref_key(ref) in self._unacked

    def next_new_red(self, after: OrderRef | None = None) -> OrderRef | None:
        """The next unacknowledged new red after ``after`` (oldest first, wrapping round), for
        a jump key; None when there is none."""
        refs = [e.ref for e in self._unacked.values()]
        if not refs:
            return None
        if after is not None:
            keys = [ref_key(r) for r in refs]
            try:
                return refs[(keys.index(ref_key(after)) + 1) % len(refs)]
            except ValueError:
                pass
        return refs[0]

    def acknowledge(self, ref: OrderRef) -> bool:
        """The supervisor looked at this order. True when it was an unacknowledged new red."""
        return self._unacked.pop(ref_key(ref), None) is not None

    def acknowledge_all(self) -> int:
        count = len(self._unacked)
        self._unacked.clear()
        return count

    def recently_changed(self) -> frozenset[RowKey]:
        """Keys of the orders with an event in the last ``marked_refreshes`` refreshes (the
        rows a list marks)."""
        if not self._recent:
            return frozenset()
        return frozenset().union(*self._recent)

    def __iter__(self) -> Iterator[ChangeEvent]:
        return iter(self.events())


__all__ = [
    "ChangeDetector", "ChangeEvent", "ChangeFeed", "ChangeKind", "DEFAULT_ETA_SLIP_MINUTES",
    "DEFAULT_FEED_SIZE", "MAX_ETA_SLIP_MINUTES", "Snapshot", "SnapshotBuilder", "TableDiff", "late_cutoff", "ref_key", "risk_levels",
    "snapshot",
]
