"""The highlighted order's detail: when it is fetched (after the cursor rests), what the detail
pane shows meanwhile, and keeping it live across refreshes.

The fetches and their cache are the session's (console/session/core.py); this module decides
when, and draws the answers into the :class:`~console.ui.detail.DetailPane`. Its fetches run as
workers of the App in the exclusive group ``detail`` (a newer highlight cancels the older fetch);
the App routes their ends here (:meth:`DetailController.worker_ended`).

Start-up: nothing is fetched or drawn for a highlighted order before the session's first-rows
moment (console/session/startup.py); at the moment the cursor's order is shown. Then, until the
first load is over, the pane keeps that order while pages arrive, unless the supervisor moves
the cursor (:meth:`DetailController.highlighted`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from console.session.table import OrderRow, ref_key
from console.ui.outcomes import error_message, error_title, field_errors, request_id

if TYPE_CHECKING:
    from textual.app import App
    from textual.worker import Worker

    from console.api.models import Order
    from console.api.vocab import OrderRef
    from console.session.core import Session
    from console.ui.detail import DetailPane
    from console.ui.order_list import OrderList


class DetailController:
    """``DetailController(app, session)``; :meth:`attach` the pane and the list once composed."""

    #: Seconds the cursor must rest on an order before its detail is requested.
    DETAIL_DEBOUNCE = 0.08
    #: Seconds the full order may take before the list's summary of it is shown meanwhile.
    SUMMARY_AFTER = 0.15

    def __init__(self, app: App[Any], session: Session, *, keys_may_have_changed: Callable[[], None]) -> None:
        #: Only the App's public worker API is used (run_worker, workers).
        self._app = app
        self.session = session
        #: Called once the cursor rests on an order: whether its keys apply depends on the row.
        self._keys_may_have_changed = keys_may_have_changed
        self.pane: DetailPane
        self.order_list: OrderList
        #: The row the pane is for (None: no order highlighted).
        self.row: OrderRow | None = None
        self._version: int | None = None
        self._worker_refs: dict[Worker, OrderRef] = {}
        #: Re-fetches whose failure is not worth replacing the pane for (the list's banner
        #: reports a connection problem; the pane keeps what it shows).
        self._quiet_workers: set[Worker] = set()
        session.when_first_rows_shown(self.first_rows_shown)

    def attach(self, pane: DetailPane, order_list: OrderList) -> None:
        self.pane = pane
        self.order_list = order_list

    def is_current(self, ref: OrderRef) -> bool:
        """Whether the pane is for ``ref``'s order."""
        row = self.row
        return row is not None and row.key == ref_key(ref)

    def shown_order(self, ref: OrderRef) -> Any:
        """The full order the pane shows for ``ref`` (None: the pane is for another order, or
        has not got it): what the list's row may lack (a share URL, a time zone)."""
        if not self.is_current(ref):
            return None
        order = self.pane.order
        return order if order is not None and getattr(order, "order_handle", None) == ref.order_handle else None

    # ------------------------------------------------------------------ when to fetch

    def first_rows_shown(self) -> None:
        """The start-up moment: show the cursor's order, if the first rows brought one (else the
        pane keeps its placeholder until a row is highlighted or the load's end says why not)."""
        if not self._app.is_running:
            return  # the moment came from a load cancelled at shutdown: the pane is going away
        row = self.order_list.cursor_row
        if row is not None:
            self.show(row)

    def highlighted(self, row: OrderRow | None) -> None:
        """The list's cursor moved to ``row``."""
        if not self.session.first_rows_done:
            # Before the first rows are on screen: a fetch (and later a pane layout) would
            # compete with their frame. The moment shows the cursor's order (first_rows_shown).
            return
        if self.session.loads == 0 and self.row is not None and not self.order_list.cursor_moved:
            # The first load, and nobody has moved the cursor: the top row changes with nearly
            # every page (worse orders keep arriving). The pane keeps the first order it showed
            # until the load is over (after_load), rather than redrawing for every page: a
            # redraw is a layout (~100 ms here), and 50k orders come in 50 pages.
            return
        self.show(row)

    def show(self, row: OrderRow | None) -> None:
        """Make the pane ``row``'s: its detail once the cursor rests, or the placeholder."""
        self.row = row
        if row is None:
            self._version = None
            self._app.workers.cancel_group(self._app, "detail")
            self.pane.show_placeholder(self.order_list.empty_message)
            self._keys_may_have_changed()
            return
        self._version = row.version
        self._start(row, quiet=False)
        # The footer is brought up to date once the cursor rests: whether `c` and `y` apply
        # depends on the row, and a footer refresh recomposes every key in it (~50 ms here),
        # which a held `j` must not pay per row. A key is checked when pressed anyway.

    def after_load(self) -> None:
        """A load ended: show the cursor's order if the first load held it back, and keep the
        highlighted order's detail live.

        If its row changed, fetch it again (showing the new summary meanwhile). Otherwise, once
        the cached detail is older than the TTL, fetch it quietly: the pane is redrawn only if
        the answer differs (a timeline grows while its list row stays the same).
        """
        row = self.order_list.cursor_row
        if row is not self.row:  # held back during the first load
            self.show(row)
        if row is None or row is not self.row:
            return
        details = self.session.details
        if row.version != self._version:
            details.discard(row.key)
            self.show(row)
        elif details.get(row.key) is None and not any(
            w.group == "detail" and not w.is_finished for w in self._app.workers
        ):
            self._start(row, quiet=True)

    def _start(self, row: OrderRow, *, quiet: bool) -> None:
        worker = self._app.run_worker(partial(self._load, row, quiet), name="load_detail", group="detail",
                                      exclusive=True, exit_on_error=False)
        self._worker_refs[worker] = row.ref
        if quiet:
            self._quiet_workers.add(worker)

    async def _load(self, row: OrderRow, quiet: bool) -> Order | None:
        """Show the highlighted order's detail once the cursor rests there.

        Nothing is drawn before the pause: a held ``j`` moves only the list (cheap), not the
        detail pane (a re-layout per order). A newer highlight cancels this worker. ``quiet``:
        a re-fetch of the order already shown (no pause, no summary in between).
        """
        ref = row.ref
        if quiet:
            return await self.session.fetch_detail(ref)
        if self.DETAIL_DEBOUNCE:
            await asyncio.sleep(self.DETAIL_DEBOUNCE)
        self._keys_may_have_changed()
        cached = self.session.details.get(row.key)
        if cached is not None:
            self.present(row, cached)
            return None
        # The list's summary is drawn only if the full order is slow to come: a pane redraw is a
        # screen layout (tens of ms), and drawing the summary and then the full order a moment
        # later paid two of them (and three layouts) for every order the cursor rested on.
        fetch = asyncio.ensure_future(self.session.fetch_detail(ref))
        try:
            done, _ = await asyncio.wait({fetch}, timeout=self.SUMMARY_AFTER)
            if not done:
                self.present(row, None)
            return await fetch
        finally:
            if not fetch.done():
                fetch.cancel()  # a newer highlight cancelled this worker: the GET goes too

    # ------------------------------------------------------------------ what the pane shows

    def worker_ended(self, worker: Worker, error: BaseException | None) -> bool:
        """A detail worker ended (success: ``error`` is None). False: the App is to report the
        error itself (a quiet re-fetch's, or one of a worker this controller did not start)."""
        ref = self._worker_refs.pop(worker, None)
        quiet = worker in self._quiet_workers
        self._quiet_workers.discard(worker)
        if error is None:
            if ref is not None and worker.result is not None:
                self._loaded(ref, worker.result)
            return True
        if ref is None or quiet:
            return False
        self._failed(ref, error)
        return True

    def present(self, row: OrderRow, order: Order | None) -> None:
        """Show ``order`` (or the row's summary, loading, when None) and any error of its last
        action."""
        if order is None:
            self.pane.show_summary(row.summary_order(), loading=True)
        else:
            self._show_full(row.ref, order)
        error = self.session.action_errors.get(row.key)
        if error is not None:
            self.pane.show_error(*error)

    def _loaded(self, ref: OrderRef, order: Order) -> None:
        self.session.details.put(ref_key(ref), order)
        row = self.row
        if row is None or not self.is_current(ref):
            return  # a slow answer for an order no longer highlighted is not shown
        if self.pane.order == order and not self.session.action_errors.get(row.key):
            return  # a quiet re-fetch that found nothing new: nothing to redraw
        self.present(row, order)

    def _show_full(self, ref: OrderRef, order: Order) -> None:
        """Show a ``GET /orders/{h}`` answer; for another leg of the handle than ``ref``'s, show
        ``ref``'s own leg as the list search found it, and name the other legs."""
        if ref.same_leg(order.ref):
            self.pane.show_order(order)
            return
        legs = self.session.legs(ref)
        mine = next((leg for leg in legs if ref.same_leg(leg.ref)), None)
        row = self.row
        assert row is not None
        self.pane.show_summary(OrderRow(mine).summary_order() if mine is not None else row.summary_order(),
                               loading=False)
        others = [leg for leg in legs if not ref.same_leg(leg.ref)] or [order]
        names = "; ".join(f"{leg.ref.leg_words()}: {leg.status}" for leg in others)
        self.pane.show_error(
            f"This is the {ref.leg_words()} leg; its own timeline and route are not available",
            f"The order has other legs ({names}). HyperTrack gives the timeline and route of this order "
            f"only with its {order.ref.leg_words()} leg. This leg's status, worker, times and risks shown "
            "here are its own and current.",
        )

    def _failed(self, ref: OrderRef, error: BaseException) -> None:
        if not self.is_current(ref):
            return
        row = self.row
        assert row is not None
        self.pane.show_summary(row.summary_order(), loading=False)
        self.pane.show_error(
            error_title(error, action="Loading the order"), error_message(error),
            field_errors(error), request_id(error),
        )
