"""How an httpx request reaches the sandbox and its answer comes back, for both of the console's
transports to it: in process (console/sandbox/transport.py) and to the sandbox's own process
(console/sandbox/process.py). Only httpx here: the latter must not import the simulation.
"""

from __future__ import annotations

import httpx

#: A :class:`~console.sandbox.app.SandboxRequest`'s fields, in order.
RequestFields = tuple[str, bytes, bytes, list[tuple[bytes, bytes]], bytes]


async def request_fields(request: httpx.Request) -> RequestFields:
    """What an ASGI server would pass (httpx's own ``ASGITransport`` builds the same): the
    method, the raw path without its query, the query, lower-case header names, the body."""
    body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
    return (request.method, request.url.raw_path.split(b"?", 1)[0], request.url.query,
            [(k.lower(), v) for k, v in request.headers.raw], body)


def disconnected(request: httpx.Request) -> httpx.RemoteProtocolError:
    """What a client sees on a real connection closed without an answer."""
    return httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)


def response_to(request: httpx.Request, status: int, headers: list[tuple[bytes, bytes]],
                body: bytes) -> httpx.Response:
    # A HEAD answer has no body on the wire (httpx's ASGITransport drops it too).
    content = b"" if request.method == "HEAD" else body
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(content))
