"""The sandbox's write actions beyond complete: disable, enable, reassign, reschedule (and the
cancel body), with their state rules, error answers, schema validity, 405s and fault knobs.

What the server did is read from the sandbox itself (the order's state, ``sandbox.stats``),
never from the answer alone."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from console.api.handles import order_path
from console.sandbox.actions import APPLIES_TO, WRITE_ACTIONS
from console.sandbox.clock import iso
from console.sandbox.contract import VENDORED_ACTIONS, ACTIONS_SCHEMA_FILE, shared_reference_path
from tests.support.sandbox_fixtures import (  # noqa: F401 - fixtures, until conftest loads the plugin
    raw_http, sandbox, sandbox_http, schema_validator, served_sandbox,
)

NEW_ACTIONS = ("disable", "enable", "reassign", "reschedule")
CREATABLE = ("unplanned", "planned", "assigned", "ongoing", "disabled", "completed", "cancelled")


def action_path(handle: str, action: str) -> str:
    return f"{order_path(handle)}/{action}"


def leg(o) -> dict:
    return {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}


def other_worker(sandbox, o):
    """A worker of ``o``'s ops group who is not its worker."""
    group = o.area.ops_group_handle
    return next(w for w in sandbox.fleet.workers_by_area[group] if w is not o.worker)


def body_for(sandbox, o, action: str) -> dict:
    if action == "reassign":
        return {"worker_handle": other_worker(sandbox, o).handle}
    if action == "reschedule":
        return {"scheduled_at": iso(sandbox.now() + 3 * 3600)}
    return {}


async def post(http, o, action: str, body=None, **params):
    return await http.post(action_path(o.handle, action), params={**leg(o), **params},
                           json=body if body is not None else {})


# ---------------------------------------------------------------------- the vendored schemas


def test_vendored_actions_reference_is_the_shared_one():
    shared = shared_reference_path(ACTIONS_SCHEMA_FILE)
    if shared is None:
        pytest.skip("no shared/reference beside this checkout")
    assert VENDORED_ACTIONS.read_bytes() == shared.read_bytes()


def test_the_validator_knows_the_action_schemas(schema_validator):
    for name in ("DisableOrderResponse", "EnableOrderResponse", "ReassignOrderResponse",
                 "RescheduleOrderResponse", "RescheduleOrderRequest"):
        assert name in schema_validator.schema_names
    # EnableOrderResponse requires enabled_at (the spec's own example leaves it out).
    assert schema_validator.errors("EnableOrderResponse", {"order_handle": "x", "status": "ongoing"})


# ---------------------------------------------------------------------- each action's happy path


async def test_disable_then_enable_gives_the_working_status_back(sandbox, sandbox_http, schema_validator):
    o = sandbox.orders("assigned")[0]
    r = await post(sandbox_http, o, "disable")
    assert r.status_code == 200, r.text
    schema_validator.check_response("disable", 200, r.content)
    assert r.json()["status"] == "disabled" and o.status == "disabled"
    assert r.json()["disabled_at"] == iso(sandbox.now())
    sandbox.advance(60)
    r = await post(sandbox_http, o, "enable")
    assert r.status_code == 200, r.text
    schema_validator.check_response("enable", 200, r.content)
    body = r.json()
    assert body["status"] == o.status and o.status in ("assigned", "dispatched")
    assert body["enabled_at"] == iso(sandbox.now()) and "disabled_at" in body  # kept, as in the example
    assert [e["type"] for e in body["timeline"]][-2:] == ["order_disabled", "order_enabled"]
    assert sandbox.stats.applied_count("disable", o.handle) == 1
    assert sandbox.stats.applied_count("enable", o.handle) == 1


async def test_an_order_the_fleet_disabled_while_its_start_was_coming_is_worked_once_enabled() -> None:
    # The fleet's own disable (a scheduled fate) made the order's pending start lapse but left
    # it marked as coming: enabled again, its worker reached it and waited for that start for
    # ever, and the rest of their queue with it.
    from tests.support.sandbox_fixtures import make_sandbox

    sb = make_sandbox(orders=500)
    by_fate = [x for x in sb.orders("disabled") if x.resumes is None]  # the API's disable sets resumes
    assert len(by_fate) >= 5
    async with raw_http(sb) as http:
        for o in by_fate:
            assert (await post(http, o, "enable")).status_code == 200
    for _ in range(24 * 6):  # a simulated day, ten minutes at a time
        sb.advance(600)
        if all(o.status not in ("assigned", "dispatched") for o in by_fate):
            break
    # Worked (ongoing, completed, or cancelled at the door), none waiting for a start that lapsed.
    assert [(o.handle, o.status) for o in by_fate if o.status in ("assigned", "dispatched")] == []


