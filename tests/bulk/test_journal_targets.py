"""Journals per target: runs against the embedded sandbox never mix with a real account's.

The embedded sandbox writes to ``<journal>-sandbox<suffix>`` beside the real accounts' journal
(``$DISPATCH_CONSOLE_JOURNAL`` or the platform data directory); ``journal`` shows the current
target's runs and says which account and server each was against; ``--all`` shows every target.
The "real account" here is the sandbox served over loopback HTTP, reached with ``--base-url``
and credentials in the environment, exactly as a real account is.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from console import cli
from console.bulk import journal as J
from console.bulk.headless import JournalTarget
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID
from tests.support.fake_hypertrack import journal_rows


def test_the_sandbox_journal_sits_beside_the_real_one(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(J.JOURNAL_ENV, str(tmp_path / "mine.db"))
    assert J.journal_path_for(sandbox=False) == tmp_path / "mine.db"
    assert J.journal_path_for(sandbox=True) == tmp_path / "mine-sandbox.db"
    # an explicit path is used as given, whatever the target
    assert J.journal_path_for(sandbox=True, explicit=tmp_path / "x.sqlite3") == tmp_path / "x.sqlite3"
    monkeypatch.delenv(J.JOURNAL_ENV)
    assert J.journal_path_for(sandbox=True).name == "journal-sandbox.sqlite3"
    assert J.journal_path_for(sandbox=True).parent == J.default_journal_path().parent


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def open_handles(capsys, *connection: str, count: int = 2) -> list[str]:
    code, out, err = run(capsys, *connection, "orders", "--status", "ongoing", "--json")
    assert code == 0, err
    return [json.loads(line)["order_handle"] for line in out.splitlines()[:count]]


@pytest.fixture
def real_account(served_sandbox, monkeypatch):
    """Credentials in the environment for the loopback-served sandbox: a real-account target."""
    creds = served_sandbox.sandbox.credentials
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_ID", creds.account_id)
    monkeypatch.setenv("HYPERTRACK_SECRET_KEY", creds.secret_key.get_secret_value())
    return served_sandbox.base_url


def test_sandbox_and_real_runs_go_to_separate_files_and_journal_shows_the_current_target(
    real_account, capsys, monkeypatch, tmp_path
) -> None:
    base = tmp_path / "journal.sqlite3"
    monkeypatch.setenv(J.JOURNAL_ENV, str(base))
    sandbox_file = tmp_path / "journal-sandbox.sqlite3"

    # a run against the embedded sandbox
    (practice,) = open_handles(capsys, "--sandbox", count=1)
    code, out, err = run(capsys, "--sandbox", "complete", practice, "--yes", "--json")
    assert code == 0, err
    assert sandbox_file.exists() and not base.exists()

    # a run against the "real" account
    real = open_handles(capsys, "--base-url", real_account, count=2)
    code, out, err = run(capsys, "--base-url", real_account, "complete", *real, "--yes", "--json")
    assert code == 0, err
    assert {r["order_handle"] for r in journal_rows(base)} == set(real)
    assert {r["order_handle"] for r in journal_rows(sandbox_file)} == {practice}
    host = real_account.split("://", 1)[1]

    # journal: the current target (from the same options and environment as complete)
    code, out, err = run(capsys, "journal", "--base-url", real_account, "--json")
    assert code == 0, err
    ops = [json.loads(line) for line in out.splitlines()]
    assert {(o["order_handle"], o["account_id"], o["base_host"]) for o in ops} == {
        (h, DEFAULT_ACCOUNT_ID, host) for h in real}
    code, out, err = run(capsys, "journal", "--base-url", real_account)
    assert code == 0 and practice not in out and all(h in out for h in real)
    assert f"account {DEFAULT_ACCOUNT_ID} at {host}" in err  # each run: its account and server
    assert "--all" in err
    code, out, err = run(capsys, "--sandbox", "journal", "--json")
    assert code == 0, err
    assert [json.loads(line)["order_handle"] for line in out.splitlines()] == [practice]

    # --all: every target, from both files, each op with its account and server
    code, out, err = run(capsys, "journal", "--base-url", real_account, "--all", "--json")
    assert code == 0, err
    ops = [json.loads(line) for line in out.splitlines()]
    assert {o["order_handle"] for o in ops} == {practice, *real}
    assert {o["base_host"] for o in ops} == {host, "127.0.0.1"}
    assert real_account.split("//")[1] not in (o["base_host"] for o in ops if o["order_handle"] == practice)


def test_one_explicit_file_shared_by_two_targets_is_still_shown_per_target(tmp_path, capsys) -> None:
    from console.api.models import OrderRef
    from console.bulk import headless as H
    from tests.bulk.test_headless import Console, parser_for

    path = tmp_path / "shared.sqlite3"
    with J.Journal(path) as journal:
        for account, url, handle in (("acct-a", "https://api.one.test", "one"),
                                     ("acct-b", "https://api.two.test", "two")):
            run_id = journal.start_run(account_id=account, base_url=url, count=1)
            journal.add_ops(run_id, [OrderRef(handle)], account_id=account, base_url=url)
    args = parser_for(H.add_journal_arguments).parse_args(["--json", "--journal", str(path)])
    con = Console()
    assert H.run_journal(args, target=JournalTarget(False, "https://api.two.test", "acct-b"),
                         stdout=con.stdout, stderr=con.stderr) == 0
    assert [o["order_handle"] for o in con.json_lines()] == ["two"]
    args = parser_for(H.add_journal_arguments).parse_args(["--json", "--all", "--journal", str(path)])
    con = Console()
    assert H.run_journal(args, target=JournalTarget(False, "https://api.two.test", "acct-b"),
                         stdout=con.stdout, stderr=con.stderr) == 0
    assert [o["order_handle"] for o in con.json_lines()] == ["one", "two"]


def test_the_ui_picks_the_same_file_as_the_headless_commands(monkeypatch, tmp_path) -> None:
    from console.api.client import OrdersClient
    from console.sandbox.defaults import IN_PROCESS_BASE_URL
    from console.settings import Settings
    from console.ui.app import DispatchApp
    from tests.support.sandbox_fixtures import make_sandbox

    monkeypatch.setenv(J.JOURNAL_ENV, str(tmp_path / "journal.sqlite3"))
    sb = make_sandbox(orders=5)
    client = OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport())
    for sandbox, name in ((True, "journal-sandbox.sqlite3"), (False, "journal.sqlite3")):
        app = DispatchApp(client, Settings(base_url=IN_PROCESS_BASE_URL), sandbox=sandbox)
        assert app.bulk.journal_path == J.journal_path_for(sandbox=sandbox) == tmp_path / name
    app = DispatchApp(client, Settings(base_url=IN_PROCESS_BASE_URL, journal_path=tmp_path / "given.db"), sandbox=True)
    assert app.bulk.journal_path == tmp_path / "given.db"
