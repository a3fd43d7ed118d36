"""console.api.summaries: list items read straight into what a row needs.

The oracle is the full model: for every list item the full ``Order`` accepts, the summary holds
exactly what ``OrderSummary.of_order`` takes from that Order (so a row built either way is the
same row), every display string is as safe, and an item that cannot be shown is skipped and
reported the same way. Pages are generated from the reference schema (hypothesis-jsonschema,
via the fuzz tests' simplified schema), with hostile text and unknown fields.
"""

from __future__ import annotations

import asyncio
import json
import sys
import unicodedata
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from console.api import errors as E
from console.api.models import Order, parse_order_page
from console.api.sanitize import has_unsafe_characters
from console.api.summaries import (
    CHUNK,
    OrderSummary,
    SummaryPageReader,
    is_plain_text,
    parse_summary_page,
)
from console.session.table import OrderRow, OrderTable, build_rows
from tests.support.api_mock import Server, json_response, order_body, raw_response, sequence
from tests.api.test_fuzz_models import HOSTILE_TEXT, body_strategy, fuzz, with_unknown_fields

EXAMPLES = json.loads(open("/work/shared/docs/hypertrack-orders-examples.json").read())
FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}
PAYLOAD = "\x1b]0;pwned\x07\x1b[2J\x9b\u202e\u200b\x00\x7f\U000e0041"


def fields(summary: OrderSummary) -> tuple:
    return tuple(getattr(summary, name) for name in OrderSummary.__slots__)


def full_item(handle: str = "ORD-1", **extra: Any) -> dict[str, Any]:
    item = {
        "order_handle": handle, "status": "assigned", "type": "drop", "type_index": 0,
        "fulfillment_attempt": 1, "worker_handle": "w-1", "worker_name": "Ann",
        "ops_group_handle": "oak-depot", "share_url": "https://trck.at/x",
        "scheduled_after": "2026-11-29T17:00:00.000Z", "scheduled_at": "2026-11-29 18:00:00+00:00",
        "completed_at": None,
        "destination": {"address": "1 Main St", "geometry": {"type": "Point", "coordinates": [1, 2]}},
        "estimate": {"arrive_at": "2026-11-29T17:45:00Z", "distance": 1200},
        "metadata": {"customer": "C-1", "n": 3, "nested": {"a": [1, 2]}},
        "risks": {"is_offline": "red", "custom_new_risk": "yellow"},
        "region": {"city": "Oakland"}, "distance": 5,
    }
    item.update(extra)
    return item


def both(items: list[Any], **dumps: Any) -> tuple[Any, Any]:
    body = json.dumps({"orders": items, "pagination_token": "t"}, **dumps)
    return parse_order_page(body), parse_summary_page(body.encode())


# --------------------------------------------------------------------------- against the full model


def assert_agrees(body: Any) -> None:
    """Every order the full model reads is summarized identically; skipped ones are reported."""
    raw = json.dumps(body, allow_nan=True).encode()
    try:
        full = parse_order_page(raw)
    except ValidationError:
        with pytest.raises(ValueError):
            parse_summary_page(raw)
        return
    summary = parse_summary_page(raw)
    assert summary.pagination_token == full.pagination_token
    by_handle = {}
    for s in summary.orders:
        by_handle.setdefault(s.ref.order_handle, []).append(s)
    for order in full.orders:
        # The summary may list more (only the fields it shows are checked), never fewer.
        candidates = by_handle.get(order.order_handle, [])
        assert fields(OrderSummary.of_order(order)) in [fields(s) for s in candidates], order.order_handle
    for s in summary.orders:
        for name in OrderSummary.__slots__:
            value = getattr(s, name)
            if isinstance(value, str):
                assert not has_unsafe_characters(value), (name, value)
        for obj in (s.metadata, s.risks):
            for key, value in (obj or {}).items():
                assert not has_unsafe_characters(key)
                if isinstance(value, str):
                    assert not has_unsafe_characters(value)
    for note in summary.skipped:
        assert not any(unicodedata.category(c) in FORBIDDEN for c in note)
    assert len(summary.orders) + len(summary.skipped) == len(body.get("orders") or []) if isinstance(body, dict) else True


