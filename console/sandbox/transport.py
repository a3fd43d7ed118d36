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


class SandboxTransport(httpx.AsyncBaseTransport):
    def __init__(self, api: SandboxAPI) -> None:
        self._api = api

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        response = await self._api.handle(SandboxRequest(
            method=request.method,
            raw_path=request.url.raw_path.split(b"?", 1)[0],
            query_string=request.url.query,
            headers=[(k.lower(), v) for k, v in request.headers.raw],
            body=body,
        ))
        if response is None:
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
        # A HEAD answer has no body on the wire (httpx's ASGITransport drops it too).
        content = b"" if request.method == "HEAD" else response.body
        return httpx.Response(response.status, headers=response.headers, stream=httpx.ByteStream(content))
