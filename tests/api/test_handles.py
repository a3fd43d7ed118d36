"""Order handles: what is refused, how the rest is encoded, and that no handle can change the
path of the request that actually goes out (checked on the wire, in a MockTransport)."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from console.api import errors as E
from console.api.handles import MAX_HANDLE_LENGTH, order_path, validate_handle
from console.api.sanitize import has_unsafe_characters
from tests.support.api_mock import Server, json_response, order_body

REJECTED = {
    "empty": "",
    "space_only": "   ",
    "tab_only": "\t",
    "leading_space": " order-1",
    "trailing_space": "order-1 ",
    "trailing_nbsp": "order-1\u00a0",
    "crlf": "order-1\r\n",
    "lf_inside": "order\n1",
    "cr_inside": "order\r1",
    "esc": "order\x1b[2J",
    "osc_title": "o\x1b]0;pwned\x07",
    "c1": "order\x9b1",
    "del": "order\x7f",
    "nul": "order\x00",
    "bom": "\ufefforder-1",
    "zero_width": "ord\u200ber-1",
    "bidi_override": "order-1\u202e",
    "lone_surrogate": "order\ud800",
    "too_long": "x" * (MAX_HANDLE_LENGTH + 1),
    "ten_thousand": "y" * 10_000,
    "dot": ".",
    "dotdot": "..",
    "pct_dotdot": "%2e%2e",
    "pct_dotdot_upper": "%2E%2E",
    "pct_dot": "%2e",
    "mixed": ".%2E",
    "mixed2": "%2e.",
    "double_encoded": "%252e%252e",
    "triple_encoded": "%25252e%25252e",
    "quadruple_encoded": "%2525252e%2525252e",
}


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_bad_handles_are_refused_with_a_clear_escaped_message(name):
    handle = REJECTED[name]
    with pytest.raises(E.InvalidHandle) as info:
        order_path(handle, "complete")
    err = info.value
    assert isinstance(err, ValueError)  # callers may treat it as a plain bad value
    assert err.handle == handle and err.reason
    message = str(err)
    assert message.startswith("invalid order handle")
    assert not has_unsafe_characters(message), message
    assert len(message) < 200
    assert not err.may_have_applied


def test_the_message_shows_the_offending_characters_as_escapes():
    with pytest.raises(E.InvalidHandle) as info:
        validate_handle("abc\x1b]0;x\x07")
    assert "abc\\x1b]0;x\\x07" in str(info.value)
    assert "control or invisible" in str(info.value)


@pytest.mark.parametrize("handle", [None, 12, b"order-1", ["a"]])
def test_a_handle_that_is_not_text_is_refused(handle):
    with pytest.raises(E.InvalidHandle, match="must be text"):
        order_path(handle)  # type: ignore[arg-type]


def test_a_handle_at_the_length_limit_is_accepted():
    handle = "z" * MAX_HANDLE_LENGTH
    assert order_path(handle) == f"/orders/{handle}"


@pytest.mark.parametrize(
    ("handle", "segment"),
    [
        ("order-1", "order-1"),
        ("ORD_1223", "ORD_1223"),
        ("23Oct30-5", "23Oct30-5"),
        ("a/b", "a%2Fb"),
        ("a?b", "a%3Fb"),
        ("a#b", "a%23b"),
        ("../x", "..%2Fx"),
        ("./x", ".%2Fx"),
        ("...", "..."),  # three dots is an ordinary segment
        ("a%2Fb", "a%252Fb"),  # a literal percent sign is kept literal
        ("100%", "100%25"),
        ("james@ht.com", "james%40ht.com"),
        ("a b", "a%20b"),
        ("a+b", "a%2Bb"),
        ("a;b=c", "a%3Bb%3Dc"),
        ("zürich-1", "z%C3%BCrich-1"),
        ("配達-7", "%E9%85%8D%E9%81%94-7"),
        ("📦", "%F0%9F%93%A6"),
        ("a\\b", "a%5Cb"),
    ],
)
def test_other_handles_are_encoded_as_one_path_segment(handle, segment):
    assert order_path(handle, "complete") == f"/orders/{segment}/complete"
    assert order_path(handle, "cancel") == f"/orders/{segment}/cancel"
    assert order_path(handle) == f"/orders/{segment}"
    assert unquote(segment) == handle
    assert validate_handle(handle) is handle  # never trimmed or normalised


def test_lookalike_handles_are_not_normalised():
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    assert order_path(nfc) != order_path(nfd)


def test_unknown_actions_are_refused():
    with pytest.raises(ValueError):
        order_path("order-1", "../../admin")


# --------------------------------------------------------------------------- on the wire


@pytest.mark.parametrize("handle", ["a/b", "a?b", "a#b", "../x", "a%2Fb", "james@ht.com", "zürich"])
async def test_the_request_that_goes_out_has_exactly_the_built_path(handle):
    server = Server(lambda r: json_response(order_body(handle)))
    async with server.client() as client:
        order = await client.complete_order(handle)
    assert order.order_handle == handle
    [seen] = server.seen
    assert seen.raw_path.decode() == order_path(handle, "complete")
    assert seen.query == b""


async def test_a_base_path_is_kept_in_front_of_the_order_path():
    server = Server(lambda r: json_response(order_body("a/b")))
    async with server.client(base_url="https://api.mock.test/v3/") as client:
        await client.complete_order("a/b")
    assert server.seen[0].raw_path == b"/v3/orders/a%2Fb/complete"


@pytest.mark.parametrize("name", sorted(REJECTED))
async def test_a_refused_handle_sends_nothing(name):
    server = Server()
    async with server.client() as client:
        for call in (client.complete_order, client.cancel_order, client.get_order):
            with pytest.raises(E.InvalidHandle):
                await call(REJECTED[name])
    assert server.count == 0


# --------------------------------------------------------------------------- the property

SEGMENT_RE = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-F]{2})+")
TRICKY = "./%2eE5Ff?#@ab \t\n\r\x1b\x00\u202e\u200b\ufeff\ud800~-_+;=&é📦"
handles = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=40),  # every code point
    st.text(st.sampled_from(TRICKY), max_size=12),
    st.lists(st.sampled_from([".", "..", "%2e", "%2E", "%25", "2e", "/", "%2F", "?", "#", "a", " "]),
             max_size=8).map("".join),
    st.text(st.characters(codec="ascii"), max_size=40),
)


def test_no_handle_can_change_the_request_path():
    """For any text h: InvalidHandle, or exactly /orders/<enc>/complete on the wire with
    unquote(enc) == h and no "/", "?" or "#" in enc."""
    loop = asyncio.new_event_loop()
    server = Server(
        # The fake server decodes the segment it received and echoes it back as the handle.
        lambda r: json_response(order_body(unquote(r.url.raw_path.decode().split("/")[2])))
    )
    client = server.client(base_url="http://127.0.0.1:8080")
    checked = {"sent": 0, "refused": 0}

    @settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(h=handles)
    @example(h="../x")
    @example(h="%2e%2e")
    @example(h="a#b")
    @example(h="..%2F..%2Fadmin")
    def check(h: str) -> None:
        before = server.count
        try:
            path = order_path(h, "complete")
        except E.InvalidHandle:
            with pytest.raises(E.InvalidHandle):
                loop.run_until_complete(client.complete_order(h))
            assert server.count == before, "a refused handle reached the network"
            checked["refused"] += 1
            return
        prefix, suffix = "/orders/", "/complete"
        assert path.startswith(prefix) and path.endswith(suffix)
        enc = path[len(prefix):-len(suffix)]
        assert SEGMENT_RE.fullmatch(enc), enc
        assert not set(enc) & set("/?#")
        assert enc not in (".", "..")
        assert unquote(enc, errors="strict") == h

        order = loop.run_until_complete(client.complete_order(h))
        assert server.count == before + 1
        seen = server.seen[-1]
        assert seen.raw_path == path.encode("ascii")
        assert seen.query == b""
        assert order.order_handle == h  # the server decoded exactly the handle we meant
        checked["sent"] += 1

    try:
        check()
    finally:
        loop.run_until_complete(client.aclose())
        loop.close()
    # Both branches were really exercised.
    assert checked["sent"] > 200 and checked["refused"] > 200, checked
