"""The journal's op states are the same for every action (``applied``, ``applied_reconciled``,
``already_applied``), and whatever shows them speaks in the op's own action: after a cancel run
``dispatch-console journal`` says "cancelled", never "completed". Older journals (schema 1 and 2
stored ``completed`` ...) are migrated in place by the first writer, and read as migrated by a
reader that may not write. Recovery settles every unfinished op of an order, each with its own
action, oldest first."""

from __future__ import annotations

import argparse
import io
import json
import sqlite3
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk import headless as H
from console.bulk import journal as J
from console.bulk.actions import Cancel, Disable, Enable, Reassign
from console.bulk.journal import Journal, JournalReader
from console.bulk.results import ResultStatus as R
from tests.support.fake_hypertrack import ACCOUNT, BASE_URL, FakeHyperTrack, check_invariants, journal_rows
from tests.bulk.test_journal_actions import (  # noqa: F401 - journal_path: a fixture
    V1_SCHEMA, journal_path, leave_intent, make_engine, schema_version, write_v1,
)

#: A version-2 journal as that version wrote it: ``action`` and ``params`` columns, and the
#: complete action's names for the states of every action.
V2_SCHEMA = (
    V1_SCHEMA.replace("completed_at TEXT);", "completed_at TEXT, action TEXT NOT NULL DEFAULT 'complete', params TEXT);")
    .replace("VALUES ('schema_version', '1')", "VALUES ('schema_version', '2')")
    .replace("NULL, NULL, NULL, NULL, NULL);", "NULL, NULL, NULL, NULL, NULL, 'complete', NULL);")
    .replace("'2026-01-01T00:00:01.000000Z');", "'2026-01-01T00:00:01.000000Z', 'complete', NULL);")
    + """
INSERT INTO ops VALUES ('op-cancel', 'run1', 'run1', 'acct-test', 'api.hypertrack.test', 'c', NULL, NULL, NULL,
    'completed_reconciled', 1, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:02.000000Z',
    '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:02.000000Z', NULL, 'read back', NULL, NULL, 'cancel',
    '{"reason":"dup"}');
INSERT INTO ops VALUES ('op-disable', 'run1', 'run1', 'acct-test', 'api.hypertrack.test', 'd', NULL, NULL, NULL,
    'already_completed', 0, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:03.000000Z', NULL, NULL, NULL,
    'already disabled', NULL, NULL, 'disable', NULL);
INSERT INTO op_events(op_id, run_id, at, kind, state) VALUES
    ('op-old', 'run1', '2026-01-01T00:00:01.000000Z', 'outcome', 'completed'),
    ('op-cancel', 'run1', '2026-01-01T00:00:02.000000Z', 'settled', 'completed_reconciled'),
    ('op-disable', 'run1', '2026-01-01T00:00:03.000000Z', 'outcome', 'already_completed'),
    ('op-done', 'run1', '2026-01-01T00:00:00.000000Z', 'intent', 'sending');
"""
)


