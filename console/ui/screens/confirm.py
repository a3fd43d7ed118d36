"""The confirmation before a complete: it names the order, Enter or y confirms, Esc or n cancels."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from console.api.vocab import OrderRef
from console.session.table import OrderRow


class ConfirmComplete(ModalScreen[bool]):
    """Dismissed with True (complete it) or False (leave it)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "confirm", "Complete", id="confirm.yes"),
        Binding("n,escape", "cancel", "Cancel", id="confirm.no"),
    ]

    def __init__(self, row: OrderRow, *, ascii: bool = False) -> None:
        super().__init__()
        self.row = row
        self.ascii = ascii

    @property
    def ref(self) -> OrderRef:
        return self.row.ref

    def compose(self) -> ComposeResult:
        row = self.row
        ref = row.ref
        # Every API value goes in as a Text segment: a handle like "[/x]" is shown, not parsed.
        question = Text.assemble("Complete order ", (row.display_handle, "bold"), "?")
        facts = Text()
        leg = []
        if ref.type is not None:
            leg.append(f"{ref.type} #{ref.type_index if ref.type_index is not None else 0}")
        if ref.fulfillment_attempt is not None:
            leg.append(f"attempt {ref.fulfillment_attempt}")
        if leg:
            facts.append("Leg: " + ", ".join(leg) + "\n")
        facts.append(f"Status: {row.status}\n")
        facts.append(f"Worker: {row.worker or '-'}\n")
        facts.append(f"Destination: {row.address or '-'}")
        with Vertical(id="confirm-dialog"):
            yield Static(question, id="confirm-question")
            yield Static(facts, id="confirm-facts")
            yield Static(
                Text("This tells HyperTrack the order is done. It cannot be undone."),
                id="confirm-warning",
            )
            yield Static(
                Text.assemble(("y", "bold"), "/", ("Enter", "bold"), " complete    ",
                              ("n", "bold"), "/", ("Esc", "bold"), " cancel"),
                id="confirm-keys",
            )

    def action_confirm(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)
