"""The console in a REAL terminal (tmux), fed hostile data by a crafted HTTP server on 127.0.0.1.

What a Pilot test cannot see: the bytes the console writes to a terminal. tmux interprets them
like a terminal emulator, so: the pane title (OSC 0/2) must be unchanged, no tmux buffer may be
created by OSC 52 (clipboard), the escapes must be *visible* as text (``\\x1b]0;pwned``), the
screen must not be cleared by ``ESC[2J``, and ``q`` must quit cleanly. Each of these checks is
first shown to detect the attack when the bytes are written raw (the control run), so it can
fail.

A second test forces a crash in an event handler with a planted secret in the environment and
searches what Textual prints (its crash report lists local variables) for the secret.

Skipped only when tmux is not installed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.hostile import (
    ESCAPES,
    FAKE_ACCOUNT,
    FAKE_SECRET,
    CraftedServer,
    RecordedRequest,
    find_leaks,
    hostile_order,
)

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

REPO = Path(__file__).resolve().parents[2]
TITLE = "ORIGINAL-TITLE"
ATTACK = "\x1b]0;pwned\x07 \x1b]2;pwned\x1b\\ \x1b]52;c;ZXZpbA==\x07 \x1b[2J \x9b2J end"
VISIBLE = "\\x1b]0;pwned\\x07"
SHARE_URL = "https://trk.example/share/AbC-123"


class Tmux:
    """A private tmux server (its own socket, no user config) holding one 80x24 pane."""

    def __init__(self, directory: Path) -> None:
        self.socket = str(directory / "tmux.sock")

    def run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(["tmux", "-S", self.socket, *args], capture_output=True, text=True, timeout=20)
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {result.stderr}")
        return result.stdout

    def start(self, script: Path, width: int = 80, height: int = 24) -> None:
        self.run("-f", "/dev/null", "new-session", "-d", "-x", str(width), "-y", str(height), "-s", "pty",
                 f"sh {shlex.quote(str(script))}",
                 ";", "set-option", "-g", "remain-on-exit", "on",
                 ";", "set-option", "-g", "history-limit", "20000",
                 ";", "set-option", "-g", "set-clipboard", "on")

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "pty")

    def everything(self) -> str:
        """The whole pane history (what was printed after the app left the alternate screen,
        e.g. a crash report), wrapped lines joined."""
        return self.run("capture-pane", "-p", "-J", "-S", "-", "-E", "-", "-t", "pty")

    def title(self) -> str:
        return self.run("display", "-p", "-t", "pty", "#{pane_title}").strip()

    def buffers(self) -> str:
        return self.run("list-buffers", check=False)

    def dead(self) -> tuple[bool, str]:
        """(has the pane's process ended, the console's exit status as the script printed it)."""
        dead = self.run("display", "-p", "-t", "pty", "#{pane_dead}").strip() == "1"
        found = re.findall(r"console exit status (\d+)", self.everything()) if dead else []
        return dead, (found[-1] if found else "")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "pty", *keys)

    def wait_for(self, condition: Callable[[], bool], what: str, timeout: float = 40.0) -> None:
        """Poll until ``condition`` holds (a generous deadline only turns a hang into a failure;
        a pane that died first fails at once)."""
        deadline = time.monotonic() + timeout
        while not condition():
            dead = self.dead()[0]
            if dead and condition():
                return  # the condition came true as the pane died (e.g. waiting for it to quit)
            if dead or time.monotonic() > deadline:
                raise AssertionError(f"{'the pane died' if dead else 'timed out'} waiting for {what}; "
                                     f"pane:\n{self.everything()}")
            time.sleep(0.1)

    def kill(self) -> None:
        self.run("kill-server", check=False)


@pytest.fixture
def tmux(tmp_path: Path):
    # A short directory: a unix socket path must stay under ~100 bytes.
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="pty-"))
    server = Tmux(directory)
    try:
        yield server
    finally:
        server.kill()
        shutil.rmtree(directory, ignore_errors=True)


def launch_script(path: Path, command: str, env: dict[str, str]) -> Path:
    """A shell script that sets a known title, then execs ``command``. (Textual draws on
    stderr, so nothing is redirected: a crash report ends up in the pane's history.)"""
    exports = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items())
    path.write_text(
        "#!/bin/sh\n"
        "unset COLUMNS LINES\n"  # the terminal's own size, not the test runner's
        f"{exports}"
        f"printf '\\033]2;{TITLE}\\033\\\\'\n"
        f"cd {shlex.quote(str(REPO))}\n"
        # Not exec: the shell prints the exit status (tmux's #{pane_dead_status} is not
        # reliable when the server was started from the test runner).
        f"{command}\n"
        'echo "console exit status $?"\n'
    )
    return path


