"""``dispatch-console --notify`` in a real terminal (tmux): the console sends one desktop
notification per refresh, through Textual's own output, wrapped for tmux passthrough, its text
sanitized.

The pane's output is captured raw with ``pipe-pane`` (the bytes the console wrote, screen
updates included, before tmux interprets them), so the test sees the exact sequences an outer
terminal would be passed. The console runs against the sandbox served over loopback HTTP, whose
orders the test changes with the sandbox's scripting API. Skipped only when tmux is not
installed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from console.sandbox.transitions import Script
from tests.ui.test_pty_terminal import Tmux, launch_script, tmux  # noqa: F401 - tmux: the fixture
from tests.test_watch_command import Served, _queued, served  # noqa: F401 - served: the fixture
from tests.test_watch_tmux import OSC9, OSC777

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def test_the_console_sends_one_sanitized_notification_per_refresh_through_tmux(
    tmux: Tmux, served: Served, tmp_path: Path  # noqa: F811
) -> None:
    sb = served.sandbox
    hostile = "EVIL\x1b]0;pwned\x07\x1b[2J\x9b"
    with sb.lock:
        sb.fleet.add_order(hostile)
    first, later = _queued(sb, 2)
    creds = sb.credentials
    go = tmp_path / "go"
    capture = tmp_path / "pane.bytes"
    script = launch_script(tmp_path / "run.sh", (
        f"while [ ! -f {go} ]; do sleep 0.05; done; "
        f"{sys.executable} -m console --base-url {served.base_url} --notify --refresh 1"
    ), {"HYPERTRACK_ACCOUNT_ID": creds.account_id,
        "HYPERTRACK_SECRET_KEY": creds.secret_key.get_secret_value(),
        "DISPATCH_CONSOLE_CONFIG": str(served.config),
        "DISPATCH_CONSOLE_JOURNAL": str(tmp_path / "journal.db"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "TERM": "xterm-256color"})
    tmux.start(script, width=100, height=30)
    tmux.run("pipe-pane", "-o", "-t", "pty", f"cat >> {capture}")
    go.touch()
    tmux.wait_for(lambda: "open orders" in tmux.screen() and "updated" in tmux.screen(), "the first load")
    with sb.lock:  # two new reds in one refresh: one notification
        s = Script(sb)
        s.turn_red(hostile)
        s.turn_red(first.handle)
    tmux.wait_for(lambda: "2 new red" in tmux.screen(), "the counter")
    tmux.wait_for(lambda: capture.exists() and OSC9.search(capture.read_bytes()) is not None, "the notification")
    # A later refresh with a change that is not a new red: no second notification. The feed
    # shows when the console has compared that refresh.
    Script(sb).reassign(later.handle)
    tmux.keys("F")
    tmux.wait_for(lambda: "Reassigned from" in tmux.screen(), "the reassignment in the feed")
    data = capture.read_bytes()
    notes = OSC9.findall(data)
    assert len(notes) == 1, notes
    assert len(OSC777.findall(data)) == 1
    text = notes[0].decode()
    assert text.isprintable()
    assert text.startswith("dispatch-console: 2 orders turned red: ")
    assert "EVIL\\x1b]0;pwned\\x07\\x1b[2J\\x9b" in text and first.handle in text
    # The raw handle never reached the terminal (no title change, no screen clear from the data).
    assert hostile.encode() not in data and b"\x1b]0;pwned" not in data
    tmux.keys("q")  # closes the feed
    tmux.wait_for(lambda: "Reassigned from" not in tmux.screen(), "the feed to close")
    tmux.keys("q")
    tmux.wait_for(lambda: "console exit status 0" in tmux.everything(), "the console to quit")
