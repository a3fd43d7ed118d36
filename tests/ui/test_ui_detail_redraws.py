"""How often the detail pane is redrawn when the cursor rests on an order.

Each redraw of the pane is a screen layout; a fast answer is drawn once (the full order), a slow
one shows the list's summary meanwhile, then the full order."""

from __future__ import annotations

from typing import Any

from tests.support.ui_support import detail_loaded, loaded, make_app, wait_until


def _record(app: Any) -> list[tuple[str, str, bool]]:
    """Every summary and full order the app hands the pane: (kind, handle, loading)."""
    drawn: list[tuple[str, str, bool]] = []
    pane = app.detail
    show_summary, show_order = pane.show_summary, pane.show_order

    def summary(order: Any, *, loading: bool) -> None:
        drawn.append(("summary", order.order_handle, loading))
        show_summary(order, loading=loading)

    def full(order: Any) -> None:
        drawn.append(("full", order.order_handle, False))
        show_order(order)

    pane.show_summary, pane.show_order = summary, full
    return drawn


async def test_a_fast_answer_is_drawn_once_in_full() -> None:
    app, sb, _ = make_app(orders=60)
    app.detail_controller.SUMMARY_AFTER = 5.0  # the in-process sandbox answers in milliseconds
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        drawn = _record(app)
        await pilot.press("j")
        await detail_loaded(pilot, app)
        handle = app.order_list.cursor_row.ref.order_handle
        assert drawn == [("full", handle, False)]
        assert app.detail.order.order_handle == handle and app.detail.order.timeline is not None


async def test_a_slow_answer_shows_the_summary_meanwhile() -> None:
    app, sb, _ = make_app(orders=60)
    app.detail_controller.SUMMARY_AFTER = 0.05
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        handle = app.order_list.table.view[1].ref.order_handle
        sb.faults.script("GET", handle, ["delay:1.5"])
        drawn = _record(app)
        await pilot.press("j")
        await wait_until(pilot, lambda: bool(drawn), what="the summary")
        await pilot.pause()
        assert drawn == [("summary", handle, True)]  # the full order is still on its way
        header = app.detail.query_one("#detail-header")
        assert "loading the full order" in "".join(strip.text for strip in header.render_lines(header.size.region))
        await detail_loaded(pilot, app)
        assert drawn == [("summary", handle, True), ("full", handle, False)]


async def test_moving_on_during_a_slow_answer_never_draws_it() -> None:
    app, sb, seen = make_app(orders=60)
    app.detail_controller.SUMMARY_AFTER = 5.0
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        view = app.order_list.table.view
        slow, next_one = view[1].ref.order_handle, view[2].ref.order_handle
        sb.faults.script("GET", slow, ["delay:0.4"])
        drawn = _record(app)
        await pilot.press("j")
        await wait_until(pilot, lambda: seen.gets(slow) == 1, what="the slow GET")
        await pilot.press("j")
        await detail_loaded(pilot, app)
        await wait_until(pilot, lambda: seen.in_flight == 0, what="the slow answer, or its abandonment")
        await pilot.pause()
        assert drawn == [("full", next_one, False)]