def hostile_api(orders: list[dict[str, Any]]) -> Callable[[RecordedRequest], tuple[int, dict[str, str], bytes]]:
    by_handle = {o["order_handle"]: o for o in orders}

    def respond(request: RecordedRequest) -> tuple[int, dict[str, str], bytes]:
        path = request.raw_path.split("?")[0]
        headers = {"content-type": "application/json"}
        if path == "/orders/":
            return 200, headers, json.dumps({"orders": orders}).encode()
        handle = unquote(path.split("/")[2])
        if handle in by_handle:
            return 200, headers, json.dumps(by_handle[handle]).encode()
        return 404, headers, json.dumps({"message": ATTACK}).encode()

    return respond


def console_env(tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "config.toml"
    config.write_text("")  # an empty config: no profiles (the user's own is never read)
    return {
        "HYPERTRACK_ACCOUNT_ID": FAKE_ACCOUNT,
        "HYPERTRACK_SECRET_KEY": FAKE_SECRET,
        "DISPATCH_CONSOLE_CONFIG": str(config),
        "DISPATCH_CONSOLE_JOURNAL": str(tmp_path / "journal.db"),
        "PYTHONPATH": str(REPO),
    }


def test_the_control_run_shows_these_checks_detect_raw_escapes(tmux, tmp_path):
    """Written raw, the attack changes the title and creates a clipboard buffer: the checks in
    the next test are able to see an attack that got through."""
    raw = tmp_path / "attack.bin"
    raw.write_bytes(ATTACK.encode("utf-8"))
    tmux.start(launch_script(tmp_path / "control.sh", f"sh -c 'cat {shlex.quote(str(raw))}; sleep 30'", {}))
    tmux.wait_for(lambda: tmux.title() == "pwned", "the raw OSC title change")
    tmux.wait_for(lambda: "evil" in tmux.buffers(), "the raw OSC 52 buffer")


def test_hostile_api_text_does_not_reach_the_terminal_as_escapes(tmux, tmp_path):
    orders = [
        hostile_order("h-attack", ATTACK),
        *(hostile_order(f"h-{name}", text) for name, text in ESCAPES.items()),
        hostile_order(ATTACK[:20], "handle attack"),
        hostile_order("h-share", "plain", share_url=SHARE_URL),
    ]
    with CraftedServer(hostile_api(orders)) as server:
        command = f"{shlex.quote(sys.executable)} -m console --base-url {server.url}"
        tmux.start(launch_script(tmp_path / "run.sh", command, console_env(tmp_path)))
        tmux.wait_for(lambda: "open order" in tmux.screen() and "Quit" in tmux.screen(), "the order list")
        details = lambda: [r.raw_path.split("?")[0] for r in server.requests  # noqa: E731
                           if r.raw_path.startswith("/orders/h")]

        def check(stage: str, footer: str = "Quit") -> None:
            screen = tmux.screen()
            assert tmux.title() == TITLE, f"{stage}: the pane title changed to {tmux.title()!r}"
            assert "evil" not in tmux.buffers(), f"{stage}: OSC 52 set the clipboard"
            lines = screen.splitlines()
            # Not cleared: the top bar, the list header and the footer are all still drawn.
            assert "open order" in lines[0], f"{stage}:\n{screen}"
            assert any("Order" in line and "Status" in line for line in lines[1:4]), f"{stage}:\n{screen}"
            assert any(footer in line for line in lines[-2:]), f"{stage}:\n{screen}"
            assert find_leaks(screen) == []

        # The list: escapes are visible text in the rows (the first row's handle, addresses).
        assert VISIBLE in tmux.screen() and "\\x1b[2J" in tmux.screen() and "\\x9b2J" in tmux.screen()
        check("the list")

        # The first row's handle cannot be sent (it holds ESC): its detail is an escaped error.
        # The next row's detail is fetched and drawn with every escape visible.
        tmux.keys("j")
        tmux.wait_for(lambda: len(details()) >= 1, "the detail request")
        tmux.wait_for(lambda: "Destination" in tmux.screen() and VISIBLE in tmux.screen().split("Destination")[-1],
                      "the escaped destination in the detail pane")
        check("the detail")

        # Walk the list (each detail is fetched and drawn), then open and cancel the dialog.
        for _ in range(len(orders)):
            tmux.keys("j")
        last = sorted(o["order_handle"] for o in orders)[-1]
        tmux.wait_for(lambda: f"{last}  ONGOING" in tmux.screen() and f"/orders/{last}" in details(),
                      "the last order's detail")
        check("after moving through the list")
        tmux.keys("g", "j", "c")
        tmux.wait_for(lambda: "Complete order" in tmux.screen(), "the confirmation dialog")
        assert VISIBLE in tmux.screen()
        check("the confirmation dialog")
        tmux.keys("Escape")
        tmux.wait_for(lambda: "Complete order" not in tmux.screen(), "the dialog to close")

        # The supervisor pastes the attack into the / filter. (tmux turns the ESC of a paste
        # into text itself; a raw ESC in a paste is covered by the Pilot test of the filter.)
        tmux.keys("/")
        tmux.wait_for(lambda: " / " in tmux.screen().splitlines()[1], "the filter input")
        tmux.run("set-buffer", "-b", "attack", "\x1b]0;pwned\x07\x9b2J")
        tmux.run("paste-buffer", "-p", "-d", "-b", "attack", "-t", "pty")
        tmux.wait_for(lambda: "0;pwned" in tmux.screen().splitlines()[1], "the pasted text in the filter")
        check("a hostile paste into the filter", footer="Clear filter")
        tmux.keys("Escape")
        tmux.wait_for(lambda: "filter: none" in tmux.screen().splitlines()[1], "the filter cleared")

        # y on an order whose share URL is hostile copies nothing; on a plain https URL the
        # console's own OSC 52 puts exactly that URL in tmux's buffer.
        tmux.keys("g", "y")
        tmux.wait_for(lambda: "copy" in tmux.screen().lower() or "URL" in tmux.screen(), "the refusal")
        assert tmux.buffers().strip() == ""
        tmux.keys("/")
        tmux.wait_for(lambda: " / " in tmux.screen().splitlines()[1], "the filter input")
        tmux.keys("-l", "h-share")
        tmux.wait_for(lambda: "h-share" in tmux.screen().splitlines()[1], "the typed filter")
        tmux.keys("Enter")
        tmux.wait_for(lambda: 'filter: "h-share"' in tmux.screen().splitlines()[1]
                      and "1 of" in tmux.screen().splitlines()[1], "the filter kept, finding h-share")
        tmux.keys("y")
        tmux.wait_for(lambda: tmux.buffers().strip() != "", "the copy")
        assert tmux.run("show-buffer") == SHARE_URL
        check("after y")
        tmux.keys("/")
        tmux.wait_for(lambda: " / " in tmux.screen().splitlines()[1], "the filter input")
        tmux.keys("Escape")  # clears the filter (waited for: ESC then q at once reads as alt+q)
        tmux.wait_for(lambda: "filter: none" in tmux.screen().splitlines()[1], "the filter cleared")

        tmux.keys("q")
        tmux.wait_for(lambda: tmux.dead()[0], "the console to quit")
    after = tmux.everything()
    assert tmux.dead()[1] == "0", f"exit status {tmux.dead()[1]}; pane:\n{after}"
    assert tmux.title() == TITLE
    assert "evil" not in tmux.buffers()
    assert "Traceback" not in after, after
    assert find_leaks(after) == []
    assert not any(r.method == "POST" for r in server.requests)


def test_a_crash_in_the_real_terminal_prints_no_secret(tmux, tmp_path):
    """An event handler raises (with the client and the credentials in local variables): Textual
    prints its crash report, locals included. Nothing in it, on screen or on stderr, is secret."""
    orders = [hostile_order("h-1", ATTACK)]
    prelude = (
        "import console.ui.detail as d\n"
        "def show_order(self, order):\n"
        "    client = self.app.client\n"
        "    from console.api.credentials import Credentials\n"
        "    credentials = Credentials.from_env()\n"
        "    raise RuntimeError('forced crash while showing an order')\n"
        "d.DetailPane.show_order = show_order\n"
        "from console.cli import main\n"
        "raise SystemExit(main())\n"
    )
    runner = tmp_path / "crash_runner.py"
    runner.write_text(prelude)
    with CraftedServer(hostile_api(orders)) as server:
        command = f"{shlex.quote(sys.executable)} {shlex.quote(str(runner))} --base-url {server.url}"
        # Wide, so Rich does not wrap a long value in the report across lines (the search
        # below also looks for the secret's tail and the token's first 24 characters).
        tmux.start(launch_script(tmp_path / "crash.sh", command, console_env(tmp_path)), width=250, height=50)
        tmux.wait_for(lambda: tmux.dead()[0], "the console to crash and exit")
    status = tmux.dead()[1]
    report = tmux.everything()
    assert status not in ("", "0"), f"expected a failing exit status; pane:\n{report}"
    assert "forced crash while showing an order" in report
    assert "credentials" in report  # the locals were printed: the search below is meaningful
    assert find_leaks(report) == [], find_leaks(report)
    assert tmux.title() == TITLE
