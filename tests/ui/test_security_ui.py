"""Hostile and malformed API data through the whole console (Pilot): the list rows, the detail
pane, the confirmation dialog, toasts and the banner show every string literally and escaped;
nothing crashes; a malformed answer to a complete is never shown as a completion; screenshots
are valid XML with no raw control characters.

The API is an httpx.MockTransport serving crafted JSON (tests.support.hostile.hostile_order), so every
field a supervisor reads can carry the corpus.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from pydantic import SecretStr
from rich.cells import cell_len, set_cell_size

from console.api import Credentials, OrdersClient
from console.api.models import OrderRef
from console.api.retry import Backoff
from console.settings import Settings
from console.ui.app import DispatchApp
from console.ui.screens.confirm import ConfirmComplete
from tests.support.hostile import (
    COMBINED,
    FAKE_ACCOUNT,
    FAKE_SECRET,
    HOSTILE,
    HUGE_INT,
    SHORT_HOSTILE,
    assert_no_raw_controls,
    check_svg,
    find_leaks,
    hostile_order,
    screen_text,
    shown,
)

NOW = datetime(2026, 1, 1, 10, 7, tzinfo=timezone.utc)
BASE = "http://127.0.0.1:8999"
SIZE = (200, 60)

Answer = Callable[[httpx.Request], httpx.Response | BaseException]


def json_response(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, content=json.dumps(body).encode(), headers={"content-type": "application/json"})


def raw(content: bytes, status: int = 200, ctype: str = "application/json") -> httpx.Response:
    return httpx.Response(status, content=content, headers={"content-type": ctype})


class HostileAPI:
    """A crafted HyperTrack: a list page, ``GET /orders/{h}`` by handle, scripted answers.

    ``list_answer``, ``get_answer`` and ``post_answer`` replace the default answers when set.
    """

    def __init__(self, orders: list[dict[str, Any]]) -> None:
        self.orders = {o["order_handle"]: o for o in orders}
        self.list_answer: Answer | None = None
        self.get_answer: Answer | None = None
        self.post_answer: Answer | None = None
        #: Per-handle answers to POST .../complete (a callable of the handle).
        self.post_answers: dict[str, Callable[[str], httpx.Response | BaseException]] = {}
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.raw_path.decode().split("?")[0]
        self.seen.append((request.method, path))
        if path == "/orders/":
            answer = self.list_answer or (lambda r: json_response({"orders": list(self.orders.values())}))
        elif request.method == "GET":
            answer = self.get_answer or self._get
        else:
            answer = self.post_answer or self._complete
        result = answer(request)
        if isinstance(result, BaseException):  # the network failed
            raise result
        return result

    def _handle(self, request: httpx.Request) -> str:
        return unquote(request.url.raw_path.decode().split("?")[0].split("/")[2])

    def _get(self, request: httpx.Request) -> httpx.Response:
        order = self.orders.get(self._handle(request))
        return json_response(order) if order else json_response({"message": "no such order"}, 404)

    def _complete(self, request: httpx.Request) -> httpx.Response | BaseException:
        handle = self._handle(request)
        if handle in self.post_answers:
            return self.post_answers[handle](handle)
        order = self.orders[handle]
        order.update(status="completed", completed_at="2026-01-01T10:06:00Z")
        return json_response(order)

    def posts(self) -> list[str]:
        return [p for m, p in self.seen if m == "POST"]


async def _no_sleep(_seconds: float) -> None:
    return None


def make_app(api: HostileAPI, **client_options: Any) -> DispatchApp:
    client = OrdersClient(
        Credentials(FAKE_ACCOUNT, SecretStr(FAKE_SECRET)), base_url=BASE,
        transport=httpx.MockTransport(api), sleep=_no_sleep, get_backoff=Backoff(max_attempts=1),
        **client_options,
    )
    app = DispatchApp(client, Settings(base_url=BASE), now=lambda: NOW)
    app.detail_controller.DETAIL_DEBOUNCE = 0.0
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0)
    return app


class NotifyRecorder:
    """Wraps ``app.notify``: every toast is recorded, and one with markup on is a failure (an
    API string in it would be parsed)."""

    def __init__(self, app: DispatchApp) -> None:
        self.messages: list[str] = []
        original = app.notify

        def notify(message: str, *, markup: bool = True, **kwargs: Any) -> None:
            assert markup is False, f"notify() with markup on: {message!r}"
            assert_no_raw_controls(message, "toast")
            self.messages.append(message)
            original(message, markup=markup, **kwargs)

        app.notify = notify  # type: ignore[method-assign]


async def wait_until(pilot: Any, condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.005)


def idle(app: DispatchApp) -> bool:
    return not any(w.group in ("detail", "complete") and not w.is_finished for w in app.workers)


async def loaded(pilot: Any, app: DispatchApp) -> None:
    await wait_until(pilot, lambda: (app.session.loads >= 1 or app.session.load_error is not None) and not app.loading, "the list")
    await wait_until(pilot, lambda: idle(app), "the detail")
    await pilot.pause()


async def select(pilot: Any, app: DispatchApp, handle: str) -> None:
    ref = OrderRef(handle, "drop", 0, 0)  # the leg hostile_order() builds
    assert app.order_list.select_ref(ref), f"{handle!r} is not in the list"
    await pilot.pause()
    await wait_until(pilot, lambda: idle(app), "the detail")
    await pilot.pause()


def screen_lines(app: DispatchApp) -> list[str]:
    text = screen_text(app)
    assert_no_raw_controls(text, "screen")
    return text.splitlines()


def line_with(lines: list[str], *parts: str) -> str:
    for line in lines:
        position = 0
        for part in parts:
            found = line.find(part, position)
            if found < 0:
                break
            position = found + len(part)
        else:
            return line
    raise AssertionError(f"no line with {parts!r} in:\n" + "\n".join(lines))


def dialog_text(app: DispatchApp) -> str:
    """The confirmation dialog's text, its wrapped lines joined again with spaces (the dialog is
    drawn between two '█' borders)."""
    inside = []
    for line in screen_lines(app):
        parts = line.split("█")
        if len(parts) >= 3 and parts[1].strip(" ▀▄"):
            inside.append(parts[1].strip())
    return " ".join(inside)


async def confirm_shown(pilot: Any, app: DispatchApp) -> str:
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmComplete), "the confirmation")
    await wait_until(pilot, lambda: "Complete order" in dialog_text(app), "the dialog drawn")
    return dialog_text(app)


def cell_prefix(text: str, cells: int) -> str:
    """The start of ``text`` that fits ``cells`` terminal cells (what a cut cell shows)."""
    return text if cell_len(text) <= cells else set_cell_size(text, cells).rstrip()


def check_screenshot(app: DispatchApp) -> str:
    svg = app.export_screenshot()
    check_svg(svg)
    assert find_leaks(svg) == []
    return svg


# --------------------------------------------------------------------------- list and detail


# One of each kind of attack for the default run; every string of the corpus under -m slow
# (the detail pane's own tests, tests/ui/test_detail.py, go through the whole corpus too).
REPRESENTATIVE = ["close_tag", "click_action", "ltd", "trailing_backslash", "osc_title_st", "osc52_clipboard",
                  "c1_csi", "nul", "bidi_rlo", "zero_width", "emoji_wide", "log_injection"]


async def _rows_and_detail(names: list[str]) -> None:
    orders = [hostile_order(f"h-{name}", text) for name, text in SHORT_HOSTILE.items()]
    api = HostileAPI(orders)
    app = make_app(api)
    toasts = NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        lines = screen_lines(app)
        for name, text in SHORT_HOSTILE.items():
            # List row: worker, ops group and address columns show the escaped text (cut to the
            # column, never re-interpreted: the first cells are exactly the sanitized string's).
            line_with(lines, f"h-{name}"[:16], cell_prefix(shown(text), 14), cell_prefix(shown(text), 11))
        for name in names:
            text = SHORT_HOSTILE[name]
            await select(pilot, app, f"h-{name}")
            lines = screen_lines(app)
            expected = shown(text)
            line_with(lines, "Destination", expected)
            line_with(lines, "Worker", expected)
            line_with(lines, "Ops group", expected)
            line_with(lines, "Metadata", f"{expected}: {expected}")
            line_with(lines, "note: " + expected)
            line_with(lines, "09:00:00", expected)  # the unknown timeline event type
            line_with(lines, "yellow", expected)  # an unknown risk key, not re-cased
        assert app.is_running
        check_screenshot(app)
    assert not any("could not" in m for m in toasts.messages)


async def test_hostile_strings_in_every_row_and_detail_are_shown_literally():
    await _rows_and_detail(REPRESENTATIVE)


@pytest.mark.slow
async def test_hostile_strings_in_every_row_and_detail_whole_corpus():
    await _rows_and_detail(list(SHORT_HOSTILE))


async def test_hostile_handles_are_escaped_in_the_list_and_the_detail():
    handles = {name: f"{text[:40]}" for name, text in SHORT_HOSTILE.items() if text.strip() == text}
    orders = [hostile_order(h, "plain") for h in handles.values()]
    api = HostileAPI(orders)
    app = make_app(api)
    NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        lines = screen_lines(app)
        for handle in handles.values():
            line_with(lines, cell_prefix(shown(handle), 15))
        for name in ("click_action", "osc_title_bel", "bidi_rlo", "nul", "emoji_wide"):
            await select(pilot, app, handles[name])
            line_with(screen_lines(app), cell_prefix(shown(handles[name]), 60))
        check_screenshot(app)


async def test_numbers_and_times_no_float_can_hold_do_not_crash_the_list_or_detail():
    orders = [
        hostile_order("h-long", HOSTILE["long"], metadata={HOSTILE["long"]: HOSTILE["long"]}),
        hostile_order("h-huge", COMBINED, distance=HUGE_INT, duration=-HUGE_INT, fulfillment_attempt=HUGE_INT,
                      capacity_used=HUGE_INT, expected_service_time=HUGE_INT, tracking_rate=HUGE_INT,
                      estimate={"arrive_at": "2026-01-01T11:00:00Z", "distance": HUGE_INT, "duration": HUGE_INT,
                                "initial_arrive_at": "99999-01-01T00:00:00Z"}),
        hostile_order("h-times", "x", scheduled_at="not a time", created_at=10 ** 30, scheduled_after=-10 ** 30,
                      completed_at="9999-12-31T23:59:59+23:59", estimate={"arrive_at": "0000-00-00T00:00:00Z"}),
        hostile_order("h-types", "x", metadata=[1, 2], risks="red", region="nowhere", product_type="x",
                      timeline={"type": "not a list"}, destination={"geometry": {"type": "Point",
                                                                                "coordinates": [HUGE_INT, -HUGE_INT]}}),
    ]
    api = HostileAPI(orders)
    app = make_app(api)
    NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for order in orders:
            if app.order_list.select_ref(OrderRef(order["order_handle"], "drop", 0, order.get("fulfillment_attempt", 0))):
                await pilot.pause()
                await wait_until(pilot, lambda: idle(app), "the detail")
            lines = screen_lines(app)
            if order["order_handle"] == "h-long":
                line_with(lines, "Worker", "L" * 40)  # a 5,000-character value: shown, wrapped
        assert app.is_running
        check_screenshot(app)


# --------------------------------------------------------------------------- the complete flow

HANDLE = "[/oops] [bold]x[/] ord"
ERROR_TEXT = COMBINED + " " + HOSTILE["log_injection"]


def _error(status: int) -> Callable[[str], httpx.Response]:
    body = {"message": ERROR_TEXT,
            "detail": {"query": {"fulfillment_attempt": [ERROR_TEXT]}, "body": {"[b]type[/]": ["[/x]"]}}}
    return lambda handle: json_response(body, status)


def _duplicate(handle: str) -> httpx.Response:
    # '"order_handle": "someone-else", "order_handle": <handle>': the last wins in pydantic.
    return raw(b'{"order_handle": "someone-else", "order_handle": ' + json.dumps(handle).encode()
               + b', "status": "completed"}')


DEEP = b'{"a":' * 5000 + b"1" + b"}" * 5000

# name -> (the answer to the POST for that order's handle, words the toast must hold). An answer
# that may have applied is read back (the order is not completed), sent again once the settle
# window has passed (none in these tests), up to the engine's limit: "did not take effect".
COMPLETE_ANSWERS: dict[str, tuple[Callable[[str], httpx.Response | BaseException], str]] = {
    "422_field_errors": (_error(422), "rejected by the server (HTTP 422)"),
    "404": (_error(404), "order not found (HTTP 404)"),
    "409": (_error(409), "does not allow it (HTTP 409)"),
    "502_html": (lambda h: raw(b"<html><body>\x1b]0;pwned\x07 Bad gateway</body></html>", 502, "text/html"),
                 "did not take effect"),
    "200_html": (lambda h: raw(b"<!DOCTYPE html><html>Welcome [/oops]</html>", 200, "text/html"),
                 "did not take effect"),
    "200_empty": (lambda h: raw(b""), "did not take effect"),
    "200_truncated": (lambda h: raw(b'{"order_handle": ' + json.dumps(h).encode() + b', "status": "comp'),
                      "did not take effect"),
    "200_other_handle": (lambda h: json_response({"order_handle": "someone-else", "status": "completed"}),
                         "did not take effect"),
    "200_duplicate_keys": (_duplicate, "did not take effect"),
    "200_not_completed": (lambda h: json_response({"order_handle": h, "status": "[bold]ongoing[/]\x1b[2J"}),
                          "did not take effect"),
    "200_nan": (lambda h: raw(b'{"order_handle": ' + json.dumps(h).encode() + b', "status": "completed",'
                              b' "distance": NaN}'), "did not take effect"),
    "200_deep": (lambda h: raw(b'{"order_handle": ' + json.dumps(h).encode() + b', "status": "completed",'
                               b' "metadata": ' + DEEP + b"}"), "did not take effect"),
    "200_too_big": (lambda h: raw(b'{"order_handle": ' + json.dumps(h).encode() + b', "status": "completed",'
                                  b' "pad": "' + b"x" * 300_000 + b'"}'), "did not take effect"),
    "200_wrong_types": (lambda h: json_response({"order_handle": 12, "status": ["completed"]}),
                        "did not take effect"),
    "dropped": (lambda h: httpx.ReadError("connection reset \x1b[2J"), "did not take effect"),
}


# Each malformed kind is proven against the client in tests/api/test_security_client.py; through the
# UI the default run takes one of each outcome class, -m slow takes them all.
COMPLETE_DEFAULT = ["422_field_errors", "409", "502_html", "200_duplicate_keys", "dropped"]


async def test_failed_or_malformed_completes_are_shown_escaped_and_never_as_done():
    await _complete_scenarios(COMPLETE_DEFAULT)


@pytest.mark.slow
async def test_every_malformed_complete_answer_through_the_ui():
    await _complete_scenarios(list(COMPLETE_ANSWERS))


async def _complete_scenarios(names: list[str]) -> None:
    """One app, one order per scenario (its handle is hostile markup plus the scenario name),
    each completed through the dialog. The last one gets a valid answer: the control that shows
    a completion *is* recognised, so the checks above it can fail."""
    handles = {name: f"{HANDLE} {name}" for name in names}
    control = f"{HANDLE} control"
    api = HostileAPI([hostile_order(h, COMBINED) for h in [*handles.values(), control]])
    api.post_answers = {handles[name]: COMPLETE_ANSWERS[name][0] for name in names}
    app = make_app(api, max_response_bytes=200_000)
    toasts = NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for name, title in [*((n, COMPLETE_ANSWERS[n][1]) for n in names), ("control", "Completed")]:
            handle = handles.get(name, control)
            ref = OrderRef(handle, "drop", 0, 0)
            before_posts, before_toasts = len(api.posts()), len(toasts.messages)
            await select(pilot, app, handle)
            await pilot.press("c")
            dialog = await confirm_shown(pilot, app)
            assert f"Complete order {handle}?" in dialog, name
            assert "Worker: " + shown(COMBINED) in dialog, name
            assert "Destination: " + shown(COMBINED) in dialog, name
            if name == "422_field_errors":
                check_screenshot(app)  # the dialog over the list, once
            await pilot.press("y")
            await wait_until(pilot, lambda: len(api.posts()) > before_posts, f"the POST ({name})")
            await wait_until(pilot, lambda: idle(app) and not app.bulk.singles.completing and len(toasts.messages) > before_toasts,
                             f"the outcome ({name})")
            await pilot.pause()

            from urllib.parse import quote
            assert api.posts()[-1] == f"/orders/{quote(handle, safe='')}/complete", name
            new_toasts = toasts.messages[before_toasts:]
            row = app.order_list.table.get(ref)
            lines = screen_lines(app)
            if name == "control":
                assert f"Completed {handle}." in new_toasts
                assert row is not None and row.status == "completed"
                continue
            assert row is not None and row.status != "completed", f"{name}: a failed complete is shown as done"
            assert not any(m.startswith("Completed") for m in new_toasts), (name, new_toasts)
            toast = next((m for m in new_toasts if title in m), None)
            assert toast is not None, (name, new_toasts)
            if name.startswith(("422", "404", "409")):
                assert shown(ERROR_TEXT) in toast, name
            if name.startswith("422"):
                line_with(lines, f"query.fulfillment_attempt: {shown(ERROR_TEXT)[:30]}")
                line_with(lines, "body.[b]type[/]: [/x]")
        assert app.is_running
        check_screenshot(app)
        assert find_leaks("\n".join(toasts.messages)) == []


# The client refuses every kind (tests/api/test_security_client.py); here: that the UI says so.
UNSENDABLE = ["h-\x1b]0;pwned\x07", "h-\u202eevil", "%2e%2e"]


async def test_orders_with_unsendable_handles_are_escaped_and_never_posted():
    api = HostileAPI([hostile_order(h, "x") for h in UNSENDABLE])
    app = make_app(api)
    toasts = NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for handle in UNSENDABLE:
            before = len(toasts.messages)
            await select(pilot, app, handle)
            line_with(screen_lines(app), shown(handle))
            await pilot.press("c")
            assert f"Complete order {shown(handle)}?" in await confirm_shown(pilot, app)
            await pilot.press("y")
            await wait_until(pilot, lambda: idle(app) and not app.bulk.singles.completing and len(toasts.messages) > before,
                             "the outcome")
            assert any("not sent: invalid request" in m for m in toasts.messages[before:]), toasts.messages
        assert api.posts() == []
        assert app.is_running
        check_screenshot(app)


# --------------------------------------------------------------------------- loading failures

LIST_ANSWERS: dict[str, Answer] = {
    "500_hostile_message": lambda r: json_response({"message": ERROR_TEXT}, 500),
    "401_html": lambda r: raw(b"<html>\x1b]2;pwned\x1b\\ denied</html>", 401, "text/html"),
    "200_html": lambda r: raw(b"<html>maintenance</html>", 200, "text/html"),
    "200_truncated": lambda r: raw(b'{"orders": [{"order_handle": "a", "sta'),
    "200_deep": lambda r: raw(b'{"orders": ' + b"[" * 5000 + b"]" * 5000 + b"}"),
    "200_wrong_shape": lambda r: json_response({"orders": {"a": 1}}),
    "dropped": lambda r: httpx.RemoteProtocolError("Server disconnected \x1b[2J"),
}


async def test_failed_list_loads_are_one_escaped_banner():
    """Each answer in turn (the first load, then refreshes with r): one banner, escaped."""
    api = HostileAPI([])
    app = make_app(api)
    NotifyRecorder(app)
    names = list(LIST_ANSWERS)
    api.list_answer = LIST_ANSWERS[names[0]]
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for index, name in enumerate(names):
            if index:
                api.list_answer = LIST_ANSWERS[name]
                failures = len([p for m, p in api.seen if p == "/orders/"])
                await pilot.press("r")
                await wait_until(pilot, lambda: len([p for m, p in api.seen if p == "/orders/"]) > failures
                                 and not app.loading, f"the reload ({name})")
                await pilot.pause()
            lines = screen_lines(app)
            line_with(lines, "OFFLINE", "Could not load the orders")
            if name == "500_hostile_message":
                assert shown(ERROR_TEXT)[:60] in "".join(line.strip(" ▏") for line in lines)
            assert sum("OFFLINE" in line for line in lines) == 1, name
        assert app.is_running
        check_screenshot(app)


async def test_a_page_with_unreadable_orders_lists_the_rest_and_says_so():
    good = [hostile_order(f"good-{i}", COMBINED) for i in range(3)]
    bad = [{"order_handle": 123, "status": "ongoing"}, {"order_handle": "bad-\x1b[2J", "status": None},
           {"order_handle": "bad-nan", "status": "ongoing", "metadata": {"x": float("nan")}}, "not an object"]
    api = HostileAPI(good)
    page = json.dumps({"orders": good + bad}, allow_nan=True).encode()
    api.list_answer = lambda r: raw(page)
    app = make_app(api)
    toasts = NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        assert app.order_list.table.total == 3
        assert any("could not be read" in m for m in toasts.messages), toasts.messages
        screen_lines(app)
        check_screenshot(app)


DETAIL_ANSWERS: dict[str, Answer] = {
    "html": lambda r: raw(b"<html>oops \x1b[2J</html>", 200, "text/html"),
    "other_handle": lambda r: json_response(hostile_order("someone-else", "x")),
    # Accepted by a GET (the last key wins and it is the handle asked for): shown, safely.
    "duplicate_keys": lambda r: raw(b'{"order_handle": "h-2", "order_handle": "h-1", "status": "ongoing",'
                                    b' "status": "\x1b[2J"}'),
    "deep": lambda r: raw(b'{"order_handle": "h-1", "status": "ongoing", "metadata": '
                          + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"}"),
    "404_hostile": lambda r: json_response({"message": ERROR_TEXT}, 404),
    "422_field_errors": _error(422),
}


async def test_malformed_detail_answers_are_escaped_errors_in_the_pane():
    handles = {name: f"h-{name}" for name in DETAIL_ANSWERS}
    api = HostileAPI([hostile_order(h, COMBINED) for h in handles.values()])
    api.get_answer = lambda request: DETAIL_ANSWERS[api._handle(request)[2:]](request)
    app = make_app(api)
    NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for name, handle in handles.items():
            await select(pilot, app, handle)
            lines = screen_lines(app)
            if name != "duplicate_keys":
                # The list's summary is still shown; the failure is explained in the pane.
                line_with(lines, "Destination", shown(COMBINED)[:30])
                line_with(lines, "Loading the order failed")
            if name.endswith("hostile") or name.startswith("422"):
                assert shown(ERROR_TEXT)[:40] in "\n".join(lines), name
        assert app.is_running
        check_screenshot(app)


# --------------------------------------------------------------------------- the / filter


async def test_the_filter_takes_any_pasted_or_typed_text_and_never_writes_controls():
    """The supervisor's own input: a paste holding escapes (copied from a log), markup, and
    characters that mean something to a regex. Nothing crashes, nothing raw reaches the screen,
    the filter matches what the list shows, and clearing it brings every row back."""
    from textual import events

    orders = [hostile_order(f"h-{name}", text) for name, text in SHORT_HOSTILE.items()]
    api = HostileAPI(orders)
    app = make_app(api)
    NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        total = len(app.order_list.table)

        async def filter_by(paste: str) -> int:
            await pilot.press("slash")
            await wait_until(pilot, lambda: app.focused is not None and "Input" in type(app.focused).__name__,
                             "the filter input")
            app.focused.post_message(events.Paste(paste))
            await pilot.pause()
            await wait_until(pilot, lambda: True, "a frame")
            lines = screen_lines(app)  # no raw control character, filter text included
            shown = len(app.order_list.table)
            await pilot.press("escape")  # clears the text: nothing is lost
            await wait_until(pilot, lambda: len(app.order_list.table) == total, "every row back")
            assert lines
            return shown

        # Escapes pasted raw match the order whose fields hold them (shown escaped in the list).
        assert await filter_by("\x1b]0;pwned\x07") == 1
        assert await filter_by("\u202eevil") == 1
        # Markup and regex characters are plain text.
        assert await filter_by("[/oops]") == 1
        assert await filter_by("[bold red]x[/]") == 1
        assert await filter_by("(\\[*.+?") == 0
        assert await filter_by("$value [$x]") == 1
        assert await filter_by("a\\[b") == 1
        assert await filter_by("x" * 5000) == 0
        assert app.is_running
        check_screenshot(app)


# --------------------------------------------------------------------------- clipboard and bulk review

SHARE_URLS = {
    "valid": ("https://trk.example/share/AbC-123?x=1#t", True),
    "osc52_inside": ("https://trk.example/\x1b]52;c;ZXZpbA==\x07", False),
    "newline_command": ("https://trk.example/a\nrm -rf ~\n", False),
    "javascript": ("javascript:alert(1)", False),
    "file": ("file:///etc/passwd", False),
    "space": ("https://trk.example/a b", False),
    "bidi": ("https://trk.example/\u202egnp.exe", False),
    "no_host": ("https:///path", False),
    "too_long": ("https://trk.example/" + "a" * 5000, False),
}


async def test_y_copies_only_a_plain_web_address_to_the_clipboard():
    orders = [hostile_order(f"u-{name}", "x", share_url=url) for name, (url, _) in SHARE_URLS.items()]
    api = HostileAPI(orders)
    app = make_app(api)
    toasts = NotifyRecorder(app)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]  (no OSC 52 in a test)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        for name, (url, allowed) in SHARE_URLS.items():
            before_copies, before_toasts = len(copied), len(toasts.messages)
            await select(pilot, app, f"u-{name}")
            await pilot.press("y")
            await pilot.pause()
            if allowed:
                await wait_until(pilot, lambda: len(copied) > before_copies, f"the copy ({name})")
                assert copied[-1] == url
                assert any(url in m for m in toasts.messages[before_toasts:])
            else:
                assert len(copied) == before_copies, f"{name}: {copied[-1]!r} was put on the clipboard"
        screen_lines(app)
        check_screenshot(app)


async def test_the_bulk_review_lists_hostile_handles_escaped_and_sends_nothing_when_cancelled():
    handles = ["[/oops] [@click=app.quit]x[/]", "h-\x1b]0;pwned\x07", "h-\u202eevil", "[TODO] Acme [Ltd]"]
    api = HostileAPI([hostile_order(h, COMBINED) for h in handles])
    app = make_app(api)
    NotifyRecorder(app)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        await pilot.press("asterisk")  # mark every order shown
        await pilot.pause()
        await pilot.press("c")
        await wait_until(pilot, lambda: "Review" in type(app.screen).__name__, "the bulk review")
        await wait_until(pilot, lambda: "4 orders" in screen_text(app), "the review drawn")
        text = "\n".join(screen_lines(app))
        for handle in handles:
            assert shown(handle)[:20] in text, f"{handle!r} is not listed escaped:\n{text}"
        check_screenshot(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0], "the review to close")
        await pilot.pause()
        assert api.posts() == []
        assert app.is_running
