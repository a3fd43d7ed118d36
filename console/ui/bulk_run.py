"""The App-side controller of bulk runs (complete, or any other :class:`~console.bulk.actions.Action`
on the marked orders): marks, the frozen plan, the run, its journal.

Why it lives on the App: a run changes real orders and must outlive the screen that shows it.
Workers belong to the node that starts them and popping a screen cancels its workers, so the run
is a worker of the App (``group="bulk"``); screens only *look* at :attr:`BulkController.state`.

How the pieces meet:

- :class:`~console.session.marks.Marks` holds what is marked, by identity. ``c`` with marks freezes
  them into a list of :class:`OrderRef` (:meth:`BulkController.plan`) that the review screen
  shows and the run is given unchanged: a refresh or re-sort while the review is open cannot
  change what is sent.
- The engine (:class:`console.bulk.engine.BulkEngine`) does the careful part (journal, retries,
  reconciliation). Its events arrive on the event loop; :meth:`_on_event` only updates plain
  state and sets a dirty flag. A timer (:attr:`FLUSH_SECONDS`) pushes the state to the views,
  so 1,000 orders cost a few repaints per second, not a repaint per event.
- The journal's exclusive lock is taken per bulk action (a run, the start-up settlement) and
  released when it ends, so the headless ``complete`` command can run between two UI runs. A
  :class:`~console.bulk.journal.JournalLocked` is shown with its message, which names the
  process holding the journal.
- At start-up, intents an interrupted run left without an outcome are settled by GET before
  anything is sent (:meth:`startup`): sending is blocked (:attr:`blocks_sending`) until it is done,
  and the supervisor gets a screen saying what happened to each order.

No widget code here beyond pushing screens and notifying: the screens and the status bar read
the state and call back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
import logging
from pathlib import Path
import time
from typing import TYPE_CHECKING, Any

from console.api.vocab import OrderRef
from console.session.core import Session
from console.session.marks import Marks, still_open
from console.session.table import RowKey, ref_key
from console.ui.messages import RefreshRequested

# The engine, the journal (SQLite) and the result types load when a bulk action first needs
# them (a run, a settlement, a journal that exists): not on the path to the first rows.
if TYPE_CHECKING:
    from console.bulk.actions import Action
    from console.bulk.engine import BulkEngine
    from console.bulk.journal import Journal, JournalReader
    from console.bulk.results import BulkEvent, OrderResult, Progress, ResultStatus, RunReport, StopReason
    from console.ui.app import DispatchApp

log = logging.getLogger(__name__)

#: Above this many orders the supervisor types the count to confirm.
TYPED_CONFIRM_ABOVE = 20

# Phases of a RunState.
OPENING = "opening"    # taking the journal's lock
SETTLING = "settling"  # GETs for what earlier runs left in doubt: nothing is sent yet
RUNNING = "running"
STOPPING = "stopping"  # no new requests; those in flight finish and are recorded
FINISHED = "finished"
FAILED = "failed"      # the run could not start (journal locked, unwritable, ...)
ACTIVE_PHASES = frozenset({OPENING, SETTLING, RUNNING, STOPPING})

RUN = "run"
STARTUP = "startup"


@dataclass
class RunState:
    """What the views show of one bulk action. Plain data, changed only on the event loop."""

    kind: str
    refs: list[OrderRef]
    phase: str = OPENING
    progress: Progress = field(default_factory=lambda: _progress(total=0))
    #: This run's results, in the order they arrived.
    results: list[OrderResult] = field(default_factory=list)
    #: Orders of interrupted earlier runs, settled by GET before anything was sent.
    settled: list[OrderResult] = field(default_factory=list)
    #: Monotonic time the 429 pause ends (None: not paused).
    paused_until: float | None = None
    pause_message: str = ""
    stop_requested: bool = False
    stop_reason: StopReason | None = None
    stop_message: str = ""
    report: RunReport | None = None
    error: str = ""
    #: What the run sends (complete unless told): the same action for every order of the run.
    action: Action = field(default_factory=lambda: _complete())

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE_PHASES

    @property
    def total(self) -> int:
        return len(self.refs)

    @property
    def retryable(self) -> list[OrderRef]:
        return self.report.retryable if self.report is not None else []

    def count(self, *statuses: ResultStatus) -> int:
        wanted = set(statuses)
        return sum(1 for r in self.results if r.status in wanted)


class BulkController:
    """Marks, the review, the run and the start-up settlement for one :class:`DispatchApp`."""

    #: Seconds between pushes of the run's state to the screen (coalesced repaints).
    FLUSH_SECONDS = 0.2

    def __init__(self, app: "DispatchApp", session: Session, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.app = app
        #: The orders' state this controller changes (the details its runs make stale).
        self.session = session
        self.marks: Marks = session.marks
        #: Extra keyword arguments for BulkEngine (tests: fake sleeps, no settle delay).
        self.engine_options: dict[str, Any] = {}
        self.clock = clock
        #: The current run, or the last one (its results stay viewable), or None.
        self.state: RunState | None = None
        #: The start-up settlement, while it runs (and after, for its report).
        self.startup_state: RunState | None = None
        self.engine: BulkEngine | None = None
        self._startup_busy = False
        self._quit_armed_for: RunState | None = None
        #: U hides the last run's line in the status bar (b still shows its results).
        self.summary_hidden = False
        self._listeners: list[Callable[[], None]] = []
        #: Listeners that draw on the main screen (the status bar): see :meth:`flush`.
        self._base_listeners: list[Callable[[], None]] = []
        #: The main screen has changes it did not draw (a dialog was on top).
        self._base_stale = False
        self._labels: dict[RowKey, str | None] = {}
        #: Keys whose row label this controller set (cleared by U or when the row leaves).
        self._labelled: set[RowKey] = set()
        self._dirty = False
        self._timer: Any = None
        #: Refs to mark once the list has loaded (orders the start-up settlement found not completed).
        self._mark_after_load: list[OrderRef] = []
        from console.ui.action_words import sending_label
        from console.ui.single_run import SingleRuns

        #: An action on one order (``c``, ``x``, ...): runs of one through the same engine and journal.
        self.singles = SingleRuns(
            self, run_worker=app.run_worker, set_interval=app.set_interval,
            on_label=lambda ref, label: app.order_list.set_pending(ref, label),
            on_done=lambda ref, result, settled, action: app.single.done(ref, result, settled, action),
            sending_label=lambda action: sending_label(action, ascii=app.settings.ascii),
        )

    # ------------------------------------------------------------------ configuration

    @property
    def concurrency(self) -> int:
        """Parallel requests of a run: the settings', within the engine's limits."""
        from console.bulk.engine import MAX_CONCURRENCY

        return max(1, min(self.session.settings.bulk_concurrency, MAX_CONCURRENCY))

    @property
    def journal_path(self) -> Path:
        """Settings' journal path, else this target's: ``$DISPATCH_CONSOLE_JOURNAL`` or the
        platform data dir, with ``-sandbox`` in the name for the embedded sandbox (as headless)."""
        from console.bulk.journal import journal_path_for

        return journal_path_for(sandbox=self.app.sandbox, explicit=self.session.settings.journal_path)

    # ------------------------------------------------------------------ state for the views

    @property
    def active(self) -> bool:
        return self.state is not None and self.state.active

    @property
    def blocks_sending(self) -> bool:
        """True while nothing else may be sent: a run goes on, or the start-up settlement."""
        return self.active or self._startup_busy

    @property
    def startup_busy(self) -> bool:
        return self._startup_busy

    def subscribe(self, listener: Callable[[], None], *, base: bool = False) -> None:
        """Call ``listener`` at each flush; ``base``: it draws on the main screen, and waits
        while a dialog covers it."""
        listeners = self._base_listeners if base else self._listeners
        if listener not in listeners:
            listeners.append(listener)

    def unsubscribe(self, listener: Callable[[], None]) -> None:
        for listeners in (self._listeners, self._base_listeners):
            if listener in listeners:
                listeners.remove(listener)

    def changed(self, *, now: bool = False) -> None:
        """Something the views show changed: they hear of it at the next flush, or at once for
        a key press (a mark), which is one change, not a stream of them."""
        self._dirty = True
        if now:
            self.flush()
        else:
            self._ensure_timer()

    def flush(self) -> None:
        """Push accumulated changes to the list and the views (called by the timer).

        While a dialog (the progress screen) covers the main screen, the main screen's part (row
        labels, status bar) waits: a change to a widget under a translucent dialog makes Textual
        re-render and blend the whole screen beneath it (measured: 0.2-0.3 s per update during a
        1,000-order run, the UI's longest stalls). It is drawn once the main screen shows again.
        """
        state = self.state
        if state is not None and state.paused_until is not None:
            self._dirty = True  # the countdown moves every flush
        base_visible = self._base_visible()
        if base_visible and self._base_stale:
            self._dirty = True
        if not self._dirty:
            if not self.blocks_sending and not self._base_stale:
                self._stop_timer()
            return
        self._dirty = False
        listeners = list(self._listeners)
        if base_visible:
            self._base_stale = False
            if self._labels and self.app.is_running:
                labels, self._labels = self._labels, {}
                self.app.order_list.set_pending_many(labels)
            listeners += self._base_listeners
        else:
            self._base_stale = True
            self._ensure_timer()  # to draw the main screen when the dialog goes
        for listener in listeners:
            try:
                listener()
            except Exception:  # a view that broke must not stop the others
                log.exception("a bulk view failed to update")

    def _base_visible(self) -> bool:
        return self.app.on_main_screen

    def _ensure_timer(self) -> None:
        if self._timer is None and self.app.is_running:
            self._timer = self.app.set_interval(self.FLUSH_SECONDS, self.flush, name="bulk-flush")

    def _stop_timer(self) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None

    # ------------------------------------------------------------------ marks

    def toggle(self) -> None:
        row = self.app.order_list.cursor_row
        if row is None:
            return
        if row.ref not in self.marks and not row.is_open:
            self.app.notify(f"{row.display_handle} is {row.status}: only open orders can be marked.",
                            markup=False)
            return
        self.marks.toggle(row.ref)
        self.app.order_list.refresh_marks(row.ref)
        self.changed(now=True)

    def mark_view(self) -> None:
        """``*``: every open order of the current (filtered) view."""
        view = self.session.table.view
        added = self.marks.mark(row.ref for row in view if row.is_open)
        if added:
            self.app.order_list.refresh_marks()
        self.changed(now=True)
        self.app.notify(f"Marked {added:,} more; {len(self.marks):,} marked.", markup=False)

    def clear(self) -> None:
        """``U``: no marks, and no result labels of finished runs in the list."""
        cleared = self.marks.clear()
        if not self.active:
            self.summary_hidden = True
            for key in self._labelled:
                self._labels[key] = None
            self._labelled.clear()
        self.app.order_list.refresh_marks()
        self.changed(now=True)
        if cleared:
            self.app.notify(f"Cleared {cleared:,} mark{'s' if cleared != 1 else ''}.", markup=False)

    def after_load(self) -> None:
        """After every load: drop the marks (and labels) of orders that left the open list."""
        table = self.session.table
        if self._mark_after_load:
            present = [ref for ref in self._mark_after_load if table.get(ref) is not None]
            self._mark_after_load = []
            self.marks.mark(present)
        dropped = self.marks.prune(still_open(table))
        running = set(map(ref_key, self.state.refs)) if self.active and self.state else set()
        gone = [key for key in self._labelled
                if key not in running and table.get(OrderRef(*key)) is None]
        for key in gone:
            self._labelled.discard(key)
            self._labels[key] = None
        if dropped or gone:
            self.app.order_list.refresh_marks()
            self.changed(now=True)

    def plan(self) -> tuple[list[OrderRef], list[str]]:
        """The frozen list ``c`` would complete, and notes on what was left out and why."""
        table = self.session.table
        refs = self.marks.frozen(table)
        notes: list[str] = []
        completing = self.singles.completing
        busy = [ref for ref in refs if ref_key(ref) in completing]
        if busy:
            refs = [ref for ref in refs if ref_key(ref) not in completing]
            notes.append(f"{len(busy)} marked order(s) left out: an action on them alone is in flight.")
        view = {row.key for row in table.view}
        hidden = sum(1 for ref in refs if ref_key(ref) not in view)
        if hidden:
            notes.append(f"{hidden:,} of these are marked but hidden by the current filter.")
        return refs, notes

    # ------------------------------------------------------------------ starting a run

    def complete_marked(self) -> None:
        """``c`` with marks: review the frozen list, then run it."""
        self.act_on_marked(_complete())

    def refuses_marked(self, action: Action) -> bool:
        """Before asking anything (a worker, a time) for an action on the marked orders: refuse,
        and say why, when nothing could be sent now."""
        return self._refuse_to_send(action)

    def act_on_marked(self, action: Action) -> None:
        """An action key with marks: review the frozen list (with the orders the action does not
        apply to, and why, left out), then run it."""
        from console.ui.action_words import title_verb

        if self._refuse_to_send(action):
            return
        refs, notes = self.plan()
        if not refs:
            self.app.notify(f"Nothing to {action.verb}: the marked orders are not in the list any more.",
                            markup=False)
            return
        refs, skipped = self.split_by_refusal(refs, action)
        if not refs:
            reasons = sorted({reason for _, reason in skipped})
            self.app.notify(f"Nothing to {action.verb}: it applies to none of the {len(skipped):,} marked "
                            f"order(s) ({'; '.join(reasons[:3])}).", severity="warning", markup=False)
            return
        self._review(refs, notes, verb=title_verb(action), action=action, skipped=skipped)

    def split_by_refusal(self, refs: Sequence[OrderRef], action: Action) -> tuple[list[OrderRef], list[tuple[OrderRef, str]]]:
        """``refs`` the action applies to (as the list shows each order now), and the others
        with the reason (:meth:`Action.refusal`), both in the given order."""
        table = self.app.order_list.table
        keep: list[OrderRef] = []
        skipped: list[tuple[OrderRef, str]] = []
        for ref in refs:
            row = table.get(ref)
            reason = action.refusal(row) if row is not None else None
            if reason is None:
                keep.append(ref)
            else:
                skipped.append((ref, reason))
        return keep, skipped

    def retry_failed(self) -> None:
        """``R``: the failed orders of the last run that are still marked, reviewed first."""
        if self._refuse_to_send():
            return
        state = self.state
        if state is None or state.report is None:
            self.app.notify("No finished bulk run to retry.", markup=False)
            return
        table = self.session.table
        refs = [ref for ref in state.retryable if ref in self.marks and table.get(ref) is not None]
        if not refs:
            self.app.notify("No failed order of the last run is still marked and open.", markup=False)
            return
        refs, skipped = self.split_by_refusal(refs, state.action)
        if not refs:
            self.app.notify(f"No failed order of the last run can still be sent the {state.action.verb}: "
                            f"{skipped[0][1]}.", markup=False)
            return
        from console.ui.action_words import title_verb

        verb = "Retry" if state.action.name == "complete" else f"Retry: {title_verb(state.action)}"
        self._review(refs, [f"Only the failed orders of the last run that are still marked ({len(refs):,})."],
                     verb=verb, action=state.action, skipped=skipped)

    def _refuse_to_send(self, action: Action | None = None) -> bool:
        app = self.app
        if app.settings.read_only:
            verb = action.verb if action is not None else "complete"
            app.notify(f"Read-only: this console cannot {verb} orders.", severity="warning", markup=False)
            return True
        if self._startup_busy:
            app.notify("Checking what an interrupted bulk run left in doubt first; try again in a moment.",
                       severity="warning", markup=False)
            return True
        if self.active:
            app.notify(f"A bulk run is going on ({self._key('bulk_show')} shows it); one run at a time.",
                       severity="warning", markup=False)
            return True
        if self.singles.busy:
            app.notify("An action on one order is in flight; try again when it has finished.",
                       severity="warning", markup=False)
            return True
        return False

    def _key(self, action: str) -> str:
        """The key that runs ``action`` now (the user's keymap applied), for the words of a toast."""
        from console.ui.textual_compat.bindings import key_display

        try:
            return key_display(self.app, action) or action
        except Exception:  # no screen yet, or shutting down: the action's name still says it
            return action

    def refuses_single(self, ref: OrderRef) -> bool:
        """``c`` without marks: refuse (and say why) while the start-up settlement runs, or when
        the order is part of the bulk run going on (U4: no second request while one is out)."""
        if self._startup_busy:
            self.app.notify("Checking what an interrupted bulk run left in doubt first; try again in a moment.",
                            severity="warning", markup=False)
            return True
        state = self.state
        if state is not None and state.active and ref in state.refs:
            self.app.notify(f"This order is in the bulk run going on ({self._key('bulk_show')} shows it).",
                            severity="warning",
                            markup=False)
            return True
        if state is not None and state.active:
            # One journal writer at a time: the run holds it until it ends.
            self.app.notify(f"A bulk run is going on ({self._key('bulk_show')} shows it); act on this order "
                            "when it has finished.",
                            severity="warning", markup=False)
            return True
        return False

    def _review(self, refs: list[OrderRef], notes: list[str], *, verb: str, action: Action,
                skipped: Sequence[tuple[OrderRef, str]] = ()) -> None:
        from console.ui.screens.bulk_review import BulkReviewScreen

        frozen = list(refs)  # the screen and the run share this copy; nothing re-reads the list

        review = BulkReviewScreen(frozen, verb=verb, notes=notes, typed=len(frozen) > TYPED_CONFIRM_ABOVE,
                                  ascii=self.app.settings.ascii, action=action, skipped=skipped)

        def confirmed(ok: bool | None) -> None:
            if ok:
                chosen = action
                if review.asks_reason and review.reason != getattr(action, "reason", None):
                    from console.bulk.actions import Cancel

                    chosen = Cancel(reason=review.reason)  # every cancel of the run sends it
                self.start(frozen, chosen)

        self.app.push_screen(review, confirmed)

    def start(self, refs: Sequence[OrderRef], action: Action) -> RunState | None:
        """Run ``action`` on ``refs`` (exactly these) on the App and show the progress screen."""
        if self._refuse_to_send(action):
            return None
        from console.ui.bulk_view import QUEUED

        state = RunState(RUN, list(refs), action=action)
        self.state = state
        self.summary_hidden = False
        for ref in state.refs:
            self._set_label(ref_key(ref), QUEUED)
        self.app.run_worker(partial(self._drive, state), group="bulk", name="bulk run", exit_on_error=False)
        self.changed()
        self.show()
        return state

    def show(self) -> None:
        """``b``: (re)open the progress/results screen of the current or last run."""
        from console.ui.screens.bulk_progress import BulkProgressScreen

        if self.state is None:
            self.app.notify(f"No bulk run yet: mark orders ({self._key('toggle_mark')}, {self._key('mark_view')}) "
                            f"and press {self._key('complete')}.", markup=False)
            return
        if isinstance(self.app.screen, BulkProgressScreen):
            return
        self.app.push_screen(BulkProgressScreen(self))

    def stop(self) -> None:
        """Esc on the progress screen: send no new request (in-flight ones finish and are recorded)."""
        state = self.state
        if state is None or not state.active or state.stop_requested:
            return
        state.stop_requested = True
        if self.engine is not None:
            self.engine.stop()
        else:
            # The engine is not there yet (the journal is being opened): it stops on its first event.
            state.phase = STOPPING
            state.stop_message = "stopped by the operator: no new requests are sent"
        self.changed()

    def confirm_quit(self) -> bool:
        """``q`` during a run: the first press only warns (quitting stops the run where it is);
        a second press quits. Nothing is lost either way: what was in flight is settled by GET
        at the next start."""
        state = self.state
        if state is None or not state.active:
            return True
        if self._quit_armed_for is state:
            return True
        self._quit_armed_for = state
        left = state.total - len(state.results)
        self.app.notify(
            f"A bulk run is going on ({left:,} of {state.total:,} not finished). Press q again to quit: "
            "orders not sent stay unsent, and requests in flight are checked at the next start.",
            severity="warning", timeout=8, markup=False)
        return False

    # ------------------------------------------------------------------ the run (an App worker)

    async def open_journal(self) -> Journal:
        from console.bulk.journal import Journal

        journal = Journal(self.journal_path)
        await asyncio.to_thread(journal.open)
        return journal

    def engine_for(self, journal: Journal, action: Action | None = None) -> BulkEngine:
        """An engine over ``journal`` that sends ``action`` (complete by default)."""
        from console.bulk.engine import BulkEngine

        options = dict(self.engine_options)
        if self.app.settings.settle_window is not None:
            options.setdefault("settle_window", self.app.settings.settle_window)
        if action is not None:
            options["action"] = action
        return BulkEngine(self.app.client, journal, concurrency=self.concurrency, **options)

    async def _drive(self, state: RunState) -> None:
        from console.bulk.journal import JournalError

        try:
            journal = await self.open_journal()
        except JournalError as exc:
            self._failed(state, f"Not started: {exc}")
            return
        report: RunReport | None = None
        try:
            engine = self.engine_for(journal, state.action)
            self.engine = engine  # an Esc that came while the journal opened: see _on_event
            report = await engine.run(state.refs, on_event=lambda event: self._on_event(state, event))
        except JournalError as exc:
            self._failed(state, f"The run could not be recorded, so nothing more was sent: {exc}")
        except Exception as exc:  # a bug: say so; the journal settles whatever was in flight
            log.exception("the bulk run failed")
            self._failed(state, f"The run stopped on an internal error ({type(exc).__name__}); "
                                "orders in flight are checked on the next start.")
        finally:
            self.engine = None
            journal.close()
        if report is not None:
            self._finished(state, report)

    def _on_event(self, state: RunState, event: BulkEvent) -> None:
        """Called by the engine on the event loop: update plain state, nothing else."""
        from console.ui.action_words import in_words, sending_label
        from console.ui.bulk_view import row_label

        state.progress = event.progress
        kind = event.kind
        if kind == "settling":
            state.phase = SETTLING
        elif kind == "settled":
            result = event.result  # type: ignore[attr-defined]
            if result is not None:
                state.settled.append(result)
        elif kind == "started":
            if state.phase != STOPPING:
                state.phase = RUNNING
        elif kind == "sent":
            ref = event.ref  # type: ignore[attr-defined]
            if ref is not None:
                self._set_label(ref_key(ref), sending_label(state.action, ascii=self.app.settings.ascii))
        elif kind == "result":
            result = event.result  # type: ignore[attr-defined]
            if result is not None:
                state.results.append(result)
                self._set_label(ref_key(result.ref), in_words(row_label(result.status), state.action))
        elif kind == "paused":
            state.paused_until = self.clock() + event.retry_after  # type: ignore[attr-defined]
            state.pause_message = event.message  # type: ignore[attr-defined]
        elif kind == "resumed":
            state.paused_until = None
            state.pause_message = ""
        elif kind == "stopping":
            state.phase = STOPPING
            state.stop_reason = event.reason  # type: ignore[attr-defined]
            state.stop_message = event.message  # type: ignore[attr-defined]
        elif kind == "finished":
            state.report = event.report  # type: ignore[attr-defined]
        if state.stop_requested and self.engine is not None and kind in ("settling", "started"):
            self.engine.stop()  # Esc came before the engine could hear it
        self.changed()

    def _finished(self, state: RunState, report: RunReport) -> None:
        state.report = report
        state.phase = FINISHED
        state.paused_until = None
        state.stop_reason = report.stop_reason
        state.stop_message = report.stop_message
        table = self.session.table
        succeeded = [r.ref for r in report.results if r.status.is_success]
        # Failed, in doubt or never sent: they stay marked (R retries the retryable ones).
        unfinished = [r.ref for r in report.results if not r.status.is_success and table.get(r.ref) is not None]
        self.marks.unmark(succeeded)
        self.marks.mark(unfinished)
        for ref in succeeded:
            self.session.details.discard(ref_key(ref))
        self.session.changes.acted_on(succeeded)  # their leaving the open set: this console's doing
        self.app.order_list.refresh_marks()
        self.changed()
        self.flush()
        from console.bulk.results import ResultStatus

        counts = report.counts()
        done = sum(n for status, n in counts.items() if status.is_success)
        failed = sum(n for status, n in counts.items() if status.is_failure)
        doubt = counts.get(ResultStatus.IN_DOUBT, 0)
        not_sent = len(report.results) - done - failed - doubt
        done_word = state.action.done
        text = f"Bulk run finished: {done:,} {done_word}, {failed:,} failed, {doubt:,} in doubt"
        if not_sent:
            text += f", {not_sent:,} not sent"
        if unfinished:
            n = len(unfinished)
            text += f". {n:,} not {done_word} {'stays' if n == 1 else 'stay'} marked"
            if state.retryable:
                text += f"; {self._key('retry_failed')} retries the failed ones"
        from console.ui.screens.bulk_progress import BulkProgressScreen

        if not isinstance(self.app.screen, BulkProgressScreen):  # that screen says it all already
            self.app.notify(text + ".", severity="error" if doubt or failed else "information", timeout=10,
                            markup=False)
        self.app.post_message(RefreshRequested())

    def _failed(self, state: RunState, message: str) -> None:
        state.phase = FAILED
        state.error = message
        for ref in state.refs:
            key = ref_key(ref)
            if key in self._labelled:
                self._labelled.discard(key)
                self._labels[key] = None
        self.changed()
        self.flush()
        self.app.notify(message, severity="error", timeout=12, markup=False)

    def _set_label(self, key: RowKey, label: str | None) -> None:
        self._labels[key] = label
        if label is None:
            self._labelled.discard(key)
        else:
            self._labelled.add(key)

    # ------------------------------------------------------------------ start-up settlement

    def startup(self) -> None:
        """Settle what an interrupted run left in doubt, before anything else is sent.

        Sending is blocked from this call until the settlement is done (or found unnecessary);
        nothing is created on disk when there is no journal yet."""
        self._startup_busy = True
        # The check itself starts once the screen has been drawn: reading the journal (SQLite,
        # in a thread) and loading the bulk engine are not needed to show the first rows, and
        # nothing can be sent before it is done anyway.
        self.app.call_after_refresh(self._start_settlement)

    def _start_settlement(self) -> None:
        self.app.run_worker(self._startup, group="bulk-startup", name="bulk start-up", exit_on_error=False)

    async def _startup(self) -> None:
        try:
            await self._settle_at_startup()
        except Exception as exc:  # never leave sending blocked because of a bug here
            log.exception("settling at start-up failed")
            self.app.notify(f"Could not check the bulk journal at start-up ({type(exc).__name__}).",
                            severity="error", markup=False)
        finally:
            self._startup_busy = False
            self.changed()

    async def _settle_at_startup(self) -> None:
        app = self.app
        path = self.journal_path
        client = app.client
        account, base_url = client.account_id, client.base_url
        if not path.exists():
            return  # nothing was ever run: nothing to settle, and no file is created
        from console.bulk.journal import JournalError, JournalReader
        from console.bulk.results import ResultStatus

        def look() -> tuple[int, int]:
            with JournalReader(path) as reader:
                return (len(reader.unsettled(account, base_url)),
                        len(_unfinished_runs(reader, account, base_url)))

        try:
            unsettled, unfinished = await asyncio.to_thread(look)
        except JournalError as exc:
            app.notify(f"Could not read the bulk journal: {exc}", severity="error", markup=False)
            return
        if not unsettled and not unfinished:
            return
        if app.settings.read_only:
            app.notify(
                "An interrupted bulk run left orders unsettled or unsent; read-only mode does not settle "
                "them (open the console without read-only, or see 'dispatch-console journal').",
                severity="warning", timeout=12, markup=False)
            return
        state = RunState(STARTUP, [], phase=SETTLING)
        self.startup_state = state
        self.changed()
        try:
            journal = await self.open_journal()
        except JournalError as exc:
            # Most likely another process runs a bulk completion now (its runs look unfinished).
            state.phase = FAILED
            state.error = f"Could not check the interrupted bulk run: {exc}"
            app.notify(state.error, severity="error", timeout=12, markup=False)
            return
        try:
            # Under the lock no other process runs: a run without an end was interrupted. Its
            # orders still pending were never sent; settle_pending then closes those runs.
            never_sent = await asyncio.to_thread(_never_sent, journal, account, base_url)
            engine = self.engine_for(journal)
            results = await engine.settle_pending(on_event=lambda event: self._on_startup_event(state, event))
        except JournalError as exc:
            state.phase = FAILED
            state.error = f"Could not check the interrupted bulk run: {exc}"
            app.notify(state.error, severity="error", timeout=12, markup=False)
            return
        finally:
            journal.close()
        settled_refs = {r.ref for r in results}
        state.settled = list(results) + [r for r in never_sent if r.ref not in settled_refs]
        state.phase = FINISHED
        # Orders that are not completed (the GET said so, or never sent): marked, so that c
        # sends them after a review.
        self._mark_after_load.extend(r.ref for r in state.settled
                                     if r.status in (ResultStatus.NOT_APPLIED, ResultStatus.NOT_SENT))
        if app.order_list.table.total:
            self.after_load()
        self.changed()
        if state.settled:
            self.show_settled(state.settled)

    def _on_startup_event(self, state: RunState, event: BulkEvent) -> None:
        state.progress = event.progress
        if event.kind == "settled" and event.result is not None:  # type: ignore[attr-defined]
            state.settled.append(event.result)  # type: ignore[attr-defined]
        self.changed()

    def show_settled(self, results: Sequence[OrderResult]) -> None:
        """What earlier runs left unsettled and a run just settled (before sending anything),
        each in the words of the action its run sent (read from the journal's ops)."""
        if results and self.app.is_running:
            self.app.run_worker(partial(self._show_settled, list(results)), group="bulk-settled",
                                exit_on_error=False)

    async def _show_settled(self, results: list[OrderResult]) -> None:
        from console.ui.screens.bulk_settled import BulkSettledScreen

        try:
            actions = await asyncio.to_thread(self._actions_of, results)
        except Exception:  # the words only: the results are shown whatever the journal says
            log.exception("reading the settled ops' actions failed")
            actions = {}
        if self.app.is_running:
            self.app.push_screen(BulkSettledScreen(results, ascii=self.app.settings.ascii, actions=actions))

    def _actions_of(self, results: Sequence[OrderResult]) -> dict[str, Action]:
        """(On a thread.) op id -> the action its op was recorded with, for ``results``."""
        from console.bulk.actions import from_journal
        from console.bulk.journal import JournalReader

        out: dict[str, Action] = {}
        with JournalReader(self.journal_path) as reader:
            for result in results:
                op = reader.op(result.op_id) if result.op_id else None
                if op is not None:
                    try:
                        out[op.op_id] = from_journal(op.action, op.params)
                    except ValueError:
                        continue  # an action this version does not know: complete's words stay
        return out


# ----------------------------------------------------------------------------- journal reading


def _unfinished_runs(journal: JournalReader | Journal, account: str | None, base_url: str) -> list[Any]:
    """Runs of this account and server that never recorded their end (interrupted, or going on
    in another process when the lock is not held)."""
    from console.bulk.journal import base_host

    host = base_host(base_url)
    return [run for run in journal.list_runs()
            if run.finished_at is None and run.account_id == (account or "") and run.base_host == host]


def _never_sent(journal: Journal, account: str | None, base_url: str) -> list[OrderResult]:
    """(On a thread, with the lock held.) Orders of interrupted runs that were never sent, each
    described by the action its op was recorded with (what to send again is that action, not
    necessarily complete)."""
    from console.bulk.actions import from_journal
    from console.bulk.journal import PENDING as J_PENDING
    from console.bulk.results import NEVER_SENT, OrderResult, ResultStatus

    def said(op: Any) -> str:
        try:
            action = from_journal(op.action, op.params)
        except ValueError as exc:
            return f"an earlier run was interrupted before sending this ({exc}); nothing was sent for it"
        return (f"an earlier run was interrupted before sending this {action.describe()}; "
                f"the order was not {action.done} by it")

    runs = {run.run_id for run in _unfinished_runs(journal, account, base_url)}
    if not runs:
        return []
    return [
        OrderResult(op.ref, ResultStatus.NOT_SENT, op.op_id, attempts=op.attempts, earlier=NEVER_SENT,
                    message=said(op))
        for op in journal.open_ops(account, base_url, states=(J_PENDING,))
        if (op.last_run_id or op.run_id) in runs
    ]


def _complete() -> Action:
    from console.bulk.actions import COMPLETE

    return COMPLETE


def _progress(total: int) -> Progress:
    from console.bulk.results import Progress

    return Progress(total=total)
