"""The reassign worker picker: search as you type, pick with the arrows and Enter, or type a handle.

The choices are :class:`~console.session.workers.WorkerChoice` values (the workers named on the
loaded orders, see :mod:`console.session.workers`), each shown with its open-order count and
whether it is online, offline or unknown. Typing filters them (substring of handle or name); the
typed text itself is offered last as a handle to use as typed, validated by the handle rules
(a worker the loaded orders do not name can still be chosen). The focus stays in the input:
up/down (and page up/down) move the highlight, Enter picks it, Esc goes back.

Dismissed with the chosen worker handle, exactly as it is to be sent, or None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.session.workers import (
    Presence, WorkerChoice, search_workers, validate_worker_handle,
)
from console.ui.stylesheets import screen_css
from console.ui.text import safe

#: Cells of the handle and name columns of a worker line (the dialog fits 80 columns).
HANDLE_WIDTH = 22
NAME_WIDTH = 16
TYPED_ID = "typed"
#: Matches listed at most: the list is for picking, and an OptionList measures every option it
#: holds on each change (listing 2,000 workers took 40-80 ms a keystroke here, 50 take ~2 ms:
#: see the commit that set this).
MAX_SHOWN = 50

_PRESENCE_STYLE = {
    Presence.ONLINE: "$text-success",
    Presence.OFFLINE: "$text-warning",
    Presence.UNKNOWN: "$text-muted",
}


def worker_line(choice: WorkerChoice, *, current: bool = False) -> Content:
    """``handle  name  3 open  online``, columns padded; every value through the safe helpers.

    A :class:`~textual.content.Content` built by ``assemble`` (its strings are literal, never
    markup), so the presence word can take a theme colour."""
    handle = safe(choice.handle, limit=HANDLE_WIDTH, ellipsis="...")
    name = safe(choice.name, limit=NAME_WIDTH, ellipsis="...")
    return Content.assemble(
        (handle.ljust(HANDLE_WIDTH), "bold"), " ", name.ljust(NAME_WIDTH),
        f" {choice.open_orders:>3} open  ",
        (choice.presence.value, _PRESENCE_STYLE[choice.presence]),
        " current" if current else "",
    )


class WorkerList(OptionList, can_focus=False):
    """The matches: never focused (the input keeps the keys), driven by the screen's bindings."""


class WorkerPickerScreen(ModalScreen["str | None"]):
    """Dismissed with the chosen worker handle, or None (Esc)."""

    CSS_PATH = screen_css("actions.tcss")  # read when first shown (console/ui/stylesheets.py)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="worker_picker.back"),
        Binding("down", "move('cursor_down')", "Down", show=False, id="worker_picker.down"),
        Binding("up", "move('cursor_up')", "Up", show=False, id="worker_picker.up"),
        Binding("pagedown", "move('page_down')", "Page down", show=False, id="worker_picker.page_down"),
        Binding("pageup", "move('page_up')", "Page up", show=False, id="worker_picker.page_up"),
    ]

    def __init__(
        self,
        choices: Sequence[WorkerChoice],
        *,
        order_handle: str | None = None,
        current: str | None = None,
        ascii: bool = False,
    ) -> None:
        """``ascii`` is taken like every screen's; everything this one draws is ASCII already
        (``...`` cuts, words for presence) and the stylesheet gives its borders in ASCII."""
        super().__init__()
        self.choices = list(choices)
        self.order_handle = order_handle
        #: The order's present worker: shown as such, and refused (reassigning to them is a no-op).
        self.current = current
        self.ascii = ascii
        #: Option id → handle, for the options shown now.
        self._shown: dict[str, str] = {}
        self._typed_error: str | None = None

    def compose(self) -> ComposeResult:
        title = Text("Reassign ")
        if self.order_handle is not None:
            title.append("order ")
            title.append(safe(self.order_handle), "bold")
            title.append(" ")
        title.append("to which worker?")
        with Vertical(id="worker-dialog"):
            yield Static(title, id="worker-title")
            yield Input(placeholder="search by handle or name, or type a handle", id="worker-search")
            yield WorkerList(id="worker-list")
            yield Static(Text(""), id="worker-note")
            yield Static(Text(""), id="worker-error")
            yield Static(
                Text.assemble(("up/down", "bold"), " move  ", ("Enter", "bold"), " pick  ",
                              ("Esc", "bold"), " back"),
                id="worker-keys",
            )

    def on_mount(self) -> None:
        self._refresh_list("")
        self.query_one("#worker-search", Input).focus()

    # ------------------------------------------------------------------ filtering

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#worker-error", Static).update(Text(""))
        self._refresh_list(event.value)

    def _refresh_list(self, typed: str) -> None:
        matches = search_workers(self.choices, typed)
        exact = [c for c in matches if c.handle == typed]
        matches = exact + [c for c in matches if c.handle != typed]
        options: list[Option] = []
        self._shown = {}
        for index, choice in enumerate(matches[:MAX_SHOWN]):
            option_id = f"w{index}"
            self._shown[option_id] = choice.handle
            options.append(Option(worker_line(choice, current=choice.handle == self.current), id=option_id))
        self._typed_error = None
        if typed and not exact:
            try:
                validate_worker_handle(typed)
            except ValueError as exc:
                self._typed_error = str(exc)
            prompt = Content.assemble(
                "Use ", (safe(typed, limit=HANDLE_WIDTH + NAME_WIDTH, ellipsis="..."), "bold"),
                " as typed (not on the loaded orders)",
                ("  not a valid handle", "$text-error") if self._typed_error is not None else "",
            )
            self._shown[TYPED_ID] = typed
            options.append(Option(prompt, id=TYPED_ID))
        worker_list = self.query_one(WorkerList)
        worker_list.set_options(options)
        if options:
            worker_list.highlighted = 0
        total = len(self.choices)
        if not total:
            note = "The loaded orders name no worker: type a worker handle."
        elif len(matches) > MAX_SHOWN:
            note = f"The first {MAX_SHOWN} of {len(matches)} matching workers: type more to narrow."
        elif typed:
            note = f"{len(matches)} of {total} known worker{'s' if total != 1 else ''} match."
        else:
            note = (f"{total} worker{'s' if total != 1 else ''} on the loaded orders; "
                    "online from their is_offline risk.")
        self.query_one("#worker-note", Static).update(Text(note))

    # ------------------------------------------------------------------ keys

    def action_move(self, how: str) -> None:
        getattr(self.query_one(WorkerList), f"action_{how}")()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        worker_list = self.query_one(WorkerList)
        if worker_list.highlighted is None:
            self._refuse("Type part of a worker's handle or name, or a whole handle.")
            return
        option = worker_list.get_option_at_index(worker_list.highlighted)
        self._pick(option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self._pick(event.option.id)

    def _pick(self, option_id: str | None) -> None:
        handle = self._shown.get(option_id or "")
        if handle is None:
            return
        if option_id == TYPED_ID and self._typed_error is not None:
            self._refuse(self._typed_error)
            return
        if handle == self.current:
            self._refuse("The order is already assigned to this worker: pick another one.")
            return
        self.dismiss(handle)

    def _refuse(self, message: str) -> None:
        self.query_one("#worker-error", Static).update(Text(message))

    def action_back(self) -> None:
        self.dismiss(None)