@given(with_unknown_fields(body_strategy("GetOrdersResponse", with_orders=True)))
@fuzz(40)
def test_generated_pages_summarize_like_the_full_model(body: Any) -> None:
    assert_agrees(body)


@given(st.lists(st.builds(lambda h, s, a: full_item(h, status=s, destination={"address": a}),
                          HOSTILE_TEXT, HOSTILE_TEXT, HOSTILE_TEXT), min_size=1, max_size=5))
@fuzz(40)
def test_hostile_text_in_every_listed_field_agrees_and_is_escaped(items: list[dict[str, Any]]) -> None:
    assert_agrees({"orders": items})


@pytest.mark.parametrize("name", ["list_orders_response_page_1", "list_orders_response_last_page"])
def test_documented_pages_summarize_like_the_full_model(name: str) -> None:
    assert_agrees(EXAMPLES[name])
    page = parse_summary_page(json.dumps(EXAMPLES[name]))
    assert len(page.orders) == len(EXAMPLES[name]["orders"]) and page.skipped == []


@pytest.mark.parametrize("value", ["2", 2.0, True, 2.5, "two", [2], None])
def test_identity_numbers_follow_the_models_lax_rules(value: Any) -> None:
    full, summary = both([full_item(type_index=value, fulfillment_attempt=value)])
    assert [o.ref for o in full.orders] == [s.ref for s in summary.orders]
    assert len(full.skipped) == len(summary.skipped)


def test_a_row_from_a_summary_is_the_row_from_the_order() -> None:
    full, summary = both([full_item(), full_item("ORD-2", worker_handle=None, driver_handle="d-9",
                                                 worker_name="", driver_name="Bo", risks="not an object")])
    for order, s in zip(full.orders, summary.orders, strict=True):
        a, b = OrderRow(order), OrderRow(s)
        assert (a.fingerprint, a.sort_key, a.search_text, a.share_url, a.metadata, a.worker_name) == \
               (b.fingerprint, b.sort_key, b.search_text, b.share_url, b.metadata, b.worker_name)
    assert summary.orders[1].worker == "d-9" and summary.orders[1].worker_name == "Bo"
    assert summary.orders[1].risks is None


def test_the_order_s_time_zone_is_read_from_the_list_and_escaped() -> None:
    full, summary = both([full_item(timezone="America/Los_Angeles"), full_item("ORD-2"),
                          full_item("ORD-3", timezone="Europe/Paris" + PAYLOAD)])
    assert [s.timezone for s in summary.orders[:2]] == ["America/Los_Angeles", None]
    assert not has_unsafe_characters(summary.orders[2].timezone)
    assert [s.timezone for s in summary.orders] == [o.timezone for o in full.orders]
    assert OrderRow(summary.orders[0]).timezone == "America/Los_Angeles"
    assert OrderRow(summary.orders[0]).summary_order().timezone == "America/Los_Angeles"


def test_unknown_risk_keys_are_kept_and_count_for_the_worst() -> None:
    [s] = parse_summary_page(json.dumps({"orders": [full_item(risks={"brand_new": "red"})]})).orders
    assert s.risks == {"brand_new": "red"}
    assert OrderRow(s).worst.name == "RED"


# --------------------------------------------------------------------------- unreadable items


def test_a_page_with_bad_orders_keeps_the_others_and_reports_them_like_the_full_model() -> None:
    good = EXAMPLES["list_orders_response_page_1"]["orders"]
    bad = [
        {"order_handle": "ORD-bad\x1b]0;pwned\x07", "status": None},
        {"order_handle": 42, "status": "ongoing"},
        {"order_handle": "ORD-nan", "status": "ongoing", "metadata": {"weight": float("nan")}},
        "not an order",
        {"order_handle": "ORD-risk-inf", "status": "ongoing", "risks": {"is_offline": float("inf")}},
        {"order_handle": "ORD-meta-list", "status": "ongoing", "metadata": ["x"]},
    ]
    full, summary = both([good[0], *bad, *good[1:]], allow_nan=True)
    assert [s.ref.order_handle for s in summary.orders] == [o["order_handle"] for o in good]
    assert [line.split(":")[0] for line in summary.skipped] == [line.split(":")[0] for line in full.skipped]
    assert summary.skipped[0].startswith("ORD-bad\\x1b]0;pwned\\x07: ")
    assert summary.skipped[1].startswith("item 2: ") and summary.skipped[3].startswith("item 4: ")
    assert all(not any(unicodedata.category(c) in FORBIDDEN for c in line) for line in summary.skipped)


