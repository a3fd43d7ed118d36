"""A sandbox served over loopback HTTP for the benchmarks, in its own process.

Unlike ``dispatch-console sandbox``, the fleet's clock is frozen (a :class:`ManualClock` set to the
start time): every run sees the same orders, and a refresh changes only what a benchmark changes
through the control endpoints below. The open orders can be trimmed to an exact count (the
extras are cancelled through the fleet's own API).

Control endpoints (no auth; only on this benchmark server; never faulted or delayed):

- ``POST /_bench/change?fraction=F`` -- a visible change (one risk colour) to that share of the
  open orders, spread evenly; their rows change and move. Undone by ``/_bench/reset``.
- ``POST /_bench/change_one?handle=H`` -- one more risk of that order turns yellow: for an
  order already red, its row changes in place (a badge) and keeps its place in the list.
- ``POST /_bench/reset`` -- undo every change.
- ``GET /_bench/list_requests`` -- the list requests received since the last call: when
  (``time.monotonic``, system-wide on Linux, so comparable with the caller's), whether it asked
  for a first page, and its ``limit``.

Prints one JSON line ``{"url": ..., "open": ...}`` on stdout when it accepts connections.

    python -m tests.benchmarks.server --orders 73000 --open 50000 [--latency 0.05]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any
from urllib.parse import parse_qs

from console.api.models import OPEN_STATUSES
from console.sandbox import ManualClock, Sandbox
from console.sandbox.order import RISK_KEYS
from console.sandbox.server import serve_in_thread

_ROTATE = {"green": "yellow", "yellow": "red", "red": "green"}


class BenchControl:
    """The ``/_bench/`` endpoints in front of the sandbox's own ASGI app."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
        self.inner = sandbox.app
        self._saved_risks: dict[Any, dict[str, str]] = {}
        self._list_requests: list[dict[str, Any]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/_bench/"):
            await self._control(scope, send)
            return
        if scope["type"] == "http" and path == "/orders/":
            query = parse_qs(scope.get("query_string", b"").decode())
            self._list_requests.append({
                # A load's first request: the first page of the open set's first query (the one
                # the server filters by status; the window's query for dispatched orders follows).
                "at": time.monotonic(), "first": "pagination_token" not in query and "status" in query,
                "limit": int(query.get("limit", ["100"])[0]),
            })
        await self.inner(scope, receive, send)

    def open_orders(self) -> list[Any]:
        return [o for o in self.sb.fleet.ordered if o.status in OPEN_STATUSES]

    async def _control(self, scope: dict[str, Any], send: Any) -> None:
        query = {k: v[0] for k, v in parse_qs(scope.get("query_string", b"").decode()).items()}
        name = scope["path"][len("/_bench/"):]
        with self.sb.lock:
            if name == "change":
                body = {"changed": self.change(float(query.get("fraction", "0.01")))}
            elif name == "change_one":
                body = {"changed": self.change_one(query["handle"])}
            elif name == "reset":
                body = {"reset": self.reset()}
            elif name == "list_requests":
                body = {"requests": self._list_requests}
                self._list_requests = []
            else:
                body = {"error": f"unknown control {name}"}
        data = json.dumps(body).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]})
        await send({"type": "http.response.body", "body": data})

    def change(self, fraction: float) -> int:
        orders = self.open_orders()
        step = max(1, round(1 / fraction)) if fraction > 0 else 0
        changed = 0
        for o in orders[::step] if step else ():
            self._saved_risks.setdefault(o.key, dict(o.risks))
            key = RISK_KEYS[changed % len(RISK_KEYS)]
            o.risks = {**o.risks, key: _ROTATE.get(o.risks.get(key, "green"), "green")}
            o.touch()
            changed += 1
        return changed

    def change_one(self, handle: str) -> int:
        """One more risk of ``handle`` turns yellow; its worst risk (and so its place in the
        console's sort) stays as it was when that is already red."""
        changed = 0
        for o in self.open_orders():
            if o.handle == handle:
                green = [k for k in RISK_KEYS if o.risks.get(k) == "green"]
                if not green:
                    continue
                self._saved_risks.setdefault(o.key, dict(o.risks))
                o.risks = {**o.risks, green[0]: "yellow"}
                o.touch()
                changed += 1
        return changed

    def reset(self) -> int:
        by_key = {o.key: o for o in self.sb.fleet.ordered}
        count = 0
        for key, risks in self._saved_risks.items():
            by_key[key].risks = risks
            by_key[key].touch()
            count += 1
        self._saved_risks.clear()
        return count


def build(orders: int, open_count: int | None, latency: float, seed: int = 7) -> Sandbox:
    sandbox = Sandbox(seed=seed, orders=orders, clock=ManualClock(time.time()))
    if latency:
        sandbox.faults.set_latency(latency)
    if open_count is not None:
        with sandbox.lock:
            now = sandbox.sync()
            for _ in range(10):  # cancelling can start a worker's next order: recount until exact
                open_orders = [o for o in sandbox.fleet.ordered if o.status in OPEN_STATUSES]
                extra = len(open_orders) - open_count
                if extra <= 0:
                    break
                for o in open_orders[:extra]:  # the oldest: the newest first page is untouched
                    sandbox.fleet.cancel(o, now)
                now = sandbox.sync()
    with sandbox.lock:
        # Every list item's JSON is cached by the sandbox until it can change (never, with the
        # clock frozen): make it now, so that every run measures the console, not a cold server.
        # Terminal orders too: the console's open set is read without a status filter.
        now = sandbox.sync()
        for o in sandbox.fleet.ordered:
            o.summary_bytes(now)
    return sandbox


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--open", type=int, default=None, help="trim the open orders to exactly this many")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added to every API response")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    sandbox = build(args.orders, args.open, args.latency, args.seed)
    control = BenchControl(sandbox)
    sandbox.app = control  # what serve_in_thread serves: the control endpoints, then the API
    open_now = len(control.open_orders())
    with serve_in_thread(sandbox) as url:
        # The credentials are the sandbox's own fake pair (console.sandbox.defaults).
        print(json.dumps({"url": url, "open": open_now}), flush=True)
        try:
            sys.stdin.read()  # until the parent closes our stdin (or dies)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
