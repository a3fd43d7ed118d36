"""The console's embedded sandbox in a process of its own, answering over a private socket.

Why: the sandbox is the console's server, and in the console's own process its work sat on the
path to the first rows, on the same core as Textual: importing its modules (~65 ms of CPU here,
mostly class building) and simulating the fleet's day (~40 ms for 500 orders), then answering
each request on the event loop that draws the screen. Started first, in a process of its own
(console/sandbox/serve_socket.py), the same work runs on another core while the console imports
Textual and builds its screen, and answering the list never holds up a keystroke. That is also
how the real API behaves: elsewhere.

- :func:`start` spawns ``python -m console.sandbox.serve_socket`` with its end of a
  ``socketpair``, in a new session (the terminal's Ctrl+C, Ctrl+Z and hang-up never reach it)
  and with /dev/null for its standard streams (it never writes on the console's screen). A
  fresh interpreter, not a fork: a fork copies the console's whole heap, and every reference
  count written afterwards then copies a page of it (measured: the console spent more CPU to
  its first rows with a forked child than with the sandbox in process).
- :class:`ProcessTransport` is the console's httpx transport to it: one frame per request, one
  per answer, matched by id, so requests run concurrently as over HTTP (the frames: see
  serve_socket). The console imports none of the sandbox for it.
- The child exits when its socket closes: the console quit, crashed or was killed. A child that
  dies is a server gone away: the request in flight fails as a dropped connection (in doubt),
  the next ones as a refused connection (not sent).

Where the child cannot be started (no ``pass_fds``: Windows), :func:`start` returns None and the
sandbox runs inside the console's process (:class:`~console.sandbox.transport.SandboxTransport`).
"""

from __future__ import annotations

import asyncio
import os
import pickle
import socket
import subprocess
import sys
from itertools import count
from pathlib import Path

import httpx

from console.api.credentials import ACCOUNT_ENV, SECRET_ENV
from console.sandbox.httpx_wire import disconnected, request_fields, response_to
from console.sandbox.serve_socket import frame, read_frame

#: An answer: status, headers (raw pairs), body.
_Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


class SandboxProcess:
    """A running sandbox process and the console's end of its socket."""

    def __init__(self, popen: subprocess.Popen[bytes], sock: socket.socket) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.sock: socket.socket | None = sock

    def transport(self) -> "ProcessTransport":
        if self.sock is None:
            raise RuntimeError("this sandbox process's socket is already in use")
        sock, self.sock = self.sock, None
        return ProcessTransport(self, sock)

    def reap(self, timeout: float = 2.0) -> bool:
        """Wait (up to ``timeout`` s) for the process to exit once its socket is closed; True if
        it did."""
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True


def start(seed: int, orders: int, speed: float = 1.0, epoch: float | None = None) -> SandboxProcess | None:
    """Start the sandbox's process; None where that is not possible (see the module).
    ``speed``/``epoch``: its simulated clock (see console/sandbox/clock.py)."""
    if sys.platform == "win32" or not hasattr(socket, "AF_UNIX"):
        return None
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    # Not the account's credentials: the sandbox has its own, and a secret is kept out of
    # every process that does not need it.
    env = {k: v for k, v in os.environ.items() if k not in (ACCOUNT_ENV, SECRET_ENV)}
    # The child imports this very package, wherever it was imported from (an installed copy, a
    # checkout run with `python -m console` from its folder).
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH")) if p)
    try:
        popen = subprocess.Popen(
            [sys.executable, "-m", "console.sandbox.serve_socket", str(child_end.fileno()), str(seed), str(orders),
             repr(float(speed)), *(() if epoch is None else (repr(float(epoch)),))],
            pass_fds=(child_end.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True, env=env, close_fds=True,
        )
    except OSError:
        parent_end.close()
        return None
    finally:
        child_end.close()
    return SandboxProcess(popen, parent_end)


class ProcessTransport(httpx.AsyncBaseTransport):
    """An httpx transport to a :class:`SandboxProcess` (see the module docstring)."""

    def __init__(self, process: SandboxProcess, sock: socket.socket) -> None:
        self.process = process
        self._sock: socket.socket | None = sock
        self._writer: asyncio.StreamWriter | None = None
        self._reading: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[_Answer | None]] = {}
        self._ids = count(1)
        self._gone = False
        self._connecting = asyncio.Lock()

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is not None:
            return self._writer
        async with self._connecting:
            if self._writer is None:
                if self._sock is None:
                    raise ConnectionError("closed")
                reader, self._writer = await asyncio.open_unix_connection(sock=self._sock)
                self._sock = None
                self._reading = asyncio.create_task(self._read_answers(reader))
        return self._writer

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                request_id, response = await read_frame(reader)
                future = self._pending.pop(request_id, None)
                if future is not None and not future.done():
                    future.set_result(response)
        except (asyncio.IncompleteReadError, ConnectionError, pickle.UnpicklingError, EOFError):
            pass
        finally:
            self._gone = True
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(ConnectionError("the sandbox process went away"))
            self._pending.clear()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._gone:
            raise httpx.ConnectError("the sandbox process is not running", request=request)
        try:
            writer = await self._connect()
        except (ConnectionError, OSError) as exc:
            raise httpx.ConnectError(f"cannot reach the sandbox process: {exc}", request=request) from None
        fields = await request_fields(request)
        request_id = next(self._ids)
        future: asyncio.Future[_Answer | None] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(frame(request_id, fields))
            await writer.drain()
        except (ConnectionError, OSError):
            self._pending.pop(request_id, None)
            # The bytes may have left: as on a socket, that is a lost connection, not "not sent".
            raise disconnected(request) from None
        try:
            response = await future
        except ConnectionError:
            raise disconnected(request) from None
        finally:
            self._pending.pop(request_id, None)
        if response is None:  # the sandbox dropped this connection (a fault)
            raise disconnected(request)
        return response_to(request, *response)

    async def aclose(self) -> None:
        """Close the socket: the child sees it and exits."""
        self._gone = True
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except (ConnectionError, OSError):
                pass
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        if self._reading is not None:
            self._reading.cancel()
        await asyncio.to_thread(self.process.reap, 0.5)
