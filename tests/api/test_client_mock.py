"""OrdersClient against an httpx.MockTransport: what goes on the wire (method, path, query, body,
auth), what comes back (a parsed order, or a declared error, never a false success), the size
cap with bounded memory, pagination, base-URL rules, and that the secret never leaks."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import sys
import traceback
import tracemalloc
import zlib

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from console.api import Credentials, OrdersClient, check_base_url
from console.api import errors as E
from console.api.client import BasicAuth
from console.api.models import OrderRef
from tests.support.api_mock import (
    ACCOUNT, SECRET, ChunkStream, Server, json_response, order_body, raw_response, sequence,
)

EXAMPLES = json.loads(open("/work/shared/docs/hypertrack-orders-examples.json").read())
DETAIL = EXAMPLES["order_detail_completed"]


def completed(handle: str = "h-1", **fields) -> httpx.Response:
    return json_response(order_body(handle, "completed", **fields))


# --------------------------------------------------------------------------- complete_order


async def test_complete_sends_one_post_with_an_empty_json_object():
    server = Server(lambda r: completed("ORD-1"))
    async with server.client() as client:
        order = await client.complete_order("ORD-1")
    assert order.order_handle == "ORD-1" and order.status == "completed"
    [seen] = server.seen
    assert seen.method == "POST"
    assert seen.path == "/orders/ORD-1/complete"
    assert seen.query == b""  # no type/type_index/fulfillment_attempt unless given
    assert json.loads(seen.body) == {}
    assert seen.headers["content-type"] == "application/json"
    assert seen.headers["accept"] == "application/json"
    assert seen.url.host == "api.mock.test" and seen.url.scheme == "https"


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({"type": "drop"}, {"type": "drop"}),
        ({"type_index": 0}, {"type_index": "0"}),
        ({"fulfillment_attempt": 0}, {"fulfillment_attempt": "0"}),
        ({"type": "pick", "type_index": 2, "fulfillment_attempt": 1},
         {"type": "pick", "type_index": "2", "fulfillment_attempt": "1"}),
        ({"type": None, "type_index": None, "fulfillment_attempt": None}, {}),
    ],
)
async def test_complete_sends_only_the_query_parameters_given(kwargs, query):
    server = Server(lambda r: completed())
    async with server.client() as client:
        await client.complete_order("h-1", **kwargs)
    assert server.seen[0].params == query


async def test_the_documented_complete_request_is_reproduced():
    example = EXAMPLES["complete_order_request"]
    server = Server(lambda r: json_response({**DETAIL}))
    async with server.client(base_url="https://v3.api.hypertrack.com") as client:
        order = await client.complete_order("ORD-20250314-0042", type="drop", type_index=0, fulfillment_attempt=0)
    seen = server.seen[0]
    assert str(seen.url) == example["url"]
    assert json.loads(seen.body) == example["body"]
    assert order.completed_at is not None


async def test_complete_by_ref_and_cancel():
    server = Server(lambda r: completed("h-1") if r.url.path.endswith("/complete")
                    else json_response(order_body("h-1", "cancelled")))
    async with server.client() as client:
        await client.complete(OrderRef("h-1", "pick", 1, 2))
        cancelled = await client.cancel_order("h-1", fulfillment_attempt=3)
    assert server.seen[0].params == {"type": "pick", "type_index": "1", "fulfillment_attempt": "2"}
    assert server.seen[1].path == "/orders/h-1/cancel" and server.seen[1].params == {"fulfillment_attempt": "3"}
    assert json.loads(server.seen[1].body) == {}
    assert cancelled.status == "cancelled"


async def test_complete_summary_sends_the_same_request_and_reads_the_documented_answer():
    example = EXAMPLES["complete_order_request"]
    server = Server(lambda r: json_response({**DETAIL}))
    ref = OrderRef("ORD-20250314-0042", "drop", 0, 0)
    async with server.client(base_url="https://v3.api.hypertrack.com") as client:
        summary = await client.complete_summary(ref)
        order = await client.complete(ref)
    first, second = server.seen
    assert str(first.url) == example["url"] == str(second.url)
    assert json.loads(first.body) == example["body"] == json.loads(second.body)
    assert (summary.ref, summary.status, summary.completed_at) == (order.ref, order.status, order.completed_at)
    assert summary.completed_at is not None


@pytest.mark.parametrize(
    "kwargs",
    [{"type": "PICK"}, {"type": "delivery"}, {"type": ""}, {"type": 1}, {"type": "pick\x1b"},
     {"type_index": -1}, {"type_index": 1.5}, {"type_index": "1"}, {"type_index": True},
     {"fulfillment_attempt": -1}, {"fulfillment_attempt": "0"}, {"fulfillment_attempt": False},
     {"fulfillment_attempt": 2.0}],
)
async def test_invalid_parameters_are_refused_before_anything_is_sent(kwargs):
    server = Server()
    async with server.client() as client:
        with pytest.raises(E.InvalidRequest) as info:
            await client.complete_order("h-1", **kwargs)
        with pytest.raises(E.InvalidRequest):
            await client.cancel_order("h-1", **kwargs)
    assert server.count == 0
    assert not info.value.may_have_applied
    assert "\x1b" not in str(info.value)


@pytest.mark.parametrize(
    "response",
    [
        completed("h-2"),  # another order
        completed("H-1"),
        completed("h-1 "),
        json_response(order_body("h-1", "ongoing")),
        json_response(order_body("h-1", "cancelled")),
        json_response(order_body("h-1", "Completed")),
        json_response({"status": "completed"}),
        json_response({"order_handle": "h-1"}),
        json_response({"order_handle": "h-1", "status": None}),
        json_response({}),
        json_response([order_body("h-1")]),
        json_response({"order": order_body("h-1")}),
        raw_response(b"<html><body>Completed!</body></html>", 200, {"content-type": "text/html"}),
        raw_response(b"", 200),
        raw_response(b'{"order_handle": "h-1", "status": "completed"', 200),  # truncated
        raw_response(b'{"order_handle": "h-1", "status": "completed", "distance": NaN}', 200),
        raw_response(b'{"order_handle": "h-1", "status": "completed", "x": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
        raw_response(b'{"order_handle": "h-2", "status": "completed", "order_handle": "h-3"}'),
        raw_response(b"\xef\xbb\xbf" + json.dumps(order_body("h-1")).encode()),  # a BOM
        httpx.Response(204),
    ],
    ids=lambda r: f"{r.status_code}:{r.content[:40]!r}",
)
async def test_a_200_that_does_not_prove_completion_is_malformed_never_success(response):
    server = Server(sequence(response))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse) as info:
            await client.complete_order("h-1")
    err = info.value
    assert err.may_have_applied  # it may well have been applied: settle with a GET
    assert err.status_code == response.status_code
    assert "\x1b" not in str(err)
    assert server.count == 1


async def test_a_hostile_echoed_handle_is_escaped_in_the_anomaly():
    server = Server(lambda r: completed("h-2\x1b]0;pwned\x07", **{}))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse) as info:
            await client.complete_order("h-1")
    assert "h-2\\x1b]0;pwned\\x07" in str(info.value)


async def test_get_order_checks_the_echoed_handle_too():
    server = Server(lambda r: json_response(order_body("other", "ongoing")))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse):
            await client.get_order("h-1")
    assert server.count == 1  # a malformed answer is not retried


async def test_get_order_returns_the_full_detail():
    server = Server(lambda r: json_response(DETAIL))
    async with server.client() as client:
        order = await client.get_order("ORD-20250314-0042", fulfillment_attempt=0)
    assert server.seen[0].method == "GET"
    assert server.seen[0].path == "/orders/ORD-20250314-0042"
    assert server.seen[0].params == {"fulfillment_attempt": "0"}
    assert server.seen[0].body == b""
    assert len(order.timeline) == len(DETAIL["timeline"])


# --------------------------------------------------------------------------- size cap

CAP = 64 * 1024


def big_order_bytes(size: int) -> bytes:
    return json.dumps(order_body("h-1", metadata={"pad": "x" * size})).encode()


async def test_a_body_declared_over_the_cap_is_refused_before_reading():
    stream = ChunkStream([big_order_bytes(CAP * 4)])
    server = Server(lambda r: httpx.Response(200, stream=stream, headers={"content-length": str(CAP * 4 + 60)}))
    async with server.client(max_response_bytes=CAP) as client:
        with pytest.raises(E.ResponseTooLarge) as info:
            await client.complete_order("h-1")
    assert info.value.may_have_applied
    assert stream.bytes_sent == 0  # not one byte was read


async def test_a_streamed_body_without_length_is_cut_at_the_cap():
    chunk = b" " * 4096
    stream = ChunkStream(chunk for _ in range(10_000))  # 40 MB if read to the end
    server = Server(lambda r: httpx.Response(200, stream=stream))
    async with server.client(max_response_bytes=CAP) as client:
        with pytest.raises(E.ResponseTooLarge):
            await client.complete_order("h-1")
    assert stream.bytes_sent <= CAP + len(chunk)  # stopped reading at the cap


async def test_a_body_just_under_the_cap_is_fine():
    body = big_order_bytes(CAP - 200)
    assert len(body) <= CAP
    server = Server(lambda r: httpx.Response(200, stream=ChunkStream([body[:1000], body[1000:]])))
    async with server.client(max_response_bytes=CAP) as client:
        order = await client.complete_order("h-1")
    assert len(order.metadata["pad"]) == CAP - 200


def gzip_bomb(decoded_size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"0" * (1 << 20)
    parts = [compressor.compress(block) for _ in range(decoded_size // len(block))]
    return b"".join(parts) + compressor.flush()


async def test_a_gzip_bomb_is_stopped_at_the_cap_with_bounded_memory():
    bomb = gzip_bomb(64 * 1024 * 1024)  # 64 MB of zeros in ~64 KB
    assert len(bomb) < 200_000
    stream = ChunkStream([bomb[i:i + 16384] for i in range(0, len(bomb), 16384)])
    server = Server(lambda r: httpx.Response(200, stream=stream, headers={"content-encoding": "gzip"}))
    async with server.client(max_response_bytes=1024 * 1024) as client:
        tracemalloc.start()
        try:
            with pytest.raises(E.ResponseTooLarge):
                await client.complete_order("h-1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB while inflating"
    assert server.seen[0].headers["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("encoding", ["gzip", "x-gzip", "deflate", "deflate-raw", "identity"])
async def test_compressed_bodies_are_decoded(encoding):
    body = json.dumps(order_body("h-1", metadata={"k": "v" * 5000})).encode()
    if encoding in ("gzip", "x-gzip"):
        body = gzip.compress(body)
    elif encoding == "deflate":
        body = zlib.compress(body)
    elif encoding == "deflate-raw":
        c = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        body, encoding = c.compress(body) + c.flush(), "deflate"
    chunks = [body[i:i + 100] for i in range(0, len(body), 100)]
    server = Server(lambda r: httpx.Response(200, stream=ChunkStream(chunks), headers={"content-encoding": encoding}))
    async with server.client() as client:
        order = await client.complete_order("h-1")
    assert order.metadata == {"k": "v" * 5000}


@pytest.mark.parametrize(("encoding", "body"), [("br", b"\x1b\x00"), ("zstd", b"(\xb5/\xfd"),
                                                ("gzip, gzip", b""), ("gzip", b"not gzip at all")])
async def test_unreadable_encodings_are_malformed(encoding, body):
    server = Server(lambda r: httpx.Response(200, stream=ChunkStream([body]), headers={"content-encoding": encoding}))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse):
            await client.complete_order("h-1")


async def test_an_unreadable_error_body_keeps_its_status():
    server = Server(lambda r: httpx.Response(404, stream=ChunkStream([b"garbage"]), headers={"content-encoding": "br"}))
    async with server.client() as client:
        with pytest.raises(E.NotFoundError):
            await client.complete_order("h-1")


async def test_a_slow_drip_ends_in_doubt_at_the_attempt_deadline():
    class Drip(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b'{"order_handle": "h-1",'
            await asyncio.Event().wait()  # never finishes on its own
            yield b""

    server = Server(lambda r: httpx.Response(200, stream=Drip()))
    async with server.client(attempt_timeout=0.05) as client:
        with pytest.raises(E.OutcomeInDoubt) as info:
            await client.complete_order("h-1")
    assert info.value.may_have_applied and server.count == 1


# --------------------------------------------------------------------------- list_orders


def page(handles, token):
    body = {"orders": [order_body(h, "ongoing") for h in handles]}
    if token is not ...:
        body["pagination_token"] = token
    return json_response(body)


async def test_list_orders_follows_every_page_until_the_token_is_null():
    pages = {None: page(["a", "b"], "t1"), "t1": page(["c"], "t2"), "t2": page([], "t3"), "t3": page(["d"], None)}
    server = Server(lambda r: pages[r.url.params.get("pagination_token")])
    async with server.client() as client:
        orders = await client.list_orders(status=["ongoing", "assigned"], ops_group_handle="oak-depot")
    assert [o.order_handle for o in orders] == ["a", "b", "c", "d"]
    assert [s.params.get("pagination_token") for s in server.seen] == [None, "t1", "t2", "t3"]
    for seen in server.seen:  # the same filters on every page
        assert seen.method == "GET" and seen.path == "/orders/"
        assert seen.params["status"] == "ongoing,assigned"
        assert seen.params["ops_group_handle"] == "oak-depot"
        assert seen.params["limit"] == "100"


@pytest.mark.parametrize("last", [None, ..., ""], ids=["null", "missing", "empty"])
async def test_a_missing_or_empty_token_ends_the_listing(last):
    server = Server(sequence(page(["a"], "t1"), page(["b"], last)))
    async with server.client() as client:
        orders = await client.list_orders()
    assert [o.order_handle for o in orders] == ["a", "b"] and server.count == 2


async def test_the_documented_list_request_and_pages():
    example = EXAMPLES["list_orders_request"]
    server = Server(sequence(json_response(EXAMPLES["list_orders_response_page_1"]),
                             json_response(EXAMPLES["list_orders_response_last_page"])))
    async with server.client(base_url="https://v3.api.hypertrack.com") as client:
        orders = await client.list_orders(ops_group_handle="oak-depot", status="ongoing,assigned,completed",
                                          sort_direction="desc", limit=3)
    expected = dict(httpx.URL(example["url"]).params)
    expected.pop("scheduled_at_date")  # a date filter the client does not offer (yet)
    assert server.seen[0].params == expected
    assert len(orders) == 3
    assert server.seen[1].params["pagination_token"] == EXAMPLES["list_orders_response_page_1"]["pagination_token"]


async def test_filters_are_passed_and_validated():
    server = Server(sequence(page([], None)))
    async with server.client() as client:
        await client.list_orders(status="completed, cancelled", search_term="a&b=c", worker_handle="w 1",
                                 risk_status="true", limit=7, sort_direction="asc")
        for bad in ({"status": "dispatched,rescheduled"}, {"status": ["ongoing", "teleported"]}, {"limit": 0},
                    {"limit": True}, {"limit": "5"}, {"sort_direction": "up"}, {"search_term": 5}):
            with pytest.raises(E.InvalidRequest):
                await client.list_orders(**bad)
    assert server.count == 1
    assert server.seen[0].params == {"status": "completed,cancelled", "search_term": "a&b=c",
                                     "worker_handle": "w 1", "risk_status": "true", "limit": "7",
                                     "sort_direction": "asc"}


async def test_a_repeated_token_is_a_loop_and_stops():
    server = Server(sequence(page(["a"], "t1"), page(["b"], "t2"), page(["c"], "t1")))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse, match="loop"):
            await client.list_orders()
    assert server.count == 3


async def test_a_page_with_a_bad_order_reports_it_and_goes_on():
    bad = {"orders": [order_body("a", "ongoing"), {"order_handle": "b\x1b[2J", "status": None}],
           "pagination_token": None}
    server = Server(sequence(json_response(bad)))
    async with server.client() as client:
        pages = [p async for p in client.iter_pages()]
    assert [o.order_handle for o in pages[0].orders] == ["a"]
    assert pages[0].skipped == ["b\\x1b[2J: 1 invalid field(s)"]


@pytest.mark.parametrize("body", [b"<html>", b"[]", b'{"orders": 5}', b'{"pagination_token": 7}'])
async def test_a_page_that_is_not_a_page_is_malformed(body):
    server = Server(sequence(raw_response(body)))
    async with server.client() as client:
        with pytest.raises(E.MalformedResponse):
            await client.list_orders()


# --------------------------------------------------------------------------- base URL


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8000", "http://localhost:8000", "http://[::1]:8000", "http://127.0.0.2",
     "https://v3.api.hypertrack.com", "https://example.com/base/", "HTTPS://Example.COM"],
)
def test_allowed_base_urls(url):
    assert check_base_url(url) == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    ["http://v3.api.hypertrack.com", "http://example.com", "http://10.0.0.1", "http://localhost.evil.com",
     "http://127.0.0.1.nip.io", "ftp://127.0.0.1", "127.0.0.1:8000", "https://", "",
     "https://user:pass@v3.api.hypertrack.com", "https://acct@v3.api.hypertrack.com",
     "http://user:pw@127.0.0.1", "https://:pw@host.test", "https://host.test/?x=1", "https://host.test/#f",
     "http://127.0.0.1:80\\@evil.com/"],
)
def test_refused_base_urls(url):
    with pytest.raises(E.InvalidRequest) as info:
        check_base_url(url)
    assert "pass" not in str(info.value) and "pw" not in str(info.value)
    with pytest.raises(E.InvalidRequest):
        OrdersClient(None, base_url=url)


# --------------------------------------------------------------------------- credentials and leaks

B64_TOKEN = base64.b64encode(f"{ACCOUNT}:{SECRET}".encode()).decode()
SECRET_FORMS = [SECRET, B64_TOKEN, base64.b64encode(SECRET.encode()).decode(), f"Basic {B64_TOKEN}"]


def leaks(text: str) -> list[str]:
    return [form for form in SECRET_FORMS if form in text]


async def test_basic_auth_header_is_right_on_every_request():
    server = Server(sequence(page(["a"], "t"), page([], None)))
    async with server.client() as client:
        await client.list_orders()
    for seen in server.seen:
        scheme, _, token = seen.headers["authorization"].partition(" ")
        assert scheme == "Basic"
        assert base64.b64decode(token).decode() == f"{ACCOUNT}:{SECRET}"


async def test_no_credentials_means_no_authorization_header():
    server = Server(sequence(page([], None)))
    async with server.client(credentials=None) as client:
        await client.list_orders()
    assert "authorization" not in server.seen[0].headers


def test_the_secret_is_not_in_any_repr():
    creds = Credentials(ACCOUNT, SecretStr(SECRET))
    client = OrdersClient(creds, base_url="https://api.mock.test")
    for text in (repr(creds), str(creds), repr(client), str(client), repr(BasicAuth(creds)),
                 repr(creds.basic_value()), str(creds.basic_value()), repr(vars(client)), f"{creds!r} {client}"):
        assert leaks(text) == [], text
    assert ACCOUNT in repr(client)  # the account id is not secret, and helps


def format_with_locals(exc: BaseException) -> str:
    """What a crash reporter that prints local variables would print, causes and contexts too."""
    text = "".join(traceback.TracebackException(type(exc), exc, exc.__traceback__, capture_locals=True).format())
    seen = set()
    while exc is not None and id(exc) not in seen:  # contexts suppressed by "from None" as well
        seen.add(id(exc))
        inner = exc.__cause__ or exc.__context__
        if inner is not None:
            text += "".join(traceback.TracebackException(type(inner), inner, inner.__traceback__,
                                                         capture_locals=True).format())
        exc = inner
    return text


@pytest.mark.parametrize(
    "failure",
    [RuntimeError("bug in the transport"), httpx.ReadTimeout("lost"), httpx.ConnectError("refused"),
     httpx.RemoteProtocolError("dropped"), json_response({"message": "bad credentials"}, 401),
     json_response({"message": "boom"}, 500), raw_response(b"<html>", 200), completed("other")],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"http{f.status_code}",
)
@pytest.mark.parametrize("call", ["complete", "get", "list"])
async def test_the_secret_is_not_in_an_error_or_its_traceback_with_locals(failure, call):
    if call == "list" and isinstance(failure, httpx.Response) and failure.status_code == 200:
        failure = json_response({"orders": 5})  # an order object is a valid (empty) page

    def handler(request):
        # Deliberately no local holding the header: this frame is in the traceback too.
        if isinstance(failure, Exception):
            raise type(failure)(*failure.args)
        return httpx.Response(failure.status_code, headers=failure.headers, content=failure.content)

    server = Server(handler)
    client = server.client(max_attempts=2)
    try:
        if call == "complete":
            await client.complete_order("h-1")
        elif call == "get":
            await client.get_order("h-1")
        else:
            await client.list_orders()
    except Exception:
        exc_type, exc, tb = sys.exc_info()
        report = format_with_locals(exc)
        plain = traceback.format_exc()
    else:
        pytest.fail("no error")
    finally:
        await client.aclose()
    assert "authorization" in server.seen[0].headers  # the secret really was in play
    assert "Traceback" in plain and len(report) > len(plain)
    assert leaks(str(exc)) == [] and leaks(repr(exc)) == []
    assert leaks(plain) == []
    assert leaks(report) == [], "the secret is in a traceback with locals"
    assert leaks(repr(getattr(exc, "__dict__", {}))) == []


async def test_a_server_echoing_the_credentials_in_an_error_is_still_escaped_text():
    # The server is free to say anything; what we add ourselves must never hold the secret.
    server = Server(lambda r: json_response({"message": "bad"}, 401))
    async with server.client() as client:
        with pytest.raises(E.AuthenticationError) as info:
            await client.complete_order("h-1")
    assert leaks(format_with_locals(info.value)) == []


def test_the_leak_check_does_see_locals_and_both_forms():
    # The oracle above is only worth something if a secret held in a local would be caught.
    def leaky():
        token = f"Basic {B64_TOKEN}"  # noqa: F841 - the local is the point
        raise RuntimeError("boom")

    try:
        leaky()
    except RuntimeError as exc:
        found = leaks(format_with_locals(exc))
    assert B64_TOKEN in found and f"Basic {B64_TOKEN}" in found
    assert leaks(f"x{SECRET}x") == [SECRET]


@pytest.mark.parametrize(
    ("base_url", "prefix"),
    [("https://api.mock.test/v3/", b"/v3"), ("https://api.mock.test/p%C3%A4th", b"/p%C3%A4th"),
     ("https://api.mock.test/päth", b"/p%C3%A4th"), ("https://api.mock.test/a%20b/", b"/a%20b")],
)
async def test_a_base_path_is_kept_and_checked_as_sent(base_url, prefix):
    server = Server(lambda r: completed("a/b"))
    async with server.client(base_url=base_url) as client:
        await client.complete_order("a/b")
    assert server.seen[0].raw_path == prefix + b"/orders/a%2Fb/complete"


async def test_a_non_ascii_content_length_is_ignored_not_a_crash():
    body = json.dumps(order_body("h-1")).encode()
    server = Server(lambda r: httpx.Response(200, stream=ChunkStream([body]),
                                             headers=[(b"content-length", b"\xb2")]))  # "²"
    async with server.client() as client:
        order = await client.complete_order("h-1")
    assert order.status == "completed"


# --------------------------------------------------------------------------- anything the server says

header_bytes = st.one_of(st.binary(max_size=30).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
                         st.sampled_from([b"5", b"0", b"\xb2", b"-1", b"1e9", b"Wed, 21 Oct 2015 07:28:00 GMT",
                                          b"gzip", b"deflate", b"br", b"identity", b"99999999999"]))
bodies = st.one_of(
    st.sampled_from([json.dumps(order_body("h-1")).encode(), json.dumps(order_body("h-2")).encode(),
                     json.dumps(DETAIL).encode(), b"", b"null", b"<html>", b"[" * 3000,
                     b'{"order_handle": "h-1", "status": "completed", "distance": NaN}',
                     gzip.compress(json.dumps(order_body("h-1")).encode())]),
    st.binary(max_size=200),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.one_of(st.sampled_from([200, 201, 204, 301, 307, 400, 401, 404, 409, 422, 429, 500, 504]),
                     st.integers(200, 599)),
    headers=st.lists(st.tuples(st.sampled_from([b"retry-after", b"content-length", b"content-encoding",
                                                b"apigw-requestid", b"location", b"content-type"]),
                               header_bytes), max_size=4),
    body=bodies,
    chunk=st.integers(1, 64),
)
def test_whatever_the_server_answers_only_declared_errors_or_a_true_completion(status, headers, body, chunk):
    chunks = [body[i:i + chunk] for i in range(0, len(body), chunk)]
    server = Server(lambda r: httpx.Response(status, headers=headers, stream=ChunkStream(chunks)))

    async def run():
        async with server.client(max_response_bytes=4096) as client:
            return await client.complete_order("h-1")

    try:
        order = asyncio.run(run())
    except E.HyperTrackError as err:
        assert "\x1b" not in str(err)
    else:
        assert 200 <= status < 300
        assert (order.order_handle, order.status) == ("h-1", "completed")
    assert server.count == 1
