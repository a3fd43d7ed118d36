"""A scrollable list of one-line items whose cost follows the lines on screen: the bulk screens
show up to thousands of handles and results.

A :class:`~textual.widgets.Static` holding a 1,000-line Text measures and wraps every line on
each update; this line-API view (like the order list) renders only the visible lines, caches
each rendered line, and takes appended lines without re-rendering the others.

A line is a sequence of ``(text, kind)`` parts. ``text`` is put into Segments directly (never
parsed as markup) after the control-character sanitizer, so API strings are safe here by
construction; ``kind`` names a component class (``line-list--ok``, ...) that the stylesheet
colours. Every kind doubles something the text already says (a glyph, a word), so nothing is
lost without colour.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from console.api.sanitize import sanitize
from console.ui.columns import fit
from console.ui.textual_compat import scrollbars

Part = tuple[str, str | None]
Line = Sequence[Part]

KINDS = ("ok", "failed", "doubt", "muted", "strong", "warning")


class LineList(ScrollView, can_focus=True):
    """Read-only lines; arrow keys, PgUp/PgDn, Home/End scroll (the container's bindings), and
    the order list's j/k/g/G (the same keys in every list)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False, id="lines.down"),
        Binding("k", "scroll_up", "Up", show=False, id="lines.up"),
        Binding("g", "scroll_home", "Top", show=False, id="lines.top"),
        Binding("G", "scroll_end", "Bottom", show=False, id="lines.bottom"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {f"line-list--{kind}" for kind in KINDS}

    DEFAULT_CSS = """
    LineList {
        height: 1fr;
        overflow-x: hidden;
        overflow-y: auto;
        scrollbar-size-vertical: 1;
    }
    LineList > .line-list--ok { color: $text-success; }
    LineList > .line-list--failed { color: $text-error; text-style: bold; }
    LineList > .line-list--doubt { color: $text-warning; text-style: bold reverse; }
    LineList > .line-list--muted { color: $text-muted; }
    LineList > .line-list--strong { text-style: bold; }
    LineList > .line-list--warning { color: $text-warning; }
    """

    def __init__(self, lines: Iterable[Line] = (), *, ascii: bool = False, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.ascii = ascii
        self._lines: list[Line] = list(lines)
        self._strips: LRUCache[tuple[int, int, int], Strip] = LRUCache(1024)
        self._styles: dict[str, Style] = {}
        #: Bumped when lines are replaced (not appended): cached strips are stale then.
        self._generation = 0

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def plain_lines(self) -> list[str]:
        """Every line as plain text (tests, copying)."""
        return ["".join(sanitize(text) for text, _ in line) for line in self._lines]

    def set_lines(self, lines: Iterable[Line]) -> None:
        self._lines = list(lines)
        self._generation += 1
        self._strips.clear()
        self._update_size()
        self.refresh()

    def append(self, lines: Iterable[Line]) -> None:
        """Add lines at the end; lines already drawn are not rendered again. The view follows
        the end while it is at the end (a supervisor who scrolled up is not pulled down)."""
        new = list(lines)
        if not new:
            return
        follow = self.is_vertical_scroll_end or self.max_scroll_y == 0
        self._lines.extend(new)
        self._update_size()
        self.refresh()
        if follow:
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    def on_mount(self) -> None:
        self._update_size()

    def on_resize(self) -> None:
        self._update_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles = {}
        self._strips.clear()

    def _update_size(self) -> None:
        """Tell the scrollbar how many lines there are without a layout pass: assigning
        ``virtual_size`` lays out the whole screen (the order list and detail behind this dialog
        too), which at a few appends per second during a 1,000-order run stalled the UI for
        hundreds of milliseconds. This widget's own size never depends on its line count (the
        stylesheet sizes it), except while it is ``height: auto``; a layout is asked for only
        then, or when the scrollbar appears or goes (that changes the width of the lines)."""
        size = Size(max(1, self.scrollable_content_region.width), len(self._lines))
        if size == self.virtual_size:
            return
        if (not self.size or self.styles.height is None or self.styles.height.is_auto
                or not scrollbars.WITHOUT_LAYOUT):
            self.virtual_size = size
            return
        had_scrollbar = self.show_vertical_scrollbar
        self.set_reactive(LineList.virtual_size, size)
        scrollbars.update_scrollbars(self, size)
        if self.show_vertical_scrollbar != had_scrollbar:
            self.refresh(layout=True)

    def _style(self, kind: str | None) -> Style:
        if kind is None:
            return Style()
        style = self._styles.get(kind)
        if style is None:
            style = self.get_component_rich_style(f"line-list--{kind}", partial=True)
            self._styles[kind] = style
        return style

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = int(self.scroll_y) + y
        base = self.rich_style
        if index >= len(self._lines) or width <= 0:
            return Strip.blank(max(0, width), base)
        key = (self._generation, index, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._line_strip(self._lines[index], width, base)
            self._strips[key] = strip
        return strip

    def _line_strip(self, line: Line, width: int, base: Style) -> Strip:
        segments: list[Segment] = []
        used = 0
        ellipsis = "..." if self.ascii else "…"
        for text, kind in line:
            if used >= width:
                break
            text = sanitize(text)
            room = width - used
            cell = fit(text, room, ellipsis) if cell_len(text) > room else text
            segments.append(Segment(cell, base + self._style(kind)))
            used += cell_len(cell)
        return Strip(segments).crop_extend(0, width, base)
