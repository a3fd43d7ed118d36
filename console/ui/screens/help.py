"""``?``: every key by context, and the badge legend.

The key list is built from the bindings themselves (after any user keymap), so it cannot drift
from what the keys do.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.badges import BadgePalette, legend
from console.ui.textual_compat.bindings import bindings_after_keymap


class HelpScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "close", "Close", id="help.close"),
        # The same keys as in the order list: the help is a list to read too.
        Binding("j,down", "scroll('down')", "Down", show=False, id="help.down"),
        Binding("k,up", "scroll('up')", "Up", show=False, id="help.up"),
        Binding("g,home", "scroll('home')", "Top", show=False, id="help.top"),
        Binding("G,end", "scroll('end')", "Bottom", show=False, id="help.bottom"),
        Binding("ctrl+f,pagedown,space", "scroll('page_down')", "Page down", show=False, id="help.page_down"),
        Binding("ctrl+b,pageup", "scroll('page_up')", "Page up", show=False, id="help.page_up"),
    ]

    def __init__(
        self,
        contexts: Sequence[tuple[str, Iterable[tuple[str, str]]]],
        palette: BadgePalette,
        *,
        notes: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.contexts = contexts
        self.palette = palette
        self.notes = notes

    def compose(self) -> ComposeResult:
        body = Text(no_wrap=False)
        body.append("Keys\n", "bold")
        for context, keys in self.contexts:
            body.append(f"\n{context}\n", "bold")
            for key, description in keys:
                body.append(f"  {key:<18}", "bold")
                body.append(f"{description}\n")
        body.append("\nRisk badges\n\n", "bold")
        for line in legend(self.palette):
            body.append_text(line)
            body.append("\n")
        for note in self.notes:
            body.append(f"\n{note}\n")
        body.append("\nEsc, q or ? closes this help.", "italic")
        with VerticalScroll(id="help-dialog"):
            yield Static(body, id="help-body")

    def action_close(self) -> None:
        self.dismiss(None)

    def action_scroll(self, where: str) -> None:
        scroller = self.query_one("#help-dialog", VerticalScroll)
        getattr(scroller, f"scroll_{where}")(animate=False)


#: Textual's own hint binding (ctrl+c says "press ctrl+q to quit"): not a console key.
_HIDDEN_ACTIONS = frozenset({"help_quit"})


def describe_bindings(node, *, descriptions: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(keys, description) per action bound on ``node``, after any user keymap, with keys as
    the app displays them. ``descriptions`` overrides a binding's short footer label."""
    app = node.app
    bound = bindings_after_keymap(node)
    by_action: dict[str, tuple[list[str], str]] = {}
    for key, bindings in bound.key_to_bindings.items():
        for binding in bindings:
            if binding.action in _HIDDEN_ACTIONS:
                continue
            keys, description = by_action.setdefault(
                binding.action, ([], binding.description or binding.action)
            )
            shown = app.get_key_display(binding)
            if shown not in keys:
                keys.append(shown)
    descriptions = descriptions or {}
    return [
        (", ".join(keys), descriptions.get(action, description))
        for action, (keys, description) in by_action.items()
    ]
