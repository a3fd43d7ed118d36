"""The sandbox's two faces answer alike: in process (``sb.transport()``, no ASGI, no Starlette)
and served over HTTP (``sb.app`` under uvicorn). The same requests, faults included, against two
sandboxes of the same seed must give the same statuses, headers, bodies, errors and server
stats: the embedded sandbox the console starts with is the sandbox the tests serve."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from console.sandbox import Sandbox
from console.sandbox.app import SandboxAPI, SandboxRequest
from console.sandbox.defaults import IN_PROCESS_BASE_URL
from console.sandbox.server import serve_in_thread
from tests.support.sandbox_fixtures import make_sandbox

AUTH = ("sandbox", "sandbox-secret")

# (method, path, body, authenticated, fault armed before the request)
REQUESTS: list[tuple[str, str, bytes | None, bool, str | None]] = [
    ("GET", "/orders/?limit=3", None, True, None),
    ("GET", "/orders/?limit=3&limit=2&status=ongoing", None, True, None),  # the last repeat wins
    ("GET", "/orders/?limit=abc&risk_status=maybe", None, True, None),
    ("GET", "/orders/?limit=2", None, False, None),
    ("GET", "/orders/?pagination_token=zzz", None, True, None),
    ("GET", "/orders/a%2Fb", None, True, None),
    ("GET", "/orders/track", None, True, None),
    ("PATCH", "/orders/x", None, True, None),
    ("DELETE", "/orders/", None, True, None),
    ("HEAD", "/orders/", None, True, None),
    ("TRACE", "/orders/", None, True, None),
    ("GET", "/nope", None, True, None),
    ("POST", "/orders/{0}/complete", b"not json", True, None),
    ("POST", "/orders/{0}/complete", b'{"note": 1}', True, None),
    ("POST", "/orders/{0}/complete", None, True, None),  # 409: already completed
    ("POST", "/orders/{1}/cancel?type=bad", None, True, None),
    ("GET", "/orders/{0}", None, True, None),
    ("GET", "/orders/?limit=1", None, True, "429"),
    ("POST", "/orders/{1}/complete", None, True, "drop_after_apply"),
    ("POST", "/orders/{2}/complete", None, True, "gateway_timeout_after_apply"),
    ("POST", "/orders/{3}/complete", None, True, "drop_before_apply"),
    ("POST", "/orders/{3}/disable", b"{}", True, None),
    ("GET", "/orders/{3}/enable", None, True, None),
    ("POST", "/orders/{2}/reassign", b"{}", True, None),
]


async def _exchange(client: httpx.AsyncClient, sb: Sandbox) -> list[Any]:
    handles = [o.handle for o in sb.fleet.ordered if o.status in ("ongoing", "assigned")][:4]
    seen: list[Any] = []
    for method, path, body, authenticated, fault in REQUESTS:
        path = path.format(*handles)
        if fault == "429":
            sb.faults.rate_limit(1, 3)
        elif fault == "drop_after_apply":
            sb.faults.drop_after_apply(1)
        elif fault == "gateway_timeout_after_apply":
            sb.faults.gateway_timeout_after_apply(1)
        elif fault == "drop_before_apply":
            sb.faults.drop_before_apply(1)
        try:
            r = await client.request(method, path, content=body, auth=AUTH if authenticated else None)
        except httpx.HTTPError as exc:
            seen.append((method, path, type(exc).__name__))
            continue
        # uvicorn adds its own date and server headers; everything else is the sandbox's.
        headers = [(k, v) for k, v in r.headers.raw if k.lower() not in (b"date", b"server")]
        seen.append((method, path, r.status_code, headers, r.content))
    records = [(r.method, r.raw_path, r.query, r.status, r.fault, r.auth_ok, r.handle, r.action, r.request_id)
               for r in sb.stats.requests]
    return [*seen, records, sorted(sb.stats.completions_applied.items())]


def test_in_process_and_served_sandboxes_answer_alike() -> None:
    async def in_process() -> list[Any]:
        sb = make_sandbox(orders=120)
        async with httpx.AsyncClient(transport=sb.transport(), base_url=IN_PROCESS_BASE_URL) as client:
            return await _exchange(client, sb)

    async def served() -> list[Any]:
        sb = make_sandbox(orders=120)
        with serve_in_thread(sb) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                return await _exchange(client, sb)

    local, remote = asyncio.run(in_process()), asyncio.run(served())
    assert local == remote
    by_request = {(r[0], r[1]): r[2:] for r in local[:len(REQUESTS)] if len(r) == 5}
    # A dropped connection is the same transport error in process as over HTTP.
    errors = [r for r in local[:len(REQUESTS)] if len(r) == 3]
    assert [(m, error) for m, _path, error in errors] == [("POST", "RemoteProtocolError")] * 2
    statuses = [r[2] for r in local[:len(REQUESTS)] if len(r) == 5]
    assert statuses == [200, 200, 422, 401, 422, 404, 501, 501, 405, 405, 405, 404, 422, 200, 409, 422,
                        200, 429, 504, 200, 405, 422]
    enable = next(v for (m, path), v in by_request.items() if m == "GET" and path.endswith("/enable"))
    assert dict(enable[1])[b"allow"] == b"POST"
    trace = by_request[("TRACE", "/orders/")]
    assert trace[1][0] == (b"allow", b"GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS")
    assert trace[2] == b"Method Not Allowed"
    assert by_request[("HEAD", "/orders/")][2] == b""  # no body on a HEAD answer
    for _status, headers, _body in by_request.values():
        assert [k for k, _ in headers][-1] == b"apigw-requestid"


def test_the_in_process_path_is_the_api_itself() -> None:
    """The transport is a plain call of ``SandboxAPI.handle``: what it returns is what the
    client gets, and None (a drop) is an httpx transport error."""
    sb = make_sandbox(orders=30)
    api = sb.api
    assert isinstance(api, SandboxAPI)

    auth = sb.credentials.basic_value().get_secret_value().encode()

    async def go() -> tuple[Any, Any]:
        direct = await api.handle(SandboxRequest("GET", b"/orders/", b"limit=1", [
            (b"authorization", auth),
        ]))
        sb.faults.drop_before_apply(1)
        dropped = await api.handle(SandboxRequest("POST", b"/orders/x/complete", b"", [
            (b"authorization", auth),
        ]))
        return direct, dropped

    direct, dropped = asyncio.run(go())
    assert direct.status == 200 and direct.body.startswith(b'{"orders":[')
    assert (b"content-type", b"application/json") in direct.headers
    assert dropped is None
