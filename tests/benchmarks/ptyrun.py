"""Run a program in a real pseudo-terminal of a given size and record what it writes, with times.

The child gets the pty as its controlling terminal (``pty.fork``), the window size set before it
starts, and the environment it is given (the benchmarks pass ``TERM=xterm-256color`` and no
``COLORTERM``: 256 colours). A reader thread drains the terminal continuously (a full pty buffer
would block the app) and keeps every chunk with the time it arrived.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import sys
import termios
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def terminal_env(extra: Mapping[str, str] | None = None, *, home: str | None = None) -> dict[str, str]:
    """A clean environment for a console in a 256-colour terminal: no credentials, no config."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE_", "TEXTUAL", "COLORTERM", "NO_COLOR"))}
    env["TERM"] = "xterm-256color"
    env["PYTHONPATH"] = str(REPO)
    env.pop("PYTHONSTARTUP", None)
    # An installed console runs from compiled bytecode (pip writes it). This environment may set
    # PYTHONDONTWRITEBYTECODE, which would make every launch compile the console's modules
    # again: cache bytecode, under the private home so that nothing is written into the repo.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env["PYTHONPYCACHEPREFIX"] = os.path.join(home, "pycache")
        env["HOME"] = home
        env["XDG_CONFIG_HOME"] = os.path.join(home, ".config")
        env["XDG_DATA_HOME"] = os.path.join(home, ".local", "share")
        env["XDG_STATE_HOME"] = os.path.join(home, ".local", "state")
    env.update(extra or {})
    return env


class PtyProcess:
    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cols: int = 120, rows: int = 40,
                 cwd: str | os.PathLike[str] = REPO) -> None:
        self.started = time.perf_counter()
        pid, fd = pty.fork()
        if pid == 0:  # the child: set the size on its own terminal, then become the program
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
                os.chdir(cwd)
                os.execve(argv[0], list(argv), dict(env))
            finally:
                os._exit(127)
        self.pid = pid
        self.fd = fd
        self.chunks: list[tuple[float, bytes]] = []
        self._lock = threading.Lock()
        self._closed = False
        self.exit_status: int | None = None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # EIO: the child closed its side
                break
            if not data:
                break
            t = time.perf_counter()
            with self._lock:
                self.chunks.append((t, data))

    # ------------------------------------------------------------------ reading

    def output(self, since: float = 0.0, until: float = float("inf")) -> bytes:
        with self._lock:
            return b"".join(data for t, data in self.chunks if since <= t < until)

    def bytes_between(self, since: float, until: float) -> int:
        with self._lock:
            return sum(len(data) for t, data in self.chunks if since <= t < until)

    def wait_for(self, pattern: bytes | re.Pattern[bytes], timeout: float = 30.0) -> float:
        """The arrival time of the chunk that completed the first match of ``pattern``."""
        regex = re.compile(pattern) if isinstance(pattern, bytes) else pattern
        deadline = time.perf_counter() + timeout
        seen = 0
        buffer = b""
        while True:
            with self._lock:
                new = self.chunks[seen:]
            for t, data in new:
                seen += 1
                buffer += data
                if regex.search(buffer):
                    return t
                buffer = buffer[-4096:]  # a match never spans more than one frame's tail
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{pattern!r} not seen in {timeout} s; last output: {buffer[-400:]!r}")
            if self.poll() is not None and not new:
                with self._lock:
                    if len(self.chunks) == seen:
                        raise RuntimeError(f"the program exited ({self.exit_status}) before {pattern!r}; "
                                           f"last output: {buffer[-800:]!r}")
            time.sleep(0.002)

    # ------------------------------------------------------------------ control

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def poll(self) -> int | None:
        if self.exit_status is None:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.exit_status = os.waitstatus_to_exitcode(status)
        return self.exit_status

    def wait(self, timeout: float) -> int | None:
        deadline = time.perf_counter() + timeout
        while self.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.01)
        return self.exit_status

    def close(self, quit_keys: bytes | None = b"q", timeout: float = 5.0) -> None:
        """Ask the program to quit (``quit_keys``), then terminate it if it does not."""
        if self.poll() is None and quit_keys:
            try:
                self.write(quit_keys)
            except OSError:
                pass
            self.wait(timeout)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if self.poll() is not None:
                break
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                break
            self.wait(3.0)
        self._reader.join(timeout=2)
        if not self._closed:
            self._closed = True
            os.close(self.fd)

    def __enter__(self) -> "PtyProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def python() -> str:
    return sys.executable
