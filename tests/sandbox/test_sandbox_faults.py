"""Fault knobs: what each does to the request, whether the change was applied, determinism."""

from __future__ import annotations

import httpx
import pytest

from console.api import errors as E
from console.api.handles import order_path
from console.sandbox import Faults
from console.sandbox.faults import RequestInfo
from tests.support.sandbox_fixtures import (  # noqa: F401 - fixtures, until conftest loads the plugin
    raw_http, sandbox, sandbox_client, sandbox_http, sandbox_sleeps,
)

COMPLETE = RequestInfo("POST", "ORD-1", "complete")
CANCEL = RequestInfo("POST", "ORD-1", "cancel")
LIST = RequestInfo("GET", None, None)


def _open(sandbox, status="assigned"):
    return sandbox.orders(status)[0]


def _params(o) -> dict:
    return {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}


async def test_error_rate_answers_5xx_before_applying(sandbox, sandbox_http):
    sandbox.faults.set_error_rate(1.0)
    o = _open(sandbox)
    seen = set()
    for _ in range(12):
        r = await sandbox_http.post(order_path(o.handle, "complete"), params=_params(o))
        seen.add(r.status_code)
    assert seen <= {500, 502, 503, 504} and len(seen) >= 2
    assert o.status == "assigned" and not sandbox.stats.completions_applied
    assert sandbox.stats.posts_received[(o.handle, "complete")] == 12


async def test_a_429_burst_then_normal_service(sandbox, sandbox_http):
    sandbox.faults.rate_limit(2, retry_after=3)
    codes = []
    for _ in range(3):
        r = await sandbox_http.get("/orders/", params={"limit": 1})
        codes.append((r.status_code, r.headers.get("retry-after")))
    assert codes == [(429, "3"), (429, "3"), (200, None)]


async def test_drop_before_apply_is_a_transport_error_and_changes_nothing(sandbox, sandbox_http):
    sandbox.faults.drop_before_apply(1)
    o = _open(sandbox)
    with pytest.raises(httpx.RemoteProtocolError):
        await sandbox_http.post(order_path(o.handle, "complete"), params=_params(o))
    assert o.status == "assigned" and not sandbox.stats.completions_applied
    assert sandbox.stats.snapshot()[-1].status is None
    assert (await sandbox_http.post(order_path(o.handle, "complete"), params=_params(o))).status_code == 200


async def test_drop_after_apply_is_a_transport_error_but_applied(sandbox, sandbox_client):
    sandbox.faults.drop_after_apply(1)
    o = _open(sandbox)
    with pytest.raises(E.OutcomeInDoubt) as info:
        await sandbox_client.complete_order(o.handle, **_kw(o))
    assert info.value.may_have_applied
    assert o.status == "completed"
    assert sandbox.stats.completions_applied == {o.key: 1}
    rec = sandbox.stats.snapshot()[-1]
    assert (rec.status, rec.fault) == (None, "drop_after_apply")
    got = await sandbox_client.get_order(o.handle, fulfillment_attempt=o.attempt)
    assert got.status == "completed"  # the reconciling read settles it


async def test_gateway_timeout_after_apply(sandbox, sandbox_client):
    sandbox.faults.gateway_timeout_after_apply(1)
    o = _open(sandbox)
    with pytest.raises(E.ServerError) as info:
        await sandbox_client.complete_order(o.handle, **_kw(o))
    assert info.value.status_code == 504 and info.value.may_have_applied
    assert o.status == "completed" and sandbox.stats.completions_applied == {o.key: 1}


def _kw(o) -> dict:
    return {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}


async def test_apply_faults_hit_completes_only_unless_told(sandbox, sandbox_http):
    sandbox.faults.drop_after_apply(1)
    a, b = sandbox.orders("assigned")[:2]
    r = await sandbox_http.post(order_path(a.handle, "cancel"), params=_params(a))
    assert r.status_code == 200  # a cancel is not a complete
    sandbox.faults.apply_to(["cancel"])
    with pytest.raises(httpx.RemoteProtocolError):
        await sandbox_http.post(order_path(b.handle, "cancel"), params=_params(b))
    assert b.status == "cancelled"


