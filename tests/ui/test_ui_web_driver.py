"""The console driven through Textual's web driver, as textual-serve (and so a browser) drives it.

The driver reads packets on stdin: ``b"M"`` + a 4-byte big-endian length + a JSON object
(``{"type": "resize", ...}``, ``{"type": "quit"}``), and writes the frames, framed the same way,
on stdout. A window resized to another size before the first frame, then closed, must still end
the process: the quit must not be lost in an endless series of layouts.

Each run is a real ``python -m console --sandbox`` in a session of its own, with its memory
capped; it gets a deadline to exit, after which the whole session is killed, so a hang fails the
test instead of hanging it.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console.ui.textual_compat import OFF_VARIABLE

REPO = Path(__file__).resolve().parents[2]
WEB_DRIVER = "textual.drivers.web_driver:WebDriver"
#: Seconds the console gets to exit once it was told to quit (it exits in about one).
EXIT_DEADLINE = 15.0
#: Address space cap of the console: far above what it needs, far below what a runaway takes.
MEMORY_CAP = 3 * 1024**3
EXIT_PACKET = b'M\x00\x00\x00\x10{"type": "exit"}'


def packet(message: dict) -> bytes:
    data = json.dumps(message).encode()
    return b"M" + struct.pack(">I", len(data)) + data


def web_env(home: Path) -> dict[str, str]:
    """No credentials, no config of the user's, a private home; the web driver at 155x45."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE_", "TEXTUAL", "COLORTERM", "NO_COLOR"))}
    if OFF_VARIABLE in os.environ:  # a textual_compat item switched off on purpose (an upgrade check)
        env[OFF_VARIABLE] = os.environ[OFF_VARIABLE]
    env.update({
        "TEXTUAL_DRIVER": WEB_DRIVER,
        "COLUMNS": "155",
        "ROWS": "45",
        "PYTHONPATH": str(REPO),
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_STATE_HOME": str(home / "state"),
    })
    return env


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


class WebConsole:
    """``python -m console --sandbox`` under the web driver, its output drained continuously."""

    def __init__(self, home: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console", "--sandbox"], env=web_env(home), cwd=home,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=True, preexec_fn=_cap_memory,
        )
        self.started = time.monotonic()
        self.stdout = bytearray()
        self.stderr = bytearray()
        self._readers = [threading.Thread(target=self._drain, args=(stream, into), daemon=True)
                         for stream, into in ((self.proc.stdout, self.stdout), (self.proc.stderr, self.stderr))]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _drain(stream, into: bytearray) -> None:
        for chunk in iter(lambda: stream.read1(65536), b""):
            into += chunk

    def send(self, *messages: dict, at: float | None = None) -> None:
        """Write packets to the driver's stdin; ``at``: that many seconds after the start."""
        if at is not None:
            # Deliberate: when a packet arrives relative to the start is what these tests vary.
            time.sleep(max(0.0, self.started + at - time.monotonic()))
        self.proc.stdin.write(b"".join(packet(message) for message in messages))
        self.proc.stdin.flush()

    def exit_code(self, timeout: float) -> int | None:
        """The exit code, or None if it did not exit in ``timeout`` s (then the whole session
        it leads, the embedded sandbox's process too, is killed)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            return None
        finally:
            for reader in self._readers:
                reader.join(timeout=5)
            self.proc.stdin.close()


def _check_exited(console: WebConsole) -> None:
    code = console.exit_code(EXIT_DEADLINE)
    assert code is not None, f"the console did not exit within {EXIT_DEADLINE:.0f} s of the quit"
    assert code == 0, console.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in console.stderr
    # The driver's own farewell: the app shut down in order, it was not killed.
    assert EXIT_PACKET in console.stdout


def test_the_console_quits_after_a_resize_that_arrives_before_its_first_frame(tmp_path):
    """The resize and the quit are already waiting on stdin when the driver starts reading:
    the resize reaches the app before the driver's own initial size does."""
    console = WebConsole(tmp_path)
    console.send({"type": "resize", "width": 155, "height": 50}, {"type": "quit"})
    _check_exited(console)


def test_the_console_quits_after_an_early_resize_then_a_quit(tmp_path):
    """The sequence of a browser resized while the console starts: a resize 0.05 s after the
    start, the quit 0.1 s later (both before the first frame on this machine)."""
    console = WebConsole(tmp_path)
    console.send({"type": "resize", "width": 155, "height": 50}, at=0.05)
    console.send({"type": "quit"}, at=0.15)
    _check_exited(console)


@pytest.mark.parametrize("height", [45, 30])
def test_the_console_quits_after_a_resize_once_it_is_drawn(tmp_path, height):
    """The control: a resize (to the same size, or another) and a quit after the first frame."""
    console = WebConsole(tmp_path)
    deadline = time.monotonic() + EXIT_DEADLINE
    while b"ORD-" not in console.stdout and time.monotonic() < deadline and console.proc.poll() is None:
        time.sleep(0.02)  # polling the drained output for the first rows
    assert b"ORD-" in console.stdout, "the console never drew its order list"
    console.send({"type": "resize", "width": 155, "height": height}, {"type": "quit"})
    _check_exited(console)
