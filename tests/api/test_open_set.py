"""The open set: every order that is not completed or cancelled, ``dispatched`` and
``summarizing`` included, although HyperTrack's list filter cannot name them.

Over real loopback HTTP (what the server received is read from ``sandbox.stats``) and in the
console (Pilot) on the default sandbox (seed 7, 500 orders), where ACME/PO-05503 is dispatched
to w-priya-yamada.
"""

from __future__ import annotations

from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

import httpx
import pytest

from console.api import OrdersClient
from console.api import errors as E
from console.api.vocab import OPEN_STATUSES, TERMINAL_STATUSES
from console.settings import Settings
from console.sandbox.core import IN_PROCESS_BASE_URL
from tests.support.hostile import screen_text
from tests.support.sandbox_fixtures import ServedSandbox, make_sandbox, served_sandbox  # noqa: F401 - fixture
from tests.support.sandbox_fixtures import FIXED_START
from tests.support.ui_support import loaded, make_app, wait_until

DISPATCHED = "ACME/PO-05503"
#: What the server filters of the open set (in the order of progress).
FILTERED = "unplanned,planned,assigned,ongoing,disabled"
#: The window's start on the sandbox's clock (FIXED_START, days before the wall clock of any
#: run of these tests): 48 hours before it, in the list filter's format.
WINDOW_START = (FIXED_START - timedelta(hours=48)).strftime("%Y-%m-%d %H:%M:%S")


def key(o) -> tuple:
    return (o.ref.order_handle, o.ref.type, o.ref.type_index, o.ref.fulfillment_attempt)


def client_for(served: ServedSandbox) -> OrdersClient:
    return OrdersClient(served.sandbox.credentials, base_url=served.base_url)


def list_queries(sb) -> list[dict[str, list[str]]]:
    return [parse_qs(r.query) for r in sb.stats.snapshot() if r.raw_path == "/orders/"]


def test_the_open_statuses_are_every_status_but_the_terminal_ones() -> None:
    assert "dispatched" in OPEN_STATUSES and "summarizing" in OPEN_STATUSES
    assert not TERMINAL_STATUSES & set(OPEN_STATUSES)


async def test_the_open_set_over_http_holds_every_non_terminal_order_once(served_sandbox) -> None:
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
    assert len({key(o) for o in summaries}) == len(summaries)  # merged by identity: none twice
    # The server filtered the statuses its filter names; the others (it refuses `dispatched`)
    # came from a query without a status filter, bounded to the recent orders.
    queries = list_queries(sb)
    assert {q["status"][0] for q in queries if "status" in q} == {FILTERED}
    recent = [q for q in queries if "status" not in q]
    assert recent and all(q["created_at_from"] == [WINDOW_START] for q in recent)
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
    assert second["created_at_from"] == [WINDOW_START]


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
    # Whole pages, but for the server-filtered query's last one and the very last.
    assert sum(len(p.orders) < 40 for p in pages[1:]) <= 2
    assert len(pages) < fetched  # fewer pages handed over than fetched
    assert pages[-1].pagination_token is None
    assert {o.ref.order_handle for p in pages for o in p.orders} == truth


# ---------------------------------------------------------------------- the bound


def history_sandbox(history: int, open_orders: int = 200):
    """A sandbox whose account has ``history`` completed orders, all created more than a
    month before its day, beside its ``open_orders``-order day."""
    sb = make_sandbox(orders=open_orders)
    oldest = min(o.created_at for o in sb.orders())
    sb.fleet.add_history(history, before=oldest - 3 * 86400)
    return sb


def items_sent(sb, served_url: str) -> int:
    """How many orders the server put in its answers to the list queries it received."""
    import json

    creds = sb.credentials
    total = 0
    with httpx.Client(base_url=served_url, auth=(creds.account_id, creds.secret_key.get_secret_value())) as http:
        for r in sb.stats.snapshot():
            if r.raw_path == "/orders/" and r.status == 200:
                total += len(json.loads(http.get("/orders/?" + r.query).content)["orders"])
    return total


