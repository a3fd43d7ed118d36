"""Cancel, disable, enable, reassign and reschedule through the one pipeline, over real loopback
HTTP (the fake HyperTrack served by tests/support/loopback_fake.py): each action's happy path and
each fault kind of the reliability checklist, then the invariants I1-I5 with each op judged by
its own recorded action."""

from __future__ import annotations

import asyncio
import random
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.actions import COMPLETE, Cancel, Disable, Enable, Reassign, Reschedule
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal
from console.bulk.results import ResultStatus as R
from console.bulk.results import StopReason
from tests.support.fake_hypertrack import FakeHyperTrack, check_invariants
from tests.support.loopback_fake import closed_port_url, loopback_client, served_fake

AT = datetime(2026, 12, 8, 14, 30, tzinfo=timezone.utc)

#: (action, the order's status before, a check of the fake's order after)
CASES = {
    "cancel": (Cancel(reason="customer called"), "ongoing", lambda o: o["status"] == "cancelled"),
    "disable": (Disable(), "ongoing", lambda o: o["status"] == "disabled"),
    "enable": (Enable(), "disabled", lambda o: o["status"] == "ongoing"),
    "reassign": (Reassign("w-2", ops_group="north"), "assigned",
                 lambda o: o["worker_handle"] == "w-2" and o["ops_group_handle"] == "north"),
    "reschedule": (Reschedule(at=AT), "assigned", lambda o: o["scheduled_at"] == "2026-12-08T14:30:00Z"),
    "complete": (COMPLETE, "ongoing", lambda o: o["status"] == "completed"),
}
NEW_ACTIONS = ["cancel", "disable", "enable", "reassign", "reschedule"]


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(journal_path: Path):
    with Journal(journal_path) as j:
        yield j


def make_fake(names: list[str], status: str) -> FakeHyperTrack:
    fake = FakeHyperTrack(names, status=status)
    for order in fake.orders.values():
        order["worker_handle"] = "w-1"
        if status == "disabled":
            order["enabled_from"] = "ongoing"
    return fake


async def run_over_http(fake: FakeHyperTrack, journal: Journal, action, names: list[str], *,
                        base_url: str | None = None, **options):
    """One run of ``action`` over ``names`` against the fake served on loopback (on ``base_url``
    when given: the journal keys what it knows by server, so a second run must use the same)."""
    if base_url is None:
        with served_fake(fake) as url:
            return await run_over_http(fake, journal, action, names, base_url=url, **options)
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("clock", fake.clock)
    options.setdefault("rng", random.Random(7))
    client = loopback_client(fake, base_url)
    try:
        engine = BulkEngine(client, journal, action=action, **options)
        report = await engine.run([OrderRef(h) for h in names])
    finally:
        await client.aclose()
    return engine, report


def results_by_handle(report) -> dict[str, R]:
    return {r.ref.order_handle: r.status for r in report.results}


# ---------------------------------------------------------------------- happy paths


