"""The sandbox's fleet and bodies: valid against HyperTrack's reference schemas, realistic,
deterministic, and moving on in time."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from console.api.handles import order_path
from console.sandbox import Sandbox
from console.sandbox.clock import ManualClock, iso
from console.sandbox.contract import VENDORED, adjust, shared_reference_path
from console.sandbox.geo import distance_m
from tests.support.sandbox_fixtures import (  # noqa: F401 - fixtures, until conftest loads the plugin
    FIXED_START, make_sandbox, raw_http, sandbox, sandbox_client, sandbox_sleeps, schema_validator,
)

TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
EXAMPLE_VOCABULARY = {
    "order_created", "order_planned", "order_assigned", "order_started", "driver_activity_started",
    "driver_activity_ended", "order_geofence_entered", "order_geofence_exited", "order_service_started",
    "order_service_ended", "order_disabled", "order_cancelled", "order_completed",
}
ALL_STATUSES = {"unplanned", "planned", "assigned", "dispatched", "ongoing", "disabled", "completed", "cancelled"}
RISK_KEYS = {
    "delayed_from_scheduled_at", "delayed_from_initial_eta", "is_offline", "deviating_from_expected_route",
    "moving_away_from_destination", "moving_too_slow", "in_low_battery", "in_outage",
}
SUMMARY_ONLY_ABSENT = ("timeline", "polyline", "start_location", "end_location")
TIME_FIELDS = (
    "created_at", "planned_at", "assigned_at", "started_at", "scheduled_after", "scheduled_at", "arrived_at",
    "exited_at", "service_started_at", "service_ended_at", "completed_at", "cancelled_at", "disabled_at",
    "rescheduled_marked_at",
)


async def all_pages(http, **params) -> list[dict]:
    items, token = [], None
    while True:
        query = dict(params, **({"pagination_token": token} if token else {}))
        r = await http.get("/orders/", params=query)
        assert r.status_code == 200, r.text
        body = r.json()
        items.extend(body["orders"])
        token = body["pagination_token"]
        if token is None:
            return items


def sample_orders(sb):
    """One order for each (status, type, type_index, attempt) combination in the fleet."""
    seen = {}
    for o in sb.orders():
        seen.setdefault((o.status, o.type, o.type_index, o.attempt, o.plan is not None), o)
    return list(seen.values())


# ---------------------------------------------------------------------- the oracle itself


def test_vendored_reference_is_the_shared_one():
    shared = shared_reference_path()
    if shared is None:
        pytest.skip("no shared/reference beside this checkout")
    assert VENDORED.read_bytes() == shared.read_bytes()


def test_adjustments_are_exactly_the_two_documented_ones():
    doc = {
        "a": {"oneOf": [{"type": "string"}]},
        "b": {"oneOf": [{"type": "string"}], "discriminator": {"propertyName": "x"}},
        "c": {"type": ["string", "null"], "enum": ["x"]},
        "d": {"enum": ["x"]},
    }
    out = adjust(doc)
    assert out["a"] == {"anyOf": [{"type": "string"}]}
    assert "oneOf" in out["b"]  # with a discriminator: left strict
    assert out["c"]["enum"] == ["x", None]
    assert out["d"] == {"enum": ["x"]}  # not nullable: no null added
    assert doc["a"] == {"oneOf": [{"type": "string"}]}  # the input is not changed


def test_validator_rejects_what_the_reference_forbids(schema_validator):
    assert schema_validator.errors("HTTPError", {"detail": {}, "message": "x"}) == []
    assert schema_validator.errors("HTTPError", {"detail": [], "message": "x"})
    assert schema_validator.errors("GetOrderTimelineResponse", {"status": "ongoing"})  # no order_handle
    bad_status = {"order_handle": "x", "status": "lost", "destination": {"geometry": {"type": "Point", "coordinates": [0, 0]}}}
    assert schema_validator.errors("OrderResponse", bad_status)


# ---------------------------------------------------------------------- schema validity


async def test_every_list_page_is_a_valid_GetOrdersResponse(sandbox, schema_validator):
    async with raw_http(sandbox) as http:
        token, pages = None, 0
        while True:
            r = await http.get("/orders/", params={"limit": 70, **({"pagination_token": token} if token else {})})
            assert r.status_code == 200
            schema_validator.check("GetOrdersResponse", r.content)
            for item in r.json()["orders"]:
                schema_validator.check("OrderResponse", item)
            pages += 1
            token = r.json()["pagination_token"]
            if token is None:
                break
    assert pages == 5  # 300 orders in pages of 70


async def test_details_of_every_kind_of_order_are_valid(sandbox, schema_validator):
    async with raw_http(sandbox) as http:
        for o in sample_orders(sandbox):
            r = await http.get(order_path(o.handle), params={"fulfillment_attempt": o.attempt})
            assert r.status_code == 200
            schema_validator.check_response("get", 200, r.content)
        sandbox.advance(1800)  # mid-drive, arrivals, new orders: still valid
        for o in sample_orders(sandbox):
            body = o.wire(sandbox.now(), detail=True)
            schema_validator.check("GetOrderTimelineResponse", body)


async def test_complete_and_cancel_responses_are_valid(sandbox, schema_validator):
    by_status = {}
    for o in sandbox.orders():
        by_status.setdefault(o.status, o)
    async with raw_http(sandbox) as http:
        for status in ("ongoing", "assigned", "unplanned", "disabled"):
            o = by_status[status]
            r = await http.post(order_path(o.handle, "complete"), params=_ref(o), json={})
            assert r.status_code == 200, r.text
            schema_validator.check_response("complete", 200, r.content)
        for status in ("dispatched", "planned"):
            o = by_status[status]
            r = await http.post(order_path(o.handle, "cancel"), params=_ref(o))
            assert r.status_code == 200, r.text
            schema_validator.check_response("cancel", 200, r.content)


async def test_every_error_body_is_valid(sandbox, schema_validator):
    done = next(o for o in sandbox.orders("completed"))
    async with raw_http(sandbox) as http, raw_http(sandbox, auth=("sandbox", "wrong")) as bad_auth:
        cases = [
            (await bad_auth.get("/orders/"), 401),
            (await http.get("/orders/NOPE-1"), 404),
            (await http.post(order_path(done.handle, "complete"), params=_ref(done)), 409),
            (await http.post(order_path(done.handle, "cancel"), params=_ref(done)), 409),
            (await http.get("/orders/", params={"limit": "abc"}), 422),
            (await http.get("/orders/", params={"status": "lost"}), 422),
            (await http.post(order_path(done.handle, "complete"), params={"type": "both"}), 422),
            (await http.post("/orders/x/complete", content=b"{not json"), 422),
            (await http.get("/orders/track"), 501),
            (await http.delete("/orders/x"), 405),
            (await http.get("/nothing-here"), 404),
        ]
        sandbox.faults.rate_limit(1, retry_after=3)
        cases.append((await http.get("/orders/"), 429))
        for code in ("500", "502", "503", "504"):
            sandbox.faults.script("GET", None, [code])
            cases.append((await http.get("/orders/"), int(code)))
        sandbox.faults.gateway_timeout_after_apply(1)
        o = sandbox.orders("assigned")[0]
        cases.append((await http.post(order_path(o.handle, "complete"), params=_ref(o)), 504))
    for response, status in cases:
        assert response.status_code == status, (status, response.text)
        assert response.headers["content-type"].startswith("application/json")
        schema = "ValidationError" if status == 422 else "HTTPError"
        schema_validator.check(schema, response.content)
        body = response.json()
        assert isinstance(body["message"], str) and body["message"]
        assert isinstance(body["detail"], dict)


def _ref(o) -> dict:
    return {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}


# ---------------------------------------------------------------------- the shape of orders


async def test_summaries_leave_out_detail_fields_and_nulls(sandbox):
    async with raw_http(sandbox) as http:
        items = await all_pages(http, limit=1000)
    assert len(items) == 300
    for item in items:
        for name in SUMMARY_ONLY_ABSENT:
            assert name not in item
        assert all(v is not None for v in item.values()), item["order_handle"]
        assert set(item["risks"]) == RISK_KEYS
        assert item["risk_status"] == any(v != "green" for v in item["risks"].values())
        for name in TIME_FIELDS:
            if name in item:
                assert TS_RE.match(item[name]), (name, item[name])
        if item["status"] in ("completed", "cancelled", "unplanned"):
            assert "estimate" not in item
        else:
            assert "estimate" in item
        if item["status"] != "completed":
            assert "completed_at" not in item


async def test_detail_has_everything_with_the_example_vocabulary(sandbox):
    started = [o for o in sample_orders(sandbox) if o.plan is not None]
    assert started
    async with raw_http(sandbox) as http:
        for o in started:
            d = (await http.get(order_path(o.handle), params={"fulfillment_attempt": o.attempt})).json()
            if (d["type"], d["type_index"]) != (o.type, o.type_index):
                continue  # another leg of the handle is what GET shows (see the lookup rule)
            assert all(v is not None for v in d.values())
            for name in ("timeline", "polyline", "start_location", "end_location"):
                assert name in d, name
            types = [e["type"] for e in d["timeline"]]
            assert set(types) <= EXAMPLE_VOCABULARY
            assert types[0] == "order_created"
            stamps = [e["recorded_at"] for e in d["timeline"]]
            assert stamps == sorted(stamps)
            assert all(TS_RE.match(s) for s in stamps)
            if d["status"] == "completed":
                assert "order_completed" in types
                assert d["completed_at"] in stamps
            assert d["share_url"].startswith("https://trck.at/")


async def test_polylines_are_plausible_journeys_longitude_first(sandbox):
    duplicates = 0
    for o in sandbox.orders():
        if o.plan is None:
            continue
        points = o.polyline(sandbox.now())
        for lon, lat, alt, ts in points:
            assert -123.0 < lon < -121.5 and 37.0 < lat < 38.2  # the Bay Area, [lon, lat]
            assert 0 <= alt < 200
            assert TS_RE.match(ts)
        for (lon1, lat1, _, t1), (lon2, lat2, _, t2) in zip(points, points[1:]):
            assert t1 <= t2
            seconds = (_ts(t2) - _ts(t1))
            metres = distance_m(lon1, lat1, lon2, lat2)
            assert seconds > 0
            assert metres / seconds < 35  # no teleporting: under ~125 km/h
            duplicates += (lon1, lat1) == (lon2, lat2)
    assert duplicates > 0  # points repeat while standing still, as in HyperTrack's examples


def _ts(text: str) -> float:
    from console.api.timestamps import parse_timestamp

    value = parse_timestamp(text)
    assert value is not None
    return value.timestamp()


def test_the_fleet_has_every_status_colour_leg_and_attempt(sandbox):
    orders = sandbox.orders()
    statuses = Counter(o.status for o in orders)
    assert set(statuses) == ALL_STATUSES
    open_ = sum(n for s, n in statuses.items() if s not in ("completed", "cancelled"))
    assert open_ > len(orders) / 2  # most orders are open
    colours = Counter(v for o in orders for v in o.risks.values())
    assert set(colours) == {"green", "yellow", "red"}
    by_handle: dict[str, list] = {}
    for o in orders:
        by_handle.setdefault(o.handle, []).append(o)
    legs = [g for g in by_handle.values() if {o.type for o in g} == {"pick", "drop"}]
    assert legs and all(len({o.type_index for o in g if o.type == "pick"}) == 1 for g in legs)
    retried = [g for g in by_handle.values() if {o.attempt for o in g} == {0, 1}]
    assert retried
    for g in retried:
        second = next(o for o in g if o.attempt == 1)
        first = next(o for o in g if o.attempt == 0)
        assert second.previous == [{"order_handle": second.handle, "fulfillment_attempt": 0}]
        assert first.status == "cancelled" and first.rescheduled_marked_at is not None
    now = sandbox.now()
    late = [o for o in orders if o.is_open and o.scheduled_at is not None and o.scheduled_at < now]
    assert late
    assert len(sandbox.fleet.workers) >= 12 and len({w.area.ops_group_handle for w in sandbox.fleet.workers}) == 4
    assert all(re.fullmatch(r"ORD-\d{8}-\d{4}", o.handle) or "ACME" in o.handle or "PO#" in o.handle
               or "@" in o.handle for o in orders)


def test_same_seed_and_clock_give_the_same_bytes_and_another_seed_does_not():
    a, b, c = make_sandbox(), make_sandbox(), make_sandbox(seed=8)
    now = a.now()
    assert [o.summary_bytes(now) for o in a.orders()] == [o.summary_bytes(now) for o in b.orders()]
    assert [json.dumps(o.wire(now, detail=True)) for o in a.orders()[:50]] == \
        [json.dumps(o.wire(now, detail=True)) for o in b.orders()[:50]]
    assert [o.summary_bytes(now) for o in a.orders()] != [o.summary_bytes(now) for o in c.orders()]
    a.advance(900)
    b.advance(900)
    assert [o.summary_bytes(a.now()) for o in a.orders()] == [o.summary_bytes(b.now()) for o in b.orders()]


# ---------------------------------------------------------------------- moving on in time


def test_the_fleet_moves_on(sandbox):
    t0 = sandbox.now()
    before = {o.key: (o.status, o.summary_bytes(t0)) for o in sandbox.orders()}
    ongoing = [o for o in sandbox.orders("ongoing") if o.plan is not None and o.plan.track.end > t0 + 600]
    assert ongoing
    lengths = {o.key: len(o.polyline(t0)) for o in ongoing}
    risks_before = {o.key: dict(o.risks) for o in sandbox.orders()}
    sandbox.advance(1800)
    t1 = sandbox.now()
    after = {o.key: o for o in sandbox.orders()}
    assert len(after) > len(before)  # new orders came in
    assert sum(1 for k, (s, _) in before.items() if after[k].status != s) >= 5  # orders progressed
    assert any(len(after[o.key].polyline(t1)) > lengths[o.key] for o in ongoing)  # journeys went on
    assert any(after[k].risks != r for k, r in risks_before.items())  # risks changed
    moved = [k for k, (s, b) in before.items() if after[k].status == s == "ongoing" and after[k].summary_bytes(t1) != b]
    assert moved  # ETAs / arrivals changed in the list itself
    new = [o for o in after.values() if o.key not in before]
    assert all(o.created_at > t0 for o in new)
    assert [o.seq for o in sandbox.fleet.ordered] == list(range(len(sandbox.fleet.ordered)))


def test_the_fleet_follows_its_clock_without_being_told():
    clock = ManualClock(FIXED_START)
    sb = Sandbox(seed=7, orders=60, clock=clock)
    count = len(sb.orders())
    clock.advance(3600)
    assert len(sb.orders()) > count  # any read syncs the fleet to its clock
    assert sb.now() == FIXED_START.timestamp() + 3600


def test_the_default_clock_is_wall_time_moving_monotonically():
    from console.sandbox.clock import WallClock

    clock = WallClock()
    a = clock()
    assert abs(a - time.time()) < 5
    assert clock() >= a


async def test_complete_appends_to_the_timeline_like_the_seed_example(sandbox, sandbox_client):
    o = next(o for o in sandbox.orders("ongoing") if o.plan is not None and o.plan.arrive_t < sandbox.now())
    sandbox.advance(5)
    done = await sandbox_client.complete_order(o.handle, type=o.type, type_index=o.type_index,
                                               fulfillment_attempt=o.attempt)
    assert done.status == "completed"
    assert done.completed_at is not None and done.completed_at.timestamp() == pytest.approx(sandbox.now(), abs=0.001)
    assert done.timeline[-1].type == "order_completed"
    assert done.timeline[-1].recorded_at == done.completed_at
    assert done.estimate is None
    assert done.deviation_from_destination is not None and done.completed_at_destination is not None
    assert done.polyline is not None and done.end_location is not None
    assert (done.deviation_from_destination <= o.radius) == done.completed_at_destination


async def test_cancel_appends_order_cancelled(sandbox, sandbox_client):
    o = sandbox.orders("assigned")[0]
    cancelled = await sandbox_client.cancel_order(o.handle, type=o.type, type_index=o.type_index,
                                                  fulfillment_attempt=o.attempt)
    assert cancelled.status == "cancelled"
    assert cancelled.timeline[-1].type == "order_cancelled"
    assert cancelled.timeline[-1].recorded_at == cancelled.cancelled_at
    assert cancelled.estimate is None
    assert cancelled.model_extra.get("cancelled_at_destination") is False or cancelled.cancelled_at_destination is False
    assert sandbox.stats.cancellations_applied[o.key] == 1


def test_completing_stops_the_journey_and_frees_the_worker(sandbox):
    o = next(o for o in sandbox.orders("ongoing") if o.worker is not None and o.worker.current is o)
    worker = o.worker
    queued = [x for x in worker.route if x.status in ("assigned", "dispatched")]
    t = sandbox.now()
    with sandbox.lock:
        sandbox.fleet.complete(o, t)
    points = len(o.polyline(t))
    sandbox.advance(900)
    assert len(o.polyline(sandbox.now())) == points  # no tracking after completion
    assert o.summary_bytes(sandbox.now()) == o.summary_bytes(sandbox.now() + 3600)
    if queued:
        assert queued[0].status != "dispatched" or queued[0].start_pending  # the worker moved on


# ---------------------------------------------------------------------- scale and start-up


def test_a_few_thousand_orders_build_and_list_page_by_page():
    sb = make_sandbox(orders=5000)
    assert len(sb.orders()) == 5000
    assert len({o.key for o in sb.orders()}) == 5000
    page, more = sb.fleet.select(lambda o: o.status == "ongoing", after=None, limit=100, descending=True)
    assert more and len(page) == 100 and all(o.status == "ongoing" for o in page)


@pytest.mark.slow
def test_fifty_thousand_orders():
    sb = make_sandbox(orders=50_000)
    now = sb.now()
    page, more = sb.fleet.select(lambda o: True, after=None, limit=1000, descending=True)
    body = b",".join(o.summary_bytes(now) for o in page)
    assert more and body.count(b'"order_handle"') == 1000


def test_start_up_imports_stay_light():
    code = (
        "import sys, console.api, console.api.client\n"
        "bad = [m for m in ('console.sandbox', 'starlette', 'uvicorn') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "import argparse, console.sandbox.server as s\n"  # what cli.py needs for its options
        "s.add_sandbox_arguments(argparse.ArgumentParser())\n"
        "bad = [m for m in ('starlette', 'uvicorn', 'console.sandbox.fleet') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "from console.sandbox import Sandbox\n"
        # The embedded sandbox (in process) runs without Starlette: only serving needs it.
        "sb = Sandbox(orders=10); sb.transport()\n"
        "bad = [m for m in ('starlette', 'uvicorn', 'anyio') if m in sys.modules]\n"
        "assert not bad, bad\n"
        "sb.app\n"
        "assert 'starlette' in sys.modules\n"
    )
    root = Path(__file__).resolve().parents[2]
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


def test_iso_matches_the_api_form():
    assert iso(FIXED_START.timestamp() + 0.5) == "2026-11-29T18:30:00.500Z"
    assert iso(FIXED_START.timestamp() + 59.9996) == "2026-11-29T18:31:00.000Z"
