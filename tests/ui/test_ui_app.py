"""The console as a supervisor uses it (Pilot, against the in-process sandbox)."""

from __future__ import annotations

import asyncio

import httpx

from console.api.client import OrdersClient
from console.api.models import OPEN_STATUSES, RISK_KEYS, RiskLevel, risk_level
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.badges import badge_char
from console.ui.screens.confirm import ConfirmComplete
from console.ui.screens.help import HelpScreen
from tests.support.hostile import screen_text
from tests.support.sandbox_fixtures import make_sandbox
from tests.support.ui_support import detail_loaded, list_lines, loaded, make_app, row_line, wait_until, workers_done


async def open_orders_of(sb) -> list:
    async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as client:
        return await client.list_orders(status=OPEN_STATUSES)


def expected_badges(order) -> str:
    return "".join(badge_char(letter, risk_level(order.risks, key)) for key, letter, _ in RISK_KEYS)


async def test_list_shows_every_open_order_worst_risk_first_with_badges() -> None:
    app, sb, _ = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL, page_size=15))
    truth = {o.ref: o for o in await open_orders_of(sb)}
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        table = app.order_list.table
        assert {row.ref for row in table.view} == set(truth)  # every page was loaded
        assert len(truth) > 15  # ... and there was more than one page
        lines = list_lines(app)
        header = lines[0]
        assert "SEORATBU" in header and "Order" in header and "Status" in header and "Scheduled" in header
        # Rows on screen are the table's first rows, each with its badges spelled by level.
        for row, line in zip(table.view, lines[1:]):
            order = truth[row.ref]
            assert line[2:10] == expected_badges(order), line
            assert order.order_handle[:10] in line
            assert order.status in line
        # Worst risk first, then the earliest scheduled time.
        worst = [row.worst for row in table.view]
        assert worst == sorted(worst, reverse=True)
        reds = [row for row in table.view if row.worst is RiskLevel.RED]
        scheduled = [row.scheduled_at.timestamp() for row in reds if row.scheduled_at]
        assert scheduled == sorted(scheduled)
        text = screen_text(app)
        assert "SANDBOX" in text
        assert f"{len(truth)} open orders" in text
        assert "updated 0s ago" in text


async def test_marker_and_late_read_without_colour() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        for row, line in zip(app.order_list.table.view, list_lines(app)[1:]):
            marker = {RiskLevel.RED: "■", RiskLevel.YELLOW: "▲", RiskLevel.GREEN: "●", RiskLevel.UNKNOWN: "○"}[row.worst]
            assert line[0] == marker
            if row.scheduled_at is not None and row.scheduled_at < app.now():
                assert "LATE " in line


async def test_cursor_keys_move_and_the_detail_follows() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        view = order_list.table.view
        await pilot.press("j", "j", "down")
        assert order_list.cursor_index == 3
        await pilot.press("k")
        assert order_list.cursor_index == 2
        await pilot.press("G")
        assert order_list.cursor_index == len(view) - 1
        await pilot.press("g")
        assert order_list.cursor_index == 0
        await pilot.press("pagedown")
        assert order_list.cursor_index > 1
        await pilot.press("end")
        assert order_list.cursor_index == len(view) - 1
        await pilot.press("home", "j")
        await detail_loaded(pilot, app)
        shown = app.detail.order
        assert shown is not None and shown.order_handle == view[1].ref.order_handle
        assert shown.timeline is not None  # the full order from GET /orders/{h}, not the summary


async def test_a_slow_detail_never_overwrites_a_newer_selection() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        slow = view[1].ref.order_handle
        sb.faults.script("GET", slow, ["delay:0.4"])
        await pilot.press("j")  # the slow one
        await wait_until(pilot, lambda: seen.gets(slow) == 1, what="the slow GET")
        await pilot.press("j")  # then the next one, before the slow answer
        await detail_loaded(pilot, app)
        await wait_until(pilot, lambda: seen.in_flight == 0, what="the slow answer, or its abandonment")
        await pilot.pause()
        assert app.detail.order.order_handle == view[2].ref.order_handle


