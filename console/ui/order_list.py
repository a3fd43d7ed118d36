"""The order list: a line-API widget whose cost follows the rows on screen, not the rows loaded.

Built like Textual's ``Log``/``OptionList`` and toolong's ``LogLines``: a :class:`ScrollView`
whose ``virtual_size`` is the row count and whose :meth:`render_line` returns one
:class:`~textual.strip.Strip` per visible line. There is no widget per row and no per-cell
measuring (the built-in DataTable stalls the UI for seconds at 50k rows, see the engineering
notes). The data lives in :class:`console.session.table.OrderTable`; this widget draws it, moves the
cursor and says which order is highlighted.

Rendering rules:

- A row's Strip is cached under (row version, pending label, width, minute, cursor, focus). A
  refresh that changes nothing keeps every version, so nothing is re-rendered; a cursor move
  re-renders two rows.
- Relative times are computed against the clock floored to the minute: a row's text changes
  only when the minute does (then the visible rows, and only those, are redrawn).
- Every string drawn here came through the API's sanitizer, and is put into Segments directly:
  no markup parsing anywhere, so ``[/oops]`` in an address is shown as typed.

Line 0 is a fixed header; row ``i`` is drawn on screen line ``i - scroll_y + 1``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from math import ceil
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size, Spacing
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.scrollbar import ScrollBar
from textual.strip import Strip
from textual.style import Style as VisualStyle

from console.api.vocab import OrderRef, RiskLevel
from console.ui.badges import BadgePalette
from console.ui.columns import GAP, Column, fit, layout
from console.session.table import MergeResult, OrderRow, OrderTable, RefreshMerge, RowFilter, SortKey
from console.ui.text import MISSING, MISSING_ASCII
from console.ui.textual_compat import scrollbars
from console.ui.timefmt import relative, scheduled_cell

# Annotations only: drawing rows never needs the pydantic models (start-up time). Kept apart
# from the typing import above so that it merges beside changes to the import block.
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from console.api.models import Order

Clock = Callable[[], datetime]

_NO_SPACING = Spacing(0, 0, 0, 0)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class OrderList(ScrollView, can_focus=True, inherit_bindings=False):
    """Every loaded order, one line each, worst risk first.

    The scroll bindings of ScrollView are not inherited (the keys below move the cursor, which
    scrolls as needed; there is nothing to scroll sideways). The mouse wheel still scrolls.
    """

    #: ``priority``: the app runs these as soon as it reads the key, while the list has the
    #: focus (only then is the list in the binding chain: typing "j" into the filter still
    #: types). A non-priority key is handed to the focused list, bubbles up through its
    #: container and the screen, and comes back to the app to be matched: four more trips
    #: through the event loop, each of which waited behind a step of a 50k-order load (the
    #: list has no key handler of its own for the key to visit on the way).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,j", "cursor_down", "Down", show=False, id="list.cursor_down", priority=True),
        Binding("up,k", "cursor_up", "Up", show=False, id="list.cursor_up", priority=True),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="list.page_down", priority=True),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="list.page_up", priority=True),
        Binding("home,g", "first", "First", show=False, id="list.first", priority=True),
        Binding("end,G", "last", "Last", show=False, id="list.last", priority=True),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "order-list--header",
        "order-list--header-focused",
        "order-list--cursor",
        "order-list--cursor-blurred",
        "order-list--risk-red",
        "order-list--risk-yellow",
        "order-list--risk-green",
        "order-list--risk-unknown",
        "order-list--marker-red",
        "order-list--marker-yellow",
        "order-list--marker-green",
        "order-list--marker-unknown",
        "order-list--late",
        "order-list--pending",
        "order-list--completed",
        "order-list--muted",
        "order-list--empty",
        "order-list--marked",
        "order-list--new-red",
        "order-list--changed",
    }

    DEFAULT_CSS = """
    OrderList {
        overflow-x: hidden;
        overflow-y: auto;
    }
    """

    class Highlighted(Message):
        """The highlighted order changed (or the list became empty: ``row`` is None).

        Consecutive messages replace each other in the queue: holding ``j`` down over a slow
        link loads one detail, not one per row passed.
        """

        def __init__(self, order_list: "OrderList", row: OrderRow | None, by_user: bool = False) -> None:
            super().__init__()
            self.order_list = order_list
            self.row = row
            #: The supervisor moved the cursor here (a key, a jump); False when the list moved
            #: it by itself (a refresh re-sorted, the first rows arrived, a filter hid its row).
            self.by_user = by_user

        @property
        def control(self) -> "OrderList":
            return self.order_list

        @property
        def ref(self) -> OrderRef | None:
            return self.row.ref if self.row is not None else None

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, OrderList.Highlighted) and message.order_list is self.order_list

    def __init__(
        self,
        *,
        now: Clock | None = None,
        ascii: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        table: OrderTable | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.now: Clock = now or _utc_now
        self.ascii = ascii
        #: The rows shown: the session's table (console/session/core.py) in the console.
        self.table = table if table is not None else OrderTable()
        self.empty_message = "Loading orders…"
        self._cursor = 0
        self._cursor_row: OrderRow | None = None
        #: Until the supervisor moves the cursor, it stays on the first (worst) row while pages
        #: arrive and refreshes re-sort; after that it follows its order.
        self.cursor_moved = False
        self._highlighted_sent: OrderRow | None | bool = False  # False: nothing sent yet
        self._pending: dict[tuple, str] = {}
        #: Bulk marks (console.session.marks): a row whose key this says is marked shows the mark
        #: glyph in the cell after its risk marker. Set by the app; None draws no marks.
        self.is_marked: Callable[[tuple], bool] | None = None
        #: Rendered lines (per row version and width): a few screens' worth. Every evicted
        #: strip is cyclic garbage that only a full collection frees, and a long session's
        #: full collections walked what a 512-entry cache churned through (86-110k objects,
        #: 100-235 ms stalls after 20 refreshes; ~20k and 30-45 ms at 128, measured).
        self._strips: LRUCache[tuple, Strip] = LRUCache(128)
        #: While True, the scrollbar is not repainted as the row count and the offset change:
        #: see _after_change.
        self._bar_held = False
        self._move_unpainted = False
        self._shown: dict[int, Strip] = {}
        self._palette: BadgePalette | None = None
        self._styles: dict[str, Style] = {}
        self._minute = self._minute_now()
        #: Rows that changed in the last refreshes, and the new reds not acknowledged (row keys):
        #: drawn in the cell before the handle (see set_change_marks).
        self._changed: frozenset[tuple] = frozenset()
        self._new_red: frozenset[tuple] = frozenset()
        self._user_move = False

    # ------------------------------------------------------------------ public: data

    @property
    def cursor_index(self) -> int:
        return self._cursor

    @property
    def cursor_row(self) -> OrderRow | None:
        return self._cursor_row

    @property
    def cursor_ref(self) -> OrderRef | None:
        return self._cursor_row.ref if self._cursor_row is not None else None

    def extend(self, orders: Iterable[Order]) -> MergeResult:
        """Show one more page of the first load, keeping the cursor on its order."""
        result = self.table.extend(orders)
        self._after_change(result)
        return result

    def show_change(self, result: MergeResult) -> None:
        """Show a change the table already has (the session loaded a page or merged a refresh)."""
        self._after_change(result)

    def begin_refresh(self) -> RefreshMerge:
        """Start a complete reload: feed it pages, then :meth:`apply_refresh`."""
        return self.table.begin_refresh()

    async def apply_refresh(self, merge: RefreshMerge) -> MergeResult:
        """Finish a reload, yielding to the event loop between chunks of the work.

        Nothing is redrawn when nothing the list shows changed.
        """
        import asyncio

        for _ in merge.steps():
            await asyncio.sleep(0)
        result = merge.finish()
        self._after_change(result)
        return result

    def replace_order(self, ref: OrderRef, order: Order) -> OrderRow | None:
        """Show an order the server returned for ``ref`` (a completion) in its row."""
        row = self.table.replace_order(ref, order)
        self._after_change(MergeResult(updated=1) if row is not None else MergeResult())
        return row

    def set_pending(self, ref: OrderRef, label: str | None) -> None:
        """Show ``label`` (e.g. "completing…") instead of the status of ``ref``'s row."""
        key = (ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt)
        if label is None:
            self._pending.pop(key, None)
        else:
            self._pending[key] = label
        index = self.table.index_of(ref)
        if index is not None:
            self._refresh_row(index)

    def set_pending_many(self, labels: dict[tuple, str | None]) -> None:
        """Many row labels at once (a bulk run's progress), with one redraw for all of them."""
        for key, label in labels.items():
            if label is None:
                self._pending.pop(key, None)
            else:
                self._pending[key] = label
        if labels:
            self.refresh()

    def refresh_marks(self, ref: OrderRef | None = None) -> None:
        """Redraw ``ref``'s row after its mark changed, or every visible row (None)."""
        index = self.table.index_of(ref) if ref is not None else None
        if index is not None:
            self._refresh_row(index)
        else:
            self.refresh()

    #: The change marks, in the cell between the badges and the handle: ASCII in every mode
    #: (neither is a badge letter, a risk marker or the bulk mark), so they read without colour.
    NEW_RED_MARK, CHANGED_MARK = "!", "~"

    def set_change_marks(self, changed: frozenset[tuple], new_red: frozenset[tuple]) -> None:
        """Mark the rows (by key) that changed in the last refreshes (``~``), and the new reds
        the supervisor has not looked at (``!``, which wins). Redraws only if they differ."""
        if changed == self._changed and new_red == self._new_red:
            return
        differ = (changed ^ self._changed) | (new_red ^ self._new_red)
        self._changed, self._new_red = changed, new_red
        # Only the visible rows whose mark differs are redrawn: a whole-list repaint on every
        # refresh would send the whole screen over SSH for one changed row.
        top = int(self.scroll_y)
        view = self.table.view
        for index in range(top, min(len(view), top + self.scrollable_content_region.height)):
            if view[index].key in differ:
                self._refresh_row(index)

    def change_mark(self, key: tuple) -> str | None:
        if key in self._new_red:
            return self.NEW_RED_MARK
        if key in self._changed:
            return self.CHANGED_MARK
        return None

    @property
    def mark_glyph(self) -> str:
        return "*" if self.ascii else "✓"

    def pending(self, ref: OrderRef) -> str | None:
        return self._pending.get((ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt))

    def set_empty_message(self, message: str) -> None:
        if message != self.empty_message:
            self.empty_message = message
            if not len(self.table):
                self.refresh()

    def tick(self) -> None:
        """Called every few seconds: redraw the visible rows when the minute has changed."""
        minute = self._minute_now()
        if minute != self._minute:
            self._minute = minute
            self.refresh()

    def set_ascii(self, ascii: bool) -> None:
        self.ascii = ascii
        self._palette = None
        self._strips.clear()
        self.refresh()

    # ------------------------------------------------------------------ public: loading pace

    #: The longest a loading step waits for keys and their frames (see :meth:`pace`): keys
    #: held down for seconds must slow a load, never stop it.
    PACE_MAX_WAIT = 0.1

    def input_pending(self) -> bool:
        """True while a key is on its way to the screen: a message in the app's queue (a key
        read from the terminal), the list's or the screen's (a refresh on its way to a frame),
        or a cursor move that no frame has drawn yet."""
        if self._move_unpainted:
            return True
        try:
            app, screen = self.app, self.screen
        except Exception:  # not mounted (any more): nothing to wait for
            return False
        return bool(app.message_queue_size or self.message_queue_size or screen.message_queue_size)

    async def pace(self, pause: float = 0.0) -> None:
        """Where a long job on the event loop (loading pages) lets the supervisor go first.

        Sleeps ``pause``, then on while :meth:`input_pending` (at most :attr:`PACE_MAX_WAIT`).
        A key's way to the screen takes several trips through the event loop (the app reads
        it, the list moves, the screen is told, the frame is drawn); a job that only yields
        between its steps lets one more of its steps (10-30 ms each for a 1,000-order page)
        run before each trip, and the key waits for all of them. Waiting for the frame itself
        can leave the loop idle until Textual's next frame is due (at most ~17 ms, once per
        key); a fixed 2 ms sleep between steps cost a 50k-order load more than that.
        """
        import asyncio

        await asyncio.sleep(pause)
        waited = pause
        while self.input_pending():
            if waited >= self.PACE_MAX_WAIT:
                self._move_unpainted = False  # a list off screen draws nothing: stop waiting for it
                break
            await asyncio.sleep(pause or 0.001)
            waited += pause or 0.001

    # ------------------------------------------------------------------ public: view

    #: Shown instead of the rows when a filter hides every loaded order.
    no_match_message = "No order matches the filter."

    def set_filter(self, row_filter: RowFilter | None) -> None:
        """Show only the rows ``row_filter`` accepts (console/session/filtering.py): no re-sort.

        The cursor stays on its order when it is still shown, else goes to the first row."""
        self._change_view(lambda: self.table.set_filter(row_filter))

    def set_sort(self, key: SortKey | None, reverse: bool = False) -> None:
        """Sort by ``key`` (console/session/sorting.py); the cursor stays on its order."""
        self._change_view(lambda: self.table.set_sort(key, reverse))

    def _change_view(self, change: Callable[[], None]) -> None:
        change()
        if self._cursor_row is not None and self.table.position(self._cursor_row) is None:
            self._cursor, self._cursor_row = 0, None
        self._after_change(MergeResult(updated=1))

    # ------------------------------------------------------------------ public: cursor

    def move_cursor(self, index: int, *, scroll: bool = True) -> None:
        count = len(self.table)
        if not count:
            return
        self.cursor_moved = True
        self._user_move = True
        index = max(0, min(index, count - 1))
        old = self._cursor
        self._cursor = index
        self._cursor_row = self.table.view[index]
        if old != index:
            self._refresh_row(old)
            self._refresh_row(index)
            self._move_unpainted = True  # until a frame draws the list: see input_pending
        if scroll:
            self._scroll_to_cursor()
        self._announce()

    def select_ref(self, ref: OrderRef) -> bool:
        """Move the cursor to ``ref``'s row; False when it is not in the list."""
        index = self.table.index_of(ref)
        if index is None:
            return False
        self.move_cursor(index)
        return True

    def action_cursor_down(self) -> None:
        self.move_cursor(self._cursor + 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self._cursor - 1)

    def action_page_down(self) -> None:
        self.move_cursor(self._cursor + self._page_rows())

    def action_page_up(self) -> None:
        self.move_cursor(self._cursor - self._page_rows())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        self.move_cursor(len(self.table) - 1)

    # ------------------------------------------------------------------ events

    def on_mount(self) -> None:
        super().on_mount()
        self._update_virtual_size()

    def on_resize(self, event: events.Resize) -> None:
        self._update_virtual_size()
        self._scroll_to_cursor()

    def on_focus(self, event: events.Focus) -> None:
        self._refresh_row(self._cursor)
        self._refresh_header()

    def on_blur(self, event: events.Blur) -> None:
        self._refresh_row(self._cursor)
        self._refresh_header()

    def _refresh_header(self) -> None:
        self.refresh(Region(0, 0, self.scrollable_content_region.width, 1))

    def on_click(self, event: events.Click) -> None:
        # After Textual's own click handling (text selection, the "click" broker), as for every
        # widget: Textual runs each class's handler, its private one first.
        if event.y >= 1:
            index = int(self.scroll_y) + event.y - 1
            if 0 <= index < len(self.table):
                self.move_cursor(index, scroll=False)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._palette = None
        self._styles = {}
        self._strips.clear()

    # ------------------------------------------------------------------ scrolling

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        """Scroll the rows; repaint the scrollbar only when its thumb moves on screen.

        ScrollView hands every new offset to the scrollbar, which repaints itself whole (37
        cells through Rich, ~5 ms here) on every change. With 50k rows a held ``j`` scrolls
        by one row per key while the thumb moves by 1/8 cell only every ~170 rows: the bar
        is told its exact position without a repaint, and repainted when the thumb does.
        """
        if self.show_vertical_scrollbar:
            bar = self.vertical_scrollbar
            before = _thumb_eighths(bar)
            bar.set_reactive(ScrollBar.position, bar.validate_position(new_value))
            if not self._bar_held and _thumb_eighths(bar) != before:
                bar.refresh()
        if round(old_value) != round(new_value):
            self.refresh(self.size.region)

    # ------------------------------------------------------------------ rendering

    def render_lines(self, crop: Region) -> list[Strip]:
        """The visible lines, straight from the row cache when the list's style adds nothing.

        Textual's generic path re-styles every line it is asked for (padding, borders, tint,
        then the line filters) into new Strips, ~0.1 ms a line: a held ``j`` that scrolls the
        list asks for all of them on every key. A row's Strip is already exactly as wide as
        the rows and carries its background, so when the list has no border, padding, outline,
        hatch, tint or opacity the generic path would return the same segments; the filters'
        results are cached on the (cached) row Strips themselves, so a scrolled line costs
        two lookups. Any of those styles set: Textual's path, unchanged.
        """
        self._move_unpainted = False
        if not self._plain_style():
            return super().render_lines(crop)
        filters = self.get_line_filters()
        base_background, background = self.background_colors
        # Under the scrollbar (a widget drawn on top), the line is padded as Textual pads it.
        width = self.size.width
        pad = VisualStyle(background=base_background + background).rich_style
        content_width, top, focused = self.scrollable_content_region.width, int(self.scroll_y), self.has_focus
        shown = self._shown
        strips = []
        for y in crop.line_range:
            strip = shown[y] = self._line(y, content_width, top, focused)  # as render_line does
            strip = strip.adjust_cell_length(width, pad)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)
            strips.append(strip)
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _plain_style(self) -> bool:
        styles = self.styles
        return (
            styles.gutter == _NO_SPACING
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.text_opacity == 1.0
            and self.opacity == 1.0
            and (not styles.has_rule("hatch") or styles.hatch == "none")
        )

    def render_line(self, y: int) -> Strip:
        strip = self._line(y)
        self._shown[y] = strip  # what this screen line now holds: see _refresh_changed_lines
        return strip

    def _refresh_changed_lines(self) -> None:
        """Redraw only the visible lines whose content changed since they were last drawn.

        A repaint sends every line it covers to the terminal again (~500 bytes per row in 256
        colours), so a refresh that changed one order must not repaint the whole list: over SSH
        that was ~20 KB per refresh instead of one line. Lines come from the strip cache, so the
        comparison costs a cache lookup per visible line, plus rendering the lines that did
        change, which the repaint then reuses.
        """
        region = self.scrollable_content_region
        top, focused, shown, line = int(self.scroll_y), self.has_focus, self._shown, self._line
        changed = [y for y in range(region.height) if shown.get(y) != line(y, region.width, top, focused)]
        if len(changed) > region.height // 2:
            self.refresh()
            return
        for y in changed:
            self.refresh(Region(0, y, region.width, 1))

    def _line(self, y: int, width: int | None = None, top: int | None = None, focused: bool | None = None) -> Strip:
        """Screen line ``y``. A caller drawing many lines passes what they share (the width, the
        first row shown, the focus): each costs a property walk, 37 times a frame otherwise."""
        if width is None:
            width = self.scrollable_content_region.width
        if y == 0:
            if focused is None:
                focused = self.has_focus
            header = self._strips.get(("header", width, focused, self.ascii))
            if header is None:
                header = self._strips[("header", width, focused, self.ascii)] = self._header_strip(width, focused)
            return header
        index = (int(self.scroll_y) if top is None else top) + y - 1
        table = self.table
        view = table.view
        if index >= len(view):
            if index == 0:
                message = self.no_match_message if table.total else self.empty_message
                return self._message_strip(message, width)
            return Strip.blank(width, self.rich_style)
        row = view[index]
        is_cursor = index == self._cursor
        if focused is None:
            focused = self.has_focus
        pending = self._pending.get(row.key) if self._pending else None
        marked = self.is_marked is not None and self.is_marked(row.key)
        change = (self.change_mark(row.key) if self._changed or self._new_red else None)
        key = (row.version, pending, width, self._minute, is_cursor, is_cursor and focused, self.ascii, marked,
               change)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._row_strip(row, width, pending, is_cursor, focused, marked, change)
            self._strips[key] = strip
        return strip

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            # Partial: only what the rule sets, laid over the row's base (widget or cursor).
            style = self.get_component_rich_style(f"order-list--{name}", partial=True)
            self._styles[name] = style
        return style

    @property
    def palette(self) -> BadgePalette:
        """Badge styles resolved from the theme (via component classes), once per style change."""
        if self._palette is None:
            self._palette = BadgePalette(
                red=self._style("risk-red"),
                yellow=self._style("risk-yellow"),
                green=self._style("risk-green"),
                unknown=self._style("risk-unknown"),
                ascii=self.ascii,
                markers={
                    RiskLevel.RED: self._style("marker-red"),
                    RiskLevel.YELLOW: self._style("marker-yellow"),
                    RiskLevel.GREEN: self._style("marker-green"),
                    RiskLevel.UNKNOWN: self._style("marker-unknown"),
                },
            )
        return self._palette

    #: Drawn in the marker column of the header while the list has the keys (the header is then
    #: also drawn in its focused style): with the detail pane's title, which pane has the focus
    #: reads without colour too.
    FOCUS_MARK, FOCUS_MARK_ASCII = "▶", ">"

    def _header_strip(self, width: int, focused: bool = False) -> Strip:
        style = self.rich_style + self._style("header-focused" if focused else "header")
        cells = [fit(column.title, column.width) for column in layout(width)]
        if focused and cells and cells[0] == " ":  # the marker column: one cell, no title
            cells[0] = self.FOCUS_MARK_ASCII if self.ascii else self.FOCUS_MARK
        text = fit((" " * GAP).join(cells), width)
        return Strip([Segment(text, style)], width)

    def _message_strip(self, message: str, width: int) -> Strip:
        text = fit(f" {message}", width, self._ellipsis)
        return Strip([Segment(text, self.rich_style + self._style("empty"))], width)

    @property
    def _ellipsis(self) -> str:
        return "..." if self.ascii else "…"

    @property
    def _missing(self) -> str:
        return MISSING_ASCII if self.ascii else MISSING

    def _row_strip(
        self, row: OrderRow, width: int, pending: str | None, is_cursor: bool, focused: bool,
        marked: bool = False, change: str | None = None,
    ) -> Strip:
        base = self.rich_style
        if is_cursor:
            base = base + self._style("cursor" if focused else "cursor-blurred")
        palette = self.palette
        now = self._minute_clock()
        ellipsis = self._ellipsis
        missing = self._missing
        segments: list[Segment] = []
        gap = Segment(" " * GAP, base)
        # A marked row shows its mark in the gap after the risk marker (the first column).
        mark = Segment(self.mark_glyph, base + self._style("marked")) if marked else None
        add = segments.append
        first = True
        for column in layout(width):
            if not first:
                add(mark if mark is not None else gap)
                mark = None
            first = False
            name, w = column.name, column.width
            if name == "marker":
                marker = palette.marker(row.worst)
                add(Segment(marker.text, base + marker.style))
            elif name == "badges":
                for cell in palette.badges(row.levels):
                    add(Segment(cell.text, base + cell.style))
            elif name == "handle":
                if change is not None:
                    # The gap before the handle holds the change mark.
                    segments[-1] = Segment(change, base + self._style("new-red" if change == self.NEW_RED_MARK
                                                                      else "changed"))
                add(Segment(fit(row.display_handle, w, ellipsis), base))
            elif name == "status":
                if pending is not None:
                    add(Segment(fit(pending, w, ellipsis), base + self._style("pending")))
                elif row.status == "completed":
                    add(Segment(fit(row.status, w, ellipsis), base + self._style("completed")))
                else:
                    add(Segment(fit(row.status, w, ellipsis), base))
            elif name == "worker":
                add(self._text_cell(row.worker, w, base, ellipsis, missing))
            elif name == "ops":
                add(self._text_cell(row.ops_group, w, base, ellipsis, missing))
            elif name == "scheduled":
                text, late = scheduled_cell(row.scheduled_at, now, open_order=row.is_open)
                if text == "-":
                    add(Segment(fit(missing, w), base + self._style("muted")))
                else:
                    add(Segment(fit(text, w, ellipsis), base + self._style("late") if late else base))
            elif name == "eta":
                if row.eta is None:
                    add(Segment(fit(missing, w), base + self._style("muted")))
                else:
                    add(Segment(fit(relative(row.eta, now), w, ellipsis), base))
            elif name == "address":
                add(self._text_cell(row.address, w, base, ellipsis, missing))
        strip = Strip(segments)
        return strip.crop_extend(0, width, base)

    def _text_cell(self, value: str | None, width: int, base: Style, ellipsis: str, missing: str) -> Segment:
        if not value:
            return Segment(fit(missing, width), base + self._style("muted"))
        return Segment(fit(value, width, ellipsis), base)

    # ------------------------------------------------------------------ internals

    def _minute_now(self) -> int:
        return int(self.now().timestamp() // 60)

    def _minute_clock(self) -> datetime:
        """The clock floored to the minute the rows are drawn for."""
        return datetime.fromtimestamp(self._minute * 60, timezone.utc)

    def _page_rows(self) -> int:
        return max(1, self.scrollable_content_region.height - 2)

    def _update_virtual_size(self) -> None:
        """Tell the scrollbar how many lines there are, without a layout pass.

        Assigning ``virtual_size`` lays out the whole screen (every widget measured and redrawn,
        ~100 ms on this project's machine), and a 50k-order load did that on every page. The
        list's own size never depends on its row count (the stylesheet sizes it), so only the
        scrollbar needs to know; a layout is asked for only when the scrollbar appears or
        disappears, which changes the width the rows get.
        """
        size = Size(self.scrollable_content_region.width, len(self.table) + 1)
        if size == self.virtual_size:
            return
        if not self.size or not scrollbars.WITHOUT_LAYOUT:  # before the first layout, or switched off
            self.virtual_size = size
            return
        had_scrollbar = self.show_vertical_scrollbar
        self.set_reactive(OrderList.virtual_size, size)
        # Textual's update of the scrollbars after a layout, except that the scrollbar is
        # repainted only when its thumb changes on screen: a repaint is ~3 ms of a page's frame
        # while 50k orders load (measured), and past the first pages the one-cell thumb often
        # stays where it was.
        scrollbars.refresh_scrollbar_visibility(self)
        if self.show_vertical_scrollbar and self.styles.scrollbar_size_vertical:
            bar = self.vertical_scrollbar
            before = _thumb_eighths(bar)
            bar.set_reactive(ScrollBar.window_virtual_size, size.height)
            bar.set_reactive(ScrollBar.window_size, self.container_size.height - self.scrollbar_size_horizontal)
            if not had_scrollbar or (not self._bar_held and _thumb_eighths(bar) != before):
                bar.refresh()
        self.scroll_y = self.validate_scroll_y(self.scroll_y)
        if self.show_vertical_scrollbar != had_scrollbar:
            self.refresh(layout=True)

    def _refresh_row(self, index: int) -> None:
        line = index - int(self.scroll_y) + 1
        if 1 <= line < self.scrollable_content_region.height:
            self.refresh(Region(0, line, self.scrollable_content_region.width, 1))

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_y)
        if self._cursor < top:
            top = self._cursor
        elif self._cursor > top + visible - 1:
            top = self._cursor - visible + 1
        else:
            return
        self.scroll_to(y=top, animate=False, force=True)

    def _after_change(self, result: MergeResult) -> None:
        """Keep the cursor on its order (or its neighbour when it left) and redraw if needed.

        The scrollbar is compared once, before and after: a page of a 50k-order load grows the
        row count (the thumb moves up) and then, the cursor keeping its order, the offset (the
        thumb moves back down), and the bar was repainted for both of those (~3 ms each) though
        it mostly ends where it was.
        """
        bar_before = _thumb_eighths(self.vertical_scrollbar) if self.show_vertical_scrollbar else None
        self._bar_held = True
        try:
            self._apply_change(result)
        finally:
            self._bar_held = False
        if self.show_vertical_scrollbar and _thumb_eighths(self.vertical_scrollbar) != bar_before:
            self.vertical_scrollbar.refresh()
        self._announce()

    def _apply_change(self, result: MergeResult) -> None:
        table = self.table
        count = len(table)
        old_index, old_top = self._cursor, int(self.scroll_y)
        if result.changed or count != self.virtual_size.height - 1:
            self._update_virtual_size()
        if not count:
            self._cursor, self._cursor_row = 0, None
        else:
            if not self.cursor_moved:
                index = 0
            elif self._cursor_row is not None:
                index = table.position(self._cursor_row)
            else:
                index = None
            if index is None:
                index = min(old_index, count - 1)
            self._cursor = index
            self._cursor_row = table.view[index]
            if index != old_index:
                # Keep the cursor at the same height on screen: the list moves, not the eye.
                top = max(0, index - (old_index - old_top))
                self.scroll_to(y=top, animate=False, force=True)
                self._scroll_to_cursor()
        if result.changed:
            self._refresh_changed_lines()

    def _announce(self) -> None:
        """Post :class:`Highlighted` when the highlighted row is not the one last announced."""
        row = self._cursor_row
        by_user, self._user_move = self._user_move, False
        if row is self._highlighted_sent:
            return
        self._highlighted_sent = row
        self.post_message(self.Highlighted(self, row, by_user))


def _thumb_eighths(bar: ScrollBar) -> tuple[int, ...]:
    """What a vertical scrollbar draws: its height and where its thumb is, in eighths of a
    cell (the same arithmetic as Textual's ``ScrollBarRender.render_bar``), or no thumb. Two
    states with the same value draw the same bar, whatever the row count and scroll offset."""
    size = bar.size.height
    virtual = ceil(bar.window_virtual_size)
    window = ceil(bar.window_size) if bar.window_size < bar.window_virtual_size else 0
    if not (window and size and virtual and size != virtual):
        return (size,)
    thumb = max(1, window / (virtual / size))
    position = (size - thumb) * (bar.position / (virtual - window))
    start = int(position * 8)
    return (size, start, start + ceil(thumb * 8))
