"""The actions the pipeline can take on an order: each one's request and expected end state.

Every write goes through one pipeline (:mod:`console.bulk.engine`): plan -> intent committed ->
send -> classify -> settle by read-back -> outcome committed. What differs from one action to
the next is small and lives here, in an :class:`Action`:

- ``name``: how the journal and ``--json`` name it;
- its words for people (``verb``, ``done``);
- ``send``: the one request it makes;
- ``judge``: what an order's state says about it. This is the only place that decides what a
  read-back (or a 2xx answer) means: the action took effect, the order ended another way and
  the action can no longer apply, or it did not take effect (so it may be sent again, once the
  settle window has passed).

Beyond those, an action carries its parameters (``params``: the worker, the time, the reason,
recorded by the journal next to the outcome and used to rebuild the very same action when a
later start settles or resumes it, :func:`from_journal`), says when it does not apply to an
order (``refusal``: words for the footer, the bulk review's skip list and headless look-ups),
and reads the order back (``read_back``: the leg itself, except where the documented behaviour
moves the order, see :class:`Reschedule`).

Adding an action is one more ``Action`` value or subclass; the engine, the journal, the headless
commands and the UI need nothing else to send it safely.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, ClassVar

from console.api.sanitize import sanitize
from console.api.timestamps import iso_utc
from console.api.vocab import TERMINAL_STATUSES, OrderRef

if TYPE_CHECKING:
    from console.api.client import OrdersClient

#: The statuses an order works in: where ``enable`` brings a disabled order back to.
WORKING_STATUSES = frozenset({"unplanned", "planned", "assigned", "dispatched", "ongoing"})
#: Most characters of a cancel reason kept (in the journal only, see :class:`Cancel`).
MAX_REASON_CHARS = 200


class Verdict(enum.Enum):
    """What an order's current state says about an action sent to it."""

    #: The order shows the action's end state.
    APPLIED = "applied"
    #: The order ended another way (e.g. cancelled, for complete): the action cannot apply.
    ENDED_OTHERWISE = "ended_otherwise"
    #: The order can still take the action: it has not taken effect (yet).
    NOT_APPLIED = "not_applied"


def _status_of(order_or_status: Any) -> str:
    return order_or_status if isinstance(order_or_status, str) else str(getattr(order_or_status, "status", ""))