def test_a_malformed_field_the_list_does_not_show_does_not_hide_the_order() -> None:
    full, summary = both([full_item(distance="far", region=7, polyline={"coordinates": "x"})])
    assert full.orders == [] and len(full.skipped) == 1  # the full model refuses it ...
    assert [s.ref.order_handle for s in summary.orders] == ["ORD-1"]  # ... the list shows it
    assert summary.skipped == []


@pytest.mark.parametrize("body", ["[]", '{"orders": "x"}', '{"orders": {}}', '{"orders": [], "pagination_token": 5}',
                                  "<html>", "", '{"orders": [' * 300 + "]" * 300 + "}"])
def test_a_body_that_is_not_a_page_is_an_error(body: str) -> None:
    with pytest.raises(ValueError):
        parse_summary_page(body)


@pytest.mark.parametrize("body", ['{"orders": null}', "{}", '{"pagination_token": null}'])
def test_thin_pages_are_pages(body: str) -> None:
    page = parse_summary_page(body)
    assert page.orders == [] and page.pagination_token is None


def test_metadata_nested_too_deep_skips_only_that_order() -> None:
    deep: Any = "x"
    for _ in range(150):
        deep = [deep]
    full, summary = both([full_item("deep", metadata={"a": deep}), full_item("ok")])
    assert [s.ref.order_handle for s in summary.orders] == ["ok"]
    assert summary.skipped == ["deep: 1 invalid field(s)"]
    assert [o.order_handle for o in full.orders] == ["ok"]


# --------------------------------------------------------------------------- sanitizing


def test_the_handle_is_kept_byte_exact_and_everything_shown_is_escaped() -> None:
    item = full_item("h" + PAYLOAD, status="ongoing" + PAYLOAD, worker_name="Ann" + PAYLOAD,
                     destination={"address": "1 Main" + PAYLOAD}, metadata={"k" + PAYLOAD: "v" + PAYLOAD},
                     risks={"is_offline": "red" + PAYLOAD})
    body = json.dumps({"orders": [item]})
    assert not is_plain_text(body)
    [s] = parse_summary_page(body).orders
    assert s.ref.order_handle == "h" + PAYLOAD
    for text in (s.status, s.worker_name, s.address, *s.metadata, *s.metadata.values(), s.risks["is_offline"]):
        assert not has_unsafe_characters(text)
    assert "\\x1b]0;pwned" in s.address
    assert not has_unsafe_characters(OrderRow(s).search_text.replace("\x00", ""))


@pytest.mark.parametrize("text", ["caf\u00e9", "\\/", "tab\tin", "del\x7f", "nbsp\u00a0x", "ok"])
def test_plain_text_detection_never_lets_an_unsafe_string_through(text: str) -> None:
    body = json.dumps({"orders": [full_item(destination={"address": text}, worker_name=text)]},
                      ensure_ascii=False)
    [s] = parse_summary_page(body.encode()).orders
    assert not has_unsafe_characters(s.address) and not has_unsafe_characters(s.worker_name)
    assert is_plain_text(body) == (text == "ok")


def test_every_printable_character_is_one_sanitize_keeps() -> None:
    # The fast path trusts str.isprintable(): it must reject everything sanitize escapes.
    bad = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isprintable() and has_unsafe_characters(c)]
    assert bad == []


# --------------------------------------------------------------------------- reading in steps


def test_a_page_is_read_a_chunk_at_a_time() -> None:
    items = [full_item(f"o{i}") for i in range(CHUNK * 2 + 7)]
    items[CHUNK + 3]["status"] = None  # one bad item in the second chunk
    reader = SummaryPageReader(json.dumps({"orders": items}))
    sizes = []
    while not reader.done:
        before = len(reader.page.orders) + len(reader.page.skipped)
        reader.read(CHUNK)
        sizes.append(len(reader.page.orders) + len(reader.page.skipped) - before)
    assert sizes == [CHUNK, CHUNK, 7]
    assert len(reader.page.orders) == len(items) - 1 and reader.page.skipped == [f"o{CHUNK + 3}: 1 invalid field(s)"]


