"""What changed in the open set between two refreshes: typed events, a bounded feed, new reds.

A console over SSH cannot receive HyperTrack's webhooks, but it reloads the whole open set on every
refresh, so it can tell what changed at no extra request cost. This module does that without
Textual: the console, ``dispatch-console watch`` and tests use the same detector.

How a refresh flows through it:

1. :class:`SnapshotBuilder` (from :meth:`ChangeDetector.begin`) takes the refresh's orders a page
   at a time (``add``): each page is compared with the previous snapshot as it arrives, with
   per-order steps that run in C (list rows by identity, summaries by their raw fields compared
   whole), so the load's pages carry that work and no Python runs per unchanged order. Orders
   are :class:`~console.api.summaries.OrderSummary` objects or anything with the same
   attributes (the list's rows: when they carry ``levels``/``worst`` those are used).
2. ``finish()`` gives a :class:`Snapshot`; only a *complete* snapshot (every page read) is ever
   compared. A refresh that failed half-way is dropped with ``abandon()`` (or never finished):
   the orders it did not reach are not reported as gone.
3. :meth:`ChangeDetector.compare` diffs it against the previous complete snapshot: only the
   orders whose facts differ are examined (a snapshot built without the baseline is diffed in
   one C-speed pass first). The first
   snapshot only sets the baseline (no events).
4. :class:`ChangeFeed` keeps the last N events (a deque: bounded memory) across refreshes, the
   unacknowledged new reds (ack by order or all), and which orders changed in the last refreshes.

In the console (``console/session/core.py``), each page's summaries go through the builder in
steps as the page is merged (the event loop runs between them) and, once the refresh has
merged, the end step runs. Rows may be fed instead only if every changed order comes as a new
row object: the rows path recognises an unchanged order by identity alone. The console's order
table updates a changed row in place (``OrderTable._update_row``), so its rows must not be fed
here (a risk that turned red would give no event); the console feeds summaries::

    builder = detector.begin(load_started)
    for chunk in chunks(page.orders):
        builder.add(chunk)
        await asyncio.sleep(0)
    events = detector.compare(builder.finish(), acted_on=refs_this_console_completed_or_cancelled)
    new_reds = feed.record(events)          # counter: feed.new_red_count; jump: feed.next_new_red()

and a failed load calls nothing (or ``builder.abandon()``): the baseline stays the last complete
refresh.

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
from console.api.vocab import OPEN_STATUSES, RISK_KEY_NAMES, RISK_KEYS, OrderRef, RiskLevel

#: The default of the ``eta_slip_minutes`` setting.
DEFAULT_ETA_SLIP_MINUTES = 15
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
        who = f"Order {self.ref.describe()}"
        if self.worker and self.kind is not ChangeKind.WORKER:
            who += f", worker {self.worker}"
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
        return f"{who}: {what}."

    def as_json(self) -> dict[str, Any]:
        """The event as ``watch --json`` writes it: the handle and leg exact, times ISO-8601."""
        ref = self.ref
        out: dict[str, Any] = {
            "time": _iso(self.time),
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


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")


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
    objects that carry their own ``levels``: to the facts tuple itself. Rows (``rows``): ``facts``
    maps ``id(row)`` to the row itself, and an unchanged order is recognised by identity, with
    integer keys, in C, and nothing is built for it. That holds only for a feeder that gives a
    changed order a new row object; the console's order table does not (it updates rows in
    place), so it feeds summaries. (Ids are
    safe: a snapshot holds its rows, so no new row can reuse a listed row's id while the two
    snapshots are compared.)
    """

    __slots__ = ("time", "facts", "complete", "rows", "raw", "cutoff", "_previous", "_changed", "_new",
                 "_gone", "_fresh")

    def __init__(self, time: datetime, facts: dict[Any, Any], complete: bool, *, rows: bool = False,
                 raw: bool = False,
                 previous: "Snapshot | None" = None, changed: dict[RowKey, None] | None = None,
                 new: dict[RowKey, None] | None = None, gone: dict[RowKey, Any] | None = None,
                 fresh: list[Any] | None = None) -> None:
        self.time = time
        self.facts = facts
        self.complete = complete
        self.rows = rows
        #: Summaries read raw: ``facts`` maps each key to the order's raw fields (``_RAW_OF``),
        #: made into a facts tuple (:meth:`facts_of`) only for the orders that changed.
        self.raw = raw
        #: The latest scheduled time that reads LATE at ``time``.
        self.cutoff = datetime.fromtimestamp(late_cutoff(time), timezone.utc)
        # What the builder found against ``previous`` page by page (None: not compared yet):
        # summaries: the keys changed (a superset: compare checks the facts), new and gone;
        # rows: the rows not in ``previous`` (``fresh``) and id -> row of the gone (``gone``).
        self._previous = previous
        self._changed = changed
        self._new = new
        self._gone = gone
        self._fresh = fresh

    def __len__(self) -> int:
        return len(self.facts)

    def tuples(self) -> dict[RowKey, tuple]:
        """Key -> facts tuple, whichever way the orders came."""
        cutoff = self.cutoff
        if self.raw:
            return {key: _raw_facts(raw, cutoff) for key, raw in self.facts.items()}
        if not self.rows:
            return self.facts
        return {row.key: _row_facts(row, cutoff) for row in self.facts.values()}


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


