"""The order write actions: which statuses each applies to, what it leaves, and its body.

HyperTrack documents six actions on one order (``POST /orders/{order_handle}/<action>``):

============  =====================================  ==========================================
action        applies to                             leaves
============  =====================================  ==========================================
complete      every open status                      ``completed``
cancel        every open status                      ``cancelled``
disable       every open status but disabled         ``disabled`` (out of its route's ETAs)
enable        disabled                               the status it was disabled from
                                                     (``dispatched`` comes back ``assigned``)
reassign      every open status                      the new worker: ``assigned`` (``dispatched``
                                                     when that worker is free); an ongoing order
                                                     starts over; a disabled one stays disabled
reschedule    unplanned, planned, assigned,          the same attempt ``unplanned`` with the new
              disabled                               times, off its route
              dispatched, ongoing                    this attempt ``cancelled`` and marked
                                                     rescheduled; the next attempt is created
                                                     ``unplanned`` with the new times (the answer)
============  =====================================  ==========================================

An action on a completed or cancelled order is a 409 saying so (:class:`ConflictState`); on an
open order it does not apply to, a 409 naming the status and the statuses it applies to
(:class:`NotApplicable`). HyperTrack declares neither; both are sandbox choices (README).

Bodies are read as the reference schemas declare them: the complete, cancel, disable and enable
requests are ``{type: object, properties: {}}``, which admits any object, so their bodies are
accepted and ignored, except a cancel's ``metadata`` object, which is merged into the order's
metadata (HyperTrack's integration guide sends ``{"metadata": {"cancel_reason": ...}}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from console.sandbox.faults import ORDER_ACTIONS
from console.sandbox.fleet import ConflictState
from console.sandbox.order import OPEN_STATUSES, TERMINAL_STATUSES, SimOrder

if TYPE_CHECKING:
    from console.sandbox.fleet import Fleet

#: The times a reschedule accepts: [EARLIEST, LATEST).
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)

WRITE_ACTIONS = ORDER_ACTIONS  # the actions the fault knobs can be aimed at are all of them

APPLIES_TO: dict[str, frozenset[str]] = {
    "complete": OPEN_STATUSES,
    "cancel": OPEN_STATUSES,
    "disable": OPEN_STATUSES - {"disabled"},
    "enable": frozenset({"disabled"}),
    "reassign": OPEN_STATUSES,
    "reschedule": OPEN_STATUSES,
}

#: The status order 409 bodies list statuses in (the lifecycle's).
STATUS_ORDER = ("unplanned", "planned", "assigned", "dispatched", "ongoing", "disabled")


class NotApplicable(Exception):
    """The action does not apply to the order's (open) status."""

    def __init__(self, order: SimOrder, action: str) -> None:
        self.order = order
        self.action = action
        super().__init__(f"{action} on {order.status}")

    def detail(self) -> dict[str, Any]:
        return {"status": self.order.status, "action": self.action,
                "applies_to": [s for s in STATUS_ORDER if s in APPLIES_TO[self.action]]}

    def message(self) -> str:
        return f"Order {self.order.handle} is {self.order.status}: {self.action} does not apply"


class BadBody(Exception):
    """A 422: ``errors`` maps field names to marshmallow-style messages (location ``json``)."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__(repr(errors))


@dataclass(frozen=True)
class Params:
    """What an action's body asks for, once read."""

    metadata: dict[str, Any] | None = None  # cancel
    worker_handle: str | None = None  # reassign
    ops_group_handle: str | None = None  # reassign
    order_type: str | None = None  # reassign: the leg, when the query does not name it
    type_index: int | None = None  # reassign: likewise
    scheduled_at: float | None = None  # reschedule
    scheduled_after: float | None = None  # reschedule


