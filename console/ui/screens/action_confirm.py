"""The confirmation before cancel, disable, enable, reassign or reschedule.

One screen type, driven by an :class:`ActionDescription` (plain data: the order's identity,
status and what changes). It names the order (handle, and the leg when the order has one), says
what the action does, and for a cancel that it cannot be undone and takes an optional reason.
Enter confirms, Esc goes back. The result is an :class:`ActionConfirmed` (the description and
the reason) or None. Nothing here sends anything: the caller runs the action.

Every value from the API goes in as a :class:`~rich.text.Text` made by
:mod:`console.ui.text` (a handle like ``[/x]`` is shown, never parsed as markup).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from console.api.sanitize import has_unsafe_characters
from console.api.vocab import OrderRef
from console.ui.stylesheets import screen_css
from console.ui.text import safe

if TYPE_CHECKING:
    from console.session.table import OrderRow

#: The longest cancel reason the input takes (it is sent as order metadata: kept short).
MAX_REASON_LENGTH = 200


class OrderAction(enum.Enum):
    CANCEL = "cancel"
    DISABLE = "disable"
    ENABLE = "enable"
    REASSIGN = "reassign"
    RESCHEDULE = "reschedule"


@dataclass(frozen=True)
class ActionDescription:
    """What a confirmation shows: the action, the order, and what changes.

    ``worker`` and ``scheduled_at`` are the order's current values; ``to_worker`` (reassign) and
    ``new_time`` (reschedule) the requested ones. Times are shown in ``zone`` (the supervisor's;
    UTC when None) with the zone's name.
    """

    action: OrderAction
    ref: OrderRef
    status: str | None = None
    worker: str | None = None
    scheduled_at: datetime | None = None
    to_worker: str | None = None
    new_time: datetime | None = None
    zone: tzinfo | None = None
    #: A reschedule's earliest start (``scheduled_after``; None: none is sent).
    not_before: datetime | None = None
    #: The order's ops group, and the one a reassign sends (None: none is sent).
    ops_group: str | None = None
    to_ops_group: str | None = None

    def __post_init__(self) -> None:
        if self.action is OrderAction.REASSIGN and not self.to_worker:
            raise ValueError("a reassign needs the new worker")
        if self.action is OrderAction.RESCHEDULE and self.new_time is None:
            raise ValueError("a reschedule needs the new time")

    @classmethod
    def for_row(cls, action: OrderAction, row: "OrderRow", **changes) -> "ActionDescription":
        """The description of ``action`` on the list's ``row`` (``to_worker``, ``new_time``,
        ``zone`` as keywords)."""
        return cls(action, row.ref, status=row.status, worker=row.worker,
                   scheduled_at=row.scheduled_at, ops_group=row.ops_group, **changes)


@dataclass(frozen=True)
class ActionConfirmed:
    """The supervisor confirmed ``description``; ``reason`` is the cancel reason typed (trimmed,
    at most :data:`MAX_REASON_LENGTH` characters), or None."""

    description: ActionDescription
    reason: str | None = None


def leg_words(ref: OrderRef) -> str | None:
    """``drop #0, attempt 1``, or None for an order without legs."""
    leg = []
    if ref.type is not None:
        leg.append(f"{safe(ref.type)} #{ref.type_index if ref.type_index is not None else 0}")
    if ref.fulfillment_attempt is not None:
        leg.append(f"attempt {ref.fulfillment_attempt}")
    return ", ".join(leg) or None


def zone_label(dt: datetime) -> str:
    """The zone of an aware ``dt`` as people read it: ``CET (UTC+01:00)``, ``UTC``."""
    name = dt.tzname() or ""
    offset = dt.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else ""
    if offset in ("UTC+00:00", "UTC-00:00"):
        offset = "UTC"
    if not name or name == offset or name.startswith(("UTC", "+", "-")):
        return offset or name
    return f"{name} ({offset})"


def format_when(dt: datetime | None, zone: tzinfo | None, *, missing: str = "not scheduled") -> str:
    """``Sun 2026-11-29 10:30 PST (UTC-08:00)``: the day is named, so "today" is never in doubt."""
    if dt is None:
        return missing
    local = dt.astimezone(zone or timezone.utc)
    return f"{local.strftime('%a %Y-%m-%d %H:%M')} {zone_label(local)}"


