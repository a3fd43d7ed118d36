"""The open set: every order that is not completed or cancelled, ``dispatched`` and
``summarizing`` included, although HyperTrack's list filter cannot name them.

Over real loopback HTTP (what the server received is read from ``sandbox.stats``) and in the
console (Pilot) on the default sandbox (seed 7, 500 orders), where ACME/PO-05503 is dispatched
to w-priya-yamada.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import httpx
import pytest

from console.api import OrdersClient
from console.api import errors as E
from console.api.vocab import OPEN_STATUSES, TERMINAL_STATUSES
from console.settings import Settings
from console.sandbox.core import IN_PROCESS_BASE_URL
from tests.hostile import screen_text
from tests.sandbox_fixtures import ServedSandbox, make_sandbox, served_sandbox  # noqa: F401 - fixture
from tests.ui_support import loaded, make_app, wait_until

DISPATCHED = "ACME/PO-05503"


def client_for(served: ServedSandbox) -> OrdersClient:
    return OrdersClient(served.sandbox.credentials, base_url=served.base_url)


def list_queries(sb) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in sb.stats.snapshot() if r.raw_path == "/orders/"]


def test_the_open_statuses_are_every_status_but_the_terminal_ones() -> None:
    assert "dispatched" in OPEN_STATUSES and "summarizing" in OPEN_STATUSES
    assert not TERMINAL_STATUSES & set(OPEN_STATUSES)


async def test_the_open_set_over_http_holds_every_non_terminal_order(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    truth = {o.key[0] for o in sb.orders() if o.status not in TERMINAL_STATUSES}
    statuses = {o.status for o in sb.orders() if o.status not in TERMINAL_STATUSES}
    assert "dispatched" in statuses
    async with client_for(served_sandbox) as client:
        summaries = [o async for page in client.iter_summary_pages(status=OPEN_STATUSES, limit=50, next_limit=200)
                     for o in page.orders]
        models = await client.list_orders(status=OPEN_STATUSES, limit=200)
    for got in ({o.ref.order_handle for o in summaries}, {o.order_handle for o in models}):
        assert got == truth
    assert {o.status for o in summaries} == statuses
    assert len(summaries) == len([o for o in sb.orders() if o.status not in TERMINAL_STATUSES])
    # The server was asked without a status filter (it refuses `dispatched`), on every page.
    queries = list_queries(sb)
    assert queries and all("status" not in q for q in queries)
    assert all(r.status == 200 for r in sb.stats.snapshot())


async def test_filterable_statuses_are_still_filtered_by_the_server(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    async with client_for(served_sandbox) as client:
        got = await client.list_orders(status="ongoing,assigned", limit=1000)
        dispatched = await client.list_orders(status="dispatched", limit=1000)
    assert {o.status for o in got} == {"ongoing", "assigned"}
    assert len(got) == len(sb.orders("ongoing")) + len(sb.orders("assigned"))
    assert {o.order_handle for o in dispatched} == {o.handle for o in sb.orders("dispatched")}
    first, second = list_queries(sb)[:2]
    assert first["status"] == ["ongoing,assigned"] and "status" not in second


async def test_unknown_statuses_and_rescheduled_with_dispatched_are_refused_before_any_request(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    async with client_for(served_sandbox) as client:
        for bad in ("teleported", "dispatched,rescheduled", ["ongoing", "lost"]):
            with pytest.raises(E.InvalidRequest):
                await client.list_orders(status=bad)
    assert list_queries(sb) == []


async def test_the_sandbox_still_refuses_a_dispatched_filter_as_the_real_api_does(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    creds = sb.credentials
    async with httpx.AsyncClient(base_url=served_sandbox.base_url,
                                 auth=(creds.account_id, creds.secret_key.get_secret_value())) as http:
        for status in ("dispatched", "summarizing", "ongoing,dispatched"):
            r = await http.get("/orders/", params={"status": status})
            assert r.status_code == 422, status
            assert r.json()["detail"]["query"]["status"][0].startswith("Must be one of:")


async def test_the_console_lists_dispatched_orders_counts_them_and_finds_them() -> None:
    sb = make_sandbox(orders=500)
    open_orders = [o for o in sb.orders() if o.status not in TERMINAL_STATUSES]
    target = next(o for o in sb.orders() if o.handle == DISPATCHED)
    assert target.status == "dispatched" and target.worker.handle == "w-priya-yamada"
    app, _, _ = make_app(sb, settings=Settings(base_url=IN_PROCESS_BASE_URL))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        refs = {row.ref.order_handle for row in app.order_list.table.view}
        assert DISPATCHED in refs
        assert refs == {o.handle for o in open_orders}
        assert f"{len(open_orders)} open orders" in screen_text(app)
        await pilot.press("slash", *"ACME")
        await wait_until(pilot, lambda: all("ACME" in r.ref.order_handle for r in app.order_list.table.view),
                         what="the filter")
        shown = [r for r in app.order_list.table.view if r.ref.order_handle == DISPATCHED]
        assert shown and shown[0].status == "dispatched"
        await pilot.press("enter")
        text = screen_text(app)
        assert DISPATCHED in text and "dispatched" in text


def test_a_page_read_for_some_statuses_drops_the_others_but_still_reports_unreadable_items() -> None:
    import json

    from console.api.summaries import SummaryPageReader

    items = [
        {"order_handle": "a", "status": "dispatched"},
        {"order_handle": "b", "status": "completed"},
        {"order_handle": "c", "status": None},
        {"order_handle": "d", "status": "ongoing"},
    ]
    reader = SummaryPageReader(json.dumps({"orders": items, "pagination_token": "t"}),
                               keep=frozenset(OPEN_STATUSES))
    while not reader.done:
        reader.read(2)
    assert [o.ref.order_handle for o in reader.page.orders] == ["a", "d"]
    assert reader.page.skipped == ["c: 1 invalid field(s)"]
    assert reader.page.pagination_token == "t"


async def test_pages_read_on_this_side_are_joined_into_full_pages_after_the_first(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    truth = {o.key[0] for o in sb.orders() if o.status not in TERMINAL_STATUSES}
    async with client_for(served_sandbox) as client:
        pages = [p async for p in client.iter_summary_pages(status=OPEN_STATUSES, limit=10, next_limit=40)]
    fetched = len(list_queries(sb))
    assert len(pages[0].orders) <= 10  # the first page at once, for the first rows
    assert all(len(p.orders) >= 40 for p in pages[1:-1])
    assert len(pages) < fetched  # fewer pages handed over than fetched
    assert pages[-1].pagination_token is None
    assert {o.ref.order_handle for p in pages for o in p.orders} == truth
