"""The journal: file modes, the single-writer lock, durability of intents, queries, group commit."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk import journal as J
from console.bulk.journal import Journal, JournalLocked, JournalReader, JournalUnsafe, JournalWriteError

REPO = Path(__file__).resolve().parents[2]
URL = "https://v3.api.hypertrack.com"


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask_000():
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def one_op(journal: Journal, handle: str = "a", **ref) -> tuple[str, str]:
    run_id = journal.start_run(account_id="acct", base_url=URL, count=1)
    (op_id,) = journal.add_ops(run_id, [OrderRef(handle, **ref)], account_id="acct", base_url=URL)
    return run_id, op_id


def test_every_file_is_0600_even_under_umask_000(tmp_path: Path, umask_000) -> None:
    path = tmp_path / "data" / "journal.sqlite3"
    with Journal(path) as journal:
        run_id, op_id = one_op(journal)
        journal.record_intent(op_id, run_id)
        for name in ("journal.sqlite3", "journal.sqlite3-wal", "journal.sqlite3-shm", "journal.sqlite3.lock"):
            assert (path.parent / name).exists(), name
            assert mode(path.parent / name) == 0o600, name
    assert mode(path.parent) == 0o700


def test_a_wider_existing_file_is_narrowed_and_a_symlink_refused(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    path.touch()
    os.chmod(path, 0o644)
    with Journal(path):
        assert mode(path) == 0o600
    link = tmp_path / "link.sqlite3"
    link.symlink_to(tmp_path / "elsewhere.sqlite3")
    with pytest.raises(JournalUnsafe, match="symbolic link"):
        Journal(link).open()
    assert not (tmp_path / "elsewhere.sqlite3").exists()


def test_wal_and_full_sync_are_on(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        assert journal._conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_a_second_writer_in_the_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path):
        with pytest.raises(JournalLocked) as err:
            Journal(path).open()
        assert err.value.holder_pid == str(os.getpid())
        assert str(os.getpid()) in str(err.value) and "started" in str(err.value)
    with Journal(path):  # released on close
        pass


HOLDER = textwrap.dedent(
    """
    import sys, time
    from console.bulk.journal import Journal
    j = Journal(sys.argv[1]).open()
    print("ready", flush=True)
    time.sleep(60)  # holds the journal until the test kills it
    """
)


def test_f28_a_second_instance_is_refused_while_the_first_lives_and_not_after_it_dies(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], cwd=REPO, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(JournalLocked) as err:
            Journal(path).open()
        assert err.value.holder_pid == str(holder.pid)
        assert f"process {holder.pid}" in str(err.value)
        # the reader still works while a writer holds the lock
        with JournalReader(path) as reader:
            assert reader.list_ops() == []
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=10)
    with Journal(path):  # the kernel released the dead holder's lock: no stale-lock problem
        pass


def test_intents_without_outcome_survive_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        run_id = journal.start_run(account_id="acct", base_url=URL, count=3)
        ops = journal.add_ops(run_id, [OrderRef("a"), OrderRef("b", "drop", 1, 2), OrderRef("c")],
                              account_id="acct", base_url=URL)
        for op_id in ops:
            assert journal.record_intent(op_id, run_id) == 1
        journal.record_outcome(ops[0], J.APPLIED, run_id=run_id, http_status=200,
                               completed_at=datetime(2026, 1, 2, tzinfo=timezone.utc))
    with Journal(path) as journal:
        pending = journal.pending_intents(account_id="acct", base_url=URL)
        assert [op.op_id for op in pending] == ops[1:]
        assert pending[0].ref == OrderRef("b", "drop", 1, 2)
        assert journal.pending_intents(account_id="other") == []
        assert journal.pending_intents(base_url="https://other.example") == []
        done = journal.op(ops[0])
        assert done.state == "applied" and done.completed_at == "2026-01-02T00:00:00.000000Z"
        assert [e["kind"] for e in journal.op_events(ops[0])] == ["intent", "outcome"]


def test_messages_are_sanitized_and_truncated_and_no_secret_field_exists(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        run_id, op_id = one_op(journal)
        journal.record_outcome(op_id, J.REJECTED, message="\x1b]2;pwned\x07" + "x" * 5000,
                               request_id="r\x1b" + "y" * 500)
        row = journal.op(op_id)
        assert row.message.startswith("\\x1b]2;pwned\\x07") and len(row.message) <= J.MAX_MESSAGE_CHARS
        assert "\x1b" not in row.request_id and len(row.request_id) <= J.MAX_REQUEST_ID_CHARS
        columns = {r[1] for t in ("runs", "ops") for r in journal._conn.execute(f"PRAGMA table_info({t})")}
        assert not any("secret" in c or "auth" in c or "key" in c for c in columns)


def test_unknown_states_are_refused(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        _, op_id = one_op(journal)
        with pytest.raises(ValueError):
            journal.record_outcome(op_id, "done-ish")


def test_list_since_and_runs(tmp_path: Path) -> None:
    now = [datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)]
    with Journal(tmp_path / "j.sqlite3", now=lambda: now[0]) as journal:
        _, old = one_op(journal, "old")
        now[0] += timedelta(hours=3)
        _, new = one_op(journal, "new")
        since = datetime(2026, 3, 1, 14, 0, tzinfo=timezone.utc)
        assert [op.order_handle for op in journal.list_ops(since=since)] == ["new"]
        assert [op.order_handle for op in journal.list_ops()] == ["old", "new"]
        assert len(journal.list_runs(since=since)) == 1
        assert journal.list_ops(account_id="nobody") == []


def test_a_missing_journal_reads_as_empty(tmp_path: Path) -> None:
    with JournalReader(tmp_path / "none.sqlite3") as reader:
        assert reader.list_ops() == [] and reader.list_runs() == []
    assert not (tmp_path / "none.sqlite3").exists()


def test_the_reader_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        one_op(journal)
    with JournalReader(path) as reader:
        with pytest.raises(JournalWriteError):
            reader.start_run(account_id="a", base_url=URL, count=1)


def test_default_path_is_the_platform_data_dir_unless_overridden(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(J.JOURNAL_ENV, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    import platformdirs

    expected = Path(platformdirs.user_data_dir("dispatch-console")) / "journal.sqlite3"
    assert J.default_journal_path() == expected
    assert str(expected).startswith(str(tmp_path / "xdg"))
    monkeypatch.setenv(J.JOURNAL_ENV, str(tmp_path / "mine.sqlite3"))
    assert J.default_journal_path() == tmp_path / "mine.sqlite3"
    assert Journal().path == tmp_path / "mine.sqlite3"


def test_group_commit_keeps_every_concurrent_write_and_isolates_a_failing_one(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal:
        run_id = journal.start_run(account_id="acct", base_url=URL, count=200)
        ops = journal.add_ops(run_id, [OrderRef(f"o{i}") for i in range(200)], account_id="acct", base_url=URL)
        errors: list[Exception] = []

        def writer(chunk: list[str]) -> None:
            for op_id in chunk:
                journal.record_intent(op_id, run_id)
                try:
                    journal.record_intent("no-such-op", run_id)  # fails inside a shared batch
                except JournalWriteError as exc:
                    errors.append(exc)
                journal.record_outcome(op_id, J.APPLIED, run_id=run_id)

        threads = [threading.Thread(target=writer, args=(ops[i::8],)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(errors) == 200
    with JournalReader(path) as reader:
        rows = reader.list_ops()
        assert len(rows) == 200 and all(r.state == "applied" and r.attempts == 1 for r in rows)


def test_a_full_disk_is_a_journal_write_error(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        _, op_id = one_op(journal)
        journal._conn.execute("PRAGMA query_only = 1")
        with pytest.raises(JournalWriteError, match="could not be written"):
            journal.record_intent(op_id)
        journal._conn.execute("PRAGMA query_only = 0")
        assert journal.op(op_id).attempts == 0  # nothing half-written


# ------------------------------------------------------------- what is fsynced, and when


class CommitSpy:
    """Stands in for the journal's connection: notes, for every COMMIT, the connection's
    ``PRAGMA synchronous`` at that moment (2 FULL: the WAL is fsynced; 1 NORMAL: it is not)
    and the statements of the transaction."""

    def __init__(self, conn) -> None:
        self._real = conn
        self.commits: list[tuple[int, list[tuple[str, tuple]]]] = []
        self._statements: list[tuple[str, tuple]] = []

    def execute(self, sql: str, params: tuple = ()):
        if sql == "COMMIT":
            sync = self._real.execute("PRAGMA synchronous").fetchone()[0]
            cursor = self._real.execute(sql, params)
            self.commits.append((sync, self._statements))
            self._statements = []
            return cursor
        if sql.startswith("BEGIN"):
            self._statements = []
        self._statements.append((sql, tuple(params)))
        return self._real.execute(sql, params)

    def __getattr__(self, name: str):
        return getattr(self._real, name)

    def kinds(self, commit_index: int) -> set[str]:
        """What a commit carried: 'intent', 'outcome', 'sync' (the meta row of Journal.sync)."""
        found = set()
        for sql, _ in self.commits[commit_index][1]:
            if "attempts = attempts + 1" in sql:
                found.add("intent")
            elif "outcome_at = ?" in sql:
                found.add("outcome")
            elif "'synced_at'" in sql:
                found.add("sync")
        return found


def spy_on(journal: Journal) -> CommitSpy:
    spy = CommitSpy(journal._conn)
    journal._conn = spy
    return spy


def test_an_intent_is_fsynced_an_outcome_only_committed_yet_visible_to_a_reader(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    with Journal(path) as journal, JournalReader(path) as reader:
        run_id, op_id = one_op(journal)
        spy = spy_on(journal)
        journal.record_intent(op_id, run_id)
        assert spy.kinds(-1) == {"intent"} and spy.commits[-1][0] == 2  # FULL: fsynced on return
        assert journal.unsynced_commits == 0
        journal.record_outcome(op_id, J.APPLIED, run_id=run_id, http_status=200)
        assert spy.kinds(-1) == {"outcome"} and spy.commits[-1][0] == 1  # NORMAL: no fsync of its own
        assert journal.unsynced_commits == 1
        assert reader.op(op_id).state == J.APPLIED  # committed: another connection sees it
        journal.record_outcome(op_id, J.APPLIED, run_id=run_id, durable=True)
        assert spy.commits[-1][0] == 2 and journal.unsynced_commits == 0


def test_the_next_durable_write_syncs_earlier_outcomes_and_close_syncs_what_is_left(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path).open()
    run_id = journal.start_run(account_id="acct", base_url=URL, count=2)
    a, b = journal.add_ops(run_id, [OrderRef("a"), OrderRef("b")], account_id="acct", base_url=URL)
    spy = spy_on(journal)
    journal.record_intent(a, run_id)
    journal.record_outcome(a, J.APPLIED, run_id=run_id)
    journal.record_intent(b, run_id)  # a's outcome is in the WAL before it: this fsync covers it
    assert [sync for sync, _ in spy.commits] == [2, 1, 2] and journal.unsynced_commits == 0
    journal.sync()  # nothing to do: no commit
    assert len(spy.commits) == 3
    journal.record_outcome(b, J.APPLIED, run_id=run_id)
    assert journal.unsynced_commits == 1
    journal.close()
    assert len(spy.commits) == 5 and spy.kinds(-1) == {"sync"} and spy.commits[-1][0] == 2
    with JournalReader(path) as reader:
        assert {op.state for op in reader.list_ops()} == {J.APPLIED}
        assert reader._read("SELECT value FROM meta WHERE key = 'synced_at'")


def test_a_group_commit_holding_any_durable_write_is_fsynced(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite3") as journal:
        run_id, op_id = one_op(journal)
        spy = spy_on(journal)
        stmt = "UPDATE ops SET updated_at = updated_at WHERE op_id = ?"
        batch = [J._Pending(lambda conn: conn.execute(stmt, (op_id,)), durable=False),
                 J._Pending(lambda conn: conn.execute(stmt, (op_id,)), durable=True)]
        journal._commit_batch(batch)
        assert spy.commits[-1][0] == 2 and all(entry.done and entry.error is None for entry in batch)
        journal._commit_batch([J._Pending(lambda conn: conn.execute(stmt, (op_id,)), durable=False)])
        assert spy.commits[-1][0] == 1