_STATUS_OF = operator.attrgetter("status")


class SnapshotBuilder:
    """Collects one refresh's orders a page at a time. ``now``: when the refresh started (the
    LATE rule is evaluated against it).

    Given the ``previous`` complete snapshot (:meth:`ChangeDetector.begin` passes it), each page
    is also compared with it as it arrives, so the refresh's end only examines the orders that
    changed: the per-order work is spread over the load instead of stalling its last step.
    Pages of the list's rows (objects with ``key``, ``levels``, ``worst`` and ``fingerprint``)
    are matched by identity in C; summaries by their raw fields, compared whole, in C (objects
    carrying their own ``levels``, one by one in Python).
    """

    __slots__ = ("_time", "_cutoff", "_facts", "_previous", "_changed", "_new", "_unseen", "_rows", "_raw",
                 "_due",
                 "_fresh")

    def __init__(self, now: datetime, previous: Snapshot | None = None) -> None:
        self._time = now
        self._cutoff = datetime.fromtimestamp(late_cutoff(now), timezone.utc)
        self._facts: dict[Any, Any] = {}
        self._previous = previous
        #: Summaries: keys whose facts differ from the previous snapshot's, keys it did not
        #: have, and (``_unseen``) its orders not listed yet: at the end, the ones that left.
        #: Rows: ``_unseen`` is id -> row of its rows not listed again yet.
        self._changed: dict[RowKey, None] = {}
        self._new: dict[RowKey, None] = {}
        self._unseen: dict[RowKey, Any] | None = None
        #: Raw summaries against a baseline: ``_changed`` and ``_new`` map keys to this refresh's
        #: raw fields (the snapshot is the baseline's map with those applied, made at the end);
        #: ``_due``: keys whose scheduled time the clock passed (their LATE may differ).
        self._due: dict[RowKey, None] = {}
        #: Rows: the rows that are not objects of the previous snapshot.
        self._fresh: list[Any] = []
        #: None until the first page says whether these are list rows.
        self._rows: bool | None = None
        #: Summaries without precomputed levels: read raw (see ``_add_raw``).
        self._raw = False

    def add(self, orders: Iterable[Any]) -> None:
        """Add a page of orders (summaries or list rows). Orders outside the open statuses are
        not part of the open set and are ignored."""
        if not isinstance(orders, (list, tuple)):
            orders = list(orders)
        if not orders:
            return
        if self._rows is None:
            self._rows = hasattr(orders[0], "fingerprint") and hasattr(orders[0], "key")
            self._raw = not self._rows and not hasattr(orders[0], "levels") and hasattr(orders[0], "ref")
            previous = self._previous
            if previous is not None and (previous.rows != self._rows or previous.raw != self._raw):
                self._previous = None  # a baseline of the other kind: diffed in one pass at the end
            elif previous is not None:
                # Summaries: the previous orders not listed yet. Rows: id -> row of the previous
                # rows not listed again yet (at the end: gone, or replaced by a fresh row).
                self._unseen = dict(previous.facts)
        if self._rows:
            self._add_rows(orders)
        elif self._raw:
            self._add_raw(orders)
        else:
            self._add_summaries(orders)

    def _add_rows(self, orders: Sequence[Any]) -> None:
        unseen = self._unseen
        if unseen is None:  # no baseline of rows: every open row goes in the snapshot
            rows = list(itertools.compress(orders, map(_OPEN.__contains__, map(_STATUS_OF, orders))))
            self._facts.update(zip(map(id, rows), rows))
            return
        # Against the baseline: a row object of the previous snapshot is open (it passed this
        # filter then, and a row never changes) and is only taken off ``unseen``; the others
        # (None from the pop) are the fresh rows, filtered by status and kept aside. All in C.
        fresh = list(itertools.compress(orders, map(operator.not_, map(unseen.pop, map(id, orders),
                                                                      itertools.repeat(None)))))
        if fresh:
            self._fresh.extend(itertools.compress(fresh, map(_OPEN.__contains__, map(_STATUS_OF, fresh))))

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
        intern = sys.intern
        previous = self._previous
        prev_get = previous.facts.get if previous is not None else None
        unseen_pop = self._unseen.pop if self._unseen is not None else None
        changed, new = self._changed, self._new
        for order in orders:
            status = order.status
            if status not in _OPEN:
                continue
            levels = getattr(order, "levels", None)
            if levels is None:
                levels, worst = risk_levels(order.risks)
                ref = order.ref
                key = (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)
            else:
                worst = order.worst
                key = order.key
            scheduled = order.scheduled_at
            item = facts[key] = (
                intern(status) if len(status) < 64 else status,
                order.worker, levels, worst, scheduled is not None and scheduled <= cutoff,
                order.eta, order.ops_group,
            )
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
        if self._rows is None:  # no order at all: the kind of the previous snapshot
            self._rows = previous.rows if previous is not None else False
            self._raw = previous.raw if previous is not None else False
            if previous is not None:
                self._unseen = dict(previous.facts)
        rows = bool(self._rows)
        if previous is None:
            return Snapshot(self._time, self._facts, complete=True, rows=rows, raw=self._raw)
        if rows:
            # The open set: the previous rows still listed, and the fresh ones (a fresh row
            # listed twice is taken once: the dict keeps one entry per object).
            unseen = self._unseen if self._unseen is not None else {}
            facts = dict(previous.facts)
            for row_id in unseen:
                del facts[row_id]
            facts.update(zip(map(id, self._fresh), self._fresh))
            return Snapshot(self._time, facts, complete=True, rows=True, previous=previous,
                            fresh=self._fresh, gone=unseen)
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
        return Snapshot(self._time, self._facts, complete=False, rows=bool(self._rows), raw=self._raw)