@dataclass(frozen=True)
class Action:
    """One kind of write. ``send`` returns the server's answer read as the order (a summary);
    it raises the client's errors, which the engine classifies the same way for every action.

    The base class is a status action: its end state is ``expected_status``, and it applies
    to every order not yet in a terminal status (nor already in ``expected_status``)."""

    name: ClassVar[str] = ""
    verb: ClassVar[str] = ""
    #: The verb while it goes on ("cancelling 3/10" in progress lines).
    doing: ClassVar[str] = ""
    done: ClassVar[str] = ""
    expected_status: ClassVar[str | None] = None
    #: Statuses this action is refused for, beyond the terminal ones, with the reason.
    refused_in: ClassVar[dict[str, str]] = {}

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        raise NotImplementedError

    def params(self) -> dict[str, Any]:
        """The action's parameters as the journal records them (JSON-safe, keys sorted)."""
        return {}

    def params_json(self) -> str | None:
        """:meth:`params` as canonical JSON text, None when there are none."""
        p = self.params()
        return json.dumps(p, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if p else None

    def describe(self) -> str:
        """The action and its parameters in words (sanitized), e.g. ``reassign to w-1``."""
        return self.verb

    def judge(self, order: Any) -> Verdict:
        """The one rule for what ``order`` (an Order or an OrderSummary of the leg) says."""
        status = order.status
        if status == self.expected_status:
            return Verdict.APPLIED
        if status in TERMINAL_STATUSES:
            return Verdict.ENDED_OTHERWISE
        return Verdict.NOT_APPLIED

    def refusal(self, order_or_status: Any) -> str | None:
        """Why this action does not apply to the order (or to an order in that status), in
        words for people; None when it applies."""
        status = _status_of(order_or_status)
        if status in TERMINAL_STATUSES:
            return f"the order is {status}: it cannot be {self.done} any more"
        if self.expected_status is not None and status == self.expected_status:
            return f"the order is already {status}"
        if status in self.refused_in:
            return self.refused_in[status]
        return None

    async def read_back(self, client: "OrdersClient", ref: OrderRef) -> Any:
        """The order's current state, to judge: exactly ``ref``'s leg (``OrdersClient.get_leg``)."""
        return await client.get_leg(ref)


@dataclass(frozen=True)
class Complete(Action):
    name: ClassVar[str] = "complete"
    verb: ClassVar[str] = "complete"
    doing: ClassVar[str] = "completing"
    done: ClassVar[str] = "completed"
    expected_status: ClassVar[str | None] = "completed"

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        # The answer read as the order's summary: a result needs its status and time, and the
        # full order's validation was most of the engine's CPU per order (see complete_summary).
        return await client.complete_summary(ref)


@dataclass(frozen=True)
class Cancel(Action):
    """``POST .../cancel``. ``reason`` (escaped, at most :data:`MAX_REASON_CHARS`) is sent as
    ``{"metadata": {"cancel_reason": reason}}``, the body HyperTrack's integration guide shows:
    the reference ``CancelOrderRequest`` (``{type: object, properties: {}}``) admits it, and the
    sandbox keeps it in the order's metadata. It is recorded in the journal too."""

    reason: str | None = None
    name: ClassVar[str] = "cancel"
    verb: ClassVar[str] = "cancel"
    doing: ClassVar[str] = "cancelling"
    done: ClassVar[str] = "cancelled"
    expected_status: ClassVar[str | None] = "cancelled"

    def __post_init__(self) -> None:
        if self.reason is not None:
            reason = sanitize(self.reason.strip())[:MAX_REASON_CHARS]
            object.__setattr__(self, "reason", reason or None)

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        return await client.cancel_summary(ref, self.reason)

    def params(self) -> dict[str, Any]:
        return {"reason": self.reason} if self.reason else {}

    def describe(self) -> str:
        return f"cancel ({self.reason})" if self.reason else "cancel"


@dataclass(frozen=True)
class Disable(Action):
    name: ClassVar[str] = "disable"
    verb: ClassVar[str] = "disable"
    doing: ClassVar[str] = "disabling"
    done: ClassVar[str] = "disabled"
    expected_status: ClassVar[str | None] = "disabled"
    refused_in: ClassVar[dict[str, str]] = {
        "summarizing": "the order is summarizing (finished): it cannot be disabled",
    }

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        return await client.disable_summary(ref)


@dataclass(frozen=True)
class Enable(Action):
    """Brings a disabled order back: applied when the order is in any working status (the
    documented answer shows ``ongoing``; the state it returns to is the server's)."""

    name: ClassVar[str] = "enable"
    verb: ClassVar[str] = "enable"
    doing: ClassVar[str] = "enabling"
    done: ClassVar[str] = "enabled"

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        return await client.enable_summary(ref)

    def judge(self, order: Any) -> Verdict:
        status = order.status
        if status == "disabled":
            return Verdict.NOT_APPLIED
        if status in WORKING_STATUSES:
            return Verdict.APPLIED
        return Verdict.ENDED_OTHERWISE

    def refusal(self, order_or_status: Any) -> str | None:
        status = _status_of(order_or_status)
        if status in TERMINAL_STATUSES:
            return f"the order is {status}: it cannot be enabled any more"
        if status != "disabled":
            return f"the order is {status}, not disabled: there is nothing to enable"
        return None


class _ToTarget:
    """An action that moves an open order to a target (a worker, a time): applied when the order,
    not finished, shows the target (``_shows_target``); a finished order ended otherwise."""

    def _shows_target(self, order: Any) -> bool:
        raise NotImplementedError

    def judge(self, order: Any) -> Verdict:
        if order.status in TERMINAL_STATUSES:
            return Verdict.ENDED_OTHERWISE
        return Verdict.APPLIED if self._shows_target(order) else Verdict.NOT_APPLIED


@dataclass(frozen=True)
class Reassign(_ToTarget, Action):
    """``POST .../reassign`` to ``worker`` (and ``ops_group``). Applied when the order shows
    that worker and is not finished.

    The ops group is not part of the verdict: ``ops_group_handle`` says which of the worker's
    ops groups is meant (the API needs it when the worker belongs to more than one), and nothing
    says the order then shows that group (the sandbox keeps the order's own). Requiring it
    would judge a reassign that took as not applied, and send it again."""

    worker: str
    ops_group: str | None = None
    name: ClassVar[str] = "reassign"
    verb: ClassVar[str] = "reassign"
    doing: ClassVar[str] = "reassigning"
    done: ClassVar[str] = "reassigned"
    refused_in: ClassVar[dict[str, str]] = {
        "summarizing": "the order is summarizing (finished): it cannot be reassigned",
    }

    def __post_init__(self) -> None:
        if not isinstance(self.worker, str) or not self.worker.strip():
            raise ValueError("reassign needs a worker handle")

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        return await client.reassign_summary(ref, self.worker, self.ops_group)

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {"worker": self.worker}
        if self.ops_group is not None:
            p["ops_group"] = self.ops_group
        return p

    def describe(self) -> str:
        group = f" (ops group {sanitize(self.ops_group)})" if self.ops_group else ""
        return f"reassign to {sanitize(self.worker)}{group}"

    def _shows_target(self, order: Any) -> bool:
        return getattr(order, "worker", None) == self.worker

    def refusal(self, order_or_status: Any) -> str | None:
        reason = super().refusal(order_or_status)
        if reason is None and not isinstance(order_or_status, str) and self._shows_target(order_or_status):
            return f"the order is already assigned to {sanitize(self.worker)}"
        return reason


def _to_utc_second(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a reschedule time must carry its zone")
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _same_time(a: Any, b: datetime | None) -> bool:
    if b is None:
        return True
    if isinstance(a, str):
        try:
            a = datetime.fromisoformat(a.replace("Z", "+00:00"))
        except ValueError:
            return False
    if not isinstance(a, datetime) or a.tzinfo is None:
        return False
    # The server may keep fractions of a second or drop them: the same second is the same time.
    return abs((a - b).total_seconds()) < 1.0


@dataclass(frozen=True)
class Reschedule(_ToTarget, Action):
    """``POST .../reschedule`` to ``at`` (and ``after``), kept to the second in UTC.

    Applied when the order shows the new time and is not finished. For an order that had been
    dispatched the documented behaviour is to cancel it and re-create it, ``unplanned``, with
    the new times: the answer shows that order, and a read-back of the old leg shows it
    cancelled, so :meth:`read_back` then looks for the re-created attempt of the same leg."""

    at: datetime
    after: datetime | None = None
    name: ClassVar[str] = "reschedule"
    verb: ClassVar[str] = "reschedule"
    doing: ClassVar[str] = "rescheduling"
    done: ClassVar[str] = "rescheduled"
    refused_in: ClassVar[dict[str, str]] = {
        "summarizing": "the order is summarizing (finished): it cannot be rescheduled",
    }

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _to_utc_second(self.at))
        if self.after is not None:
            object.__setattr__(self, "after", _to_utc_second(self.after))
            if self.after > self.at:
                raise ValueError("the earliest start (after) must not be later than the new time")

    async def send(self, client: "OrdersClient", ref: OrderRef) -> Any:
        return await client.reschedule_summary(ref, self.at, self.after)

    def params(self) -> dict[str, Any]:
        p: dict[str, Any] = {"at": iso_utc(self.at)}
        if self.after is not None:
            p["after"] = iso_utc(self.after)
        return p

    def describe(self) -> str:
        after = f" (not before {iso_utc(self.after)})" if self.after is not None else ""
        return f"reschedule to {iso_utc(self.at)}{after}"

    def _shows_target(self, order: Any) -> bool:
        return _same_time(getattr(order, "scheduled_at", None), self.at) and (
            self.after is None or _same_time(getattr(order, "scheduled_after", None), self.after)
        )

    async def read_back(self, client: "OrdersClient", ref: OrderRef) -> Any:
        order = await client.get_leg(ref)
        if order.status != "cancelled":
            return order
        # Re-created: the same leg under a later attempt, showing the new time.
        for leg in await client.legs(ref.order_handle):
            other = leg.ref
            if (other.type == ref.type and other.type_index == ref.type_index
                    and (ref.fulfillment_attempt is None or (other.fulfillment_attempt or 0) > ref.fulfillment_attempt)
                    and self.judge(leg) is Verdict.APPLIED):
                return leg
        return order


COMPLETE = Complete()

#: The action kinds by name (the journal's ``action`` column).
KINDS: dict[str, type[Action]] = {kind.name: kind for kind in (Complete, Cancel, Disable, Enable, Reassign, Reschedule)}
#: The actions without parameters, by name.
ACTIONS: dict[str, Action] = {"complete": COMPLETE, "cancel": Cancel(), "disable": Disable(), "enable": Enable()}


def from_journal(name: str | None, params_json: str | None) -> Action:
    """The action a journal op was recorded with (name and parameters), rebuilt exactly.

    Raises ValueError for a name or parameters this version does not know: the caller must then
    not send anything for that op (it may still be read back and shown)."""
    kind = KINDS.get(name or "complete")
    if kind is None:
        raise ValueError(f"unknown action {sanitize(str(name))!r} in the journal")
    try:
        raw = json.loads(params_json) if params_json else {}
    except ValueError:
        raise ValueError("unreadable action parameters in the journal") from None
    if not isinstance(raw, dict):
        raise ValueError("unreadable action parameters in the journal")
    try:
        if kind is Cancel:
            return Cancel(reason=raw.get("reason"))
        if kind is Reassign:
            return Reassign(worker=raw["worker"], ops_group=raw.get("ops_group"))
        if kind is Reschedule:
            after = raw.get("after")
            return Reschedule(at=datetime.fromisoformat(raw["at"].replace("Z", "+00:00")),
                              after=datetime.fromisoformat(after.replace("Z", "+00:00")) if after else None)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValueError(f"unreadable {kind.name} parameters in the journal") from None
    return kind()


_WORDS = re.compile(r"\b(completed|completing|complete|Completed|Completing|Complete)\b")


def in_words(text: str, action: Action) -> str:
    """``text`` written for complete, told for ``action``: completed -> its ``done``,
    completing -> its ``doing``, complete -> its ``verb`` (capitals kept). The engine's result
    names say ``completed`` for "the action's end state" whatever the action; the screen and
    the headless commands tell each action in its own words."""
    if action.name == "complete":
        return text

    def word(match: re.Match[str]) -> str:
        found = match.group(1)
        lower = found.lower()
        new = action.done if lower == "completed" else action.doing if lower == "completing" else action.verb
        return new[:1].upper() + new[1:] if found[:1].isupper() else new

    return _WORDS.sub(word, text)