def read_body(action: str, body: Any) -> Params:
    """The parameters of ``action`` from its decoded JSON body (None: no body).

    Every action's request schema is ``type: object``: a body that is JSON but not an object
    is a 422 (no body at all is accepted: no requestBody is marked required)."""
    if body is not None and not isinstance(body, dict):
        raise BadBody({"_schema": ["Invalid input type."]})
    if action in ("complete", "disable", "enable"):
        return Params()
    if action == "cancel":
        md = body.get("metadata") if body is not None else None
        return Params(metadata=md if isinstance(md, dict) else None)
    if body is None:
        body = {}
    errors: dict[str, list[str]] = {}
    if action == "reassign":
        worker = _string(body, "worker_handle", errors)
        driver = _string(body, "driver_handle", errors)
        group = _string(body, "ops_group_handle", errors)
        order_type = _string(body, "order_type", errors)
        if order_type is not None and order_type not in ("pick", "drop"):
            errors["order_type"] = ["Must be one of: pick, drop."]
        type_index = body.get("type_index")
        if isinstance(type_index, float) and type_index.is_integer():
            type_index = int(type_index)  # JSON's 3.0 is the integer 3 (JSON Schema agrees)
        if type_index is not None and (type(type_index) is not int or type_index < 0):
            errors["type_index"] = ["Not a valid integer."] if type(type_index) is not int else [
                "Must be greater than or equal to 0."]
            type_index = None
        if worker is None and driver is None and not {"worker_handle", "driver_handle"} & errors.keys():
            errors["worker_handle"] = ["Missing data for required field."]
        if errors:
            raise BadBody(errors)
        return Params(worker_handle=worker or driver, ops_group_handle=group, order_type=order_type,
                      type_index=type_index)
    # reschedule
    at = _time(body, "scheduled_at", errors, required=True)
    after = _time(body, "scheduled_after", errors, required=False)
    if at is not None and after is not None and after > at:
        errors["scheduled_after"] = ["Must not be later than scheduled_at."]
    if errors:
        raise BadBody(errors)
    return Params(scheduled_at=at, scheduled_after=after)


def _string(body: dict[str, Any], name: str, errors: dict[str, list[str]]) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."]
        return None
    return value or None


def _time(body: dict[str, Any], name: str, errors: dict[str, list[str]], *, required: bool) -> float | None:
    """An ISO 8601 time (``Z`` or an offset; none is read as UTC), as UNIX seconds."""
    if name not in body or (body[name] is None and not required):
        if required:
            errors[name] = ["Missing data for required field."]
        return None
    value = body[name]
    if not isinstance(value, str):
        errors[name] = ["Not a valid string."] if value is not None else ["Field may not be null."]
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        errors[name] = ["Not a valid datetime."]
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    # Any year ISO 8601 can write parses; the sandbox keeps to a span it can answer with.
    if not EARLIEST <= when < LATEST:
        errors[name] = [f"Must be between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} (UTC)."]
        return None
    return when.timestamp()


def apply(fleet: "Fleet", order: SimOrder, action: str, params: Params, now: float) -> SimOrder:
    """Apply ``action`` to ``order``; the order that carries the result (a reschedule of a
    dispatched order answers with its new attempt).

    Raises :class:`ConflictState` (completed or cancelled), :class:`NotApplicable` (another
    status) or :class:`BadBody` (a worker or ops group the fleet does not have), each before
    anything changes.
    """
    if order.status in TERMINAL_STATUSES:
        raise ConflictState(order)
    if order.status not in APPLIES_TO[action]:
        raise NotApplicable(order, action)
    if action == "complete":
        fleet.complete(order, now)
    elif action == "cancel":
        if params.metadata:
            order.metadata = {**order.metadata, **params.metadata}
            order.forget_search()
        fleet.cancel(order, now)
    elif action == "disable":
        fleet.disable(order, now)
    elif action == "enable":
        fleet.enable(order, now)
    elif action == "reassign":
        worker = fleet.worker(params.worker_handle)
        if worker is None:
            raise BadBody({"worker_handle": [f"Unknown worker {params.worker_handle}."]})
        group = params.ops_group_handle
        if group is not None and group != worker.area.ops_group_handle:
            raise BadBody({"ops_group_handle": [f"Worker {worker.handle} is not in ops group {group}."]})
        fleet.reassign(order, worker, now)
    else:
        assert params.scheduled_at is not None
        return fleet.reschedule(order, now, params.scheduled_at, params.scheduled_after)
    return order
