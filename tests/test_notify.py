"""Terminal notifications (console/notify.py): exact bytes, sanitizing, coalescing, rate limit."""

from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from console.api.vocab import OrderRef, RiskLevel
from console.notify import Notifier, clean_text, encode, osc777, osc9, parse_kinds, summary, tmux_wrap
from console.session.changes import ChangeEvent, ChangeKind

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)


def red(handle: str) -> ChangeEvent:
    return ChangeEvent(T0, OrderRef(handle), ChangeKind.WORST, "yellow", "red", worst=RiskLevel.RED)


def late(handle: str) -> ChangeEvent:
    return ChangeEvent(T0, OrderRef(handle), ChangeKind.LATE, "on time", "late")


def test_exact_bytes_of_each_method():
    assert encode("2 orders turned red: a, b", ("bell",)) == b"\x07"
    assert encode("2 orders turned red: a, b", ("osc9",)) == b"\x1b]9;dispatch-console: 2 orders turned red: a, b\x07"
    assert encode("x", ("osc777",)) == b"\x1b]777;notify;dispatch-console;x\x07"
    assert encode("x", ("bell", "osc9", "osc777")) == (
        b"\x07\x1b]9;dispatch-console: x\x07\x1b]777;notify;dispatch-console;x\x07")


def test_tmux_passthrough_doubles_every_escape():
    assert tmux_wrap(b"\x1b]9;hi\x07") == b"\x1bPtmux;\x1b\x1b]9;hi\x07\x1b\\"
    assert encode("x", ("bell", "osc9"), tmux=True) == (
        b"\x07\x1bPtmux;\x1b\x1b]9;dispatch-console: x\x07\x1b\\")


def test_text_from_data_cannot_break_out_of_the_sequence():
    hostile = "h\x1b]0;pwned\x07\x1b\\\x9b31m\u202e\n"
    data = osc9(hostile)
    body = data[len(b"\x1b]9;"):-1]
    assert b"\x1b" not in body and b"\x07" not in body and b"\n" not in body
    assert "\x9b" not in body.decode() and "\u202e" not in body.decode()
    assert osc777("ti;tle", "a;b") == b"\x1b]777;notify;ti,tle;a;b\x07"


@given(st.text())
def test_clean_text_is_printable_and_bounded(text):
    out = clean_text(text)
    assert out.isprintable() and len(out) <= 160


def test_summary_coalesces_and_bounds():
    assert summary([red("a"), red("b"), red("c")], ("new-red",)) == "3 orders turned red: a, b, c"
    assert summary([red("a")], ("new-red",)) == "1 order turned red: a"
    assert summary([red("a"), late("b"), red("c"), red("d"), red("e")], ("new-red", "late")) == (
        "4 orders turned red, 1 order became LATE: a, c, d and 2 more")
    assert summary([late("b")], ("new-red",)) is None
    assert len(summary([red("x" * 500)], ("new-red",))) == 160


def test_one_notification_per_refresh_and_rate_limited_without_loss():
    now = [100.0]
    out = io.BytesIO()
    n = Notifier(out, methods=("osc9",), min_interval=30, clock=lambda: now[0])
    assert n.refresh([red("a"), red("b")]) == b"\x1b]9;dispatch-console: 2 orders turned red: a, b\x07"
    now[0] = 110
    assert n.refresh([red("c")]) == b""  # too soon: kept
    assert n.refresh([late("z")]) == b""  # not a chosen kind
    now[0] = 131
    assert n.refresh([red("d")]) == b"\x1b]9;dispatch-console: 2 orders turned red: c, d\x07"
    assert n.refresh([]) == b""
    assert out.getvalue().count(b"\x1b]9;") == 2


def test_unknown_kinds_and_methods_are_refused():
    with pytest.raises(ValueError):
        Notifier(None, kinds=("purple",))
    with pytest.raises(ValueError):
        Notifier(None, methods=("fax",))
    assert parse_kinds("new-red, late") == ("new-red", "late")
    with pytest.raises(ValueError, match="not purple"):
        parse_kinds("purple")


@pytest.mark.parametrize("env, methods", [
    ({"TERM_PROGRAM": "iTerm.app"}, ("bell", "osc9")),
    ({"WT_SESSION": "x"}, ("bell", "osc777")),
    ({"TERM": "xterm-kitty"}, ("bell", "osc9")),
    ({"TERM_PROGRAM": "WezTerm"}, ("bell", "osc777")),
    ({"TERM": "foot"}, ("bell", "osc777")),
    ({"VTE_VERSION": "7600"}, ("bell", "osc777")),
    ({"TERM": "xterm-256color"}, ("bell", "osc9", "osc777")),
])
def test_methods_follow_the_terminal_so_none_shows_two(env, methods):
    from console.notify import methods_for

    assert methods_for(env) == methods


def test_parse_methods():
    from console.notify import parse_methods

    assert parse_methods("bell, OSC9") == ("bell", "osc9")
    with pytest.raises(ValueError, match="not fax"):
        parse_methods("fax")
