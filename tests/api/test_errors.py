"""The exception tree, as the caller meets it: each status and each transport failure, through
the real OrdersClient and an httpx.MockTransport, becomes the declared error with the right
``may_have_applied``, and keeps the status, the API's message and detail, and the request id."""

from __future__ import annotations

import json
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest

from console.api import errors as E
from console.api.sanitize import has_unsafe_characters
from tests.support.api_mock import Server, json_response, order_body, raw_response

EXAMPLE_ERRORS = json.loads(open("/work/shared/docs/hypertrack-orders-examples.json").read())["errors"]


def error_response(status: int, message: str = "it went wrong", detail=None, headers=None) -> httpx.Response:
    body = {"detail": {} if detail is None else detail, "message": message}
    return json_response(body, status, {"apigw-requestid": "Ab3dEfGhIjKlM=", **(headers or {})})


async def complete_with(response: httpx.Response | BaseException, **client_kwargs):
    """complete_order("h-1") against a server answering with ``response``; returns (error, server)."""

    def handler(request):
        if isinstance(response, BaseException):
            raise response
        return response

    server = Server(handler)
    async with server.client(**client_kwargs) as client:
        with pytest.raises(E.HyperTrackError) as info:
            await client.complete_order("h-1")
    return info.value, server


# --------------------------------------------------------------------------- statuses

STATUS_CLASSES = [
    (400, E.UnexpectedStatus, False),  # a refusal: nothing applied
    (401, E.AuthenticationError, False),
    (403, E.AuthenticationError, False),
    (404, E.NotFoundError, False),
    (405, E.UnexpectedStatus, False),
    (409, E.ConflictError, False),
    (418, E.UnexpectedStatus, False),
    (422, E.ValidationFailed, False),
    (429, E.RateLimited, False),
    (500, E.ServerError, True),
    (502, E.ServerError, True),
    (503, E.ServerError, True),
    (504, E.ServerError, True),
    (599, E.ServerError, True),
]


@pytest.mark.parametrize(("status", "cls", "may_have_applied"), STATUS_CLASSES)
async def test_each_status_maps_to_its_error(status, cls, may_have_applied):
    detail = {"status": "completed", "note": "x"}
    err, server = await complete_with(error_response(status, f"message for {status}", detail))
    assert type(err) is cls
    assert isinstance(err, E.APIStatusError)
    assert err.status_code == status
    assert err.api_message == f"message for {status}"
    assert err.detail == detail
    assert err.request_id == "Ab3dEfGhIjKlM="
    assert (err.method, err.path) == ("POST", "/orders/h-1/complete")
    assert err.may_have_applied is may_have_applied
    assert str(err) == f"HTTP {status}: message for {status}"
    assert server.count == 1  # a POST is sent once, whatever the answer


async def test_the_401_example_body():
    raw = EXAMPLE_ERRORS["http_error_401"]
    err, _ = await complete_with(json_response(raw, 401))
    assert isinstance(err, E.AuthenticationError)
    assert err.api_message == raw["message"] and err.detail == {}


async def test_the_404_example_body():
    raw = EXAMPLE_ERRORS["http_error_404_order_not_found"]
    err, _ = await complete_with(json_response(raw, 404))
    assert isinstance(err, E.NotFoundError)
    assert err.api_message == "Order not found for handle ORD-20250314-9999"


async def test_the_409_already_terminal_example_body():
    raw = EXAMPLE_ERRORS["simulator_409_already_terminal"]
    err, _ = await complete_with(json_response(raw, 409))
    assert isinstance(err, E.ConflictError)
    assert err.detail == {"status": "completed", "completed_at": "2025-03-14T17:03:04.219Z"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("validation_error_422_query",
         {"query.limit": ["Not a valid integer."], "query.sort_direction": ["Must be one of: desc, asc."]}),
        ("validation_error_422_body", {"json.scheduled_at": ["Missing data for required field."]}),
    ],
)
async def test_422_flattens_the_per_field_messages(name, expected):
    raw = EXAMPLE_ERRORS[name]
    err, _ = await complete_with(json_response(raw, 422))
    assert isinstance(err, E.ValidationFailed)
    assert err.field_errors == expected
    assert err.api_message == "Request validation failed"


async def test_422_field_errors_of_odd_shapes_are_kept_and_escaped():
    detail = {"query": {"limit\x1b[2J": "not a list", "n": [1, None]}, "json": ["whole body bad"],
              "path": "bad handle", "empty": None}
    err, _ = await complete_with(json_response({"detail": detail, "message": "nope"}, 422))
    assert err.field_errors == {
        "query.limit\\x1b[2J": ["not a list"], "query.n": ["1", "None"],
        "json": ["whole body bad"], "path": ["bad handle"],
    }


