"""``console.api.OrdersClient`` against the sandbox over real loopback HTTP (uvicorn in a thread).

What the server received is read from ``sandbox.stats``, never from the client's own account.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from console.api import OrdersClient
from console.api import errors as E
from console.api.credentials import Credentials
from console.api.handles import order_path
from console.sandbox.server import serve_in_thread
from tests.support.sandbox_fixtures import ServedSandbox, make_sandbox, served_sandbox  # noqa: F401 - fixture


@pytest.fixture(scope="module")
def big_served() -> Iterator[ServedSandbox]:
    """2,000 orders on a frozen clock, served once for the read-only tests of this module."""
    sb = make_sandbox(orders=2000)
    with serve_in_thread(sb) as url:
        yield ServedSandbox(url, sb)


def client_for(served: ServedSandbox, sleeps: list[float] | None = None, **kwargs) -> OrdersClient:
    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    kwargs.setdefault("credentials", served.sandbox.credentials)
    return OrdersClient(base_url=served.base_url, sleep=fake_sleep, **kwargs)


def _kw(o) -> dict:
    return {"type": o.type, "type_index": o.type_index, "fulfillment_attempt": o.attempt}


async def test_all_pages_of_2000_orders(big_served):
    sb = big_served.sandbox
    async with client_for(big_served) as client:
        pages = [page async for page in client.iter_pages(limit=250)]
        everything = [o for page in pages for o in page.orders]
        newest_first = [o.created_at for o in everything]
        asc = await client.list_orders(limit=1000, sort_direction="asc")
    assert len(pages) == 8 and pages[-1].pagination_token is None
    assert len(everything) == 2000 == len(sb.fleet.ordered)
    assert len({o.ref for o in everything}) == 2000
    assert not any(page.skipped for page in pages)
    assert newest_first == sorted(newest_first, reverse=True)
    assert {o.ref for o in asc} == {o.ref for o in everything}
    lists = [r for r in sb.stats.snapshot() if r.raw_path == "/orders/"]
    assert len(lists) == 8 + 2 and all(r.status == 200 for r in lists)


async def test_filters_over_http(big_served):
    async with client_for(big_served) as client:
        ongoing = await client.list_orders(status=["ongoing"], limit=1000)
        late = await client.list_orders(status="assigned,ongoing", risk_status="true", limit=1000)
    assert ongoing and {o.status for o in ongoing} == {"ongoing"}
    assert late and all(o.risk_status for o in late)


async def test_get_complete_and_complete_again(served_sandbox):
    sb = served_sandbox.sandbox
    o = sb.orders("ongoing")[0]
    async with client_for(served_sandbox) as client:
        detail = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
        assert detail.timeline and detail.polyline and detail.status == "ongoing"
        done = await client.complete(detail.ref)
        assert done.status == "completed" and done.completed_at is not None
        assert sb.stats.completions_applied == {o.key: 1}
        with pytest.raises(E.ConflictError) as info:
            await client.complete(detail.ref)
    assert info.value.status_code == 409
    assert info.value.detail["status"] == "completed"
    assert sb.stats.completions_applied == {o.key: 1}
    assert sb.stats.posts_received[(o.handle, "complete")] == 2


async def test_unknown_handle_is_not_found(served_sandbox):
    async with client_for(served_sandbox) as client:
        with pytest.raises(E.NotFoundError) as info:
            await client.get_order("ORD-19990101-0001")
        with pytest.raises(E.NotFoundError):
            await client.complete_order("ORD-19990101-0001")
    assert "ORD-19990101-0001" in info.value.api_message
    assert not served_sandbox.sandbox.stats.completions_applied


async def test_bad_parameters_are_validation_failures(served_sandbox):
    async with client_for(served_sandbox) as client:
        with pytest.raises(E.ValidationFailed) as info:
            await client.list_orders(limit=5000)
        assert info.value.field_errors == {
            "query.limit": ["Must be greater than or equal to 1 and less than or equal to 1000."]
        }
        with pytest.raises(E.ValidationFailed) as info:
            await client.list_orders(risk_status="sometimes")
        assert info.value.field_errors == {"query.risk_status": ["Not a valid boolean."]}
    # what the client refuses to build, sent raw
    sb = served_sandbox.sandbox
    auth = (sb.credentials.account_id, sb.credentials.secret_key.get_secret_value())
    async with httpx.AsyncClient(base_url=served_sandbox.base_url, auth=auth) as http:
        r = await http.get("/orders/", params={"limit": "abc", "sort_direction": "sideways"})
        o = sb.orders("assigned")[0]
        r2 = await http.post(order_path(o.handle, "complete"), params={"type": "both", "type_index": "x"})
    assert r.status_code == 422
    errors = E.ValidationFailed(422, r.json()["message"], detail=r.json()["detail"]).field_errors
    assert errors == {"query.limit": ["Not a valid integer."], "query.sort_direction": ["Must be one of: desc, asc."]}
    assert r2.status_code == 422 and set(r2.json()["detail"]["query"]) == {"type", "type_index"}
    assert o.status == "assigned"


async def test_wrong_credentials(served_sandbox):
    from pydantic import SecretStr

    wrong = Credentials("sandbox", SecretStr("not-the-secret"))
    async with client_for(served_sandbox, credentials=wrong) as client:
        with pytest.raises(E.AuthenticationError) as info:
            await client.list_orders(limit=5)
    assert info.value.status_code == 401
    recs = served_sandbox.sandbox.stats.snapshot()
    assert recs and all(not r.auth_ok and r.status == 401 for r in recs)


async def test_drop_after_apply_is_in_doubt_and_was_applied(served_sandbox):
    sb = served_sandbox.sandbox
    sb.faults.drop_after_apply(1)
    o = sb.orders("assigned")[0]
    async with client_for(served_sandbox) as client:
        with pytest.raises(E.OutcomeInDoubt):
            await client.complete_order(o.handle, **_kw(o))
        settled = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
    assert settled.status == "completed"
    assert sb.stats.completions_applied == {o.key: 1}
    drop = next(r for r in sb.stats.snapshot() if r.method == "POST")
    assert drop.status is None and drop.fault == "drop_after_apply"


async def test_drop_before_apply_is_in_doubt_and_was_not_applied(served_sandbox):
    sb = served_sandbox.sandbox
    sb.faults.drop_before_apply(1)
    o = sb.orders("assigned")[0]
    async with client_for(served_sandbox) as client:
        with pytest.raises(E.OutcomeInDoubt):
            await client.complete_order(o.handle, **_kw(o))
        settled = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
    assert settled.status != "completed" and not sb.stats.completions_applied


async def test_a_dropped_connection_is_not_a_500_on_the_wire(served_sandbox):
    sb = served_sandbox.sandbox
    sb.faults.drop_after_apply(1)
    o = sb.orders("assigned")[0]
    auth = (sb.credentials.account_id, sb.credentials.secret_key.get_secret_value())
    async with httpx.AsyncClient(base_url=served_sandbox.base_url, auth=auth) as http:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await http.post(order_path(o.handle, "complete"), params=_kw(o), json={})
        r = await http.get(order_path(o.handle), params={"fulfillment_attempt": o.attempt})
    assert r.status_code == 200 and r.json()["status"] == "completed"  # the server is still fine


async def test_429_with_retry_after_is_waited_out_then_retried(served_sandbox):
    sb = served_sandbox.sandbox
    sb.faults.rate_limit(1, retry_after=3)
    sleeps: list[float] = []
    async with client_for(served_sandbox, sleeps) as client:
        orders = await client.list_orders(limit=1000)
    assert len(orders) == 300
    assert len(sleeps) == 1 and sleeps[0] >= 3
    assert [r.status for r in sb.stats.snapshot()] == [429, 200]


async def test_5xx_on_get_is_retried_but_a_post_never_is(served_sandbox):
    sb = served_sandbox.sandbox
    o = sb.orders("assigned")[0]
    sb.faults.script("GET", o.handle, ["502", "503", "ok"])
    sb.faults.script("POST", o.handle, ["503"])
    sleeps: list[float] = []
    async with client_for(served_sandbox, sleeps) as client:
        got = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
        assert got.order_handle == o.handle
        with pytest.raises(E.ServerError) as info:
            await client.complete_order(o.handle, **_kw(o))
    assert info.value.status_code == 503
    assert len(sleeps) == 2
    assert sb.stats.count("GET", handle=o.handle) == 3
    assert sb.stats.count("POST", handle=o.handle) == 1 and not sb.stats.completions_applied


async def test_gateway_504_after_apply_is_a_server_error_that_may_have_applied(served_sandbox):
    sb = served_sandbox.sandbox
    sb.faults.gateway_timeout_after_apply(1)
    o = sb.orders("dispatched")[0]
    async with client_for(served_sandbox) as client:
        with pytest.raises(E.ServerError) as info:
            await client.complete_order(o.handle, **_kw(o))
    assert info.value.status_code == 504 and info.value.may_have_applied
    assert sb.stats.completions_applied == {o.key: 1}


@pytest.mark.parametrize("handle, raw", [
    ("ACME/PO-1", "/orders/ACME%2FPO-1"), ("what?now", "/orders/what%3Fnow"), ("PO#7", "/orders/PO%237"),
    ("a%2Fb", "/orders/a%252Fb"),
])
async def test_odd_handles_reach_exactly_their_order_on_a_real_server(served_sandbox, handle, raw):
    sb = served_sandbox.sandbox
    decoy_a = sb.add_order("ACME", status="assigned")
    decoy_b = sb.add_order("a/b", status="assigned")
    target = sb.add_order(handle, status="ongoing")
    async with client_for(served_sandbox) as client:
        got = await client.get_order(handle)
        done = await client.complete_order(handle, type="drop")
    assert got.order_handle == handle == done.order_handle
    assert sb.stats.completions_applied == {target.key: 1}
    assert decoy_a.status == decoy_b.status == "assigned"
    assert [r.raw_path for r in sb.stats.snapshot()] == [raw, raw + "/complete"]


# --------------------------------------------------------------------------- loopback means loopback


async def test_plain_http_to_localhost_reaches_the_sandbox(served_sandbox):
    sb = served_sandbox.sandbox
    port = httpx.URL(served_sandbox.base_url).port
    localhost = ServedSandbox(f"http://localhost:{port}", sb)
    o = sb.orders("ongoing")[0]
    async with client_for(localhost) as client:
        detail = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
        done = await client.complete(detail.ref)
    assert done.status == "completed"
    assert sb.stats.completions_applied == {o.key: 1}


def _non_loopback_address() -> str | None:
    """An address of this machine that is not loopback (where a server here can listen)."""
    import ipaddress
    import socket

    for destination in ("10.255.255.255", "192.0.2.1", "203.0.113.1"):
        # A UDP "connect" sends no packet: it only picks the route, and so the local address.
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.connect((destination, 9))
            except OSError:
                continue
            address = probe.getsockname()[0]
        if not ipaddress.ip_address(address).is_loopback:
            return address
    return None


class Recorder:
    """A TCP listener on ``address`` that records every byte any connection sends it."""

    def __init__(self, address: str) -> None:
        import socket
        import threading

        self.received = bytearray()
        self.connections = 0
        self.closed = threading.Event()
        self._sock = socket.create_server((address, 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            conn, _ = self._sock.accept()
        except OSError:
            return
        self.connections += 1
        conn.settimeout(5)
        with conn:
            try:
                while chunk := conn.recv(65536):
                    self.received.extend(chunk)
            except OSError:
                pass
        self.closed.set()

    def close(self) -> None:
        self._sock.close()


@pytest.mark.parametrize("action", ["complete", "get"])
async def test_localhost_resolving_elsewhere_is_refused_before_a_byte_is_sent(action, monkeypatch):
    """'localhost' is looked up like any name; when the answer is not a loopback address the
    connection made is closed before the request (and its Authorization header) is written."""
    import socket

    address = _non_loopback_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address to stand for a foreign host")
    recorder = Recorder(address)
    real = socket.getaddrinfo
    lookups: list[str] = []

    def resolve(host, *args, **kwargs):
        name = host.decode("ascii") if isinstance(host, bytes) else host  # anyio passes bytes
        lookups.append(name)
        return real(address if name == "localhost" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    sb = make_sandbox(orders=5)
    target = ServedSandbox(f"http://localhost:{recorder.port}", sb)
    try:
        async with client_for(target) as client:
            with pytest.raises(E.InvalidRequest) as info:
                if action == "complete":
                    await client.complete_order("ORD-1")
                else:
                    await client.get_order("ORD-1")
        assert recorder.closed.wait(5)
    finally:
        recorder.close()
    assert lookups == ["localhost"]
    assert recorder.connections == 1  # it did connect: the refusal is the peer check's
    assert bytes(recorder.received) == b""  # not a byte: no request line, no Authorization
    message = str(info.value)
    assert address in message and "not a loopback address" in message and "nothing was sent" in message
    assert sb.credentials.secret_key.get_secret_value() not in message