async def test_an_ongoing_order_disabled_comes_back_ongoing_and_its_worker_moves_on(sandbox, sandbox_http,
                                                                                  schema_validator):
    o = next(x for x in sandbox.orders("ongoing") if x.worker is not None and x.worker.current is x)
    w = o.worker
    where = o.plan.track.position(sandbox.now())
    assert (await post(sandbox_http, o, "disable")).status_code == 200
    assert w.current is None and w.pos == where
    r = await post(sandbox_http, o, "enable")
    assert r.status_code == 200 and r.json()["status"] == "ongoing"
    schema_validator.check_response("enable", 200, r.content)


async def test_reassign_gives_the_order_to_the_new_worker(sandbox, sandbox_http, schema_validator):
    o = sandbox.orders("assigned")[0]
    old, new = o.worker, other_worker(sandbox, o)
    r = await post(sandbox_http, o, "reassign", {"worker_handle": new.handle})
    assert r.status_code == 200, r.text
    schema_validator.check_response("reassign", 200, r.content)
    body = r.json()
    assert body["worker_handle"] == new.handle and body["device_id"] == new.device_id
    assert body["status"] in ("assigned", "dispatched") and body["assigned_at"] == iso(sandbox.now())
    assert o in new.route and o not in old.route and o.worker is new
    # The worker's handle is in the list filter from now on.
    listed = await sandbox_http.get("/orders/", params={"worker_handle": new.handle, "limit": 1000})
    assert o.handle in {x["order_handle"] for x in listed.json()["orders"]}
    # A repeated reassign to the same worker changes nothing.
    before = (o.status, o.assigned_at, list(new.route))
    again = await post(sandbox_http, o, "reassign", {"worker_handle": new.handle})
    assert again.status_code == 200 and (o.status, o.assigned_at, list(new.route)) == before


async def test_reassign_of_an_unplanned_order_assigns_it(sandbox, sandbox_http, schema_validator):
    o = sandbox.orders("unplanned")[0]
    new = sandbox.fleet.workers_by_area[o.area.ops_group_handle][0]
    r = await post(sandbox_http, o, "reassign", {"worker_handle": new.handle,
                                                 "ops_group_handle": o.area.ops_group_handle})
    assert r.status_code == 200, r.text
    schema_validator.check_response("reassign", 200, r.content)
    assert o.worker is new and o.status in ("assigned", "dispatched")


async def test_reassign_of_an_ongoing_order_starts_it_over_with_the_new_worker(sandbox, sandbox_http,
                                                                              schema_validator):
    o = next(x for x in sandbox.orders("ongoing") if x.worker is not None and x.worker.current is x)
    old, new = o.worker, other_worker(sandbox, o)
    where = o.plan.track.position(sandbox.now())
    r = await post(sandbox_http, o, "reassign", {"worker_handle": new.handle})
    assert r.status_code == 200, r.text
    schema_validator.check_response("reassign", 200, r.content)
    body = r.json()
    assert body["status"] in ("assigned", "dispatched") and body["worker_handle"] == new.handle
    assert "started_at" not in body and "share_url" not in body  # tracking starts over
    assert old.current is None and old.pos == where and o not in old.route and o in new.route


async def test_a_disabled_order_reassigned_stays_disabled_until_enabled(sandbox, sandbox_http, schema_validator):
    o = sandbox.orders("assigned")[0]
    new = other_worker(sandbox, o)
    assert (await post(sandbox_http, o, "disable")).status_code == 200
    r = await post(sandbox_http, o, "reassign", {"worker_handle": new.handle})
    assert r.status_code == 200, r.text
    schema_validator.check_response("reassign", 200, r.content)
    assert (r.json()["status"], r.json()["worker_handle"]) == ("disabled", new.handle)
    r = await post(sandbox_http, o, "enable")
    assert r.json()["status"] in ("assigned", "dispatched") and o in new.route


async def test_an_unplanned_order_disabled_comes_back_unplanned(sandbox, sandbox_http):
    o = sandbox.orders("unplanned")[0]
    assert (await post(sandbox_http, o, "disable")).json()["status"] == "disabled"
    assert (await post(sandbox_http, o, "enable")).json()["status"] == "unplanned"
    sandbox.advance(3600)  # and planning picks it up again
    assert o.status != "unplanned"


