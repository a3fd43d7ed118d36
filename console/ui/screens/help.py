"""``?``: every key by context, and the badge legend.

The key list is built from the bindings themselves (after any user keymap), so it cannot drift
from what the keys do.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.console import Console
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from console.ui.badges import BadgePalette, legend
from console.ui.textual_compat.bindings import bindings_after_keymap


#: Where a key list starts (after a 2-cell indent), how many cells it may take, and where its
#: description starts: a longer key list puts its description on the next line, so the two never
#: run together; a wrapped description keeps this indent.
KEY_INDENT = 2
KEY_WIDTH = 18
DESCRIPTION_AT = KEY_INDENT + KEY_WIDTH + 2
#: Legend lines ("  S  name: words") continue under their words.
LEGEND_INDENT = 5

_MEASURE = Console(width=200, file=io.StringIO(), color_system=None, legacy_windows=False)


def hanging(line: Text, width: int, indent: int) -> list[Text]:
    """``line`` wrapped to ``width`` cells, every line after the first indented by ``indent``."""
    if line.cell_len <= width or width - indent < 12:
        return [line]
    head, rest = line[:indent], line[indent:]
    parts = rest.wrap(_MEASURE, width - indent, no_wrap=False)
    for part in parts:
        part.rstrip()
    return [Text.assemble(head if index == 0 else " " * indent, part) for index, part in enumerate(parts)]


def help_text(
    contexts: Sequence[tuple[str, Iterable[tuple[str, str]]]],
    palette: BadgePalette,
    notes: Sequence[str],
    width: int | None,
) -> Text:
    """The help's whole text for ``width`` cells (None: unwrapped), every line ending in a newline.

    Wrapping is done here (not by the widget) so that a wrapped description stays under its
    column and a key list never runs into its text."""
    lines: list[Text] = [Text("Keys", "bold")]
    wide = width or 10_000
    for context, keys in contexts:
        lines += [Text(""), Text(context, "bold")]
        for key, description in keys:
            indent = " " * KEY_INDENT
            if len(key) > KEY_WIDTH:
                lines += hanging(Text.assemble(indent, (key, "bold")), wide, KEY_INDENT)
                lines += hanging(Text(" " * DESCRIPTION_AT + description), wide, DESCRIPTION_AT)
            else:
                row = Text.assemble(indent, (key, "bold"), " " * (KEY_WIDTH - len(key) + 2), description)
                lines += hanging(row, wide, DESCRIPTION_AT)
    lines += [Text(""), Text("Risk badges", "bold"), Text("")]
    for line in legend(palette):
        lines += hanging(line, wide, LEGEND_INDENT)
    for note in notes:
        lines += [Text(""), *hanging(Text(note), wide, 0)]
    lines += [Text(""), Text("Esc, q or ? closes this help.", "italic")]
    return Text("\n").join(lines)


class HelpBody(Static):
    """The help's text, wrapped again whenever its width changes."""

    def __init__(self, contexts, palette: BadgePalette, notes: Sequence[str], *, id: str | None = None) -> None:
        super().__init__(help_text(contexts, palette, notes, None), id=id)
        self._parts = (contexts, palette, notes)
        self._width: int | None = None

    def on_resize(self, event: events.Resize) -> None:
        width = event.size.width
        if width and width != self._width:
            self._width = width
            self.update(help_text(*self._parts, width))


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
        with VerticalScroll(id="help-dialog"):
            yield HelpBody(self.contexts, self.palette, self.notes, id="help-body")

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
