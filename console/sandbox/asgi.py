"""The sandbox as an ASGI app, for uvicorn (``dispatch-console sandbox``, ``serve_in_thread``).

A thin adapter: it reads the request, hands it to :class:`~console.sandbox.app.SandboxAPI` and
writes the answer back. A drop fault closes the connection without a response. Scopes other than
HTTP (lifespan, websocket) get Starlette's standard answers. Only this module imports Starlette:
the console's embedded sandbox is called in process through
:class:`~console.sandbox.transport.SandboxTransport` and never loads it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.applications import Starlette

from console.sandbox.app import ConnectionDropped, SandboxAPI, SandboxRequest, SandboxResponse


class SandboxASGI:
    def __init__(self, api: SandboxAPI) -> None:
        self.api = api
        self._other_scopes = Starlette()  # lifespan start-up/shutdown; websockets are refused

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._other_scopes(scope, receive, send)
            return
        request = SandboxRequest(
            method=scope["method"], raw_path=_raw_path(scope), query_string=scope.get("query_string", b""),
            headers=scope.get("headers", []), body=await _read_body(receive),
        )
        response = await self.api.handle(request)
        if response is None:
            await _drop(scope, send)
            return
        await _send(response, send)


async def _read_body(receive: Any) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect: the client went away
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(response: SandboxResponse, send: Any) -> None:
    await send({"type": "http.response.start", "status": response.status, "headers": response.headers})
    await send({"type": "http.response.body", "body": response.body})


def _raw_path(scope: dict[str, Any]) -> bytes:
    raw = scope.get("raw_path")
    if raw is None:
        raw = scope["path"].encode("utf-8")
    return raw.split(b"?", 1)[0]


async def _drop(scope: dict[str, Any], send: Any) -> None:
    """Close the connection without a response.

    Under uvicorn the ASGI ``send`` is bound to the connection's request cycle, whose asyncio
    transport we abort: the client sees the connection close with no status line, and uvicorn,
    seeing a disconnected client, sends nothing and logs nothing. Any other server gets a
    response cut short (headers, part of the body, then :class:`ConnectionDropped`).
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(50):
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
    await send({"type": "http.response.body", "body": b'{"order_handle":', "more_body": True})
    raise ConnectionDropped()
