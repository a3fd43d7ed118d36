"""What changed, in the console: the "N new red" counter, the jump key, the change feed (red only,
enter, acknowledge), acknowledgement by visiting, row marks (also in ASCII), a snapshot of the
feed at 80x24.

Changes are made by the sandbox's scripting API (console/sandbox/transitions.py: turn a risk
red, reassign, cancel, complete) on a frozen sandbox, then a refresh (``r``) is compared by the
session with the one before; what the supervisor sees is read from the screen.
"""

from __future__ import annotations

from datetime import timedelta

from console.api.vocab import RiskLevel
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.sandbox.transitions import Script
from console.settings import Settings
from tests.support.hostile import screen_text, unwrapped
from tests.support.ui_support import list_lines, loaded, make_app, row_line, wait_until
from tests.ui.test_ui_ergonomics import toasts


def calm_rows(app, n: int, *, status: tuple[str, ...] = ("assigned", "dispatched", "ongoing")) -> list:
    """``n`` shown rows that are not red, of one leg each (a handle addresses them alone)."""
    table = app.order_list.table
    handles: dict[str, int] = {}
    for row in table.view:
        handles[row.ref.order_handle] = handles.get(row.ref.order_handle, 0) + 1
    rows = [row for row in table.view
            if row.worst is not RiskLevel.RED and row.status in status and handles[row.ref.order_handle] == 1]
    assert len(rows) >= n, "the sandbox has too few calm orders"
    return rows[:n]


def reassign(sb, app, row) -> None:
    """Give ``row``'s order to another worker of the list (some ops groups have only one)."""
    other = next(r.worker for r in app.order_list.table.view if r.worker and r.worker != row.worker)
    Script(sb).reassign(row.ref.order_handle, worker=other, **leg(row))


def leg(row) -> dict:
    """The row's leg, as the sandbox's Script names an order (a handle alone is its first leg)."""
    return {"type": row.ref.type, "type_index": row.ref.type_index}


async def refresh(pilot, app) -> None:
    """``r``, and wait until that refresh is merged and compared."""
    before = app.session.loads
    await pilot.press("r")
    await wait_until(pilot, lambda: app.session.loads > before and not app.loading, what="the refresh")
    await pilot.pause()


async def feed_shown(pilot, app, words: str = "esc close") -> str:
    """Wait until the change feed is laid out with its entries (and ``words``): its text."""
    from console.ui.screens.change_feed import ChangeFeedScreen

    await wait_until(pilot, lambda: isinstance(app.screen, ChangeFeedScreen) and words in screen_text(app)
                     and screen_text(app).count("\n") >= app.size.height - 1, what="the feed")
    await pilot.pause(0.1)
    return screen_text(app)


def top_line(app) -> str:
    return screen_text(app).splitlines()[0]


