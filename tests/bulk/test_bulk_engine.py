"""The bulk engine against the stateful fake: the checklist's fault scenarios, each followed by
the invariants I1-I5 (see ``check_invariants``)."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal, JournalWriteError
from console.bulk.results import ResultStatus as R
from console.bulk.results import StopReason
from tests.support.fake_hypertrack import FakeHyperTrack, check_invariants


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(journal_path: Path):
    with Journal(journal_path) as j:
        yield j


def handles(n: int, prefix: str = "o") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


def refs_for(names: list[str]) -> list[OrderRef]:
    return [OrderRef(h) for h in names]


def make_engine(fake: FakeHyperTrack, journal: Journal, **options) -> BulkEngine:
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("clock", fake.clock)
    options.setdefault("rng", random.Random(7))
    return BulkEngine(fake.client(), journal, **options)


async def run(fake: FakeHyperTrack, journal: Journal, names: list[str], events: list | None = None, **options):
    engine = make_engine(fake, journal, **options)
    report = await engine.run(refs_for(names), on_event=(events.append if events is not None else None))
    return engine, report


def statuses(report) -> dict[str, R]:
    return {r.ref.order_handle: r.status for r in report.results}


# ---------------------------------------------------------------------- the plain path


async def test_every_order_completed_once_with_intent_before_outcome(journal, journal_path) -> None:
    names = handles(12)
    fake = FakeHyperTrack(names + ["outsider"])
    events: list = []
    _, report = await run(fake, journal, names, events, concurrency=4)
    assert statuses(report) == {h: R.COMPLETED for h in names}
    assert len(fake.posts()) == 12 and fake.orders["outsider"]["status"] == "ongoing"
    assert all(r.completed_at is not None and r.attempts == 1 for r in report.results)
    for result in report.results:
        kinds = [e["kind"] for e in journal.op_events(result.op_id)]
        assert kinds == ["intent", "outcome"]
    kinds = [e.kind for e in events]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    assert kinds.count("sent") == 12 and kinds.count("result") == 12
    final = events[-1].progress
    assert (final.total, final.finished, final.succeeded, final.failed, final.in_doubt) == (12, 12, 12, 0, 0)
    check_invariants(fake, journal_path, names, results=report.results, outputs=[repr(e) for e in events])


async def test_duplicates_are_sent_once(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    engine = make_engine(fake, journal)
    refs = [OrderRef("a"), OrderRef("b"), OrderRef("a"), OrderRef("a")]
    report = await engine.run(refs)
    assert [r.ref.order_handle for r in report.results] == ["a", "b"]
    assert report.duplicates == [OrderRef("a"), OrderRef("a")]
    assert len(fake.posts("a")) == 1
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_a_handle_that_may_not_be_sent_is_rejected_without_a_request(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    _, report = await run(fake, journal, ["a", "..", "x\x1b]2;pwned\x07"])
    got = statuses(report)
    assert got["a"] is R.COMPLETED and got[".."] is R.REJECTED and got["x\x1b]2;pwned\x07"] is R.REJECTED
    assert [r.handle for r in fake.log] == ["a"]
    assert all("\x1b" not in r.message for r in report.results)


# ---------------------------------------------------------------------- not sent: retried


async def test_f1_connect_refused_twice_then_ok(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["connect", "connect"]
    _, report = await run(fake, journal, ["a", "b"])
    assert statuses(report) == {"a": R.COMPLETED, "b": R.COMPLETED}
    assert [r.outcome for r in fake.posts("a")] == ["connect", "connect", "200"]
    assert fake.gets("a") == []  # nothing was in doubt: no reconciliation needed
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_f2_connect_fails_past_the_budget_and_the_batch_goes_on(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b", "c"])
    fake.post_faults["b"] = ["connect_timeout"] * 50
    _, report = await run(fake, journal, ["a", "b", "c"])
    got = statuses(report)
    assert got == {"a": R.COMPLETED, "b": R.FAILED_NOT_SENT, "c": R.COMPLETED}
    assert fake.orders["b"]["status"] == "ongoing"
    assert len(fake.posts("b")) == 4  # the per-order limit (DEFAULT_BACKOFF.max_attempts)
    assert report.stop_reason is None
    check_invariants(fake, journal_path, ["a", "b", "c"], results=report.results)


async def test_a_network_that_stays_down_opens_the_circuit(journal, journal_path) -> None:
    names = handles(30)
    fake = FakeHyperTrack(names)
    for h in names:
        fake.post_faults[h] = ["connect"] * 50
    # The budget is the breaker under test: with the unreachable streak too (8 by default), which
    # of the two trips first depends on how the two workers' journal writes interleave (the
    # streak is counted when a request fails and checked after its journal write), and either
    # one opens the circuit. The streak has its own test below (f15).
    _, report = await run(fake, journal, names, retry_budget=5, concurrency=2, unreachable_after=1000)
    assert report.stop_reason is StopReason.RETRY_BUDGET
    # total requests bounded: one try per order started plus the budget
    assert len(fake.posts()) <= 2 + 5 + 2
    assert report.counts()[R.NOT_SENT] > 20
    assert not fake.completed()
    check_invariants(fake, journal_path, names, results=report.results)


async def test_f15_a_network_that_is_down_opens_the_circuit_after_failures_in_a_row(journal, journal_path) -> None:
    names = handles(40)
    fake = FakeHyperTrack(names)
    for h in names:
        fake.post_faults[h] = ["connect"] * 50
    _, report = await run(fake, journal, names, concurrency=4)
    assert report.stop_reason is StopReason.UNREACHABLE
    assert len(fake.posts()) <= 8 + 4  # the streak limit, plus requests already on their way
    assert report.counts()[R.NOT_SENT] >= 30 and not fake.completed()
    check_invariants(fake, journal_path, names, results=report.results)


# ---------------------------------------------------------------------- in doubt: reconciled


@pytest.mark.parametrize("fault", ["drop_after_apply", "disconnect_after_apply"])
async def test_f4_f6_applied_then_the_answer_lost_is_reconciled_without_a_second_post(
    journal, journal_path, fault
) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = [fault]
    engine, report = await run(fake, journal, ["a", "b"], settle_delay=2.0)
    result = report.results[0]
    assert result.status is R.COMPLETED_RECONCILED and result.completed_at is not None
    assert len(fake.posts("a")) == 1 and len(fake.gets("a")) == 1
    assert 2.0 in fake.clock.sleeps  # waited before reading back
    kinds = [(e["kind"], e["state"]) for e in journal.op_events(result.op_id)]
    assert kinds == [("intent", "sending"), ("outcome", "in_doubt"), ("outcome", "applied_reconciled")]
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_f5_lost_before_applying_is_sent_exactly_once_more(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["drop_before_apply"]
    events: list = []
    engine, report = await run(fake, journal, ["a"], events)
    result = report.results[0]
    assert result.status is R.COMPLETED and result.attempts == 2
    # "Not completed" read inside the settle window proves nothing: read again once it passed.
    post, early, late, again = fake.log
    assert [r.method for r in fake.log] == ["POST", "GET", "GET", "POST"]
    assert early.t - post.t < engine.settle_window <= late.t - post.t
    waiting = [e for e in events if e.kind == "waiting"]
    assert len(waiting) == 1 and waiting[0].ref == OrderRef("a") and 0 < waiting[0].seconds <= engine.settle_window
    kinds = [(e["kind"], e["state"], e["attempt"]) for e in journal.op_events(result.op_id)]
    assert kinds == [
        ("intent", "sending", 1), ("outcome", "in_doubt", None), ("intent", "sending", 2), ("outcome", "applied", None),
    ]
    assert journal.op(result.op_id).attempts == 2
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_f8_gateway_504_after_the_backend_applied(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["504_after_apply"]
    _, report = await run(fake, journal, ["a"])
    assert report.results[0].status is R.COMPLETED_RECONCILED
    assert report.results[0].http_status == 504
    assert len(fake.posts("a")) == 1
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_f9_502_without_applying_is_reconciled_then_resent(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["502"]
    _, report = await run(fake, journal, ["a"])
    assert report.results[0].status is R.COMPLETED
    assert [(r.method, r.outcome) for r in fake.log] == [("POST", "502"), ("GET", "200"), ("GET", "200"),
                                                          ("POST", "200")]
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_f10_503_with_retry_after_waits_that_long_before_reconciling(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["503:5"]
    _, report = await run(fake, journal, ["a"], settle_delay=2.0)
    assert report.results[0].status is R.COMPLETED
    post, get, _, again = fake.log
    assert (post.method, get.method, again.method) == ("POST", "GET", "POST")
    assert get.t - post.t >= 5.0
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_f20_a_200_for_another_order_is_an_anomaly_settled_by_get(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["other_handle"]
    _, report = await run(fake, journal, ["a"])
    result = report.results[0]
    assert result.status is R.COMPLETED_RECONCILED and result.flagged
    assert "anomaly" in result.message
    assert len(fake.posts("a")) == 1 and fake.orders["b"]["status"] == "ongoing"
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_f31_a_reconciling_get_that_keeps_failing_leaves_the_order_in_doubt(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["drop_after_apply"]
    fake.get_always_fails.add("a")
    _, report = await run(fake, journal, ["a", "b"])
    assert statuses(report) == {"a": R.IN_DOUBT, "b": R.COMPLETED}
    assert len(fake.posts("a")) == 1  # never re-sent blind
    assert len(fake.gets("a")) == 3  # the client retried the GET
    row = journal.op(report.results[0].op_id)
    assert row.state == "in_doubt" and "checking the order failed" in row.message
    assert report.in_doubt == [report.results[0]]
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_409_then_get_decides_already_completed_or_conflict(journal, journal_path) -> None:
    fake = FakeHyperTrack(["done", "gone", "open"])
    fake.orders["done"].update(status="completed", completed_at="2026-01-01T00:00:00.000Z")
    fake.orders["gone"]["status"] = "cancelled"
    _, report = await run(fake, journal, ["done", "gone", "open"])
    assert statuses(report) == {"done": R.ALREADY_COMPLETED, "gone": R.CONFLICT, "open": R.COMPLETED}
    assert "cancelled" in report.results[1].message
    check_invariants(fake, journal_path, ["done", "gone", "open"], results=report.results)


async def test_a_late_apply_inside_the_settle_window_is_reconciled_without_a_second_post(
    journal, journal_path
) -> None:
    """The request lands after the first read said "not completed", but inside its window."""
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["drop_before_apply"]
    original = fake.handler

    def handler(request):
        response = original(request)
        if request.method == "GET":
            fake._apply("a")  # the first request finishes behind the gateway, just too late
        return response

    fake.handler = handler
    _, report = await run(fake, journal, ["a"])
    result = report.results[0]
    assert result.status is R.COMPLETED_RECONCILED and not result.flagged
    assert len(fake.posts("a")) == 1 and fake.effective["a"] == 1
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_a_late_apply_after_the_check_is_flagged_already_completed(journal, journal_path) -> None:
    """The residual risk: the lost request lands after the settle window, once our last read
    said "not completed"."""
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["drop_before_apply"]
    gets = 0

    original = fake.handler

    def handler(request):
        nonlocal gets
        response = original(request)
        if request.method == "GET":
            gets += 1
            if gets == 2:
                fake._apply("a")  # the first request finishes behind the gateway, far too late
        return response

    fake.handler = handler
    _, report = await run(fake, journal, ["a"])
    result = report.results[0]
    assert result.status is R.ALREADY_COMPLETED and result.flagged
    assert fake.effective["a"] == 1
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_rejections_keep_the_api_message_and_field_errors_escaped(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    fake.post_faults["a"] = ["422"]
    _, report = await run(fake, journal, ["a", "b"])
    result = report.results[0]
    assert result.status is R.REJECTED and result.http_status == 422
    assert "\\x1b[31mrequest" in result.message and "\x1b" not in result.message
    assert result.field_errors == {"query.type": ["Not a valid choice."]}
    assert "\x1b" not in journal.op(result.op_id).message
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_unknown_orders_are_not_found(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    _, report = await run(fake, journal, ["a", "nope"])
    assert statuses(report) == {"a": R.COMPLETED, "nope": R.NOT_FOUND}


# ---------------------------------------------------------------------- 429: the run pauses


async def test_f11_a_429_pauses_the_whole_run(journal, journal_path, monkeypatch) -> None:
    names = handles(12)
    fake = FakeHyperTrack(names)
    fake.post_faults["o3"] = ["429:3"]
    events: list = []
    # A slow disk just when the 429 is recorded: the other workers get every chance to slip a
    # request in while that write is awaited (the gate must already be closed by then).
    real_outcome = journal.record_outcome

    def slow_outcome(op_id, state, **fields):
        if fields.get("http_status") == 429:
            time.sleep(0.05)
        return real_outcome(op_id, state, **fields)

    monkeypatch.setattr(journal, "record_outcome", slow_outcome)

    def on_event(event) -> None:
        events.append(event)
        fake.sequence.append((event.kind, fake.clock.now))

    engine = make_engine(fake, journal, concurrency=4)
    report = await engine.run(refs_for(names), on_event=on_event)
    assert statuses(report) == {h: R.COMPLETED for h in names}
    assert all(r.status is not R.IN_DOUBT for r in report.results)
    seq = fake.sequence
    throttled = next(i for i, (kind, e) in enumerate(seq) if kind == "request" and e.outcome == "429")
    resumed = next(i for i, (kind, _) in enumerate(seq) if kind == "resumed")
    assert throttled < resumed
    assert not [e for kind, e in seq[throttled + 1:resumed] if kind == "request"], "requests during the pause"
    paused = [e for e in events if e.kind == "paused"]
    assert len(paused) == 1 and paused[0].retry_after == 3.0 and paused[0].progress.paused
    t429 = seq[throttled][1].t
    after = [e.t for kind, e in seq[resumed:] if kind == "request"]
    assert after and min(after) >= t429 + 3.0
    assert len(fake.posts("o3")) == 2
    check_invariants(fake, journal_path, names, results=report.results)


async def test_f13_a_retry_after_too_long_stops_the_run_instead_of_sleeping(journal, journal_path) -> None:
    names = handles(6)
    fake = FakeHyperTrack(names)
    fake.post_faults["o0"] = ["429:86400"]
    _, report = await run(fake, journal, names, concurrency=1)
    assert report.stop_reason is StopReason.RATE_LIMITED
    assert all(s is R.NOT_SENT for s in statuses(report).values())
    assert max(fake.clock.sleeps, default=0) < 3600
    check_invariants(fake, journal_path, names, results=report.results)


# ---------------------------------------------------------------------- stopping


async def test_f32_a_401_in_the_middle_stops_the_run_and_leaves_the_rest_pending(journal, journal_path) -> None:
    names = handles(20)
    fake = FakeHyperTrack(names)
    fake.revoke_after_posts = 7
    _, report = await run(fake, journal, names, concurrency=3)
    got = report.counts()
    assert report.stop_reason is StopReason.AUTH
    assert got[R.COMPLETED] == 7
    assert got[R.AUTH_FAILED] >= 1
    assert got[R.NOT_SENT] >= 20 - 7 - 3
    assert got[R.COMPLETED] + got[R.AUTH_FAILED] + got[R.NOT_SENT] == 20
    assert len(fake.posts()) <= 7 + 3  # in-flight ones finish; nothing new is sent
    pending_rows = [journal.op(r.op_id) for r in report.results if r.status is R.NOT_SENT]
    assert all(row.state == "not_sent" and row.attempts == 0 for row in pending_rows)
    check_invariants(fake, journal_path, names, results=report.results)


async def test_f24_stop_in_the_middle_finishes_in_flight_and_sends_nothing_new(journal, journal_path) -> None:
    names = handles(30)
    fake = FakeHyperTrack(names)
    engine = make_engine(fake, journal, concurrency=4)
    sent_at_stop: list[int] = []

    def on_event(event) -> None:
        if event.kind == "result" and event.progress.finished == 10 and not sent_at_stop:
            engine.stop()
            sent_at_stop.append(len(fake.posts()))

    report = await engine.run(refs_for(names), on_event=on_event)
    assert report.stop_reason is StopReason.OPERATOR
    got = report.counts()
    assert got[R.COMPLETED] + got[R.STOPPED] == 30
    assert len(fake.posts()) == sent_at_stop[0]  # those in flight finished; no new POST
    assert got[R.COMPLETED] == len(fake.completed())
    for r in report.results:
        assert journal.op(r.op_id).state == ("applied" if r.status is R.COMPLETED else "stopped")
    check_invariants(fake, journal_path, names, results=report.results)


async def test_stop_during_a_reconciliation_still_settles_the_order(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b", "c"])
    fake.post_faults["a"] = ["drop_before_apply"]
    engine = make_engine(fake, journal, concurrency=1)

    def on_event(event) -> None:
        if event.kind == "sent":
            engine.stop()

    report = await engine.run(refs_for(["a", "b", "c"]), on_event=on_event)
    result = report.results[0]
    # the GET happened, showed "not completed" inside the settle window: the stop leaves it in
    # doubt (the request may still land), and no re-send followed
    assert [r.method for r in fake.log] == ["POST", "GET"]
    assert result.status is R.IN_DOUBT and "may still be in flight" in result.message
    assert journal.op(result.op_id).state == "in_doubt"
    assert statuses(report)["b"] is R.STOPPED
    check_invariants(fake, journal_path, ["a", "b", "c"], results=report.results)


# ---------------------------------------------------------------------- the journal fails closed


async def test_f29_an_intent_that_cannot_be_written_is_never_sent(journal, journal_path, monkeypatch) -> None:
    names = handles(8)
    fake = FakeHyperTrack(names)
    real = journal.record_intent
    calls = 0

    def failing(op_id, run_id=None, **kwargs):
        nonlocal calls
        calls += 1
        if calls == 3:
            raise JournalWriteError("the journal could not be written: database or disk is full")
        return real(op_id, run_id, **kwargs)

    monkeypatch.setattr(journal, "record_intent", failing)
    _, report = await run(fake, journal, names, concurrency=1)
    assert report.stop_reason is StopReason.JOURNAL
    assert len(fake.posts()) == 2
    got = [r.status for r in report.results]
    assert got[:2] == [R.COMPLETED, R.COMPLETED] and got[2] is R.FAILED_NOT_SENT
    assert all(s is R.NOT_SENT for s in got[3:])
    assert "journal" in report.results[2].message
    check_invariants(fake, journal_path, names, results=report.results)


async def test_f29_a_read_only_journal_sends_nothing(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    journal._conn.execute("PRAGMA query_only = 1")  # every write now fails, as on a read-only disk
    engine = make_engine(fake, journal)
    with pytest.raises(JournalWriteError):
        await engine.run(refs_for(["a"]))
    assert fake.log == []


async def test_f17_a_refused_certificate_stops_the_run_without_retrying(journal, journal_path) -> None:
    names = handles(5)
    fake = FakeHyperTrack(names)
    fake.post_faults["o1"] = ["cert"]
    _, report = await run(fake, journal, names, concurrency=1)
    assert report.stop_reason is StopReason.CERTIFICATE
    assert [r.status for r in report.results] == [R.COMPLETED, R.FAILED_NOT_SENT] + [R.NOT_SENT] * 3
    assert len(fake.posts("o1")) == 1  # never retried
    check_invariants(fake, journal_path, names, results=report.results)


async def test_f18_a_redirect_is_not_followed_and_is_settled_by_get(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["redirect"]
    _, report = await run(fake, journal, ["a"])
    result = report.results[0]
    assert result.status is R.COMPLETED and result.flagged and "not followed" in result.message
    assert [(r.method, r.outcome) for r in fake.log] == [("POST", "307"), ("GET", "200"), ("GET", "200"),
                                                          ("POST", "200")]
    check_invariants(fake, journal_path, ["a"], results=report.results)


async def test_an_outcome_that_cannot_be_written_stops_the_run_and_is_settled_next_time(
    journal, journal_path, monkeypatch
) -> None:
    names = handles(4)
    fake = FakeHyperTrack(names)
    real = journal.outcome_write
    failed = []

    def failing(op_id, state, **fields):
        # The first order's outcome can never be written (every commit that carries it fails).
        if state == "applied" and failed in ([], [op_id]):
            failed[:] = [op_id]

            def broken(conn):
                raise JournalWriteError("the journal could not be written: disk I/O error")

            return broken
        return real(op_id, state, **fields)

    monkeypatch.setattr(journal, "outcome_write", failing)
    _, report = await run(fake, journal, names, concurrency=1)
    assert report.stop_reason is StopReason.JOURNAL
    # The outcome rides with the next order's intent: that commit fails, so o1 is not sent.
    assert [r.status for r in report.results] == [R.COMPLETED, R.FAILED_NOT_SENT, R.NOT_SENT, R.NOT_SENT]
    assert len(fake.posts()) == 1
    assert [op.op_id for op in journal.pending_intents()] == failed  # the intent stays unsettled
    monkeypatch.setattr(journal, "outcome_write", real)
    _, again = await run(fake, journal, names)
    assert [r.status for r in again.settled] == [R.COMPLETED_RECONCILED]
    assert [r.status for r in again.results] == [R.ALREADY_COMPLETED] + [R.COMPLETED] * 3
    assert len(fake.posts("o0")) == 1
    check_invariants(fake, journal_path, names, results=again.results)


async def test_an_order_completed_before_whose_check_fails_is_sent_once_more_and_settled(
    journal, journal_path
) -> None:
    """Found by the stateful test: o1 completed in an earlier run; now its check GETs fail, so
    it is sent (a 409 is safe); that POST is refused at connect (provably not sent), so it is
    sent again without a new GET; the 409 then sends it to reconciliation, never to completed."""
    _, first = await run(fake := FakeHyperTrack(["o0", "o1"]), journal, ["o1"])
    assert statuses(first) == {"o1": R.COMPLETED}
    fake.get_faults["o1"] = ["500"] * 6
    fake.post_faults["o1"] = ["connect"]
    _, report = await run(fake, journal, ["o1", "o0"], concurrency=1)
    assert statuses(report) == {"o1": R.IN_DOUBT, "o0": R.COMPLETED}
    assert [r.outcome for r in fake.posts("o1")] == ["200", "connect", "409"]
    assert fake.effective["o1"] == 1
    check_invariants(fake, journal_path, ["o0", "o1"], results=report.results)


# ---------------------------------------------------------------------- earlier runs


def interrupted_run(journal: Journal, fake: FakeHyperTrack, names: list[str], applied: set[str]) -> list[str]:
    """What a process killed mid-flight leaves: intents without outcomes (some POSTs applied)."""
    run_id = journal.start_run(account_id="acct-test", base_url="https://api.hypertrack.test", count=len(names))
    op_ids = journal.add_ops(run_id, refs_for(names), account_id="acct-test", base_url="https://api.hypertrack.test")
    for op_id in op_ids:
        journal.record_intent(op_id, run_id)
    for h in applied:
        fake._apply(h)
    return op_ids


async def test_f25_f26_intents_without_outcome_are_settled_before_anything_is_sent(journal, journal_path) -> None:
    names = ["done", "never", "fresh"]
    fake = FakeHyperTrack(names)
    op_ids = interrupted_run(journal, fake, ["done", "never"], applied={"done"})
    assert [op.op_id for op in journal.pending_intents()] == op_ids
    events: list = []
    engine = make_engine(fake, journal)
    report = await engine.run(refs_for(names), on_event=events.append)
    settled = {r.ref.order_handle: r for r in report.settled}
    assert settled["done"].status is R.COMPLETED_RECONCILED and settled["done"].earlier_run
    assert settled["never"].status is R.NOT_APPLIED and settled["never"].earlier == "interrupted"
    # the settling happened first, before any POST
    first_post = next(i for i, r in enumerate(fake.log) if r.method == "POST")
    assert {r.handle for r in fake.log[:first_post]} == {"done", "never"}
    # "never" looked not applied, but its intent was seconds old: it was read again after the window
    assert [e.kind for e in events][:4] == ["settling", "waiting", "settled", "settled"]
    assert [r.handle for r in fake.log[:first_post]].count("never") == 2
    # the completed one is never re-sent; the one that never arrived is sent exactly once,
    # under the same op id
    assert fake.posts("done") == [] and len(fake.posts("never")) == 1
    got = {r.ref.order_handle: r for r in report.results}
    assert got["done"].status is R.ALREADY_COMPLETED
    assert got["never"].status is R.COMPLETED and got["never"].op_id == op_ids[1]
    assert journal.op(op_ids[1]).attempts == 2  # the lost intent and this one
    assert journal.pending_intents() == []
    check_invariants(fake, journal_path, names, results=report.results)


async def test_settle_pending_alone_reports_and_keeps_unsettled_ones_in_doubt(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a", "b"])
    interrupted_run(journal, fake, ["a", "b"], applied={"a"})
    fake.get_always_fails.add("b")
    engine = make_engine(fake, journal)
    results = await engine.settle_pending()
    assert {r.ref.order_handle: r.status for r in results} == {"a": R.COMPLETED_RECONCILED, "b": R.IN_DOUBT}
    assert fake.posts() == []
    # b is still unsettled: a run that includes it must not send it
    report = await engine.run(refs_for(["b"]))
    assert report.results[0].status is R.IN_DOUBT and fake.posts() == []
    assert [r.ref.order_handle for r in report.settled] == ["b"]
    assert [op.order_handle for op in journal.unsettled()] == ["b"]  # still visibly unsettled
    check_invariants(fake, journal_path, ["a", "b"], results=report.results)


async def test_resume_after_an_auth_failure_sends_only_what_was_left(journal, journal_path) -> None:
    names = handles(10)
    fake = FakeHyperTrack(names)
    fake.revoke_after_posts = 4
    _, first = await run(fake, journal, names, concurrency=1)
    assert first.stop_reason is StopReason.AUTH
    left = {r.ref.order_handle: r.op_id for r in first.results if r.status is R.NOT_SENT}
    assert len(left) == 5
    fake.revoked, fake.revoke_after_posts = False, None  # re-authenticated
    engine = make_engine(fake, journal)
    second = await engine.resume()
    assert {r.ref.order_handle: r.op_id for r in second.results} == left  # same op ids
    assert all(r.status is R.COMPLETED for r in second.results)
    assert len(fake.posts()) == 4 + 1 + 5
    check_invariants(fake, journal_path, names, results=second.results)


async def test_a_run_over_an_order_the_journal_saw_completed_checks_before_sending(journal, journal_path) -> None:
    fake = FakeHyperTrack(["a"])
    _, first = await run(fake, journal, ["a"])
    assert first.results[0].status is R.COMPLETED
    _, second = await run(fake, journal, ["a"])
    assert second.results[0].status is R.ALREADY_COMPLETED
    assert len(fake.posts("a")) == 1 and len(fake.gets("a")) == 1
    check_invariants(fake, journal_path, ["a"], results=second.results)


async def test_resume_reads_back_an_order_an_older_run_completed_before_sending(journal, journal_path) -> None:
    """Found by the J1 machine: run 1 completes "a"; run 2 dies before reaching "a" (its op stays
    pending); resuming must not POST "a" blind just because its LATEST op is pending."""
    fake = FakeHyperTrack(["a"])
    _, first = await run(fake, journal, ["a"])
    assert first.results[0].status is R.COMPLETED
    run_id = journal.start_run(account_id="acct-test", base_url="https://api.hypertrack.test", count=1)
    journal.add_ops(run_id, [OrderRef("a")], account_id="acct-test", base_url="https://api.hypertrack.test")
    report = await make_engine(fake, journal).resume()
    assert [r.status for r in report.results] == [R.ALREADY_COMPLETED]
    assert len(fake.posts("a")) == 1 and len(fake.gets("a")) == 1
    check_invariants(fake, journal_path, ["a"], results=report.results)


# ---------------------------------------------------------------------- scale and progress


async def test_a_thousand_orders(journal, journal_path) -> None:
    names = handles(1000)
    fake = FakeHyperTrack(names)
    finished: list = []
    _, report = await run(fake, journal, names, concurrency=8,
                          events=finished)
    assert report.counts()[R.COMPLETED] == 1000
    assert len(fake.posts()) == 1000 and fake.completed() == set(names)
    assert finished[-1].progress.finished == 1000
    check_invariants(fake, journal_path, names, results=report.results)


async def test_progress_has_rate_and_eta_from_the_engine_clock(journal) -> None:
    names = handles(4)
    fake = FakeHyperTrack(names)
    original = fake.handler

    def slow(request):
        fake.clock.now += 0.5  # every request takes half a second of engine time
        return original(request)

    fake.handler = slow
    events: list = []
    await run(fake, journal, names, events, concurrency=1)
    results = [e for e in events if e.kind == "result"]
    first = results[0].progress
    assert first.finished == 1 and first.rate == pytest.approx(2.0) and first.eta == pytest.approx(1.5)
    assert results[-1].progress.eta == 0


def test_concurrency_is_bounded(journal) -> None:
    fake = FakeHyperTrack([])
    for bad in (0, 17, -1, True, 2.5):
        with pytest.raises(ValueError):
            BulkEngine(fake.client(), journal, concurrency=bad)


async def test_an_order_a_finished_run_left_in_doubt_is_described_as_such_next_time(journal, journal_path) -> None:
    """It read "an earlier run sent this ... and stopped before recording the answer", though that
    run had recorded "in doubt", and was then filed as `pending`, a name that says nothing."""
    fake = FakeHyperTrack(["a"])
    fake.post_faults["a"] = ["drop_before_apply"]
    fake.get_always_fails.add("a")
    _, first = await run(fake, journal, ["a"])
    assert first.results[0].status is R.IN_DOUBT
    fake.get_always_fails.discard("a")
    settled = await make_engine(fake, journal).settle_pending()
    (result,) = settled
    assert result.status is R.NOT_APPLIED and result.earlier == "left_in_doubt"
    assert "finished with this in doubt" in result.message and "stopped before" not in result.message
    assert "did not take effect" in result.message
    assert journal.op(result.op_id).state == "not_applied"
    assert result.to_json()["result"] == "not_applied" and result.to_json()["earlier"] == "left_in_doubt"
    check_invariants(fake, journal_path, ["a"], results=[*first.results, *settled])


async def test_a_young_intent_is_not_settled_as_not_applied_when_the_wait_is_stopped(journal, journal_path) -> None:
    """Inside the settle window a stop leaves an earlier run's order in doubt, never "not applied"."""
    fake = FakeHyperTrack(["a"])
    interrupted_run(journal, fake, ["a"], applied=set())
    engine = make_engine(fake, journal)

    def on_event(event) -> None:
        if event.kind == "waiting":
            engine.stop()

    (result,) = await engine.settle_pending(on_event=on_event)
    assert result.status is R.IN_DOUBT and result.earlier == "interrupted"
    assert "may still be in flight" in result.message
    assert len(fake.gets("a")) == 1 and fake.posts() == []
    assert journal.op(result.op_id).state == "in_doubt"


async def test_an_old_intent_is_settled_at_once(journal, journal_path) -> None:
    from datetime import timedelta

    from console.bulk.journal import utc_now

    fake = FakeHyperTrack(["a"])
    interrupted_run(journal, fake, ["a"], applied=set())
    later = utc_now() + timedelta(minutes=5)
    engine = make_engine(fake, journal, wall_clock=lambda: later)
    events: list = []
    (result,) = await engine.settle_pending(on_event=events.append)
    assert result.status is R.NOT_APPLIED
    assert len(fake.gets("a")) == 1 and "waiting" not in [e.kind for e in events]
