"""console.api.sanitize: every control, format, bidi or invisible character becomes a visible
escape; nothing else changes. Checked by example, against ``unicodedata`` for every code point,
and by property tests."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.api import errors as E
from console.api.handles import describe_handle
from console.api.sanitize import has_unsafe_characters, is_unsafe_category, sanitize

# The categories that may never reach a terminal raw.
FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def forbidden_in(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in FORBIDDEN_CATEGORIES]


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\x1b[2J", "\\x1b[2J"),  # CSI: clear screen
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC 0: retitle, BEL-terminated
        ("\x1b]2;pwned\x1b\\", "\\x1b]2;pwned\\x1b\\"),  # OSC 2, ST-terminated
        ("\x1b]52;c;ZXZpbA==\x07", "\\x1b]52;c;ZXZpbA==\\x07"),  # OSC 52: write the clipboard
        ("\x9b2J", "\\x9b2J"),  # C1 CSI
        ("\x9d0;t\x9c", "\\x9d0;t\\x9c"),  # C1 OSC ... ST
        ("a\x7fb", "a\\x7fb"),  # DEL
        ("a\x00b", "a\\x00b"),  # NUL
        ("safe\x08\x08evil", "safe\\x08\\x08evil"),  # backspace overwrite
        ("shown\rhidden", "shown\\x0dhidden"),
        ("x\n2026-01-01 INFO forged", "x\\x0a2026-01-01 INFO forged"),  # log injection
        ("a\tb", "a\\x09b"),
        ("order-1\u202eevil", "order-1\\u202eevil"),  # right-to-left override
        ("a\u2066b\u2067c\u2068d\u2069e", "a\\u2066b\\u2067c\\u2068d\\u2069e"),  # isolates
        ("\u202a\u202b\u202c\u202d", "\\u202a\\u202b\\u202c\\u202d"),  # embeddings
        ("\u200e\u200f\u061c", "\\u200e\\u200f\\u061c"),  # directional marks
        ("ord\u200ber", "ord\\u200ber"),  # zero-width space
        ("a\u200cb\u200dc\u2060d", "a\\u200cb\\u200dc\\u2060d"),  # ZWNJ, ZWJ, word joiner
        ("\ufeffstart", "\\ufeffstart"),  # BOM / zero-width no-break space
        ("one\u2028two\u2029", "one\\u2028two\\u2029"),  # line / paragraph separators
        ("soft\u00adhyphen", "soft\\xadhyphen"),  # Cf, invisible
        ("a\u2062b", "a\\u2062b"),  # invisible times
        ("x\U000e0041\U000e0042", "x\\U000e0041\\U000e0042"),  # tag characters: hidden text
        ("lone\ud800surrogate", "lone\\ud800surrogate"),  # cannot even be encoded for a tty
    ],
)
def test_known_attacks_become_visible_escapes(raw, shown):
    assert sanitize(raw) == shown
    assert has_unsafe_characters(raw)
    assert forbidden_in(sanitize(raw)) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain ascii 123",
        "[bold red]x[/] [@click=app.quit]x[/] [/oops] a\\[b end\\",  # markup is not our job here
        "📦 配達 🚚 café Zürich ĳ",
        "\\x1b already escaped \\u202e",
        "e\u0301 combining accent",  # Mn stays: it is visible
        "\u00a0nbsp and\u3000ideographic space",  # Zs stays: spaces are visible
        "\ue000 private use",
    ],
)
def test_text_without_controls_is_returned_unchanged(text):
    assert sanitize(text) == text
    assert not has_unsafe_characters(text)


def test_non_text_is_turned_into_text_first():
    assert sanitize(12) == "12"
    assert sanitize(None) == "None"


def test_non_bmp_escape_cannot_be_misread_as_a_bmp_escape_and_a_digit():
    # "\\ue0001" would read as U+E000 then "1"; the 8-digit form is unambiguous.
    assert sanitize("\U000e0001") == "\\U000e0001"


def test_the_escaped_set_is_exactly_the_forbidden_categories_for_every_code_point():
    """An independent oracle: unicodedata's categories, checked for all 1.1M code points."""
    everything = "".join(map(chr, range(0x110000)))
    escaped = {c for c in everything if has_unsafe_characters(c)}
    expected = {c for c in everything if unicodedata.category(c) in FORBIDDEN_CATEGORIES}
    missing = expected - escaped
    assert not missing, f"not escaped: {sorted(hex(ord(c)) for c in missing)[:20]}"
    # The list is spelled out up to Unicode 15; on an older unicodedata a few of those code
    # points are still unassigned (Cn). Anything else escaped must be a forbidden category.
    extra = {c for c in escaped - expected if unicodedata.category(c) != "Cn"}
    assert not extra, f"escaped needlessly: {sorted(hex(ord(c)) for c in extra)[:20]}"
    assert all(is_unsafe_category(c) for c in expected)


# --------------------------------------------------------------------------- properties

ATTACK_ALPHABET = (
    "\x00\x07\x08\x09\x0a\x0d\x1b\x7f\x80\x9b\x9c\x9d\u00ad\u061c\u200b\u200d\u200e\u202e"
    "\u2028\u2066\u2069\ufeff\U000e0041\ud800\udfff[]/\\;0123456789abcxuU"
)
any_text = st.one_of(
    # Every code point, surrogates included (hypothesis leaves Cs out unless asked).
    st.text(st.characters(exclude_categories=())),
    st.text(st.sampled_from(ATTACK_ALPHABET)),
    st.lists(
        st.sampled_from(["\x1b[2J", "\x1b]0;t\x07", "\x1b]52;c;QQ==\x1b\\", "\\x1b", "\\u202e", "ok "])
    ).map("".join),
)
safe_text = st.text(st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zl", "Zp")))


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_sanitized_text_has_no_forbidden_character(text):
    out = sanitize(text)
    assert forbidden_in(out) == []
    assert not has_unsafe_characters(out)


@settings(max_examples=300, deadline=None)
@given(any_text)
def test_sanitize_is_idempotent(text):
    once = sanitize(text)
    assert sanitize(once) == once


@settings(max_examples=250, deadline=None)
@given(safe_text)
def test_sanitize_is_the_identity_on_safe_text(text):
    assert sanitize(text) == text


@settings(max_examples=250, deadline=None)
@given(any_text)
def test_sanitize_changes_only_the_forbidden_characters(text):
    # Removing the escapes' own characters is hard; instead rebuild the expected output.
    expected = "".join(sanitize(c) if forbidden_in(c) else c for c in text)
    assert sanitize(text) == expected
    assert (sanitize(text) == text) == (not forbidden_in(text))


# --------------------------------------------------------------------------- where it is applied


def test_every_error_message_is_sanitized():
    err = E.NotFoundError(404, "Order \x1b]0;pwned\x07 not found\u202e", request_id="id\x1b[2J")
    for text in (str(err), err.message, err.api_message, err.request_id):
        assert forbidden_in(text) == [], text
    assert "\\x1b]0;pwned\\x07" in str(err)


def test_a_handle_in_a_message_is_escaped_and_shortened():
    shown = describe_handle("x" * 300 + "\x1b")
    assert len(shown) <= 80 and shown.endswith("...")
    assert describe_handle("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert describe_handle(12) == "12"
