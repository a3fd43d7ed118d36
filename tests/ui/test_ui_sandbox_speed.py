"""The console at ``--sandbox-speed``: the list judges time on the sandbox's clock.

The embedded sandbox's clock runs X times as fast; the console's clock (console/session/clock.py)
must run with it from the same epoch, or a demo's orders never turn LATE in the list while the
simulated day races on (the bug: the list and the change detector read the wall clock). Driven
through the command line, so the wiring (the epoch given to the sandbox's process, the app's
clock) is what is tested; the sandbox runs in its own process, as for a supervisor.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from console.cli import main
from tests.support.hostile import screen_text
from tests.support.ui_support import loaded, row_line, wait_until


@pytest.fixture
def launched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """``dispatch-console ARGS`` as the command line builds it, without running it: the app."""
    from console.ui import app as app_module

    config = tmp_path / "config.toml"
    config.write_text("")
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(config))
    for name in ("HYPERTRACK_ACCOUNT_ID", "HYPERTRACK_SECRET_KEY", "HYPERTRACK_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    apps = []
    monkeypatch.setattr(app_module.DispatchApp, "run", lambda self: apps.append(self))

    def launch(*args: str):
        assert main(list(args)) == 0
        return apps[-1]

    return launch


async def test_at_sandbox_speed_an_order_turns_late_on_the_sandbox_s_clock(launched) -> None:
    app = launched("--sandbox", "--sandbox-speed", "600")  # ten simulated minutes a real second
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        now = app.now()
        soon = [row for row in app.session.table.rows
                if row.is_open and row.scheduled_at is not None
                and now + timedelta(minutes=1) < row.scheduled_at <= now + timedelta(minutes=20)]
        assert soon, "the sandbox has orders due within the next simulated 20 minutes"
        row = min(soon, key=lambda r: r.scheduled_at)
        handle = row.ref.order_handle
        assert "LATE" not in _line_of(app, pilot, row)
        # At the wall clock's pace this would take simulated minutes: real minutes.
        await wait_until(pilot, lambda: "LATE" in _line_of(app, pilot, row), timeout=15,
                         what=f"{handle} shown LATE")
        # How long ago the list was updated is told in real seconds, not simulated minutes
        # (a real second is ten minutes here).
        await wait_until(pilot, lambda: re.search(r"updated [1-9]\d*s ago", screen_text(app)) is not None,
                         what="the age of the list in real seconds")
        assert not re.search(r"updated \d+m", screen_text(app))


def _line_of(app, pilot, row) -> str:
    app.order_list.select_ref(row.ref)  # on screen, wherever the list sorts it
    return row_line(app, row.ref.order_handle)
