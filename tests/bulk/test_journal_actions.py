"""The journal records each op's action and parameters; older (version 1) journals are migrated;
whatever a later start settles or re-sends is judged and sent with the op's own action and
parameters, never with the action of the run that happens to find it."""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.actions import COMPLETE, Cancel, Disable, Reassign, Reschedule, from_journal
from console.bulk.engine import BulkEngine
from console.bulk.journal import SCHEMA_VERSION, Journal, JournalReader
from console.bulk.results import ResultStatus as R
from tests.support.fake_hypertrack import ACCOUNT, BASE_URL, FakeHyperTrack, check_invariants

AT = datetime(2026, 12, 8, 14, 30, tzinfo=timezone.utc)

#: The schema of a version-1 journal file, as that version created it.
V1_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs (run_id TEXT PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT,
    account_id TEXT NOT NULL, base_host TEXT NOT NULL, order_count INTEGER NOT NULL, stop_reason TEXT, pid INTEGER);
CREATE TABLE ops (op_id TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(run_id), last_run_id TEXT,
    account_id TEXT NOT NULL, base_host TEXT NOT NULL, order_handle TEXT NOT NULL, type TEXT, type_index INTEGER,
    fulfillment_attempt INTEGER, state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, intent_at TEXT, outcome_at TEXT, http_status INTEGER, message TEXT, request_id TEXT,
    completed_at TEXT);
CREATE INDEX ops_by_order ON ops(account_id, base_host, order_handle);
CREATE INDEX ops_by_state ON ops(state);
CREATE INDEX ops_by_update ON ops(updated_at);
CREATE TABLE op_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL, run_id TEXT, at TEXT NOT NULL,
    kind TEXT NOT NULL, state TEXT, attempt INTEGER, http_status INTEGER, message TEXT, request_id TEXT);
CREATE INDEX op_events_by_op ON op_events(op_id);
INSERT INTO meta VALUES ('schema_version', '1');
INSERT INTO runs VALUES ('run1', '2026-01-01T00:00:00.000000Z', NULL, 'acct-test', 'api.hypertrack.test', 2, NULL, 1);
INSERT INTO ops VALUES ('op-done', 'run1', 'run1', 'acct-test', 'api.hypertrack.test', 'done', NULL, NULL, NULL,
    'sending', 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z',
    NULL, NULL, NULL, NULL, NULL);
INSERT INTO ops VALUES ('op-old', 'run1', 'run1', 'acct-test', 'api.hypertrack.test', 'old', NULL, NULL, NULL,
    'completed', 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:01.000000Z', '2026-01-01T00:00:00.000000Z',
    '2026-01-01T00:00:01.000000Z', 200, 'completed', NULL, '2026-01-01T00:00:01.000000Z');
"""


def write_v1(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V1_SCHEMA)
    conn.close()
    path.chmod(0o600)


def schema_version(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def make_engine(fake: FakeHyperTrack, journal: Journal, action=COMPLETE, **options) -> BulkEngine:
    options.setdefault("sleep", fake.clock.sleep)
    options.setdefault("clock", fake.clock)
    options.setdefault("rng", random.Random(7))
    # Intents of the earlier run are hours old: their settle windows have long passed.
    options.setdefault("wall_clock", lambda: datetime.now(timezone.utc) + timedelta(hours=2))
    return BulkEngine(fake.client(), journal, action=action, **options)


def leave_intent(journal: Journal, handle: str, action, *, state: str = "sending") -> str:
    """What a process killed after committing ``action``'s intent leaves behind."""
    run_id = journal.start_run(account_id=ACCOUNT, base_url=BASE_URL, count=1)
    (op_id,) = journal.add_ops(run_id, [OrderRef(handle)], account_id=ACCOUNT, base_url=BASE_URL,
                               actions=[(action.name, action.params_json())])
    journal.record_intent(op_id, run_id)
    if state != "sending":
        journal.record_outcome(op_id, state, run_id=run_id, message="left so by a test")
    return op_id


# ---------------------------------------------------------------------- migration


