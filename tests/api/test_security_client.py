"""Hostile and malformed API responses, through the real OrdersClient (an httpx MockTransport
serves crafted bytes): every string comes out sanitized, every bad body is a declared error, and
a complete is never reported as done unless the server said so for exactly that order."""

from __future__ import annotations

import gzip
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from console.api import Credentials, OrdersClient
from console.api import errors as E
from console.api.models import OrderRef, UnknownEvent
from console.api.retry import Backoff
from tests.support.hostile import (
    BAD_HANDLES,
    COMBINED,
    FAKE_ACCOUNT,
    FAKE_SECRET,
    HOSTILE,
    HUGE_INT,
    SHORT_HOSTILE,
    assert_no_raw_controls,
    find_leaks,
    hostile_order,
    shown,
)

BASE = "http://127.0.0.1:8999"


class Crafted:
    """A MockTransport that answers each request with whatever the test scripted, and records
    every request it received (method, host, raw path, headers)."""

    def __init__(self, respond: Callable[[httpx.Request], httpx.Response]) -> None:
        self.respond = respond
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.respond(request)

    def client(self, **kwargs: Any) -> OrdersClient:
        kwargs.setdefault("get_backoff", Backoff(max_attempts=1))
        return OrdersClient(
            Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET)), base_url=BASE,
            transport=httpx.MockTransport(self), **kwargs,
        )


def json_response(body: Any, status: int = 200, **headers: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={
        "content-type": "application/json", **headers})


