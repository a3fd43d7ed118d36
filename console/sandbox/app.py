"""The sandbox's HTTP face: HyperTrack's four order operations as a Starlette ASGI app.

- ``GET /orders/``, ``GET /orders/{order_handle}``, ``POST /orders/{order_handle}/complete`` and
  ``POST /orders/{order_handle}/cancel``, with HyperTrack's bodies (see the contract document).
- Routing reads the RAW path: the handle is the raw segment percent-decoded exactly once, so
  ``/orders/a%2Fb`` addresses the order ``a/b`` (Starlette's own routing works on the decoded
  path, where that order would be unreachable). Literal paths (``/orders/track``, ``/plans``, ...)
  are matched before ``{order_handle}``; real but unsimulated operations answer 501.
- Basic auth on everything (401 ``HTTPError``); 404 ``HTTPError`` for unknown handles; 422
  ``ValidationError`` for bad parameters; 409 ``HTTPError`` for complete/cancel of an order
  already completed or cancelled (a sandbox assumption: HyperTrack does not say).
- Every response carries a unique ``apigw-requestid`` header.

Faults (:mod:`console.sandbox.faults`) are applied by :class:`SandboxASGI`, the outer layer, so
the Starlette handlers only ever implement the contract.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from console.sandbox.clock import iso
from console.sandbox.faults import OK, Decision, RequestInfo
from console.sandbox.fleet import FILTERABLE_STATUSES, ConflictState
from console.sandbox.order import SimOrder, to_json
from console.sandbox.stats import RequestRecord

if TYPE_CHECKING:
    from console.sandbox.core import Sandbox

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
JSON = "application/json"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

# Paths under /orders/ that are operations of their own, not order handles.
LITERAL_SEGMENTS = frozenset({
    b"track", b"estimate", b"estimated-routes", b"export", b"plans", b"routes", b"tasks-definitions",
})
# Per-order operations HyperTrack has that the sandbox does not simulate.
UNSIMULATED_ACTIONS = frozenset({
    b"disable", b"enable", b"reassign", b"reschedule", b"candidate_workers", b"webhooks", b"events", b"tasks",
})
ACTIONS = {b"complete": "complete", b"cancel": "cancel"}
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ConnectionDropped(Exception):
    """Raised to an in-process transport: "the server closed the connection, no response"."""


@dataclass(frozen=True)
class Target:
    """What a raw path addresses."""

    kind: str  # "list", "order", "action", "unsimulated", "not_found"
    handle: str | None = None
    action: str | None = None


def route(raw_path: bytes) -> Target:
    """Route on the raw path; literal paths first, then ``{order_handle}`` decoded once."""
    if raw_path == b"/orders/":
        return Target("list")
    if not raw_path.startswith(b"/orders/"):
        return Target("not_found")
    segments = raw_path[len(b"/orders/"):].split(b"/")
    if segments[0] in LITERAL_SEGMENTS:
        return Target("unsimulated")
    handle = _decode_segment(segments[0])
    if handle is None:
        return Target("not_found")
    if len(segments) == 1:
        return Target("order", handle)
    if len(segments) == 2 and segments[1] in ACTIONS:
        return Target("action", handle, ACTIONS[segments[1]])
    if segments[1] in UNSIMULATED_ACTIONS:
        return Target("unsimulated", handle)
    return Target("not_found")


def _decode_segment(segment: bytes) -> str | None:
    if not segment:
        return None
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None


# ---------------------------------------------------------------------- bodies


def http_error(status: int, message: str, detail: dict[str, Any] | None = None,
               headers: dict[str, str] | None = None) -> Response:
    body = to_json({"detail": detail or {}, "message": message})
    return Response(body, status_code=status, media_type=JSON, headers=headers)


def validation_error(location: str, errors: dict[str, list[str]]) -> Response:
    body = to_json({"detail": {location: errors}, "message": "Request validation failed"})
    return Response(body, status_code=422, media_type=JSON)


def unauthorized() -> Response:
    return http_error(401, "Authentication credentials were missing or invalid",
                      headers={"WWW-Authenticate": 'Basic realm="HyperTrack"'})


# ---------------------------------------------------------------------- query parsing


class Query:
    """Query parameters with webargs/marshmallow-style messages collected per field."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.errors: dict[str, list[str]] = {}

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return value if value not in (None, "") else None

    def integer(self, name: str, minimum: int | None = None, maximum: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return None
        s = raw.strip()
        if not (s.lstrip("+-").isdigit() and s.isascii() and len(s) <= 30):
            self.errors[name] = ["Not a valid integer."]
            return None
        value = int(s)
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            if maximum is None:
                self.errors[name] = [f"Must be greater than or equal to {minimum}."]
            else:
                self.errors[name] = [f"Must be greater than or equal to {minimum} and less than or equal to {maximum}."]
            return None
        return value

    def choice(self, name: str, choices: tuple[str, ...]) -> str | None:
        value = self.text(name)
        if value is not None and value not in choices:
            self.errors[name] = [f"Must be one of: {', '.join(choices)}."]
            return None
        return value

    def boolean(self, name: str) -> bool | None:
        value = self.text(name)
        if value is None:
            return None
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.errors[name] = ["Not a valid boolean."]
        return None


def encode_token(after: int, fingerprint: str) -> str:
    raw = json.dumps({"v": 1, "after": after, "q": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii")


def decode_token(token: str) -> tuple[int, str]:
    """``(position, query fingerprint)`` from a token; ValueError if it is not one of ours."""
    try:
        data = json.loads(base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True))
    except (ValueError, UnicodeEncodeError, binascii.Error):
        raise ValueError("not a token") from None
    if not isinstance(data, dict) or data.get("v") != 1:
        raise ValueError("not a token")
    after, fingerprint = data.get("after"), data.get("q")
    if type(after) is not int or after < 0 or not isinstance(fingerprint, str):
        raise ValueError("not a token")
    return after, fingerprint


# ---------------------------------------------------------------------- the Starlette app


class OrdersAPI:
    """Request handlers; every fleet access holds the sandbox lock (the served sandbox runs in
    its own thread while tests read the fleet)."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sb = sandbox
        self.app = Starlette(routes=[Route("/{path:path}", self.dispatch, methods=ALL_METHODS)])

    async def dispatch(self, request: Request) -> Response:
        target: Target = request.scope.get("sandbox.target") or route(_raw_path(request.scope))
        method = request.method
        if target.kind == "list":
            if method == "GET":
                return self.list_orders(request)
            if method == "POST":
                return _unsimulated(method)
            return _not_allowed(method)
        if target.kind == "order":
            if method == "GET":
                return self.get_order(request, target.handle or "")
            if method == "PATCH":
                return _unsimulated(method)
            return _not_allowed(method)
        if target.kind == "action":
            if method == "POST":
                return await self.act(request, target.handle or "", target.action or "")
            return _not_allowed(method)
        if target.kind == "unsimulated":
            return _unsimulated(method)
        return http_error(404, "Not found")

    # ------------------------------------------------------------------ GET /orders/

    def list_orders(self, request: Request) -> Response:
        q = Query(request)
        status_text = q.text("status")
        statuses: frozenset[str] | None = None
        if status_text is not None:
            items = [s.strip() for s in status_text.split(",") if s.strip()]
            if any(s not in FILTERABLE_STATUSES for s in items):
                q.errors["status"] = [f"Must be one of: {', '.join(FILTERABLE_STATUSES)}."]
            elif items:
                statuses = frozenset(items)
        limit = q.integer("limit", 1, MAX_LIMIT)
        direction = q.choice("sort_direction", ("desc", "asc")) or "desc"
        risk = q.boolean("risk_status")
        attempt = q.integer("fulfillment_attempt", 0)
        ops_group = q.text("ops_group_handle")
        worker = q.text("worker_handle") or q.text("driver_handle")
        search = q.text("search_term")
        fingerprint = hashlib.sha256(repr((
            self.sb.seed, sorted(statuses or ()), ops_group, worker, search, risk, attempt, direction,
        )).encode()).hexdigest()[:16]
        after = None
        token = q.text("pagination_token")
        if token is not None:
            try:
                after, token_fp = decode_token(token)
            except ValueError:
                token_fp = None
            if token_fp != fingerprint:
                q.errors["pagination_token"] = ["Invalid pagination token for this query."]
        if q.errors:
            return validation_error("query", q.errors)
        match = _matcher(statuses, ops_group, worker, search, risk, attempt)
        with self.sb.lock:
            now = self.sb.sync()
            if after is not None and after >= len(self.sb.fleet.ordered):
                return validation_error("query", {"pagination_token": ["Invalid pagination token for this query."]})
            page, more = self.sb.fleet.select(match, after=after, limit=limit or DEFAULT_LIMIT,
                                              descending=direction == "desc")
            items = b",".join(o.summary_bytes(now) for o in page)
        next_token = json.dumps(encode_token(page[-1].seq, fingerprint)).encode() if more else b"null"
        body = b'{"orders":[' + items + b'],"pagination_token":' + next_token + b"}"
        return Response(body, media_type=JSON)

    # ------------------------------------------------------------------ GET /orders/{handle}

    def get_order(self, request: Request, handle: str) -> Response:
        q = Query(request)
        attempt = q.integer("fulfillment_attempt", 0)
        if q.errors:
            return validation_error("query", q.errors)
        with self.sb.lock:
            now = self.sb.sync()
            order = self.sb.fleet.lookup(handle, attempt=attempt)
            if order is None:
                return _not_found(handle)
            body = to_json(order.wire(now, detail=True))
        return Response(body, media_type=JSON)

    # ------------------------------------------------------------------ POST complete / cancel

    async def act(self, request: Request, handle: str, action: str) -> Response:
        q = Query(request)
        kind = q.choice("type", ("pick", "drop"))
        type_index = q.integer("type_index", 0)
        attempt = q.integer("fulfillment_attempt", 0)
        if q.errors:
            return validation_error("query", q.errors)
        body = await request.body()
        if body.strip():
            try:
                json.loads(body)
            except ValueError:
                return validation_error("json", {"_schema": ["Invalid JSON body."]})
        with self.sb.lock:
            now = self.sb.sync()
            fleet = self.sb.fleet
            order = fleet.lookup(handle, kind, type_index, attempt)
            if order is None:
                return _not_found(handle)
            try:
                if action == "complete":
                    fleet.complete(order, now)
                else:
                    fleet.cancel(order, now)
            except ConflictState:
                return _conflict(order)
            self.sb.stats.applied(action, order.key)
            payload = to_json(order.wire(now, detail=True))
        return Response(payload, media_type=JSON)


def _matcher(statuses: frozenset[str] | None, ops_group: str | None, worker: str | None,
             search: str | None, risk: bool | None, attempt: int | None) -> Any:
    """One predicate for the list filters (cheap: it runs over every order of a page scan)."""
    term = search.casefold() if search is not None else None
    rescheduled = statuses is not None and "rescheduled" in statuses

    def match(o: SimOrder) -> bool:
        if statuses is not None and o.status not in statuses and not (
            rescheduled and o.rescheduled_marked_at is not None
        ):
            return False
        if ops_group is not None and o.area.ops_group_handle != ops_group:
            return False
        if worker is not None and (o.worker is None or o.worker.handle != worker):
            return False
        if attempt is not None and o.attempt != attempt:
            return False
        if risk is not None and any(v != "green" for v in o.risks.values()) != risk:
            return False
        if term is not None and not any(term in f for f in o.search_fields):
            return False
        return True

    return match


def _not_found(handle: str) -> Response:
    return http_error(404, f"Order not found for handle {handle}")


def _conflict(order: SimOrder) -> Response:
    at = order.completed_at if order.status == "completed" else order.cancelled_at
    field = "completed_at" if order.status == "completed" else "cancelled_at"
    detail: dict[str, Any] = {"status": order.status}
    if at is not None:
        detail[field] = iso(at)
    return http_error(409, f"Order {order.handle} is already {order.status}", detail)


def _unsimulated(method: str) -> Response:
    return http_error(501, f"{method} on this path is a HyperTrack operation the sandbox does not simulate")


def _not_allowed(method: str) -> Response:
    return http_error(405, f"Method {method} not allowed")


def _raw_path(scope: dict[str, Any]) -> bytes:
    raw = scope.get("raw_path")
    if raw is None:
        raw = scope["path"].encode("utf-8")
    return raw.split(b"?", 1)[0]


# ---------------------------------------------------------------------- the outer ASGI layer


class SandboxASGI:
    """Auth, faults, request ids and the server's stats around :class:`OrdersAPI`."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sb = sandbox
        self.api = OrdersAPI(sandbox)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.api.app(scope, receive, send)
            return
        sb = self.sb
        raw_path = _raw_path(scope)
        target = route(raw_path)
        request_id = sb.next_request_id()
        auth_ok = sb.check_authorization(_header(scope, b"authorization"))
        per_order = target.kind in ("order", "action")
        info = RequestInfo(scope["method"], target.handle if per_order else None, target.action)
        decision = sb.faults.decide(info) if auth_ok and target.kind != "not_found" else OK

        def record(status: int | None, fault: str | None = decision.fault) -> None:
            sb.stats.record(RequestRecord(
                method=scope["method"], raw_path=raw_path.decode("latin-1"),
                query=scope.get("query_string", b"").decode("latin-1"), auth_ok=auth_ok, status=status,
                handle=target.handle if per_order else None, action=target.action, fault=fault,
                request_id=request_id,
            ))

        if decision.delay:
            await asyncio.sleep(decision.delay)
        if not auth_ok:
            record(401)
            await _send_response(unauthorized(), scope, receive, send, request_id)
            return
        if decision.status is not None:
            record(decision.status)
            await _send_response(_fault_response(decision), scope, receive, send, request_id)
            return
        if decision.drop_before:
            record(None)
            await _drop(scope, send)
            return
        scope = {**scope, "sandbox.target": target}
        if decision.drop_after or decision.gateway_timeout_after:
            captured: list[dict[str, Any]] = []

            async def capture(message: dict[str, Any]) -> None:
                captured.append(message)

            await self.api.app(scope, receive, capture)
            if decision.drop_after:
                record(None)
                await _drop(scope, send)
                return
            record(504)
            response = http_error(504, "Endpoint request timed out")
            await _send_response(response, scope, receive, send, request_id)
            return
        status_box: list[int] = []

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status_box.append(message["status"])
                # Record before the first byte leaves: a client that has its answer must find
                # the request in the stats (served in a thread, the order is otherwise a race).
                record(message["status"])
                message = {**message, "headers": [*message.get("headers", []), (b"apigw-requestid", request_id.encode())]}
            await send(message)

        await self.api.app(scope, receive, send_with_id)
        if not status_box:
            record(None)


def _header(scope: dict[str, Any], name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _fault_response(decision: Decision) -> Response:
    if decision.status == 429:
        return http_error(429, "Too Many Requests", headers={"Retry-After": str(decision.retry_after or 0)})
    messages = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
                504: "Endpoint request timed out"}
    return http_error(decision.status or 500, messages.get(decision.status or 500, "Server error"))


async def _send_response(response: Response, scope: dict[str, Any], receive: Any, send: Any, request_id: str) -> None:
    response.headers["apigw-requestid"] = request_id
    await response(scope, receive, send)


async def _drop(scope: dict[str, Any], send: Any) -> None:
    """Close the connection without a response.

    In process (our httpx transport) the transport turns :class:`ConnectionDropped` into
    ``httpx.RemoteProtocolError``. Under uvicorn the ASGI ``send`` is bound to the connection's
    request cycle, whose asyncio transport we abort: the client sees the connection close with
    no status line, and uvicorn, seeing a disconnected client, sends nothing and logs nothing.
    Any other server gets a response cut short (headers, part of the body, then an error).
    """
    if scope.get("sandbox.in_process"):
        raise ConnectionDropped()
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(transport, "abort"):
        transport.abort()
        for _ in range(50):
            if getattr(cycle, "disconnected", True):
                break
            await asyncio.sleep(0)
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"4096")]})
    await send({"type": "http.response.body", "body": b'{"order_handle":', "more_body": True})
    raise ConnectionDropped()
