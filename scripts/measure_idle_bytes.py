"""Measure what the console writes to a real terminal (a pty, 80x24) while nothing changes.

    .venv/bin/python scripts/measure_idle_bytes.py [--seconds 10] [--refresh 1]

The console runs on a *frozen* in-process sandbox (a manual clock that never moves, and a frozen
app clock), refreshing every ``--refresh`` seconds: each refresh loads every order again and finds
nothing changed. Reported: bytes written per second while idle (refreshes plus the 1 s tick of
"updated Ns ago"), and, for scale, the bytes of one cursor move (``j``) and one filter keystroke.
Also run with ``--filter`` to measure the same with a text filter and a sort active.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def child(refresh: float) -> None:
    sys.path.insert(0, str(ROOT))
    from datetime import datetime, timezone

    from console.sandbox import ManualClock, Sandbox
    from console.sandbox.core import IN_PROCESS_BASE_URL
    from console.settings import Settings
    from console.ui.app import DispatchApp

    frozen = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)
    sandbox = Sandbox(seed=7, orders=300, clock=ManualClock(frozen))
    app = DispatchApp(sandbox.client(), Settings(base_url=IN_PROCESS_BASE_URL, refresh_seconds=refresh),
                      sandbox=True, now=lambda: frozen)
    app.run()


def drain(fd: int, seconds: float) -> int:
    """Bytes read from ``fd`` during ``seconds``."""
    total = 0
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                total += len(os.read(fd, 65536))
            except OSError:
                break
    return total


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--refresh", type=float, default=1)
    parser.add_argument("--filter", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.refresh)
        return 0
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(TERM="xterm-256color", COLORTERM="truecolor")
        os.environ.pop("NO_COLOR", None)
        os.execv(sys.executable, [sys.executable, __file__, "--child", "--refresh", str(args.refresh)])
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    start_bytes = drain(fd, 8.0)  # start-up and the first load
    if args.filter:
        os.write(fd, b"/oak")
        drain(fd, 1.0)
        os.write(fd, b"\rO")
        drain(fd, 2.0)
    idle = drain(fd, args.seconds)
    os.write(fd, b"j")
    move = drain(fd, 1.0)
    os.write(fd, b"/")
    drain(fd, 1.0)
    os.write(fd, b"a")
    keystroke = drain(fd, 1.0)
    os.write(fd, b"\x1b")
    drain(fd, 1.0)
    os.write(fd, b"q")
    drain(fd, 2.0)
    os.waitpid(pid, 0)
    print(f"start-up: {start_bytes:,} bytes")
    print(f"idle, refresh every {args.refresh:g} s{' (filter and sort active)' if args.filter else ''}: "
          f"{idle / args.seconds:,.0f} bytes/s over {args.seconds:g} s")
    print(f"one cursor move (j), for scale: {move:,} bytes (including ticks during 1 s)")
    print(f"one filter keystroke, for scale: {keystroke:,} bytes (including ticks during 1 s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
