"""Shared test configuration: the sandbox fixtures are available to every test module."""

import pytest

pytest_plugins = ["tests.support.sandbox_fixtures"]


@pytest.fixture(autouse=True)
def _journal_in_tmp(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the user's real bulk journal: the console opens the journal at
    start-up (to settle an interrupted run), so every test gets its own path unless it sets one."""
    monkeypatch.setenv("DISPATCH_CONSOLE_JOURNAL", str(tmp_path_factory.mktemp("journal") / "journal.sqlite3"))


@pytest.fixture(autouse=True)
def _no_gc_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The console's collector policy (console/gc_policy.py) is off in the test process: every
    Pilot test would otherwise freeze the process's heap and raise its thresholds for the tests
    after it. The policy's own tests switch it back on (tests/ui/test_ui_heap.py)."""
    from console import gc_policy

    monkeypatch.setattr(gc_policy, "ENABLED", False)
