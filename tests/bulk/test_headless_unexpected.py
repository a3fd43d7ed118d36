"""An unexpected error (a bug) inside a headless command: one clean line on stderr, exit 3, never a
traceback, never the secret, whatever the exception's message holds.

Each test forces an exception deep inside one command, run through the real entry point
(``console.cli.main``) with credentials configured in the environment; the exception's message
carries the secret, as a careless ``f"... {credentials}"`` somewhere would.
"""

from __future__ import annotations

import pytest

from console import cli

SECRET = "unexpected-secret-5f0c2a91d3"


@pytest.fixture
def configured(monkeypatch):
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_ID", "acct-unexpected")
    monkeypatch.setenv("HYPERTRACK_SECRET_KEY", SECRET)


def boom(*args, **kwargs):
    raise RuntimeError(f"a bug that prints its context: secret={SECRET}")


def check_clean(capsys, code: int, command: str) -> str:
    out, err = capsys.readouterr()
    assert code == 3, err
    assert "Traceback" not in err and "Traceback" not in out
    assert SECRET not in err and SECRET not in out
    lines = [line for line in err.splitlines() if line.startswith(f"dispatch-console {command}: unexpected error")]
    assert len(lines) == 1, err
    assert "RuntimeError" in lines[0]
    return err


def test_complete(configured, monkeypatch, capsys, tmp_path) -> None:
    from console.bulk.engine import BulkEngine

    from tests.bulk.test_journal_targets import open_handles

    (handle,) = open_handles(capsys, "--sandbox", count=1)  # an open order: the run is reached
    monkeypatch.setattr(BulkEngine, "run", boom)
    code = cli.main(["--sandbox", "complete", handle, "--yes", "--journal", str(tmp_path / "j.sqlite3")])
    err = check_clean(capsys, code, "complete")
    assert "journal" in err  # says where what was sent is recorded


def test_complete_before_the_journal_opens(configured, monkeypatch, capsys, tmp_path) -> None:
    from console.bulk import headless

    monkeypatch.setattr(headless, "_read_and_validate", boom)
    code = cli.main(["--sandbox", "complete", "A", "--yes", "--journal", str(tmp_path / "j.sqlite3")])
    check_clean(capsys, code, "complete")


def test_orders(configured, monkeypatch, capsys) -> None:
    from console.api.client import OrdersClient

    monkeypatch.setattr(OrdersClient, "iter_item_pages", boom)  # what `orders --json` reads
    code = cli.main(["--sandbox", "orders", "--json"])
    check_clean(capsys, code, "orders")


def test_journal(configured, monkeypatch, capsys, tmp_path) -> None:
    from console.bulk.journal import JournalReader

    monkeypatch.setattr(JournalReader, "list_ops", boom)
    path = tmp_path / "j.sqlite3"
    from console.bulk.journal import Journal

    with Journal(path):
        pass
    code = cli.main(["journal", "--journal", str(path)])
    check_clean(capsys, code, "journal")


def test_sandbox(configured, monkeypatch, capsys) -> None:
    from console.sandbox import server

    monkeypatch.setattr(server, "run_sandbox_command", boom)
    code = cli.main(["sandbox", "--port", "0"])
    check_clean(capsys, code, "sandbox")


def test_ctrl_c_outside_the_run_is_a_clean_interruption(configured, monkeypatch, capsys, tmp_path) -> None:
    from console.bulk import headless

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(headless, "_read_and_validate", interrupted)
    code = cli.main(["--sandbox", "complete", "A", "--yes", "--journal", str(tmp_path / "j.sqlite3")])
    out, err = capsys.readouterr()
    assert code == 130
    assert "Traceback" not in err and "interrupted" in err
