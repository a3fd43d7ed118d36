"""Check API bodies against HyperTrack's reference schemas: the test oracle.

The reference is part of HyperTrack's OpenAPI description (``reference/`` next to this file): the
subset of the read, complete and cancel operations, and the actions subset (disable, enable,
reassign, reschedule, update, candidate workers, orders by route). Their 70 shared schema names
are identical in both files; the validator reads their component schemas as one set.
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
ACTIONS_SCHEMA_FILE = "hypertrack-orders-actions-openapi-subset.json"
BASE_URI = "urn:ht-orders"
VENDORED = Path(__file__).with_name("reference") / SCHEMA_FILE
VENDORED_ACTIONS = Path(__file__).with_name("reference") / ACTIONS_SCHEMA_FILE

#: The schema each response of the four operations must satisfy, by (operation, status).
RESPONSE_SCHEMAS = {
    "list": "GetOrdersResponse",
    "get": "GetOrderTimelineResponse",
    "complete": "CompleteOrderResponse",
    "cancel": "CancelOrderResponse",
    "disable": "DisableOrderResponse",
    "enable": "EnableOrderResponse",
    "reassign": "ReassignOrderResponse",
    "reschedule": "RescheduleOrderResponse",
    "http_error": "HTTPError",
    "validation_error": "ValidationError",
}


def shared_reference_path(name: str = SCHEMA_FILE) -> Path | None:
    """The shared (non-vendored) reference file ``name``, if this checkout has one beside it."""
    env = os.environ.get("HYPERTRACK_REFERENCE_SCHEMA")
    candidates = [Path(env).with_name(name)] if env else []
    repo = Path(__file__).resolve().parents[2]
    candidates += [repo.parent / "shared" / "reference" / name, Path("/work/shared/reference") / name]
    return next((p for p in candidates if p.is_file()), None)


def merged_document(path: Path = VENDORED, actions_path: Path | None = VENDORED_ACTIONS) -> dict[str, Any]:
    """The read subset with the actions subset's paths and schemas added (a schema both
    declare must be identical in both: the validator would otherwise judge by one of them)."""
    document = json.loads(path.read_text(encoding="utf-8"))
    if actions_path is None:
        return document
    extra = json.loads(actions_path.read_text(encoding="utf-8"))
    schemas = document["components"]["schemas"]
    for name, schema in extra["components"]["schemas"].items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"schema {name!r} differs between {path.name} and {actions_path.name}")
        schemas.setdefault(name, schema)
    for route, operations in extra["paths"].items():
        document["paths"].setdefault(route, {}).update(operations)
    document["components"]["securitySchemes"].update(extra["components"].get("securitySchemes", {}))
    return document


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

    def __init__(self, path: Path | None = None, actions_path: Path | None = VENDORED_ACTIONS) -> None:
        from jsonschema import Draft202012Validator
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT202012

        self.path = path or VENDORED
        self.document = merged_document(self.path, actions_path)
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
        """Check a response of ``list``/``get`` or a write action by its status code.

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