async def test_reschedule_of_a_disabled_order_takes_it_off_its_route(sandbox, sandbox_http):
    o = sandbox.orders("assigned")[0]
    w = o.worker
    assert (await post(sandbox_http, o, "disable")).status_code == 200
    r = await post(sandbox_http, o, "reschedule", {"scheduled_at": iso(sandbox.now() + 7200)})
    assert r.json()["status"] == "unplanned" and o not in w.route and r.json()["fulfillment_attempt"] == o.attempt


async def test_reschedule_before_dispatch_takes_the_order_off_its_route(sandbox, sandbox_http, schema_validator):
    o = sandbox.orders("assigned")[0]
    w = o.worker
    at, after = sandbox.now() + 5 * 3600, sandbox.now() + 4 * 3600
    r = await post(sandbox_http, o, "reschedule", {"scheduled_at": iso(at), "scheduled_after": iso(after)})
    assert r.status_code == 200, r.text
    schema_validator.check_response("reschedule", 200, r.content)
    body = r.json()
    assert body["status"] == "unplanned" and body["fulfillment_attempt"] == o.attempt
    assert (body["scheduled_at"], body["scheduled_after"]) == (iso(at), iso(after))
    assert "worker_handle" not in body and "route_handle" not in body
    assert o not in w.route and o.worker is None
    sandbox.advance(3 * 3600)  # planned again by the simulation, with the new times
    assert o.status != "unplanned" and o.scheduled_at == at


async def test_reschedule_of_a_dispatched_order_recreates_it_unplanned(sandbox, sandbox_http, schema_validator):
    for status in ("dispatched", "ongoing"):
        o = sandbox.orders(status)[0]
        at = sandbox.now() + 6 * 3600
        r = await post(sandbox_http, o, "reschedule", {"scheduled_at": iso(at).replace(".000Z", "Z")})
        assert r.status_code == 200, r.text
        schema_validator.check_response("reschedule", 200, r.content)
        body = r.json()
        assert body["status"] == "unplanned" and body["scheduled_at"] == iso(at)
        assert body["fulfillment_attempt"] == o.attempt + 1
        assert body["previous_fulfillments"][-1] == {"order_handle": o.handle, "fulfillment_attempt": o.attempt}
        # The dispatched attempt ends cancelled and marked rescheduled; a read finds the new one.
        assert o.status == "cancelled" and o.rescheduled_marked_at == sandbox.now()
        got = (await sandbox_http.get(order_path(o.handle))).json()
        assert (got["status"], got["fulfillment_attempt"]) == ("unplanned", o.attempt + 1)
        old = (await sandbox_http.get(order_path(o.handle), params={"fulfillment_attempt": o.attempt})).json()
        assert old["status"] == "cancelled" and "rescheduled_marked_at" in old
        listed = await sandbox_http.get("/orders/", params={"status": "rescheduled", "search_term": o.handle})
        assert o.handle in {x["order_handle"] for x in listed.json()["orders"]}


async def test_reschedule_reads_iso_8601_with_an_offset(sandbox, sandbox_http):
    o = sandbox.orders("planned")[0]
    r = await post(sandbox_http, o, "reschedule", {"scheduled_at": "2026-11-30T09:15:00-08:00"})
    assert r.status_code == 200, r.text
    assert r.json()["scheduled_at"] == "2026-11-30T17:15:00.000Z"
    assert o.scheduled_at == datetime(2026, 11, 30, 17, 15, tzinfo=timezone.utc).timestamp()


# ---------------------------------------------------------------------- state rules: 409s


@pytest.mark.parametrize("action", WRITE_ACTIONS)
@pytest.mark.parametrize("status", CREATABLE)
async def test_each_action_applies_exactly_to_its_statuses(sandbox, sandbox_http, schema_validator, action, status):
    o = sandbox.add_order(f"RULE-{action}-{status}", status=status)
    r = await post(sandbox_http, o, action, body_for(sandbox, o, action))
    if status in APPLIES_TO[action]:
        assert r.status_code == 200, r.text
        schema_validator.check_response(action, 200, r.content)
        assert sandbox.stats.applied_count(action, o.handle) == 1
        return
    assert r.status_code == 409, r.text
    schema_validator.check("HTTPError", r.content)
    body = r.json()
    assert sandbox.stats.applied_count(action, o.handle) == 0 and o.status == status
    if status in ("completed", "cancelled"):
        assert body["message"] == f"Order {o.handle} is already {status}"
    else:
        assert body["message"] == f"Order {o.handle} is {status}: {action} does not apply"
        assert body["detail"]["status"] == status and status not in body["detail"]["applies_to"]


