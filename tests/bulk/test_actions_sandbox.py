"""Each write action through the pipeline against the sandbox served over loopback HTTP (uvicorn
on 127.0.0.1): the happy path, and the sandbox's fault knobs aimed at every write action. What
the server did is read from the sandbox itself (``stats``, its orders), never from the answer."""

from __future__ import annotations

import random
from datetime import datetime, timezone

import pytest

from console.api.client import OrdersClient
from console.api.models import OrderRef
from console.bulk.actions import Cancel, Disable, Enable, Reassign, Reschedule, Verdict
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal
from console.bulk.results import ResultStatus as R
from console.sandbox.actions import WRITE_ACTIONS
from tests.support.fake_hypertrack import FakeClock
from tests.support.sandbox_fixtures import served_sandbox  # noqa: F401 - fixture

NEW = ("cancel", "disable", "enable", "reassign", "reschedule")


def target(sandbox, name: str, handle: str):
    """An order ``name`` applies to, and the action with its parameters."""
    o = sandbox.add_order(handle, status="disabled" if name == "enable" else "assigned")
    if name == "cancel":
        return o, Cancel(reason="customer called")
    if name == "disable":
        return o, Disable()
    if name == "enable":
        return o, Enable()
    if name == "reassign":
        other = next(w for w in sandbox.fleet.workers_by_area[o.area.ops_group_handle] if w is not o.worker)
        return o, Reassign(other.handle)
    at = datetime.fromtimestamp(sandbox.now() + 3 * 3600, tz=timezone.utc)
    return o, Reschedule(at=at)


def ref_of(o) -> OrderRef:
    return OrderRef(o.handle, o.type, o.type_index, o.attempt)


async def run(served, journal_path, action, refs, **options):
    clock = FakeClock()
    client = OrdersClient(served.sandbox.credentials, base_url=served.base_url, sleep=clock.sleep)
    try:
        with Journal(journal_path) as journal:
            engine = BulkEngine(client, journal, action=action, sleep=clock.sleep, clock=clock,
                                rng=random.Random(7), **options)
            report = await engine.run(refs)
            # What the server holds now, read back and judged by the action itself.
            views = [await action.read_back(client, ref) for ref in refs]
    finally:
        await client.aclose()
    return report, views


@pytest.mark.parametrize("name", NEW)
async def test_each_action_over_the_served_sandbox(served_sandbox, tmp_path, name):
    sb = served_sandbox.sandbox
    o, action = target(sb, name, f"HAPPY-{name}")
    report, views = await run(served_sandbox, tmp_path / "j.sqlite3", action, [ref_of(o)])
    assert report.results[0].status is R.COMPLETED, report.results[0].message
    assert sb.stats.applied_count(name, o.handle) == 1 and sb.stats.posts_received[(o.handle, name)] == 1
    assert action.judge(views[0]) is Verdict.APPLIED
    if name == "cancel":
        assert o.metadata["cancel_reason"] == "customer called"


async def test_reschedule_of_a_dispatched_sandbox_order_is_the_re_created_attempt(served_sandbox, tmp_path):
    sb = served_sandbox.sandbox
    dispatched = sb.orders("dispatched") or sb.orders("ongoing")
    o = dispatched[0]
    action = Reschedule(at=datetime.fromtimestamp(sb.now() + 5 * 3600, tz=timezone.utc))
    sb.faults.apply_to(WRITE_ACTIONS)
    sb.faults.drop_after_apply(1)  # the answer (the re-created order) is lost: read back
    report, views = await run(served_sandbox, tmp_path / "j.sqlite3", action, [ref_of(o)])
    result = report.results[0]
    assert result.status is R.COMPLETED_RECONCILED, result.message
    assert sb.stats.applied_count("reschedule", o.handle) == 1
    assert views[0].status == "unplanned" and views[0].ref.fulfillment_attempt == o.attempt + 1
    assert o.status == "cancelled"


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("knob", ["drop_after_apply", "gateway_timeout_after_apply"])
async def test_applied_then_lost_is_reconciled_without_a_second_request(served_sandbox, tmp_path, name, knob):
    sb = served_sandbox.sandbox
    o, action = target(sb, name, f"LOST-{knob}-{name}")
    sb.faults.apply_to(WRITE_ACTIONS)
    getattr(sb.faults, knob)(1)
    report, views = await run(served_sandbox, tmp_path / "j.sqlite3", action, [ref_of(o)])
    assert report.results[0].status is R.COMPLETED_RECONCILED, report.results[0].message
    assert sb.stats.posts_received[(o.handle, name)] == 1 and sb.stats.applied_count(name, o.handle) == 1
    assert action.judge(views[0]) is Verdict.APPLIED


@pytest.mark.parametrize("name", NEW)
@pytest.mark.parametrize("script", [["drop_before_apply"], ["503"], ["429:2"]])
async def test_not_applied_is_sent_once_more_and_applied_once(served_sandbox, tmp_path, name, script):
    sb = served_sandbox.sandbox
    o, action = target(sb, name, f"AGAIN-{script[0]}-{name}")
    sb.faults.script("POST", o.handle, script)
    report, views = await run(served_sandbox, tmp_path / "j.sqlite3", action, [ref_of(o)])
    assert report.results[0].status is R.COMPLETED, report.results[0].message
    assert sb.stats.posts_received[(o.handle, name)] == 2 and sb.stats.applied_count(name, o.handle) == 1
    assert action.judge(views[0]) is Verdict.APPLIED


@pytest.mark.parametrize("name", ["disable", "enable", "reassign", "reschedule"])
async def test_a_finished_order_is_a_conflict_and_nothing_is_applied(served_sandbox, tmp_path, name):
    sb = served_sandbox.sandbox
    o, action = target(sb, name, f"DONE-{name}")
    done = sb.add_order(f"DONE2-{name}", status="cancelled")
    report, _ = await run(served_sandbox, tmp_path / "j.sqlite3", action, [ref_of(done)])
    assert report.results[0].status is R.CONFLICT and report.results[0].http_status == 409
    assert not sb.stats.applied_count(name, done.handle)
