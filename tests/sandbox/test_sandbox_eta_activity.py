"""The sandbox's ongoing orders: an ETA that moves with the simulated fleet (never hours in the
past), and a completion that closes the driver's open activity first, as the seed example does
(``driver_activity_ended`` before ``order_completed``).

Over real loopback HTTP (uvicorn in a thread), and on the fleet itself.
"""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from console.sandbox.clock import iso
from tests.support.sandbox_fixtures import ServedSandbox, make_sandbox, served_sandbox  # noqa: F401 - fixture

#: An ongoing order's ETA may lie in the past only while the worker is at the destination,
#: serving it (minutes); never by hours.
AT_MOST_IN_THE_PAST_S = 30 * 60


def ts(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def http_for(served: ServedSandbox) -> httpx.AsyncClient:
    creds = served.sandbox.credentials
    return httpx.AsyncClient(base_url=served.base_url,
                             auth=(creds.account_id, creds.secret_key.get_secret_value()))


async def ongoing_items(http: httpx.AsyncClient) -> list[dict]:
    items: list[dict] = []
    params: dict = {"status": "ongoing", "limit": 1000}
    while True:
        body = (await http.get("/orders/", params=params)).json()
        items.extend(body["orders"])
        if not body.get("pagination_token"):
            return items
        params["pagination_token"] = body["pagination_token"]


def left_without_completing(sb) -> list:
    now = sb.now()
    return [o for o in sb.orders("ongoing") if o.plan is not None and o.plan.exit_t <= now]


async def test_ongoing_etas_over_http_are_never_hours_in_the_past_and_move_with_time(served_sandbox) -> None:
    sb = served_sandbox.sandbox
    left = {o.handle for o in left_without_completing(sb)}
    assert left, "the default fleet has workers who left without completing"
    async with http_for(served_sandbox) as http:
        before = {i["order_handle"]: i for i in await ongoing_items(http)}
        for step in range(3):
            now = sb.now()
            items = await ongoing_items(http)
            assert items
            for item in items:
                eta = ts(item["estimate"]["arrive_at"])
                assert eta >= now - AT_MOST_IN_THE_PAST_S, (item["order_handle"], iso(eta), iso(now))
                if item["order_handle"] in left:
                    # Recomputed from where the worker is now: still ahead, with its distance.
                    assert eta > now and item["estimate"]["distance"] > 0
                    assert item["estimate"]["duration"] == pytest.approx(eta - now, abs=1.5)
            sb.advance(2 * 3600)
        after = {i["order_handle"]: i for i in items}
    moved = [h for h in left if h in after and h in before
             and after[h]["estimate"]["arrive_at"] != before[h]["estimate"]["arrive_at"]]
    assert moved, "the ETAs of workers away from their destination follow the clock"


def test_an_eta_is_recomputed_from_the_workers_position_and_speed() -> None:
    sb = make_sandbox(orders=500)
    with sb.lock:
        now = sb.sync()
        for o in left_without_completing(sb):
            e = o.estimate(now, detail=True)
            where = e["current_worker_location"]["geometry"]["coordinates"]
            speed = o.plan.track.speed(now)
            assert ts(e["arrive_at"]) > now
            assert e["distance"] > 0 and e["duration"] > 0
            # The remaining road at the worker's own speed (or, standing still, the planning speed).
            assert e["distance"] / e["duration"] == pytest.approx(speed if speed > 1.0 else 9.0, rel=0.05)
            assert where == e["start_location"]["coordinates"]


def activities_are_closed_before_the_end(timeline: list[dict], final: str) -> None:
    """Every driver activity started is ended before the next starts and before ``final``."""
    open_kind = None
    types = [e["type"] for e in timeline]
    assert types[-1] == final, types
    for event in timeline[:-1]:
        if event["type"] == "driver_activity_started":
            assert open_kind is None, f"{event['activity']} started while {open_kind} is open: {types}"
            open_kind = event["activity"]
        elif event["type"] == "driver_activity_ended":
            assert open_kind == event["activity"], types
            open_kind = None
    assert open_kind is None, f"the {open_kind} activity is left open: {types}"
    last_activity = [e for e in timeline if e["type"].startswith("driver_activity_")][-1]
    assert last_activity["type"] == "driver_activity_ended"
    assert ts(last_activity["recorded_at"]) <= ts(timeline[-1]["recorded_at"])


def pick(sb, phase: str):
    now = sb.now()
    for o in sb.orders("ongoing"):
        p = o.plan
        if p is None or o.started_at is None or p.track.start >= now:
            continue
        if phase == "driving" and now < p.parked_t:
            return o
        if phase == "stopped" and p.parked_t < now < p.service_end:
            return o
        if phase == "left" and p.outcome == "abandon" and p.exit_t < now:
            return o
    raise AssertionError(f"no ongoing order {phase} in the fleet")


@pytest.mark.parametrize("phase", ["driving", "stopped", "left"])
@pytest.mark.parametrize("action, final", [("complete", "order_completed"), ("cancel", "order_cancelled")])
async def test_a_completion_over_http_ends_the_open_activity_first(served_sandbox, phase, action, final) -> None:
    sb = served_sandbox.sandbox
    o = pick(sb, phase)
    params = {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}
    async with http_for(served_sandbox) as http:
        before = (await http.get(f"/orders/{o.handle}", params={"fulfillment_attempt": o.attempt})).json()
        last_activity = [e for e in before["timeline"] if e["type"].startswith("driver_activity_")][-1]
        assert last_activity["type"] == "driver_activity_started"  # open while ongoing
        r = await http.post(f"/orders/{o.handle}/{action}", params=params, json={})
        assert r.status_code == 200
        done = r.json()
        activities_are_closed_before_the_end(done["timeline"], final)
        ended = done["timeline"][-2]
        assert ended["type"] == "driver_activity_ended"
        assert ended["recorded_at"] == done["timeline"][-1]["recorded_at"]
        assert ended["activity"] == last_activity["activity"]
        assert ended["duration"] >= 0
        # Read back later: the same timeline (the ended event is part of the order's history).
        sb.advance(600)
        again = (await http.get(f"/orders/{o.handle}", params={"fulfillment_attempt": o.attempt})).json()
        assert again["timeline"] == done["timeline"]
