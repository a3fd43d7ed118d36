"""A recording httpx.MockTransport for the console.api tests (no sandbox, no network).

``Server(handler)`` records every request that reached the "network" (method, raw path, query,
headers, body) and answers with ``handler(request)``. ``server.client(...)`` builds a real
:class:`OrdersClient` on it, with sleeps recorded instead of slept.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import SecretStr

from console.api import Credentials, OrdersClient
from console.api.retry import Backoff

ACCOUNT = "acct-mock-7781"
SECRET = "mock-SECRET-q8Zx2Lw0vK"
BASE_URL = "https://api.mock.test"

Handler = Callable[[httpx.Request], httpx.Response]


def order_body(handle: str = "h-1", status: str = "completed", **fields: Any) -> dict[str, Any]:
    return {"order_handle": handle, "status": status, **fields}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, content=json.dumps(body).encode(),
        headers={"content-type": "application/json", **(headers or {})},
    )


def raw_response(content: bytes, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, content=content, headers=headers or {})


class ChunkStream(httpx.AsyncByteStream):
    """A response body streamed in chunks with no Content-Length; counts what it handed out."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes_sent = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            self.bytes_sent += len(chunk)
            yield chunk


@dataclass
class Seen:
    method: str
    raw_path: bytes
    query: bytes
    url: httpx.URL
    headers: httpx.Headers
    body: bytes

    @property
    def path(self) -> str:
        return self.raw_path.decode("ascii")

    @property
    def params(self) -> dict[str, str]:
        return dict(self.url.params)


@dataclass
class SleepLog:
    delays: list[float] = field(default_factory=list)

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


class Server:
    """Answers with ``handler``; ``seen`` lists what arrived, per host if needed."""

    def __init__(self, handler: Handler | None = None) -> None:
        self.handler = handler or (lambda request: json_response(order_body()))
        self.seen: list[Seen] = []
        self.sleeps = SleepLog()

    def _handle(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path
        path, _, query = raw.partition(b"?")
        self.seen.append(Seen(request.method, path, query, request.url, request.headers, request.content))
        return self.handler(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def client(
        self,
        *,
        base_url: str = BASE_URL,
        credentials: Credentials | None | bool = True,
        max_attempts: int = 4,
        **kwargs: Any,
    ) -> OrdersClient:
        if credentials is True:
            credentials = Credentials(ACCOUNT, SecretStr(SECRET))
        kwargs.setdefault("get_backoff", Backoff(base=0.5, cap=20.0, max_attempts=max_attempts))
        kwargs.setdefault("sleep", self.sleeps)
        return OrdersClient(credentials or None, base_url=base_url, transport=self.transport(), **kwargs)

    @property
    def count(self) -> int:
        return len(self.seen)


def _fresh(item: httpx.Response) -> httpx.Response:
    # A Response belongs to one request: answer each request with a copy.
    return httpx.Response(item.status_code, headers=item.headers, content=item.content)


def sequence(*responses: httpx.Response | BaseException) -> Handler:
    """A handler answering each request with the next item, the last one repeating.

    An exception item is raised (a fresh one each time), as a transport would.
    """
    items = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, BaseException):
            raise type(item)(*item.args)
        return _fresh(item)

    return handler