async def test_actions_on_an_unknown_order_are_404(sandbox, sandbox_http, schema_validator):
    bodies = {"reassign": {"worker_handle": sandbox.fleet.workers[0].handle},
              "reschedule": {"scheduled_at": "2026-12-01T10:00:00Z"}}
    for action in NEW_ACTIONS:
        r = await sandbox_http.post(action_path("NOPE-1", action), json=bodies.get(action, {}))
        assert r.status_code == 404
        assert r.json() == {"detail": {}, "message": "Order not found for handle NOPE-1"}
        schema_validator.check("HTTPError", r.content)


# ---------------------------------------------------------------------- 422s


@pytest.mark.parametrize("action, body, field", [
    ("reassign", {}, "worker_handle"),
    ("reassign", {"worker_handle": 7}, "worker_handle"),
    ("reassign", {"worker_handle": "w-nobody"}, "worker_handle"),
    ("reassign", {"worker_handle": "{w}", "ops_group_handle": "elsewhere"}, "ops_group_handle"),
    ("reassign", {"worker_handle": "{w}", "order_type": "both"}, "order_type"),
    ("reassign", [1, 2], "_schema"),
    ("reschedule", {}, "scheduled_at"),
    ("reschedule", {"scheduled_at": None}, "scheduled_at"),
    ("reschedule", {"scheduled_at": "tomorrow"}, "scheduled_at"),
    ("reschedule", {"scheduled_at": 1764000000}, "scheduled_at"),
    ("reschedule", {"scheduled_at": "0001-01-01T00:00:00+01:00"}, "scheduled_at"),
    ("reschedule", {"scheduled_at": "9999-12-31T23:59:59-05:00"}, "scheduled_at"),
    ("reschedule", {"scheduled_at": "2026-12-01T10:00:00Z", "scheduled_after": "2026-12-01T11:00:00Z"},
     "scheduled_after"),
    ("reschedule", "2026-12-01T10:00:00Z", "_schema"),
])
async def test_bad_bodies_are_422_and_change_nothing(sandbox, sandbox_http, schema_validator, action, body, field):
    o = sandbox.orders("assigned")[0]
    if isinstance(body, dict) and body.get("worker_handle") == "{w}":
        body = {**body, "worker_handle": other_worker(sandbox, o).handle}
    before = (o.status, o.worker, o.scheduled_at)
    r = await post(sandbox_http, o, action, body)
    assert r.status_code == 422, r.text
    schema_validator.check("ValidationError", r.content)
    assert r.json()["message"] == "Request validation failed"
    assert field in r.json()["detail"]["json"]
    assert (o.status, o.worker, o.scheduled_at) == before and not sandbox.stats.actions_applied


@pytest.mark.parametrize("action", NEW_ACTIONS)
async def test_the_leg_identity_is_validated_and_used(sandbox, sandbox_http, action):
    o = sandbox.orders("assigned")[0]
    r = await sandbox_http.post(action_path(o.handle, action), params={"type": "both", "type_index": -1},
                                json=body_for(sandbox, o, action))
    assert r.status_code == 422
    assert set(r.json()["detail"]["query"]) == {"type", "type_index"}
    r = await sandbox_http.post(action_path(o.handle, action), params={**leg(o), "fulfillment_attempt": o.attempt + 5},
                                json=body_for(sandbox, o, action))
    assert r.status_code == 404 and not sandbox.stats.actions_applied


async def test_a_pick_leg_is_addressed_by_its_type(sandbox, sandbox_http):
    pick = sandbox.add_order("LEGS-1", status="assigned", type="pick")
    drop = sandbox.add_order("LEGS-1", status="assigned", type="drop")
    r = await sandbox_http.post(action_path("LEGS-1", "disable"), params={"type": "drop"}, json={})
    assert r.status_code == 200 and r.json()["type"] == "drop"
    assert (pick.status, drop.status) == ("assigned", "disabled")


# ---------------------------------------------------------------------- the cancel reason


