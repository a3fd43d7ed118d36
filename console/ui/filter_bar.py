"""The one-line view bar above the list: the active filter, risk, status and sort, always shown,
and the ``/`` filter input in its place while the supervisor types.

The bar reads like the list's title (k9s shows ``orders(all)[300]`` there): what is filtered,
how it is sorted, and how many of the loaded orders that leaves. It redraws only when one of
those changes (an idle refresh changes none of them, so it draws nothing), and never needs a
layout pass: its height is always one line.

Every value drawn here is put in a :class:`rich.text.Text` (the filter text is whatever was typed
or pasted): nothing is parsed as markup.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.geometry import Size
from textual.reactive import Reactive
from textual.widget import Widget
from textual.widgets import Input, Static

from console.api.sanitize import sanitize
from console.ui.columns import fit
from console.session.filtering import ViewFilter, risk_word
from console.session.sorting import ViewSort


@dataclass(frozen=True)
class ViewState:
    """Everything the bar shows. Equal states draw the same line: the bar redraws on change only."""

    filter: ViewFilter = ViewFilter()
    sort: ViewSort = ViewSort()
    shown: int = 0
    total: int = 0
    editing: bool = False
    ascii: bool = False
    #: The key that opens the filter input, as the footer shows it (the user's keymap may have
    #: changed it; None: no key is left, ctrl+p runs it).
    filter_key: str | None = "/"


def describe_view(state: ViewState, width: int) -> Text:
    """The bar's line at ``width`` cells: the full wording when it fits, shorter forms if not.

    ``filter: "oak"  risk: red  status: all  sort: scheduled, latest first      42 of 300``

    Shorter forms, in turn: leave out the risk/status filters that are off, write the sort as
    ``scheduled↓``, cut the filter text. Active parts are bold and reversed (they stand out
    without colour, e.g. NO_COLOR); parts that are off are dim.
    """
    f, s = state.filter, state.sort
    ellipsis = "..." if state.ascii else "…"
    count = f"{state.shown:,} of {state.total:,}" if f.active else f"{state.total:,} shown"
    needle = sanitize(f.text.strip())
    risk_on = risk_word(f.min_risk) != "all"
    status_on = f.status is not None
    on, off = "bold reverse", "dim"
    key = state.filter_key
    none_hint = f"none ({key})" if key else "none"

    def build(*, all_parts: bool, short_sort: bool, short_labels: bool = False,
              filter_room: int | None = None) -> Text:
        short_filter = "/" if key in (None, "/") else f"{key}:"
        labels = (short_filter, "risk ", "st ", "by ") if short_labels else ("filter: ", "risk: ", "status: ", "sort: ")
        line = Text(no_wrap=True, overflow="crop")
        line.append(" ")
        if not state.editing:
            line.append(labels[0], off)
            if needle:
                shown = needle if filter_room is None else fit(needle, filter_room, ellipsis).rstrip()
                line.append(f'"{shown}"', on)
            else:
                line.append(none_hint if not short_labels else "-", off)
            line.append("  ")
        if all_parts or risk_on:
            line.append(labels[1], off)
            line.append(risk_word(f.min_risk), on if risk_on else off)
            line.append("  ")
        if all_parts or status_on:
            line.append(labels[2], off)
            line.append(sanitize(f.status) if status_on else "all", on if status_on else off)
            line.append("  ")
        line.append(labels[3], off)
        sort_text = s.describe_short(ascii=state.ascii) if short_sort else s.describe()
        line.append(sort_text, off if s.is_default else on)
        return line

    room = max(0, width - cell_len(count) - 3)
    forms = (
        dict(all_parts=True, short_sort=False),
        dict(all_parts=False, short_sort=False),
        dict(all_parts=False, short_sort=True),
        dict(all_parts=False, short_sort=True, short_labels=True),
    )
    for form in forms:
        line = build(**form)
        if line.cell_len <= room:
            break
    else:
        if needle:  # cut the filter text: the rest must stay readable
            excess = line.cell_len - room
            line = build(**forms[-1], filter_room=max(4, cell_len(needle) - excess))
    line.truncate(room, overflow="crop")
    line.append(" " * max(1, width - line.cell_len - cell_len(count) - 1))
    line.append(count, "bold" if f.active else "")
    line.append(" ")
    line.truncate(width, overflow="crop")
    return line


class ViewSummary(Widget):
    """The bar's text. :meth:`set_state` redraws only when the state changed."""

    DEFAULT_CSS = """
    ViewSummary {
        width: 1fr;
        height: 1;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = ViewState()

    def set_state(self, state: ViewState) -> bool:
        """Show ``state``; False (and no redraw) when it is what is already shown."""
        if state == self.state:
            return False
        self.state = state
        self.refresh()
        return True

    def render(self) -> Text:
        return describe_view(self.state, self.size.width)


class FilterInput(Input):
    """The ``/`` input. Enter keeps the filter and goes back to the list; Esc clears it.

    Up/down move the list's cursor while typing, so a match can be picked without leaving
    the input. Everything else types (``j``, ``q``, ``1``: this is text).
    """

    #: Textual's Input resizes its virtual width on every keystroke, and a virtual size change
    #: lays out the whole screen (measured: ~17 ms of each 50k-row filter keystroke here).
    #: This input's own size never changes (the stylesheet fixes it), and scrolling within it
    #: reads the virtual width directly: no layout is needed.
    virtual_size: Reactive[Size] = Reactive(Size(0, 0), layout=False)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "clear_filter", "Clear filter", id="filter.clear"),
        Binding("down", "list_down", "Next order", show=False, id="filter.down"),
        Binding("up", "list_up", "Previous order", show=False, id="filter.up"),
    ]

    # Pasted text can hold ESC, C1 or bidi controls (a value copied from a ticket or a log), and
    # an Input draws its value to the terminal as it is: an OSC sequence would retitle the
    # window. Inserted text becomes the visible escapes the list shows (and its filter matches).
    def insert(self, text: str, index: int) -> None:
        super().insert(sanitize(text), index)

    def replace(self, text: str, start: int, end: int) -> None:
        super().replace(sanitize(text), start, end)

    def action_clear_filter(self) -> None:
        self._bar.closed(keep=False)

    def action_list_down(self) -> None:
        self._bar.moved(1)

    def action_list_up(self) -> None:
        self._bar.moved(-1)

    @property
    def _bar(self) -> "FilterBar":
        bar = self.parent
        assert isinstance(bar, FilterBar)
        return bar


class FilterBar(Horizontal):
    """The view bar: :class:`ViewSummary`, and :class:`FilterInput` while editing.

    Callbacks (set by the app's view controls, so the bar knows nothing of the table):
    ``on_text(text)`` on every keystroke, ``on_close(keep)`` on Enter (True) or Esc (False),
    ``on_move(delta)`` for up/down in the input.
    """

    DEFAULT_CSS = """
    FilterBar {
        height: 1;
    }
    FilterBar > #filter-prompt {
        display: none;
        width: auto;
        text-style: bold;
    }
    FilterBar > FilterInput {
        display: none;
        width: 40%;
        max-width: 48;
    }
    FilterBar.-editing > FilterInput, FilterBar.-editing > #filter-prompt {
        display: block;
    }
    """

    def __init__(
        self,
        *,
        on_text: Callable[[str], None],
        on_close: Callable[[bool], None],
        on_move: Callable[[int], None],
        id: str | None = None,
    ) -> None:
        # Only the summary at start-up: the prompt and the input are hidden until the first `/`
        # and are mounted then (_mount_input). Mounted at start-up, the input (an Input with
        # four component classes, restyled at each of start-up's styling passes) cost ~20 ms
        # of CPU before the first rows.
        self.summary = ViewSummary(id="view-summary")
        super().__init__(self.summary, id=id)
        self._on_text = on_text
        self._on_close = on_close
        self._on_move = on_move
        self.prompt = Static(Text(" / "), id="filter-prompt")
        self.input = FilterInput(placeholder="handle, worker, ops group, address, metadata",
                                 id="filter-input", select_on_focus=False, compact=True)
        # A steady cursor: a blinking one redraws twice a second, bytes over SSH for nothing.
        self.input.cursor_blink = False

    def _mount_input(self) -> None:
        """Mount the prompt and the input (once), in their place before the summary. They are
        attached and styled at once, so they can be filled and focused in the same call."""
        if self.input.parent is None:
            self.mount(self.prompt, self.input, before=self.summary)

    @property
    def editing(self) -> bool:
        return self.has_class("-editing")

    def open(self, text: str) -> None:
        """Show the input holding ``text``, cursor at its end, focused."""
        self.add_class("-editing")
        self._mount_input()
        with self.input.prevent(Input.Changed):
            self.input.value = text
        self.input.cursor_position = len(text)
        self.input.focus()

    def close(self) -> None:
        self.remove_class("-editing")

    # The input's events, turned into the callbacks.

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        if self.editing:
            self._on_text(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._on_close(True)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # Focus went elsewhere (a click on the list, tab): keep the filter, stop editing.
        if self.editing and event.widget is self.input and self.app.focused is not None \
                and self.app.focused is not self.input:
            self._on_close(True)

    def closed(self, *, keep: bool) -> None:
        self._on_close(keep)

    def moved(self, delta: int) -> None:
        self._on_move(delta)