def test_a_version_1_journal_is_migrated_and_its_ops_read_as_completions(journal_path):
    write_v1(journal_path)
    with JournalReader(journal_path) as reader:  # read-only: read as it is, not migrated
        ops = {op.op_id: op for op in reader.list_ops()}
        assert reader.has_success_for(OrderRef("old"), account_id=ACCOUNT, base_url=BASE_URL, action="complete")
    assert {(op.action, op.params) for op in ops.values()} == {("complete", None)}
    assert schema_version(journal_path) == "1"
    with Journal(journal_path) as journal:
        assert schema_version(journal_path) == str(SCHEMA_VERSION) == "3"
        migrated = {op.op_id: op for op in journal.list_ops()}
        assert migrated.keys() == {"op-done", "op-old"}
        assert migrated["op-old"].state == "applied" and migrated["op-old"].action == "complete"
        assert migrated["op-done"].state == "sending" and migrated["op-done"].to_json()["params"] == {}
        assert journal.has_success_for(OrderRef("old"), account_id=ACCOUNT, base_url=BASE_URL, action="complete")
        assert not journal.has_success_for(OrderRef("old"), account_id=ACCOUNT, base_url=BASE_URL, action="cancel")
    with Journal(journal_path):  # opening again changes nothing
        assert schema_version(journal_path) == "3"
    assert oct(journal_path.stat().st_mode & 0o777) == "0o600"


async def test_an_intent_a_version_1_run_left_is_settled_as_a_completion(journal_path):
    write_v1(journal_path)
    fake = FakeHyperTrack(["done"])
    fake._apply("done")
    with Journal(journal_path) as journal:
        # This run disables: the old intent is still judged as the complete it was.
        settled = await make_engine(fake, journal, action=Disable()).settle_pending()
    assert [(r.ref.order_handle, r.status) for r in settled] == [("done", R.COMPLETED_RECONCILED)]
    assert fake.posts() == []


# ---------------------------------------------------------------------- recording


async def test_every_op_records_its_action_and_parameters_next_to_the_outcome(journal_path):
    fake = FakeHyperTrack(["a", "b", "c"], status="assigned")
    with Journal(journal_path) as journal:
        for action, handle in ((Reassign("w-2"), "a"), (Reschedule(at=AT), "b"), (Cancel(reason="dup"), "c")):
            report = await make_engine(fake, journal, action=action).run([OrderRef(handle)])
            assert report.results[0].status is R.COMPLETED
        ops = {op.order_handle: op for op in journal.list_ops()}
    assert {h: (op.action, op.params_dict, op.state) for h, op in ops.items()} == {
        "a": ("reassign", {"worker": "w-2"}, "applied"),
        "b": ("reschedule", {"at": "2026-12-08T14:30:00Z"}, "applied"),
        "c": ("cancel", {"reason": "dup"}, "applied"),
    }
    assert all(from_journal(op.action, op.params) is not None for op in ops.values())


# ---------------------------------------------------------------------- recovery


async def test_an_interrupted_reassign_is_judged_as_that_reassign(journal_path):
    """The server applied it: a reassign to w-2 shows worker w-2, which as a complete would
    look "not applied" and be completed by mistake."""
    fake = FakeHyperTrack(["a"], status="ongoing")
    fake.orders["a"]["worker_handle"] = "w-1"
    with Journal(journal_path) as journal:
        leave_intent(journal, "a", Reassign("w-2"))
        fake._apply("a", "reassign", {"worker_handle": "w-2"})
        report = await make_engine(fake, journal, action=COMPLETE).run([])
    assert [(r.ref.order_handle, r.status) for r in report.settled] == [("a", R.COMPLETED_RECONCILED)]
    assert "reassigned" in report.settled[0].message
    assert fake.posts() == [] and fake.orders["a"]["status"] == "assigned"
    check_invariants(fake, journal_path, ["a"], results=report.settled)


