"""Shared test configuration: the sandbox fixtures are available to every test module."""

import pytest

pytest_plugins = ["tests.sandbox_fixtures"]


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real bulk journal: the console opens the journal at
    start-up (to settle an interrupted run), so every test gets its own path unless it sets one."""
    monkeypatch.setenv("DISPATCH_CONSOLE_JOURNAL", str(tmp_path_factory.mktemp("journal") / "journal.sqlite3"))