async def test_a_cancel_reason_in_metadata_is_accepted_and_kept(sandbox, sandbox_http, schema_validator):
    """CancelOrderRequest is ``{type: object, properties: {}}``: no ``additionalProperties:
    false``, so ``{"metadata": {...}}`` is a valid body. The sandbox keeps it in the order's
    metadata, as HyperTrack's integration guide implies."""
    assert schema_validator.errors("CancelOrderRequest", {"metadata": {"cancel_reason": "no one home"}}) == []
    o = sandbox.orders("assigned")[0]
    customer = o.metadata["customer_id"]
    r = await post(sandbox_http, o, "cancel", {"metadata": {"cancel_reason": "no one home"}})
    assert r.status_code == 200, r.text
    schema_validator.check_response("cancel", 200, r.content)
    assert r.json()["metadata"]["cancel_reason"] == "no one home"
    got = (await sandbox_http.get(order_path(o.handle), params={"fulfillment_attempt": o.attempt})).json()
    assert got["metadata"]["cancel_reason"] == "no one home" and got["metadata"]["customer_id"] == customer


# ---------------------------------------------------------------------- 405 and Allow


@pytest.mark.parametrize("method, path, allow", [
    ("DELETE", "/orders/", "GET, POST"),
    ("HEAD", "/orders/", "GET, POST"),
    ("PUT", "/orders/{h}", "GET, PATCH"),
    ("DELETE", "/orders/{h}", "GET, PATCH"),
    *[("GET", f"/orders/{{h}}/{a}", "POST") for a in WRITE_ACTIONS],
    ("PATCH", "/orders/{h}/reassign", "POST"),
    ("TRACE", "/orders/{h}", "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"),
])
async def test_every_405_names_the_allowed_methods(sandbox, sandbox_http, method, path, allow):
    o = sandbox.orders("assigned")[0]
    r = await sandbox_http.request(method, path.format(h=order_path(o.handle)[len("/orders/"):]))
    assert r.status_code == 405
    assert r.headers["allow"] == allow
    assert o.status == "assigned"


async def test_405_over_http_carries_allow(served_sandbox):
    sb = served_sandbox.sandbox
    o = sb.orders("assigned")[0]
    async with httpx.AsyncClient(base_url=served_sandbox.base_url,
                                 auth=(sb.credentials.account_id, sb.credentials.secret_key.get_secret_value())) as http:
        r = await http.get(action_path(o.handle, "reschedule"))
        assert (r.status_code, r.headers["allow"]) == (405, "POST")
        r = await http.put("/orders/")
        assert (r.status_code, r.headers["allow"]) == (405, "GET, POST")


# ---------------------------------------------------------------------- over real HTTP


async def test_every_action_over_loopback_http(served_sandbox, schema_validator):
    sb = served_sandbox.sandbox
    a, b = sb.orders("assigned")[:2]
    c = sb.orders("planned")[0]
    new = other_worker(sb, b)
    async with httpx.AsyncClient(base_url=served_sandbox.base_url,
                                 auth=(sb.credentials.account_id, sb.credentials.secret_key.get_secret_value())) as http:
        steps = [(a, "disable"), (a, "enable"), (b, "reassign"), (c, "reschedule"), (a, "cancel")]
        for o, action in steps:
            r = await post(http, o, action, body_for(sb, o, action))
            assert r.status_code == 200, (action, r.text)
            schema_validator.check_response(action, 200, r.content)
    assert sb.stats.applied_count("disable") == sb.stats.applied_count("enable") == 1
    assert b.worker is new
    assert a.status == "cancelled" and c.status == "unplanned"


# ---------------------------------------------------------------------- the fault knobs


@pytest.fixture
def faulty(sandbox):
    sandbox.faults.apply_to(WRITE_ACTIONS)
    return sandbox


def _target(sandbox, action):
    status = "disabled" if action == "enable" else "assigned"
    return sandbox.add_order(f"FAULT-{action}", status=status)


@pytest.mark.parametrize("action", WRITE_ACTIONS)
async def test_5xx_and_429_come_before_applying(faulty, sandbox_http, action):
    o = _target(faulty, action)
    faulty.faults.set_error_rate(1.0)
    r = await post(sandbox_http, o, action, body_for(faulty, o, action))
    assert r.status_code in (500, 502, 503, 504)
    faulty.faults.set_error_rate(0.0)
    faulty.faults.rate_limit(1, retry_after=4)
    r = await post(sandbox_http, o, action, body_for(faulty, o, action))
    assert (r.status_code, r.headers["retry-after"]) == (429, "4")
    assert not faulty.stats.actions_applied
    assert faulty.stats.posts_received[(o.handle, action)] == 2