def raw_response(content: bytes, status: int = 200, content_type: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": content_type})


def walk_strings(value: Any, path: str = "") -> list[tuple[str, str]]:
    """Every (path, string) inside a dumped model, keys included."""
    out: list[tuple[str, str]] = []
    if isinstance(value, str):
        out.append((path, value))
    elif isinstance(value, dict):
        for k, v in value.items():
            if isinstance(k, str):
                out.append((f"{path}.<key>", k))
            out.extend(walk_strings(v, f"{path}.{k}"))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            out.extend(walk_strings(v, f"{path}[{i}]"))
    return out


# Fields the models deliberately keep raw: the handle (it addresses the order) and free-form
# JSON (metadata, unknown events). Display code must escape these itself; the UI tests check it.
RAW_BY_DESIGN = ("order_handle", "metadata", "raw", "risks", "pagination_token")


# --------------------------------------------------------------------------- hostile strings


@pytest.mark.parametrize("name", sorted(HOSTILE))
async def test_every_display_string_of_a_fetched_order_is_escaped(name):
    text = HOSTILE[name]
    fake = Crafted(lambda r: json_response(hostile_order("h-1", text)))
    async with fake.client() as client:
        order = await client.get_order("h-1")

    expected = shown(text)
    assert order.worker_handle == expected
    assert order.worker_name == expected
    assert order.ops_group_handle == expected
    assert order.destination.address == expected
    assert order.planning_failure_reason == expected
    assert order.region.city == expected
    assert order.product_type == [expected]
    unknown = [e for e in order.timeline if isinstance(e, UnknownEvent)]
    assert [e.type for e in unknown] == [expected]
    # Nothing outside the raw-by-design fields holds a raw control character.
    for path, value in walk_strings(order.model_dump(mode="python")):
        if not any(part in path for part in RAW_BY_DESIGN):
            assert_no_raw_controls(value, f"model field {path}")


@pytest.mark.parametrize("name", sorted(SHORT_HOSTILE))
async def test_a_listed_order_with_a_hostile_handle_is_kept_exact_but_displayed_escaped(name):
    handle = "h-" + SHORT_HOSTILE[name]
    page = {"orders": [hostile_order(handle, "x")], "pagination_token": None}
    fake = Crafted(lambda r: json_response(page))
    async with fake.client() as client:
        [order] = await client.list_orders(status="ongoing")
    assert order.order_handle == handle  # byte-exact: it addresses the order
    assert order.display_handle == shown(handle)
    assert_no_raw_controls(order.display_handle, "display handle")
    assert_no_raw_controls(order.ref.describe(), "OrderRef.describe()")


async def test_an_order_whose_handle_holds_controls_cannot_be_completed_and_nothing_is_sent():
    handle = "h-\x1b]0;pwned\x07"
    fake = Crafted(lambda r: json_response({"orders": [hostile_order(handle, "x")]}))
    async with fake.client() as client:
        [order] = await client.list_orders()
        with pytest.raises(E.InvalidHandle) as info:
            await client.complete(order.ref)
    assert [r.method for r in fake.requests] == ["GET"]
    assert_no_raw_controls(str(info.value), "error message")
    assert "\\x1b]0;pwned\\x07" in str(info.value)


@pytest.mark.parametrize("status,cls", [
    (404, E.NotFoundError), (409, E.ConflictError), (422, E.ValidationFailed),
    (400, E.UnexpectedStatus), (500, E.ServerError), (429, E.RateLimited), (401, E.AuthenticationError),
])
async def test_hostile_error_bodies_give_escaped_messages(status, cls):
    body = {"message": COMBINED, "detail": {"query": {COMBINED: [COMBINED, HOSTILE["log_injection"]]},
                                             "body": COMBINED}}
    fake = Crafted(lambda r: json_response(body, status))
    async with fake.client() as client:
        with pytest.raises(cls) as info:
            await client.complete_order("h-1")
    exc = info.value
    assert exc.status_code == status
    assert exc.api_message == shown(COMBINED)
    assert_no_raw_controls(str(exc), "exception text")
    assert "[/oops]" in str(exc) and "[@click=app.quit]q[/]" in str(exc)  # markup kept literally
    if cls is E.ValidationFailed:
        errors = exc.field_errors
        assert errors == {
            f"query.{shown(COMBINED)}": [shown(COMBINED), shown(HOSTILE["log_injection"])],
            "body": [shown(COMBINED)],
        }
        for key, messages in errors.items():
            assert "\n" not in key and all("\n" not in m for m in messages)


@pytest.mark.parametrize("status", [404, 409, 422, 500, 502])
@pytest.mark.parametrize("content,ctype", [
    (b"<html><body><h1>502 Bad Gateway</h1>\x1b[2J</body></html>", "text/html"),
    (b"", "application/json"),
    (b'{"message": "trunc', "application/json"),
    (b'["not", "an", "object"]', "application/json"),
    (b'{"message": 12, "detail": [1, 2]}', "application/json"),
    (b"\xff\xfe\x00garbage", "application/octet-stream"),
    (b'{"message": {"a":' * 3000 + b"1" + b"}" * 3000, "application/json"),
])
async def test_unusual_error_bodies_keep_the_status_and_never_crash(status, content, ctype):
    fake = Crafted(lambda r: raw_response(content, status, ctype))
    async with fake.client() as client:
        with pytest.raises(E.APIStatusError) as info:
            await client.complete_order("h-1")
    assert info.value.status_code == status
    assert str(info.value).startswith(f"HTTP {status}")
    assert_no_raw_controls(str(info.value), "exception text")


# --------------------------------------------------------------------------- malformed 2xx bodies

DEEP_OBJECT = b'{"order_handle":"h-1","status":"completed","metadata":' + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"
DEEP_LIST = b"[" * 5000 + b"]" * 5000

MALFORMED_200 = {
    "html": (b"<!DOCTYPE html><html><body>Welcome</body></html>", "text/html"),
    "empty": (b"", "application/json"),
    "truncated": (b'{"order_handle": "h-1", "status": "compl', "application/json"),
    "handle_is_number": (b'{"order_handle": 123, "status": "completed"}', "application/json"),
    "status_null": (b'{"order_handle": "h-1", "status": null}', "application/json"),
    "handle_missing": (b'{"status": "completed"}', "application/json"),
    "array": (b'[{"order_handle": "h-1", "status": "completed"}]', "application/json"),
    "string": (b'"completed"', "application/json"),
    "null": (b"null", "application/json"),
    "deep_object": (DEEP_OBJECT, "application/json"),
    "deep_list": (DEEP_LIST, "application/json"),
    "nan": (b'{"order_handle": "h-1", "status": "completed", "distance": NaN}', "application/json"),
    "infinity": (b'{"order_handle": "h-1", "status": "completed", "duration": -Infinity}', "application/json"),
    "huge_integer": (b'{"order_handle": "h-1", "status": "completed", "distance": ' + b"9" * 5000 + b"}",
                     "application/json"),
    "wrong_handle": (b'{"order_handle": "h-2", "status": "completed"}', "application/json"),
    "handle_differs_by_case": (b'{"order_handle": "H-1", "status": "completed"}', "application/json"),
    "handle_with_trailing_space": (b'{"order_handle": "h-1 ", "status": "completed"}', "application/json"),
    "not_utf8": (b'{"order_handle": "h-1", "status": "completed\xff"}', "application/json"),
    "bom_prefixed": (b'\xef\xbb\xbf{"order_handle": "h-1", "status": "completed"}', "application/json"),
    "trailing_garbage": (b'{"order_handle": "h-1", "status": "completed"} {"x": 1}', "application/json"),
}


#: The two ways to complete one order: the full answer (the console's complete key), and the
#: answer read as a list summary (the bulk engine). Every check on the answer applies to both.
COMPLETERS: dict[str, Callable[[OrdersClient], Awaitable[Any]]] = {
    "complete_order": lambda client: client.complete_order("h-1"),
    "complete_summary": lambda client: client.complete_summary(OrderRef("h-1")),
}
completers = pytest.mark.parametrize("complete", sorted(COMPLETERS))


@completers
@pytest.mark.parametrize("name", sorted(MALFORMED_200))
async def test_a_malformed_200_to_complete_is_an_anomaly_never_a_completion(name, complete):
    content, ctype = MALFORMED_200[name]
    fake = Crafted(lambda r: raw_response(content, 200, ctype))
    async with fake.client() as client:
        with pytest.raises(E.MalformedResponse) as info:
            await COMPLETERS[complete](client)
    # The caller must settle it with a GET, never count it as done or safely failed.
    assert info.value.may_have_applied is True
    assert_no_raw_controls(str(info.value), "exception text")
    assert [r.method for r in fake.requests] == ["POST"]  # never re-sent


@pytest.mark.parametrize("name", sorted(MALFORMED_200))
async def test_a_malformed_200_to_get_order_is_a_declared_error(name):
    content, ctype = MALFORMED_200[name]
    fake = Crafted(lambda r: raw_response(content, 200, ctype))
    async with fake.client() as client:
        with pytest.raises(E.MalformedResponse):
            await client.get_order("h-1")


@completers
@pytest.mark.parametrize("reported", ["ongoing", "cancelled", "exploded", "COMPLETED", "completed\x1b[2J", ""])
async def test_complete_answered_with_another_status_is_an_anomaly(reported, complete):
    fake = Crafted(lambda r: json_response({"order_handle": "h-1", "status": reported}))
    async with fake.client() as client:
        with pytest.raises(E.MalformedResponse) as info:
            await COMPLETERS[complete](client)
    assert info.value.may_have_applied
    assert_no_raw_controls(str(info.value), "exception text")


@pytest.mark.parametrize("body", [
    # The last key wins in most parsers (and in pydantic), the first in others: a proxy or log
    # could have read "h-2". An ambiguous echo is not proof that *this* order was completed.
    b'{"order_handle": "h-2", "order_handle": "h-1", "status": "completed"}',
    b'{"order_handle": "h-1", "status": "cancelled", "status": "completed"}',
    b'{"order_handle": "h-1", "order_handle": "h-2", "status": "completed"}',
    # Nested objects too: the address shown for the completed order is ambiguous.
    b'{"order_handle": "h-1", "status": "completed", "destination": {"address": "A St", "address": "B St"}}',
])
@completers
async def test_complete_echo_with_duplicate_keys_is_an_anomaly(body, complete):
    fake = Crafted(lambda r: raw_response(body))
    async with fake.client() as client:
        with pytest.raises(E.MalformedResponse):
            await COMPLETERS[complete](client)


async def test_unknown_enum_values_and_fields_are_shown_not_fatal():
    body = hostile_order("h-1", "x", status="teleported", type="hover", priority="ludicrous",
                         brand_new_field={"a": [1, 2]}, risks={"is_offline": "purple", "new_risk": "red"})
    body["timeline"].append({"type": "order_teleported", "recorded_at": "not a time", "x": 1})
    body["timeline"].append({"type": "order_completed", "recorded_at": 12, "fulfillment_attempt": "x"})
    body["timeline"].append("not an object")
    fake = Crafted(lambda r: json_response(body))
    async with fake.client() as client:
        order = await client.get_order("h-1")
    assert order.status == "teleported"
    assert order.model_extra["brand_new_field"] == {"a": [1, 2]}
    assert len(order.timeline) == len(body["timeline"])  # nothing dropped
    assert not order.is_terminal


async def test_huge_integers_parse_and_are_left_for_display_to_handle():
    # Models accept a 401-digit integer (valid JSON, finite). The UI tests check it is displayed
    # without an OverflowError; here: the client passes it through rather than crashing.
    body = hostile_order("h-1", "x", distance=HUGE_INT, duration=HUGE_INT, fulfillment_attempt=HUGE_INT)
    fake = Crafted(lambda r: json_response(body))
    async with fake.client() as client:
        order = await client.get_order("h-1")
    assert order.distance == HUGE_INT


# --------------------------------------------------------------------------- size cap


@pytest.mark.parametrize("how", ["content_length", "chunked", "gzip_bomb"])
async def test_a_body_over_the_size_cap_is_refused(how):
    cap = 64 * 1024
    big = b'{"order_handle": "h-1", "status": "completed", "pad": "' + b"x" * (cap * 4) + b'"}'

    def respond(request: httpx.Request) -> httpx.Response:
        if how == "content_length":
            return raw_response(big)
        if how == "chunked":
            async def chunks():
                for i in range(0, len(big), 4096):
                    yield big[i:i + 4096]
            return httpx.Response(200, content=chunks(), headers={"content-type": "application/json"})
        compressed = gzip.compress(big)
        assert len(compressed) < cap  # the bomb is small on the wire
        return httpx.Response(200, content=compressed, headers={
            "content-type": "application/json", "content-encoding": "gzip"})

    fake = Crafted(respond)
    async with fake.client(max_response_bytes=cap) as client:
        with pytest.raises(E.ResponseTooLarge) as info:
            await client.complete_order("h-1")
    assert info.value.may_have_applied


# --------------------------------------------------------------------------- redirects, hosts, proxies


@pytest.mark.parametrize("location", [
    "https://evil.example/steal",
    "//evil.example/orders/h-1/complete",
    # httpx cannot even parse this one: still an error that may have applied, never a follow.
    "https://evil.example/steal\x1b]0;x\x07",
])
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed_and_the_other_host_gets_nothing(status, location):
    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host == "127.0.0.1":
            return httpx.Response(status, headers={"location": location})
        return json_response({"order_handle": "h-1", "status": "completed"})

    fake = Crafted(respond)
    async with fake.client() as client:
        with pytest.raises((E.UnexpectedStatus, E.OutcomeInDoubt)) as info:
            await client.complete_order("h-1")
    assert [r.url.host for r in fake.requests] == ["127.0.0.1"]
    assert info.value.may_have_applied
    assert_no_raw_controls(str(info.value), "exception text")
    if "\x1b" not in location:
        assert isinstance(info.value, E.UnexpectedStatus)
        assert "not followed" in str(info.value)


@pytest.mark.parametrize("url", [
    "http://api.hypertrack.com",
    "http://example.com:80",
    "http://127.0.0.1.evil.example",
    "http://localhost.evil.example",
    "http://localhost@evil.example",
    "http://user:pw@127.0.0.1",
    "http://0x7f000001",
    "http://[::ffff:8.8.8.8]",
    "ftp://127.0.0.1",
    "file:///etc/passwd",
    "127.0.0.1:8000",
    "https://",
    "https://v3.api.hypertrack.com/?x=1",
    "https://v3.api.hypertrack.com/#frag",
])
def test_unsafe_base_urls_are_refused(url):
    with pytest.raises(E.InvalidRequest) as info:
        OrdersClient(Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET)), base_url=url)
    assert not find_leaks(str(info.value))


