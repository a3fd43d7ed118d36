"""The sandbox's HTTP behaviour: list filters, pagination, lookup rules, validation, auth, routing
on the raw path, request ids and the server-side stats."""

from __future__ import annotations

import base64

import pytest

from console.api.handles import order_path
from console.sandbox.app import decode_token, encode_token, route
from tests.support.sandbox_fixtures import (  # noqa: F401 - fixtures, until conftest loads the plugin
    raw_http, sandbox, sandbox_client, sandbox_http, sandbox_sleeps,
)


async def pages(http, **params) -> list[list[dict]]:
    out, token = [], None
    while True:
        r = await http.get("/orders/", params=dict(params, **({"pagination_token": token} if token else {})))
        assert r.status_code == 200, r.text
        body = r.json()
        out.append(body["orders"])
        token = body["pagination_token"]
        if token is None:
            return out


def keys(items: list[dict]) -> list[tuple]:
    return [(i["order_handle"], i["type"], i["type_index"], i["fulfillment_attempt"]) for i in items]


# ---------------------------------------------------------------------- pagination and sorting


async def test_pages_cover_every_order_once_newest_first_by_default(sandbox, sandbox_http):
    got = await pages(sandbox_http, limit=64)
    flat = [i for p in got for i in p]
    assert len(flat) == len(sandbox.orders()) == 300
    assert len(set(keys(flat))) == 300
    created = [i["created_at"] for i in flat]
    assert created == sorted(created, reverse=True)
    assert [len(p) for p in got] == [64, 64, 64, 64, 44]


async def test_sort_direction_asc_and_exact_last_page(sandbox_http):
    got = await pages(sandbox_http, limit=100, sort_direction="asc")
    created = [i["created_at"] for p in got for i in p]
    assert created == sorted(created)
    assert [len(p) for p in got] == [100, 100, 100]  # a full last page still ends with a null token


async def test_default_limit_is_100_and_an_empty_result_is_one_page(sandbox_http):
    r = await sandbox_http.get("/orders/")
    assert len(r.json()["orders"]) == 100
    r = await sandbox_http.get("/orders/", params={"search_term": "no-such-thing-anywhere"})
    assert r.json() == {"orders": [], "pagination_token": None}


async def test_new_orders_during_paging_cause_no_duplicates(sandbox, sandbox_http):
    r = await sandbox_http.get("/orders/", params={"limit": 100})
    first = r.json()
    sandbox.advance(3600)  # new orders arrive at the top of a newest-first list
    seen = keys(first["orders"])
    token = first["pagination_token"]
    while token:
        body = (await sandbox_http.get("/orders/", params={"limit": 100, "pagination_token": token})).json()
        seen += keys(body["orders"])
        token = body["pagination_token"]
    assert len(seen) == len(set(seen)) == 300


async def test_a_token_only_works_for_its_own_query(sandbox_http):
    r = await sandbox_http.get("/orders/", params={"limit": 10, "status": "assigned"})
    token = r.json()["pagination_token"]
    ok = await sandbox_http.get("/orders/", params={"limit": 5, "status": "assigned", "pagination_token": token})
    assert ok.status_code == 200  # the page size may change between pages
    for params in ({"status": "ongoing"}, {"status": "assigned", "sort_direction": "asc"}, {}):
        bad = await sandbox_http.get("/orders/", params={**params, "pagination_token": token})
        assert bad.status_code == 422
        assert bad.json()["detail"] == {"query": {"pagination_token": ["Invalid pagination token for this query."]}}


@pytest.mark.parametrize("token", ["garbage", "e30=", base64.urlsafe_b64encode(b'{"v":1,"after":-1,"q":"x"}').decode(),
                                   encode_token(10_000_000, "0" * 16), "%%%"])
async def test_bad_tokens_are_422(sandbox_http, token):
    r = await sandbox_http.get("/orders/", params={"pagination_token": token})
    assert r.status_code == 422
    assert "pagination_token" in r.json()["detail"]["query"]


def test_token_round_trip():
    assert decode_token(encode_token(42, "abc")) == (42, "abc")
    with pytest.raises(ValueError):
        decode_token("!!")


# ---------------------------------------------------------------------- filters


