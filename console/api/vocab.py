"""The Orders API's plain-Python vocabulary: statuses, order identity, risk keys and levels.

No pydantic here, on purpose: the order list's load path (:mod:`console.api.summaries`,
``console/session/table.py``) needs these names but not the full pydantic models, whose schemas take
a noticeable part of start-up to build. :mod:`console.api.models` re-exports everything, so
``from console.api.models import OrderRef`` keeps working and names the same objects.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from console.api.sanitize import sanitize

#: Statuses the list filter accepts (``dispatched`` and ``summarizing`` cannot be filtered).
FILTERABLE_STATUSES = (
    "completed", "cancelled", "rescheduled", "disabled", "ongoing", "unplanned", "assigned", "planned",
)
#: Every status an order can have (``rescheduled`` is a filter only, never an order's status).
ORDER_STATUSES = (
    "unplanned", "planned", "assigned", "dispatched", "ongoing", "disabled", "summarizing",
    "completed", "cancelled",
)
#: The "open" orders a supervisor watches: every status but the two terminal ones, in the order
#: of progress. ``dispatched`` and ``summarizing`` are among them although the list filter cannot
#: name them: the client reads them from the unfiltered list (see ``list_query``).
OPEN_STATUSES = ("unplanned", "planned", "assigned", "dispatched", "ongoing", "disabled", "summarizing")
TERMINAL_STATUSES = frozenset({"completed", "cancelled"})
ORDER_TYPES = ("pick", "drop")


@dataclass(frozen=True, slots=True)
class OrderRef:
    """The identity of one order leg and attempt: what an action addresses."""

    order_handle: str
    type: str | None = None
    type_index: int | None = None
    fulfillment_attempt: int | None = None

    def action_params(self) -> dict[str, Any]:
        return {
            k: v
            for k, v in (
                ("type", self.type),
                ("type_index", self.type_index),
                ("fulfillment_attempt", self.fulfillment_attempt),
            )
            if v is not None
        }

    def same_leg(self, other: "OrderRef") -> bool:
        """Whether ``other`` is the leg and attempt this ref names (a field this ref leaves
        unset matches any value, and so does one ``other`` does not carry).

        ``GET /orders/{h}`` takes no ``type``/``type_index``: for a handle with several legs it
        answers with one of them, which may not be this one. Every place that takes an answer as
        "this order's state" checks it with this rule, so that no leg is read as another.
        """
        for mine, theirs in ((self.type, other.type), (self.type_index, other.type_index),
                             (self.fulfillment_attempt, other.fulfillment_attempt)):
            if mine is not None and theirs is not None and mine != theirs:
                return False
        return True

    def leg_words(self) -> str:
        """The leg in words: ``drop #0, attempt 1``; ``order`` for a handle without legs."""
        if self.type is None:
            text = "order"
        else:
            text = f"{sanitize(self.type)} #{self.type_index if self.type_index is not None else 0}"
        if self.fulfillment_attempt is not None:
            text += f", attempt {self.fulfillment_attempt}"
        return text

    def describe(self) -> str:
        text = sanitize(self.order_handle)
        extras = []
        if self.type is not None:
            extras.append(f"{self.type}#{self.type_index if self.type_index is not None else 0}")
        if self.fulfillment_attempt:
            extras.append(f"attempt {self.fulfillment_attempt}")
        return f"{text} ({', '.join(extras)})" if extras else text


class RiskLevel(enum.IntEnum):
    """Ordered so that ``max()`` gives the worst."""

    UNKNOWN = 0
    GREEN = 1
    YELLOW = 2
    RED = 3

    @classmethod
    def parse(cls, value: Any) -> "RiskLevel":
        if isinstance(value, str):
            return _RISK_LEVELS.get(value.strip().lower(), cls.UNKNOWN)
        if isinstance(value, dict):  # webhook shape: {"intensity_label": "red", ...}
            return cls.parse(value.get("intensity_label"))
        return cls.UNKNOWN


_RISK_LEVELS = {"green": RiskLevel.GREEN, "yellow": RiskLevel.YELLOW, "red": RiskLevel.RED}

#: The eight risk keys, in the order the console shows them, with a one-letter code and words.
RISK_KEYS: tuple[tuple[str, str, str], ...] = (
    ("delayed_from_scheduled_at", "S", "expected to be late against the scheduled time"),
    ("delayed_from_initial_eta", "E", "later than the first ETA given"),
    ("is_offline", "O", "the device stopped sending locations"),
    ("deviating_from_expected_route", "R", "off the expected route"),
    ("moving_away_from_destination", "A", "moving away from the destination"),
    ("moving_too_slow", "T", "moving too slowly to arrive on time"),
    ("in_low_battery", "B", "battery may run out before the order is done"),
    ("in_outage", "U", "in a location outage"),
)
RISK_KEY_NAMES = tuple(k for k, _, _ in RISK_KEYS)


def risk_level(risks: dict[str, Any] | None, key: str) -> RiskLevel:
    if not risks:
        return RiskLevel.UNKNOWN
    return RiskLevel.parse(risks.get(key))


def worst_risk(risks: dict[str, Any] | None) -> RiskLevel:
    if not risks:
        return RiskLevel.UNKNOWN
    return max((RiskLevel.parse(v) for v in risks.values()), default=RiskLevel.UNKNOWN)
