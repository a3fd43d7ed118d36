"""Make untrusted text safe to put on a terminal.

Anyone with write access to a HyperTrack account can put arbitrary text in an address, a
metadata value or a handle. Textual and Rich pass ESC, C1 controls and most C0 controls straight
to the terminal, so an address could retitle the window, clear the screen or write to the
clipboard (OSC 52). Bidi overrides can make a handle read as another one. Every such character is
replaced here by a visible escape (``\\x1b``, ``\\u202e``), so nothing is lost and nothing acts.

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

_UNSAFE_RE = re.compile(
    "[\x00-\x1f\x7f-\x9f" + _BIDI + _INVISIBLE + "\u2028\u2029]"
)


def _escape_char(match: re.Match[str]) -> str:
    code = ord(match.group())
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}"


def sanitize(text: str) -> str:
    """Return ``text`` with every control, bidi or invisible character shown as an escape."""
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
    """Cc (controls) and Cf (format) characters that may not reach a terminal.

    Used by the tests as an independent oracle for ``sanitize``.
    """
    return unicodedata.category(char) in ("Cc",) or char in _BIDI or char in _INVISIBLE