async def test_cursor_stays_on_its_order_across_refresh_and_resort() -> None:
    app, sb, _ = make_app(orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        await pilot.press("j", "j", "j", "j", "j")
        target = order_list.cursor_row.ref
        before = [row.ref for row in order_list.table.view]
        # Time passes: risks change, orders move, some finish: the list re-sorts.
        sb.advance(45 * 60)
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        after = [row.ref for row in order_list.table.view]
        assert after != before
        if target in after:
            assert order_list.cursor_row.ref == target
            assert after.index(target) == order_list.cursor_index
        else:  # it left the list: the cursor is on a neighbour, still a valid row
            assert order_list.cursor_row is not None


async def test_idle_refresh_redraws_nothing() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        versions = [row.version for row in order_list.table.view]
        refreshes: list[object] = []
        original = order_list.refresh

        def spy(*args, **kwargs):
            refreshes.append(args)
            return original(*args, **kwargs)

        order_list.refresh = spy  # type: ignore[method-assign]
        loads = app.session.loads
        await pilot.press("r")  # the sandbox's clock is frozen: nothing changed
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        assert refreshes == []
        assert [row.version for row in order_list.table.view] == versions


async def test_complete_asks_then_completes_once_with_the_leg() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        handle = row.ref.order_handle
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmComplete)
        assert handle in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the completion")
        await pilot.pause()
        assert sb.stats.completions_of(handle) == 1
        [path] = seen.posts()
        assert f"type={row.ref.type}" in path and f"type_index={row.ref.type_index}" in path
        assert f"fulfillment_attempt={row.ref.fulfillment_attempt}" in path
        # The row and the detail show the server's answer, also after the refresh that follows.
        await wait_until(pilot, lambda: not app.loading, what="the refresh after completing")
        assert "completed" in row_line(app, handle[:12])
        shown = app.detail.order
        assert shown.order_handle == handle and shown.status == "completed" and shown.completed_at is not None
        assert not app.detail.error_shown
        # The next refresh: it has left the open list.
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the next refresh")
        assert app.order_list.table.get(row.ref) is None
        assert sb.stats.completions_of(handle) == 1


async def test_escape_and_n_cancel_the_confirmation() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmComplete)
        await pilot.press("escape")
        assert not isinstance(app.screen, ConfirmComplete)
        await pilot.press("c", "n")
        assert not isinstance(app.screen, ConfirmComplete)
        await workers_done(pilot)
        assert seen.posts() == []


async def test_in_flight_completion_shows_and_a_second_press_does_nothing() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        handle = app.order_list.cursor_row.ref.order_handle
        sb.faults.script("POST", handle, ["delay:0.6"])
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: len(seen.posts()) == 1, what="the POST")
        assert "completing…" in row_line(app, handle[:12])
        await pilot.press("c")
        assert not isinstance(app.screen, ConfirmComplete)
        await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the completion")
        assert len(seen.posts()) == 1
        assert sb.stats.completions_of(handle) == 1


async def test_read_only_disables_complete_visibly() -> None:
    app, sb, seen = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL, read_only=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        assert app.check_action("complete", ()) is None  # the footer shows it disabled
        assert "READ-ONLY" in screen_text(app)
        await pilot.press("c")
        assert not isinstance(app.screen, ConfirmComplete)
        await pilot.press("y")
        await workers_done(pilot)
        assert seen.posts() == []


async def test_stale_banner_keeps_the_last_good_data() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        rows_before = list_lines(app)
        seen.rules.append(lambda r: httpx.ConnectError("connection refused") if r.method == "GET" else None)
        await pilot.press("r")
        await wait_until(pilot, lambda: app.query_one("#banner").display, what="the banner")
        text = screen_text(app)
        assert "STALE" in text and "connection refused" in text
        after = list_lines(app)  # the banner takes a line or two; the rows are the same
        assert len(after) >= len(rows_before) - 4 and after == rows_before[: len(after)]
        seen.rules.clear()
        await pilot.press("r")
        await wait_until(pilot, lambda: not app.query_one("#banner").display, what="the banner to go")


async def test_offline_from_the_start_says_so() -> None:
    app, sb, seen = make_app(orders=60)
    seen.rules.append(lambda r: httpx.ConnectError("no route to host"))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.query_one("#banner").display, what="the banner")
        text = screen_text(app)
        assert "OFFLINE" in text and "no route to host" in text
        assert app.order_list.cursor_row is None