async def test_new_reds_are_counted_marked_jumped_to_and_acknowledged_by_visiting() -> None:
    app, sb, _ = make_app(orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        assert "new red" not in top_line(app)
        rows = calm_rows(app, 3)
        script = Script(sb)
        for row in rows:
            script.turn_red(row.ref.order_handle, **leg(row))
        await refresh(pilot, app)
        await wait_until(pilot, lambda: "3 new red" in top_line(app), what="the counter")
        handles = [row.ref.order_handle for row in rows]
        for handle in handles:
            assert f"!{handle}" in row_line(app, handle)  # the mark, in the cell before the handle
        # n goes to the first new red in the list's order (the cursor was never moved): visited,
        # so acknowledged.
        await pilot.press("n")
        await wait_until(pilot, lambda: "2 new red" in top_line(app), what="the counter to drop")
        first = app.order_list.cursor_row.ref.order_handle
        assert first in handles
        assert f"!{first}" not in row_line(app, first) and f"~{first}" in row_line(app, first)
        # Moving the cursor onto another new red by hand acknowledges it too.
        others = [h for h in handles if h != first]
        app.order_list.move_cursor(app.order_list.table.index_of(rows[handles.index(others[0])].ref))
        await wait_until(pilot, lambda: "1 new red" in top_line(app), what="acknowledged by visiting")
        # The last one: n wraps round the list to it, however far the cursor is.
        await pilot.press("G")
        await pilot.press("n")
        await wait_until(pilot, lambda: "new red" not in top_line(app), what="the counter to go")
        assert app.order_list.cursor_row.ref.order_handle == others[1]
        assert "from the top" in toasts(app)[-1]
        await pilot.press("n")
        await wait_until(pilot, lambda: "No new red order to go to" in toasts(app)[-1], what="the toast")


async def test_a_refresh_moving_the_untouched_cursor_onto_a_new_red_does_not_acknowledge_it() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        row = calm_rows(app, 1)[0]
        Script(sb).turn_red(row.ref.order_handle, **leg(row), risk="in_outage")
        await refresh(pilot, app)
        await wait_until(pilot, lambda: "1 new red" in top_line(app), what="the counter")
        await pilot.pause(0.2)
        assert "1 new red" in top_line(app)


async def test_the_jump_key_says_when_the_filter_hides_the_new_reds() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        row = calm_rows(app, 1)[0]
        Script(sb).turn_red(row.ref.order_handle, **leg(row))
        await refresh(pilot, app)
        await wait_until(pilot, lambda: "1 new red" in top_line(app), what="the counter")
        await pilot.press("slash", *"no-such-order", "enter")
        await wait_until(pilot, lambda: app.order_list.table.index_of(row.ref) is None, what="the filter")
        await pilot.press("n")
        await wait_until(pilot, lambda: toasts(app) and "hidden by the list's filter" in toasts(app)[-1],
                         what="the toast")
        assert "0 shows every risk" in toasts(app)[-1] and "1 new red" in top_line(app)  # not acknowledged


async def test_the_feed_lists_changes_newest_first_filters_red_goes_to_an_order_and_acknowledges() -> None:
    app, sb, _ = make_app(orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("F")
        assert "first load only sets the baseline" in unwrapped(await feed_shown(pilot, app, "No changes yet"))
        await pilot.press("escape")
        red, moved, gone = calm_rows(app, 3, status=("assigned", "dispatched"))
        script = Script(sb)
        script.turn_red(red.ref.order_handle, **leg(red))
        reassign(sb, app, moved)
        script.cancel(gone.ref.order_handle, **leg(gone))
        await refresh(pilot, app)
        # The list's filter does not touch the feed.
        await pilot.press("slash", *red.ref.order_handle, "enter")
        await pilot.press("F")
        text = await feed_shown(pilot, app)
        feed = app.screen
        assert f"{moved.ref.order_handle}" in text and "Reassigned from" in text
        assert gone.ref.order_handle in text and "Left the open set: completed or cancelled elsewhere" in text
        assert "Worst risk rose from" in text and "1 new red not looked at" in text
        kinds = [e.kind.value for e in feed.shown]
        assert "worker" in kinds and "left" in kinds and "worst" in kinds
        await pilot.press("1")
        await wait_until(pilot, lambda: "red changes only" in screen_text(app), what="red only")
        assert {e.ref.order_handle for e in feed.shown} == {red.ref.order_handle}
        assert moved.ref.order_handle not in screen_text(app)
        await pilot.press("0")
        await wait_until(pilot, lambda: "every change" in screen_text(app), what="every change")
        # enter on the new red: the feed closes, the order is highlighted, acknowledged.
        await pilot.press("1", "enter")
        await wait_until(pilot, lambda: app.screen is app.screen_stack[0], what="the feed to close")
        assert app.order_list.cursor_row.ref == red.ref
        await wait_until(pilot, lambda: "new red" not in top_line(app), what="acknowledged")
        # The feed kept its events across another refresh.
        await refresh(pilot, app)
        await pilot.press("F")
        await feed_shown(pilot, app)
        assert len(app.screen.shown) == len(kinds)


async def test_a_in_the_feed_acknowledges_every_new_red() -> None:
    app, sb, _ = make_app(orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        for row in calm_rows(app, 2):
            Script(sb).turn_red(row.ref.order_handle, **leg(row))
        await refresh(pilot, app)
        await wait_until(pilot, lambda: "2 new red" in top_line(app), what="the counter")
        await pilot.press("F")
        await feed_shown(pilot, app, "2 new red not looked at")
        await pilot.press("a")
        await wait_until(pilot, lambda: "not looked at" not in screen_text(app), what="the feed's title")
        await pilot.press("escape")
        await wait_until(pilot, lambda: "new red" not in top_line(app), what="the counter to go")
        assert not any("!" + r.ref.order_handle in line for r in calm_rows(app, 2) for line in list_lines(app))


async def test_orders_completed_by_this_console_leave_by_this_console() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        row = calm_rows(app, 1, status=("ongoing",))[0]
        index = app.order_list.table.index_of(row.ref)
        app.order_list.move_cursor(index)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: any("Completed" in t for t in toasts(app)), what="the completion")
        await wait_until(pilot, lambda: not app.loading, what="the refresh after it")
        await refresh(pilot, app)
        events = [e for e in app.session.changes.feed.events() if e.ref == row.ref]
        assert [(e.kind.value, e.by_this_console) for e in events] == [("left", True)]


async def test_change_marks_read_in_ascii_and_age_out_after_three_refreshes() -> None:
    settings = Settings(base_url=IN_PROCESS_BASE_URL, ascii=True)
    app, sb, _ = make_app(orders=60, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        row = calm_rows(app, 1, status=("assigned", "dispatched"))[0]
        handle = row.ref.order_handle
        reassign(sb, app, row)
        await refresh(pilot, app)
        await wait_until(pilot, lambda: f"~{handle}" in row_line(app, handle), what="the mark")
        line = row_line(app, handle)
        assert line.isascii(), line
        for _ in range(3):
            await refresh(pilot, app)
        await wait_until(pilot, lambda: f"~{handle}" not in row_line(app, handle), what="the mark to age out")


async def test_the_top_bar_fits_80_columns_with_the_counter_read_only_and_sandbox() -> None:
    settings = Settings(base_url=IN_PROCESS_BASE_URL, read_only=True, profile="audit")
    app, sb, _ = make_app(orders=60, settings=settings)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        for row in calm_rows(app, 3):
            Script(sb).turn_red(row.ref.order_handle, **leg(row))
        await refresh(pilot, app)
        await wait_until(pilot, lambda: "3 new red" in top_line(app), what="the counter")
        top = top_line(app)
        total = app.order_list.table.total
        assert "SANDBOX" in top and "READ-ONLY" in top and f"{total:,} open orders" in top, top
        assert " audit " in top and "3 new red" in top and top.rstrip().endswith("ago"), top


def test_the_change_feed_80x24(snap_compare) -> None:
    app, sb, _ = make_app(orders=300)

    async def run_before(pilot) -> None:
        await loaded(pilot, app)
        reds = calm_rows(app, 2, status=("assigned", "dispatched"))
        others = calm_rows(app, 4, status=("assigned", "dispatched"))[2:]
        script = Script(sb)
        for row in reds:
            script.turn_red(row.ref.order_handle, **leg(row), risk="in_outage")
        reassign(sb, app, others[0])
        script.cancel(others[1].ref.order_handle, **leg(others[1]))
        await refresh(pilot, app)
        await pilot.press("F")
        await feed_shown(pilot, app)
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


async def test_the_keys_are_in_the_help_the_palette_and_the_keymap() -> None:
    from console.ui.keymap import binding_ids

    assert {"alerts.next_new_red", "alerts.feed", "feed.red_only", "feed.all", "feed.acknowledge",
            "feed.close"} <= binding_ids()
    app, _, _ = make_app(orders=30, settings=Settings(base_url=IN_PROCESS_BASE_URL,
                                                      keymap=(("alerts.next_new_red", "N"),
                                                              ("feed.acknowledge", "A"))))
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        body = unwrapped(str(app.screen.query_one("#help-body").render()))
        assert "go to the next order that newly turned red" in body
        assert "the change feed: what changed at each refresh" in body
        assert "Change feed" in body and "A acknowledge every new red" in " ".join(body.split())
        await pilot.press("escape")
        titles = {c.title: c.help for c in app.view_controls.palette_commands(app.action_descriptions())}
        assert titles["Go to the next order that newly turned red (acknowledges it)"].startswith("key: N")
        assert "keymap id: alerts.feed" in titles["The change feed: what changed at each refresh, newest first"]
        await pilot.press("N")  # the remapped key runs it
        await wait_until(pilot, lambda: toasts(app) and "No new red order to go to" in toasts(app)[-1],
                         what="the toast")


async def test_an_open_feed_takes_the_next_refresh_s_changes() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("F")
        await feed_shown(pilot, app, "No changes yet")
        row = calm_rows(app, 1)[0]
        Script(sb).turn_red(row.ref.order_handle, **leg(row))
        before = app.session.loads
        app.load_orders()  # the automatic refresh, while the feed is open
        await wait_until(pilot, lambda: app.session.loads > before, what="the refresh")
        await feed_shown(pilot, app, "Worst risk rose from")
        assert {e.ref for e in app.screen.shown} == {row.ref}
        assert "1 new red not looked at" in screen_text(app)


async def test_hostile_handles_and_workers_show_escaped_in_the_feed() -> None:
    from console.session.alerts import ChangeTracker
    from console.ui.screens.change_feed import ChangeFeedScreen
    from tests.support.hostile import assert_no_raw_controls, check_svg, shown
    from tests.support.screen_host import ScreenHost
    from tests.session.test_session_changes import T0, order

    handle, worker = "EVIL\x1b]0;pwned\x07[bold]x[/]\u202e", "w\x9b2J\u200b"
    tracker = ChangeTracker()
    for seconds, risks in ((0, None), (10, {"is_offline": "red"})):
        builder = tracker.begin(T0 + timedelta(seconds=seconds))
        builder.add([order(handle, worker=worker, risks=risks)])
        tracker.complete(builder)
    app = ScreenHost(lambda: ChangeFeedScreen(tracker.feed))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: "Worst risk rose" in screen_text(app), what="the feed")
        text = screen_text(app)
        assert shown(handle) in text and shown(worker) in text and "[bold]x[/]" in text
        assert_no_raw_controls(text, "screen")
        check_svg(app.export_screenshot())


async def test_with_notify_one_sanitized_notification_per_refresh_reaches_the_driver(monkeypatch) -> None:
    from textual.drivers.headless_driver import HeadlessDriver

    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    settings = Settings(base_url=IN_PROCESS_BASE_URL, notify=True, notify_methods=("bell", "osc9"))
    app, sb, _ = make_app(orders=60, settings=settings)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await refresh(pilot, app)  # nothing changed: nothing sent
        notes = lambda: [w for w in written if "\x1b]9;" in w]  # noqa: E731
        assert notes() == []
        reds = calm_rows(app, 2)
        for row in reds:
            Script(sb).turn_red(row.ref.order_handle, **leg(row))
        await refresh(pilot, app)
        await wait_until(pilot, lambda: len(notes()) == 1, what="the notification")
        await refresh(pilot, app)  # no new change: still one
        assert len(notes()) == 1 and app.alerts.notifications_sent == 1
        note = notes()[0]
        assert note.startswith("\x07\x1b]9;dispatch-console: 2 orders turned red: ") and note.endswith("\x07")
        assert note[1:-1].replace("\x1b]9;", "").isprintable()
