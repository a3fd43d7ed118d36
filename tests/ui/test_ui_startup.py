"""What waits on the first-rows moment (console/session/startup.py) in the running console: the
footer's keys, the detail pane and the heap policy act at the moment, not before."""

from __future__ import annotations

import asyncio
import gc

from console import gc_policy
from console.session.core import FirstRowsShown, PageShown
from console.ui.textual_compat.footer import FooterKey
from tests.support.hostile import screen_text
from tests.support.ui_support import detail_loaded, loaded, make_app, wait_until


def _keys(app) -> set[str]:
    return {key.action for key in app.screen.query(FooterKey)}


def _no_answer(app) -> asyncio.Event:
    """The list never answers (a slow server): the load waits until the event is set."""
    never = asyncio.Event()

    async def no_answer(**_filters):
        await never.wait()
        yield  # pragma: no cover - an async generator that never yields a page

    app.client.iter_summary_pages = no_answer
    return never


async def test_the_footer_keys_wait_for_the_moment_and_come_with_it() -> None:
    app, _sb, _ = make_app(orders=60)
    app.session.start_up.GRACE = 3600.0
    _no_answer(app)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.loading and app.footer.is_attached, what="the load")
        for _ in range(5):  # the screen settles: no frame, no key built
            await pilot.pause()
        assert _keys(app) == set() and not app.session.first_rows_done
        app.session.first_rows_shown()
        await wait_until(pilot, lambda: "complete" in _keys(app), what="the footer's keys")
        assert app.order_list.table.total == 0


async def test_with_no_answer_the_grace_brings_the_footer_keys_without_rows() -> None:
    app, _sb, _ = make_app(orders=60)
    app.session.start_up.GRACE = 0.2
    _no_answer(app)
    keys_at_moment: list[set[str]] = []
    app.when_first_rows_shown(lambda: keys_at_moment.append(_keys(app)))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: "complete" in _keys(app), what="the footer's keys")
        assert keys_at_moment == [set()] and app.loading and app.order_list.table.total == 0


async def test_the_detail_pane_shows_nothing_before_the_moment_and_the_cursors_order_at_it() -> None:
    app, _sb, interceptor = make_app(orders=250)  # several pages: the moment comes mid-load
    shown_after_moment: list[bool] = []
    real_show = app.detail_controller.show

    def show(row):
        shown_after_moment.append(app.session.first_rows_done)
        real_show(row)

    app.detail_controller.show = show
    at_moment: list[tuple] = []

    def moment() -> None:
        first = app.order_list.cursor_row
        at_moment.append((first.ref.order_handle, app.detail_controller.row is first,
                          "Loading orders" in screen_text(app), interceptor.gets(first.ref.order_handle)))

    app.when_first_rows_shown(moment)  # runs after the pane's own waiter
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        handle, pane_is_for_it, placeholder_shown, gets = at_moment[0]
        # At the moment: the pane is for the cursor's order, nothing of it fetched or drawn yet.
        assert pane_is_for_it and placeholder_shown and gets == 0
        assert shown_after_moment and all(shown_after_moment)
        # It was fetched after the moment; at the load's end the pane follows the cursor (worse
        # orders came with later pages).
        assert interceptor.gets(handle) >= 1
        assert app.detail.order is not None
        assert app.detail.order.order_handle == app.order_list.cursor_row.ref.order_handle


async def test_the_heap_policy_freezes_nothing_before_the_moment(monkeypatch) -> None:
    monkeypatch.setattr(gc_policy, "ENABLED", True)
    thresholds = gc.get_threshold()
    app, _sb, _ = make_app(orders=250)
    heap = app.session.heap
    seen: list[tuple[str, int]] = []
    app.session.subscribe(lambda e: seen.append((type(e).__name__, heap.freezes))
                          if isinstance(e, (PageShown, FirstRowsShown)) else None)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot, app)
            pages = sum(1 for name, _ in seen if name == "PageShown")
            assert seen[:2] == [("PageShown", 0), ("FirstRowsShown", 0)]
            assert pages >= 2 and heap.freezes == pages
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
