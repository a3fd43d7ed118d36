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

Adding an action (cancel, reassign, ...) is one more ``Action`` value; the engine, the journal,
the headless commands and the UI need nothing else to send it safely.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from console.api.vocab import TERMINAL_STATUSES, OrderRef

if TYPE_CHECKING:
    from console.api.client import OrdersClient


class Verdict(enum.Enum):
    """What an order's current state says about an action sent to it."""

    #: The order shows the action's end state.
    APPLIED = "applied"
    #: The order ended another way (e.g. cancelled, for complete): the action cannot apply.
    ENDED_OTHERWISE = "ended_otherwise"
    #: The order can still take the action: it has not taken effect (yet).
    NOT_APPLIED = "not_applied"


@dataclass(frozen=True)
class Action:
    """One kind of write. ``send`` returns the server's answer read as the order (a summary);
    it raises the client's errors, which the engine classifies the same way for every action."""

    name: str
    verb: str
    done: str
    expected_status: str
    send: Callable[["OrdersClient", OrderRef], Awaitable[Any]]

    def judge(self, order: Any) -> Verdict:
        """The one rule for what ``order`` (an Order or an OrderSummary of the leg) says."""
        status = order.status
        if status == self.expected_status:
            return Verdict.APPLIED
        if status in TERMINAL_STATUSES:
            return Verdict.ENDED_OTHERWISE
        return Verdict.NOT_APPLIED


async def _send_complete(client: "OrdersClient", ref: OrderRef) -> Any:
    # The answer read as the order's summary: a result needs its status and time, and the full
    # order's validation was most of the engine's CPU per order (see OrdersClient.complete_summary).
    return await client.complete_summary(ref)


COMPLETE = Action(name="complete", verb="complete", done="completed", expected_status="completed",
                  send=_send_complete)

ACTIONS = {action.name: action for action in (COMPLETE,)}
