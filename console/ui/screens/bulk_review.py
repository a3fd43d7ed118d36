"""The review before a bulk run (complete, cancel, ...): the exact count, every handle
(scrollable), the marked orders the action does not apply to with the reason (they are not sent),
and a typed confirmation above :data:`~console.ui.bulk_run.TYPED_CONFIRM_ABOVE` orders.

The screen is given the frozen list of refs the run will act on and shows exactly that list: a
refresh or re-sort behind it changes nothing. Handles are untrusted API text: they go through
the line list's sanitizer as literal segments, never markup.

Up to the threshold: ``y``/Enter runs it, ``n``/Esc leaves it. Above it, the supervisor types
the number of orders to send and presses Enter; any other number does nothing but say so.

A bulk cancel also takes an optional reason (the single cancel's input, same bound and the
same refusal of control characters): :attr:`BulkReviewScreen.reason` after a True dismissal is
what every cancel of the run sends. The list keeps the focus, so ``y`` still confirms and is
never typed into the reason by habit; Tab reaches the reason, and Enter there confirms (above
the threshold it moves on to the count, which alone confirms).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.api.sanitize import has_unsafe_characters
from console.api.vocab import OrderRef
from console.ui.bulk_view import ref_line
from console.ui.screens.bulk_lines import Line, LineList

if TYPE_CHECKING:
    from console.bulk.actions import Action

#: What a run of each action does to every order it sends (complete's words are the default).
_EFFECT = {
    "complete": "Each order is told to HyperTrack as done; this cannot be undone.",
    "cancel": "Each order is cancelled; this cannot be undone.",
    "disable": "Each order leaves its route's ETA computation until it is enabled again.",
    "enable": "Each order goes back into its route and its ETA is computed again.",
}


class BulkReviewScreen(ModalScreen[bool]):
    """Dismissed with True (run it) or False (leave it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "confirm", "Complete", id="bulk_review.yes"),
        Binding("n,escape", "cancel", "Cancel", id="bulk_review.no"),
    ]

    def __init__(self, refs: Sequence[OrderRef], *, verb: str = "Complete", notes: Sequence[str] = (),
                 typed: bool = False, ascii: bool = False, action: Action | None = None,
                 skipped: Sequence[tuple[OrderRef, str]] = ()) -> None:
        """``refs``: the orders to send; ``skipped``: marked orders the action does not apply
        to, each with the reason (listed, never sent)."""
        super().__init__()
        self.refs = tuple(refs)
        self.verb = verb
        self.notes = tuple(notes)
        self.typed = typed
        self.ascii = ascii
        self.action = action
        self.skipped = tuple(skipped)
        #: The cancel reason typed (trimmed; None when empty), read by the caller on True.
        self.reason: str | None = getattr(action, "reason", None)

    @property
    def asks_reason(self) -> bool:
        return self.action is not None and self.action.name == "cancel"

    @property
    def count(self) -> int:
        return len(self.refs)

    def compose(self) -> ComposeResult:
        n = self.count
        noun = "order" if n == 1 else "orders"
        question = Text.assemble(f"{self.verb} ", (f"{n:,}", "bold"), f" {noun}?")
        if self.skipped:
            question.append(f" ({len(self.skipped):,} marked skipped: listed below, not sent)")
        with Vertical(id="bulk-review-dialog"):
            yield Static(question, id="bulk-review-question")
            if self.notes:
                yield Static(Text("\n".join(self.notes)), id="bulk-review-notes")
            yield LineList(self._lines(), ascii=self.ascii, id="bulk-review-list")
            yield Static(
                Text(f"{self._effect()} The run acts on exactly this list, whatever the order list "
                     "shows meanwhile."),
                id="bulk-review-warning",
            )
            if self.asks_reason:
                from console.ui.screens.action_confirm import MAX_REASON_LENGTH

                yield Static(Text(f"Reason (optional, up to {MAX_REASON_LENGTH} characters), sent with every cancel:"),
                             id="bulk-review-reason-label")
                yield Input(value=self.reason or "", placeholder="why they are cancelled",
                            max_length=MAX_REASON_LENGTH, id="bulk-review-reason")
            if self.typed:
                yield Static(Text.assemble("Type ", (f"{n}", "bold"), " (the number of orders) and press ",
                                           ("Enter", "bold"), " to confirm; ", ("Esc", "bold"), self._back(" cancels.", " goes back.")),
                             id="bulk-review-keys")
                yield Input(placeholder=f"type {n} to confirm", restrict=r"[0-9]*", max_length=9,
                            id="bulk-review-count")
                yield Static(id="bulk-review-error")
            else:
                keys = Text.assemble(("y", "bold"), "/", ("Enter", "bold"), f" {self.verb.lower()}    ",
                                     ("n", "bold"), "/", ("Esc", "bold"), self._back(" cancel    ", " back    "),
                                     ("up/down/PgUp/PgDn", "bold"), " scroll")
                if self.asks_reason:
                    keys.append_text(Text.assemble("    ", ("Tab", "bold"), " reason"))
                yield Static(keys, id="bulk-review-keys")
                if self.asks_reason:
                    yield Static(id="bulk-review-error")

    def _lines(self) -> list[Line]:
        lines: list[Line] = [ref_line(ref) for ref in self.refs]
        if self.skipped:
            verb = self.action.verb if self.action is not None else self.verb.lower()
            lines.append([(f"Skipped, not sent ({len(self.skipped):,}): the {verb} does not apply", "warning")])
            for ref, reason in self.skipped:  # the reason on a line of its own: readable at 80 columns
                lines.append(ref_line(ref))
                lines.append([("    " + reason, "muted")])
        return lines

    def _back(self, words: str, for_cancel: str) -> str:
        """The words of Esc: not "cancel" when the action itself is a cancel."""
        return for_cancel if self.asks_reason else words

    def _effect(self) -> str:
        action = self.action
        if action is None:
            return _EFFECT["complete"]
        if action.name in _EFFECT:
            return _EFFECT[action.name]
        return f"Each order is sent the same: {action.describe()}."

    def on_mount(self) -> None:
        if self.typed or self.asks_reason:
            self.query_one("#bulk-review-error").display = False
        if self.typed:
            self.query_one("#bulk-review-count", Input).focus()
        else:
            self.query_one("#bulk-review-list", LineList).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm" and self.typed:
            return False  # only the typed count confirms
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "bulk-review-reason":
            if self.typed:
                self.query_one("#bulk-review-count", Input).focus()  # only the typed count confirms
            else:
                self._dismiss_confirmed()
            return
        value = event.value.strip()
        if value == str(self.count):
            self._dismiss_confirmed()
            return
        self._error(f"That is not {self.count}. Type the number of orders exactly, or Esc to cancel.")
        event.input.value = ""

    def _error(self, words: str) -> None:
        error = self.query_one("#bulk-review-error", Static)
        error.update(Text(words))
        error.display = True

    def _dismiss_confirmed(self) -> None:
        if self.asks_reason:
            reason = self.query_one("#bulk-review-reason", Input).value.strip() or None
            if reason is not None and has_unsafe_characters(reason):
                self._error("The reason holds control or invisible characters: type it again.")
                self.query_one("#bulk-review-reason", Input).focus()
                return
            self.reason = reason
        self.dismiss(True)

    def action_confirm(self) -> None:
        if not self.typed and not isinstance(self.focused, Input):
            self._dismiss_confirmed()

    def action_cancel(self) -> None:
        self.dismiss(False)
