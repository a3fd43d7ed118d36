"""A damaged journal: detected when it opens, one clear message, exit 3, nothing sent; moving it aside.

The damage is real: a journal is written, closed, and bytes in the middle of one of its pages
(a leaf page of the ``ops`` table, or of the ``op_events`` history) are overwritten, as a bad
sector, a torn write or a stray tool would.
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.journal import Journal, JournalDamaged, JournalLocked, JournalReader, move_aside
from tests.support.fake_hypertrack import ACCOUNT, BASE_URL, SECRET, FakeHyperTrack
from tests.bulk.test_headless import Console, complete, parser_for

from console.bulk import headless as H

REPO = Path(__file__).resolve().parents[2]


def written_journal(path: Path, handles: list[str], *, sending: bool) -> None:
    """A journal of one run over ``handles``: each intent committed, and (unless ``sending``) its
    outcome too. ``sending``: the run died mid-flight, so every op must be settled at start-up."""
    with Journal(path) as journal:
        run_id = journal.start_run(account_id=ACCOUNT, base_url=BASE_URL, count=len(handles))
        op_ids = journal.add_ops(run_id, [OrderRef(h) for h in handles], account_id=ACCOUNT, base_url=BASE_URL)
        for op_id in op_ids:
            journal.record_intent(op_id, run_id)
            if not sending:
                journal.record_outcome(op_id, "applied", run_id=run_id, http_status=200, message="ok " * 20)
        if not sending:
            journal.finish_run(run_id)
    assert not Path(str(path) + "-wal").exists()  # closed: everything is in the main file


def damage(path: Path, table: str) -> int:
    """Overwrite 64 bytes in the middle of a leaf page of ``table``; returns the page number."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("CREATE VIRTUAL TABLE temp.pages USING dbstat(main)")
        pages = [row[0] for row in conn.execute(
            "SELECT pageno FROM temp.pages WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno", (table,))]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    finally:
        conn.close()
    assert len(pages) >= 3, pages
    page = pages[len(pages) // 2]
    with open(path, "r+b") as fh:
        fh.seek((page - 1) * page_size + 16)
        fh.write(b"\xde\xad\xbe\xef" * 16)
    return page


HANDLES = [f"order-{i:04d}" for i in range(300)]


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


def assert_damaged_message(err: str, path: Path) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert str(path) in err and "damaged" in err
    assert "dispatch-console journal --move-aside" in err
    assert SECRET not in err


# ---------------------------------------------------------------------- complete


def test_a_damaged_ops_page_stops_complete_with_exit_3_and_nothing_sent(journal_path) -> None:
    written_journal(journal_path, HANDLES, sending=True)
    damage(journal_path, "ops")
    fake = FakeHyperTrack(["fresh", *HANDLES])
    code, con = complete(fake, journal_path, ["fresh", "--yes", "--json"])
    assert code == 3
    assert fake.log == []  # not a GET, not a POST
    assert con.out == ""
    assert_damaged_message(con.err, journal_path)


def test_damaged_history_pages_stop_complete_with_exit_3_and_nothing_is_written(journal_path) -> None:
    written_journal(journal_path, HANDLES, sending=False)
    damage(journal_path, "op_events")
    before = journal_path.read_bytes()
    fake = FakeHyperTrack(["fresh"])
    code, con = complete(fake, journal_path, ["fresh", "--yes", "--json"])
    assert code == 3
    assert fake.log == []
    assert_damaged_message(con.err, journal_path)
    # no new order was written into the damaged file
    assert journal_path.read_bytes() == before
    assert not Path(str(journal_path) + "-wal").exists() or b"fresh" not in Path(str(journal_path) + "-wal").read_bytes()


# ---------------------------------------------------------------------- journal


@pytest.mark.parametrize("table", ["ops", "op_events"])
def test_the_journal_command_reports_a_damaged_file_with_exit_3(journal_path, table) -> None:
    written_journal(journal_path, HANDLES, sending=False)
    damage(journal_path, table)
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--journal", str(journal_path)])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 3
    assert con.out == ""
    assert_damaged_message(con.err, journal_path)


@pytest.mark.parametrize("opener", [Journal, JournalReader])
@pytest.mark.parametrize("table", ["ops", "op_events"])
def test_both_openers_check_integrity(journal_path, opener, table) -> None:
    written_journal(journal_path, HANDLES, sending=False)
    damage(journal_path, table)
    with pytest.raises(JournalDamaged) as err:
        opener(journal_path).open()
    assert err.value.path == journal_path
    assert str(journal_path) in str(err.value)
    # the writer let go of its lock: another opener is told "damaged", not "locked"
    with pytest.raises(JournalDamaged):
        Journal(journal_path).open()


def test_a_file_that_is_not_a_database_is_damaged_too(journal_path) -> None:
    journal_path.write_bytes(b"this is not SQLite" * 300)
    os.chmod(journal_path, 0o600)
    with pytest.raises(JournalDamaged):
        Journal(journal_path).open()
    with pytest.raises(JournalDamaged):
        JournalReader(journal_path).open()


def test_a_healthy_journal_opens_as_before(journal_path) -> None:
    written_journal(journal_path, HANDLES[:20], sending=False)
    with JournalReader(journal_path) as reader:
        assert len(reader.list_ops()) == 20
    with Journal(journal_path) as journal:
        assert len(journal.list_ops()) == 20


# ---------------------------------------------------------------------- through the real command line


def run_cli(*argv: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYPERTRACK_")}
    env.update({"PYTHONPATH": str(REPO), **(env_extra or {})})
    return subprocess.run([sys.executable, "-m", "console", *argv], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=120)


@pytest.mark.parametrize("table", ["ops", "op_events"])
def test_the_cli_never_shows_a_traceback_for_a_damaged_journal(journal_path, table) -> None:
    written_journal(journal_path, HANDLES, sending=table == "ops")
    damage(journal_path, table)
    result = run_cli("journal", "--journal", str(journal_path))
    assert result.returncode == 3, result.stderr
    assert_damaged_message(result.stderr, journal_path)
    result = run_cli("--sandbox", "complete", "ORD-1", "--yes", "--journal", str(journal_path))
    assert result.returncode == 3, result.stderr
    assert_damaged_message(result.stderr, journal_path)
    assert result.stdout == ""


# ---------------------------------------------------------------------- moving it aside


def test_move_aside_keeps_the_old_files_0600_and_a_new_journal_starts(journal_path) -> None:
    written_journal(journal_path, HANDLES, sending=False)
    damage(journal_path, "ops")
    damaged_bytes = journal_path.read_bytes()
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--move-aside", "--journal", str(journal_path)])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 0, con.err
    assert not journal_path.exists()
    kept = [p for p in journal_path.parent.iterdir() if ".damaged-" in p.name]
    (moved,) = [p for p in kept if p.name.endswith("Z")]
    assert {p.name[len(moved.name):] for p in kept} <= {"", "-wal", "-shm"}  # its companions, if any
    assert moved.name.startswith("journal.sqlite3.damaged-")
    assert moved.read_bytes() == damaged_bytes
    assert all(stat.S_IMODE(os.stat(p).st_mode) == 0o600 for p in kept)
    assert str(moved) in con.err and "Traceback" not in con.err
    # a new run starts on a new, empty journal
    fake = FakeHyperTrack(["fresh"])
    code, con = complete(fake, journal_path, ["fresh", "--yes", "--json"])
    assert code == 0, con.err
    assert len(fake.posts("fresh")) == 1


def test_move_aside_takes_the_companions_along(journal_path) -> None:
    journal_path.write_bytes(b"x" * 4096)
    for suffix in ("-wal", "-shm"):
        Path(str(journal_path) + suffix).write_bytes(b"y" * 100)
    moved = move_aside(journal_path)
    assert [p.name.rsplit("Z", 1)[1] for p in moved] == ["", "-wal", "-shm"]
    assert not any(Path(str(journal_path) + s).exists() for s in ("", "-wal", "-shm"))
    for p in moved:
        assert p.exists() and stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_move_aside_refuses_while_the_journal_is_held(journal_path) -> None:
    with Journal(journal_path):  # its lock, as a run in another process holds it
        with pytest.raises(JournalLocked):
            move_aside(journal_path)
        con = Console()
        args = parser_for(H.add_journal_arguments).parse_args(["--move-aside", "--journal", str(journal_path)])
        assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 3
        assert "in use" in con.err
    assert journal_path.exists()


def test_move_aside_refuses_a_healthy_journal(journal_path) -> None:
    written_journal(journal_path, HANDLES[:5], sending=True)
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--move-aside", "--journal", str(journal_path)])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 3
    assert "not damaged" in con.err
    assert journal_path.exists()
    with JournalReader(journal_path) as reader:
        assert len(reader.list_ops()) == 5


def test_move_aside_without_a_journal_says_so(tmp_path) -> None:
    con = Console()
    args = parser_for(H.add_journal_arguments).parse_args(["--move-aside", "--journal", str(tmp_path / "none" / "j.db")])
    assert H.run_journal(args, stdout=con.stdout, stderr=con.stderr) == 3
    assert "no journal" in con.err and not (tmp_path / "none").exists()


def test_damage_found_while_settling_an_earlier_run_stops_with_exit_3(journal_path, monkeypatch) -> None:
    """The check on open passed, then a read hits a damaged page (the file was damaged under the
    running command): the same clear message and exit 3, nothing sent."""
    written_journal(journal_path, ["a"], sending=True)

    def damaged_read(self, *args, **kwargs):
        raise JournalDamaged(self.path, "database disk image is malformed")

    monkeypatch.setattr(Journal, "unsettled", damaged_read)
    fake = FakeHyperTrack(["a", "b"])
    code, con = complete(fake, journal_path, ["b", "--yes", "--json"])
    assert code == 3
    assert fake.posts() == []
    assert_damaged_message(con.err, journal_path)