async def test_status_filter_single_and_comma_list(sandbox, sandbox_http):
    for status in ("unplanned", "planned", "assigned", "ongoing", "disabled", "completed", "cancelled"):
        items = [i for p in await pages(sandbox_http, status=status, limit=1000) for i in p]
        assert items and {i["status"] for i in items} == {status}
        assert len(items) == len(sandbox.orders(status))
    items = [i for p in await pages(sandbox_http, status="completed,cancelled", limit=1000) for i in p]
    assert {i["status"] for i in items} == {"completed", "cancelled"}
    rescheduled = [i for p in await pages(sandbox_http, status="rescheduled", limit=1000) for i in p]
    assert rescheduled and all("rescheduled_marked_at" in i for i in rescheduled)


@pytest.mark.parametrize("status", ["dispatched", "summarizing", "lost", "ongoing,lost"])
async def test_unfilterable_statuses_are_422(sandbox_http, status):
    r = await sandbox_http.get("/orders/", params={"status": status})
    assert r.status_code == 422
    assert r.json()["detail"]["query"]["status"][0].startswith("Must be one of: completed, cancelled")


async def test_group_worker_search_and_risk_filters(sandbox, sandbox_http):
    orders = sandbox.orders()
    group = "sf-mission"
    items = [i for p in await pages(sandbox_http, ops_group_handle=group, limit=1000) for i in p]
    assert len(items) == sum(o.area.ops_group_handle == group for o in orders) > 0
    worker = next(o.worker.handle for o in orders if o.worker is not None)
    items = [i for p in await pages(sandbox_http, worker_handle=worker, limit=1000) for i in p]
    assert items and {i["worker_handle"] for i in items} == {worker}
    alias = [i for p in await pages(sandbox_http, driver_handle=worker, limit=1000) for i in p]
    assert keys(alias) == keys(items)
    # search: case-insensitive substring of handle, ops group, worker handle or a metadata value
    customer = next(o.metadata["customer_name"] for o in orders if "customer_name" in o.metadata)
    items = [i for p in await pages(sandbox_http, search_term=customer.upper()[3:12], limit=1000) for i in p]
    assert items and all(customer.upper()[3:12].lower() in " ".join(
        [i["order_handle"], i["ops_group_handle"], i.get("worker_handle", ""), *map(str, i["metadata"].values())]
    ).lower() for i in items)
    some = orders[17]
    items = [i for p in await pages(sandbox_http, search_term=some.handle.lower(), limit=1000) for i in p]
    assert some.handle in {i["order_handle"] for i in items}
    items = [i for p in await pages(sandbox_http, search_term="BERKELEY-HUB", limit=1000) for i in p]
    assert items and all(i["ops_group_handle"] == "berkeley-hub" for i in items)
    # risk_status: true/false match the boolean
    at_risk = [i for p in await pages(sandbox_http, risk_status="true", limit=1000) for i in p]
    calm = [i for p in await pages(sandbox_http, risk_status="False", limit=1000) for i in p]
    assert at_risk and calm and len(at_risk) + len(calm) == 300
    assert all(i["risk_status"] for i in at_risk) and not any(i["risk_status"] for i in calm)


async def test_unknown_query_parameters_are_ignored(sandbox_http):
    plain = await sandbox_http.get("/orders/", params={"limit": 5})
    extra = await sandbox_http.get("/orders/", params={"limit": 5, "aggregate": "yes", "frobnicate": "1"})
    assert extra.status_code == 200 and extra.json() == plain.json()


@pytest.mark.parametrize("params, field, message", [
    ({"limit": "abc"}, "limit", "Not a valid integer."),
    ({"limit": "1.5"}, "limit", "Not a valid integer."),
    ({"limit": "0"}, "limit", "Must be greater than or equal to 1 and less than or equal to 1000."),
    ({"limit": "1001"}, "limit", "Must be greater than or equal to 1 and less than or equal to 1000."),
    ({"sort_direction": "sideways"}, "sort_direction", "Must be one of: desc, asc."),
    ({"risk_status": "maybe"}, "risk_status", "Not a valid boolean."),
])
async def test_list_validation_errors(sandbox_http, params, field, message):
    r = await sandbox_http.get("/orders/", params=params)
    assert r.status_code == 422
    assert r.json() == {"detail": {"query": {field: [message]}}, "message": "Request validation failed"}


async def test_several_bad_parameters_are_reported_together(sandbox_http):
    r = await sandbox_http.get("/orders/", params={"limit": "abc", "sort_direction": "up"})
    assert set(r.json()["detail"]["query"]) == {"limit", "sort_direction"}


# ---------------------------------------------------------------------- one order


def _legs(sandbox):
    by_handle: dict[str, list] = {}
    for o in sandbox.orders():
        by_handle.setdefault(o.handle, []).append(o)
    return by_handle


