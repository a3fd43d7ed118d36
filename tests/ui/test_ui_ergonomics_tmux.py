"""``y`` in a real terminal: the share URL reaches the clipboard through OSC 52, via tmux.

tmux keeps what a program sends with OSC 52 as a paste buffer (and passes it on to the outer
terminal) only with ``set-clipboard on``; with its default (``external``) a program cannot set
the clipboard. Both are checked, so the documented requirement is a measured fact. The console
runs on its embedded sandbox (no credentials in the environment), at 80x24.

Skipped only when tmux is not installed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from pathlib import Path

import pytest

from tests.ui.test_pty_terminal import Tmux, launch_script, tmux  # noqa: F401 - tmux: the fixture

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


def sandbox_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text("")
    return {
        "DISPATCH_CONSOLE_CONFIG": str(config),
        "DISPATCH_CONSOLE_JOURNAL": str(tmp_path / "journal.db"),
        "HYPERTRACK_ACCOUNT_ID": "",
        "HYPERTRACK_SECRET_KEY": "",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }


def start_console(tmux: Tmux, tmp_path: Path, clipboard: str) -> None:
    command = f"{shlex.quote(sys.executable)} -m console --sandbox --sandbox-orders 60"
    script = launch_script(tmp_path / f"run-{clipboard}.sh", command, sandbox_env(tmp_path))
    tmux.start(script)
    tmux.run("set-option", "-g", "set-clipboard", clipboard)
    tmux.wait_for(lambda: "open order" in tmux.screen() and "Quit" in tmux.screen(), "the order list")


def copy_an_ongoing_orders_url(tmux: Tmux) -> None:
    # The filter matches the status too: the first row is then an ongoing order (it has a URL).
    tmux.keys("/")
    tmux.wait_for(lambda: "/ " in tmux.screen().splitlines()[1], "the filter input")
    tmux.keys("-l", "ongoing")
    tmux.keys("Enter")
    tmux.wait_for(lambda: 'filter: "ongoing"' in tmux.screen(), "the filter")
    tmux.keys("y")
    tmux.wait_for(lambda: "Share URL of" in tmux.screen(), "the toast")


@pytest.mark.parametrize("clipboard", ["on", "external"])
def test_y_sets_the_clipboard_through_tmux_only_with_set_clipboard_on(tmux, tmp_path, clipboard) -> None:
    start_console(tmux, tmp_path, clipboard)
    copy_an_ongoing_orders_url(tmux)
    screen = tmux.screen()
    # The toast wraps: read only its column (right of its border glyph), whatever is beside it.
    toast = "\n".join(line.split("▌", 1)[1] for line in screen.splitlines() if "▌" in line)
    found = re.search(r"Share URL of \S+:\s*(https://[A-Za-z0-9./_-]+)", toast)
    assert found, screen
    url = found.group(1)
    if clipboard == "on":
        tmux.wait_for(lambda: "https://" in tmux.buffers(), "the OSC 52 paste buffer")
        assert tmux.run("show-buffer").strip() == url
    else:
        assert "https://" not in tmux.buffers()  # tmux's default drops it: hence the docs
    tmux.keys("q")
    tmux.wait_for(lambda: tmux.dead()[0], "the console to quit")
    assert tmux.dead()[1] == "0"