@pytest.mark.parametrize("name", ["error_404_order_not_found_code_form", "error_400_ops_group_not_defined",
                                  "error_409_duplicate_order"])
async def test_the_code_title_error_shape_gives_its_title(name):
    raw = EXAMPLE_ERRORS[name]
    err, _ = await complete_with(json_response(raw, raw["_status"]))
    assert err.status_code == raw["_status"]
    assert err.api_message == raw["title"]
    assert err.detail == raw["detail"]


# --------------------------------------------------------------------------- Retry-After on 429 / 503


def http_date(delta_seconds: float) -> str:
    return format_datetime(datetime.now(timezone.utc) + timedelta(seconds=delta_seconds), usegmt=True)


@pytest.mark.parametrize(
    ("header", "low", "high"),
    [
        ("7", 7, 7),
        ("0", 0, 0),
        ("2.5", 2.5, 2.5),
        (None, None, None),
        ("soon", None, None),
        ("-3", None, None),
        ("", None, None),
        ("Wed, 99 Foo 2026 00:00:00 GMT", None, None),
        ("Thu, 01 Jan 1970 00:00:00 GMT", 0, 0),  # in the past: 0
    ],
)
async def test_429_carries_retry_after(header, low, high):
    headers = {"retry-after": header} if header is not None else {}
    err, server = await complete_with(error_response(429, "slow down", headers=headers))
    assert isinstance(err, E.RateLimited) and not err.may_have_applied
    if low is None:
        assert err.retry_after is None
    else:
        assert low <= err.retry_after <= high
    assert server.count == 1


async def test_429_with_a_future_http_date():
    err, _ = await complete_with(error_response(429, headers={"retry-after": http_date(120)}))
    assert 100 <= err.retry_after <= 121


async def test_503_keeps_its_retry_after_too():
    err, _ = await complete_with(error_response(503, headers={"retry-after": "5"}))
    assert isinstance(err, E.ServerError) and err.retry_after == 5


# --------------------------------------------------------------------------- redirects


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirects_are_not_followed(status):
    def handler(request):
        if request.url.host == "api.mock.test":
            return httpx.Response(status, headers={"location": "https://evil.example/orders/h-1/complete"})
        return json_response(order_body("h-1"))

    err, server = await complete_with_handler(handler)
    assert isinstance(err, E.UnexpectedStatus) and err.status_code == status
    assert err.may_have_applied  # the first host may have acted before redirecting
    assert "evil.example" in str(err) and "not followed" in str(err)
    assert [s.url.host for s in server.seen] == ["api.mock.test"]  # the second host got nothing


async def complete_with_handler(handler):
    server = Server(handler)
    async with server.client() as client:
        with pytest.raises(E.HyperTrackError) as info:
            await client.complete_order("h-1")
    return info.value, server


async def test_a_redirect_on_a_get_is_not_followed_or_retried():
    def handler(request):
        return httpx.Response(307, headers={"location": "https://evil.example/orders/h-1"})

    server = Server(handler)
    async with server.client() as client:
        with pytest.raises(E.UnexpectedStatus):
            await client.get_order("h-1")
    assert [s.url.host for s in server.seen] == ["api.mock.test"]


async def test_a_redirect_is_not_followed_even_by_an_injected_http_client():
    seen_hosts = []

    def handler(request):
        seen_hosts.append(request.url.host)
        return httpx.Response(302, headers={"location": "https://evil.example/x"})

    from console.api import OrdersClient

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    client = OrdersClient(None, base_url="https://api.mock.test", http=http)
    with pytest.raises(E.UnexpectedStatus):
        await client.complete_order("h-1")
    await http.aclose()
    assert seen_hosts == ["api.mock.test"]


# --------------------------------------------------------------------------- unreadable error bodies


