"""The review before a bulk completion: the exact count, every handle (scrollable), and a typed
confirmation above :data:`~console.ui.bulk_run.TYPED_CONFIRM_ABOVE` orders.

The screen is given the frozen list of refs the run will act on and shows exactly that list: a
refresh or re-sort behind it changes nothing. Handles are untrusted API text: they go through
the line list's sanitizer as literal segments, never markup.

Up to the threshold: ``y``/Enter completes, ``n``/Esc cancels. Above it, the supervisor types
the number of orders and presses Enter; any other number does nothing but say so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.api.vocab import OrderRef
from console.ui.bulk_view import ref_line
from console.ui.screens.bulk_lines import LineList


class BulkReviewScreen(ModalScreen[bool]):
    """Dismissed with True (run it) or False (leave it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "confirm", "Complete", id="bulk_review.yes"),
        Binding("n,escape", "cancel", "Cancel", id="bulk_review.no"),
    ]

    def __init__(self, refs: Sequence[OrderRef], *, verb: str = "Complete", notes: Sequence[str] = (),
                 typed: bool = False, ascii: bool = False) -> None:
        super().__init__()
        self.refs = tuple(refs)
        self.verb = verb
        self.notes = tuple(notes)
        self.typed = typed
        self.ascii = ascii

    @property
    def count(self) -> int:
        return len(self.refs)

    def compose(self) -> ComposeResult:
        n = self.count
        noun = "order" if n == 1 else "orders"
        question = Text.assemble(f"{self.verb} ", (f"{n:,}", "bold"), f" {noun}?")
        with Vertical(id="bulk-review-dialog"):
            yield Static(question, id="bulk-review-question")
            if self.notes:
                yield Static(Text("\n".join(self.notes)), id="bulk-review-notes")
            yield LineList((ref_line(ref) for ref in self.refs), ascii=self.ascii, id="bulk-review-list")
            yield Static(
                Text("Each order is told to HyperTrack as done; this cannot be undone. The run acts on "
                     "exactly this list, whatever the order list shows meanwhile."),
                id="bulk-review-warning",
            )
            if self.typed:
                yield Static(Text.assemble("Type ", (f"{n}", "bold"), " (the number of orders) and press ",
                                           ("Enter", "bold"), " to confirm; ", ("Esc", "bold"), " cancels."),
                             id="bulk-review-keys")
                yield Input(placeholder=f"type {n} to confirm", restrict=r"[0-9]*", max_length=9,
                            id="bulk-review-count")
                yield Static(id="bulk-review-error")
            else:
                yield Static(
                    Text.assemble(("y", "bold"), "/", ("Enter", "bold"), f" {self.verb.lower()}    ",
                                  ("n", "bold"), "/", ("Esc", "bold"), " cancel    ",
                                  ("up/down/PgUp/PgDn", "bold"), " scroll"),
                    id="bulk-review-keys",
                )

    def on_mount(self) -> None:
        if self.typed:
            self.query_one("#bulk-review-error").display = False
            self.query_one("#bulk-review-count", Input).focus()
        else:
            self.query_one("#bulk-review-list", LineList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm" and self.typed:
            return False  # only the typed count confirms
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        value = event.value.strip()
        if value == str(self.count):
            self.dismiss(True)
            return
        error = self.query_one("#bulk-review-error", Static)
        error.update(Text(f"That is not {self.count}. Type the number of orders exactly, or Esc to cancel."))
        error.display = True
        event.input.value = ""

    def action_confirm(self) -> None:
        if not self.typed:
            self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
