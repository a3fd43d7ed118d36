"""Retries: GETs are retried with capped, jittered backoff that honours Retry-After; a POST
(complete/cancel) is never re-sent by the client, whatever goes wrong. Sleeps are recorded,
never slept; randomness is injected."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.api import errors as E
from console.api.client import MAX_GET_RETRY_AFTER
from console.api.retry import Backoff, parse_retry_after
from tests.support.api_mock import Server, json_response, order_body, raw_response, sequence

NOW = datetime(2026, 3, 14, 12, 0, 0, tzinfo=timezone.utc)


# --------------------------------------------------------------------------- parse_retry_after


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0", 0.0), ("3", 3.0), (" 12 ", 12.0), ("2.5", 2.5), ("86400", 3600.0),  # capped
        ("9" * 400, 3600.0), ("1e309", None), ("1e3", None), ("inf", None), ("1_0", None), ("+5", None),
        ("\u00b2", None), ("\u0665", None),  # str.isdigit() is true for both: not HTTP digits
        (None, None), ("", None), ("   ", None), ("-1", None), ("NaN", None), ("nan", None),
        ("soon", None), ("3 seconds", None), ("0x10", None),
        (format_datetime(NOW + timedelta(seconds=90), usegmt=True), 90.0),
        (format_datetime(NOW - timedelta(days=1), usegmt=True), 0.0),  # in the past: 0
        ("Sun, 06 Nov 1994 08:49:37 GMT", 0.0),
        ("Sunday, 06-Nov-94 08:49:37 GMT", 0.0),  # RFC 850 form
        ("Sun Nov  6 08:49:37 1994", 0.0),  # asctime form
        (format_datetime(NOW + timedelta(days=3), usegmt=True), 3600.0),  # far future: capped
        ("Wed, 32 Foo 2026 25:61:00 GMT", None),
    ],
)
def test_parse_retry_after(value, expected):
    assert parse_retry_after(value, now=NOW) == expected


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.integers(-10**6, 10**12).map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr)))
def test_parse_retry_after_never_raises_and_stays_in_bounds(value):
    seconds = parse_retry_after(value, now=NOW, cap=600)
    assert seconds is None or 0 <= seconds <= 600


# --------------------------------------------------------------------------- Backoff


@settings(max_examples=200, deadline=None)
@given(attempt=st.integers(1, 40), seed=st.integers(0, 2**32))
def test_backoff_is_full_jitter_under_a_capped_exponential(attempt, seed):
    backoff = Backoff(base=0.5, cap=20.0, max_attempts=5)
    delay = backoff.delay(attempt, random.Random(seed))
    assert 0 <= delay <= min(20.0, 0.5 * 2 ** (attempt - 1))


def test_backoff_uses_the_injected_rng():
    backoff = Backoff(base=1.0, cap=100.0)
    assert [backoff.delay(n, random.Random(7)) for n in (1, 2, 3)] == [
        random.Random(7).uniform(0, 1), random.Random(7).uniform(0, 2), random.Random(7).uniform(0, 4)
    ]


# --------------------------------------------------------------------------- GET retries


class FixedRng(random.Random):
    """uniform() always gives the top of the range: delays are the exponential ceiling."""

    def uniform(self, a: float, b: float) -> float:
        return b


def ok_order(handle: str = "h-1") -> httpx.Response:
    return json_response(order_body(handle, "ongoing"))


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy"),
        httpx.ReadTimeout("lost"), httpx.RemoteProtocolError("dropped"), httpx.ReadError("reset"),
        json_response({"message": "busy"}, 503), json_response({"message": "bad gw"}, 502),
        json_response({"message": "oops"}, 500), json_response({"message": "gw timeout"}, 504),
        json_response({"message": "slow down"}, 429),
    ],
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"http{f.status_code}",
)
async def test_a_get_is_retried_with_backoff_until_it_succeeds(failure):
    server = Server(sequence(failure, failure, ok_order()))
    async with server.client(max_attempts=4, rng=FixedRng()) as client:
        order = await client.get_order("h-1")
    assert order.order_handle == "h-1"
    assert server.count == 3
    assert [s.method for s in server.seen] == ["GET"] * 3
    assert server.sleeps.delays == [0.5, 1.0]  # base * 2**(n-1), the ceiling of the jitter


async def test_a_get_gives_up_after_max_attempts():
    server = Server(sequence(json_response({"message": "down"}, 503)))
    async with server.client(max_attempts=3, rng=FixedRng()) as client:
        with pytest.raises(E.ServerError) as info:
            await client.get_order("h-1")
    assert server.count == 3
    assert server.sleeps.delays == [0.5, 1.0]
    assert info.value.status_code == 503


async def test_backoff_delays_are_capped():
    server = Server(sequence(httpx.ConnectError("refused")))
    backoff = Backoff(base=1.0, cap=3.0, max_attempts=6)
    async with server.client(get_backoff=backoff, rng=FixedRng()) as client:
        with pytest.raises(E.RequestNotSent):
            await client.get_order("h-1")
    assert server.count == 6
    assert server.sleeps.delays == [1.0, 2.0, 3.0, 3.0, 3.0]


async def test_jittered_delays_come_from_the_injected_rng():
    delays = []
    for _ in range(2):
        server = Server(sequence(httpx.ConnectError("refused")))
        async with server.client(max_attempts=4, rng=random.Random(42)) as client:
            with pytest.raises(E.RequestNotSent):
                await client.get_order("h-1")
        delays.append(server.sleeps.delays)
    assert delays[0] == delays[1]  # same seed, same schedule
    assert all(0 <= d <= c for d, c in zip(delays[0], [0.5, 1.0, 2.0]))


@pytest.mark.parametrize("status", [429, 503])
async def test_retry_after_is_honoured_when_longer_than_the_backoff(status):
    server = Server(sequence(json_response({"message": "wait"}, status, {"retry-after": "7"}), ok_order()))
    async with server.client(rng=FixedRng()) as client:
        await client.get_order("h-1")
    assert server.sleeps.delays == [7.0]
    assert server.count == 2


async def test_retry_after_as_an_http_date_is_honoured():
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=12), usegmt=True)
    server = Server(sequence(json_response({}, 429, {"retry-after": when}), ok_order()))
    async with server.client(rng=FixedRng()) as client:
        await client.get_order("h-1")
    [delay] = server.sleeps.delays
    assert 9 <= delay <= 12


async def test_a_non_ascii_digit_retry_after_does_not_crash_the_client():
    # httpx decodes header bytes as latin-1: b"\xb2" arrives as "\u00b2", which isdigit() accepts.
    server = Server(sequence(httpx.Response(429, headers=[(b"retry-after", b"\xb2")]), ok_order()))
    async with server.client(rng=FixedRng()) as client:
        await client.get_order("h-1")
        with pytest.raises(E.RateLimited) as info:
            server.handler = sequence(httpx.Response(429, headers=[(b"retry-after", b"\xb2")]))
            await client.complete_order("h-1")
    assert info.value.retry_after is None
    assert server.sleeps.delays == [0.5]


async def test_a_short_retry_after_does_not_shorten_the_backoff():
    server = Server(sequence(json_response({}, 429, {"retry-after": "0"}), json_response({}, 429, {"retry-after": "0"}), ok_order()))
    async with server.client(rng=FixedRng()) as client:
        await client.get_order("h-1")
    assert server.sleeps.delays == [0.5, 1.0]


@pytest.mark.parametrize("header", ["soon", "-5", "Wed, 99 Foo 2026 00:00:00 GMT"])
async def test_a_malformed_retry_after_falls_back_to_backoff(header):
    server = Server(sequence(json_response({}, 429, {"retry-after": header}), ok_order()))
    async with server.client(rng=FixedRng()) as client:
        await client.get_order("h-1")
    assert server.sleeps.delays == [0.5]


async def test_a_retry_after_beyond_the_get_cap_is_raised_not_slept():
    long = str(int(MAX_GET_RETRY_AFTER) + 1)
    server = Server(sequence(json_response({"message": "later"}, 429, {"retry-after": long}), ok_order()))
    async with server.client() as client:
        with pytest.raises(E.RateLimited) as info:
            await client.get_order("h-1")
    assert info.value.retry_after == float(long)
    assert server.sleeps.delays == [] and server.count == 1


@pytest.mark.parametrize(
    "response",
    [json_response({"message": "no"}, 401), json_response({"message": "no"}, 403),
     json_response({"message": "no"}, 404), json_response({"detail": {}, "message": "no"}, 422),
     json_response({"message": "no"}, 409), json_response({"message": "no"}, 400),
     httpx.Response(301, headers={"location": "https://elsewhere.test/"}),
     raw_response(b"<html>not json</html>", 200)],
    ids=["401", "403", "404", "422", "409", "400", "301", "malformed200"],
)
async def test_answers_that_a_retry_cannot_fix_are_not_retried(response):
    server = Server(sequence(response, ok_order()))
    async with server.client(max_attempts=5) as client:
        with pytest.raises(E.HyperTrackError):
            await client.get_order("h-1")
    assert server.count == 1 and server.sleeps.delays == []


async def test_list_pages_are_retried_page_by_page():
    page1 = json_response({"orders": [order_body("a", "ongoing")], "pagination_token": "t1"})
    page2 = json_response({"orders": [order_body("b", "ongoing")], "pagination_token": None})
    server = Server(sequence(page1, httpx.ReadTimeout("lost"), page2))
    async with server.client(rng=FixedRng()) as client:
        orders = await client.list_orders()
    assert [o.order_handle for o in orders] == ["a", "b"]
    assert [s.params.get("pagination_token") for s in server.seen] == [None, "t1", "t1"]
    assert server.sleeps.delays == [0.5]


# --------------------------------------------------------------------------- POSTs are never re-sent

POST_FAILURES = [
    httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy"),
    httpx.ReadTimeout("lost"), httpx.WriteTimeout("half sent"), httpx.RemoteProtocolError("dropped"),
    httpx.ReadError("reset"), httpx.WriteError("pipe"),
    json_response({"message": "slow down"}, 429, {"retry-after": "1"}),
    *[json_response({"message": "x"}, s) for s in (500, 502, 503, 504, 401, 403, 404, 409, 422, 400)],
    httpx.Response(307, headers={"location": "https://api.mock.test/orders/h-1/complete"}),
    raw_response(b"<html>ok</html>", 200, {"content-type": "text/html"}),
    json_response(order_body("h-2", "completed")),
    json_response(order_body("h-1", "ongoing")),
]


@pytest.mark.parametrize("action", ["complete_order", "cancel_order"])
@pytest.mark.parametrize(
    "failure", POST_FAILURES,
    ids=lambda f: type(f).__name__ if isinstance(f, Exception) else f"http{f.status_code}",
)
async def test_a_post_is_never_re_sent(action, failure):
    server = Server(sequence(failure, json_response(order_body("h-1", "completed"))))
    async with server.client(max_attempts=5) as client:
        with pytest.raises(E.HyperTrackError):
            await getattr(client, action)("h-1")
    assert server.count == 1, "the client re-sent a POST"
    assert server.seen[0].method == "POST"
    assert server.sleeps.delays == []


async def test_a_post_failure_carries_what_the_caller_needs_to_decide():
    outcomes = {}
    for failure in (httpx.ConnectError("refused"), httpx.ReadTimeout("lost"),
                    json_response({"message": "x"}, 504), json_response({}, 429)):
        server = Server(sequence(failure))
        async with server.client() as client:
            with pytest.raises(E.HyperTrackError) as info:
                await client.complete_order("h-1")
        outcomes[type(info.value).__name__] = info.value.may_have_applied
    assert outcomes == {"RequestNotSent": False, "OutcomeInDoubt": True, "ServerError": True,
                        "RateLimited": False}
