"""The session: one supervisor's open orders, their loading and refresh, the highlighted order's
detail, marks, and the errors of their last actions, without Textual.

:class:`Session` owns the state; what happens to it is told to its subscribers as typed events
(the dataclasses below), delivered synchronously in the order they happen. A test drives a
Session with a client over the sandbox and reads its events, with no App and no Pilot; the App
(console/ui/app.py) subscribes and shows them.

Waiting is the caller's to choose: :meth:`Session.load` takes ``pace`` (awaited between two
steps of the first load, so that keys on their way to the screen go first) and ``frame``
(awaited once the first page's rows are in the table, until they are on screen). Without them
it only yields to the event loop.

Invariants:

- ``first rows shown`` happens once per session: after the first page's ``frame``, or when the
  first load ends without rows (no orders, an error, a cancel), or :attr:`StartUp.GRACE` s
  after the first load started, whichever comes first. The sequence and who waits on it (the
  heap policy, the detail pane, the footer's keys, the command line's collector pause) are
  written down in one place: console/session/startup.py.
- ``last_success`` is the start time of the last load that succeeded: a load that failed after
  one succeeded leaves the rows shown, which are then stale.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, NamedTuple, Union

from console.api import errors
from console.api.vocab import OPEN_STATUSES, OrderRef
from console.gc_policy import HeapPolicy
from console.session.alerts import ChangesDetected, ChangeTracker
from console.session.detail_cache import DetailCache
from console.session.marks import Marks
from console.session.startup import StartUp
from console.session.table import MergeResult, OrderRow, OrderTable, RowKey, build_rows, ref_key

if TYPE_CHECKING:
    from console.api.client import OrdersClient
    from console.api.models import Order
    from console.notify import Notifier
    from console.settings import Settings

Clock = Callable[[], datetime]
Wait = Callable[[], Awaitable[None]]


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


async def _yield() -> None:
    await asyncio.sleep(0)


class ShownError(NamedTuple):
    """An error shown with an order (the last failed action on it): the detail pane's
    ``show_error`` arguments."""

    title: str
    message: str
    field_errors: dict[str, list[str]] | None
    request_id: str | None


@dataclass(frozen=True)
class LoadSummary:
    """One load's outcome: orders read, orders that could not be read, when it started."""

    count: int
    skipped: int
    started: datetime


# ---------------------------------------------------------------------- events


@dataclass(frozen=True)
class PageShown:
    """A page of the first load joined the table (``loaded``: orders read so far)."""

    change: MergeResult
    loaded: int


@dataclass(frozen=True)
class RefreshMerged:
    """A refresh's pages were merged into the table at once (rows never flicker away)."""

    change: MergeResult


@dataclass(frozen=True)
class FirstRowsShown:
    """The start-up moment: the first rows are on screen (or none are coming)."""


@dataclass(frozen=True)
class LoadFinished:
    summary: LoadSummary


@dataclass(frozen=True)
class LoadFailed:
    """A load failed. ``stale``: an earlier load succeeded, its rows stay shown."""

    error: BaseException
    stale: bool


SessionEvent = Union[PageShown, RefreshMerged, FirstRowsShown, LoadFinished, LoadFailed, ChangesDetected]
Listener = Callable[[SessionEvent], None]


