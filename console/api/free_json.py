"""Free-form JSON (metadata, risks, unknown fields, error details) made safe to show.

Shared by the full pydantic models (:mod:`console.api.models`) and the list's lean path
(:mod:`console.api.summaries`), which must not import pydantic models.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic_core import from_json

from console.api.sanitize import has_unsafe_characters, sanitize

#: Free-form JSON deeper than this is refused. The JSON parser already stops at ~200 levels;
#: this bound also protects values built in Python (no RecursionError in :func:`clean_json`).
MAX_JSON_DEPTH = 100


def clean_json(value: Any, _depth: int = 0) -> Any:
    """Sanitize every key and string of a free-form JSON value; refuse NaN/Infinity.

    Metadata, risk values, unknown fields and error details are shown to the supervisor as they
    are, so their strings must be as safe as any typed field. Raises ValueError (which pydantic
    turns into a ValidationError) for non-finite numbers or excessive nesting.
    """
    if _depth > MAX_JSON_DEPTH:
        raise ValueError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    kind = type(value)
    if kind is str:
        return sanitize(value)
    if kind is dict:
        # Flat objects of short strings (risks, most metadata) are the common case: keep the
        # per-item work to one regex search, since 50k orders pass through here.
        out = {}
        for key, item in value.items():
            if type(key) is not str or has_unsafe_characters(key):
                key = sanitize(str(key))
            item_kind = type(item)
            if item_kind is str:
                if has_unsafe_characters(item):
                    item = sanitize(item)
            elif item_kind is not int and item_kind is not bool and item is not None:
                item = clean_json(item, _depth + 1)
            out[key] = item
        return out
    if kind is float or isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("numbers must be finite (NaN and Infinity are not JSON)")
        return value
    if kind is list or isinstance(value, (list, tuple)):
        return [clean_json(v, _depth + 1) for v in value]
    if isinstance(value, dict):
        return clean_json(dict(value), _depth)
    if isinstance(value, str):
        return sanitize(value)
    return value  # None, bool, int, or an already-validated model


def parse_error_body(body: bytes) -> tuple[str, Any]:
    """The ``message`` and ``detail`` of an error body of any of the three shapes, or of none.

    ``{"message", "detail"}`` (HTTPError, ValidationError) or ``{"code", "title", "detail"}``
    (Error). Never raises: an HTML page, an empty or truncated body, or an unexpected shape gives
    an empty message; one bad part (a non-string message, a NaN in the detail) loses only itself.
    Both parts come back sanitized.
    """
    if not body:
        return "", None
    try:
        data = from_json(body)  # the Rust parser: depth-limited, no RecursionError
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    message = ""
    for key in ("message", "title", "code"):
        value = data.get(key)
        if isinstance(value, str) and value.strip():
            message = sanitize(value)
            break
    try:
        detail = clean_json(data.get("detail"))
    except ValueError:
        detail = None
    return message, detail
