"""iter_pages(next_limit=...): a small first page, bigger pages after it, and a fallback to the
first page's size when a server refuses the bigger one (HyperTrack documents no maximum)."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from console.api import errors as E
from console.api.client import OrdersClient
from console.sandbox.core import IN_PROCESS_BASE_URL
from tests.support.sandbox_fixtures import make_sandbox


class Recorder(httpx.AsyncBaseTransport):
    """Passes requests to the sandbox; records each list request's limit; refuses limits above
    ``refuse_above`` with the 422 the sandbox itself uses."""

    def __init__(self, inner: httpx.AsyncBaseTransport, refuse_above: int | None = None) -> None:
        self.inner = inner
        self.refuse_above = refuse_above
        self.limits: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        query = parse_qs(urlsplit(str(request.url)).query)
        limit = int(query.get("limit", ["100"])[0])
        self.limits.append(limit)
        if self.refuse_above is not None and limit > self.refuse_above:
            body = {"detail": {"query": {"limit": ["Must be less than or equal to 20."]}},
                    "message": "Request validation failed"}
            return httpx.Response(422, content=json.dumps(body).encode(), headers={"content-type": "application/json"})
        return await self.inner.handle_async_request(request)


def client_with(recorder: Recorder, sb) -> OrdersClient:
    return OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=recorder)


async def every_order(sb) -> list[tuple]:
    async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as client:
        return [o.ref for o in await client.list_orders(limit=1000)]


async def test_bigger_pages_after_the_first_and_every_order_exactly_once() -> None:
    sb = make_sandbox(orders=120)
    truth = await every_order(sb)
    recorder = Recorder(sb.transport())
    async with client_with(recorder, sb) as client:
        pages = [page async for page in client.iter_pages(limit=10, next_limit=40)]
    got = [o.ref for page in pages for o in page.orders]
    assert got == truth
    assert len(pages[0].orders) == 10 and all(len(p.orders) <= 40 for p in pages[1:])
    assert recorder.limits[0] == 10 and set(recorder.limits[1:]) == {40}
    assert len(recorder.limits) == 1 + -(-(len(truth) - 10) // 40)


async def test_a_refused_bigger_page_is_asked_again_at_the_first_size() -> None:
    sb = make_sandbox(orders=60)
    truth = await every_order(sb)
    recorder = Recorder(sb.transport(), refuse_above=20)
    async with client_with(recorder, sb) as client:
        pages = [page async for page in client.iter_pages(limit=10, next_limit=50)]
    assert [o.ref for page in pages for o in page.orders] == truth
    # The second request (50) was refused once; from then on every page is 10 again.
    assert recorder.limits[:3] == [10, 50, 10]
    assert set(recorder.limits[2:]) == {10}


async def test_a_refused_first_page_is_still_an_error() -> None:
    sb = make_sandbox(orders=30)
    recorder = Recorder(sb.transport(), refuse_above=5)
    async with client_with(recorder, sb) as client:
        with pytest.raises(E.ValidationFailed):
            [page async for page in client.iter_pages(limit=10, next_limit=50)]
    assert recorder.limits == [10]


async def test_next_limit_is_validated_like_limit() -> None:
    sb = make_sandbox(orders=5)
    async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as client:
        with pytest.raises(E.InvalidRequest):
            [page async for page in client.iter_pages(limit=10, next_limit=0)]
