"""A small modal list to pick one thing (the sort column, the status filter), keyboard first.

:class:`VimOptionList` is an :class:`~textual.widgets.OptionList` that also answers j/k/g/G
(and ctrl+f/ctrl+b), like the order list, so the same fingers work in every list. It is public:
any list screen of the console can use it.

Options are given as :class:`rich.text.Text` (a status name comes from the API): nothing is
parsed as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


class VimOptionList(OptionList):
    """An OptionList with the order list's keys: j/k, g/G, ctrl+f/ctrl+b."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "cursor_down", "Down", show=False, id="list.vim_down"),
        Binding("k", "cursor_up", "Up", show=False, id="list.vim_up"),
        Binding("g", "first", "First", show=False, id="list.vim_first"),
        Binding("G", "last", "Last", show=False, id="list.vim_last"),
        Binding("ctrl+f", "page_down", "Page down", show=False, id="list.vim_page_down"),
        Binding("ctrl+b", "page_up", "Page up", show=False, id="list.vim_page_up"),
    ]


class PickerScreen(ModalScreen[str | None]):
    """Dismissed with the chosen option's id, or None (Esc, q)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "cancel", "Cancel", id="picker.cancel"),
    ]

    DEFAULT_CSS = """
    PickerScreen {
        align: center middle;
    }
    PickerScreen > #picker-dialog {
        width: 56;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        padding: 0 1;
    }
    PickerScreen #picker-list {
        height: auto;
        max-height: 16;
        border: none;
    }
    PickerScreen #picker-title {
        text-style: bold;
        margin-bottom: 1;
    }
    PickerScreen #picker-keys {
        margin-top: 1;
    }
    """

    def __init__(
        self,
        title: str,
        options: Sequence[tuple[str, Text]],
        *,
        current: str | None = None,
        keys: str = "j/k or up/down move, Enter picks, Esc cancels",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)
        self.current = current
        self.keys = keys

    def compose(self) -> ComposeResult:
        with Vertical(id="picker-dialog"):
            yield Static(Text(self.title_text), id="picker-title")
            yield VimOptionList(*(Option(prompt, id=option_id) for option_id, prompt in self.options),
                                id="picker-list")
            yield Static(Text(self.keys), id="picker-keys")

    def on_mount(self) -> None:
        option_list = self.query_one(VimOptionList)
        ids = [option_id for option_id, _ in self.options]
        if self.current in ids:
            option_list.highlighted = ids.index(self.current)
        option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
