"""The export dialog: where to write the current view as CSV (console/export.py writes it).

The path input holds a default (``dispatch-orders-<UTC time>.csv`` in the current directory);
Enter writes, Esc cancels. A path that cannot be written keeps the dialog open with the reason
on its last line, so the supervisor can type another. Every text here is a
:class:`rich.text.Text` (a typed path is never parsed as markup).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.api.sanitize import sanitize

#: Writes the typed path; returns None when written (the dialog closes), else why not.
Submit = Callable[[str], Awaitable[str | None]]


class ExportScreen(ModalScreen[bool]):
    """Dismissed with True once written, False when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="export.cancel"),
    ]

    def __init__(self, *, count: int, marked: int, default: str, folder: str, submit: Submit) -> None:
        super().__init__()
        self.count = count
        self.marked = marked
        self.default = default
        self.folder = folder
        self.submit = submit
        self._busy = False

    def compose(self) -> ComposeResult:
        orders = "order" if self.count == 1 else "orders"
        with Vertical(id="export-dialog"):
            yield Static(Text.assemble("Export the ", (f"{self.count:,}", "bold"), f" {orders} shown to CSV"),
                         id="export-title")
            yield Static(Text(
                f"As the list shows them: its filter and sort; marks ({self.marked:,}) as a column. "
                f"A relative path is taken from {sanitize(self.folder)}. An existing file is not overwritten."),
                id="export-about")
            yield Input(value=self.default, id="export-path", select_on_focus=False)
            yield Static(id="export-error")
            yield Static(Text.assemble(("Enter", "bold"), " writes the file    ", ("Esc", "bold"), " cancels"),
                         id="export-keys")

    def on_mount(self) -> None:
        self.query_one("#export-error").display = False
        path = self.query_one("#export-path", Input)
        path.cursor_position = len(path.value)
        path.focus()

    async def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if self._busy:
            return
        self._busy = True
        error_line = self.query_one("#export-error", Static)
        try:
            problem = await self.submit(event.value)
        finally:
            self._busy = False
        if problem is None:
            self.dismiss(True)
            return
        error_line.update(Text(problem))
        error_line.display = True

    def action_cancel(self) -> None:
        self.dismiss(False)
