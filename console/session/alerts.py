"""The session's change tracking: what changed at each complete refresh, the feed, notifications.

:class:`ChangeTracker` wraps :mod:`console.session.changes` for one session, which feeds it its
order table: :meth:`ChangeTracker.begin` gives a load's :class:`~console.session.changes.TableDiff`;
the session hands it the first load's pages (``add``) or a refresh's merge result (``merged``)
and, once every page was read and merged, :meth:`ChangeTracker.complete` compares the load with
the one before and returns a :class:`ChangesDetected` (None for the first load, which only sets
the baseline). A load that fails is never completed, so it reports nothing (no order looks gone).

It also keeps:

- the orders this console completed or cancelled (:meth:`ChangeTracker.acted_on`), so that their
  leaving the open set says "by this console"; an entry stays until the order is gone from a
  compared refresh, so the set is bounded by the open set;
- the :class:`~console.session.changes.ChangeFeed` (last N events, unacknowledged new reds,
  recently changed orders), which survives refreshes and knows nothing of the list's filter;
- an optional :class:`~console.notify.Notifier` (no stream: it only composes the bytes; the UI
  writes them to its terminal), so that a refresh gives at most one notification.

No Textual here (pyproject.toml's import contracts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from console.api.vocab import OrderRef
from console.notify import Notifier
from console.session.changes import (
    DEFAULT_ETA_SLIP_MINUTES,
    DEFAULT_FEED_SIZE,
    ChangeDetector,
    ChangeEvent,
    ChangeFeed,
    RowKey,
    TableDiff,
    ref_key,
)


@dataclass(frozen=True)
class ChangesDetected:
    """A complete refresh compared with the one before it (never the first load, never a load
    that failed). Sent for every compared refresh, with or without events: the row markers age
    by refreshes.

    ``events``: this refresh's changes, in the detector's order. ``new_reds``: those that made an
    order newly red. ``notification``: the bytes of the refresh's notification for the terminal
    (``b""``: none is due: notifications off, nothing of the chosen kinds, or rate-limited and
    kept for the next one)."""

    events: tuple[ChangeEvent, ...]
    new_reds: tuple[ChangeEvent, ...]
    notification: bytes = b""


class ChangeTracker:
    """``ChangeTracker(eta_slip_minutes=15, feed_size=500, notifier=None)``: one session's
    change detection and feed."""

    #: Refreshes during which an order that changed keeps its row marker.
    MARKED_REFRESHES = 3

    def __init__(
        self,
        *,
        eta_slip_minutes: float = DEFAULT_ETA_SLIP_MINUTES,
        feed_size: int = DEFAULT_FEED_SIZE,
        notifier: Notifier | None = None,
    ) -> None:
        self.detector = ChangeDetector(eta_slip_minutes=eta_slip_minutes)
        self.feed = ChangeFeed(feed_size, marked_refreshes=self.MARKED_REFRESHES)
        #: Events the feed keeps (the oldest go first).
        self.feed_size = feed_size
        self.notifier = notifier
        #: Orders this console completed or cancelled, until they are seen gone.
        self._acted: dict[RowKey, None] = {}
        #: Compared refreshes (the first load not counted).
        self.compared = 0

    def begin(self, now: datetime) -> TableDiff:
        """The diff of a load that started at ``now``: give it the first load's pages (``add``)
        or the refresh's merge result (``merged``)."""
        return self.detector.begin_table(now)

    def complete(self, diff: TableDiff) -> ChangesDetected | None:
        """Every page of the load was read and merged: compare it with the last complete one.
        None for the first load (the baseline)."""
        events = self.compare(diff)
        return None if events is None else self.record(events)

    def compare(self, diff: TableDiff) -> list[ChangeEvent] | None:
        """The first half of :meth:`complete` (the detector's diff): a caller on an event loop
        can yield between the two halves. None for the first load (the baseline)."""
        detector = self.detector
        first = not detector.has_baseline
        acted = [OrderRef(*key) for key in self._acted]
        events = detector.compare_table(diff, acted_on=acted)
        if self._acted:
            self._acted = {key: None for key in self._acted if detector.is_open(key)}
        return None if first else events

    def record(self, events: list[ChangeEvent]) -> ChangesDetected:
        """The second half of :meth:`complete`: the compared refresh's events into the feed, and
        its notification composed."""
        self.compared += 1
        new_reds = self.feed.record(events)
        notification = self.notifier.refresh(events) if self.notifier is not None else b""
        return ChangesDetected(tuple(events), tuple(new_reds), notification)

    def acted_on(self, refs: Iterable[OrderRef]) -> None:
        """This console completed or cancelled these orders: when they leave the open set, the
        feed says it was this console."""
        for ref in refs:
            self._acted[ref_key(ref)] = None

    # The feed's acknowledgements, here so that callers need only the tracker.

    def acknowledge(self, ref: OrderRef) -> bool:
        """The supervisor looked at ``ref``: True when it was an unacknowledged new red."""
        return self.feed.acknowledge(ref)

    def acknowledge_all(self) -> int:
        return self.feed.acknowledge_all()

    @property
    def has_baseline(self) -> bool:
        """A complete load was compared (the first one set the baseline)."""
        return self.detector.has_baseline

    @property
    def new_red_count(self) -> int:
        return self.feed.new_red_count


__all__ = ["ChangeTracker", "ChangesDetected"]
