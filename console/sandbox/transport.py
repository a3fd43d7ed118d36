"""An httpx transport that calls the sandbox app in process (no sockets, no threads).

A fault that drops the connection cannot close a socket here, so the app raises
:class:`~console.sandbox.app.ConnectionDropped` and this transport turns it into the error a
client would see on a real connection: ``httpx.RemoteProtocolError("Server disconnected without
sending a response.")``.
"""

from __future__ import annotations

from typing import Any

import httpx

from console.sandbox.app import ConnectionDropped


class SandboxTransport(httpx.AsyncBaseTransport):
    def __init__(self, app: Any) -> None:
        self._app = app
        self._inner = httpx.ASGITransport(app=self._in_process_app)

    async def _in_process_app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        await self._app({**scope, "sandbox.in_process": True}, receive, send)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            ) from None