@pytest.mark.parametrize("url", ["http://127.0.0.1:8000", "http://localhost:1", "http://[::1]:9", "https://v3.api.hypertrack.com"])
def test_accepted_base_urls_are_loopback_or_https_with_verification(url):
    client = OrdersClient(None, base_url=url)
    host = httpx.URL(client.base_url).host
    assert client.base_url.startswith("https://") or host in ("127.0.0.1", "localhost", "::1")
    pool = client._http._transport._pool
    import ssl
    assert pool._ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert pool._ssl_context.check_hostname is True
    assert client._http.follow_redirects is False
    assert client._http.trust_env is False


def test_no_code_path_turns_off_certificate_verification():
    from pathlib import Path

    import console

    root = Path(console.__file__).parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "sandbox" not in p.parts
                 and any(s in p.read_text() for s in ("verify=False", "CERT_NONE", "check_hostname = False"))]
    assert offenders == []


# --------------------------------------------------------------------------- handles


@pytest.mark.parametrize("name", sorted(BAD_HANDLES))
@pytest.mark.parametrize("op", ["get", "complete", "cancel"])
async def test_bad_handles_are_refused_before_anything_is_sent(name, op):
    handle = BAD_HANDLES[name]
    fake = Crafted(lambda r: json_response({"order_handle": handle, "status": "completed"}))
    async with fake.client() as client:
        call = {"get": client.get_order, "complete": client.complete_order, "cancel": client.cancel_order}[op]
        with pytest.raises(E.InvalidHandle) as info:
            await call(handle)
    assert fake.requests == []
    message = str(info.value)
    assert_no_raw_controls(message, "error message")
    assert len(message) < 300  # a 10,000-character handle is shortened in the message


