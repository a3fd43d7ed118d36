"""An action on one order (``c``, ``x``, ...): a run of one, through the same pipeline and journal
as a bulk run.

A single run (of any :class:`~console.bulk.actions.Action`) is journaled, classified and settled exactly like an order of a bulk run
(:class:`console.bulk.engine.BulkEngine`): intent before the POST, the outcome after it, a
read-back of the order's own leg when the answer is lost, and no second request while the first
may still be in flight (the settle window: the row counts down, Esc leaves the order in doubt).
Only the way the result is shown differs: in place, on the row and in the detail pane.

Presses on several orders queue up: one journal handle (the journal's lock is exclusive) serves
them one after the other, each as a run of its own. A second press on an order already queued or
in flight does nothing (checklist U4).

Nothing here draws: results and labels go to the callbacks the App gives.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.api.vocab import OrderRef
from console.session.table import RowKey, ref_key

if TYPE_CHECKING:
    from console.bulk.actions import Action
    from console.bulk.engine import BulkEngine
    from console.bulk.results import BulkEvent, OrderResult
    from console.ui.bulk_run import BulkController

log = logging.getLogger(__name__)

#: A result, plus the results of earlier runs' orders the run settled before sending, and the
#: action that was run.
DoneCallback = Callable[[OrderRef, "OrderResult", list["OrderResult"], "Action"], None]
LabelCallback = Callable[[OrderRef, "str | None"], None]
#: The row's label while the action's request is out ("completing…").
SendingLabel = Callable[["Action"], str]


class SingleRuns:
    """The queue of single-order runs of one App."""

    #: Seconds between redraws of a settle-window countdown.
    TICK = 1.0

    def __init__(self, bulk: BulkController, *, run_worker: Callable[..., Any],
                 set_interval: Callable[..., Any], on_label: LabelCallback, on_done: DoneCallback,
                 sending_label: SendingLabel, clock: Callable[[], float] = time.monotonic) -> None:
        self._bulk = bulk
        self._run_worker = run_worker
        self._set_interval = set_interval
        self._on_label = on_label
        self._on_done = on_done
        self._sending_label = sending_label
        self._clock = clock
        self._queue: deque[tuple[OrderRef, Action]] = deque()
        #: Orders queued or in flight (any action).
        self.completing: set[RowKey] = set()
        #: The action queued or in flight for each of :attr:`completing`.
        self.actions: dict[RowKey, Action] = {}
        #: ref -> engine-clock time its settle-window wait ends.
        self.waiting: dict[OrderRef, float] = {}
        self._engine: BulkEngine | None = None
        self._draining = False
        self._timer: Any = None

    @property
    def busy(self) -> bool:
        return bool(self.completing)

    def start(self, ref: OrderRef, action: Action | None = None) -> bool:
        """Queue ``action`` (complete by default) on ``ref``; False when the order already has an
        action queued or in flight (nothing is done: one request at a time per order)."""
        if action is None:
            from console.bulk.actions import COMPLETE

            action = COMPLETE
        key = ref_key(ref)
        if key in self.completing:
            return False
        self.completing.add(key)
        self.actions[key] = action
        self._queue.append((ref, action))
        self._on_label(ref, self._sending_label(action))
        if not self._draining:
            self._draining = True
            self._run_worker(self._drain, group="single", name="single run", exit_on_error=False)
        return True

    def stop_waiting(self) -> bool:
        """Esc: leave the order whose settle window is being waited out in doubt."""
        if not self.waiting or self._engine is None:
            return False
        self._engine.stop()
        return True

    async def _drain(self) -> None:
        from console.bulk.journal import JournalError

        try:
            try:
                journal = await self._bulk.open_journal()
            except JournalError as exc:
                while self._queue:
                    ref, action = self._queue.popleft()
                    self._finish(ref, action, _not_started(ref, exc), [])
                return
            try:
                while self._queue:
                    ref, action = self._queue.popleft()
                    self._finish(ref, action, *await self._run_one(journal, ref, action))
            finally:
                journal.close()
        finally:
            # No await between the loop's last look at the queue and here (journal.close() is
            # synchronous): a press queued meanwhile has already been run, never stranded.
            self._draining = False

    async def _run_one(self, journal: Any, ref: OrderRef, action: Action) -> tuple[OrderResult, list[OrderResult]]:
        from console.bulk.journal import JournalError
        from console.bulk.results import OrderResult, ResultStatus

        engine = self._bulk.engine_for(journal, action)
        self._engine = engine
        sent = False

        def on_event(event: BulkEvent) -> None:
            nonlocal sent
            if event.kind == "sent":
                sent = True
                self.waiting.pop(ref, None)
                self._on_label(ref, self._sending_label(action))
            elif event.kind == "waiting" and event.ref == ref:  # type: ignore[attr-defined]
                self.waiting[ref] = self._clock() + event.seconds  # type: ignore[attr-defined]
                self._show_countdown()
                self._ensure_timer()

        try:
            report = await engine.run([ref], on_event=on_event)
        except JournalError as exc:
            return _not_started(ref, exc), []
        except Exception as exc:  # a bug: say what we know; the journal settles what was sent
            log.exception("a single %s failed", action.name)
            status = ResultStatus.IN_DOUBT if sent else ResultStatus.FAILED_NOT_SENT
            return OrderResult(ref, status, message=f"internal error ({type(exc).__name__}); "
                               "a request in flight is checked at the next start"), []
        finally:
            self._engine = None
            self.waiting.pop(ref, None)
        result = next((r for r in report.results if r.ref == ref), None)
        if result is None:  # cannot happen: a run reports every order it was given
            result = OrderResult(ref, ResultStatus.NOT_SENT, message="not sent")
        return result, list(report.settled)

    def _finish(self, ref: OrderRef, action: Action, result: OrderResult, settled: list[OrderResult]) -> None:
        key = ref_key(ref)
        self.completing.discard(key)
        self.actions.pop(key, None)
        self._on_label(ref, None)
        self._on_done(ref, result, settled, action)

    def _show_countdown(self) -> None:
        now = self._clock()
        for ref, until in list(self.waiting.items()):
            left = max(0, round(until - now))
            self._on_label(ref, f"recheck {left}s")

    def _ensure_timer(self) -> None:
        if self._timer is None:
            self._timer = self._set_interval(self.TICK, self._tick, name="single-countdown")

    def _tick(self) -> None:
        if not self.waiting:
            if self._timer is not None:
                self._timer.stop()
                self._timer = None
            return
        self._show_countdown()


def _not_started(ref: OrderRef, exc: Exception) -> OrderResult:
    from console.bulk.results import OrderResult, ResultStatus

    return OrderResult(ref, ResultStatus.FAILED_NOT_SENT, message=f"not sent: {exc}")
