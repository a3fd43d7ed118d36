"""``y``: copy the highlighted order's share URL to the clipboard, over SSH too.

The console writes the URL with OSC 52 (``ESC ] 52 ; c ; <base64> BEL``) through Textual's
:meth:`App.copy_to_clipboard`: the *terminal* puts it on the clipboard of the machine the
supervisor sits at, so it works over SSH without X forwarding. Where it does not:

- tmux passes OSC 52 on (and keeps a paste buffer) only with ``set -g set-clipboard on`` in
  ``~/.tmux.conf`` (the default, ``external``, ignores it from programs);
- GNU screen drops it; macOS Terminal.app does not support it; xterm needs
  ``allowWindowOps`` / ``disallowedWindowOps`` to allow it; iTerm2 asks once, or needs
  "Applications in terminal may access clipboard".

The URL comes from the API, so it is checked before it can reach a clipboard someone will paste
into a shell: only an ``http(s)://`` address with a host and no whitespace or control character
and only the characters RFC 3986 allows is copied (the models already escape control
characters; this refuses anything that is not plainly a web address). The toast says exactly what was copied, as plain text.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from console.api.sanitize import sanitize

#: What RFC 3986 allows in a URL (anything else, e.g. a space, a backslash or a quote, is refused).
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")

#: A share URL longer than this is not a share URL (and would not fit one OSC 52 write on some
#: terminals, whose limit is around 100 KB of base64).
MAX_URL = 2048


def copyable_url(url: str | None) -> str | None:
    """``url`` if it is a plain web address that may go on the clipboard, else None."""
    if not url or len(url) > MAX_URL:
        return None
    if sanitize(url) != url or _URL_CHARS.fullmatch(url) is None:
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def copy_message(handle: str, url: str, *, ascii: bool = False) -> str:
    """The toast after a copy: which order, and the URL itself (plain text, never markup)."""
    ellipsis = "..." if ascii else "…"
    shown = url if len(url) <= 200 else url[:199] + ellipsis
    return f"Share URL of {sanitize(handle)}: {sanitize(shown)}"