async def test_a_pagination_token_cannot_inject_query_parameters():
    token = "t&status=completed&limit=1#frag \x1b[2J/../x"
    pages = iter([
        json_response({"orders": [hostile_order("h-1", "x")], "pagination_token": token}),
        json_response({"orders": [hostile_order("h-2", "x")], "pagination_token": None}),
    ])
    fake = Crafted(lambda r: next(pages))
    async with fake.client() as client:
        orders = await client.list_orders(status="ongoing")
    assert [o.order_handle for o in orders] == ["h-1", "h-2"]
    second = fake.requests[1]
    assert second.url.raw_path.split(b"?")[0] == b"/orders/"
    assert second.url.params.get_list("pagination_token") == [token]
    assert second.url.params.get_list("status") == ["ongoing"]
    assert "limit" not in dict(second.url.params) or second.url.params["limit"] != "1"


# --------------------------------------------------------------------------- loopback means loopback


@pytest.mark.parametrize("url", [
    "http://evil.localhost", "http://sandbox.localhost:8000", "http://a.b.localhost", "http://localhost.",
    "http://localhost.evil.com", "http://127.0.0.1.nip.io", "http://localhost.localdomain",
    "http://127.1", "http://2130706433", "http://[::ffff:127.0.0.1]",
])
def test_plain_http_to_a_loopback_looking_name_is_refused_before_any_lookup(url, monkeypatch):
    """Only a loopback IP literal or exactly 'localhost' may use plain http: any other name is
    refused from its spelling, without asking DNS (whose answer the name's owner controls)."""
    import socket

    lookups: list[object] = []
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: lookups.append(a) or [])
    monkeypatch.setattr(socket, "gethostbyname", lambda *a, **k: lookups.append(a) or "127.0.0.1")
    with pytest.raises(E.InvalidRequest) as info:
        OrdersClient(Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET)), base_url=url)
    assert "loopback" in str(info.value)
    assert lookups == []


