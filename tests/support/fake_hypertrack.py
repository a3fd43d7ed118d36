"""A stateful fake HyperTrack for the bulk tests, and the checklist's invariant checks.

The fake is an ``httpx.MockTransport`` handler over an in-memory order table. Each order can be
given a script of faults, consumed one per POST (or per GET), including the one that matters
most: **apply the completion, then lose the response**. Every request is logged with the fake
clock's time, and whether the order was already completed when a POST arrived.

Besides complete it serves cancel, disable, enable, reassign and reschedule with the documented
state rules (reschedule of a dispatched or ongoing order cancels that attempt and re-creates the
order, ``unplanned``, as the next attempt); ``completed_by_us`` and ``effective`` count what any
of our actions changed.

The bulk tests import it from here (``from tests.support.fake_hypertrack import ...``); the fake's own
tests are in tests/bulk/test_bulk_fakeserver.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
from pydantic import SecretStr

from console.api.client import OrdersClient
from console.api.credentials import Credentials
from console.api.retry import Backoff
from console.bulk.journal import SUCCESS_STATES

SECRET = "fake-secret-8c1f2d9e77"
ACCOUNT = "acct-test"
BASE_URL = "https://api.hypertrack.test"


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class Req:
    t: float
    method: str
    handle: str | None
    action: str | None
    outcome: str
    completed_before: bool = False
    params: dict[str, str] = field(default_factory=dict)


class FakeHyperTrack:
    """An in-memory HyperTrack Orders API with per-request fault scripts."""

    def __init__(self, handles: Iterable[str], *, clock: FakeClock | None = None, status: str = "ongoing") -> None:
        self.clock = clock or FakeClock()
        self.orders: dict[str, dict[str, Any]] = {
            h: {"order_handle": h, "status": status, "fulfillment_attempt": 0} for h in handles
        }
        self.post_faults: dict[str, list[str]] = defaultdict(list)
        self.get_faults: dict[str, list[str]] = defaultdict(list)
        self.get_always_fails: set[str] = set()
        self.log: list[Req] = []
        #: engine events and server requests in one sequence, when a test wants the interleaving
        self.sequence: list[tuple[str, Any]] = []
        self.effective: Counter[str] = Counter()
        self.completed_by_us: set[str] = set()
        self.revoked = False
        self.revoke_after_posts: int | None = None
        self.on_post: Any = None  # a callable(handle) run when a POST arrives (before faults)
        #: Earlier attempts of re-created (rescheduled) orders, by handle, oldest first.
        self.old_attempts: dict[str, list[dict[str, Any]]] = defaultdict(list)
        #: The JSON body of every POST, in order, as (handle, action, body).
        self.bodies: list[tuple[str | None, str | None, Any]] = []
        self._expected_auth = "Basic " + base64.b64encode(f"{ACCOUNT}:{SECRET}".encode()).decode()

    # ------------------------------------------------------------------ clients

    def client(self, **options: Any) -> OrdersClient:
        options.setdefault("sleep", self.clock.sleep)
        options.setdefault("get_backoff", Backoff(base=0.1, cap=1.0, max_attempts=3))
        return OrdersClient(
            Credentials(ACCOUNT, SecretStr(SECRET)), base_url=BASE_URL,
            transport=httpx.MockTransport(self.handler), **options,
        )

    # ------------------------------------------------------------------ views for the checks

    def posts(self, handle: str | None = None) -> list[Req]:
        return [r for r in self.log if r.method == "POST" and (handle is None or r.handle == handle)]

    def gets(self, handle: str | None = None) -> list[Req]:
        return [r for r in self.log if r.method == "GET" and (handle is None or r.handle == handle)]

    def completed(self) -> set[str]:
        return {h for h, o in self.orders.items() if o["status"] == "completed"}

    # ------------------------------------------------------------------ the handler

    def _body(self, handle: str) -> dict[str, Any]:
        return dict(self.orders[handle])

    def _apply(self, handle: str, action: str = "complete", body: Any = None) -> tuple[int, str] | None:
        """Apply ``action``; None when it took effect (or changed nothing), else (status, message)
        of the refusal. Only a change counts in ``effective``."""
        order = self.orders[handle]
        status = order["status"]
        if status in ("completed", "cancelled"):
            return 409, f"Order is already {status}"
        body = body if isinstance(body, dict) else {}
        before = dict(order)
        if action == "complete":
            order.update(status="completed", completed_at="2026-01-02T03:04:05.000Z")
        elif action == "cancel":
            order.update(status="cancelled", cancelled_at="2026-01-02T03:04:05.000Z")
        elif action == "disable":
            if status == "disabled":
                return 409, "Order is already disabled"
            order.update(status="disabled", enabled_from=status, disabled_at="2026-01-02T03:04:05.000Z")
        elif action == "enable":
            if status != "disabled":
                return 409, f"Order is {status}, not disabled"
            order.update(status=order.pop("enabled_from", "ongoing"), enabled_at="2026-01-02T03:04:06.000Z")
        elif action == "reassign":
            worker = body.get("worker_handle")
            if not isinstance(worker, str) or not worker:
                return 422, "worker_handle is required"
            order.update(status="assigned", worker_handle=worker, assigned_at="2026-01-02T03:04:05.000Z")
            if body.get("ops_group_handle"):
                order["ops_group_handle"] = body["ops_group_handle"]
        elif action == "reschedule":
            at = body.get("scheduled_at")
            if not isinstance(at, str) or not at:
                return 422, "scheduled_at is required"
            if status in ("dispatched", "ongoing"):
                # Documented: cancelled and re-created, unplanned, with the new times.
                self.old_attempts[handle].append({**order, "status": "cancelled"})
                order.clear()
                order.update(order_handle=handle, status="unplanned",
                             fulfillment_attempt=before.get("fulfillment_attempt", 0) + 1)
            else:
                order["status"] = "unplanned"
            order["scheduled_at"] = at
            if body.get("scheduled_after"):
                order["scheduled_after"] = body["scheduled_after"]
        if order != before:
            self.effective[handle] += 1
            self.completed_by_us.add(handle)
        return None

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?", 1)[0]
        parts = path.strip("/").split("/")
        method = request.method
        handle = unquote(parts[1]) if len(parts) >= 2 and parts[0] == "orders" and parts[1] else None
        action = parts[2] if len(parts) >= 3 else None
        params = dict(request.url.params)
        # I2 is about completions our own requests caused (an order completed by someone else
        # before the run cannot be known without a read; the 409 path covers it).
        completed_before = handle in self.completed_by_us
        entry = Req(self.clock.now, method, handle, action, "?", completed_before, params)
        self.log.append(entry)
        self.sequence.append(("request", entry))

        def reply(status: int, body: Any, outcome: str, headers: dict[str, str] | None = None) -> httpx.Response:
            entry.outcome = outcome
            return httpx.Response(status, json=body, headers={"apigw-requestid": f"req-{len(self.log)}", **(headers or {})})

        if method == "POST" and self.revoke_after_posts is not None and len(self.posts()) > self.revoke_after_posts:
            self.revoked = True
        if request.headers.get("authorization") != self._expected_auth or self.revoked:
            return reply(401, {"detail": {}, "message": "Unauthorized"}, "401")

        if method == "GET" and handle is None:
            wanted = set(params["status"].split(",")) if "status" in params else None
            names = [h for h, o in self.orders.items() if wanted is None or o["status"] in wanted]
            start = int(params.get("pagination_token", "0"))
            limit = int(params.get("limit", "100"))
            page = names[start:start + limit]
            token = str(start + limit) if start + limit < len(names) else None
            items = [self._body(h) for h in page]
            items += [dict(o) for h in page for o in self.old_attempts.get(h, ())]
            return reply(200, {"orders": items, "pagination_token": token}, "list")
        if handle is None or handle not in self.orders:
            return reply(404, {"detail": {}, "message": f"Order {handle} not found"}, "404")

        if method == "GET" and action is None:
            if handle in self.get_always_fails:
                return reply(500, {"message": "internal error"}, "500")
            script = self.get_faults[handle]
            fault = script.pop(0) if script else None
            if fault == "500":
                return reply(500, {"message": "internal error"}, "500")
            if fault == "drop":
                entry.outcome = "dropped"
                raise httpx.ReadTimeout("timed out", request=request)
            wanted_attempt = params.get("fulfillment_attempt")
            for old in self.old_attempts.get(handle, ()):
                if wanted_attempt is not None and str(old.get("fulfillment_attempt")) == wanted_attempt:
                    return reply(200, dict(old), "200-old-attempt")
            return reply(200, self._body(handle), "200")

        if method == "POST" and action in ACTIONS:
            try:
                sent = json.loads(request.content) if request.content else None
            except ValueError:
                sent = "<not json>"
            self.bodies.append((handle, action, sent))
            if self.on_post is not None:
                self.on_post(handle)
            script = self.post_faults[handle]
            fault = script.pop(0) if script else None
            if fault in ("connect", "connect_timeout"):
                entry.outcome = fault
                exc = httpx.ConnectError if fault == "connect" else httpx.ConnectTimeout
                raise exc("connection refused", request=request)
            if fault == "cert":
                entry.outcome = fault
                raise httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
                                         request=request)
            if fault == "redirect":
                return reply(307, {"message": "moved"}, "307", {"Location": "https://evil.example/orders/x"})
            if fault == "drop_before_apply":
                entry.outcome = fault
                raise httpx.ReadTimeout("timed out", request=request)
            if fault and fault.startswith("429"):
                retry_after = fault.split(":", 1)[1] if ":" in fault else None
                return reply(429, {"message": "Too many requests"}, "429",
                             {"Retry-After": retry_after} if retry_after else None)
            if fault == "502":
                return reply(502, {"message": "Bad gateway"}, "502")
            if fault and fault.startswith("503:"):
                return reply(503, {"message": "Service unavailable"}, "503", {"Retry-After": fault[4:]})
            if fault == "422":
                return reply(422, {"detail": {"query": {"type": ["Not a valid choice."]}},
                                   "message": "Invalid \x1b[31mrequest\x1b[0m"}, "422")
            if fault == "401":
                return reply(401, {"detail": {}, "message": "Unauthorized"}, "401")
            if fault == "wrong_status":  # a 2xx that does not show the change (nothing applied)
                return reply(200, self._body(handle), "200-unchanged")
            if fault == "html":
                entry.outcome = "200-html"
                return httpx.Response(200, text="<html>maintenance</html>", headers={"content-type": "text/html"})
            refused = self._apply(handle, action, sent)
            if refused is not None:
                code, message = refused
                return reply(code, {"detail": {"status": self.orders[handle]["status"]}, "message": message},
                             str(code))
            if fault == "drop_after_apply":
                entry.outcome = fault
                raise httpx.ReadTimeout("timed out", request=request)
            if fault == "disconnect_after_apply":
                entry.outcome = fault
                raise httpx.RemoteProtocolError("Server disconnected without sending a response.", request=request)
            if fault == "504_after_apply":
                return reply(504, {"message": "Endpoint request timed out"}, "504")
            if fault == "truncated_after_apply":
                # Served over loopback (tests/support/loopback_fake.py), the body is cut short of
                # its Content-Length and the connection closed; in a MockTransport it is whole.
                return reply(200, self._body(handle), "200-truncated", {TRUNCATE_HEADER: "1"})
            if fault == "other_handle":
                other = next(h for h in self.orders if h != handle)
                return reply(200, self._body(other), "200-other")
            return reply(200, self._body(handle), "200")
        return reply(404, {"message": "no such route"}, "404")


#: A response header asking the loopback server to cut the body short (and not sent on).
TRUNCATE_HEADER = "x-fake-truncate"

#: The POST actions the fake serves.
ACTIONS = ("complete", "cancel", "disable", "enable", "reassign", "reschedule")


# ---------------------------------------------------------------------- invariants I1-I5


def order_view(order: dict[str, Any]) -> Any:
    """The fake's order as an action's ``judge`` reads one (status, worker, ops group, times)."""
    from types import SimpleNamespace

    def when(text: Any) -> Any:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if isinstance(text, str) else None

    return SimpleNamespace(status=order["status"], worker=order.get("worker_handle"),
                           ops_group=order.get("ops_group_handle"), scheduled_at=when(order.get("scheduled_at")),
                           scheduled_after=when(order.get("scheduled_after")))


def _applied(fake: FakeHyperTrack, row: dict[str, Any]) -> bool:
    from console.bulk.actions import Verdict, from_journal

    action = from_journal(row.get("action"), row.get("params"))
    return action.judge(order_view(fake.orders[row["order_handle"]])) is Verdict.APPLIED


def journal_rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM ops")]
    finally:
        conn.close()


def journal_bytes(path: Path) -> bytes:
    out = b""
    for suffix in ("", "-wal", "-shm"):
        p = Path(str(path) + suffix)
        if p.exists():
            out += p.read_bytes()
    return out


#: Outcomes of requests the fake refused before any byte reached the server (a client sees
#: ConnectError / ConnectTimeout: provably not sent).
NEVER_CONNECTED = ("connect", "connect_timeout", "cert")
#: Outcomes after which the checklist lets a POST be sent again with no read first: never
#: connected, or refused before any work (429: throttled; the checklist's fault rule 2).
REFUSED_BEFORE_WORK = NEVER_CONNECTED + ("429",)


def check_invariants(fake: FakeHyperTrack, journal_path: Path, run_handles: Iterable[str], *,
                     results: Iterable[Any] = (), outputs: Iterable[str] = (), allow_sending: bool = False) -> None:
    """The checklist's global invariants, asserted after every scenario.

    ``allow_sending``: right after a simulated crash, intents without outcomes are expected (the
    next start settles them).
    """
    run_handles = set(run_handles)
    # I1: no order outside the batch is touched.
    touched = {r.handle for r in fake.posts()}
    assert touched <= run_handles, f"orders outside the run were POSTed: {touched - run_handles}"
    # I2: no POST to an order our requests already completed, unless a reconciling GET came
    # after the previous POST for it (the residual race the checklist accepts, flagged). A
    # previous POST that never connected, or was refused before any work (429), did nothing: the
    # retry the checklist allows for it needs no GET of its own (the GET before that attempt
    # still counts).
    for i, req in enumerate(fake.log):
        if req.method == "POST" and req.completed_before:
            earlier = [r for r in fake.log[:i] if r.handle == req.handle]
            last_post = max((j for j, r in enumerate(earlier)
                             if r.method == "POST" and r.outcome not in REFUSED_BEFORE_WORK), default=-1)
            assert any(r.method == "GET" for r in earlier[last_post + 1:]), (
                f"POST to completed order {req.handle} without a reconciling GET first"
            )
    # Never more than one effective completion per order (and the server agrees).
    assert all(n <= 1 for n in fake.effective.values())
    rows = journal_rows(journal_path)
    # I3: every op ends in exactly one final state or visibly in doubt; none left "sending".
    for row in rows:
        assert allow_sending or row["state"] != "sending", (
            f"op {row['order_handle']} left with an intent and no outcome")
    results = list(results)
    if results:
        by_handle = Counter(r.ref.order_handle for r in results if not r.earlier_run)
        assert all(n == 1 for n in by_handle.values()), f"an order has more than one result: {by_handle}"
    # I4: the journal never claims an action took effect (completed, cancelled, reassigned to
    # that worker, ...) unless the server shows it, judged by the op's own recorded action.
    row_by_op = {row["op_id"]: row for row in rows}
    for row in rows:
        if row["state"] in SUCCESS_STATES:
            assert _applied(fake, row), row
    for r in results:
        if r.status.is_success:
            assert r.op_id in row_by_op and _applied(fake, row_by_op[r.op_id]), r
    # I5: the secret is nowhere.
    basic = base64.b64encode(f"{ACCOUNT}:{SECRET}".encode())
    blob = journal_bytes(journal_path)
    assert SECRET.encode() not in blob and basic not in blob
    for text in [*outputs, *(repr(r) for r in results)]:
        assert SECRET not in text and basic.decode() not in text
