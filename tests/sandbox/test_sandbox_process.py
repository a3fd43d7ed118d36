"""The console's embedded sandbox in a child process (console/sandbox/process.py): the same API
over a private socket, concurrent requests, and a child that never outlives the console."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.api import errors as E
from console.api.retry import Backoff
from console.connection import SANDBOX_BASE_URL, Target, build_client
from console.sandbox import Sandbox
from console.sandbox import process as sandbox_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the sandbox process needs a Unix socketpair")

ROOT = Path(__file__).resolve().parents[2]
ORDERS = 60
TARGET = Target(True, SANDBOX_BASE_URL, None, sandbox_seed=11, sandbox_orders=ORDERS)
EVERY_STATUS = "unplanned,planned,assigned,ongoing,disabled,completed,cancelled"


def alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, exited but not reaped, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    except OSError:  # no /proc here: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return state != "Z"


def wait_gone(pid: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.02)
    return False


PROBE_ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def run_probe(probe: str) -> subprocess.CompletedProcess[str]:
    """``probe`` run in a fresh interpreter; it must succeed."""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=PROBE_ENV)
    assert done.returncode == 0, done.stderr
    return done


def started() -> sandbox_process.SandboxProcess:
    proc = sandbox_process.start(TARGET.sandbox_seed, TARGET.sandbox_orders)
    assert proc is not None, "on this platform the sandbox must get its process"
    return proc


async def test_the_client_lists_reads_and_completes_through_the_sandbox_process() -> None:
    proc = started()
    client, kept = build_client(TARGET, sandbox_process=proc)
    assert kept is proc and proc.pid != os.getpid()
    async with client:
        listed = await client.list_orders(status=EVERY_STATUS, limit=25)
        # The same list as an in-process sandbox with the same seed and size gives.
        async with Sandbox(seed=TARGET.sandbox_seed, orders=ORDERS).client() as in_process:
            expected = await in_process.list_orders(status=EVERY_STATUS, limit=25)
        assert len(listed) > 25  # several pages
        assert sorted(o.order_handle for o in listed) == sorted(o.order_handle for o in expected)
        open_one = next(o for o in listed if o.status in ("assigned", "ongoing"))
        done = await client.complete(open_one.ref)
        assert done.status == "completed" and done.order_handle == open_one.order_handle
        # The change happened in the child, and the child remembers it.
        again = await client.get_order(open_one.order_handle)
        assert again.status == "completed"
        with pytest.raises(E.ConflictError):
            await client.complete(open_one.ref)
        # Requests in flight together are answered each with its own order.
        others = [o for o in listed if o.order_handle != open_one.order_handle][:8]
        read = await asyncio.gather(*(client.get_order(o.order_handle) for o in others))
        assert [o.order_handle for o in read] == [o.order_handle for o in others]
    # Closing the client closed the socket: the child exited and was reaped.
    assert wait_gone(proc.pid)


async def test_a_sandbox_process_that_dies_is_a_server_gone_away_not_a_hang() -> None:
    proc = started()
    client, _ = build_client(TARGET, sandbox_process=proc, get_backoff=Backoff(max_attempts=1))
    async with client:
        assert await client.list_orders(limit=5)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.reap(timeout=5.0)
        with pytest.raises((E.RequestNotSent, E.OutcomeInDoubt)):
            await asyncio.wait_for(client.get_order("anything"), timeout=10)
        # ... and the next request is refused at once: nothing was sent.
        with pytest.raises(E.RequestNotSent):
            await asyncio.wait_for(client.complete_order("anything"), timeout=10)


def test_the_sandbox_process_exits_when_the_console_is_killed() -> None:
    """A console killed outright (no clean-up runs) closes the socket all the same: the child
    sees it and exits instead of simulating a fleet for nobody."""
    probe = (
        "import os, sys, time\n"
        "from console.sandbox import process\n"
        "proc = process.start(3, 20)\n"
        "print(proc.pid, flush=True)\n"
        "time.sleep(60)  # a console that lives until the test kills it\n"
    )
    console = subprocess.Popen([sys.executable, "-c", probe], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                               env=PROBE_ENV)
    try:
        assert console.stdout is not None
        child = int(console.stdout.readline())
        assert alive(child)
        console.kill()
        console.wait(timeout=10)
        assert wait_gone(child), "the sandbox process outlived the console"
    finally:
        if console.poll() is None:
            console.kill()


def test_the_sandbox_process_leaves_the_terminal_alone() -> None:
    """The child is in a session of its own (the terminal's Ctrl+C, Ctrl+Z and hang-up never
    reach it) with /dev/null for its standard streams (it never writes on the console's screen)."""
    probe = (
        "import os, asyncio\n"
        "from console.sandbox import process\n"
        "proc = process.start(3, 20)\n"
        "sock = proc.sock\n"
        "import time\n"
        "while b'serve_socket' not in open(f'/proc/{proc.pid}/cmdline', 'rb').read():  # running the sandbox\n"
        "    time.sleep(0.01)\n"
        "print(os.getsid(0), os.getsid(proc.pid), flush=True)\n"
        "print(os.readlink(f'/proc/{proc.pid}/fd/1'), os.readlink(f'/proc/{proc.pid}/fd/2'), flush=True)\n"
    )
    done = run_probe(probe)
    sessions, streams = done.stdout.splitlines()
    ours, its = sessions.split()
    assert ours != its
    assert streams.split() == [os.devnull, os.devnull]
    assert done.stderr == ""


def test_the_sandbox_process_does_not_inherit_the_account_s_secret(monkeypatch) -> None:
    """``--sandbox`` with real credentials in the environment: the child never holds them."""
    monkeypatch.setenv("HYPERTRACK_ACCOUNT_ID", "acct-real")
    monkeypatch.setenv("HYPERTRACK_SECRET_KEY", "sk-real-do-not-leak")
    proc = started()
    try:
        # Popen returns once exec has begun; the new image's environment block can read empty
        # for a moment after that (seen under load), so wait for it to be set up.
        deadline = time.monotonic() + 10
        environ = b""
        while not environ and time.monotonic() < deadline:
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes()
            if not environ:
                time.sleep(0.01)
        assert b"sk-real-do-not-leak" not in environ and b"acct-real" not in environ
        assert b"PYTHONPATH=" in environ  # the environment itself was passed on
    finally:
        assert proc.sock is not None
        proc.sock.close()
        assert proc.reap(timeout=10)


def test_where_the_process_cannot_start_the_sandbox_runs_in_process(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise OSError("no more processes")

    monkeypatch.setattr(sandbox_process.subprocess, "Popen", refuse)
    assert sandbox_process.start(1, 10) is None
    client, kept = build_client(TARGET, sandbox_process=None)
    assert isinstance(kept, Sandbox)


def test_the_sandbox_process_imports_neither_httpx_nor_the_console_s_ui() -> None:
    """It starts while the console imports its UI, on the other core: the less it loads, the
    sooner it answers."""
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['serve_socket']\n"
        "import console.sandbox.serve_socket as s\n"
        "from console.sandbox.core import Sandbox\n"
        "Sandbox(seed=1, orders=5)\n"
        "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'textual', 'console.ui', 'pydantic'))))\n"
    )
    assert run_probe(probe).stdout.strip() == "[]"