@pytest.mark.parametrize("url", ["http://localhost", "http://LOCALHOST:8000", "http://127.0.0.1",
                                 "http://127.0.0.2:9", "http://127.255.255.254", "http://[::1]", "http://[::1]:8000"])
def test_plain_http_to_a_loopback_literal_or_localhost_is_accepted(url):
    client = OrdersClient(None, base_url=url)
    assert client.base_url == url.rstrip("/")


class _FakeStream:
    """Stands for the network stream httpcore hands its trace hook after connecting."""

    def __init__(self, server_addr: object) -> None:
        self.server_addr = server_addr
        self.closed = False

    def get_extra_info(self, name: str) -> object:
        return self.server_addr if name == "server_addr" else None

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("peer", [("127.0.0.1", 80), ("127.8.9.10", 80), ("::1", 80, 0, 0)])
async def test_the_peer_check_accepts_a_loopback_peer(peer):
    from console.api.client import require_loopback_peer

    stream = _FakeStream(peer)
    await require_loopback_peer("connection.connect_tcp.complete", {"return_value": stream})
    assert not stream.closed


@pytest.mark.parametrize("peer", [("10.0.0.5", 80), ("192.0.2.2", 8000), ("::ffff:127.0.0.1", 80, 0, 0),
                                  ("2001:db8::1", 80, 0, 0), None, (), "127.0.0.1"])
async def test_the_peer_check_closes_a_connection_to_anything_else(peer):
    from console.api.client import require_loopback_peer

    stream = _FakeStream(peer)
    with pytest.raises(E.InvalidRequest) as info:
        await require_loopback_peer("connection.connect_tcp.complete", {"return_value": stream})
    assert stream.closed
    assert "not a loopback address" in str(info.value) and "nothing was sent" in str(info.value)
    # Other trace events are not its business.
    await require_loopback_peer("http11.send_request_headers.started", {"request": None})
