"""Check API bodies against HyperTrack's reference schemas: the test oracle.

The reference is part of HyperTrack's OpenAPI description (``reference/`` next to this file).
It is read the way OpenAPI tooling reads it, with exactly two adjustments to strict JSON Schema
(see shared/reference/README.md):

- a ``oneOf`` without a ``discriminator`` is read as ``anyOf`` (the timeline and destination
  shapes overlap, and HyperTrack's own examples fail the strict reading);
- a property whose ``type`` admits ``null`` also admits ``null`` when it carries an ``enum``.

Everything else is strict (Draft 2020-12). ``jsonschema`` is a test dependency: it is imported
only when a validator is built.
"""

from __future__ import annotations

import copy
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_FILE = "hypertrack-orders-openapi-subset.json"
BASE_URI = "urn:ht-orders"
VENDORED = Path(__file__).with_name("reference") / SCHEMA_FILE

#: The schema each response of the four operations must satisfy, by (operation, status).
RESPONSE_SCHEMAS = {
    "list": "GetOrdersResponse",
    "get": "GetOrderTimelineResponse",
    "complete": "CompleteOrderResponse",
    "cancel": "CancelOrderResponse",
    "http_error": "HTTPError",
    "validation_error": "ValidationError",
}


def shared_reference_path() -> Path | None:
    """The shared (non-vendored) reference, if this checkout has one beside it."""
    env = os.environ.get("HYPERTRACK_REFERENCE_SCHEMA")
    candidates = [Path(env)] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "reference" / SCHEMA_FILE, Path("/work/shared/reference") / SCHEMA_FILE]
    return next((p for p in candidates if p.is_file()), None)


def adjust(node: Any) -> Any:
    """Apply the two documented adjustments to a schema document (returns a new document)."""
    node = copy.deepcopy(node)

    def walk(n: Any) -> None:
        if isinstance(n, dict):
            if "oneOf" in n and "discriminator" not in n:
                n["anyOf"] = n.pop("oneOf")
            t = n.get("type")
            if isinstance(t, list) and "null" in t and isinstance(n.get("enum"), list) and None not in n["enum"]:
                n["enum"] = [*n["enum"], None]
            for v in n.values():
                walk(v)
        elif isinstance(n, list):
            for v in n:
                walk(v)

    walk(node)
    return node


class ContractValidator:
    """Validate bodies against a named component schema; ``errors()`` lists what is wrong."""

    def __init__(self, path: Path | None = None) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.path = path or VENDORED
        self.document = json.loads(self.path.read_text(encoding="utf-8"))
        adjusted = adjust(self.document)
        registry = Registry().with_resource(
            BASE_URI, Resource.from_contents(adjusted, default_specification=DRAFT202012)
        )
        self._cls = Draft202012Validator
        self._registry = registry
        self._validators: dict[str, Any] = {}
        self.schema_names = frozenset(adjusted["components"]["schemas"])

    def _validator(self, name: str) -> Any:
        if name not in self._validators:
            if name not in self.schema_names:
                raise KeyError(f"no schema {name!r} in the reference")
            self._validators[name] = self._cls(
                {"$ref": f"{BASE_URI}#/components/schemas/{name}"}, registry=self._registry
            )
        return self._validators[name]

    def errors(self, schema: str, body: Any) -> list[str]:
        """Every violation, as ``path: message`` lines ([] means valid)."""
        if isinstance(body, (bytes, str)):
            body = json.loads(body)
        out = []
        for err in self._validator(schema).iter_errors(body):
            where = "/".join(str(p) for p in err.absolute_path) or "(body)"
            out.append(f"{where}: {err.message[:300]}")
        return out

    def check(self, schema: str, body: Any) -> None:
        """Raise AssertionError listing the violations, if any."""
        problems = self.errors(schema, body)
        if problems:
            shown = "\n  ".join(problems[:20])
            raise AssertionError(f"body is not a valid {schema} ({len(problems)} problem(s)):\n  {shown}")

    def check_response(self, operation: str, status: int, body: Any) -> None:
        """Check a response of ``list``/``get``/``complete``/``cancel`` by its status code.

        200 uses the operation's schema, 422 ``ValidationError``, and every other error status
        (401, 404, and the sandbox's 409/429/5xx, which HyperTrack does not declare) ``HTTPError``.
        """
        if status == 200:
            self.check(RESPONSE_SCHEMAS[operation], body)
        elif status == 422:
            self.check("ValidationError", body)
        else:
            self.check("HTTPError", body)


@lru_cache(maxsize=1)
def default_validator() -> ContractValidator:
    return ContractValidator()
