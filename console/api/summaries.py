"""List items read straight into what a list row needs, without building full ``Order`` models.

Why: the order list loads tens of thousands of orders. Validating each item as the full pydantic
:class:`~console.api.models.Order` (sixty fields, nested models, a Python validator on every
string and timestamp) cost 50-250 ms per 1,000 orders, in one C call holding the GIL, and the
list then copied a dozen fields out of it and threw it away. Here each item is read into an
:class:`OrderSummary` holding exactly those fields:

1. the page is parsed by pydantic-core's JSON parser (``from_json``: the parser the models use,
   depth-limited, so a hostile body fails the same way);
2. the fields the list uses are type-checked by a pydantic-core schema (in C, with the same lax
   rules as the ``Order`` fields they mirror: ``"type_index": "2"`` is 2 in both), a chunk of
   items per call, so no single call holds the GIL for long;
3. the few steps that must stay in Python: display strings are sanitized (skipped when the whole
   page is printable ASCII without escapes, which one C scan of the body proves), timestamps are
   parsed leniently (:func:`console.api.timestamps.parse_timestamp`, memoised: the same slot
   times repeat thousands of times), metadata and risks are cleaned (unknown risk keys kept).

Rules kept from the full models: ``order_handle`` is kept byte-exact (it addresses the order) and
must be a string; ``status`` must be a string; every display string is sanitized; NaN/Infinity in
metadata or risks, or metadata that is not an object, make the item unreadable. An unreadable item
is skipped and reported in :attr:`SummaryPage.skipped`, never fatal for the page.

What differs, on purpose: only the fields the list shows are checked. An item whose *other*
fields are malformed (``"distance": "far"``) is listed; the full order is validated, and any
problem reported, when the detail pane fetches it.

No pydantic models and no Textual are imported here (only pydantic-core): the list's first rows
need none of the full models built.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable
from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import SchemaValidator, ValidationError, from_json
from pydantic_core import core_schema as cs

from console.api.free_json import clean_json
from console.gc_policy import paused
from console.api.sanitize import sanitize
from console.api.timestamps import parse_timestamp
from console.api.vocab import OrderRef

if TYPE_CHECKING:
    from console.api.models import Order

#: Items type-checked per call of the C validator (and summarized before the next chunk).
CHUNK = 250


class OrderSummary:
    """What the order list knows of one order: identity, status, people, times, place, risks.

    Every string except ``ref.order_handle`` is sanitized; times are aware UTC datetimes or None.
    """

    __slots__ = (
        "ref", "status", "worker", "worker_name", "ops_group", "scheduled_after", "scheduled_at",
        "address", "eta", "completed_at", "share_url", "metadata", "risks", "timezone",
    )

    def __init__(
        self,
        ref: OrderRef,
        status: str,
        worker: str | None = None,
        worker_name: str | None = None,
        ops_group: str | None = None,
        scheduled_after: datetime | None = None,
        scheduled_at: datetime | None = None,
        address: str | None = None,
        eta: datetime | None = None,
        completed_at: datetime | None = None,
        share_url: str | None = None,
        metadata: dict[str, Any] | None = None,
        risks: dict[str, Any] | None = None,
        timezone: str | None = None,
    ) -> None:
        self.ref = ref
        self.status = status
        #: ``worker_handle``, else the deprecated ``driver_handle`` (as ``Order.worker``).
        self.worker = worker
        #: ``worker_name``, else ``driver_name``.
        self.worker_name = worker_name
        self.ops_group = ops_group
        self.scheduled_after = scheduled_after
        self.scheduled_at = scheduled_at
        #: ``destination.address``.
        self.address = address
        #: ``estimate.arrive_at``.
        self.eta = eta
        self.completed_at = completed_at
        self.share_url = share_url
        #: None when the order has none (or an empty object).
        self.metadata = metadata
        #: The raw (sanitized) risk labels, unknown keys included; None when there are none.
        self.risks = risks
        #: The order's ``timezone`` as given (the list carries it; its format is undocumented).
        self.timezone = timezone

    @classmethod
    def of_order(cls, order: "Order") -> "OrderSummary":
        """The summary of a full (already validated and sanitized) order, e.g. a completion's
        answer, so that it can replace a list row."""
        destination = order.destination
        estimate = order.estimate
        return cls(
            order.ref, order.status, order.worker, order.worker_name or order.driver_name,
            order.ops_group_handle, order.scheduled_after, order.scheduled_at,
            destination.address if destination is not None else None,
            estimate.arrive_at if estimate is not None else None,
            order.completed_at, order.share_url, order.metadata or None, order.risks or None,
            order.timezone,
        )

    def __repr__(self) -> str:
        return f"OrderSummary({self.ref.describe()!r}, {self.status!r})"


class SummaryPage:
    """One page of ``GET /orders/`` as summaries. ``skipped``: one line (escaped handle and
    reason) per item that could not be read."""

    __slots__ = ("orders", "skipped", "pagination_token")

    def __init__(self, pagination_token: str | None) -> None:
        self.orders: list[OrderSummary] = []
        self.skipped: list[str] = []
        #: Opaque and sent back as is: not sanitized.
        self.pagination_token = pagination_token


# ---------------------------------------------------------------------- the C-side checks


def _optional(schema: cs.CoreSchema) -> cs.TypedDictField:
    # Present in the output (None when missing), so the Python step indexes without .get().
    return cs.typed_dict_field(cs.with_default_schema(schema, default=None), required=False)


_TEXT = cs.nullable_schema(cs.str_schema())
_ANY = cs.any_schema()  # timestamps (lenient: checked in Python) and risks (anything goes)
_NESTED_IGNORE = dict(extra_behavior="ignore")

#: The ``Order`` fields the list uses, with the same types (lax where ``Order`` is lax).
_ITEM_SCHEMA = cs.typed_dict_schema(
    {
        "order_handle": cs.typed_dict_field(cs.str_schema(strict=True)),
        "status": cs.typed_dict_field(cs.str_schema()),
        "type": _optional(_TEXT),
        "type_index": _optional(cs.nullable_schema(cs.int_schema())),
        "fulfillment_attempt": _optional(cs.nullable_schema(cs.int_schema())),
        "worker_handle": _optional(_TEXT),
        "driver_handle": _optional(_TEXT),
        "worker_name": _optional(_TEXT),
        "driver_name": _optional(_TEXT),
        "ops_group_handle": _optional(_TEXT),
        "share_url": _optional(_TEXT),
        "timezone": _optional(_TEXT),
        "scheduled_after": _optional(_ANY),
        "scheduled_at": _optional(_ANY),
        "completed_at": _optional(_ANY),
        "destination": _optional(cs.nullable_schema(cs.typed_dict_schema(
            {"address": _optional(_TEXT)}, **_NESTED_IGNORE))),
        "estimate": _optional(cs.nullable_schema(cs.typed_dict_schema(
            {"arrive_at": _optional(_ANY)}, **_NESTED_IGNORE))),
        "metadata": _optional(cs.nullable_schema(cs.dict_schema(cs.str_schema(), _ANY))),
        "risks": _optional(_ANY),
    },
    extra_behavior="ignore",
)
_ITEMS = SchemaValidator(cs.list_schema(_ITEM_SCHEMA))
_ITEM = SchemaValidator(_ITEM_SCHEMA)
#: The page around the items: ``orders`` a list (or null/missing), the token a string.
_PAGE = SchemaValidator(cs.typed_dict_schema(
    {
        "orders": _optional(cs.nullable_schema(cs.list_schema(_ANY))),
        "pagination_token": _optional(cs.nullable_schema(cs.str_schema(strict=True))),
    },
    extra_behavior="ignore",
))


# ---------------------------------------------------------------------- the Python steps


def is_plain_text(body: bytes | str) -> bool:
    """True when every string the JSON ``body`` can hold is printable ASCII.

    The JSON parser refuses raw control characters inside strings, so a string can only hold an
    unsafe character through a non-ASCII byte, a raw DEL, or a backslash escape (``\\u001b``,
    ``\\n``). Three C-speed scans of the body rule all of them out.
    """
    if isinstance(body, str):
        return body.isascii() and "\\" not in body and "\x7f" not in body
    return body.isascii() and b"\\" not in body and b"\x7f" not in body


_MISSING = object()
_TIMES: dict[str, datetime | None] = {}
_TIMES_MAX = 8192


def _timestamp(value: Any) -> datetime | None:
    """:func:`parse_timestamp`, memoised on the string (scheduled slots repeat a lot; sharing
    the datetime objects also saves memory across 50k rows)."""
    if value is None:
        return None
    if type(value) is not str:
        return parse_timestamp(value)
    hit = _TIMES.get(value, _MISSING)
    if hit is _MISSING:
        hit = parse_timestamp(value)
        if len(_TIMES) >= _TIMES_MAX:
            _TIMES.clear()  # bounded; the next page refills what it uses
        _TIMES[value] = hit
    return hit  # type: ignore[return-value]


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})


def _clean_object(value: dict[str, Any], plain: bool) -> dict[str, Any]:
    """Metadata or risks made safe. On plain text (see :func:`summarize`), a flat object of
    strings, whole numbers, booleans and nulls is safe as it is; anything else goes through
    ``clean_json`` (which refuses NaN/Infinity with ValueError)."""
    if plain and all(map(_PLAIN_SCALARS.__contains__, map(type, value.values()))):
        return value
    return clean_json(value)


def _same(text: str | None) -> str | None:
    return text


def _safe(text: str | None) -> str | None:
    return sanitize(text) if text is not None else None


_TEXT_KEYS = ("status", "type", "worker_handle", "driver_handle", "worker_name", "driver_name",
              "ops_group_handle", "share_url", "timezone")


def _is_plain_item(item: dict[str, Any]) -> bool:
    """True when no display string of a type-checked item needs sanitizing.

    One ``isprintable()`` scan (C) of all of them joined, instead of a regular-expression search
    per string (~25 per order with the risk labels). Sound because every character
    :func:`~console.api.sanitize.sanitize` escapes (Unicode Cc, Cf, Cs, Zl, Zp) is one that
    ``str.isprintable()`` rejects (tests/api/test_summaries.py checks every code point); a string
    it rejects for another reason (a no-break space) merely takes the slow, exact path.
    """
    parts = [text for text in map(item.__getitem__, _TEXT_KEYS) if text is not None]
    destination = item["destination"]
    if destination is not None and destination["address"] is not None:
        parts.append(destination["address"])
    for obj in (item["metadata"], item["risks"]):
        if type(obj) is dict:
            parts.extend(obj)
            parts.extend(value for value in obj.values() if type(value) is str)
    return "".join(parts).isprintable()


def summarize(item: dict[str, Any], plain: bool) -> OrderSummary:
    """One type-checked item (the output of the C validator) as a summary.

    ``plain``: no string of the item needs sanitizing (the whole page is plain text, see
    :func:`is_plain_text`, or :func:`_is_plain_item` said so); nested metadata is cleaned anyway.
    Raises ValueError for metadata or risks that cannot be shown (NaN, too deeply nested).
    """
    if not plain:
        plain = _is_plain_item(item)
    text: Callable[[str | None], str | None] = _same if plain else _safe
    order_type = item["type"]
    destination = item["destination"]
    estimate = item["estimate"]
    metadata = item["metadata"]
    risks = item["risks"]
    return OrderSummary(
        OrderRef(item["order_handle"], text(order_type) if order_type is not None else None,
                 item["type_index"], item["fulfillment_attempt"]),
        text(item["status"]),  # type: ignore[arg-type]
        text(item["worker_handle"] or item["driver_handle"]),
        text(item["worker_name"] or item["driver_name"]),
        text(item["ops_group_handle"]),
        _timestamp(item["scheduled_after"]),
        _timestamp(item["scheduled_at"]),
        text(destination["address"]) if destination is not None else None,
        _timestamp(estimate["arrive_at"]) if estimate is not None else None,
        _timestamp(item["completed_at"]),
        text(item["share_url"]),
        _clean_object(metadata, plain) or None if metadata else None,
        _clean_object(risks, plain) or None if type(risks) is dict and risks else None,
        text(item["timezone"]),
    )


def _unreadable(item: Any, index: int, problems: int) -> str:
    handle = item.get("order_handle") if isinstance(item, dict) else None
    label = sanitize(handle) if isinstance(handle, str) else f"item {index}"
    return f"{label}: {problems} invalid field(s)"


# ---------------------------------------------------------------------- pages


class SummaryPageReader:
    """Reads one list page in steps, so that a caller on an event loop can yield between them.

    The constructor parses the JSON (one C call) and checks the page's shape; each
    :meth:`read` then type-checks and summarizes at most ``count`` items.
    """

    def __init__(self, body: bytes | str, *, keep: frozenset[str] | None = None,
                 skip: Container[Any] | None = None) -> None:
        """Raises ValueError for a body that is not JSON, ValidationError (a ValueError) for
        JSON that is not a list page.

        ``keep``: the statuses to read; an item whose ``status`` is a string outside it is
        dropped here, unread and unreported (the caller did not ask for it). An item without a
        readable status stays, to be reported as unreadable.
        ``skip``: identities (:func:`item_identity`) of orders the caller already has: dropped
        here too, before they cost a check and a summary.
        """
        self._plain = is_plain_text(body)
        shell = _PAGE.validate_python(from_json(body))
        self.page = SummaryPage(shell["pagination_token"])
        items: list[Any] = shell["orders"] or []
        if keep is not None or skip is not None:
            items = _select(items, keep, skip)
        self._items = items
        self._next = 0

    @property
    def pagination_token(self) -> str | None:
        return self.page.pagination_token

    @property
    def done(self) -> bool:
        return self._next >= len(self._items)

    def read(self, count: int = CHUNK) -> None:
        start = self._next
        raw = self._items[start:start + count]
        self._next = start + len(raw)
        page, plain = self.page, self._plain
        try:
            checked: Iterable[tuple[int, Any, dict[str, Any] | None]] = zip(
                range(start, self._next), raw, _ITEMS.validate_python(raw))
        except ValidationError:
            checked = (self._check_one(index, item) for index, item in enumerate(raw, start))
        orders = page.orders
        for index, item, valid in checked:
            if valid is None:
                continue
            try:
                orders.append(summarize(valid, plain))
            except ValueError:  # metadata or risks with NaN, or nested too deep
                page.skipped.append(_unreadable(item, index, 1))
        if self.done:
            self._items = []  # the parsed JSON is not needed any more

    def _check_one(self, index: int, item: Any) -> tuple[int, Any, dict[str, Any] | None]:
        try:
            return index, item, _ITEM.validate_python(item)
        except ValidationError as exc:
            self.page.skipped.append(_unreadable(item, index, exc.error_count()))
            return index, item, None


#: The fields that make an order's identity: one leg and attempt of a handle.
IDENTITY_FIELDS = ("order_handle", "type", "type_index", "fulfillment_attempt")


def item_identity(item: Any) -> tuple[Any, ...] | None:
    """A list item's identity (handle, type, type_index, fulfillment_attempt) as sent, hashable;
    None for an item that is not an object (it is reported, never merged). A summary's
    ``ref`` gives the same tuple for the same order (its fields are the item's)."""
    if type(item) is not dict:
        return None
    return tuple(v if v is None or type(v) in (str, int) else repr(v)
                 for v in (item.get(k) for k in IDENTITY_FIELDS))


def _select(items: list[Any], keep: frozenset[str] | None, skip: Container[Any] | None) -> list[Any]:
    if skip is None:
        return [item for item in items if _wanted(item, keep)]  # type: ignore[arg-type]
    return [item for item in items
            if (keep is None or _wanted(item, keep)) and item_identity(item) not in skip]


def _wanted(item: Any, keep: frozenset[str]) -> bool:
    if type(item) is not dict:
        return True
    status = item.get("status")
    return type(status) is not str or status in keep


def collector_paused() -> AbstractContextManager[None]:
    """The cyclic garbage collector paused while a page is read (console/gc_policy.py ``paused``).

    Everything a page's parse creates stays alive until the page has been read, and none of it
    is cyclic garbage, yet the tens of thousands of new containers of a 1,000-order page set off
    dozens of collections that walk them again and again (a third of the parse's time in a
    profiled 50k-order load). Paused, the parsed JSON is freed by reference counting before the
    collector ever sees it. A caller that reads the page in steps between event-loop yields may
    hold the pause across them: a page takes tens of milliseconds.
    """
    return paused()


def parse_order_summary(body: bytes | str) -> OrderSummary:
    """One order (an action's answer) read as its summary, by the same rules as a list item.

    The body must be strict JSON (``NaN``/``Infinity`` refused, as the full models refuse them)
    holding one order object. Raises ValueError (pydantic-core's ValidationError is one) for
    anything else; the caller checks which order and status it names.
    """
    item = _ITEM.validate_python(from_json(body, allow_inf_nan=False))
    return summarize(item, is_plain_text(body))


class ItemPage:
    """One page of ``GET /orders/`` as the API's own JSON objects: not validated, not sanitized.

    For output that must stay faithful to the API's data (``orders --json``): a JSON writer
    escapes control characters itself. Never for a screen.
    """

    __slots__ = ("items", "pagination_token")

    def __init__(self, items: list[Any], pagination_token: str | None) -> None:
        self.items = items
        #: Opaque and sent back as is.
        self.pagination_token = pagination_token


def parse_item_page(body: bytes | str, *, keep: frozenset[str] | None = None,
                    skip: Container[Any] | None = None) -> ItemPage:
    """A list page's items as parsed JSON (the page's shape is checked as for summaries).

    ``keep`` and ``skip`` as in :class:`SummaryPageReader`. Raises ValueError for a body that
    is not a page.
    """
    with collector_paused():
        shell = _PAGE.validate_python(from_json(body))
        items: list[Any] = shell["orders"] or []
        if keep is not None or skip is not None:
            items = _select(items, keep, skip)
    return ItemPage(items, shell["pagination_token"])


def parse_summary_page(body: bytes | str) -> SummaryPage:
    """A whole list page at once (small pages, tests). Raises ValueError as the reader does."""
    with collector_paused():
        reader = SummaryPageReader(body)
        while not reader.done:
            reader.read(CHUNK)
    return reader.page
