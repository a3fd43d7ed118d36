"""``watch --notify`` in a real terminal (tmux): one desktop notification per refresh, wrapped
for tmux passthrough, its text sanitized.

The pane's output is captured raw with ``pipe-pane`` (the bytes the program wrote, before tmux
interprets them), so the test sees the exact sequences an outer terminal would be passed.
Skipped only when tmux is not installed.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import pytest

from console.sandbox.transitions import Script
from tests.ui.test_pty_terminal import Tmux, launch_script, tmux  # noqa: F401 - tmux: the fixture
from tests.test_watch_command import Served, _queued, served  # noqa: F401 - served: the fixture

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

OSC9 = re.compile(rb"\x1bPtmux;\x1b\x1b\]9;(.*?)\x07\x1b\\", re.S)
OSC777 = re.compile(rb"\x1bPtmux;\x1b\x1b\]777;notify;dispatch-console;(.*?)\x07\x1b\\", re.S)


def test_notify_sends_one_sanitized_notification_per_refresh_through_tmux(
    tmux: Tmux, served: Served, tmp_path: Path  # noqa: F811
) -> None:
    sb = served.sandbox
    hostile = "EVIL\x1b]0;pwned\x07\x1b[2J\x9b"
    with sb.lock:
        sb.fleet.add_order(hostile)
    first, second, later = _queued(sb, 3)
    creds = sb.credentials
    go = tmp_path / "go"
    capture = tmp_path / "pane.bytes"
    script = launch_script(tmp_path / "run.sh", (
        # The wrapper shell ignores Ctrl-C (so it lives to print watch's exit status); watch
        # installs its own handler.
        f"trap '' INT; while [ ! -f {go} ]; do sleep 0.05; done; "
        f".venv/bin/python -m console watch --base-url {served.base_url} --notify --notify-via bell,osc9,osc777 --interval 1"
    ), {"HYPERTRACK_ACCOUNT_ID": creds.account_id,
        "HYPERTRACK_SECRET_KEY": creds.secret_key.get_secret_value(),
        "DISPATCH_CONSOLE_CONFIG": str(served.config), "TERM": "xterm-256color"})
    tmux.start(script, width=200, height=50)
    tmux.run("pipe-pane", "-o", "-t", "pty", f"cat >> {capture}")
    go.touch()
    tmux.wait_for(lambda: "watching" in tmux.screen(), "the first load")
    with sb.lock:  # two new reds in one refresh: one notification
        s = Script(sb)
        s.turn_red(hostile)
        s.turn_red(first.handle)
    tmux.wait_for(lambda: capture.exists() and OSC9.search(capture.read_bytes()) is not None, "the notification")
    # A later refresh with a change that is not a new red: no second notification.
    Script(sb).reassign(later.handle)
    tmux.wait_for(lambda: "reassigned" in tmux.screen(), "the reassignment line")
    data = capture.read_bytes()
    notes = OSC9.findall(data)
    assert len(notes) == 1
    assert len(OSC777.findall(data)) == 1
    assert data.count(b"\x07") == 1 + 2  # the bell, and each OSC's terminator
    text = notes[0].decode()
    assert text.isprintable()
    assert text.startswith("dispatch-console: 2 orders turned red: ")
    assert "EVIL\\x1b]0;pwned\\x07\\x1b[2J\\x9b" in text and first.handle in text
    # The text lines on screen carry no control characters either: the screen is intact.
    assert "pwned" in tmux.screen() and second.handle not in tmux.screen()
    tmux.keys("C-c")
    tmux.wait_for(lambda: tmux.dead()[0], "watch to stop")
    assert tmux.dead()[1] == "130"
