"""The journal's writer thread and what the engine builds on it: one transaction for everything
queued meanwhile, each outcome committed with its worker's next intent, and nothing reported
or sent before what it depends on is durable (read back through a second, read-only connection:
it sees only committed data)."""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk import journal as J
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal, JournalWriteError
from console.bulk.results import ResultStatus as R
from console.bulk.results import StopReason
from console.bulk.writer import JournalWriter
from tests.test_bulk_fakeserver import FakeHyperTrack, check_invariants, journal_rows

URL = "https://api.hypertrack.test"


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


@pytest.fixture
def journal(journal_path: Path):
    with Journal(journal_path) as j:
        yield j


def ops(journal: Journal, n: int) -> tuple[str, list[str]]:
    run_id = journal.start_run(account_id="acct", base_url=URL, count=n)
    return run_id, journal.add_ops(run_id, [OrderRef(f"o{i}") for i in range(n)], account_id="acct", base_url=URL)


def committed(path: Path) -> dict[str, dict]:
    """The ops as another process would see them now: committed rows only."""
    return {row["op_id"]: row for row in journal_rows(path)}


def commits(journal: Journal) -> list[int]:
    """Counts the COMMITs the journal's connection runs from now on (in a list, for closures)."""
    count = [0]

    def trace(statement: str) -> None:
        if statement.strip().upper() == "COMMIT":
            count[0] += 1

    journal._conn.set_trace_callback(trace)
    return count


# ---------------------------------------------------------------------- Journal.group


def test_a_group_is_one_transaction_invisible_until_it_ends(journal, journal_path) -> None:
    run_id, (a, b) = ops(journal, 2)
    count = commits(journal)
    with journal.group():
        assert journal.record_intent(a, run_id) == 1  # results are known inside the group
        journal.record_intent(b, run_id)
        assert committed(journal_path)[a]["state"] == "pending"  # but nothing is durable yet
    assert count[0] == 1
    assert {committed(journal_path)[op]["state"] for op in (a, b)} == {"sending"}


def test_a_failing_write_in_a_group_undoes_only_itself(journal, journal_path) -> None:
    run_id, (a, b) = ops(journal, 2)
    with journal.group():
        journal.record_intent(a, run_id)
        with pytest.raises(JournalWriteError, match="no op"):
            journal.record_intent("no-such-op", run_id)
        journal.record_intent(b, run_id)
    rows = committed(journal_path)
    assert rows[a]["state"] == rows[b]["state"] == "sending"
    assert [e["kind"] for e in journal.op_events(a)] == ["intent"]


def test_a_group_whose_commit_fails_keeps_none_of_its_writes(journal, journal_path, monkeypatch) -> None:
    run_id, (a,) = ops(journal, 1)
    with pytest.raises(JournalWriteError):
        with journal.group():
            journal.record_intent(a, run_id)
            # What SQLite does on a full disk or an I/O error: it rolls the transaction back.
            journal._conn.execute("ROLLBACK")
            with pytest.raises(JournalWriteError, match="transaction was lost"):
                journal.record_outcome(a, J.COMPLETED, run_id=run_id)
    assert committed(journal_path)[a]["state"] == "pending" and journal.op(a).attempts == 0
    journal.record_intent(a, run_id)  # the journal is usable again afterwards
    assert journal.op(a).attempts == 1


def test_other_threads_wait_for_a_group_and_are_not_part_of_it(journal, journal_path) -> None:
    run_id, (a, b) = ops(journal, 2)
    done = threading.Event()

    def other() -> None:
        journal.record_intent(b, run_id)
        done.set()

    with journal.group():
        journal.record_intent(a, run_id)
        thread = threading.Thread(target=other)
        thread.start()
        assert not done.wait(0.2)  # blocked on the group, not written into it
    thread.join(5)
    assert done.is_set() and committed(journal_path)[b]["state"] == "sending"


# ---------------------------------------------------------------------- JournalWriter


async def test_calls_queued_together_share_one_commit_and_keep_their_order(journal, journal_path) -> None:
    run_id, op_ids = ops(journal, 20)
    count = commits(journal)
    writer = JournalWriter(journal).start()
    try:
        # Queued before the thread can take any (no await in between): at most two batches.
        futures = [writer.submit(journal.record_intent, op, run_id) for op in op_ids]
        futures.append(writer.submit(journal.record_intent, "no-such-op", run_id))
        results = await asyncio.gather(*futures, return_exceptions=True)
    finally:
        writer.close()
    assert results[:20] == [1] * 20
    assert isinstance(results[20], JournalWriteError)  # failed alone
    assert count[0] <= 2 and writer.batches <= 2
    assert all(row["state"] == "sending" for row in committed(journal_path).values())