async def test_an_old_completed_history_is_not_read() -> None:
    from console.sandbox.server import serve_in_thread

    sb = history_sandbox(5000)
    truth = {key_of(o) for o in sb.orders() if o.status not in TERMINAL_STATUSES}
    recent = [o for o in sb.orders() if not o.handle.startswith("HIST-")]
    with serve_in_thread(sb) as url:
        async with OrdersClient(sb.credentials, base_url=url) as client:
            got = [o async for p in client.iter_summary_pages(status=OPEN_STATUSES, limit=100, next_limit=100)
                   for o in p.orders]
        queries = list_queries(sb)
        sent = items_sent(sb, url)
    assert {key(o) for o in got} == truth
    assert any(o.status == "dispatched" for o in got)
    # The open orders, then the recent ones: never the 5,000 old completed orders.
    assert sent <= len(truth) + len(recent)
    assert len(queries) <= len(truth) // 100 + len(recent) // 100 + 3
    assert not any(o.ref.order_handle.startswith("HIST-") for o in got)


def key_of(o) -> tuple:
    return (o.handle, o.type, o.type_index, o.attempt)


async def test_a_window_of_zero_reads_the_whole_history_in_one_unfiltered_query(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    async with OrdersClient(sb.credentials, base_url=served_sandbox.base_url, open_set_window_hours=0) as client:
        got = [o async for p in client.iter_summary_pages(status=OPEN_STATUSES, limit=200) for o in p.orders]
    assert {key(o) for o in got} == {key_of(o) for o in sb.orders() if o.status not in TERMINAL_STATUSES}
    queries = list_queries(sb)
    assert all("status" not in q and "created_at_from" not in q for q in queries)


async def test_a_dispatched_order_created_before_the_window_is_missed_as_documented(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    old = [o for o in sb.orders("dispatched") if o.created_at < FIXED_START.timestamp() - 3600]
    assert old  # dispatched orders created more than an hour before the sandbox's now
    async with client_for(served_sandbox) as client:
        wide = {key(o) async for p in client.iter_summary_pages(status=OPEN_STATUSES) for o in p.orders}
    async with OrdersClient(sb.credentials, base_url=served_sandbox.base_url, open_set_window_hours=1) as client:
        narrow = {key(o) async for p in client.iter_summary_pages(status=OPEN_STATUSES) for o in p.orders}
    assert all(key_of(o) in wide for o in old)
    assert not any(key_of(o) in narrow for o in old)  # outside a 1-hour window: missed
    assert wide - narrow == {key_of(o) for o in sb.orders() if o.status in ("dispatched", "summarizing")
                             and o.created_at < FIXED_START.timestamp() - 3600}


async def test_the_window_is_measured_on_the_servers_clock_and_learnt_when_nothing_else_was_asked(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    async with client_for(served_sandbox) as client:
        got = await client.list_orders(status="dispatched", limit=1000)
    assert {o.order_handle for o in got} == {o.handle for o in sb.orders("dispatched")}
    probe, *rest = list_queries(sb)
    assert probe == {"limit": ["1"]}  # one small request learns the server's clock
    assert rest and all(q["created_at_from"] == [WINDOW_START] and "status" not in q for q in rest)


async def test_the_sandbox_filters_by_creation_time_and_refuses_a_malformed_one(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    creds = sb.credentials
    times = sorted(o.created_at for o in sb.orders())
    middle = times[len(times) // 2]
    stamp = __import__("time").strftime("%Y-%m-%d %H:%M:%S", __import__("time").gmtime(middle))
    async with httpx.AsyncClient(base_url=served_sandbox.base_url,
                                 auth=(creds.account_id, creds.secret_key.get_secret_value())) as http:
        r = await http.get("/orders/", params={"created_at_from": stamp, "limit": 1000})
        assert r.status_code == 200
        got = r.json()["orders"]
        assert len(got) == sum(1 for o in sb.orders() if o.created_at >= int(middle))
        for bad in ("2026-11-29", "2026-11-29T18:00:00Z", "yesterday"):
            r = await http.get("/orders/", params={"created_at_from": bad})
            assert r.status_code == 422 and r.json()["detail"]["query"]["created_at_from"] == ["Not a valid datetime."]
        # A page token belongs to its query: the window is part of it.
        first = (await http.get("/orders/", params={"limit": 5})).json()
        r = await http.get("/orders/", params={"limit": 5, "created_at_from": stamp,
                                                "pagination_token": first["pagination_token"]})
        assert r.status_code == 422


@pytest.mark.parametrize("hours", [-1, 0.5, 721, True, "48"])
def test_the_window_setting_is_validated_by_the_client(hours) -> None:
    with pytest.raises(ValueError, match="window"):
        OrdersClient(None, base_url=IN_PROCESS_BASE_URL, open_set_window_hours=hours)


@pytest.mark.parametrize(("text", "words"), [
    ("open_set_window_hours = 0.5\n", "between 1 and 720"),
    ("open_set_window_hours = 1000\n", "between 1 and 720"),
    ('open_set_window_hours = "48"\n', "must be a number"),
])
def test_the_window_setting_is_validated_in_the_profile(tmp_path, text, words) -> None:
    from console.config import ConfigError, load_config

    path = tmp_path / "config.toml"
    path.write_text("[profiles.day]\n" + text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.key == "profiles.day.open_set_window_hours" and words in str(info.value)


def test_a_profile_window_reaches_the_client(tmp_path, monkeypatch) -> None:
    from console import cli
    from console.api.client import MAX_OPEN_SET_WINDOW_HOURS
    from console.config import MAX_OPEN_SET_WINDOW_HOURS as CONFIG_MAX, load_config

    assert CONFIG_MAX == MAX_OPEN_SET_WINDOW_HOURS
    path = tmp_path / "config.toml"
    path.write_text("[profiles.day]\nopen_set_window_hours = 6\n[profiles.all]\nopen_set_window_hours = 0\n")
    config = load_config(path)
    assert cli._client_options(config.profile("day")) == {"open_set_window_hours": 6}
    assert cli._client_options(config.profile("all")) == {"open_set_window_hours": 0}
    assert cli._client_options(None) == {}
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    args = cli.build_parser(["orders", "--sandbox", "--profile", "day"]).parse_args(
        ["orders", "--sandbox", "--profile", "day"])
    client = cli._client_factory(args)()
    assert client.open_set_window_hours == 6


async def test_the_console_refresh_keeps_dispatched_orders_once() -> None:
    sb = make_sandbox(orders=500)
    app, _, _ = make_app(sb, settings=Settings(base_url=IN_PROCESS_BASE_URL))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        before = app.session.loads
        sb.advance(120)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > before, what="the refresh")
        view = list(app.order_list.table.view)
        truth = {key_of(o) for o in sb.orders() if o.status not in TERMINAL_STATUSES}
        assert {key(r) for r in view} == truth
        assert len(view) == len(truth)
        assert any(r.status == "dispatched" for r in view)


def test_a_page_read_with_orders_to_skip_drops_them_before_reading_them() -> None:
    import json

    from console.api.summaries import SummaryPageReader, item_identity, parse_item_page

    items = [
        {"order_handle": "a", "type": "drop", "type_index": 0, "fulfillment_attempt": 0, "status": "ongoing"},
        {"order_handle": "a", "type": "drop", "type_index": 1, "fulfillment_attempt": 0, "status": "dispatched"},
        {"order_handle": "b", "type": "drop", "type_index": 0, "fulfillment_attempt": 0, "status": None},
        ["not", "an", "order"],
    ]
    body = json.dumps({"orders": items, "pagination_token": None})
    skip = {item_identity(items[0]), item_identity(items[2])}
    reader = SummaryPageReader(body, keep=frozenset(OPEN_STATUSES), skip=skip)
    while not reader.done:
        reader.read(10)
    assert [key(o) for o in reader.page.orders] == [("a", "drop", 1, 0)]
    assert len(reader.page.skipped) == 1  # the non-object is still reported; the skipped one is not
    assert item_identity(items[1]) == key(reader.page.orders[0])  # one identity both ways
    assert parse_item_page(body, skip=skip).items == [items[1], items[3]]