def snapshot(orders: Iterable[Any], now: datetime) -> Snapshot:
    """A complete snapshot of ``orders`` in one call."""
    builder = SnapshotBuilder(now)
    builder.add(orders)
    return builder.finish()


# =============================================================================== the detector


class ChangeDetector:
    """Compares each complete snapshot with the previous one.

    ``eta_slip_minutes``: an ETA moving later by at least this much, counted from the ETA at the
    last slip event (or the earliest seen since), is one ``ETA`` event; so a slow drift of a minute
    a refresh is reported once it adds up, and an ETA moving earlier resets the count.

    For snapshots of list rows, an unchanged row is never visited: the detector keeps a key ->
    row map of its baseline, updated with the few rows that changed, and the orders that become
    LATE only because the clock moved are found in a heap of the not-yet-late scheduled times.
    """

    def __init__(self, *, eta_slip_minutes: float = DEFAULT_ETA_SLIP_MINUTES) -> None:
        if not eta_slip_minutes > 0:
            raise ValueError("eta_slip_minutes must be positive")
        self.eta_slip = timedelta(minutes=eta_slip_minutes)
        self._previous: Snapshot | None = None
        #: ETA baselines of orders whose ETA moved later without reaching the slip yet.
        self._eta_base: dict[RowKey, datetime] = {}
        #: Rows baselines only: key -> row, and (scheduled time, key) of the open orders not late
        #: yet; heap entries go stale when an order changes or leaves and are checked when due.
        self._by_key: dict[RowKey, Any] = {}
        self._late_heap: list[tuple[datetime, RowKey]] = []

    @property
    def has_baseline(self) -> bool:
        return self._previous is not None

    def begin(self, now: datetime) -> SnapshotBuilder:
        """A builder for the next refresh, comparing each page with the current baseline as it
        arrives (see :class:`SnapshotBuilder`)."""
        return SnapshotBuilder(now, self._previous)

    def compare(self, snap: Snapshot, *, acted_on: Collection[OrderRef] = ()) -> list[ChangeEvent]:
        """The events from the previous complete snapshot to ``snap`` (which becomes the
        baseline). An incomplete snapshot gives no events and leaves the baseline as it was; the
        first complete one gives none. ``acted_on``: the orders this console completed or
        cancelled, so that their leaving is told apart."""
        if not snap.complete:
            return []
        previous, self._previous = self._previous, snap
        # (key, facts before, facts after) of the orders that may have changed; new and gone.
        pairs: list[tuple[RowKey, tuple, tuple]] = []
        new_facts: dict[RowKey, tuple] = {}
        gone_facts: dict[RowKey, tuple] = {}
        if snap.rows and previous is not None and previous.rows and snap._previous is previous \
                and snap._fresh is not None:
            self._compare_rows(previous, snap, pairs, new_facts, gone_facts)
        else:
            if snap.rows:
                self._by_key = {row.key: row for row in snap.facts.values()}
                self._rebuild_late_heap(snap)
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
        if not pairs and not new_facts and not gone_facts:
            return []
        now = snap.time
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

    def _compare_rows(self, previous: Snapshot, snap: Snapshot, pairs: list, new_facts: dict,
                      gone_facts: dict) -> None:
        by_key = self._by_key
        old_cut, new_cut = previous.cutoff, snap.cutoff
        fresh = {row.key: row for row in snap._fresh or ()}
        diffed: dict[RowKey, None] = {}  # new or paired: their LATE is compared anyway
        for key, row in fresh.items():
            before = by_key.get(key)
            if before is None:
                new_facts[key] = _row_facts(row, new_cut)
                diffed[key] = None
            elif before is not row:
                pairs.append((key, _row_facts(before, old_cut), _row_facts(row, new_cut)))
                diffed[key] = None
            # else a kept row listed twice: unchanged, so the clock may still make it LATE
        # The previous rows not listed again (the builder took every listed one off in C).
        unseen = snap._gone if snap._gone is not None else \
            {i: r for i, r in previous.facts.items() if i not in snap.facts}
        for row in unseen.values():
            key = row.key
            if key not in fresh and by_key.get(key) is row:
                gone_facts[key] = _row_facts(row, old_cut)
                del by_key[key]
        by_key.update(fresh)
        self._push_late(snap, fresh.values())
        # Unchanged rows whose scheduled time the clock passed: their facts differ only in LATE.
        for key in self._became_late(previous, snap, diffed):
            row = by_key[key]
            pairs.append((key, _row_facts(row, old_cut), _row_facts(row, new_cut)))

    def _rebuild_late_heap(self, snap: Snapshot) -> None:
        cutoff = snap.cutoff
        self._late_heap = [(row.scheduled_at, key) for key, row in self._by_key.items()
                           if row.scheduled_at is not None and row.scheduled_at > cutoff]
        heapq.heapify(self._late_heap)

    def _push_late(self, snap: Snapshot, rows: Iterable[Any]) -> None:
        heap, cutoff = self._late_heap, snap.cutoff
        for row in rows:
            scheduled = row.scheduled_at
            if scheduled is not None and scheduled > cutoff:
                heapq.heappush(heap, (scheduled, row.key))
        if len(heap) > 2 * len(self._by_key) + 1000:  # mostly stale entries: start again
            self._rebuild_late_heap(snap)

    def _became_late(self, previous: Snapshot, snap: Snapshot, skip: Collection[RowKey]) -> list[RowKey]:
        """Keys of the rows that did not change but whose scheduled time the clock passed since
        the previous snapshot (``skip``: the changed and new ones, diffed anyway)."""
        heap, cutoff, by_key = self._late_heap, snap.cutoff, self._by_key
        due: dict[RowKey, None] = {}
        while heap and heap[0][0] <= cutoff:
            scheduled, key = heapq.heappop(heap)
            row = by_key.get(key)
            if (row is None or key in skip or row.scheduled_at != scheduled
                    or scheduled <= previous.cutoff):
                continue  # gone, diffed anyway, rescheduled since, or late already
            due[key] = None
        return list(due)

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
                add(make(now, ref, ChangeKind.ETA, _iso(base), _iso(new_eta), worker, worst, None, False, ops))
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
    "DEFAULT_FEED_SIZE", "Snapshot", "SnapshotBuilder", "late_cutoff", "ref_key", "risk_levels",
    "snapshot",
]