class Session:
    """``Session(client, settings)``: the state of one console session and its loading."""

    #: Page size after the first page: the first stays small (its rows show fast), the rest
    #: come in few round trips (50k orders: 50 requests, parses and redraws instead of 500).
    #: The client goes back to the first page's size if a server refuses this one.
    NEXT_PAGE_SIZE = 1000
    #: Orders turned into rows per step, with a ``pace`` between steps, so that a big page
    #: never holds a key press back for the whole page.
    ROWS_PER_STEP = 250
    #: Seconds a refresh sleeps between the steps that merge its pages (its reading, like the
    #: first load's every step, waits on ``pace`` instead). A bare ``sleep(0)`` requeues it at
    #: once, and a key's way to the screen takes several loop turns, each of which then waited
    #: behind one more step; measured on a 50k refresh, 2 ms gave shorter stalls than 0.
    LOAD_PAUSE = 0.002
    DETAIL_TTL = 15.0
    DETAIL_CACHE_SIZE = 200

    def __init__(
        self,
        client: OrdersClient,
        settings: Settings,
        *,
        now: Clock | None = None,
        heap: HeapPolicy | None = None,
    ) -> None:
        self.client = client
        self.settings = settings
        self.now: Clock = now or _utc_now
        self.table = OrderTable()
        #: The orders the supervisor marked for a bulk action.
        self.marks = Marks()
        #: The collector's policy during loads (console/gc_policy.py).
        self.heap = heap if heap is not None else HeapPolicy()
        #: Full orders by row key, fetched for the detail pane.
        self.details: DetailCache[Order] = DetailCache(self.DETAIL_TTL, self.DETAIL_CACHE_SIZE)
        #: The last failed action on each order, shown with it.
        self.action_errors: dict[RowKey, ShownError] = {}
        #: The legs of a handle whose GET answers with another leg than the row's (bounded: only
        #: pick/drop rows the detail was asked for).
        self._legs: dict[RowKey, list[Any]] = {}
        self.last_success: datetime | None = None
        self.load_error: BaseException | None = None
        #: Loads that succeeded.
        self.loads = 0
        #: What changed from one complete load to the next (console/session/alerts.py): every
        #: load's rows (the first) or merge result (a refresh) go to it, and a complete one is
        #: compared (:class:`ChangesDetected`).
        self.changes = ChangeTracker(eta_slip_minutes=settings.eta_slip_minutes, notifier=_notifier(settings))
        self._refresh_again = False
        self._listeners: list[Listener] = []
        #: The first-rows moment (console/session/startup.py); the heap policy waits on it.
        self.start_up = StartUp()
        self.start_up.on_moment = lambda: self._emit(FirstRowsShown())
        self.start_up.when_first_rows_shown(self.heap.first_rows_shown)

    # ------------------------------------------------------------------ events

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every event from now on, synchronously, in order."""
        self._listeners.append(listener)

    def _emit(self, event: SessionEvent) -> None:
        for listener in list(self._listeners):
            listener(event)

    # ------------------------------------------------------------------ start-up

    @property
    def first_rows_done(self) -> bool:
        return self.start_up.done

    def when_first_rows_shown(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, at the first-rows moment (at once if it has passed)."""
        self.start_up.when_first_rows_shown(callback)

    def first_rows_shown(self) -> None:
        """The first-rows moment; a no-op after the first call."""
        self.start_up.first_rows_shown()

    # ------------------------------------------------------------------ loading

    def list_filters(self) -> dict[str, Any]:
        """The open orders' query: what every load reads."""
        settings = self.settings
        return dict(
            status=OPEN_STATUSES,
            ops_group_handle=settings.ops_group,
            limit=settings.page_size,
            next_limit=max(settings.page_size, self.NEXT_PAGE_SIZE),
        )

    async def load(self, *, pace: Wait = _yield, frame: Wait = _yield) -> LoadSummary:
        """Read every page of the open orders into the table.

        The first load adds each page as it arrives (:class:`PageShown`); later ones are merged
        in one go (:class:`RefreshMerged`). Its outcome is reported by the caller through
        :meth:`load_succeeded` or :meth:`load_failed` (the UI runs it as a worker and learns
        its end from the worker's state, after the worker is finished)."""
        started = self.now()
        table = self.table
        merge = None if table.total == 0 else table.begin_refresh()
        # The load as the change tracker sees it: the first load's rows, or what the refresh
        # merge changed in the table (no per-order work of its own). Compared only once every
        # page was read and merged: a load that fails is dropped with it, and nothing looks gone.
        watch = self.changes.begin(started)
        count = skipped = 0
        heap = self.heap
        heap.load_started()  # no full GC per page: see HeapPolicy.load_started
        self.start_up.load_started()  # the moment's grace runs from the first load's start
        try:
            async for page in self.client.iter_summary_pages(**self.list_filters(), pause=pace):
                count += len(page.orders)
                skipped += len(page.skipped)
                orders, step = page.orders, self.ROWS_PER_STEP
                if merge is None:
                    # Rows are built a step at a time; the page joins the table (a splice into
                    # every row loaded so far, and a redraw) once, in a step of its own.
                    rows: list[OrderRow] = []
                    for start in range(0, len(orders), step):
                        await pace()
                        built = build_rows(orders[start:start + step])
                        watch.add(built)
                        rows += built
                    await pace()
                    self._emit(PageShown(table.extend(rows), count))
                    if orders and count == len(orders):  # the first page that brings rows
                        # The first rows go on screen before the next page is read: a fast
                        # server (the embedded sandbox answers at once) would otherwise have
                        # the next pages parsed, and a collection run, before the first frame.
                        await frame()
                        self.first_rows_shown()
                    await pace()  # keys (and a frame that is due) run before its collection
                    heap.page_loaded(table.total)
                else:
                    for start in range(0, len(orders), step):
                        await asyncio.sleep(self.LOAD_PAUSE)
                        merge.add_page(orders[start:start + step])
            if merge is not None:
                for _ in merge.steps():
                    await asyncio.sleep(0)
                merged = merge.finish()
                if self.changes.has_baseline:
                    watch.merged(merged)
                else:
                    # No complete load compared yet (the first one failed part-way, leaving
                    # rows): the whole table is this load's listing, the baseline.
                    watch.add(table.rows)
                self._emit(RefreshMerged(merged))
            # Compared with the last complete load once the table shows this one (the first load
            # only sets the baseline).
            changed = self.changes.compare(watch)
            if changed is not None:
                await asyncio.sleep(0)  # keys and a frame between the diff and the feed's work
                self._emit(self.changes.record(changed))
        except BaseException:
            heap.load_failed()
            self.start_up.load_ended()  # a cancel too: no rows are coming from this load
            raise
        await asyncio.sleep(0)  # the merged rows paint (and keys run) before the collection
        heap.load_finished(table.total)
        return LoadSummary(count, skipped, started)

    def load_succeeded(self, summary: LoadSummary) -> None:
        self.start_up.load_ended()  # a no-op once the first page's frame brought the moment
        self.loads += 1
        self.last_success = summary.started
        self.load_error = None
        self._emit(LoadFinished(summary))

    def load_failed(self, error: BaseException) -> None:
        self.start_up.load_ended()  # no rows are coming from this load
        self.load_error = error
        self._refresh_again = False
        self._emit(LoadFailed(error, stale=self.last_success is not None or bool(self.table.total)))

    def refresh_after_load(self) -> None:
        """Ask for one more load once the one in progress ends (it may predate our change)."""
        self._refresh_again = True

    def take_refresh_again(self) -> bool:
        """Whether a load was asked for during the last one (and forget the request)."""
        again, self._refresh_again = self._refresh_again, False
        return again

    def close(self) -> None:
        # The collector's thresholds as they were, should the last load's settle not have run.
        self.heap.close()
        self.start_up.cancel()

    # ------------------------------------------------------------------ the detail

    async def fetch_detail(self, ref: OrderRef) -> Order:
        """``GET /orders/{h}``; when it answers with another leg of the handle, the handle's legs
        too (the list searched by handle), so that ``ref``'s own leg can be shown."""
        order = await self.client.get_order(ref.order_handle, fulfillment_attempt=ref.fulfillment_attempt)
        if not ref.same_leg(order.ref):
            try:
                self._legs[ref_key(ref)] = await self.client.legs(ref.order_handle)
            except errors.HyperTrackError:
                self._legs.pop(ref_key(ref), None)  # the row's own summary is shown instead
        return order

    def legs(self, ref: OrderRef) -> list[Any]:
        """The handle's legs fetched with ``ref``'s detail ([] if none were)."""
        return self._legs.get(ref_key(ref), [])

    # ------------------------------------------------------------------ action results

    def action_ended(self, ref: OrderRef, error: ShownError | None) -> None:
        """An action on ``ref`` ended: its cached detail goes (the order changed, or may have),
        and its error is kept to show with it (or cleared, on success)."""
        key = ref_key(ref)
        self.details.discard(key)
        if error is None:
            self.action_errors.pop(key, None)
        else:
            self.action_errors[key] = error


def _notifier(settings: Settings) -> Notifier | None:
    """The terminal notifications the settings ask for (None: off). Without a stream: the UI
    writes the bytes it composes."""
    if not settings.notify:
        return None
    from console.notify import Notifier

    return Notifier(None, kinds=tuple(settings.notify_kinds), methods=tuple(settings.notify_methods),
                    tmux=settings.notify_tmux)
