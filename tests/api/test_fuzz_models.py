"""Property and fuzz tests: generated API bodies (hypothesis-jsonschema over the reference
schemas in ../shared/reference) and mutated bytes go into the models and the client.

Only declared errors may come out: pydantic's ValidationError from the parse functions, the
client's MalformedResponse from the client. Every parsed display string is free of raw control
characters, and the client never reports a completion the body did not state for that handle.

Schema preparation (see ../shared/reference/README.md): ``oneOf`` without a discriminator is
read as ``anyOf``, a nullable property with an ``enum`` also admits null; for generation speed
arrays are capped at 3 items, objects nested deeper than 3 levels are empty, formats and
descriptions are dropped, and every free-text string is drawn from text *and* the hostile corpus.
"""

from __future__ import annotations

import asyncio
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from console.api import Credentials, OrdersClient
from console.api import errors as E
from console.api.handles import validate_handle
from console.api.models import Order, OrderPage, TimelineEvent, parse_order, parse_order_page
from console.api.retry import Backoff
from console.api.sanitize import has_unsafe_characters, sanitize
from tests.support.hostile import HOSTILE, assert_no_raw_controls

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "hypertrack-orders-openapi-subset.json"
if not REFERENCE.exists():  # a checkout elsewhere: the shared directory beside /work/main
    REFERENCE = Path("/work/shared/reference/hypertrack-orders-openapi-subset.json")

DEFAULT_EXAMPLES = 20
FULL_EXAMPLES = 200
_FUZZ = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))


def fuzz(examples: int) -> settings:
    return settings(_FUZZ, max_examples=examples)


# --------------------------------------------------------------------------- hypothesis-jsonschema


def _install_many_shim() -> None:
    """hypothesis-jsonschema 0.23.1 drives objects with ``cu.many(...).more()``, an internal
    API that newer Hypothesis (6.1xx) replaced with a context manager; without this every object
    schema fails with "AttributeError: 'many' object has no attribute 'more'". This restores the
    old protocol on top of ``ConjectureData.draw_boolean`` for that module only."""
    import hypothesis.internal.conjecture.utils as cu
    import hypothesis_jsonschema._from_schema as hjs

    if hasattr(cu.many, "more"):
        return

    class LegacyMany:
        def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
            self.data, self.min_size, self.max_size = data, min_size, max_size
            self.p_continue = cu._calc_p_continue(average_size - min_size, max_size - min_size)
            self.count = self.rejections = 0
            self.force_stop = False

        def more(self) -> bool:
            if self.min_size == self.max_size:
                go = self.count < self.min_size
            elif self.force_stop:
                go = False
            else:
                forced = True if self.count < self.min_size else (False if self.count >= self.max_size else None)
                go = self.data.draw_boolean(self.p_continue, forced=forced)
            if go:
                self.count += 1
            return go

        def reject(self, why: str | None = None) -> None:
            self.count -= 1
            self.rejections += 1
            if self.rejections > max(3, 2 * self.count):
                if self.count < self.min_size:
                    self.data.mark_invalid(why)
                self.force_stop = True

    class Shim:
        many = LegacyMany

    hjs.cu = Shim


_DROP = {"description", "format", "default", "deprecated", "writeOnly", "example", "examples", "title"}
MAX_OBJECT_DEPTH = 3
MAX_ITEMS = 3


def _has(kind: Any, name: str) -> bool:
    return kind == name or (isinstance(kind, list) and name in kind)