async def test_get_picks_the_latest_attempt_then_the_first_leg(sandbox, sandbox_http):
    groups = _legs(sandbox)
    legs = next(g for g in groups.values() if {o.type for o in g} == {"pick", "drop"})
    body = (await sandbox_http.get(order_path(legs[0].handle))).json()
    assert (body["type"], body["type_index"]) == ("pick", 0)
    retried = next(g for g in groups.values() if len({o.attempt for o in g}) == 2)
    handle = retried[0].handle
    assert (await sandbox_http.get(order_path(handle))).json()["fulfillment_attempt"] == 1
    first = (await sandbox_http.get(order_path(handle), params={"fulfillment_attempt": 0})).json()
    assert first["fulfillment_attempt"] == 0 and first["status"] == "cancelled"
    r = await sandbox_http.get(order_path(handle), params={"fulfillment_attempt": 5})
    assert r.status_code == 404
    r = await sandbox_http.get(order_path(handle), params={"fulfillment_attempt": "x"})
    assert r.status_code == 422 and r.json()["detail"] == {"query": {"fulfillment_attempt": ["Not a valid integer."]}}


async def test_actions_address_one_leg_and_only_that_leg(sandbox, sandbox_http):
    legs = next(g for g in _legs(sandbox).values()
                if {o.type for o in g} == {"pick", "drop"} and all(o.is_open for o in g))
    drop = next(o for o in legs if o.type == "drop")
    r = await sandbox_http.post(order_path(drop.handle, "complete"), params={"type": "drop", "type_index": drop.type_index})
    assert r.status_code == 200 and r.json()["type"] == "drop"
    assert sandbox.stats.completions_applied == {drop.key: 1}
    assert all(o.is_open for o in legs if o is not drop)
    # without parameters: the first leg (the pick)
    r = await sandbox_http.post(order_path(drop.handle, "complete"))
    assert r.status_code == 200 and r.json()["type"] == "pick"


@pytest.mark.parametrize("params, field", [
    ({"type": "both"}, "type"), ({"type_index": "one"}, "type_index"),
    ({"fulfillment_attempt": "-1"}, "fulfillment_attempt"), ({"fulfillment_attempt": "1e3"}, "fulfillment_attempt"),
])
async def test_action_parameter_validation(sandbox, sandbox_http, params, field):
    o = sandbox.orders("assigned")[0]
    r = await sandbox_http.post(order_path(o.handle, "complete"), params=params)
    assert r.status_code == 422 and field in r.json()["detail"]["query"]
    assert not sandbox.stats.completions_applied and o.status == "assigned"


@pytest.mark.parametrize("body, status", [
    (None, 200), (b"", 200), (b"{}", 200), (b'{"metadata": {"cancel_reason": "x"}}', 200), (b"[1, 2]", 422),
    (b"7", 422), (b"{oops", 422),
])
async def test_action_bodies(sandbox, sandbox_http, body, status):
    o = sandbox.orders("assigned")[0]
    r = await sandbox_http.post(order_path(o.handle, "cancel"), params={"type": o.type}, content=body,
                                headers={"content-type": "application/json"})
    assert r.status_code == status
    if status == 422:
        message = "Invalid JSON body." if body == b"{oops" else "Invalid input type."
        assert r.json()["detail"] == {"json": {"_schema": [message]}}
        assert o.status == "assigned"


async def test_terminal_orders_conflict_with_their_time(sandbox, sandbox_http):
    o = sandbox.orders("cancelled")[0]
    r = await sandbox_http.post(order_path(o.handle, "complete"), params={"fulfillment_attempt": o.attempt,
                                                                          "type": o.type, "type_index": o.type_index})
    assert r.status_code == 409
    body = r.json()
    assert body["message"] == f"Order {o.handle} is already cancelled"
    assert body["detail"]["status"] == "cancelled" and body["detail"]["cancelled_at"].endswith("Z")
    assert not sandbox.stats.completions_applied


# ---------------------------------------------------------------------- routing on the raw path


@pytest.mark.parametrize("handle", ["a/b", "what?now", "PO#7", "a%2Fb", "50% off", "ünïcode", "..x", "%"])
async def test_odd_handles_address_exactly_their_order(sandbox, sandbox_client, handle):
    sandbox.add_order("a", status="assigned")
    target = sandbox.add_order(handle, status="assigned")
    got = await sandbox_client.get_order(handle)
    assert got.order_handle == handle
    done = await sandbox_client.complete_order(handle, type="drop")
    assert done.order_handle == handle
    assert sandbox.stats.completions_applied == {target.key: 1}
    assert sandbox.order("a").status == "assigned"