async def test_help_lists_keys_by_context_and_the_legend() -> None:
    app, sb, _ = make_app(orders=20)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Everywhere" in screen_text(app)  # on screen; the rest may need scrolling
        text = str(app.screen.query_one("#help-body").render())
        for needle in ("Everywhere", "Order list", "highlighted", "next order",
                       "Risk badges", "bold capital letter", "small letter", "in low battery"):
            assert needle in text, needle
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_layout_side_by_side_when_wide_and_stacked_when_narrow() -> None:
    app, sb, _ = make_app(orders=30)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        assert app.detail.region.x > app.order_list.region.x
        assert app.detail.region.y == app.order_list.region.y
    app, sb, _ = make_app(orders=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert app.detail.region.y > app.order_list.region.y
        assert app.order_list.region.height >= 8 and app.detail.region.height >= 6
        assert app.order_list.region.width == 80


async def test_the_main_screen_starts_with_its_breakpoint_class_and_resizes_switch_it() -> None:
    """Issue 6: the screen is created with the class for the terminal's width (so the first
    Resize restyles nothing); a resize across 160 columns still switches the layout."""
    for size, expected, other in (((160, 48), "-wide", "-narrow"), ((80, 24), "-narrow", "-wide")):
        app, sb, _ = make_app(orders=30)
        created: list[set[str]] = []
        make_screen = app.get_default_screen

        def recording_screen():
            screen = make_screen()
            created.append(set(screen.classes))  # before Textual's first Resize reaches it
            return screen

        app.get_default_screen = recording_screen
        async with app.run_test(size=size) as pilot:
            await loaded(pilot, app)
            assert expected in created[0] and other not in created[0]
            screen = app.screen_stack[0]
            assert screen.has_class(expected) and not screen.has_class(other)
            await pilot.resize_terminal(*((80, 24) if expected == "-wide" else (160, 48)))
            await wait_until(pilot, lambda: screen.has_class(other))
            assert not screen.has_class(expected)
            await pilot.pause()
            if other == "-narrow":
                assert app.detail.region.y > app.order_list.region.y
            else:
                assert app.detail.region.x > app.order_list.region.x


async def test_first_rows_callbacks_run_once_when_the_first_rows_are_on_screen() -> None:
    """when_first_rows_shown (the command line resumes the garbage collector with it, issue
    6): called once, after the first page's frame, before the load is over; not again."""
    app, sb, _ = make_app(orders=250)  # three pages: the first one ends well before the load
    seen: list[tuple[int, int, bool]] = []
    app.when_first_rows_shown(lambda: seen.append(
        (app.order_list.table.total, app.session.loads, "ORD-" in screen_text(app))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        assert len(seen) == 1
        total, loads, painted = seen[0]
        assert 0 < total < app.order_list.table.total and loads == 0 and painted
        await pilot.press("r")
        await loaded(pilot, app)
        assert len(seen) == 1


async def test_first_rows_callbacks_run_when_the_first_load_fails_or_is_slow() -> None:
    app, sb, seen = make_app(orders=60)
    seen.rules.append(lambda r: httpx.ConnectError("no route to host"))
    calls: list[bool] = []
    app.when_first_rows_shown(lambda: calls.append(app.query_one("#banner").display))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: app.query_one("#banner").display, what="the banner")
        assert calls == [False]  # called as the failure was handled, before the banner showed

    app, sb, _ = make_app(orders=60)
    app.session.start_up.GRACE = 0.2
    never = asyncio.Event()

    async def no_answer(**_filters):
        await never.wait()
        yield  # pragma: no cover - an async generator that never yields a page

    app.client.iter_summary_pages = no_answer
    calls = []
    app.when_first_rows_shown(lambda: calls.append(app.loading))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until(pilot, lambda: bool(calls), what="the grace timer")
        assert calls == [True] and app.order_list.table.total == 0


async def test_zoom_gives_the_focused_pane_the_screen() -> None:
    app, sb, _ = make_app(orders=30)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("z")
        assert app.zoomed == "orders" and app.detail.region.height == 0
        assert app.order_list.region.height > 18
        await pilot.press("z")
        assert app.zoomed is None and app.detail.region.height >= 6
        await pilot.press("tab")  # focus the detail pane, then zoom it
        await pilot.press("z")
        assert app.zoomed == "detail" and app.order_list.region.height == 0
        assert app.detail.region.height > 18
        await pilot.press("z")
        assert app.order_list.region.height >= 8


async def test_progress_then_count() -> None:
    sb = make_sandbox(orders=60)
    sb.faults.set_latency(0.05)
    app, sb, _ = make_app(sb, settings=Settings(base_url=IN_PROCESS_BASE_URL, page_size=10))
    seen_texts: set[str] = set()
    async with app.run_test(size=(100, 30)) as pilot:
        while app.session.loads < 1:
            seen_texts.add(str(app.load_status.count_label.render()))
            await pilot.pause(0.02)
        await pilot.pause()
        assert any(t.startswith("loading ") and t.endswith("orders…") for t in seen_texts), seen_texts
        assert str(app.load_status.count_label.render()).endswith("open orders")


async def test_theme_change_re_resolves_the_badge_colours() -> None:
    app, sb, _ = make_app(orders=30)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        before = app.order_list.palette.red
        app.theme = "nord"
        await wait_until(pilot, lambda: app.order_list.palette.red != before, what="the theme's styles")
        list_lines(app)  # renders with the new palette
        after = app.order_list.palette.red
        assert after.bgcolor is not None and after.bgcolor != before.bgcolor


async def test_a_leg_the_api_cannot_fetch_alone_shows_its_summary_and_says_why() -> None:
    app, sb, seen = make_app(orders=300)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        legs: dict[str, list] = {}
        for row in app.order_list.table.view:
            legs.setdefault(row.ref.order_handle, []).append(row)
        # A drop leg of a handle that also has a pick: GET /orders/{h} answers with the pick.
        sim = {(o.handle, o.type, o.type_index, o.attempt) for o in sb.orders()}
        target = next(
            row for rows in legs.values() for row in rows
            if row.ref.type == "drop"
            and (row.ref.order_handle, "pick", 0, row.ref.fulfillment_attempt) in sim
        )
        app.order_list.select_ref(target.ref)
        await wait_until(pilot, lambda: app.detail.error_shown, what="the notice")
        await pilot.pause()
        text = screen_text(app)
        squeezed = "".join(text.split())
        assert f"Thisisthedrop#{target.ref.type_index}" in squeezed and "pick#0" in squeezed
        assert "GET /orders" not in text  # a supervisor's words, not an endpoint
        shown = app.detail.order
        assert shown.status == target.status and shown.type == "drop"
        # the leg itself was found by searching the list for the handle
        searches = [path for method, path in seen.seen if method == "GET" and "search_term=" in path]
        assert searches


async def test_detail_is_refetched_quietly_and_redrawn_only_when_changed() -> None:
    from console.api.handles import order_path

    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        row = app.order_list.cursor_row
        path = order_path(row.ref.order_handle)

        def gets() -> int:
            return sum(1 for method, raw in seen.seen if method == "GET" and raw.split("?")[0] == path)

        app.session.details.ttl = 0  # the cached detail is stale at once
        shows: list[object] = []
        original = app.detail.show_order
        app.detail.show_order = lambda order: (shows.append(order), original(order))  # type: ignore[method-assign]
        before = gets()
        loads = app.session.loads
        await pilot.press("r")  # frozen sandbox: the same answer again
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        await detail_loaded(pilot, app)
        assert gets() == before + 1
        assert shows == []  # nothing new: not redrawn
        # The fleet moves on: after the next refresh the pane shows the server's current order.
        sb.advance(20 * 60)
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the second refresh")
        await detail_loaded(pilot, app)
        current = app.order_list.cursor_row
        async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as other:
            truth = await other.get_order(current.ref.order_handle, fulfillment_attempt=current.ref.fulfillment_attempt)
        assert app.detail.order == truth


async def test_the_first_page_s_rows_are_drawn_before_the_next_page_is_asked_for() -> None:
    """Start-up (issue 6): with a server that answers at once (the embedded sandbox), the rest
    of the pages must not be read, parsed and collected before the first rows reach the screen."""
    app, sb, _ = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL, page_size=15))
    # The frame wait gives up after a second (a suspended app draws nothing); a loaded test
    # machine can take longer to draw, which is not what this test is about.
    next_frame = app._next_frame
    app._next_frame = lambda timeout=30.0: next_frame(timeout)
    frames_with_rows: list[int] = []
    original_display = app._display

    def display(screen, renderable) -> None:
        if renderable is not None and app.order_list.table.total:
            frames_with_rows.append(app.order_list.table.total)
        original_display(screen, renderable)

    app._display = display
    list_requests: list[int] = []  # frames with rows drawn when each list request arrived
    original_handle = sb.api.handle

    async def handle(request):
        if request.raw_path.rstrip(b"/") == b"/orders":
            list_requests.append(len(frames_with_rows))
        return await original_handle(request)

    sb.api.handle = handle
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
    assert len(list_requests) > 1  # there was a next page
    assert list_requests[0] == 0  # nothing to draw before the first answer
    assert list_requests[1] >= 1, "the second page was asked for before the first rows were drawn"