def simplify(node: Any, schemas: dict[str, Any], level: int = 0, stack: tuple[str, ...] = ()) -> Any:
    """Inline ``$ref``s and make the schema quick to generate from (see the module docstring)."""
    if isinstance(node, list):
        return [simplify(x, schemas, level, stack) for x in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        if name in stack:  # a recursive shape: stop with an empty object
            return {"type": "object", "maxProperties": 0}
        return simplify(schemas[name], schemas, level, stack + (name,))
    kind = node.get("type")
    is_object = _has(kind, "object") or "properties" in node
    if is_object and level >= MAX_OBJECT_DEPTH:
        # Deep enough: keep only what the schema requires (a Point keeps its "type" and
        # "coordinates"), so a capped object is still a valid one.
        required = [r for r in node.get("required", []) if r in node.get("properties", {})]
        if not required or level >= MAX_OBJECT_DEPTH + 2:
            return {"type": ["object", "null"] if _has(kind, "null") else "object", "maxProperties": 0}
        node = {**node, "properties": {r: node["properties"][r] for r in required}}
    inner = level + 1 if is_object else level
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP:
            continue
        if key == "oneOf":  # no discriminator: the spec's intent is anyOf
            key = "anyOf"
        if key == "properties":
            out[key] = {p: simplify(s, schemas, inner, stack) for p, s in value.items()}
        else:
            out[key] = simplify(value, schemas, inner if key in ("items", "additionalProperties") else level, stack)
    if "properties" in out and "additionalProperties" not in out:
        # Unknown fields are fuzzed separately (with_unknown_fields); arbitrary extra JSON on
        # every object makes generation several times slower.
        out["additionalProperties"] = False
    if "enum" in out and _has(kind, "null") and None not in out["enum"]:
        out["enum"] = [*out["enum"], None]
    if _has(kind, "array"):
        out["maxItems"] = min(out.get("maxItems", MAX_ITEMS), MAX_ITEMS)
    if _has(kind, "string") and "enum" not in out and "pattern" not in out:
        out["format"] = "hostile"
    return out


HOSTILE_TEXT = st.one_of(
    st.text(max_size=24),
    st.sampled_from([v[:300] for v in HOSTILE.values()]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.text(alphabet="\x1b\x9b\x07\x00\x7f\u202e\u2066\u200b[]/\\@=$ \n", max_size=16),
)


@lru_cache(maxsize=None)
def body_strategy(name: str, *, with_orders: bool = False) -> st.SearchStrategy[Any]:
    """Bodies valid against the (simplified) schema ``name``. ``with_orders``: a list page
    that holds at least one order (most generated pages are empty otherwise)."""
    from hypothesis_jsonschema import from_schema

    _install_many_shim()
    doc = json.loads(REFERENCE.read_text())
    schemas = doc["components"]["schemas"]
    schema = simplify(schemas[name], schemas)
    if with_orders:
        schema["required"] = sorted({*schema.get("required", []), "orders"})
        schema["properties"]["orders"] = {**schema["properties"]["orders"], "type": "array", "minItems": 1}
    return from_schema(schema, custom_formats={"hostile": HOSTILE_TEXT})


def with_unknown_fields(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Add unknown top-level fields (any JSON) to generated objects."""
    extra = st.dictionaries(
        HOSTILE_TEXT.filter(lambda k: k not in Order.model_fields),
        st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                     | HOSTILE_TEXT, lambda c: st.lists(c, max_size=3) | st.dictionaries(HOSTILE_TEXT, c, max_size=3),
                     max_leaves=6),
        max_size=3,
    )
    return st.tuples(strategy, extra).map(lambda pair: {**pair[1], **pair[0]} if isinstance(pair[0], dict) else pair[0])


# --------------------------------------------------------------------------- invariants

# Free-form JSON the models keep as sent (display code escapes it); the handle is kept exact.
RAW_BY_DESIGN = ("order_handle", "metadata", "raw", "risks", "pagination_token", "coordinates",
                 "cancellation_source", "model_extra")


def _strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            out.extend(_strings(v, f"{path}.{k}"))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.extend(_strings(v, f"{path}[{i}]"))
    return out


def check_order(order: Order) -> None:
    assert isinstance(order.order_handle, str)
    assert_no_raw_controls(order.display_handle, "display handle")
    assert_no_raw_controls(order.ref.describe(), "OrderRef.describe()")
    dumped = order.model_dump(mode="python", exclude=set(order.model_extra or {}))
    for path, text in _strings(dumped):
        if not any(part in path for part in RAW_BY_DESIGN):
            assert not has_unsafe_characters(text), f"{path} holds a raw control character: {text!r}"
    for event in order.timeline or []:
        assert isinstance(event, TimelineEvent)
        assert not has_unsafe_characters(event.type)
    order.worst_risk  # never raises, whatever the risks hold
    order.is_terminal


def check_parse_order(body: bytes) -> Order | None:
    try:
        order = parse_order(body)
    except ValidationError:
        return None
    check_order(order)
    return order


def check_parse_page(body: bytes) -> OrderPage | None:
    try:
        page = parse_order_page(body)
    except ValidationError:
        return None
    for order in page.orders:
        check_order(order)
    for note in page.skipped:
        assert_no_raw_controls(note, "skipped-order note")
    return page


def _client(body: bytes) -> OrdersClient:
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
    return OrdersClient(Credentials("acct", SecretStr("fuzz-secret")), base_url="http://127.0.0.1:1",
                        transport=transport, get_backoff=Backoff(max_attempts=1))


def check_client(body_obj: Any, handle: str) -> None:
    """Through the real client: get_order and complete_order raise only declared errors, and
    complete returns only for a body that says 'completed' for exactly this handle."""
    body = json.dumps(body_obj).encode()

    async def run() -> None:
        async with _client(body) as client:
            try:
                order = await client.get_order(handle)
            except E.MalformedResponse:
                pass
            else:
                assert order.order_handle == handle
                check_order(order)
            try:
                done = await client.complete_order(handle)
            except E.MalformedResponse as exc:
                assert exc.may_have_applied
                assert_no_raw_controls(str(exc), "error message")
            else:
                assert isinstance(body_obj, dict)
                assert body_obj.get("order_handle") == handle and body_obj.get("status") == "completed"
                assert done.status == "completed" and done.order_handle == handle

    asyncio.run(run())


def _echoing(body: Any, handle: str, echo: bool) -> Any:
    if echo and isinstance(body, dict):
        return {**body, "order_handle": handle}
    return body


VALID_HANDLE = st.text(min_size=1, max_size=40).filter(lambda h: _valid(h))


def _valid(handle: str) -> bool:
    try:
        validate_handle(handle)
    except E.InvalidHandle:
        return False
    return True


# --------------------------------------------------------------------------- generated bodies


def _order_body_test(examples: int) -> list[Order]:
    parsed: list[Order] = []

    @fuzz(examples)
    @given(
        body=with_unknown_fields(body_strategy("CompleteOrderResponse") | body_strategy("GetOrderTimelineResponse")),
        handle=VALID_HANDLE,
        echo=st.booleans(),
    )
    def run(body: Any, handle: str, echo: bool) -> None:
        body = _echoing(body, handle, echo)
        order = check_parse_order(json.dumps(body).encode())
        if order is not None:
            parsed.append(order)
        check_client(body, handle)

    run()
    return parsed


def _page_body_test(examples: int) -> list[OrderPage]:
    parsed: list[OrderPage] = []

    @fuzz(examples)
    @given(body=body_strategy("GetOrdersResponse") | body_strategy("GetOrdersResponse", with_orders=True))
    def run(body: Any) -> None:
        page = check_parse_page(json.dumps(body).encode())
        if page is not None:
            parsed.append(page)

    run()
    return parsed


# Each run also checks that the generator produced bodies that parse: a generator that only
# made junk would let these tests pass without testing anything.


def test_generated_order_bodies_parse_or_fail_with_declared_errors():
    assert _order_body_test(DEFAULT_EXAMPLES)


def test_generated_order_pages_parse_or_fail_with_declared_errors():
    assert any(page.orders for page in _page_body_test(DEFAULT_EXAMPLES))


@pytest.mark.slow
def test_generated_order_bodies_full_run():
    assert _order_body_test(FULL_EXAMPLES)


@pytest.mark.slow
def test_generated_order_pages_full_run():
    assert any(page.orders for page in _page_body_test(FULL_EXAMPLES))


# --------------------------------------------------------------------------- odd polyline points

#: Polyline points the reference schema allows (``Polyline.coordinates.items`` is any array) that
#: hold no position, and entries that are not even arrays. None of them may cost the order.
ODD_POINT_CORPUS = [
    [], [0], [1.5], ["a", "b"], [200, 10], [-200, 10], [10, 95], [10, -95], [None, 1], [None, None],
    ["NaN", "1"], ["Infinity", "-Infinity"], ["nan", 0], ["12.5", "41.2"], [True, False], [0, True],
    [[1, 2], [3, 4]], [[1, 2]], [{"lon": 1, "lat": 2}], [10**400, 1], [1, -(10**400)],
    None, "12.5,41.2", 7, {"lon": 1, "lat": 2},
]
_JSON_LEAF = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | HOSTILE_TEXT
_ANY_JSON = st.recursive(_JSON_LEAF, lambda c: st.lists(c, max_size=3) | st.dictionaries(HOSTILE_TEXT, c, max_size=3),
                         max_leaves=6)
#: The corpus, and generated arrays that are no position by construction: the first item is not
#: a number, or the longitude is out of range.
ODD_POINTS = st.one_of(
    st.sampled_from(ODD_POINT_CORPUS),
    st.lists(_ANY_JSON, max_size=4).filter(
        lambda a: not a or not isinstance(a[0], (int, float)) or isinstance(a[0], bool)),
    st.tuples(st.floats(180.001, 1e300) | st.floats(-1e300, -180.001), _ANY_JSON).map(list),
)


@st.composite
def salted_completion(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], int]:
    """A generated completion answer (completed, for ``h-1``), and the same answer with odd
    points inserted anywhere into its polyline; and how many were inserted."""
    body = draw(body_strategy("CompleteOrderResponse"))
    body = {**body, "order_handle": "h-1", "status": "completed"}
    polyline = body.get("polyline") if isinstance(body.get("polyline"), dict) else {"type": "LineString"}
    coordinates = list(polyline.get("coordinates") or [])
    clean = {**body, "polyline": {**polyline, "coordinates": coordinates}}
    salted = list(coordinates)
    odd = draw(st.lists(ODD_POINTS, min_size=1, max_size=5))
    for point in odd:
        salted.insert(draw(st.integers(0, len(salted))), point)
    return clean, {**body, "polyline": {**polyline, "coordinates": salted}}, len(odd)


def test_odd_polyline_points_never_cost_the_order_or_the_completion():
    compared: list[int] = []

    @fuzz(40)
    @given(case=salted_completion())
    def run(case: tuple[dict[str, Any], dict[str, Any], int]) -> None:
        clean, salted, odd = case
        expected = check_parse_order(json.dumps(clean).encode())
        if expected is None:
            return  # invalid for another reason (a generated part elsewhere): nothing to compare
        order = check_parse_order(json.dumps(salted).encode())
        assert order is not None, "odd polyline points rejected the order"
        assert order.polyline.coordinates == expected.polyline.coordinates
        assert order.polyline.unreadable == expected.polyline.unreadable + odd

        async def complete() -> None:
            async with _client(json.dumps(salted).encode()) as client:
                done = await client.complete_order("h-1")  # never MalformedResponse for these
            assert done.status == "completed" and done.polyline.unreadable == order.polyline.unreadable

        asyncio.run(complete())
        compared.append(odd)

    run()
    assert compared  # the generator made completions that parse: the property was checked


# --------------------------------------------------------------------------- mutated bytes

SEED_BODIES = [
    b'{"order_handle": "h-1", "status": "completed", "destination": {"address": "1 Main St",'
    b' "geometry": {"type": "Point", "coordinates": [-122.4, 37.7]}}, "metadata": {"a": [1, {"b": null}]},'
    b' "timeline": [{"type": "order_created", "recorded_at": "2026-01-01T00:00:00Z"}]}',
    b'{"orders": [{"order_handle": "h-1", "status": "ongoing"}, {"order_handle": 2}], "pagination_token": "t"}',
    b'{"order_handle": "h-1", "status": "completed", "polyline": {"type": "LineString", "coordinates":'
    b' [[-122.4, 37.7, 4.5, "2026-01-01T00:00:00Z"], [], [0], ["a", "b"], [200, 10], [null, null],'
    b' ["NaN", "1"], [[1, 2], [3, 4]], [-122.41, 37.71]]}}',
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEED_BODIES)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["cut", "insert", "flip", "nest", "dup"]))
        pos = draw(st.integers(0, len(data)))
        if op == "cut":
            del data[pos:pos + draw(st.integers(1, 20))]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                [b"NaN", b"-Infinity", b"1e999", b'"\x1b]0;x\x07"', b"\\u0000", b"\\ud800", b"9" * 400]))
        elif op == "flip" and data:
            data[min(pos, len(data) - 1)] ^= 1 << draw(st.integers(0, 7))
        elif op == "nest":
            depth = draw(st.integers(100, 3000))
            data[pos:pos] = b"[" * depth + b"]" * depth
        elif op == "dup":
            data[pos:pos] = b'"order_handle": "h-2", '
    return bytes(data)


@fuzz(300)
@given(body=mutated())
def test_mutated_bytes_only_ever_raise_validation_errors(body):
    check_parse_order(body)
    check_parse_page(body)


@fuzz(60)
@given(body=mutated(), handle=st.sampled_from(["h-1", "h-2"]))
def test_mutated_bytes_through_the_client_never_give_a_false_completion(body, handle):
    async def run() -> None:
        async with _client(body) as client:
            try:
                done = await client.complete_order(handle)
            except E.MalformedResponse:
                return
        # Returned: the body must state exactly this completion, with no ambiguity.
        parsed = json.loads(body)
        assert parsed["order_handle"] == handle and parsed["status"] == "completed"
        assert done.order_handle == handle

    asyncio.run(run())


# --------------------------------------------------------------------------- the sanitizer (S17)


@fuzz(500)
@given(text=st.text() | HOSTILE_TEXT)
def test_sanitized_text_has_no_unsafe_characters_and_is_idempotent(text):
    out = sanitize(text)
    assert not has_unsafe_characters(out)
    assert sanitize(out) == out
    out.encode("utf-8")  # no lone surrogate survives (it would crash the terminal writer)
    if not has_unsafe_characters(text):
        assert out == text  # nothing safe is changed: markup brackets included
