"""The progress and results of a bulk run: a bar, the counts, rate and ETA, a 429 pause with its
countdown, and one line per order as results arrive.

The screen only looks: the run is a worker of the App (see :mod:`console.ui.bulk_run`), so
closing this screen (``b``) leaves it going, and ``b`` on the order list brings the screen back.
``Esc`` while the run sends stops it from sending anything new: requests already in flight
finish and are recorded, and the screen says so; a second ``Esc`` (or ``b``) then closes it.

Updates come from the controller's coalesced flush (a few per second), never per engine event.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import ProgressBar, Static

from console.ui.bulk_run import FAILED, FINISHED, OPENING, SETTLING, STOPPING, BulkController, RunState
from console.ui.bulk_view import (
    counts_text,
    handle_width,
    problems_first,
    rate_text,
    result_lines,
    sep,
    stopped_note,
    stopping_note,
)
from console.ui.action_words import doing, in_words
from console.ui.screens.bulk_lines import LineList
from console.ui.text import format_duration


class BulkProgressScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stop_or_close", "Stop sending", id="bulk_progress.stop"),
        Binding("b", "close", "Background", id="bulk_progress.close"),
        Binding("enter,q", "close_finished", "Close", show=False, id="bulk_progress.close_finished"),
        Binding("R", "retry", "Retry failed", id="bulk_progress.retry"),
    ]

    def __init__(self, controller: BulkController) -> None:
        super().__init__()
        self.controller = controller
        self.state: RunState | None = controller.state
        self._shown = 0
        self._sorted = False
        self._phase: str | None = None
        self._texts: dict[str, Text] = {}

    @property
    def ascii(self) -> bool:
        return self.controller.app.settings.ascii

    def compose(self) -> ComposeResult:
        with Vertical(id="bulk-progress-dialog"):
            yield Static(id="bulk-progress-title")
            yield ProgressBar(total=None, show_eta=False, id="bulk-progress-bar")
            yield Static(id="bulk-progress-counts")
            yield Static(id="bulk-progress-note")
            yield LineList(ascii=self.ascii, id="bulk-progress-results")
            yield Static(id="bulk-progress-keys")

    def on_mount(self) -> None:
        self.controller.subscribe(self.redraw)
        self.redraw()

    def on_unmount(self) -> None:
        self.controller.unsubscribe(self.redraw)

    # ------------------------------------------------------------------ drawing

    def redraw(self) -> None:
        state = self.controller.state
        if state is None:
            return
        if state is not self.state:  # a new run (R) while this screen is open
            self.state, self._shown, self._sorted = state, 0, False
            self.query_one(LineList).set_lines([])
        progress = state.progress
        total = state.total
        bar = self.query_one(ProgressBar)
        if state.phase in (OPENING, SETTLING) or not total:
            bar.update(total=None)
        else:
            bar.update(total=total, progress=len(state.results))
        self._set("#bulk-progress-title", self._title(state))
        counts = Text(in_words(counts_text(progress, ascii=self.ascii), state.action) if state.phase not in (OPENING, SETTLING, FAILED) else "")
        if state.phase not in (OPENING, SETTLING, FAILED):
            counts.append("\n" + rate_text(progress, ascii=self.ascii))
        self._set("#bulk-progress-counts", counts)
        note = self._note(state)
        # The note's height varies (0-3 lines): it is the one update that may lay out the dialog.
        if self._set("#bulk-progress-note", note, layout=True):
            self.query_one("#bulk-progress-note").set_class(bool(note.plain), "-shown")
        self._set("#bulk-progress-keys", self._keys(state))
        self._update_results(state)
        if state.phase != self._phase:
            self._phase = state.phase
            self.refresh_bindings()

    def _set(self, selector: str, content: Text, *, layout: bool = False) -> bool:
        """Update a Static only when its text changed; fixed-height ones without a layout pass
        (a layout re-measures every widget on screen, the list behind this dialog included)."""
        if self._texts.get(selector) == content:
            return False
        self._texts[selector] = content
        self.query_one(selector, Static).update(content, layout=layout)
        return True

    def _update_results(self, state: RunState) -> None:
        lines = self.query_one(LineList)
        ascii = self.ascii
        width = self._width(state)
        wrap = lines.scrollable_content_region.width or 72
        if state.phase == FINISHED:
            if not self._sorted:
                self._sorted = True
                ordered = problems_first(state.settled) + problems_first(state.results, state.refs)
                lines.set_lines(line for r in ordered
                            for line in result_lines(r, ascii=ascii, width=width, wrap=wrap, action=state.action))
                lines.scroll_home(animate=False)
            return
        shown = state.settled + state.results
        if len(shown) > self._shown:
            lines.append(line for r in shown[self._shown:]
                         for line in result_lines(r, ascii=ascii, width=width, wrap=wrap, action=state.action))
            self._shown = len(shown)

    def _width(self, state: RunState) -> int:
        if getattr(self, "_width_for", None) is not state:
            self._width_for = state
            self._handle_width = handle_width([*state.refs, *(r.ref for r in state.settled)])
        return self._handle_width

    def _title(self, state: RunState) -> Text:
        n = state.total
        noun = "order" if n == 1 else "orders"
        phase = state.phase
        action = state.action
        run = "Bulk completion" if action.name == "complete" else f"Bulk {action.verb}"
        if phase == OPENING:
            return Text(f"{run} of {n:,} {noun}: opening the journal…", "bold")
        if phase == SETTLING:
            return Text(f"{run} of {n:,} {noun}: checking earlier runs first", "bold")
        if phase == STOPPING:
            return Text(f"{run} of {n:,} {noun}: STOPPING", "bold")
        if phase == FAILED:
            return Text(f"{run} of {n:,} {noun}: NOT STARTED", "bold")
        if phase == FINISHED:
            report = state.report
            stopped = " (stopped)" if report is not None and report.stop_reason is not None else ""
            return Text(f"{run} of {n:,} {noun}: finished{stopped}", "bold")
        if state.paused_until is not None:
            return Text(f"{run} of {n:,} {noun}: PAUSED", "bold")
        verb = doing(action)
        return Text(f"{verb[:1].upper()}{verb[1:]} {n:,} {noun}…", "bold")

    def _note(self, state: RunState) -> Text:
        phase = state.phase
        c = self.controller
        if phase == FAILED:
            return Text(state.error)
        if phase == SETTLING:
            return Text("Orders that earlier runs left in doubt are checked with the server before anything is sent.")
        if phase == STOPPING:
            return Text(stopping_note(state.stop_message, state.progress.in_flight))
        if phase == FINISHED:
            report = state.report
            if report is not None and report.stop_reason is not None:
                return Text(stopped_note(report.stop_message, state.progress))
            return Text("")
        if state.paused_until is not None:
            left = max(0.0, state.paused_until - c.clock())
            return Text(f"The server asked us to slow down (429): no request goes out for "
                        f"{format_duration(left)} more. {state.pause_message}")
        return Text("")

    def _keys(self, state: RunState) -> Text:
        dot = sep(self.ascii)
        if state.phase in (FINISHED, FAILED):
            retry = len([r for r in state.retryable if r in self.controller.marks])
            out = Text.assemble(("Esc", "bold"), "/", ("Enter", "bold"), " close")
            if retry and not self.controller.app.settings.read_only:
                out.append(dot)
                out.append_text(Text.assemble(("R", "bold"), f" retries the {retry:,} failed"))
            out.append(dot + "arrows/PgUp/PgDn scroll")
            return out
        if state.phase == STOPPING:
            return Text.assemble(("Esc", "bold"), "/", ("b", "bold"),
                                 " close; the run finishes in the background (b reopens this)")
        return Text.assemble(("Esc", "bold"), " stop sending", dot, ("b", "bold"),
                             " close, the run goes on (b reopens this)")

    # ------------------------------------------------------------------ keys

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        state = self.controller.state
        finished = state is None or not state.active
        if action == "retry":
            return True if finished and state is not None and state.retryable else False
        if action == "close_finished":
            return finished
        return True

    def action_stop_or_close(self) -> None:
        state = self.controller.state
        if state is not None and state.active and not state.stop_requested and state.phase != STOPPING:
            self.controller.stop()
            self.controller.flush()
            return
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_close_finished(self) -> None:
        self.dismiss(None)

    def action_retry(self) -> None:
        self.dismiss(None)
        self.controller.retry_failed()
