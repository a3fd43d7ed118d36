"""The console's embedded sandbox in a process of its own, answering over a private socket.

Why: the sandbox is the console's server, and in the console's own process its work sat on the
path to the first rows, on the same core as Textual: importing its modules (~65 ms of CPU here,
mostly class building) and simulating the fleet's day (~40 ms for 500 orders), then answering
each request on the event loop that draws the screen. Started first, in a child process, the same
work runs on another core while the console imports Textual and builds its screen, and answering
the list never blocks a keystroke. That is also how the real API behaves: elsewhere.

How:

- :func:`start` forks (POSIX; no ``exec``, so the child starts with what the console already
  imported: httpx, the API client) before the console imports its UI. The child leaves the
  terminal's session (``setsid``: no SIGINT, SIGTSTP or SIGHUP from the terminal), points its
  standard streams at ``/dev/null`` (it never writes to the terminal), builds the
  :class:`~console.sandbox.core.Sandbox` and serves :meth:`SandboxAPI.handle` over its end of a
  ``socketpair``.
- :class:`ProcessTransport` is the console's httpx transport to it. Each request goes as one
  frame (length, request id, then the pickled fields of a
  :class:`~console.sandbox.app.SandboxRequest`); each answer comes back as one frame with the
  same id (status, headers and body; None for a dropped connection), so requests run
  concurrently as over HTTP. Plain tuples, so that the console imports none of the sandbox.
  Pickle is safe here: the peer is this process's own child, over a socket nobody else holds.
- The child exits when its socket closes: the console quit, crashed or was killed. A child
  that dies is a server that went away: the request in flight fails as a dropped connection
  (in doubt), the next ones as a refused connection (not sent).

Where ``fork`` is missing (Windows) or the process already runs threads (forking those is not
safe), :func:`start` returns None and the sandbox runs in process as before
(:class:`~console.sandbox.transport.SandboxTransport`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import pickle
import signal
import socket
import struct
import threading
from itertools import count
from typing import Any

import httpx

#: A frame: payload length and request id, then the pickled payload.
_HEADER = struct.Struct("!IQ")
#: An answer: status, headers (raw pairs), body.
_Answer = tuple[int, list[tuple[bytes, bytes]], bytes]
#: Refuse frames over this size (a list page of 1,000 orders is ~1.5 MB).
MAX_FRAME = 256 * 1024 * 1024


class SandboxProcess:
    """A running sandbox child: its pid and the console's end of the socket."""

    def __init__(self, pid: int, sock: socket.socket) -> None:
        self.pid = pid
        self.sock: socket.socket | None = sock

    def transport(self) -> "ProcessTransport":
        if self.sock is None:
            raise RuntimeError("this sandbox process was closed")
        sock, self.sock = self.sock, None
        return ProcessTransport(self, sock)

    def reap(self, timeout: float = 2.0) -> bool:
        """Wait (up to ``timeout`` s) for the child to exit once its socket is closed; True if
        it did. A child not reaped is reaped by the system when the console exits."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                pid, _ = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                return True
            if pid:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)


def start(seed: int, orders: int) -> SandboxProcess | None:
    """Fork the sandbox child; None where that is not possible or not safe (see the module)."""
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return None
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        pid = os.fork()
    except OSError:
        parent_end.close()
        child_end.close()
        return None
    if pid == 0:  # the child: never returns
        parent_end.close()
        _child_main(child_end, seed, orders)
    child_end.close()
    return SandboxProcess(pid, parent_end)


# ---------------------------------------------------------------------- the child


def _child_main(sock: socket.socket, seed: int, orders: int) -> None:
    code = 0
    try:
        os.setsid()
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        asyncio.run(_serve(sock, seed, orders))
    except BaseException:  # nothing may escape into the console's code, which the fork copied
        code = 1
    finally:
        os._exit(code)


async def _serve(sock: socket.socket, seed: int, orders: int) -> None:
    from console.sandbox.app import SandboxRequest, SandboxResponse
    from console.sandbox.core import Sandbox

    sandbox = Sandbox(seed=seed, orders=orders)
    # The console paused its collector for its start-up and the fork copied that: the fleet is
    # built, so collect as usual from here, its objects frozen out of the way.
    gc.freeze()
    gc.enable()
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    tasks: set[asyncio.Task[None]] = set()

    async def answer(request_id: int, fields: tuple[Any, ...]) -> None:
        try:
            response = await sandbox.api.handle(SandboxRequest(*fields))
        except Exception:  # a sandbox bug: a 500, as a server would answer
            response = SandboxResponse.make(b'{"message": "sandbox error"}', 500)
        reply = None if response is None else (response.status, response.headers, response.body)
        writer.write(_frame(request_id, reply))

    while True:
        try:
            request_id, fields = await _read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the console is gone
        task = asyncio.create_task(answer(request_id, fields))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


# ---------------------------------------------------------------------- framing


def _frame(request_id: int, payload: Any) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return _HEADER.pack(len(data), request_id) + data


async def _read_frame(reader: asyncio.StreamReader) -> tuple[int, Any]:
    length, request_id = _HEADER.unpack(await reader.readexactly(_HEADER.size))
    if length > MAX_FRAME:
        raise ConnectionError("sandbox frame too large")
    return request_id, pickle.loads(await reader.readexactly(length))


# ---------------------------------------------------------------------- the console's side


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
        self._connecting: asyncio.Lock | None = None

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is not None:
            return self._writer
        if self._connecting is None:
            self._connecting = asyncio.Lock()
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
                request_id, response = await _read_frame(reader)
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
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        # SandboxRequest's fields, in order (as SandboxTransport fills them).
        fields = (request.method, request.url.raw_path.split(b"?", 1)[0], request.url.query,
                  [(k.lower(), v) for k, v in request.headers.raw], body)
        request_id = next(self._ids)
        future: asyncio.Future[_Answer | None] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            writer.write(_frame(request_id, fields))
            await writer.drain()
        except (ConnectionError, OSError):
            self._pending.pop(request_id, None)
            # The bytes may have left: as on a socket, that is a lost connection, not "not sent".
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from None
        try:
            response = await future
        except ConnectionError:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.",
                                            request=request) from None
        finally:
            self._pending.pop(request_id, None)
        if response is None:  # the sandbox dropped this connection (a fault)
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        status, headers, content = response
        if request.method == "HEAD":
            content = b""  # no body on the wire (as SandboxTransport)
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))

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