@pytest.mark.parametrize("name", list(CASES))
async def test_each_action_is_sent_once_judged_and_journaled_with_its_parameters(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a", "b"], before)
    _, report = await run_over_http(fake, journal, action, ["a", "b"])
    assert results_by_handle(report) == {"a": R.COMPLETED, "b": R.COMPLETED}
    assert all(shows(fake.orders[h]) for h in ("a", "b"))
    assert [(r.method, r.action) for r in fake.posts("a")] == [("POST", name)]
    op = journal.op(report.results[0].op_id)
    assert op.action == name and op.params_dict == action.params()
    assert report.results[0].message == action.done
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


def test_the_bodies_sent_follow_the_schemas() -> None:
    fake = make_fake(["a"], "assigned")

    async def go(action) -> None:
        with served_fake(fake) as base_url:
            client = loopback_client(fake, base_url)
            try:
                await action.send(client, OrderRef("a", "drop", 0, 0))
            finally:
                await client.aclose()

    for action in (Cancel(reason="r"), Disable(), Reassign("w-9"), Reassign("w-8", ops_group="g"),
                   Reschedule(at=AT, after=datetime(2026, 12, 8, 14, 0, 30, 999, tzinfo=timezone.utc))):
        if action.name == "disable":
            fake.orders["a"]["status"] = "assigned"
        asyncio.run(go(action))
    assert [(action, body) for _, action, body in fake.bodies] == [
        ("cancel", {"metadata": {"cancel_reason": "r"}}),
        ("disable", {}),
        ("reassign", {"worker_handle": "w-9"}),
        ("reassign", {"worker_handle": "w-8", "ops_group_handle": "g"}),
        ("reschedule", {"scheduled_at": "2026-12-08T14:30:00Z", "scheduled_after": "2026-12-08T14:00:30Z"}),
    ]
    # The leg identity rides in the query, as for complete.
    assert {tuple(sorted(r.params.items())) for r in fake.posts()} == {
        (("fulfillment_attempt", "0"), ("type", "drop"), ("type_index", "0"))}


async def test_reschedule_of_a_dispatched_order_accepts_the_documented_re_creation(journal, journal_path):
    fake = make_fake(["a"], "dispatched")
    _, report = await run_over_http(fake, journal, Reschedule(at=AT), ["a"])
    assert results_by_handle(report) == {"a": R.COMPLETED}
    assert fake.orders["a"]["status"] == "unplanned" and fake.orders["a"]["fulfillment_attempt"] == 1
    assert fake.old_attempts["a"][0]["status"] == "cancelled"
    assert report.results[0].order_status == "unplanned"
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_a_lost_answer_to_a_re_creating_reschedule_is_found_on_the_new_attempt(journal, journal_path):
    """The leg asked for (attempt 0) reads back cancelled; the re-created attempt shows the time."""
    fake = make_fake(["a"], "dispatched")
    fake.post_faults["a"] = ["drop_after_apply"]
    with served_fake(fake) as base_url:
        client = loopback_client(fake, base_url)
        try:
            engine = BulkEngine(client, journal, action=Reschedule(at=AT), sleep=fake.clock.sleep,
                                clock=fake.clock, rng=random.Random(7))
            report = await engine.run([OrderRef("a", fulfillment_attempt=0)])
        finally:
            await client.aclose()
    assert report.results[0].status is R.COMPLETED_RECONCILED
    assert len(fake.posts("a")) == 1
    check_invariants(fake, journal_path, ["a"], results=report.results)


# ---------------------------------------------------------------------- faults


@pytest.mark.parametrize("name", NEW_ACTIONS)
@pytest.mark.parametrize("fault", ["drop_after_apply", "disconnect_after_apply", "504_after_apply", "other_handle"])
async def test_f4_f6_f8_f20_applied_but_answer_lost_or_wrong_is_reconciled_with_one_post(
    journal, journal_path, name, fault
):
    action, before, shows = CASES[name]
    fake = make_fake(["a", "b"], before)
    fake.post_faults["a"] = [fault]
    _, report = await run_over_http(fake, journal, action, ["a"])
    assert results_by_handle(report) == {"a": R.COMPLETED_RECONCILED}
    assert len(fake.posts("a")) == 1 and fake.effective["a"] == 1 and shows(fake.orders["a"])
    assert fake.orders["b"]["status"] == before  # I1, on the server's side too
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
@pytest.mark.parametrize("fault", ["drop_before_apply", "502", "503:5", "wrong_status", "html", "redirect"])
async def test_f5_f9_f10_f18_f19_f21_not_applied_is_read_back_then_sent_once_more(journal, journal_path, name, fault):
    action, before, shows = CASES[name]
    fake = make_fake(["a"], before)
    fake.post_faults["a"] = [fault]
    engine, report = await run_over_http(fake, journal, action, ["a"])
    result = report.results[0]
    assert result.status is R.COMPLETED and result.attempts == 2
    posts = fake.posts("a")
    assert len(posts) == 2 and fake.effective["a"] == 1 and shows(fake.orders["a"])
    # Read back (after the settle window) between the two POSTs, never re-sent blind.
    between = [r for r in fake.log if posts[0].t <= r.t <= posts[1].t and r.method == "GET"]
    assert between and posts[1].t - posts[0].t >= engine.settle_window
    if fault == "503:5":
        assert between[0].t - posts[0].t >= 5.0
    if fault in ("wrong_status", "html", "redirect"):
        assert result.flagged and "anomaly" in result.message
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f11_a_429_pauses_and_is_retried_never_in_doubt(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a"], before)
    fake.post_faults["a"] = ["429:3"]
    _, report = await run_over_http(fake, journal, action, ["a"])
    assert report.results[0].status is R.COMPLETED
    first, second = fake.posts("a")
    assert second.t - first.t >= 3.0 and not any(r.method == "GET" for r in fake.log)
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_rejections_404_409_422_and_401(journal, journal_path, name):
    action, before, _ = CASES[name]
    fake = make_fake(["rejected", "gone", "later"], before)
    fake.orders["gone"]["status"] = "completed"
    fake.post_faults["rejected"] = ["422"]
    fake.revoke_after_posts = 3
    _, report = await run_over_http(fake, journal, action, ["rejected", "missing", "gone", "later"], concurrency=1)
    assert results_by_handle(report) == {
        "rejected": R.REJECTED, "missing": R.NOT_FOUND, "gone": R.CONFLICT, "later": R.AUTH_FAILED,
    }
    assert "\x1b" not in report.results[0].message
    assert report.stop_reason is StopReason.AUTH
    check_invariants(fake, journal_path, ["rejected", "missing", "gone", "later"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f31_a_read_back_that_keeps_failing_leaves_the_order_in_doubt(journal, journal_path, name):
    action, before, _ = CASES[name]
    fake = make_fake(["a"], before)
    fake.post_faults["a"] = ["drop_after_apply"]
    fake.get_always_fails.add("a")
    _, report = await run_over_http(fake, journal, action, ["a"])
    assert report.results[0].status is R.IN_DOUBT
    assert len(fake.posts("a")) == 1
    assert journal.op(report.results[0].op_id).state == "in_doubt"
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f2_f16_an_unreachable_server_is_failed_not_sent(journal, journal_path, name):
    action, before, _ = CASES[name]
    fake = make_fake(["a"], before)
    client = loopback_client(fake, closed_port_url())
    try:
        engine = BulkEngine(client, journal, action=action, sleep=fake.clock.sleep, clock=fake.clock,
                            rng=random.Random(7))
        report = await engine.run([OrderRef("a")])
    finally:
        await client.aclose()
    assert report.results[0].status is R.FAILED_NOT_SENT
    assert fake.log == []
    op = journal.op(report.results[0].op_id)
    assert op.state == "failed_not_sent" and op.action == name


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_an_order_already_in_the_end_state_is_not_sent_twice_by_a_second_run(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a"], before)
    with served_fake(fake) as base_url:
        _, first = await run_over_http(fake, journal, action, ["a"], base_url=base_url)
        assert first.results[0].status is R.COMPLETED
        _, second = await run_over_http(fake, journal, action, ["a"], base_url=base_url)
    # The journal knew it applied: read back first, found applied, nothing sent.
    assert second.results[0].status is R.ALREADY_COMPLETED
    assert len(fake.posts("a")) == 1
    assert len(fake.gets("a")) == 1
    check_invariants(fake, journal_path, ["a"], results=second.results)


async def test_the_client_refuses_bad_parameters_before_any_request():
    from console.api import errors

    fake = make_fake(["a"], "assigned")
    client = fake.client()
    ref = OrderRef("a")
    for call in (
        lambda: client.reassign_summary(ref, ""),
        lambda: client.reassign_summary(ref, " w-1"),
        lambda: client.reassign_summary(ref, "w\x1b[2J"),
        lambda: client.reassign_summary(ref, "w-1", ops_group_handle="g\n"),
        lambda: client.reschedule_summary(ref, datetime(2026, 12, 8, 14, 30)),  # no zone
        lambda: client.reschedule_summary(ref, ""),
        lambda: client.cancel_summary(ref, reason="\x07"),
    ):
        with pytest.raises(errors.InvalidRequest):
            await call()
    assert fake.log == []
    await client.aclose()


async def test_the_client_returns_the_answer_for_the_action_to_judge():
    """The answer is checked (one order, the handle asked for) but its state is the action's to
    judge: a 200 that does not show the change is returned, and the engine settles it."""
    fake = make_fake(["a"], "assigned")
    fake.post_faults["a"] = ["wrong_status"]
    client = fake.client()
    answer = await client.disable_summary(OrderRef("a"))
    assert answer.status == "assigned" and Disable().judge(answer).value == "not_applied"
    answer = await client.reschedule_summary(OrderRef("a"), AT)
    assert answer.status == "unplanned" and Reschedule(at=AT).judge(answer).value == "applied"
    await client.aclose()


# ---------------------------------------------------------------------- more of the checklist


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f23_a_truncated_answer_after_applying_is_reconciled(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a"], before)
    fake.post_faults["a"] = ["truncated_after_apply"]
    _, report = await run_over_http(fake, journal, action, ["a"])
    assert report.results[0].status is R.COMPLETED_RECONCILED
    assert len(fake.posts("a")) == 1 and shows(fake.orders["a"])
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f13_a_retry_after_too_long_stops_the_run_without_sleeping(journal, journal_path, name):
    action, before, _ = CASES[name]
    fake = make_fake(["a", "b"], before)
    fake.post_faults["a"] = ["429:86400"]
    _, report = await run_over_http(fake, journal, action, ["a", "b"], concurrency=1)
    assert report.stop_reason is StopReason.RATE_LIMITED
    assert results_by_handle(report) == {"a": R.NOT_SENT, "b": R.NOT_SENT}
    assert max(fake.clock.sleeps, default=0) < 86400 and fake.effective == {}
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


def _engine_on_mock(fake: FakeHyperTrack, journal: Journal, action, **options) -> BulkEngine:
    """Faults that happen before any connection (refused, certificate) cannot come from a
    server that accepted one: these run on the fake in a MockTransport."""
    return BulkEngine(fake.client(), journal, action=action, sleep=fake.clock.sleep, clock=fake.clock,
                      rng=random.Random(7), **options)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f1_connect_refused_twice_then_sent_once(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a"], before)
    fake.post_faults["a"] = ["connect", "connect_timeout"]
    report = await _engine_on_mock(fake, journal, action).run([OrderRef("a")])
    assert report.results[0].status is R.COMPLETED and shows(fake.orders["a"])
    assert [r.outcome for r in fake.posts("a")] == ["connect", "connect_timeout", "200"]
    check_invariants(fake, journal_path, ["a"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f17_a_refused_certificate_stops_the_run(journal, journal_path, name):
    action, before, _ = CASES[name]
    fake = make_fake(["a", "b"], before)
    fake.post_faults["a"] = ["cert"]
    report = await _engine_on_mock(fake, journal, action, concurrency=1).run([OrderRef("a"), OrderRef("b")])
    assert report.stop_reason is StopReason.CERTIFICATE
    assert results_by_handle(report) == {"a": R.FAILED_NOT_SENT, "b": R.NOT_SENT}
    assert fake.effective == {}


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f24_stop_mid_run_finishes_in_flight_and_sends_nothing_new(journal, journal_path, name):
    action, before, shows = CASES[name]
    fake = make_fake(["a", "b", "c"], before)
    with served_fake(fake) as base_url:
        client = loopback_client(fake, base_url)
        engine = BulkEngine(client, journal, action=action, concurrency=1, sleep=fake.clock.sleep,
                            clock=fake.clock, rng=random.Random(7))
        loop = asyncio.get_running_loop()

        def stop_while_a_is_in_flight(handle: str) -> None:
            # The server's thread: stop on the engine's loop, and answer "a" only once it ran.
            if handle == "a":
                stopped = threading.Event()
                loop.call_soon_threadsafe(lambda: (engine.stop(), stopped.set()))
                assert stopped.wait(10)

        fake.on_post = stop_while_a_is_in_flight
        try:
            report = await engine.run([OrderRef(h) for h in ("a", "b", "c")])
        finally:
            await client.aclose()
    assert results_by_handle(report) == {"a": R.COMPLETED, "b": R.STOPPED, "c": R.STOPPED}
    assert [r.handle for r in fake.posts()] == ["a"] and shows(fake.orders["a"])
    check_invariants(fake, journal_path, ["a", "b", "c"], results=report.results)


@pytest.mark.parametrize("name", NEW_ACTIONS)
async def test_f29_an_intent_that_cannot_be_written_is_never_sent(journal, journal_path, name, monkeypatch):
    from console.bulk.journal import JournalWriteError

    action, before, _ = CASES[name]
    fake = make_fake(["a"], before)

    def refuse(*args, **kwargs):
        raise JournalWriteError("disk full")

    monkeypatch.setattr(journal, "record_intent", refuse)
    _, report = await run_over_http(fake, journal, action, ["a"])
    assert report.results[0].status is R.FAILED_NOT_SENT and report.stop_reason is StopReason.JOURNAL
    assert fake.posts() == []
