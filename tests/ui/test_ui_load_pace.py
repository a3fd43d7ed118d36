"""Keys while the order list loads: the cursor keys' short way to the screen, the loading work
that lets them go first (``OrderList.pace``), and the row count drawn in a frame of its own.

No timing is asserted: each test checks who ran before whom, or what is on screen.
"""

from __future__ import annotations

from textual import events

from tests.support.ui_support import loaded, make_app


def _count_keys_reaching(widget) -> list[str]:
    """Record every key event posted to ``widget``."""
    keys: list[str] = []
    original = widget.post_message

    def post_message(message):
        if isinstance(message, events.Key):
            keys.append(message.key)
        return original(message)

    widget.post_message = post_message  # type: ignore[method-assign]
    return keys


async def test_the_app_moves_the_cursor_as_it_reads_the_key() -> None:
    """j, k, page and home/end keys are matched by the app itself while the list has the focus:
    the key is not handed to the list to bubble back up (four more trips through the loop)."""
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        assert app.focused is order_list
        forwarded = _count_keys_reaching(order_list)
        await pilot.press("j", "j", "down", "k", "pagedown", "end", "home", "G")
        assert order_list.cursor_index == len(order_list.table) - 1
        assert forwarded == []


async def test_typing_j_into_the_filter_still_types() -> None:
    """The list's keys are matched first only while the list is focused."""
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        before = app.order_list.cursor_index
        await pilot.press("slash", "j", "k", "G")
        assert app.view_controls.bar.input.value == "jkG"
        assert app.order_list.cursor_index == before


async def test_pace_lets_a_cursor_move_reach_the_screen_first() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        drawn = [0]
        original = order_list.render_lines

        def render_lines(crop):
            drawn[0] += 1
            return original(crop)

        order_list.render_lines = render_lines  # type: ignore[method-assign]
        assert not order_list.input_pending()
        order_list.move_cursor(3)
        assert order_list.input_pending()
        await order_list.pace()
        # The frame that shows the move was drawn before the waiting work went on.
        assert drawn[0] >= 1
        assert not order_list.input_pending()


async def test_pace_waits_for_a_key_still_in_the_apps_queue() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        key = events.Key("j", "j")
        key.set_sender(app)
        app.post_message(key)  # read from the terminal, not handled yet
        assert order_list.input_pending()
        await order_list.pace()
        assert order_list.cursor_index == 1


async def test_pace_stops_waiting_for_a_list_that_draws_nothing() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        order_list.PACE_MAX_WAIT = 0.02
        order_list.display = False
        await pilot.pause()
        order_list.move_cursor(2)
        await order_list.pace()  # returns: a list off screen never draws its move
        # The undrawn move no longer counts as pending (other messages, a timer's, may be queued
        # at this instant on a busy machine: input_pending() as a whole is not what is tested).
        assert not order_list._move_unpainted


async def test_every_step_of_the_first_load_lets_keys_go_first(monkeypatch) -> None:
    """Reading a page, building its rows, joining them to the table and the page's collection
    each wait for :meth:`OrderList.pace`, not for a bare sleep."""
    from console.sandbox.core import IN_PROCESS_BASE_URL
    from console.settings import Settings
    from console.ui.order_list import OrderList

    paced = [0]
    original = OrderList.pace

    async def pace(self, pause: float = 0.0) -> None:
        paced[0] += 1
        await original(self, pause)

    monkeypatch.setattr(OrderList, "pace", pace)
    app, _, seen = make_app(orders=300, settings=Settings(base_url=IN_PROCESS_BASE_URL, page_size=50))
    app.session.NEXT_PAGE_SIZE = 50
    app.session.ROWS_PER_STEP = 25
    # The open set is filtered on the client's side, which joins fetched pages into full pages:
    # count the pages the app was handed as well as the pages fetched.
    handed = [0]
    iter_pages = app.client.iter_summary_pages

    async def counted(**kwargs):
        async for page in iter_pages(**kwargs):
            handed[0] += 1
            yield page

    app.client.iter_summary_pages = counted
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        pages = sum(1 for method, path in seen.seen if method == "GET" and path.startswith("/orders/?"))
        total = app.order_list.table.total
    assert pages >= 3 and handed[0] >= 3 and total > 100
    # Per page fetched: at least one read step; per page handed over: the join and the
    # collection; a build step per 25 rows.
    assert paced[0] >= pages + handed[0] * 2 + total // 25