async def test_when_the_commit_fails_every_call_of_the_batch_fails(journal, journal_path) -> None:
    run_id, (a, b) = ops(journal, 2)
    writer = JournalWriter(journal).start()
    try:
        journal._conn.execute("PRAGMA query_only = 1")  # a read-only disk: BEGIN IMMEDIATE fails
        results = await asyncio.gather(
            writer.submit(journal.record_intent, a, run_id), writer.submit(journal.record_intent, b, run_id),
            return_exceptions=True,
        )
        journal._conn.execute("PRAGMA query_only = 0")
    finally:
        writer.close()
    assert all(isinstance(r, JournalWriteError) for r in results)
    assert all(row["state"] == "pending" for row in committed(journal_path).values())


# ---------------------------------------------------------------------- the engine on the writer


def make_engine(fake: FakeHyperTrack, journal: Journal, **options) -> BulkEngine:
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("clock", fake.clock)
    options.setdefault("rng", random.Random(7))
    return BulkEngine(fake.client(), journal, **options)


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_every_post_follows_its_committed_intent_and_every_report_its_committed_outcome(
    journal, journal_path, concurrency
) -> None:
    names = [f"o{i}" for i in range(24)]
    fake = FakeHyperTrack(names)
    problems: list[str] = []

    def on_post(handle: str) -> None:
        (row,) = [r for r in journal_rows(journal_path) if r["order_handle"] == handle]
        if row["state"] != "sending" or row["attempts"] < 1:
            problems.append(f"POST {handle} with the journal at {row['state']}")

    def on_event(event) -> None:
        if event.kind == "result":
            row = committed(journal_path)[event.result.op_id]
            if row["state"] != event.result.status.value:
                problems.append(f"{event.result.ref.order_handle} reported with the journal at {row['state']}")

    fake.on_post = on_post
    report = await make_engine(fake, journal, concurrency=concurrency).run(
        [OrderRef(h) for h in names], on_event=on_event
    )
    assert problems == []
    assert report.counts()[R.COMPLETED] == 24
    check_invariants(fake, journal_path, names, results=report.results)


async def test_each_outcome_shares_a_commit_with_the_next_intent(journal, journal_path) -> None:
    names = [f"o{i}" for i in range(30)]
    fake = FakeHyperTrack(names)
    count = commits(journal)
    report = await make_engine(fake, journal, concurrency=1).run([OrderRef(h) for h in names])
    assert report.counts()[R.COMPLETED] == 30
    # One intent and one outcome per order: 60 writes. Written one by one they took 60 commits;
    # here each outcome rides with the next intent: 30, plus the run's own records and reads
    # (about 7: settling, the run, its ops, the lookup, the last outcome, the end).
    assert count[0] <= 30 + 10, count[0]
    for result in report.results:
        assert [e["kind"] for e in journal.op_events(result.op_id)] == ["intent", "outcome"]


async def test_an_outcome_written_behind_that_fails_stops_the_run_before_the_next_post(
    journal, journal_path, monkeypatch
) -> None:
    names = [f"o{i}" for i in range(6)]
    fake = FakeHyperTrack(names)
    real = journal.record_outcome
    events: list = []

    def failing(op_id, state, **fields):
        if state == "completed" and fields.get("run_id") and len(fake.posts()) == 2:
            raise JournalWriteError("the journal could not be written: disk I/O error")
        return real(op_id, state, **fields)

    monkeypatch.setattr(journal, "record_outcome", failing)
    report = await make_engine(fake, journal, concurrency=2).run([OrderRef(h) for h in names], on_event=events.append)
    assert report.stop_reason is StopReason.JOURNAL
    assert len(fake.posts()) == 2  # the intents written with the failed outcome were withdrawn
    got = [r.status for r in report.results]
    assert got.count(R.COMPLETED) == 2 and got.count(R.PENDING) == 4
    # The order whose outcome is lost stays an intent without outcome: settled by GET next time.
    assert {op.order_handle for op in journal.pending_intents()} <= {"o0", "o1"}
    assert len(journal.pending_intents()) >= 1
    assert [e.kind for e in events].count("result") == 6


# ---------------------------------------------------------------------- the heap during a run


@pytest.mark.parametrize("freeze", [True, False])
async def test_a_run_keeps_the_heap_it_found_out_of_full_collections(journal, freeze) -> None:
    import gc

    fake = FakeHyperTrack(["a", "b"])
    gc.unfreeze()
    try:
        before = [object.__new__(type("Alive", (), {}))]  # a tracked object alive at the start
        report = await make_engine(fake, journal, freeze_heap=freeze).run([OrderRef("a"), OrderRef("b")])
        assert report.counts()[R.COMPLETED] == 2
        tracked = {id(o) for generation in range(3) for o in gc.get_objects(generation)}
        # Frozen objects are in no generation: a full collection does not walk them.
        assert (id(before[0]) in tracked) is not freeze
        assert (gc.get_freeze_count() > 0) is freeze
    finally:
        gc.unfreeze()