def write_v2(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.executescript(V2_SCHEMA)
    conn.close()
    path.chmod(0o600)


def raw_states(path: Path) -> tuple[dict[str, str], set[str]]:
    """The states as stored: by op, and every state an event recorded."""
    conn = sqlite3.connect(path)
    try:
        ops = dict(conn.execute("SELECT op_id, state FROM ops").fetchall())
        events = {row[0] for row in conn.execute("SELECT state FROM op_events WHERE state IS NOT NULL")}
        return ops, events
    finally:
        conn.close()


def show_journal(path: Path, *extra: str) -> tuple[str, str]:
    parser = argparse.ArgumentParser()
    H.add_journal_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    args = parser.parse_args(["--journal", str(path), *extra])
    assert H.run_journal(args, stdout=out, stderr=err) == 0
    return out.getvalue(), err.getvalue()


# ---------------------------------------------------------------------- stored names


def test_the_success_states_name_no_action():
    assert J.SUCCESS_STATES == {"applied", "applied_reconciled", "already_applied"}
    assert not any("complet" in state for state in J.ALL_STATES)
    assert J.SCHEMA_VERSION == 3


async def test_a_cancel_run_is_shown_as_cancelled_never_completed(journal_path):
    fake = FakeHyperTrack(["a", "b", "c", "d"], status="ongoing")
    fake.post_faults["b"] = ["drop_after_apply"]
    fake.orders["d"]["status"] = "disabled"
    with Journal(journal_path) as journal:
        cancel = await make_engine(fake, journal, action=Cancel(reason="dup")).run(
            [OrderRef("a"), OrderRef("b")])
        disable = await make_engine(fake, journal, action=Disable()).run([OrderRef("c"), OrderRef("d")])
    assert [r.status for r in cancel.results] == [R.COMPLETED, R.COMPLETED_RECONCILED]
    assert [r.status for r in disable.results] == [R.COMPLETED, R.ALREADY_COMPLETED]
    stored = {row["order_handle"]: row["state"] for row in journal_rows(journal_path)}
    assert stored == {"a": "applied", "b": "applied_reconciled", "c": "applied", "d": "already_applied"}

    out, _ = show_journal(journal_path, "--json")
    lines = {d["order_handle"]: d for d in map(json.loads, out.splitlines())}
    assert {h: (d["state"], d["state_text"], d["action"]) for h, d in lines.items()} == {
        "a": ("applied", "cancelled", "cancel"),
        "b": ("applied_reconciled", "cancelled (reconciled)", "cancel"),
        "c": ("applied", "disabled", "disable"),
        "d": ("already_applied", "already disabled", "disable"),
    }
    out, _ = show_journal(journal_path)
    header, *lines = out.splitlines()
    state_at, order_at = header.index("STATE"), header.index("ORDER")
    rows = {line[order_at:].split()[0]: line[state_at:order_at].strip() for line in lines}
    assert "completed" not in out.lower()
    assert rows == {"a": "cancelled", "b": "cancelled (reconciled)", "c": "disabled", "d": "already disabled"}
    check_invariants(fake, journal_path, ["a", "b", "c", "d"], results=[*cancel.results, *disable.results])


async def test_a_complete_run_still_reads_completed(journal_path):
    fake = FakeHyperTrack(["a"])
    with Journal(journal_path) as journal:
        await make_engine(fake, journal).run([OrderRef("a")])
    out, _ = show_journal(journal_path, "--json")
    (line,) = map(json.loads, out.splitlines())
    assert (line["state"], line["state_text"]) == ("applied", "completed")


def test_other_states_are_shown_by_their_stored_name():
    assert J.state_text("in_doubt", "cancel") == "in_doubt"
    assert J.state_text("not_applied", "reassign") == "not_applied"
    assert J.state_text("applied", "enable") == "enabled"
    assert J.state_text("already_applied", "teleport") == "already applied (teleport)"


# ---------------------------------------------------------------------- migration


def test_a_version_2_journal_is_migrated_states_and_events_alike(journal_path):
    write_v2(journal_path)
    with JournalReader(journal_path) as reader:  # read-only: not migrated, read as if it were
        read = {op.op_id: op.state for op in reader.list_ops()}
        assert reader.has_success_for(OrderRef("c"), account_id=ACCOUNT, base_url=BASE_URL, action="cancel")
        assert [e["state"] for e in reader.op_events("op-cancel")] == ["applied_reconciled"]
    assert read == {"op-done": "sending", "op-old": "applied", "op-cancel": "applied_reconciled",
                    "op-disable": "already_applied"}
    assert schema_version(journal_path) == "2"
    assert raw_states(journal_path)[0]["op-cancel"] == "completed_reconciled"

    with Journal(journal_path) as journal:
        assert schema_version(journal_path) == "3"
        assert {op.op_id: op.state for op in journal.list_ops()} == read
        assert journal.has_success_for(OrderRef("d"), account_id=ACCOUNT, base_url=BASE_URL, action="disable")
    ops, events = raw_states(journal_path)
    assert ops == read
    assert events == {"applied", "applied_reconciled", "already_applied", "sending"}
    with Journal(journal_path):  # opening again changes nothing
        assert schema_version(journal_path) == "3" and raw_states(journal_path)[0] == read

    out, _ = show_journal(journal_path, "--json")
    shown = {d["op_id"]: d["state_text"] for d in map(json.loads, out.splitlines())}
    assert shown == {"op-done": "sending", "op-old": "completed", "op-cancel": "cancelled (reconciled)",
                     "op-disable": "already disabled"}


def test_a_version_1_journal_is_migrated_to_the_current_schema(journal_path):
    write_v1(journal_path)
    with JournalReader(journal_path) as reader:
        assert {op.op_id: op.state for op in reader.list_ops()} == {"op-done": "sending", "op-old": "applied"}
    with Journal(journal_path) as journal:
        assert schema_version(journal_path) == "3"
        ops = {op.op_id: op for op in journal.list_ops()}
        assert {k: (op.state, op.action) for k, op in ops.items()} == {
            "op-done": ("sending", "complete"), "op-old": ("applied", "complete")}
        assert journal.has_success_for(OrderRef("old"), account_id=ACCOUNT, base_url=BASE_URL, action="complete")
    assert raw_states(journal_path)[0] == {"op-done": "sending", "op-old": "applied"}


def test_a_failed_migration_leaves_the_file_as_it_was(journal_path, monkeypatch):
    write_v2(journal_path)
    before = raw_states(journal_path)

    def boom(conn):
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(J, "_rename_states", boom)
    with pytest.raises(J.JournalError):
        Journal(journal_path).open()
    assert schema_version(journal_path) == "2" and raw_states(journal_path) == before


# ---------------------------------------------------------------------- every unfinished op


async def test_resume_settles_every_unfinished_op_of_an_order_each_with_its_own_action(journal_path):
    """Disabled, then enabled, by two runs that never sent: resume sends both, oldest first;
    and a reassign left not applied on another order alongside."""
    fake = FakeHyperTrack(["a", "b"], status="ongoing")
    with Journal(journal_path) as journal:
        first = leave_intent(journal, "a", Disable(), state="pending")
        second = leave_intent(journal, "a", Enable(), state="pending")
        third = leave_intent(journal, "b", Reassign("w-2"), state="not_applied")
        report = await make_engine(fake, journal, action=Cancel()).resume()
        ops = {op.op_id: op for op in journal.list_ops()}
        assert journal.open_ops(ACCOUNT, BASE_URL, (J.PENDING, J.NOT_SENT, J.NOT_APPLIED)) == []
    assert [(b[0], b[1]) for b in fake.bodies if b[0] == "a"] == [("a", "disable"), ("a", "enable")]
    assert [(b[0], b[1]) for b in fake.bodies if b[0] == "b"] == [("b", "reassign")]
    assert fake.orders["a"]["status"] == "ongoing" and fake.orders["b"]["worker_handle"] == "w-2"
    assert {(r.op_id, r.status) for r in report.results} == {
        (first, R.COMPLETED), (second, R.COMPLETED), (third, R.COMPLETED)}
    assert {k: (op.action, op.state) for k, op in ops.items()} == {
        first: ("disable", "applied"), second: ("enable", "applied"), third: ("reassign", "applied")}
    assert "cancel" not in {b[1] for b in fake.bodies}


async def test_a_later_op_waits_while_an_earlier_op_of_its_order_stays_in_doubt(journal_path):
    """The earlier disable could not be settled (every read fails): the enable queued after it
    is not sent (it would act on a state nobody knows) and stays pending for the next start."""
    fake = FakeHyperTrack(["a"], status="ongoing")
    fake.get_always_fails.add("a")
    with Journal(journal_path) as journal:
        first = leave_intent(journal, "a", Disable())  # interrupted mid-flight
        second = leave_intent(journal, "a", Enable(), state="pending")
        report = await make_engine(fake, journal).resume()
        assert journal.op(first).state == "in_doubt" and journal.op(second).state == "pending"
    assert [r.status for r in report.settled] == [R.IN_DOUBT]
    assert fake.posts() == []


async def test_an_order_s_next_op_goes_out_only_once_the_previous_one_is_closed(journal_path):
    """Rejected (closed): the enable queued after it is sent. Never reached the server, its
    retries spent (not closed: it may be sent again): the enable after it stays pending."""
    fake = FakeHyperTrack(["a", "b"], status="disabled")
    fake.post_faults["a"] = ["422"]
    fake.post_faults["b"] = ["connect"] * 8
    with Journal(journal_path) as journal:
        leave_intent(journal, "a", Reassign("w-1"), state="pending")
        leave_intent(journal, "b", Reassign("w-1"), state="pending")
        enable_a = leave_intent(journal, "a", Enable(), state="pending")
        enable_b = leave_intent(journal, "b", Enable(), state="pending")
        report = await make_engine(fake, journal).resume()
        assert journal.op(enable_a).state == "applied" and journal.op(enable_b).state == "pending"
    assert {(r.ref.order_handle, r.status) for r in report.results} == {
        ("a", R.REJECTED), ("a", R.COMPLETED), ("b", R.FAILED_NOT_SENT)}
    assert [b[1] for b in fake.bodies if b[0] == "a"] == ["reassign", "enable"]
    assert {b[1] for b in fake.bodies if b[0] == "b"} == {"reassign"}
