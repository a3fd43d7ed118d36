"""Helpers for the console's Pilot tests (tests/test_ui_*.py).

- :func:`make_app` builds a :class:`DispatchApp` over the in-process sandbox (seed 7, frozen
  clock), optionally behind an :class:`Interceptor` that answers chosen requests itself (an
  error status, a dropped connection) and passes every other request to the sandbox.
- :func:`wait_until` pauses the pilot until a condition holds (never a timing assertion: a
  generous deadline only turns a hang into a failure).
- :func:`list_lines` reads what the order list renders, line by line, through its line API.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from console.api.client import OrdersClient
from console.sandbox import Sandbox
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.app import DispatchApp
from tests.support.sandbox_fixtures import FIXED_START, make_sandbox

Rule = Callable[[httpx.Request], httpx.Response | BaseException | None]


@dataclass
class Interceptor(httpx.AsyncBaseTransport):
    """Answers a request with the first rule that returns something; the sandbox answers the rest.

    A rule returns an ``httpx.Response``, an exception to raise (the network failed), or None.
    ``seen`` records every request that reached the "network" (method, raw path).
    """

    inner: httpx.AsyncBaseTransport
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.raw_path.decode()))
        for rule in list(self.rules):
            answer = rule(request)
            if isinstance(answer, BaseException):
                raise answer
            if answer is not None:
                return answer
        return await self.inner.handle_async_request(request)

    def posts(self, action: str = "complete") -> list[str]:
        return [path for method, path in self.seen if method == "POST" and path.split("?")[0].endswith(f"/{action}")]


def json_error(status: int, message: str, detail: Any = None) -> httpx.Response:
    body = {"message": message, "detail": detail if detail is not None else {}}
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def on(method: str, suffix: str, answer: Callable[[httpx.Request], httpx.Response | BaseException]) -> Rule:
    """A rule for requests of ``method`` whose path (without query) ends with ``suffix``."""

    def rule(request: httpx.Request) -> httpx.Response | BaseException | None:
        path = request.url.raw_path.decode().split("?")[0]
        if request.method == method and path.endswith(suffix):
            return answer(request)
        return None

    return rule


async def _no_sleep(_seconds: float) -> None:
    return None


def make_app(
    sandbox: Sandbox | None = None,
    *,
    settings: Settings | None = None,
    intercept: bool = True,
    orders: int = 60,
) -> tuple[DispatchApp, Sandbox, Interceptor]:
    """An app over a frozen sandbox. Client retries do not sleep; the detail has no debounce."""
    sb = sandbox if sandbox is not None else make_sandbox(orders=orders)
    interceptor = Interceptor(sb.transport())
    client = OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=interceptor if intercept else sb.transport(),
                          sleep=_no_sleep)
    app = DispatchApp(
        client,
        settings or Settings(base_url=IN_PROCESS_BASE_URL),
        sandbox=True,
        now=lambda: FIXED_START,
    )
    app.detail_controller.DETAIL_DEBOUNCE = 0.0
    # Writes (a single c included) go through the engine: no waits unless a test is about them.
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0)
    return app, sb, interceptor


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def loaded(pilot: Any, app: DispatchApp) -> None:
    """Wait until the list has been loaded at least once and nothing is loading."""
    await wait_until(pilot, lambda: app.session.loads >= 1 and not app.loading, what="the first load")
    await pilot.pause()


async def detail_loaded(pilot: Any, app: DispatchApp) -> None:
    """Wait until the highlighted order's detail has arrived (or failed)."""
    await wait_until(
        pilot,
        lambda: not any(w.group == "detail" and not w.is_finished for w in app.workers),
        what="the detail",
    )
    await pilot.pause()


def list_lines(app: DispatchApp) -> list[str]:
    """The order list's visible lines as plain text (header first), via its line API."""
    order_list = app.order_list
    lines = []
    for y in range(order_list.scrollable_content_region.height):
        strip = order_list.render_line(y)
        lines.append("".join(segment.text for segment in strip).rstrip())
    return lines


def row_line(app: DispatchApp, handle: str) -> str:
    """The rendered line of the (first visible) row showing ``handle``."""
    for line in list_lines(app)[1:]:
        if handle in line:
            return line
    raise AssertionError(f"{handle!r} is not on screen:\n" + "\n".join(list_lines(app)))


def settled(*keys: str):
    """A snapshot's ``run_before``: the first load done and every worker finished, then each of
    ``keys`` pressed and its workers finished, then a pause for the footer's re-composition."""
    async def run_before(pilot) -> None:
        app = pilot.app
        for _ in range(500):
            if app.session.loads >= 1 and not app.loading and all(w.is_finished for w in app.workers):
                break
            await pilot.pause(0.02)
        for key in keys:
            await pilot.press(key)
        for _ in range(500):
            if all(w.is_finished for w in app.workers):
                break
            await pilot.pause(0.02)
        await pilot.pause(0.3)  # the footer re-composes after a binding change

    return run_before
