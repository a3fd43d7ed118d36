"""The workers a supervisor can pick (reassign), from the orders the console has loaded.

The console has no worker list of its own: ``GET /orders/{h}/candidate_workers`` needs bearer
auth, which the console does not have (it signs with the account id and secret key). So the
choices are the workers named on the loaded orders, each with:

- ``name``: the ``worker_name`` seen on one of their orders (the first non-empty one), or None;
- ``open_orders``: how many of the loaded orders assigned to them are open
  (:data:`~console.api.vocab.OPEN_STATUSES`);
- ``presence``: online or offline as HyperTrack's ``is_offline`` risk on their open orders says
  ("the device stopped sending locations"): ``green`` on every open order that carries the label
  is online; ``yellow`` or ``red`` on any of them is offline (a supervisor choosing a worker is
  better told of a stale device once too often than never). No label on any open order (or no
  open order at all) is :attr:`Presence.UNKNOWN`: nothing is guessed from anything else.
- ``ops_groups``: the ops groups of the loaded orders assigned to them (sorted): what the
  console knows of where they work, for :func:`ops_group_to_send`.

Rows are read duck-typed (``worker``, ``worker_name``, ``status``, and either ``levels``, the
badge levels of :class:`console.session.table.OrderRow`, or ``risks``, the raw labels of
:class:`console.api.summaries.OrderSummary`), so this module needs neither Textual nor the UI.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from console.api.errors import InvalidHandle
from console.api.handles import validate_handle
from console.api.sanitize import sanitize
from console.api.vocab import OPEN_STATUSES, RISK_KEY_NAMES, RiskLevel

_OFFLINE_INDEX = RISK_KEY_NAMES.index("is_offline")
_OPEN = frozenset(OPEN_STATUSES)


class Presence(enum.Enum):
    ONLINE = "online"
    OFFLINE = "offline"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class WorkerChoice:
    """One worker the picker offers. ``handle`` is exact (it is what reassign sends); show it
    through the UI's safe-text helpers."""

    handle: str
    name: str | None
    open_orders: int
    presence: Presence
    ops_groups: tuple[str, ...] = ()

    def matches(self, needle: str) -> bool:
        """True when ``needle`` (any case) is part of the handle or the name; "" matches all."""
        if not needle:
            return True
        needle = needle.casefold()
        return needle in self.handle.casefold() or (self.name is not None and needle in self.name.casefold())


def _offline_level(row: Any) -> RiskLevel:
    levels = getattr(row, "levels", None)
    if levels is not None:
        return levels[_OFFLINE_INDEX]
    risks = getattr(row, "risks", None)
    return RiskLevel.parse(risks.get("is_offline")) if isinstance(risks, dict) else RiskLevel.UNKNOWN


def worker_choices(rows: Iterable[Any]) -> list[WorkerChoice]:
    """Every worker named on ``rows``, by handle (case-insensitively, then exactly)."""
    names: dict[str, str | None] = {}
    counts: dict[str, int] = {}
    worst: dict[str, RiskLevel] = {}
    groups: dict[str, set[str]] = {}
    for row in rows:
        handle = row.worker
        if not handle:
            continue
        group = getattr(row, "ops_group", None)
        if group:
            groups.setdefault(handle, set()).add(group)
        if names.get(handle) is None:
            names[handle] = row.worker_name or None
        if row.status not in _OPEN:
            counts.setdefault(handle, 0)
            continue  # a closed order's risk labels are history, not the device now
        counts[handle] = counts.get(handle, 0) + 1
        level = _offline_level(row)
        if level is not RiskLevel.UNKNOWN:
            worst[handle] = max(worst.get(handle, level), level)
    choices = []
    for handle in sorted(names, key=lambda h: (h.casefold(), h)):
        level = worst.get(handle)
        if level is None:
            presence = Presence.UNKNOWN
        elif level is RiskLevel.GREEN:
            presence = Presence.ONLINE
        else:
            presence = Presence.OFFLINE
        choices.append(WorkerChoice(handle, names[handle], counts[handle], presence,
                                    tuple(sorted(groups.get(handle, ())))))
    return choices


def ops_group_to_send(worker_groups: Sequence[str], order_groups: Iterable[str | None]) -> str | None:
    """The ``ops_group_handle`` a reassign to a worker seen in ``worker_groups`` sends for
    orders in ``order_groups`` (one order's group, or every marked order's), or None.

    Sent only when it is known and needed: the worker is seen in exactly one ops group and some
    order is in another (or in none shown). A worker seen in no group (no loaded order of theirs
    says) sends nothing: nothing is guessed. A worker seen in several groups sends nothing either:
    which one the supervisor means cannot be known from the list (the server's answer says when
    it needs one, and that answer is shown)."""
    if len(worker_groups) != 1:
        return None
    (group,) = worker_groups
    return group if any(order_group != group for order_group in order_groups) else None


def search_workers(choices: Sequence[WorkerChoice], needle: str) -> list[WorkerChoice]:
    """The choices matching ``needle`` (see :meth:`WorkerChoice.matches`): those whose handle
    starts with it first, then the others, each group in the given order."""
    needle = needle.strip()
    found = [c for c in choices if c.matches(needle)]
    if not needle:
        return found
    folded = needle.casefold()
    return sorted(found, key=lambda c: not c.handle.casefold().startswith(folded))


def validate_worker_handle(text: str) -> str:
    """``text`` as a worker handle to send, or ValueError with a message for the supervisor.

    The rules are the order handles' (:func:`console.api.handles.validate_handle`: not empty,
    no surrounding white space, no control or invisible characters, at most 256 characters,
    not ``.``/``..`` however encoded): a worker handle is as caller-chosen as an order handle.
    Nothing is trimmed: the handle checked is the handle sent.
    """
    try:
        return validate_handle(text)
    except InvalidHandle as exc:
        # The shared reasons speak of "order handle"; the rule is the same for a worker's.
        reason = exc.reason.replace("order handle", "worker handle")
        raise ValueError(f"{reason[:1].upper()}{reason[1:]}.") from None


def describe_worker(choice: WorkerChoice) -> str:
    """A one-line plain description (handle, name, open orders, presence), control-free."""
    name = f" ({sanitize(choice.name)})" if choice.name else ""
    orders = f"{choice.open_orders} open order{'s' if choice.open_orders != 1 else ''}"
    return f"{sanitize(choice.handle)}{name}, {orders}, {choice.presence.value}"