async def test_the_handle_is_decoded_exactly_once(sandbox, sandbox_http):
    sandbox.add_order("a/b", status="assigned")
    sandbox.add_order("a%2Fb", status="ongoing")
    assert (await sandbox_http.get("/orders/a%2Fb")).json()["status"] == "assigned"
    assert (await sandbox_http.get("/orders/a%252Fb")).json()["status"] == "ongoing"
    assert (await sandbox_http.get("/orders/a/b")).status_code == 404  # two segments, not a handle


@pytest.mark.parametrize("path, kind", [
    (b"/orders/", "list"), (b"/orders", "not_found"), (b"/orders/track", "unsimulated"),
    (b"/orders/plans/p1", "unsimulated"), (b"/orders/routes/", "unsimulated"), (b"/orders/x/disable", "action"),
    (b"/orders/x/", "not_found"), (b"//orders/x", "not_found"), (b"/orders/x/candidate_workers", "unsimulated"), (b"/orders//complete", "not_found"),
    (b"/orders/x/complete/more", "not_found"), (b"/orders/%FF", "not_found"),
])
def test_literal_paths_come_before_handles(path, kind):
    assert route(path).kind == kind


async def test_literal_paths_are_not_orders(sandbox, sandbox_http):
    sandbox.add_order("track", status="assigned")
    r = await sandbox_http.get("/orders/track")
    assert r.status_code == 501
    assert (await sandbox_http.post("/orders/track/complete")).status_code == 501
    assert sandbox.order("track").status == "assigned"


# ---------------------------------------------------------------------- auth, ids, stats


@pytest.mark.parametrize("header", [
    None, "Basic " + base64.b64encode(b"sandbox:nope").decode(), "Basic " + base64.b64encode(b"other:sandbox-secret").decode(),
    "Basic " + base64.b64encode(b"sandboxsandbox-secret").decode(), "Bearer sandbox-secret", "Basic !!!",
    "Basic " + base64.b64encode(b"sandbox:sandbox-secret ").decode(),
])
async def test_everything_needs_basic_auth(sandbox, header):
    o = sandbox.orders("assigned")[0]
    async with raw_http(sandbox, auth=None) as http:
        http.auth = None
        headers = {"authorization": header} if header else {}
        for method, path in (("GET", "/orders/"), ("GET", order_path(o.handle)),
                             ("POST", order_path(o.handle, "complete")), ("GET", "/nowhere")):
            r = await http.request(method, path, headers=headers)
            assert r.status_code == 401
            assert r.json() == {"detail": {}, "message": "Authentication credentials were missing or invalid"}
    assert o.status == "assigned" and not sandbox.stats.completions_applied
    assert all(not rec.auth_ok for rec in sandbox.stats.snapshot())


async def test_request_ids_are_unique_and_recorded(sandbox, sandbox_http):
    ids = []
    for _ in range(5):
        r = await sandbox_http.get("/orders/", params={"limit": 1})
        ids.append(r.headers["apigw-requestid"])
    r = await sandbox_http.get("/orders/NOPE")
    ids.append(r.headers["apigw-requestid"])
    assert len(set(ids)) == 6
    assert [rec.request_id for rec in sandbox.stats.snapshot()] == ids


async def test_stats_record_what_the_server_received(sandbox, sandbox_http):
    o = sandbox.orders("ongoing")[0]
    await sandbox_http.get("/orders/", params={"limit": 3, "status": "ongoing"})
    await sandbox_http.post(order_path(o.handle, "complete"), params={"type": o.type, "type_index": o.type_index,
                                                                     "fulfillment_attempt": o.attempt})
    await sandbox_http.post(order_path(o.handle, "complete"), params={"type": o.type, "type_index": o.type_index,
                                                                     "fulfillment_attempt": o.attempt})
    recs = sandbox.stats.snapshot()
    assert [(r.method, r.status) for r in recs] == [("GET", 200), ("POST", 200), ("POST", 409)]
    assert recs[0].raw_path == "/orders/" and "status=ongoing" in recs[0].query
    assert recs[1].handle == o.handle and recs[1].action == "complete" and recs[1].auth_ok
    assert sandbox.stats.posts_received[(o.handle, "complete")] == 2
    assert sandbox.stats.completions_applied[o.key] == 1
    assert sandbox.stats.completions_of(o.handle) == 1 == sandbox.stats.max_completions_per_order()
    assert sandbox.stats.touched_handles() == {o.handle} == sandbox.stats.changed_handles()
    assert sandbox.stats.count("POST", handle=o.handle) == 2