async def test_scripts_are_per_method_and_handle_and_in_order(sandbox, sandbox_http):
    a, b = sandbox.orders("assigned")[:2]
    sandbox.faults.script("POST", a.handle, ["drop_after_apply", "ok"])
    sandbox.faults.script("GET", None, ["503", "429:7"])
    with pytest.raises(httpx.RemoteProtocolError):
        await sandbox_http.post(order_path(a.handle, "complete"), params=_params(a))
    ok_b = await sandbox_http.post(order_path(b.handle, "complete"), params=_params(b))  # not scripted
    again = await sandbox_http.post(order_path(a.handle, "complete"), params=_params(a))  # "ok": a real 409
    assert ok_b.status_code == 200 and again.status_code == 409
    r1 = await sandbox_http.get("/orders/", params={"limit": 1})
    r2 = await sandbox_http.get("/orders/", params={"limit": 1})
    r3 = await sandbox_http.get(order_path(a.handle))  # a GET of one order is not the list
    r4 = await sandbox_http.get("/orders/", params={"limit": 1})
    assert [r1.status_code, r2.status_code, r3.status_code, r4.status_code] == [503, 429, 200, 200]
    assert r2.headers["retry-after"] == "7"
    assert sandbox.stats.completions_applied == {a.key: 1, b.key: 1}
    assert sandbox.faults.pending_script("POST", a.handle) == []


async def test_a_scripted_delay_still_answers(sandbox, sandbox_http):
    sandbox.faults.script("GET", Faults.ANY, ["delay:0.01"])
    r = await sandbox_http.get("/orders/", params={"limit": 1})
    assert r.status_code == 200


def test_scripts_reject_unknown_actions():
    faults = Faults(1)
    for bad in ("drop", "429:x", "delay:", "delay:-1", "418", "503:2"):
        with pytest.raises(ValueError):
            faults.script("GET", None, [bad])


def test_decisions_are_deterministic_for_a_seed():
    def run(seed: int) -> list:
        f = Faults(seed)
        f.set_error_rate(0.3)
        f.set_latency(0.05, 0.5)
        f.drop_after_apply(0, probability=0.4)
        return [f.decide(COMPLETE if i % 2 else LIST) for i in range(60)]

    first, second, other = run(3), run(3), run(4)
    assert first == second
    assert first != other
    faults = {d.fault for d in first}
    assert {"500", "502", "503", "504"} & faults and "drop_after_apply" in faults and None in faults
    assert all(0.05 <= d.delay <= 0.5 for d in first)


def test_counted_knobs_fire_exactly_n_times_and_reset_clears_all():
    f = Faults(0)
    f.drop_before_apply(2)
    f.gateway_timeout_after_apply(1)
    got = [f.decide(COMPLETE).fault for _ in range(5)]
    assert got == ["drop_before_apply", "drop_before_apply", "gateway_timeout_after_apply", None, None]
    assert f.decide(CANCEL).fault is None
    f.set_latency(0.2)
    f.rate_limit(5)
    f.reset()
    assert f.decide(LIST).fault is None and f.decide(LIST).delay == 0


def test_knobs_reject_nonsense():
    f = Faults(0)
    with pytest.raises(ValueError):
        f.set_error_rate(1.5)
    with pytest.raises(ValueError):
        f.set_latency(0.5, 0.1)
    with pytest.raises(ValueError):
        f.drop_after_apply(1, probability=2)
    with pytest.raises(ValueError):
        f.apply_to(["teleport"])


async def test_unauthenticated_requests_are_not_given_faults(sandbox):
    sandbox.faults.rate_limit(1)
    async with raw_http(sandbox, auth=("sandbox", "wrong")) as http:
        assert (await http.get("/orders/")).status_code == 401
    async with raw_http(sandbox) as http:
        assert (await http.get("/orders/")).status_code == 429  # the burst is still there