@pytest.mark.parametrize("action", WRITE_ACTIONS)
async def test_drop_before_apply_changes_nothing(faulty, sandbox_http, action):
    o = _target(faulty, action)
    status = o.status
    faulty.faults.drop_before_apply(1)
    with pytest.raises(httpx.RemoteProtocolError):
        await post(sandbox_http, o, action, body_for(faulty, o, action))
    assert o.status == status and not faulty.stats.actions_applied
    assert faulty.stats.snapshot()[-1].status is None


@pytest.mark.parametrize("action", WRITE_ACTIONS)
async def test_applied_but_the_answer_is_lost(faulty, sandbox_http, action):
    """Drop after apply and a gateway 504 after apply: the change is made, the client cannot
    tell; the read-back shows it."""
    o = _target(faulty, action)
    faulty.faults.drop_after_apply(1)
    with pytest.raises(httpx.RemoteProtocolError):
        await post(sandbox_http, o, action, body_for(faulty, o, action))
    assert faulty.stats.applied_count(action, o.handle) == 1
    o2 = faulty.add_order(f"FAULT2-{action}", status="disabled" if action == "enable" else "assigned")
    faulty.faults.gateway_timeout_after_apply(1)
    r = await post(sandbox_http, o2, action, body_for(faulty, o2, action))
    assert r.status_code == 504 and r.json()["message"] == "Endpoint request timed out"
    assert faulty.stats.applied_count(action, o2.handle) == 1


@pytest.mark.parametrize("action", NEW_ACTIONS)
async def test_apply_time_knobs_hit_only_the_actions_they_are_aimed_at(sandbox, sandbox_http, action):
    o = _target(sandbox, action)
    sandbox.faults.drop_after_apply(1)  # aimed at complete only, by default
    r = await post(sandbox_http, o, action, body_for(sandbox, o, action))
    assert r.status_code == 200
    sandbox.faults.apply_to([action])
    o2 = sandbox.add_order(f"AIMED-{action}", status="disabled" if action == "enable" else "assigned")
    with pytest.raises(httpx.RemoteProtocolError):
        await post(sandbox_http, o2, action, body_for(sandbox, o2, action))
    assert sandbox.stats.applied_count(action, o2.handle) == 1


@pytest.mark.parametrize("action", NEW_ACTIONS)
async def test_scripts_and_latency_reach_every_action(sandbox, sandbox_http, action):
    o = _target(sandbox, action)
    sandbox.faults.script("POST", o.handle, ["503", "delay:0.01", "ok"])
    r = await post(sandbox_http, o, action, body_for(sandbox, o, action))
    assert r.status_code == 503 and not sandbox.stats.actions_applied
    r = await post(sandbox_http, o, action, body_for(sandbox, o, action))
    assert r.status_code == 200 and sandbox.stats.applied_count(action, o.handle) == 1
    assert [x.fault for x in sandbox.stats.snapshot()[-2:]] == ["503", None]


# ---------------------------------------------------------------------- the console's client


async def test_the_console_client_drives_every_action_over_loopback(served_sandbox):
    """What the console sends, the served sandbox understands, and its answers parse."""
    from console.api import errors as E
    from console.api.client import OrdersClient
    from console.api.vocab import OrderRef

    sb = served_sandbox.sandbox
    a, b = sb.orders("assigned")[:2]
    d = sb.orders("dispatched")[0]
    new = other_worker(sb, b)

    def ref(o) -> OrderRef:
        return OrderRef(o.handle, o.type, o.type_index, o.attempt)

    async with OrdersClient(base_url=served_sandbox.base_url, credentials=sb.credentials) as client:
        assert (await client.disable_summary(ref(a))).status == "disabled"
        assert (await client.enable_summary(ref(a))).status in ("assigned", "dispatched")
        assert (await client.reassign_summary(ref(b), new.handle)).worker == new.handle
        at = datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc)
        moved = await client.reschedule_summary(ref(d), at)
        assert (moved.status, moved.ref.fulfillment_attempt) == ("unplanned", d.attempt + 1)
        assert d.status == "cancelled" and d.successor is not None and d.successor.scheduled_at == at.timestamp()
        with pytest.raises(E.ConflictError):
            await client.enable_summary(ref(b))  # not disabled
    assert [r.action for r in sb.stats.snapshot() if r.method == "POST"] == [
        "disable", "enable", "reassign", "reschedule", "enable"]