async def test_resume_re_sends_with_the_same_action_and_parameters(journal_path):
    fake = FakeHyperTrack(["r", "w", "c"], status="assigned")
    with Journal(journal_path) as journal:
        leave_intent(journal, "r", Reschedule(at=AT))  # interrupted, never reached the server
        leave_intent(journal, "w", Reassign("w-9", ops_group="g"), state="pending")
        leave_intent(journal, "c", Cancel(reason="dup"), state="not_applied")
        report = await make_engine(fake, journal, action=COMPLETE).resume()
        ops = {op.order_handle: op for op in journal.list_ops()}
    assert {r.ref.order_handle: r.status for r in report.results} == {"r": R.COMPLETED, "w": R.COMPLETED,
                                                                      "c": R.COMPLETED}
    assert sorted(fake.bodies, key=lambda sent: sent[0]) == [
        ("c", "cancel", {"metadata": {"cancel_reason": "dup"}}), ("r", "reschedule", {"scheduled_at": "2026-12-08T14:30:00Z"}),
        ("w", "reassign", {"worker_handle": "w-9", "ops_group_handle": "g"})]
    assert fake.orders["c"]["status"] == "cancelled" and fake.orders["w"]["worker_handle"] == "w-9"
    # The same ops carried on (same ids, attempts counted), with their action unchanged.
    assert {h: (op.action, op.attempts) for h, op in ops.items()} == {
        "r": ("reschedule", 2), "w": ("reassign", 2), "c": ("cancel", 2)}
    check_invariants(fake, journal_path, ["r", "w", "c"], results=report.results)


async def test_a_run_of_another_action_does_not_take_over_a_pending_op(journal_path):
    fake = FakeHyperTrack(["a"], status="ongoing")
    with Journal(journal_path) as journal:
        cancel_op = leave_intent(journal, "a", Cancel(), state="pending")
        report = await make_engine(fake, journal, action=Disable()).run([OrderRef("a")])
        assert report.results[0].status is R.COMPLETED and report.results[0].op_id != cancel_op
        assert journal.op(cancel_op).action == "cancel" and journal.op(cancel_op).state == "pending"
        assert journal.op(report.results[0].op_id).action == "disable"
    assert fake.bodies == [("a", "disable", {})]


async def test_a_pending_op_of_the_same_action_but_other_parameters_is_not_taken_over(journal_path):
    fake = FakeHyperTrack(["a"], status="assigned")
    with Journal(journal_path) as journal:
        old = leave_intent(journal, "a", Reassign("w-1"), state="pending")
        report = await make_engine(fake, journal, action=Reassign("w-2")).run([OrderRef("a")])
        assert report.results[0].op_id != old and journal.op(old).params_dict == {"worker": "w-1"}
    assert fake.bodies == [("a", "reassign", {"worker_handle": "w-2"})]


async def test_an_op_with_an_action_this_version_does_not_know_is_never_sent(journal_path):
    fake = FakeHyperTrack(["a", "b"], status="ongoing")
    with Journal(journal_path) as journal:
        run_id = journal.start_run(account_id=ACCOUNT, base_url=BASE_URL, count=2)
        op_a, op_b = journal.add_ops(run_id, [OrderRef("a"), OrderRef("b")], account_id=ACCOUNT, base_url=BASE_URL,
                                     actions=[("teleport", None), ("reassign", '{"nope": 1}')])
        journal.record_intent(op_a, run_id)
        journal.record_outcome(op_b, "not_applied", run_id=run_id)
        engine = make_engine(fake, journal)
        report = await engine.resume()
    assert [(r.ref.order_handle, r.status) for r in report.settled] == [("a", R.IN_DOUBT)]
    assert "cannot check" in report.settled[0].message
    assert report.results == [] and fake.posts() == []


def test_from_journal_rebuilds_each_action_exactly():
    for action in (COMPLETE, Cancel(), Cancel(reason="why"), Disable(), Reassign("w", ops_group="g"),
                   Reschedule(at=AT, after=AT - timedelta(hours=1))):
        assert from_journal(action.name, action.params_json()) == action
    assert from_journal(None, None) == COMPLETE  # version-1 ops
    for name, params in (("teleport", None), ("reassign", None), ("reschedule", '{"at": "soon"}'),
                         ("reassign", "[1]"), ("cancel", "{")):
        with pytest.raises(ValueError):
            from_journal(name, params)
