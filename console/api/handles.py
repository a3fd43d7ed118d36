"""Order handles: validation and the one function that turns a handle into a request path.

Handles are caller-chosen strings. A handle is put in the URL path, so ``../x`` could reach
``/x/complete`` and ``a#b`` could reach order ``a``. ``quote(h, safe="")`` encodes ``/``, ``?``
and ``#`` but leaves ``.`` and ``..`` as path segments, so those are rejected outright, as is
anything that decodes to them.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

from console.api.errors import InvalidHandle
from console.api.sanitize import has_unsafe_characters, sanitize

MAX_HANDLE_LENGTH = 256
ACTIONS = frozenset({"complete", "cancel", "disable", "enable", "reassign", "reschedule"})


def validate_handle(handle: object) -> str:
    """Return ``handle`` unchanged if it is safe to send, else raise :class:`InvalidHandle`.

    Nothing is trimmed or normalised: the handle that is checked is the handle that is sent.
    """
    if not isinstance(handle, str):
        raise InvalidHandle(handle, "an order handle must be text")
    if handle == "":
        raise InvalidHandle(handle, "the order handle is empty")
    if handle.strip() == "":
        raise InvalidHandle(handle, "the order handle is only white space")
    if handle != handle.strip():
        raise InvalidHandle(handle, "the order handle starts or ends with white space")
    if len(handle) > MAX_HANDLE_LENGTH:
        raise InvalidHandle(
            handle, f"the order handle is longer than {MAX_HANDLE_LENGTH} characters"
        )
    if has_unsafe_characters(handle):
        raise InvalidHandle(handle, "the order handle contains control or invisible characters")
    # Decode until nothing changes: a server or proxy that decodes any number of times must not
    # see "." or ".." either. Each decoding that changes the text shortens it, so this ends
    # within len(handle) rounds (a fixed round count let "%2525252e%2525252e" through).
    decoded = handle
    while True:
        if decoded in (".", ".."):
            raise InvalidHandle(handle, "'.' and '..' are not order handles")
        nxt = unquote(decoded)
        if nxt == decoded:
            break
        decoded = nxt
    return handle


def encode_handle(handle: str) -> str:
    """Percent-encode a validated handle as one path segment (no safe characters)."""
    return quote(validate_handle(handle), safe="")


def order_path(handle: str, action: str | None = None) -> str:
    """``/orders/<encoded handle>`` or ``/orders/<encoded handle>/<action>``.

    The only way the client builds a per-order path; the result can never be another path.
    """
    segment = encode_handle(handle)
    if action is None:
        return f"/orders/{segment}"
    if action not in ACTIONS:
        raise ValueError(f"unknown order action: {action!r}")
    return f"/orders/{segment}/{action}"


def describe_handle(handle: object) -> str:
    """A handle as it may be shown in a message: escaped and shortened."""
    text = sanitize(handle if isinstance(handle, str) else repr(handle))
    if len(text) > 80:
        text = text[:77] + "..."
    return text
