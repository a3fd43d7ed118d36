"""The sandbox's HTTP face: HyperTrack's order operations, without a web framework.

- ``GET /orders/``, ``GET /orders/{order_handle}`` and ``POST /orders/{order_handle}/<action>``
  for the six write actions (complete, cancel, disable, enable, reassign, reschedule; their
  state rules are in :mod:`console.sandbox.actions`), with HyperTrack's bodies.
- Routing reads the RAW path: the handle is the raw segment percent-decoded exactly once, so
  ``/orders/a%2Fb`` addresses the order ``a/b`` (a framework routing on the decoded path would
  make that order unreachable). Literal paths (``/orders/track``, ``/plans``, ...) are matched
  before ``{order_handle}``; real but unsimulated operations answer 501.
- Basic auth on everything (401 ``HTTPError``); 404 ``HTTPError`` for unknown handles; 422
  ``ValidationError`` for bad parameters or bodies; 409 ``HTTPError`` for an action on an order
  already completed or cancelled, or in a status the action does not apply to (a sandbox
  assumption: HyperTrack does not say). A 405 names the path's methods in ``Allow``.
- Every response carries a unique ``apigw-requestid`` header.

One request in, one response out: :meth:`SandboxAPI.handle` takes a :class:`SandboxRequest`
(method, raw path, query string, headers, body) and returns a :class:`SandboxResponse` (status,
headers, body), or ``None`` when a fault drops the connection. Two thin adapters carry it:
:mod:`console.sandbox.transport` (an httpx transport, in process: what the console's embedded
sandbox uses, with no ASGI and no Starlette to import at start-up) and
:mod:`console.sandbox.asgi` (the ASGI app uvicorn serves over HTTP).

Faults (:mod:`console.sandbox.faults`) are applied by :class:`SandboxAPI`, the outer layer, so
the :class:`OrdersAPI` handlers only ever implement the contract.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import formatdate
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote_to_bytes

from console.sandbox import actions
from console.sandbox.actions import WRITE_ACTIONS
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
UNSIMULATED_ACTIONS = frozenset({b"candidate_workers", b"webhooks", b"events", b"tasks"})
ACTIONS = {name.encode(): name for name in WRITE_ACTIONS}
TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off"})


class ConnectionDropped(Exception):
    """"The server closed the connection, no response": raised by the ASGI app when it has no
    connection of its own to close (see :func:`console.sandbox.asgi._drop`)."""


@dataclass(frozen=True)
class SandboxRequest:
    """One HTTP request as the sandbox sees it."""

    method: str
    #: The path as sent, still percent-encoded, without the query.
    raw_path: bytes
    query_string: bytes = b""
    #: Header names in lower case, as in ASGI.
    headers: Sequence[tuple[bytes, bytes]] = ()
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None


@dataclass
class SandboxResponse:
    """One HTTP response: status, raw headers (lower-case names, in order) and body."""

    status: int
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def make(cls, body: bytes, status: int = 200, media_type: str = "application/json",
             headers: dict[str, str] | None = None) -> "SandboxResponse":
        """The headers a Starlette ``Response`` of the same arguments had (the sandbox's answers
        stay byte-identical to before it left Starlette): the given ones, then content-length,
        then content-type (``; charset=utf-8`` for ``text/*``)."""
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
        names = {k for k, _ in raw}
        if b"content-length" not in names and not (status < 200 or status in (204, 304)):
            raw.append((b"content-length", str(len(body)).encode("latin-1")))
        if b"content-type" not in names:
            if media_type.startswith("text/") and "charset=" not in media_type.lower():
                media_type += "; charset=utf-8"
            raw.append((b"content-type", media_type.encode("latin-1")))
        return cls(status, raw, body)

    def with_header(self, name: bytes, value: bytes) -> "SandboxResponse":
        return SandboxResponse(self.status, [*self.headers, (name, value)], self.body)


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
               headers: dict[str, str] | None = None) -> SandboxResponse:
    body = to_json({"detail": detail or {}, "message": message})
    return SandboxResponse.make(body, status, JSON, headers)


def validation_error(location: str, errors: dict[str, list[str]]) -> SandboxResponse:
    body = to_json({"detail": {location: errors}, "message": "Request validation failed"})
    return SandboxResponse.make(body, 422, JSON)


def unauthorized() -> SandboxResponse:
    return http_error(401, "Authentication credentials were missing or invalid",
                      headers={"WWW-Authenticate": 'Basic realm="HyperTrack"'})


# ---------------------------------------------------------------------- query parsing


class Query:
    """Query parameters with webargs/marshmallow-style messages collected per field."""

    def __init__(self, request: SandboxRequest) -> None:
        # As Starlette's QueryParams read it: latin-1, blank values kept, the last repeat wins.
        self.params = dict(parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True))
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

    def timestamp(self, name: str) -> float | None:
        """A list date filter's ``YYYY-MM-DD HH:mm:ss`` (read in UTC), as UNIX seconds."""
        raw = self.text(name)
        if raw is None:
            return None
        try:
            when = datetime.strptime(raw, "%Y-%m-%d %H:%M:%S")
        except ValueError:
            self.errors[name] = ["Not a valid datetime."]
            return None
        return when.replace(tzinfo=timezone.utc).timestamp()

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


# ---------------------------------------------------------------------- the handlers


class OrdersAPI:
    """Request handlers; every fleet access holds the sandbox lock (the served sandbox runs in
    its own thread while tests read the fleet)."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sb = sandbox

    async def dispatch(self, request: SandboxRequest, target: Target | None = None) -> SandboxResponse:
        method = request.method
        if not request.raw_path.startswith(b"/"):
            # What the Starlette app this replaced answered outside its one route ("/{path}").
            return SandboxResponse.make(b"Not Found", 404, "text/plain")
        if method not in ALL_METHODS:
            # Likewise for a method its route did not list (TRACE, CONNECT, made-up ones).
            return SandboxResponse.make(b"Method Not Allowed", 405, "text/plain",
                                        {"Allow": ", ".join(ALL_METHODS)})
        target = target or route(request.raw_path)
        if target.kind == "list":
            if method == "GET":
                return self.list_orders(request)
            if method == "POST":
                return _unsimulated(method)
            return _not_allowed(method, "GET, POST")
        if target.kind == "order":
            if method == "GET":
                return self.get_order(request, target.handle or "")
            if method == "PATCH":
                return _unsimulated(method)
            return _not_allowed(method, "GET, PATCH")
        if target.kind == "action":
            if method == "POST":
                return self.act(request, target.handle or "", target.action or "")
            return _not_allowed(method, "POST")
        if target.kind == "unsimulated":
            return _unsimulated(method)
        return http_error(404, "Not found")

    # ------------------------------------------------------------------ GET /orders/

    def list_orders(self, request: SandboxRequest) -> SandboxResponse:
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
        created_from = q.timestamp("created_at_from")
        created_to = q.timestamp("created_at_to")
        fingerprint = hashlib.sha256(repr((
            self.sb.seed, sorted(statuses or ()), ops_group, worker, search, risk, attempt, direction,
            created_from, created_to,
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
                                              descending=direction == "desc",
                                              created_from=created_from, created_to=created_to)
            items = b",".join(o.summary_bytes(now) for o in page)
        next_token = json.dumps(encode_token(page[-1].seq, fingerprint)).encode() if more else b"null"
        body = b'{"orders":[' + items + b'],"pagination_token":' + next_token + b"}"
        # The simulated clock's time, as a real server dates its answers: a client measures a
        # date filter's window on the server's clock (console/api/client.py window_start).
        return SandboxResponse.make(body, headers={"Date": formatdate(now, usegmt=True)})

    # ------------------------------------------------------------------ GET /orders/{handle}

    def get_order(self, request: SandboxRequest, handle: str) -> SandboxResponse:
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
        return SandboxResponse.make(body)

    # ------------------------------------------------------------------ POST /orders/{handle}/<action>

    def act(self, request: SandboxRequest, handle: str, action: str) -> SandboxResponse:
        """One write action (console.sandbox.actions holds the rules): the leg identity from
        the query, then the body, then the order, then the state rules."""
        q = Query(request)
        kind = q.choice("type", ("pick", "drop"))
        type_index = q.integer("type_index", 0)
        attempt = q.integer("fulfillment_attempt", 0)
        if q.errors:
            return validation_error("query", q.errors)
        body: Any = None
        if request.body.strip():
            try:
                body = json.loads(request.body)
            except ValueError:
                return validation_error("json", {"_schema": ["Invalid JSON body."]})
        try:
            params = actions.read_body(action, body)
        except actions.BadBody as exc:
            return validation_error("json", exc.errors)
        # A reassign body may name the leg (order_type, type_index) the query leaves out.
        kind = kind if kind is not None else params.order_type
        type_index = type_index if type_index is not None else params.type_index
        with self.sb.lock:
            now = self.sb.sync()
            fleet = self.sb.fleet
            order = fleet.lookup(handle, kind, type_index, attempt)
            if order is None:
                return _not_found(handle)
            try:
                result = actions.apply(fleet, order, action, params, now)
            except ConflictState:
                return _conflict(order)
            except actions.NotApplicable as exc:
                return http_error(409, exc.message(), exc.detail())
            except actions.BadBody as exc:
                return validation_error("json", exc.errors)
            self.sb.stats.applied(action, order.key)
            payload = to_json(result.wire(now, detail=True))
        return SandboxResponse.make(payload)


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


def _not_found(handle: str) -> SandboxResponse:
    return http_error(404, f"Order not found for handle {handle}")


def _conflict(order: SimOrder) -> SandboxResponse:
    at = order.completed_at if order.status == "completed" else order.cancelled_at
    field = "completed_at" if order.status == "completed" else "cancelled_at"
    detail: dict[str, Any] = {"status": order.status}
    if at is not None:
        detail[field] = iso(at)
    return http_error(409, f"Order {order.handle} is already {order.status}", detail)


def _unsimulated(method: str) -> SandboxResponse:
    return http_error(501, f"{method} on this path is a HyperTrack operation the sandbox does not simulate")


def _not_allowed(method: str, allow: str) -> SandboxResponse:
    """A 405 names, in ``Allow``, the methods HyperTrack has on the path (RFC 9110 15.5.6): the
    ones the sandbox simulates and the ones it answers 501."""
    return http_error(405, f"Method {method} not allowed", headers={"Allow": allow})


# ---------------------------------------------------------------------- the outer layer


class SandboxAPI:
    """Auth, faults, request ids and the server's stats around :class:`OrdersAPI`."""

    def __init__(self, sandbox: "Sandbox") -> None:
        self.sb = sandbox
        self.orders = OrdersAPI(sandbox)

    async def handle(self, request: SandboxRequest) -> SandboxResponse | None:
        """The response to send, or None: close the connection without one (a drop fault).

        The request is in the stats before this returns: a client that has its answer must
        find it there (served in a thread, the order is otherwise a race)."""
        sb = self.sb
        target = route(request.raw_path)
        request_id = sb.next_request_id()
        auth_ok = sb.check_authorization(request.header(b"authorization"))
        per_order = target.kind in ("order", "action")
        info = RequestInfo(request.method, target.handle if per_order else None, target.action)
        decision = sb.faults.decide(info) if auth_ok and target.kind != "not_found" else OK

        def record(status: int | None, fault: str | None = decision.fault) -> None:
            sb.stats.record(RequestRecord(
                method=request.method, raw_path=request.raw_path.decode("latin-1"),
                query=request.query_string.decode("latin-1"), auth_ok=auth_ok, status=status,
                handle=target.handle if per_order else None, action=target.action, fault=fault,
                request_id=request_id,
            ))

        def answer(response: SandboxResponse, status: int | None = None) -> SandboxResponse:
            record(response.status if status is None else status)
            return response.with_header(b"apigw-requestid", request_id.encode())

        if decision.delay:
            await asyncio.sleep(decision.delay)
        if not auth_ok:
            return answer(unauthorized())
        if decision.status is not None:
            return answer(_fault_response(decision))
        if decision.drop_before:
            record(None)
            return None
        response = await self.orders.dispatch(request, target)
        if decision.drop_after:
            record(None)  # applied (or refused) by the handler; the answer never leaves
            return None
        if decision.gateway_timeout_after:
            return answer(http_error(504, "Endpoint request timed out"))
        return answer(response)


def _fault_response(decision: Decision) -> SandboxResponse:
    if decision.status == 429:
        return http_error(429, "Too Many Requests", headers={"Retry-After": str(decision.retry_after or 0)})
    messages = {500: "Internal server error", 502: "Bad gateway", 503: "Service unavailable",
                504: "Endpoint request timed out"}
    return http_error(decision.status or 500, messages.get(decision.status or 500, "Server error"))
