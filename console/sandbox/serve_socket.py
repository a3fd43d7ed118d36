"""The sandbox's own process: serves :meth:`SandboxAPI.handle` over one end of a socketpair.

Run by :func:`console.sandbox.process.start` as ``python -m console.sandbox.serve_socket FD SEED
ORDERS`` (FD: its end of the socket, inherited), in a session of its own with /dev/null for its
standard streams. It imports the sandbox and nothing of the console's UI or of httpx, builds the
fleet, then answers every request frame with a response frame of the same id (requests run
concurrently, as over HTTP), and exits when the socket closes: the console is gone.

The frames (also used by the console's side, console/sandbox/process.py): payload length and
request id, then the pickled payload. A request is the fields of a
:class:`~console.sandbox.app.SandboxRequest` as a tuple; an answer is ``(status, headers,
body)``, or None for a dropped connection. Pickle is safe here: each side's only peer is the
other, over a socket nobody else holds.
"""

from __future__ import annotations

import asyncio
import pickle
import signal
import socket
import struct
import sys
from typing import Any

from console.gc_policy import freeze_all, paused

#: A frame's header: payload length and request id.
HEADER = struct.Struct("!IQ")
#: Refuse frames over this size (a list page of 1,000 orders is ~1.5 MB).
MAX_FRAME = 256 * 1024 * 1024


def frame(request_id: int, payload: Any) -> bytes:
    data = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data), request_id) + data


async def read_frame(reader: asyncio.StreamReader) -> tuple[int, Any]:
    """The next frame; raises IncompleteReadError at the end of the stream."""
    length, request_id = HEADER.unpack(await reader.readexactly(HEADER.size))
    if length > MAX_FRAME:
        raise ConnectionError("sandbox frame too large")
    return request_id, pickle.loads(await reader.readexactly(length))


async def serve(sock: socket.socket, seed: int, orders: int, speed: float = 1.0,
                epoch: float | None = None) -> None:
    from console.sandbox.app import SandboxRequest, SandboxResponse
    from console.sandbox.core import Sandbox

    # Building the fleet allocates tens of thousands of objects that all live: no collection
    # while it runs, then they are frozen out of the way of later ones.
    with paused():
        sandbox = Sandbox(seed=seed, orders=orders, speed=speed, epoch=epoch, elsewhere=True)
    freeze_all()
    reader, writer = await asyncio.open_unix_connection(sock=sock)
    tasks: set[asyncio.Task[None]] = set()

    async def answer(request_id: int, fields: tuple[Any, ...]) -> None:
        try:
            response = await sandbox.api.handle(SandboxRequest(*fields))
        except Exception:  # a sandbox bug: a 500, as a server would answer
            response = SandboxResponse.make(b'{"message": "sandbox error"}', 500)
        reply = None if response is None else (response.status, response.headers, response.body)
        writer.write(frame(request_id, reply))

    while True:
        try:
            request_id, fields = await read_frame(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return  # the console is gone
        task = asyncio.create_task(answer(request_id, fields))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


def main(argv: list[str]) -> int:
    fd, seed, orders = (int(arg) for arg in argv[:3])
    speed = float(argv[3]) if len(argv) > 3 else 1.0  # optional: the simulated clock's speed
    epoch = float(argv[4]) if len(argv) > 4 else None  # optional: and where it starts (the console's)
    # Its own session already (no Ctrl+C from the terminal); ignore SIGINT all the same, for a
    # parent that shares its process group some other way.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(serve(socket.socket(fileno=fd), seed, orders, speed, epoch))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