@pytest.mark.parametrize(
    ("content", "ctype"),
    [
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        (b"", "application/json"),
        (b'{"message": "Order not fo', "application/json"),  # truncated JSON
        (b"null", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
        (b'{"message": 42, "detail": NaN}', "application/json"),
        (b"\xff\xfe\x00garbage", "application/octet-stream"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),
        (b'{"message": ' + b"9" * 5000 + b"}", "application/json"),
    ],
)
@pytest.mark.parametrize("status", [401, 404, 422, 500, 502])
async def test_an_unreadable_error_body_gives_a_safe_message(status, content, ctype):
    err, _ = await complete_with(raw_response(content, status, {"content-type": ctype}))
    assert err.status_code == status
    assert err.api_message == httpx.codes.get_reason_phrase(status)  # the reason phrase instead
    assert str(err) == f"HTTP {status}: {err.api_message}"
    assert err.detail is None


async def test_a_hostile_error_message_is_escaped():
    body = {"message": "\x1b]0;pwned\x07Order\u202e \x1b[2J", "detail": {"k\x1b": ["v\x9b"]}}
    err, _ = await complete_with(json_response(body, 404, {"apigw-requestid": "id\x1b[2J"}))
    assert err.api_message == "\\x1b]0;pwned\\x07Order\\u202e \\x1b[2J"
    assert err.detail == {"k\\x1b": ["v\\x9b"]}
    assert err.request_id == "id\\x1b[2J"
    assert not has_unsafe_characters(str(err))


async def test_a_huge_error_body_still_gives_its_status():
    big = json.dumps({"message": "gone", "detail": {"pad": "x" * 5_000_000}}).encode()
    err, _ = await complete_with(raw_response(big, 404), max_response_bytes=1_000_000)
    assert isinstance(err, E.NotFoundError)  # not ResponseTooLarge: the status is what matters


async def test_other_request_id_headers_are_used_when_apigw_is_missing():
    err, _ = await complete_with(json_response({"message": "m"}, 404, {"x-request-id": "r-1"}))
    assert err.request_id == "r-1"
    err, _ = await complete_with(json_response({"message": "m"}, 404))
    assert err.request_id is None


# --------------------------------------------------------------------------- transport failures


@pytest.mark.parametrize(
    ("exc", "cls", "may_have_applied"),
    [
        (httpx.ConnectError("connection refused"), E.RequestNotSent, False),
        (httpx.ConnectTimeout("connect timed out"), E.RequestNotSent, False),
        (httpx.PoolTimeout("no connection"), E.RequestNotSent, False),
        (httpx.UnsupportedProtocol("ftp?"), E.RequestNotSent, False),
        (httpx.ReadTimeout("read timed out"), E.OutcomeInDoubt, True),
        (httpx.WriteTimeout("write timed out"), E.OutcomeInDoubt, True),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), E.OutcomeInDoubt, True),
        (httpx.ReadError("connection reset"), E.OutcomeInDoubt, True),
        (httpx.WriteError("broken pipe"), E.OutcomeInDoubt, True),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else None,
)
async def test_transport_failures_are_sorted_into_not_sent_and_in_doubt(exc, cls, may_have_applied):
    err, server = await complete_with(exc)
    assert type(err) is cls
    assert isinstance(err, E.TransportError)
    assert err.may_have_applied is may_have_applied
    assert (err.method, err.path) == ("POST", "/orders/h-1/complete")
    assert err.__suppress_context__  # the raw httpx error (with its request) is not chained in
    assert server.count == 1


def cert_error() -> httpx.ConnectError:
    try:
        try:
            raise ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] self-signed certificate")
        except ssl.SSLError as inner:
            raise httpx.ConnectError("TLS handshake failed") from inner
    except httpx.ConnectError as outer:
        return outer


@pytest.mark.parametrize("make", [cert_error, lambda: httpx.ConnectError(
    "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer certificate")])
async def test_a_certificate_failure_is_its_own_error_and_never_retried(make):
    calls = []

    def handler(request):
        calls.append(request)
        raise make()

    server = Server(handler)
    async with server.client(max_attempts=5) as client:
        with pytest.raises(E.CertificateError) as info:
            await client.get_order("h-1")  # a GET: would be retried if it were an ordinary error
    assert len(calls) == 1 and server.sleeps.delays == []
    assert not info.value.may_have_applied
    assert "certificate" in str(info.value)


async def test_a_body_cut_off_mid_stream_is_in_doubt():
    class Cut(httpx.AsyncByteStream):
        async def __aiter__(self):
            yield b'{"order_handle": "h-1", '
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message body")

    err, _ = await complete_with(httpx.Response(200, stream=Cut()))
    assert isinstance(err, E.OutcomeInDoubt) and err.may_have_applied


def test_the_tree_is_what_callers_rely_on():
    assert issubclass(E.CertificateError, E.RequestNotSent)
    assert issubclass(E.ResponseTooLarge, E.MalformedResponse)
    for cls in (E.RequestNotSent, E.OutcomeInDoubt):
        assert issubclass(cls, E.TransportError)
    for cls in (E.AuthenticationError, E.NotFoundError, E.ConflictError, E.ValidationFailed,
                E.RateLimited, E.ServerError, E.UnexpectedStatus):
        assert issubclass(cls, E.APIStatusError)
    for cls in (E.InvalidHandle, E.InvalidRequest, E.TransportError, E.APIStatusError, E.MalformedResponse):
        assert issubclass(cls, E.HyperTrackError)
    applied = {c for c in vars(E).values() if isinstance(c, type) and issubclass(c, E.HyperTrackError)
               and c.may_have_applied}
    assert applied == {E.OutcomeInDoubt, E.ServerError, E.UnexpectedStatus, E.MalformedResponse,
                       E.ResponseTooLarge}