_VERB = {
    OrderAction.CANCEL: "Cancel", OrderAction.DISABLE: "Disable", OrderAction.ENABLE: "Enable",
    OrderAction.REASSIGN: "Reassign", OrderAction.RESCHEDULE: "Reschedule",
}


def _effect(description: ActionDescription) -> str:
    action = description.action
    if action is OrderAction.CANCEL:
        return "This cannot be undone: the order ends as cancelled, not as done."
    if action is OrderAction.DISABLE:
        return "The order leaves its route's ETA computation until it is enabled again."
    if action is OrderAction.ENABLE:
        return "The order goes back into its route and its ETA is computed again."
    if action is OrderAction.REASSIGN:
        return "The order moves to the new worker (into their route, if they have one)."
    if description.status in ("dispatched", "ongoing"):
        return ("This order is under way: HyperTrack cancels it and creates it again, "
                "unplanned, at the new time.")
    return "The order is taken off its route and its schedule is changed."


class ActionConfirmScreen(ModalScreen["ActionConfirmed | None"]):
    """Dismissed with :class:`ActionConfirmed` (Enter) or None (Esc)."""

    CSS_PATH = screen_css("actions.tcss")  # read when first shown (console/ui/stylesheets.py)
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "confirm", "Confirm", id="action_confirm.yes"),
        Binding("escape", "back", "Back", id="action_confirm.no"),
    ]

    def __init__(self, description: ActionDescription, *, ascii: bool = False) -> None:
        super().__init__()
        self.description = description
        self.ascii = ascii
        self.add_class(f"-{description.action.value}")

    def compose(self) -> ComposeResult:
        d = self.description
        arrow = " -> " if self.ascii else " → "
        verb = _VERB[d.action]
        question = Text.assemble(f"{verb} order ", (safe(d.ref.order_handle), "bold"), "?")
        facts = Text()
        leg = leg_words(d.ref)
        if leg:
            facts.append(f"Leg: {leg}\n")
        facts.append(f"Status: {safe(d.status) or '-'}\n")
        if d.action is OrderAction.REASSIGN:
            facts.append("Worker: ")
            facts.append(safe(d.worker) or "none")
            facts.append(arrow)
            facts.append(safe(d.to_worker), "bold")
            if d.to_ops_group:
                facts.append("\nOps group: ")
                facts.append(safe(d.ops_group) or "-")
                facts.append(arrow)
                facts.append(safe(d.to_ops_group), "bold")
                facts.append(" (the worker's, sent with the reassign)")
        elif d.action is OrderAction.RESCHEDULE:
            facts.append("Scheduled: ")
            facts.append(format_when(d.scheduled_at, d.zone))
            facts.append(f"\n{'->' if self.ascii else '→'}  ")
            facts.append(format_when(d.new_time, d.zone), "bold")
            if d.not_before is not None:
                facts.append("\nNot before: ")
                facts.append(format_when(d.not_before, d.zone), "bold")
        else:
            facts.append(f"Worker: {safe(d.worker) or '-'}")
        with Vertical(id="action-dialog"):
            yield Static(question, id="action-question")
            yield Static(facts, id="action-facts")
            yield Static(Text(_effect(d)), id="action-effect")
            if d.action is OrderAction.CANCEL:
                yield Static(Text(f"Reason (optional, up to {MAX_REASON_LENGTH} characters):"),
                             id="action-reason-label")
                yield Input(placeholder="why it is cancelled", max_length=MAX_REASON_LENGTH,
                            id="action-reason")
            yield Static(Text(""), id="action-error")
            yield Static(
                Text.assemble(("Enter", "bold"), f" {verb.lower()}    ", ("Esc", "bold"), " back, nothing sent"),
                id="action-keys",
            )

    def on_mount(self) -> None:
        if self.description.action is OrderAction.CANCEL:
            self.query_one("#action-reason", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_confirm()

    def action_confirm(self) -> None:
        reason: str | None = None
        if self.description.action is OrderAction.CANCEL:
            reason = self.query_one("#action-reason", Input).value.strip() or None
            if reason is not None and has_unsafe_characters(reason):
                self.query_one("#action-error", Static).update(
                    Text("The reason holds control or invisible characters: type it again."))
                return
        self.dismiss(ActionConfirmed(self.description, reason))

    def action_back(self) -> None:
        self.dismiss(None)
