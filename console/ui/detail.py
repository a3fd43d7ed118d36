"""The detail pane: one order's facts, risks, timeline and route, and any error about it.

The app shell owns the data flow (which order is selected, the GET that loads it, the complete
action) and calls this pane's five methods; the pane knows nothing about HTTP.

Every value from the API is put on screen through :mod:`console.ui.text` (``Text`` objects,
never markup), so ``[/oops]`` in an address is shown as typed instead of crashing the app.
Colours come from component classes styled in ``styles/detail.tcss`` with theme variables; every
coloured fact is also spelled out (a glyph and a word per risk level, ``LATE``, ``inside``), so
the pane reads the same without colour.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.strip import Strip
from textual.style import Style as VisualStyle
from textual.visual import RenderOptions, RichVisual
from textual.widget import Widget
from textual.widgets import Static

from console.api.vocab import RISK_KEYS, RiskLevel, risk_level
from console.ui.timefmt import minutes_until
from console.ui.text import (
    MISSING,
    MISSING_ASCII,
    finite,
    format_clock,
    format_coordinate,
    format_distance,
    format_duration,
    format_speed,
    relative_time,
    risk_glyph,
    risk_word,
    safe,
    short_id,
    text,
)

# The pydantic models load with the first order shown, not with the pane (start-up time);
# so does console.geo (the route and the track: ~5 ms of dataclass building at import).
if TYPE_CHECKING:
    from console import geo
    from console.api.models import (
        DriverActivityEnded,
        DriverActivityStarted,
        Order,
        OrderCompleted,
        TimelineEvent,
    )


def _stylesheet() -> Path:
    # Installed: console/styles (force-included into the wheel); checkout: <repo>/styles.
    here = Path(__file__).resolve().parent.parent
    installed = here / "styles" / "detail.tcss"
    return installed if installed.exists() else here.parent / "styles" / "detail.tcss"


#: The pane's stylesheet; an App that mounts the pane adds it to its ``CSS_PATH``.
DETAIL_CSS_PATH = _stylesheet()

#: How many raw fields an unknown timeline event shows, and how long each value may be.
UNKNOWN_EVENT_FIELDS = 4
UNKNOWN_EVENT_VALUE_CHARS = 40
#: Metadata values longer than this are cut (the pane is a summary, not a JSON viewer).
METADATA_VALUE_CHARS = 300
LABEL_WIDTH = 11


# --------------------------------------------------------------------------- timeline sentences


def event_sentence(event: TimelineEvent, *, ascii: bool = False) -> str:
    """One readable sentence for a timeline event (safe to show: sanitized, single line)."""
    from console.api.models import (
        DriverActivityEnded,
        DriverActivityStarted,
        OrderAssigned,
        OrderCancelled,
        OrderCompleted,
        OrderCreated,
        OrderDisabled,
        OrderGeofenceEntered,
        OrderGeofenceExited,
        OrderPlanned,
        OrderServiceEnded,
        OrderServiceStarted,
        OrderStarted,
    )

    ellipsis = "..." if ascii else "…"
    if isinstance(event, OrderCreated):
        return "Order created"
    if isinstance(event, OrderPlanned):
        return f"Planned into route {short_id(event.route_handle, ellipsis=ellipsis)}" if event.route_handle else "Planned"
    if isinstance(event, OrderAssigned):
        return f"Assigned to {safe(event.driver_handle)}" if event.driver_handle else "Assigned"
    if isinstance(event, OrderStarted):
        return f"Started ({safe(event.order_type)})" if event.order_type else "Started"
    if isinstance(event, DriverActivityStarted):
        return _activity_started(event)
    if isinstance(event, DriverActivityEnded):
        return _activity_ended(event)
    if isinstance(event, OrderGeofenceEntered):
        return "Entered the destination geofence"
    if isinstance(event, OrderGeofenceExited):
        # ``duration`` on an exit is the time since the entry (it matches the two timestamps).
        stay = finite(event.duration)
        return "Left the destination geofence" + (f" after {format_duration(stay)}" if stay is not None else "")
    if isinstance(event, OrderServiceStarted):
        return "Service started"
    if isinstance(event, OrderServiceEnded):
        took = finite(event.duration)
        return "Service ended" + (f" after {format_duration(took)}" if took is not None else "")
    if isinstance(event, OrderDisabled):
        return "Disabled"
    if isinstance(event, OrderCancelled):
        source = event.cancellation_source
        return f"Cancelled (by {safe(source, limit=40, ellipsis=ellipsis)})" if source not in (None, "", {}, []) else "Cancelled"
    if isinstance(event, OrderCompleted):
        return _completed(event)
    return _generic(event, ellipsis)


def _activity_started(event: DriverActivityStarted) -> str:
    activity = (event.activity or "").lower()
    address = safe(event.address) if event.address else ""
    if activity == "stop":
        return f"Stopped at {address}" if address else "Stopped"
    if activity in ("drive", "walk"):
        verb = "Started driving" if activity == "drive" else "Started walking"
        return f"{verb} from {address}" if address else verb
    name = safe(event.activity) if event.activity else "an activity"
    return f"Started {name}" + (f" at {address}" if address else "")


def _activity_ended(event: DriverActivityEnded) -> str:
    activity = (event.activity or "").lower()
    distance, duration = finite(event.distance), finite(event.duration)
    steps = f", {event.steps} steps" if event.steps else ""
    if activity in ("drive", "walk"):
        verb = "Drove" if activity == "drive" else "Walked"
        parts = [verb]
        if distance is not None:
            parts.append(format_distance(distance))
        if duration is not None:
            parts.append(f"in {format_duration(duration)}" if distance is not None else f"for {format_duration(duration)}")
        return " ".join(parts) + steps
    name = "Stop" if activity == "stop" else (safe(event.activity) or "Activity")
    sentence = f"{name} ended"
    if duration is not None:
        sentence += f" after {format_duration(duration)}"
    if distance:
        sentence += f" ({format_distance(distance)})"
    return sentence + steps


def _completed(event: OrderCompleted) -> str:
    sentence = "Completed"
    if event.completed_at_destination is True:
        sentence += " at the destination"
    elif event.completed_at_destination is False:
        sentence += " away from the destination"
    deviation = finite(event.deviation_from_destination)
    if deviation is not None:
        sentence += f" ({format_distance(deviation)} off)"
    return sentence


def _generic(event: TimelineEvent, ellipsis: str = "…") -> str:
    """An event type the console does not know: its type and a few raw fields, never dropped."""
    from console.api.models import UnknownEvent

    if isinstance(event, UnknownEvent):
        fields = dict(event.raw)
    else:  # a typed event class added to the models without a sentence here
        fields = {k: v for k, v in event.model_dump(exclude={"type", "recorded_at"}).items() if v is not None}
    fields = {k: v for k, v in fields.items() if v not in (None, "", [], {})}
    shown = [
        f"{safe(key, limit=UNKNOWN_EVENT_VALUE_CHARS, ellipsis=ellipsis)}"
        f"={safe(value, limit=UNKNOWN_EVENT_VALUE_CHARS, ellipsis=ellipsis)}"
        for key, value in list(fields.items())[:UNKNOWN_EVENT_FIELDS]
    ]
    more = len(fields) - len(shown)
    if more > 0:
        shown.append(f"+{more} more")
    name = safe(event.type, limit=64, ellipsis=ellipsis) or "(event without a type)"
    return f"{name}: {', '.join(shown)}" if shown else name


def timeline_oldest_first(events: Iterable[TimelineEvent]) -> list[TimelineEvent]:
    """Events sorted by time, oldest first; an event without a time keeps its place after the
    event before it (the API sends them in order; the sort only repairs stragglers)."""
    keyed = []
    last: datetime | None = None
    for index, event in enumerate(events):
        when = event.recorded_at or last
        last = when
        keyed.append((when is None, when or datetime.min.replace(tzinfo=timezone.utc), index, event))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]


# --------------------------------------------------------------------------- the widgets


def component_style(widget: Widget, name: str) -> Style:
    """A Rich style (foreground and text style only) for one of ``widget``'s component classes.

    ``get_component_rich_style`` would drop the alpha of theme colours such as ``$text-muted``
    (``auto 60%``) and give plain white; the visual style blends them against the background the
    widget sits on, which is what the user sees. The background is left out so that a span never
    repaints the box it is in (the error box has its own).
    """
    rich = widget.get_visual_style(name).rich_style
    return Style(
        color=rich.color, bold=rich.bold, dim=rich.dim, italic=rich.italic,
        underline=rich.underline, reverse=rich.reverse, strike=rich.strike,
    )



class RenderedOnce(RichVisual):
    """A section's Rich renderable, rendered once per width and style.

    Textual asks a Static's content for its height on every layout and then renders it again to
    paint it; for the pane's Rich tables each ask is a full render (tens of ms for an order
    with a long timeline). Both answers here come from one render, kept for the last width
    asked (the pane's width changes only on a resize)."""

    def __init__(self, widget: Widget, renderable: RenderableType) -> None:
        super().__init__(widget, renderable)
        self._last: tuple[tuple[int, VisualStyle], list[Strip]] | None = None

    def _lines(self, width: int, style: VisualStyle, options: RenderOptions | None) -> list[Strip]:
        key = (width, style)
        if self._last is None or self._last[0] != key:
            self._last = (key, super().render_strips(width, None, style, options))  # type: ignore[arg-type]
        return self._last[1]

    def get_height(self, rules: Any, width: int) -> int:
        return len(self._lines(width, self._widget.visual_style, None))

    def render_strips(self, width: int, height: int | None, style: VisualStyle, options: RenderOptions) -> list[Strip]:
        strips = self._lines(width, style, options)
        return strips if height is None else strips[:height]


def _unreadable_count(count: int) -> str:
    return f"{count} unreadable point{'s' if count != 1 else ''}"


def _show(static: Static, renderable: RenderableType) -> None:
    """Put ``renderable`` in ``static``; a screen layout only when its height changes.

    A layout measures and places every widget on the screen (tens of ms here); a section that
    keeps its height (the next order's risks, a header, facts of the same shape) needs only a
    repaint. The height comes from the render the paint then reuses (RenderedOnce)."""
    visual = RenderedOnce(static, renderable)
    content = static.content_region.size
    same_height = (
        static.is_mounted and static.display and content.width > 0
        and visual.get_height(static.styles, content.width) == content.height
    )
    static.update(visual, layout=not same_height)


class TrackDrawing(Widget):
    """The route drawn in braille (or ASCII) at whatever size the widget gets, in a frame whose
    subtitle is the legend."""

    COMPONENT_CLASSES = {"track--line", "track--start", "track--end", "track--destination"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._points: Sequence[Any] = ()
        self._destination = None
        self._ascii = False

    def show(self, points: Sequence[Any], destination: Any, *, ascii: bool) -> None:
        from console import geo

        self._points, self._destination, self._ascii = points, destination, ascii
        # The legend rides on the frame (our own constant text, still passed as Text).
        self.border_subtitle = Text(geo.track_legend(ascii))
        self.refresh()

    def render(self) -> RenderableType:
        from console import geo

        width, height = self.content_size
        rows = geo.braille_track(self._points, self._destination, width, height, ascii=self._ascii)
        line_style = component_style(self, "track--line")
        marks = {
            geo.MARK_START: component_style(self, "track--start"),
            geo.MARK_END: component_style(self, "track--end"),
            geo.MARK_DESTINATION: component_style(self, "track--destination"),
        }
        # Arrived: the combined marker looks like the destination (it is drawn on it).
        marks[geo.MARK_END_AT_DESTINATION] = marks[geo.MARK_DESTINATION]
        marks[geo.MARK_END_AT_DESTINATION_ASCII] = marks[geo.MARK_DESTINATION]
        out = Text(no_wrap=True, overflow="crop", end="")
        for index, row in enumerate(rows):
            if index:
                out.append("\n")
            for char in row:
                out.append(char, marks.get(char, line_style))
        return out


def _leg_key(order: Order) -> tuple[Any, ...]:
    """Which order leg is shown: the pick and the drop of one handle are different rows.
    (The attempt is left out: a reassigned order is still the same one on screen.)"""
    return (order.order_handle, order.type, order.type_index)


class DetailPane(VerticalScroll, inherit_bindings=False):
    """One order in detail. See the module docstring; the app shell calls the public methods."""

    COMPONENT_CLASSES = {
        "detail--label",
        "detail--heading",
        "detail--handle",
        "detail--status",
        "detail--muted",
        "detail--late",
        "detail--good",
        "detail--bad",
        "detail--error-title",
        "detail--risk-green",
        "detail--risk-yellow",
        "detail--risk-red",
        "detail--risk-unknown",
    }

    #: How often relative times ("12m ago", "LATE 7m") are redrawn.
    CLOCK_REFRESH_SECONDS = 30.0

    #: With the focus here, the list's movement keys scroll the pane (c, space and y stay the
    #: app's: they act on the list's highlighted order wherever the focus is).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j,down", "scroll_down", "Scroll down", show=False, id="detail.down"),
        Binding("k,up", "scroll_up", "Scroll up", show=False, id="detail.up"),
        Binding("g,home", "scroll_home", "Top", show=False, id="detail.top"),
        Binding("G,end", "scroll_end", "Bottom", show=False, id="detail.bottom"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="detail.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="detail.page_up"),
    ]

    #: How the help describes these keys (the same keys as the list's, scrolling instead).
    KEY_WORDS: ClassVar[dict[str, str]] = {
        "scroll_down": "scroll down a line", "scroll_up": "scroll up a line",
        "scroll_home": "the top", "scroll_end": "the end (route drawing included)",
        "page_down": "a page down", "page_up": "a page up",
    }

    #: The pane's title (on its top border): says, in words and not only in colour, whether the
    #: keys scroll this pane.
    TITLE_FOCUSED = "▶ DETAIL: j/k scroll · tab: list"
    TITLE_FOCUSED_ASCII = "> DETAIL: j/k scroll - tab: list"
    TITLE_BLURRED = "Detail (tab)"

    #: ASCII-only mode: no braille or other non-ASCII glyphs of our own (API text is kept).
    ascii: var[bool] = var(False, init=False)

    def __init__(
        self,
        *,
        now: Callable[[], datetime] | None = None,
        ascii: bool = False,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        #: The clock: injectable so that snapshot tests can freeze "3m ago".
        self.now: Callable[[], datetime] = now or (lambda: datetime.now(timezone.utc))
        self.set_reactive(DetailPane.ascii, ascii)
        self.set_class(ascii, "-ascii")  # lets the stylesheet pick ASCII borders
        self._order: Order | None = None
        self._full = False
        self._loading = False
        self._placeholder = "No order selected"
        self._error: tuple[str, str, dict[str, Any] | None, str | None] | None = None
        #: Which order leg the error is about (see :func:`_leg_key`).
        self._error_handle: tuple[Any, ...] | None = None
        #: The order's sections, once the first order has been shown (see compose).
        self._sections: tuple[Static, Static, Static, Static, Static, TrackDrawing] | None = None
        #: True after G/end until another scroll: the end stays in view while sections grow
        #: (the full order, with its route and drawing, arriving after the list's summary).
        self._pinned_to_end = False
        self._set_title()

    # ------------------------------------------------------------------ composition

    def compose(self) -> ComposeResult:
        # The order's sections are mounted with the first order shown (_order_sections): the
        # pane starts with its placeholder ("Loading orders…"), and the six hidden sections
        # (the track's four component classes among them) were styled at each of start-up's
        # styling passes for nothing: ~10-20 ms before the first rows.
        yield Static(id="detail-error", classes="detail-error")
        yield Static(id="detail-placeholder")

    def _order_sections(self) -> tuple[Static, Static, Static, Static, Static, TrackDrawing]:
        """The header, facts, risks, timeline, route and track, mounted (once) after the
        placeholder: attached and styled at once, so they can be filled in the same call."""
        sections = self._sections
        if sections is None:
            sections = self._sections = (
                Static(id="detail-header"),
                Static(id="detail-facts", classes="detail-section"),
                Static(id="detail-risks", classes="detail-section"),
                Static(id="detail-timeline", classes="detail-section"),
                Static(id="detail-route", classes="detail-section"),
                TrackDrawing(id="detail-track"),
            )
            self.mount(*sections)
        return sections

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)
        # "12m ago" and LATE go stale while an order stays selected: redraw now and then.
        self.set_interval(self.CLOCK_REFRESH_SECONDS, self._render_all)
        self._render_all()

    def _on_theme_changed(self, _theme: object) -> None:
        self._render_all()  # the component styles (and so the colours) have changed

    def watch_ascii(self, _old: bool, new: bool) -> None:
        self.set_class(new, "-ascii")
        self._set_title()
        self._render_all()

    # ------------------------------------------------------------------ focus and scrolling

    def _set_title(self, focused: bool | None = None) -> None:
        if focused is None:
            focused = self.has_focus
        if focused:
            title = self.TITLE_FOCUSED_ASCII if self.ascii else self.TITLE_FOCUSED
        else:
            title = self.TITLE_BLURRED
        self.border_title = Text(title)

    # (These run before Widget's own handlers, which set has_focus.)
    def on_focus(self, _event: events.Focus) -> None:
        self._set_title(True)

    def on_blur(self, _event: events.Blur) -> None:
        self._set_title(False)

    def action_scroll_end(self) -> None:
        """G/end: the very end, route drawing included, and it stays in view while the order's
        later sections arrive and lay out."""
        self._pinned_to_end = True
        self.scroll_end(animate=False, immediate=True)
        self.call_after_refresh(self._keep_end)

    def _keep_end(self) -> None:
        if self._pinned_to_end:
            self.scroll_end(animate=False, immediate=True)

    def _unpin(self) -> None:
        self._pinned_to_end = False

    def action_scroll_down(self) -> None:
        self._unpin()
        super().action_scroll_down()

    def action_scroll_up(self) -> None:
        self._unpin()
        super().action_scroll_up()

    def action_scroll_home(self) -> None:
        self._unpin()
        super().action_scroll_home()

    def action_page_down(self) -> None:
        self._unpin()
        super().action_page_down()

    def action_page_up(self) -> None:
        self._unpin()
        super().action_page_up()

    # ------------------------------------------------------------------ the app shell's interface

    def show_placeholder(self, message: str) -> None:
        """Nothing selected (or nothing to select): show ``message`` alone."""
        self._order, self._full, self._loading = None, False, False
        self._placeholder = message
        self._error = self._error_handle = None
        self._render_all()

    def show_summary(self, order: Order, *, loading: bool) -> None:
        """The list's summary of ``order`` while ``GET /orders/{h}`` runs (``loading``), or
        instead of it when that failed."""
        self._set_order(order, full=False, loading=loading)

    def show_order(self, order: Order) -> None:
        """The full order from ``GET /orders/{h}`` (or a complete/cancel response)."""
        self._set_order(order, full=True, loading=False)

    def show_error(
        self,
        title: str,
        message: str,
        field_errors: dict[str, list[str]] | None = None,
        request_id: str | None = None,
    ) -> None:
        """An API error about the shown order, above it; the order stays on screen.

        The error stays while the same order is shown again (a refresh after a failed complete)
        and goes when another order is shown or :meth:`clear_error` is called.
        """
        self._error = (title, message, field_errors, request_id)
        self._error_handle = _leg_key(self._order) if self._order is not None else None
        self._render_error()
        self.scroll_home(animate=False)

    def clear_error(self) -> None:
        self._error = self._error_handle = None
        self._render_error()

    # ------------------------------------------------------------------ state

    @property
    def order(self) -> Order | None:
        """The order on display (summary or full), if any."""
        return self._order

    @property
    def error_shown(self) -> bool:
        return self._error is not None

    def _set_order(self, order: Order, *, full: bool, loading: bool) -> None:
        same = self._order is not None and _leg_key(self._order) == _leg_key(order)
        if self._error is not None and _leg_key(order) != self._error_handle:
            self._error = self._error_handle = None
        if same and self._full and not full:
            # The list's summary of the order already shown in full (a list refresh while the
            # app re-fetches it): keep the full order, which has the timeline and route.
            self._loading = loading
        else:
            self._order, self._full, self._loading = order, full, loading
        self._render_all()
        if not same:
            self._pinned_to_end = False
            self.scroll_home(animate=False)

    # ------------------------------------------------------------------ rendering

    def _style(self, name: str) -> Style:
        return component_style(self, f"detail--{name}")

    @property
    def _missing(self) -> str:
        return MISSING_ASCII if self.ascii else MISSING

    @property
    def _ellipsis(self) -> str:
        return "..." if self.ascii else "…"

    def _render_all(self) -> None:
        if not self.is_mounted:
            return
        order = self._order
        placeholder = self.query_one("#detail-placeholder", Static)
        placeholder.display = order is None
        if order is None:
            for section in self._sections or ():
                section.display = False
            self._render_error()
            placeholder.update(text(self._placeholder, self._style("muted")))
            return
        header, facts, risks, timeline, route_section, track = self._order_sections()
        for section in (header, facts, risks, timeline, route_section, track):
            section.display = True
        self._render_error()
        now = self.now()
        _show(header, self._header(order))
        _show(facts, self._facts(order, now))
        _show(risks, self._risks(order))
        _show(timeline, self._timeline(order, now))
        route, summary = self._route(order)
        _show(route_section, route)
        track.display = summary is not None
        if summary is not None:
            track.show(order.polyline.coordinates, order.destination, ascii=self.ascii)
        if self._pinned_to_end:
            self.call_after_refresh(self._keep_end)  # once the new heights are laid out

    def _render_error(self) -> None:
        if not self.is_mounted:
            return
        box = self.query_one("#detail-error", Static)
        box.display = self._error is not None
        if self._error is None:
            box.update("", layout=False)  # hidden: its content takes no room, no layout for it
            return
        title, message, field_errors, request_id = self._error
        lines = [text(title or "Error", self._style("error-title"))]
        if message:
            lines.append(text(message))
        for field, messages in (field_errors or {}).items():
            if isinstance(messages, (list, tuple)):
                joined = "; ".join(safe(m) for m in messages)
            else:
                joined = safe(messages)
            bullet = "-" if self.ascii else "•"
            lines.append(Text.assemble(f"{bullet} ", text(field, "bold"), ": ", text(joined)))
        if request_id:
            lines.append(Text.assemble(("request id ", self._style("muted")), text(request_id)))
        _show(box, Group(*lines))

    def _header(self, order: Order) -> RenderableType:
        header = Text.assemble(
            text(order.display_handle, self._style("handle")),
            "  ",
            text(order.status.upper(), self._style("status")),
        )
        if self._loading:
            note = "refreshing" if self._full else "loading the full order"
            header.append(f"\n{note}{self._ellipsis}", self._style("muted"))
        elif not self._full:
            # Why (a failed load, or a leg HyperTrack gives no history for) is said above the order.
            header.append("\nsummary only: no timeline or route for this order here", self._style("muted"))
        return header

    def _grid(self) -> Table:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style=self._style("label"), no_wrap=True, width=LABEL_WIDTH)
        grid.add_column(overflow="fold")
        return grid

    def _facts(self, order: Order, now: datetime) -> RenderableType:
        missing = self._missing
        grid = self._grid()
        add = grid.add_row

        worker = Text(missing)
        if order.worker:
            worker = text(order.worker)
            name = order.worker_name or order.driver_name
            if name and name != order.worker:
                worker.append_text(Text.assemble(" (", text(name), ")"))
        add("Worker", worker)
        add("Ops group", text(order.ops_group_handle) if order.ops_group_handle else Text(missing))
        add("Order", self._leg(order))

        add("Scheduled", self._scheduled(order, now))
        for label, when in (("Started", order.started_at), ("Arrived", order.arrived_at)):
            if when is not None:
                add(label, self._when(when, now))
        estimate = order.estimate
        if estimate is not None and estimate.arrive_at is not None:
            eta = self._when(estimate.arrive_at, now)
            if estimate.initial_arrive_at and estimate.initial_arrive_at != estimate.arrive_at:
                eta.append(f"  first ETA {format_clock(estimate.initial_arrive_at, now)}", self._style("muted"))
            add("ETA", eta)
        elif not order.is_terminal:
            add("ETA", Text(missing))
        for label, when in (
            ("Completed", order.completed_at),
            ("Cancelled", order.cancelled_at),
            ("Disabled", order.disabled_at),
        ):
            if when is not None:
                add(label, self._when(when, now))

        from console import geo

        destination = order.destination
        address = destination.address if destination is not None else None
        position = geo.destination_position(destination)
        if address:
            add("Destination", text(address))
        elif position is not None:
            add("Destination", Text(format_coordinate(position.lon, position.lat)))
        else:
            add("Destination", Text(missing))
        radius = finite(destination.radius) if destination is not None else None
        if radius is not None:
            add("Radius", Text(format_distance(radius)))
        if order.share_url:
            add("Share URL", text(order.share_url))
        if order.planning_failure_reason:
            add("Planning", text(order.planning_failure_reason, self._style("bad")))
        for index, (key, value) in enumerate((order.metadata or {}).items()):
            value_text = text(value, limit=METADATA_VALUE_CHARS, ellipsis=self._ellipsis)
            line = Text.assemble(text(key, "bold"), ": ", value_text)
            add("Metadata" if index == 0 else "", line)
        return grid

    def _leg(self, order: Order) -> Text:
        parts = []
        if order.type is not None:
            parts.append(f"type {safe(order.type)}")
        if order.type_index is not None:
            parts.append(f"index {order.type_index}")
        if order.fulfillment_attempt is not None:
            parts.append(f"attempt {order.fulfillment_attempt}")
        return Text(", ".join(parts) if parts else self._missing)

    def _when(self, when: datetime, now: datetime) -> Text:
        return Text.assemble(format_clock(when, now), "  ", (relative_time(when, now), self._style("muted")))

    def _scheduled(self, order: Order, now: datetime) -> Text:
        when = order.scheduled_at
        if when is None:
            out = Text(self._missing)
        elif (late := -minutes_until(when, now)) > 0 and not order.is_terminal:
            out = Text.assemble(format_clock(when, now), "  ", (f"LATE {format_duration(late * 60)}", self._style("late")))
        else:
            out = self._when(when, now)
        if order.scheduled_after is not None:
            out.append(f"  not before {format_clock(order.scheduled_after, now)}", self._style("muted"))
        return out

    def _risks(self, order: Order) -> RenderableType:
        lines: list[Text] = [Text("Risks", self._style("heading"))]
        risks = order.risks or {}
        if not risks:
            lines.append(Text("no risk data for this order", self._style("muted")))
            return Group(*lines)
        known = {key for key, _, _ in RISK_KEYS}
        rows = [(risk_level(risks, key), letter, words[:1].upper() + words[1:]) for key, letter, words in RISK_KEYS]
        # Risks the console has no words for are still shown, by their key: never dropped, and
        # exactly as the API sent it (escaped, not re-cased).
        rows += [(risk_level(risks, key), "", safe(key)) for key in risks if key not in known]
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True)  # glyph + level word
        grid.add_column(no_wrap=True, style=self._style("muted"))  # the list's badge letter
        grid.add_column(overflow="fold")
        for level, letter, words in rows:
            level_style = self._style(f"risk-{risk_word(level)}")
            grid.add_row(
                Text(f"{risk_glyph(level, ascii=self.ascii)} {risk_word(level):<7}", level_style),
                Text(letter),
                Text(words),
            )
        return Group(lines[0], grid)

    def _timeline(self, order: Order, now: datetime) -> RenderableType:
        heading = Text("Timeline", self._style("heading"))
        if not self._full:
            note = f"loading{self._ellipsis}" if self._loading else "not loaded"
            return Group(heading, Text(note, self._style("muted")))
        events = timeline_oldest_first(order.timeline or [])
        if not events:
            return Group(heading, Text("no events yet", self._style("muted")))
        from console.api.models import UnknownEvent

        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, style=self._style("muted"))
        grid.add_column(overflow="fold")
        day = None
        for event in events:
            when = event.recorded_at
            if when is not None and when.date() != day:
                day = when.date()
                grid.add_row(Text(day.isoformat(), self._style("label")), Text(""))
            sentence = event_sentence(event, ascii=self.ascii)
            style = self._style("muted") if isinstance(event, UnknownEvent) else ""
            grid.add_row(
                Text(when.strftime("%H:%M:%S") if when else self._missing),
                Text(sentence, style),
            )
        return Group(heading, grid)

    def _route(self, order: Order) -> tuple[RenderableType, geo.RouteSummary | None]:
        heading = Text("Route", self._style("heading"))
        if not self._full:
            note = f"loading{self._ellipsis}" if self._loading else "not loaded"
            return Group(heading, Text(note, self._style("muted"))), None
        from console import geo

        summary = geo.summarize_order(order)
        if summary is None:
            note = "no positions recorded"
            unreadable = geo.unreadable_points(order)
            if unreadable:
                note += f", {_unreadable_count(unreadable)}"
            return Group(heading, Text(note, self._style("muted"))), None
        missing = self._missing
        arrow = "->" if self.ascii else "→"
        grid = self._grid()
        span = f"{summary.point_count} point{'s' if summary.point_count != 1 else ''}"
        if summary.started_at is not None and summary.ended_at is not None:
            now = self.now()
            span += (
                f", {format_clock(summary.started_at, now)} {arrow} {format_clock(summary.ended_at, now)}"
                f" ({format_duration(summary.duration_s)})"
            )
        else:
            span += ", no times recorded"
        grid.add_row("Points", Text(span))
        if summary.unreadable_points:
            # Left out of every figure below and of the drawing: say so, or the track looks whole.
            grid.add_row("Skipped", Text(_unreadable_count(summary.unreadable_points)))
        grid.add_row("Distance", Text(format_distance(summary.distance_m)))
        grid.add_row(
            "Speed",
            Text(
                f"average {format_speed(summary.average_speed_mps, missing=missing)},"
                f" top {format_speed(summary.top_speed_mps, missing=missing)}"
            ),
        )
        box = summary.bbox
        grid.add_row(
            "Box",
            Text(f"lat {box.min_lat:.5f} to {box.max_lat:.5f}, lon {box.min_lon:.5f} to {box.max_lon:.5f}"),
        )
        grid.add_row("First", Text(format_coordinate(summary.first.lon, summary.first.lat)))
        grid.add_row("Last", Text(format_coordinate(summary.last.lon, summary.last.lat)))
        grid.add_row("To dest.", self._to_destination(summary))
        return Group(heading, grid), summary

    def _to_destination(self, summary: geo.RouteSummary) -> Text:
        if summary.distance_to_destination_m is None:
            return Text("destination has no position", self._style("muted"))
        out = Text(f"{format_distance(summary.distance_to_destination_m)} from the last position")
        if summary.inside_destination is True:
            out.append(f", inside the {format_distance(summary.destination_radius_m)} radius", self._style("good"))
        elif summary.inside_destination is False:
            out.append(f", outside the {format_distance(summary.destination_radius_m)} radius", self._style("bad"))
        return out
