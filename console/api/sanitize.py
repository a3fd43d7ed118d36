"""Make untrusted text safe to put on a terminal.

Anyone with write access to a HyperTrack account can put arbitrary text in an address, a
metadata value or a handle. Textual and Rich pass ESC, C1 controls and most C0 controls straight
to the terminal, so an address could retitle the window, clear the screen or write to the
clipboard (OSC 52). Bidi overrides can make a handle read as another one, and invisible format
characters (zero-width spaces, Unicode "tag" characters) can hide text. Every such character is
replaced here by a visible escape (``\\x1b``, ``\\u202e``, ``\\U000e0041``), so nothing is lost
and nothing acts.

What is escaped: every Unicode Cc (C0, DEL, C1) and Cf (format: bidi controls, zero-width
characters, soft hyphen, tags, ...) character, lone surrogates (Cs: they cannot even be encoded
for the terminal, so writing one would crash the app), and the line/paragraph separators
U+2028/U+2029. The Cf list is spelled out (computing it from ``unicodedata`` at import would cost
~0.1 s of start-up); the tests check it against ``unicodedata`` for every code point.

The function is idempotent: escaping already-escaped text changes nothing, because the escapes
are made of printable ASCII only.
"""

from __future__ import annotations

import re
import unicodedata

# Bidi embedding/override/isolate controls and the invisible marks that reorder text.
_BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
# Zero-width characters make two different handles look identical.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff"

# Unicode general category Cf (format), as of Unicode 15 (13439-1343F are new in 15).
_FORMAT_RANGES = (
    "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0001\U000e0020-\U000e007f"
)

_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff" + _FORMAT_RANGES + _BIDI + _INVISIBLE + "]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    # Eight digits: "\\ue0001" would read as U+E000 followed by "1".
    return f"\\U{code:08x}"


def sanitize(text: str) -> str:
    """Return ``text`` with every control, format or invisible character shown as an escape."""
    if not isinstance(text, str):
        text = str(text)
    if _UNSAFE_RE.search(text) is None:
        # The common case: nothing to do, and no new string is built.
        return text
    return _UNSAFE_RE.sub(_escape_char, text)


def has_unsafe_characters(text: str) -> bool:
    """True when ``text`` holds a character that ``sanitize`` would escape."""
    return _UNSAFE_RE.search(text) is not None


def is_unsafe_category(char: str) -> bool:
    """Cc (controls), Cf (format), Cs (surrogates) and the Zl/Zp separators.

    Used by the tests as an independent oracle for ``sanitize``.
    """
    return (
        unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp")
        or char in _BIDI
        or char in _INVISIBLE
    )
