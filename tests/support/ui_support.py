"""Helpers for the console's Pilot tests (tests/ui/).

- :func:`make_app` builds a :class:`DispatchApp` over the in-process sandbox (seed 7, frozen
  clock), optionally behind an :class:`Interceptor` that answers chosen requests itself (an
  error status, a dropped connection) and passes every other request to the sandbox.
- :func:`wait_until` pauses the pilot until a condition holds (never a timing assertion: a
  generous deadline only turns a hang into a failure).
- :func:`workers_done` waits until every worker has finished (before checking that a key sent
  nothing, say).
- :func:`footer_settled` waits until the footer draws the keys that apply now (it re-composes
  after the next refresh once the bindings change).
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
    ``seen`` records every request that reached the "network" (method, raw path); ``in_flight``
    counts the requests the sandbox has not yet answered nor seen abandoned (a cancelled caller).
    """

    inner: httpx.AsyncBaseTransport
    rules: list[Rule] = field(default_factory=list)
    seen: list[tuple[str, str]] = field(default_factory=list)
    in_flight: int = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.raw_path.decode()))
        for rule in list(self.rules):
            answer = rule(request)
            if isinstance(answer, BaseException):
                raise answer
            if answer is not None:
                return answer
        self.in_flight += 1
        try:
            return await self.inner.handle_async_request(request)
        finally:
            self.in_flight -= 1

    def gets(self, handle: str) -> int:
        """How many GETs of ``handle``'s own path reached the network."""
        return sum(1 for method, path in self.seen if method == "GET" and f"/{handle}" in path.split("?")[0])

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
    # The start-up moment comes with the first rows, as on a supervisor's machine; its grace
    # (0.3 s into a load without rows) could otherwise come first on a loaded test machine.
    # Tests of the grace set their own.
    app.session.start_up.GRACE = 60.0
    # Writes (a single c included) go through the engine: no waits unless a test is about them.
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0)
    return app, sb, interceptor


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.005)


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


async def workers_done(pilot: Any, what: str = "every worker") -> None:
    """Wait until no worker of the app is running (whatever a key press started has run its
    course, a request included), then until the messages it posted are handled."""
    await wait_until(pilot, lambda: all(w.is_finished for w in pilot.app.workers), what=what)
    await pilot.pause()


def footer_current(app: Any) -> bool:
    """Whether the current screen's footer draws exactly the shown keys that apply now, each
    enabled or disabled as its binding is (none while the footer is held: nothing is due yet)."""
    from textual.widgets import Footer

    from console.ui.textual_compat.footer import FooterKey

    screen = app.screen
    footers = list(screen.query(Footer))
    if not footers:
        return True
    footer = footers[0]
    drawn = {(key.action, not key.has_class("-disabled")) for key in footer.query(FooterKey)}
    bindings = screen.active_bindings
    shows = getattr(footer, "shows", lambda _action: True)  # ConsoleFooter leaves some out when narrow
    due = {(binding.action, enabled) for _node, binding, enabled, _tooltip in bindings.values()
           if binding.show and shows(binding.action)}
    palette = bindings.get(app.COMMAND_PALETTE_BINDING)
    if footer.show_command_palette and app.ENABLE_COMMAND_PALETTE and palette is not None:
        due.add((palette[1].action, palette[2]))
    return drawn == due


async def footer_settled(pilot: Any, what: str = "the footer's keys") -> None:
    """Wait until the footer draws the keys that apply now, and that drawing is on screen."""
    await wait_until(pilot, lambda: footer_current(pilot.app), what=what)
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
    ``keys`` pressed and its workers finished, then the footer re-composed for the keys that apply."""
    async def run_before(pilot) -> None:
        app = pilot.app
        await wait_until(pilot, lambda: app.session.loads >= 1 and not app.loading and all(w.is_finished for w in app.workers),
                         what="the first load and its workers")
        for key in keys:
            await pilot.press(key)
        await wait_until(pilot, lambda: all(w.is_finished for w in app.workers), what="the keys' workers")
        await footer_settled(pilot)  # the footer re-composes after a binding change

    return run_before
