"""The reschedule time input: ``+30m``, ``14:30`` (today, in the supervisor's zone) or ISO 8601.

As the supervisor types, the screen previews the time the text names, in the supervisor's zone
and in the order's zone, with how far ahead it is; text that cannot be read or names a past time
is refused with the parser's message (the same words ``reschedule --at`` prints). Enter takes the
time (read again against the clock at that moment, so a dialog left open never sends a time that
has since passed), Esc goes back.

A second, optional input takes the earliest start ("not before", sent as ``scheduled_after``):
the same forms and parser, and it must be before the new time. Tab reaches it; Enter in either
input takes both. After a dismissal with a time, :attr:`RescheduleScreen.not_before` holds it
(None when left empty).

Dismissed with the new time (an aware datetime) or None. The clock (``now``) and the parser are
injected: tests and snapshots see a fixed time, and the parser is
:func:`console.timeparse.parse_when` (the one ``reschedule --at`` uses) unless one is given.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.timeparse import parse_when
from console.ui.screens.action_confirm import format_when, zone_label
from console.ui.stylesheets import screen_css
from console.ui.text import format_duration, safe

#: ``parse(text, *, now, tz)``: an aware time strictly after ``now``, or ValueError whose message
#: is meant for the person who typed ``text``.
Parse = Callable[..., datetime]

EXAMPLES = "+30m, 14:30 or 2026-12-08T14:30"
#: Longer input is no time anyone means (an ISO time with an offset and fractions is ~32).
MAX_INPUT = 64
#: Seconds between two readings of the preview against the clock.
PREVIEW_EVERY = 15.0


def order_zone(name: str | None) -> tuple[tzinfo | None, str]:
    """The order's ``timezone`` field as a zone, and words saying where it comes from.

    HyperTrack does not document the field's format; an IANA name (``America/New_York``) is
    read, anything else is shown as unknown rather than guessed.
    """
    if not name:
        return None, "the order gives no time zone"
    try:
        return ZoneInfo(name), safe(name, limit=40)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return None, f"the order's zone {safe(name, limit=40)!r} is not one this console knows"


class RescheduleScreen(ModalScreen["datetime | None"]):
    """Dismissed with the new time (aware) or None (Esc)."""

    CSS_PATH = screen_css("actions.tcss")  # read when first shown (console/ui/stylesheets.py)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="reschedule.back"),
    ]

    def __init__(
        self,
        order_handle: str,
        *,
        scheduled_at: datetime | None,
        now: Callable[[], datetime],
        local_zone: tzinfo,
        order_zone_name: str | None = None,
        parse: Parse | None = None,
        ascii: bool = False,
        orders: int | None = None,
    ) -> None:
        """``orders``: a count of marked orders, all to get the one time (the title names the
        count instead of ``order_handle``)."""
        super().__init__()
        self.order_handle = order_handle
        self.orders = orders
        self.scheduled_at = scheduled_at
        self.now = now
        self.local_zone = local_zone
        self.order_zone, self.order_zone_words = order_zone(order_zone_name)
        self.parse = parse or parse_when
        self.ascii = ascii
        #: The "not before" time taken with the new time (None: none typed).
        self.not_before: datetime | None = None

    def compose(self) -> ComposeResult:
        now = self.now().astimezone(self.local_zone)
        if self.orders is not None:
            noun = "order" if self.orders == 1 else "orders"
            title = Text.assemble("Reschedule ", (f"{self.orders:,}", "bold"), f" marked {noun} to one time")
        else:
            title = Text.assemble("Reschedule order ", (safe(self.order_handle), "bold"))
        facts = Text(f"Scheduled now: {format_when(self.scheduled_at, self.local_zone)}\n")
        facts.append(f"Your zone: {zone_label(now)}; it is {now:%H:%M} there.\n")
        if self.order_zone is not None:
            facts.append(f"Order's zone: {self.order_zone_words}.")
        else:
            facts.append(f"Order's zone: unknown ({self.order_zone_words}).")
        with Vertical(id="reschedule-dialog"):
            yield Static(title, id="reschedule-title")
            yield Static(facts, id="reschedule-facts")
            yield Static(Text("New time: +30m, 14:30 (today, your zone) or 2026-12-08T14:30"),
                         id="reschedule-label")
            yield Input(placeholder=EXAMPLES, max_length=MAX_INPUT, id="reschedule-input")
            yield Static(self._preview(None, None), id="reschedule-preview")
            yield Static(Text("Not before (optional, same forms, before the new time; Tab):"),
                         id="reschedule-after-label")
            yield Input(placeholder="empty: no earliest start sent", max_length=MAX_INPUT, id="reschedule-after")
            yield Static(Text(""), id="reschedule-error")
            yield Static(
                Text.assemble(("Enter", "bold"), " use this time    ", ("Esc", "bold"), " back, nothing sent"),
                id="reschedule-keys",
            )

    def on_mount(self) -> None:
        self.query_one("#reschedule-input", Input).focus()
        # "in 15m" and "already passed" follow the clock while the dialog stays open.
        self.set_interval(PREVIEW_EVERY, self._show_preview)

    # ------------------------------------------------------------------ reading

    def _read(self, typed: str) -> tuple[datetime | None, str | None]:
        """The time ``typed`` names and no error, or None and the parser's message."""
        if not typed.strip():
            return None, None
        try:
            return self.parse(typed, now=self.now(), tz=self.local_zone), None
        except ValueError as exc:
            return None, safe(str(exc))

    def _preview(self, moment: datetime | None, error: str | None) -> Text:
        """What the preview line shows for a reading of the input (:meth:`_read`)."""
        if error is not None:
            return Text(error, "bold")
        if moment is None:
            return Text("Type a time: the new time shows here in your zone and the order's.")
        arrow = "->" if self.ascii else "→"
        ahead = format_duration((moment - self.now()).total_seconds())
        lines = Text(f"{arrow} in {ahead}\n")
        lines.append("  Your zone:  ")
        lines.append(format_when(moment, self.local_zone), "bold")
        lines.append("\n  Order zone: ")
        if self.order_zone is not None:
            lines.append(format_when(moment, self.order_zone), "bold")
        else:
            lines.append("unknown (see above)")
        return lines

    def on_input_changed(self, event: Input.Changed) -> None:
        event.stop()
        self.query_one("#reschedule-error", Static).update(Text(""))
        if event.input.id == "reschedule-input":
            self._show_preview()

    def _show_preview(self) -> tuple[datetime | None, str | None]:
        """Read the new time once, show it, and return the reading."""
        moment, error = self._read(self.query_one("#reschedule-input", Input).value)
        preview = self.query_one("#reschedule-preview", Static)
        preview.set_class(error is not None, "-refused")
        preview.update(self._preview(moment, error))
        return moment, error

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        # Read again (the clock moved on since the last keystroke: "in 15m" may be past), and
        # decide on what the preview now shows.
        moment, error = self._show_preview()
        say = self.query_one("#reschedule-error", Static).update
        if moment is None:
            say(Text("Not rescheduled: the time above is refused." if error is not None
                     else f"Type a time first: {EXAMPLES}."))
            self.query_one("#reschedule-input", Input).focus()
            return
        typed_after = self.query_one("#reschedule-after", Input).value
        after, after_error = self._read(typed_after)
        if after_error is not None:
            say(Text(f"Not before: {after_error}"))
            return
        if after is not None and after >= moment:
            say(Text(f"Not before must be before the new time ({format_when(moment, self.local_zone)})."))
            return
        self.not_before = after
        self.dismiss(moment)

    def action_back(self) -> None:
        self.dismiss(None)
