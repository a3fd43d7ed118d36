"""An httpx transport that calls the sandbox in process (no sockets, no threads, no ASGI).

The request goes straight to :meth:`~console.sandbox.app.SandboxAPI.handle`, as the fields an
ASGI server would pass (httpx's own ``ASGITransport`` builds the same: lower-case header names,
the raw path without its query). A fault that drops the connection cannot close a socket here,
so it becomes the error a client sees on a real connection:
``httpx.RemoteProtocolError("Server disconnected without sending a response.")``.
"""

from __future__ import annotations

import httpx

from console.sandbox.app import SandboxAPI, SandboxRequest
from console.sandbox.httpx_wire import disconnected, request_fields, response_to


class SandboxTransport(httpx.AsyncBaseTransport):
    def __init__(self, api: SandboxAPI) -> None:
        self._api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._api.handle(SandboxRequest(*await request_fields(request)))
        if response is None:
            raise disconnected(request)
        return response_to(request, response.status, response.headers, response.body)
