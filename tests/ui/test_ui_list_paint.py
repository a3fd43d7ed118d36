"""What a cursor move repaints in the order list, and that the cheaper paths draw the same thing.

A held ``j`` at the bottom of the screen scrolls the list by one row per key. These tests check
that the list's own fast line path (:meth:`OrderList.render_lines`) gives exactly what Textual's
generic path gives, and that the scrollbar is repainted when its thumb moves on screen and only
then, without ever showing a stale thumb.
"""

from __future__ import annotations

from textual.geometry import Region
from textual.widget import Widget

from tests.support.ui_support import loaded, make_app


def _segments(strips) -> list[list[tuple]]:
    return [[(seg.text, seg.style) for seg in strip] for strip in strips]


async def test_fast_line_path_draws_what_textual_draws() -> None:
    app, _, _ = make_app(orders=120)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        for _ in range(40):  # past the bottom: the list has scrolled, the cursor is mid-screen
            await pilot.press("j")
        await pilot.pause()
        assert order_list.scroll_y > 0
        assert order_list._plain_style()
        whole = Region(0, 0, order_list.size.width, order_list.size.height)
        for crop in (whole, Region(3, 2, 20, 5)):
            fast = order_list.render_lines(crop)
            order_list._styles_cache.clear()
            generic = Widget.render_lines(order_list, crop)
            assert _segments(fast) == _segments(generic)
            assert {strip.cell_length for strip in fast} == {crop.width}


async def test_a_styled_list_takes_textuals_path() -> None:
    app, _, _ = make_app(orders=30)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        order_list.styles.padding = (0, 1)
        await pilot.pause()
        assert not order_list._plain_style()
        lines = order_list.render_lines(Region(0, 0, order_list.size.width, 3))
        # The padding is drawn: the first cell of a row is blank, the row starts after it.
        assert lines[1].text.startswith(" ")
        assert lines[1].text[1:].rstrip()


def _bar_picture(bar) -> list[list[tuple]]:
    return _segments(bar.render_lines(Region(0, 0, bar.size.width, bar.size.height)))


def _count_repaints(bar) -> tuple[list[int], object]:
    """Count the scrollbar's repaints from now on: the counter, and its own refresh."""
    repaints = [0]
    original = bar.refresh

    def counted(*args, **kwargs):
        repaints[0] += 1
        return original(*args, **kwargs)

    bar.refresh = counted  # type: ignore[method-assign]
    return repaints, original


async def _land_pages(pilot, order_list, pages: int, make_page) -> None:
    """``pages`` pages of rows joining the list (``make_page(page)``), each checked to leave no
    stale thumb on screen."""
    bar = order_list.vertical_scrollbar
    for page in range(pages):
        cursor_ref = order_list.cursor_ref
        order_list.extend(make_page(page))
        assert order_list.cursor_ref == cursor_ref
        await pilot.pause()
        shown = _bar_picture(bar)
        bar.__class__.refresh(bar)
        assert shown == _bar_picture(bar), f"stale scrollbar after page {page}"


async def test_scrollbar_repaints_only_when_its_thumb_moves() -> None:
    app, _, _ = make_app(orders=300)
    app.detail_controller.DETAIL_DEBOUNCE = 60.0  # no detail pane redraws while the keys are pressed
    async with app.run_test(size=(120, 16)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        bar = order_list.vertical_scrollbar
        assert order_list.show_vertical_scrollbar
        repaints, original = _count_repaints(bar)
        keys = 80
        for _ in range(keys):
            await pilot.press("j")
            shown = _bar_picture(bar)  # what the bar's caches hold: what the screen shows
            original()
            fresh = _bar_picture(bar)  # drawn again from the exact scroll position
            assert shown == fresh, f"stale scrollbar at row {order_list.cursor_index}"
        scrolled = int(order_list.scroll_y)
        assert scrolled > 50
        # ~200 open orders on a 13-cell bar: the thumb moves by an eighth of a cell every two
        # rows or so (Textual's 1/8-cell glyphs); repainting on every scrolled row would be 69.
        assert 0 < repaints[0] < scrolled * 3 // 4


async def test_pages_appended_repaint_the_scrollbar_only_when_its_thumb_changes() -> None:
    """A 50k-order load adds a page at a time: the bar's thumb shrinks and moves a little with
    each of the first pages, then hardly at all. It is repainted when (and only when) what it
    shows changes, and never shows a stale thumb."""
    from console.api.summaries import OrderSummary
    from console.api.vocab import OrderRef
    from console.session.table import build_rows

    app, _, _ = make_app(orders=60)
    app.detail_controller.DETAIL_DEBOUNCE = 60.0
    async with app.run_test(size=(120, 16)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        for _ in range(5):  # the cursor away from the top: the thumb has a position to keep
            await pilot.press("j")
        bar = order_list.vertical_scrollbar
        repaints, _ = _count_repaints(bar)
        pages = 40
        await _land_pages(pilot, order_list, pages, lambda page: build_rows(
            OrderSummary(OrderRef(f"zz-{page}-{i}"), "assigned") for i in range(100)))
        assert order_list.virtual_size.height == len(order_list.table) + 1
        assert 0 < repaints[0] < pages


async def test_pages_landing_above_the_cursor_repaint_the_scrollbar_only_when_it_moves() -> None:
    """The cursor keeps its order while pages land: rows above it push the offset down as the
    row count grows, and the two mostly cancel out on the bar. It is compared before and after
    each page, not after each of the two changes."""
    from console.api.summaries import OrderSummary
    from console.api.vocab import OrderRef
    from console.session.table import build_rows

    red = {"delayed_from_scheduled_at": "red", "is_offline": "red", "in_outage": "red"}
    app, _, _ = make_app(orders=60)
    app.detail_controller.DETAIL_DEBOUNCE = 60.0
    async with app.run_test(size=(120, 16)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        await pilot.press("G")  # the cursor on the last order: red rows land above it
        bar = order_list.vertical_scrollbar
        repaints, _ = _count_repaints(bar)
        pages = 40
        await _land_pages(pilot, order_list, pages, lambda page: build_rows(
            OrderSummary(OrderRef(f"zz-{page}-{i}"), "assigned", risks=red if i % 2 else None)
            for i in range(100)))
        assert order_list.scroll_y > 1000
        assert 0 < repaints[0] < pages // 2


async def test_change_marks_repaint_only_the_rows_whose_mark_changed() -> None:
    """A refresh that marks one row (``~``) repaints that row, not the whole list: over SSH a
    whole-list repaint per refresh sent the screen again (15 KB a tick instead of ~1.5 KB in the
    traffic benchmark)."""
    app, _, _ = make_app(orders=300)
    app.detail_controller.DETAIL_DEBOUNCE = 60.0
    async with app.run_test(size=(120, 16)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        view = order_list.table.view
        regions: list[Region | None] = []
        original = order_list.refresh

        def counted(*args, **kwargs):
            regions.append(args[0] if args and isinstance(args[0], Region) else None)
            return original(*args, **kwargs)

        order_list.refresh = counted  # type: ignore[method-assign]
        order_list.set_change_marks(frozenset({view[2].key}), frozenset())
        assert regions and None not in regions, "the whole list was repainted"
        assert {r.y for r in regions} == {3}  # the header is line 0: the third row is line 3
        regions.clear()
        order_list.set_change_marks(frozenset({view[2].key}), frozenset({view[4].key}))
        assert {r.y for r in regions} == {5}
        await pilot.pause()
        assert order_list.change_mark(view[4].key) == "!" and order_list.change_mark(view[2].key) == "~"
