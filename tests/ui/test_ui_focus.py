"""Which pane has the keys is unmistakable, and the keys never act on a pane by surprise.

- The detail pane's title says in words whether it has the focus; the list's header carries a
  mark and its focused style while the list has it. Checked in colour, in NO_COLOR (reverse
  video, not colour) and in --ascii (ASCII glyphs).
- With the detail focused, j/k/g/G/page keys scroll the detail (G to its very end, the route
  drawing included), while c, space and y act on the list's highlighted order, whose handle the
  confirmation names.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.detail import DetailPane
from console.ui.screens.confirm import ConfirmComplete
from tests.support.hostile import screen_text
from tests.support.ui_support import detail_loaded, list_lines, loaded, make_app, wait_until


def _row_segments(app, needle: str):
    """The styled segments of the first screen row whose text holds ``needle``."""
    for strip in app.screen._compositor.render_strips():
        if needle in strip.text:
            return strip
    raise AssertionError(f"{needle!r} not on screen:\n{screen_text(app)}")


def _style_of(strip, needle: str):
    for segment in strip:
        if needle in segment.text:
            return segment.style
    raise AssertionError(f"{needle!r} not in {strip.text!r}")


@pytest.mark.parametrize("mode", ["colour", "no_color", "ascii"])
async def test_the_focused_pane_is_marked_in_words_and_style(mode: str, monkeypatch: pytest.MonkeyPatch) -> None:
    if mode == "no_color":
        monkeypatch.setenv("NO_COLOR", "1")
    ascii = mode == "ascii"
    app, sb, _ = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL, ascii=ascii))
    focused_title = DetailPane.TITLE_FOCUSED_ASCII if ascii else DetailPane.TITLE_FOCUSED
    mark = ">" if ascii else "▶"
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        await pilot.pause()
        # The list has the keys: its header starts with the mark; the detail's title says "tab".
        assert list_lines(app)[0].startswith(f"{mark} SEORATBU")
        text = screen_text(app)
        assert DetailPane.TITLE_BLURRED in text and focused_title not in text
        header_focused = _style_of(_row_segments(app, "SEORATBU"), "SEORATBU")
        title_blurred = _style_of(_row_segments(app, DetailPane.TITLE_BLURRED), "Detail")

        await pilot.press("tab")
        await wait_until(pilot, lambda: app.detail.has_focus, what="the detail's focus")
        await pilot.pause()
        assert list_lines(app)[0].startswith("  SEORATBU")
        text = screen_text(app)
        assert focused_title in text and DetailPane.TITLE_BLURRED not in text
        header_blurred = _style_of(_row_segments(app, "SEORATBU"), "SEORATBU")
        title_focused = _style_of(_row_segments(app, focused_title), "DETAIL")
        if ascii:
            assert text.isascii()
        if mode == "no_color":
            # No colour to tell them apart: the focused header and title are reversed.
            assert header_focused.reverse and not header_blurred.reverse
            assert title_focused.reverse and not title_blurred.reverse
        else:
            assert header_focused.bgcolor != header_blurred.bgcolor
            assert title_focused.bgcolor != title_blurred.bgcolor

        await pilot.press("tab")  # and back
        await wait_until(pilot, lambda: app.order_list.has_focus, what="the list's focus")
        await pilot.pause()
        assert list_lines(app)[0].startswith(f"{mark} SEORATBU")
        assert DetailPane.TITLE_BLURRED in screen_text(app)


async def _highlight_an_order_with_a_route(pilot, app) -> int:
    for index in range(len(app.order_list.table.view)):
        app.order_list.move_cursor(index)
        await wait_until(pilot, lambda: app.detail.order is not None
                         and app.detail.order.order_handle == app.order_list.cursor_row.ref.order_handle)
        await detail_loaded(pilot, app)
        track = app.detail.query("#detail-track")
        if track and track.first().display:
            return index
    raise AssertionError("no order with a route in the sandbox")


async def test_detail_keys_scroll_the_detail_and_c_completes_the_lists_order() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        index = await _highlight_an_order_with_a_route(pilot, app)
        row = app.order_list.cursor_row
        handle = row.display_handle
        await pilot.press("tab")
        await wait_until(pilot, lambda: app.detail.has_focus, what="the detail's focus")
        detail = app.detail
        assert detail.scroll_y == 0 and detail.max_scroll_y > 0

        await pilot.press("j")
        await wait_until(pilot, lambda: detail.scroll_y > 0, what="j to scroll the detail")
        assert app.order_list.cursor_index == index  # the list did not move
        await pilot.press("k")
        await wait_until(pilot, lambda: detail.scroll_y == 0, what="k to scroll back")
        await pilot.press("G")
        await wait_until(pilot, lambda: detail.scroll_y == detail.max_scroll_y, what="G to reach the end")
        await pilot.pause()
        text = screen_text(app)
        assert "D destination" in text, text  # the route drawing's legend, its last line
        await pilot.press("g")
        await wait_until(pilot, lambda: detail.scroll_y == 0, what="g to reach the top")
        await pilot.press("pagedown")
        await wait_until(pilot, lambda: detail.scroll_y > 0, what="pagedown to scroll")
        assert app.order_list.cursor_index == index

        # space marks the list's highlighted order (and unmarks it), focus still on the detail.
        await pilot.press("space")
        assert app.bulk.marks.is_marked(row.key)
        await pilot.press("space")
        assert not app.bulk.marks.is_marked(row.key)

        # j then c, y: the order completed is the list's highlighted one, named in the dialog.
        await pilot.press("j")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmComplete), what="the confirmation")
        assert handle in str(app.screen.query_one("#confirm-question").render())
        await pilot.press("y")
        await wait_until(pilot, lambda: seen.posts(), what="the complete request")
        await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the completion")
        assert len(seen.posts()) == 1 and f"/orders/{row.ref.order_handle}/" in seen.posts()[0]
        assert app.detail.has_focus and app.order_list.cursor_row.ref.order_handle == row.ref.order_handle


class _Gate(httpx.AsyncBaseTransport):
    """Holds back GET /orders/{handle} until ``opened`` is set; passes everything else on."""

    def __init__(self, inner: httpx.AsyncBaseTransport, handle: str) -> None:
        self.inner, self.path, self.opened = inner, f"/orders/{handle}", asyncio.Event()
        self.held = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.rstrip("/").endswith(self.path):
            self.held += 1
            await self.opened.wait()
        return await self.inner.handle_async_request(request)


async def test_g_pressed_before_the_route_arrives_still_ends_on_the_drawing() -> None:
    """G while the pane shows the list's summary (the full order still loading): once the
    timeline, route and drawing arrive and lay out, the view is still at the very end."""
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await _highlight_an_order_with_a_route(pilot, app)
        ref = app.order_list.cursor_row.ref

    app, sb, seen = make_app(orders=60)
    gate = seen.inner = _Gate(seen.inner, ref.order_handle)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("tab")
        assert app.order_list.select_ref(ref)
        await wait_until(pilot, lambda: gate.held and app.detail.order is not None
                         and app.detail.order.order_handle == ref.order_handle, what="the summary")
        assert not app.detail.query("#detail-track") or not app.detail.query_one("#detail-track").display
        await pilot.press("G")
        await pilot.pause()
        short_end = app.detail.max_scroll_y
        gate.opened.set()
        await detail_loaded(pilot, app)
        detail = app.detail
        await wait_until(pilot, lambda: detail.query_one("#detail-track").display
                         and detail.max_scroll_y > short_end and detail.scroll_y == detail.max_scroll_y,
                         what="the end of the full order")
        await pilot.pause()
        assert "D destination" in screen_text(app)