def test_rows_built_ahead_join_the_table_like_summaries() -> None:
    page = parse_summary_page(json.dumps({"orders": [full_item(f"o{i}", scheduled_at=f"2026-11-29T18:{i:02d}:00Z")
                                                     for i in range(30)]}))
    a, b = OrderTable(), OrderTable()
    a.extend(page.orders)
    b.extend(build_rows(page.orders[:10]) + build_rows(page.orders[10:]))
    assert [r.key for r in a.rows] == [r.key for r in b.rows] and b.total == 30


def test_a_refresh_of_summaries_keeps_unchanged_rows_and_replaces_changed_ones() -> None:
    items = [full_item(f"o{i}", scheduled_at=f"2026-11-29T18:{i:02d}:00Z") for i in range(20)]
    table = OrderTable()
    table.extend(parse_summary_page(json.dumps({"orders": items})).orders)
    before = {r.key: (r, r.version) for r in table.rows}
    items[5]["risks"] = {"is_offline": "green"}  # o5 gets better: it moves down
    items[7]["share_url"] = "https://trck.at/new"  # not shown: row kept, value taken
    result = table.merge(parse_summary_page(json.dumps({"orders": items[1:]})).orders)
    assert (result.added, result.removed, result.updated) == (0, 1, 1)
    kept = {r.key: r for r in table.rows}
    o7 = next(k for k in kept if k[0] == "o7")
    assert kept[o7] is before[o7][0] and kept[o7].version == before[o7][1]
    assert kept[o7].share_url == "https://trck.at/new"
    o5 = next(k for k in kept if k[0] == "o5")
    assert kept[o5].version != before[o5][1] and table.rows[-1] is kept[o5]


# --------------------------------------------------------------------------- the client


async def test_iter_summary_pages_follows_tokens_and_reports_unreadable_orders() -> None:
    pages = {
        None: json_response({"orders": [order_body("a", "ongoing"), {"order_handle": "b\x1b[2J", "status": None}],
                             "pagination_token": "t1"}),
        "t1": json_response({"orders": [order_body("c", "assigned")], "pagination_token": None}),
    }
    server = Server(lambda r: pages[r.url.params.get("pagination_token")])
    async with server.client() as client:
        got = [p async for p in client.iter_summary_pages(status=["ongoing"], limit=2, next_limit=5, step=1)]
    assert [[s.ref.order_handle for s in p.orders] for p in got] == [["a"], ["c"]]
    assert got[0].skipped == ["b\\x1b[2J: 1 invalid field(s)"]
    assert [s.params.get("limit") for s in server.seen] == ["2", "5"]


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"orders": 5}', b'{"pagination_token": 7}'])
async def test_a_summary_page_that_is_not_a_page_is_malformed(body: bytes) -> None:
    server = Server(sequence(raw_response(body)))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse):
            [p async for p in client.iter_summary_pages()]


async def test_reading_a_big_page_yields_to_the_event_loop_between_steps() -> None:
    server = Server(sequence(json_response({"orders": [order_body(f"o{i}", "ongoing") for i in range(1000)]})))
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    async with server.client() as client:
        got = [p async for p in client.iter_summary_pages(step=100)]
    task.cancel()
    assert len(got[0].orders) == 1000
    assert ticks >= 10  # the ticker ran between the ten steps


def test_the_collector_is_paused_while_a_page_is_read_and_always_comes_back() -> None:
    import gc

    from console.api.summaries import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("a cancelled read")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()  # a caller's own pause is left alone
    finally:
        gc.enable()


async def test_a_callable_pause_is_awaited_between_the_steps_of_a_page() -> None:
    server = Server(sequence(json_response({"orders": [order_body(f"o{i}", "ongoing") for i in range(1000)]})))
    read_so_far: list[int] = []
    pages: list = []

    async def pause() -> None:
        read_so_far.append(sum(len(p.orders) for p in pages))

    async with server.client() as client:
        async for page in client.iter_summary_pages(step=300, pause=pause):
            pages.append(page)
    assert len(pages[0].orders) == 1000
    assert len(read_so_far) == 4  # before each of the four steps (300, 300, 300, 100)
