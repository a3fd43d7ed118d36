"""Hostile text in handles and addresses is shown literally: no markup, no escape sequences
reaching the terminal, no crash (list, confirmation, screenshots)."""

from __future__ import annotations

from console.ui.columns import fit, layout
from console.ui.screens.confirm import ConfirmComplete
from tests.support.hostile import SHORT_HOSTILE, assert_no_raw_controls, check_svg, screen_text, shown
from tests.support.sandbox_fixtures import make_sandbox
from tests.support.ui_support import list_lines, loaded, make_app, wait_until

MARKUP_HANDLE = "[bold]h[/]"
CRASH_HANDLE = "[/oops]-1"
CONTROL_HANDLE = "evil\x1b]0;pwned\x07"


def hostile_sandbox():
    sb = make_sandbox(orders=10)
    for i, (name, raw) in enumerate(sorted(SHORT_HOSTILE.items())):
        order = sb.add_order(f"H-{i:02d}-{name}")
        order.address = raw
    for handle in (MARKUP_HANDLE, CRASH_HANDLE, CONTROL_HANDLE):
        sb.add_order(handle).address = "[@click=app.quit]x[/]"
    return sb


async def test_hostile_addresses_and_handles_render_literally() -> None:
    app, sb, seen = make_app(hostile_sandbox())
    async with app.run_test(size=(160, 60)) as pilot:
        await loaded(pilot, app)
        table = app.order_list.table
        width = app.order_list.scrollable_content_region.width
        address_width = next(c.width for c in layout(width) if c.name == "address")
        handle_width = next(c.width for c in layout(width) if c.name == "handle")
        rows = {row.ref.order_handle: row for row in table.view}
        await pilot.press("G")  # make sure every row gets rendered at least once
        await pilot.press("g")
        lines = list_lines(app)
        text = "\n".join(lines)
        for i, (name, raw) in enumerate(sorted(SHORT_HOSTILE.items())):
            handle = f"H-{i:02d}-{name}"
            assert handle in rows
            line = next((l for l in lines if fit(handle, handle_width) in l), None)
            if line is None:
                continue  # scrolled off: the rows on screen are checked
            assert fit(shown(raw), address_width).rstrip() in line, (name, line)
        assert fit(MARKUP_HANDLE, handle_width) in text
        assert fit(CRASH_HANDLE, handle_width) in text
        assert fit(shown(CONTROL_HANDLE), handle_width) in text
        screen = screen_text(app)
        assert_no_raw_controls(screen, "screen")
        assert fit("[@click=app.quit]x[/]", address_width) in screen  # cut to its column, not parsed
        check_svg(app.export_screenshot())


async def test_confirmation_names_a_markup_handle_literally() -> None:
    app, sb, seen = make_app(hostile_sandbox())
    async with app.run_test(size=(160, 60)) as pilot:
        await loaded(pilot, app)
        assert app.order_list.select_ref(next(r.ref for r in app.order_list.table.view if r.ref.order_handle == CRASH_HANDLE))
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmComplete)
        screen = screen_text(app)
        assert f"Complete order {CRASH_HANDLE}?" in screen
        assert "[@click=app.quit]x[/]" in screen
        await pilot.press("escape")
        assert seen.posts() == []


async def test_a_handle_the_client_refuses_to_send_is_explained_not_sent() -> None:
    app, sb, seen = make_app(hostile_sandbox())
    async with app.run_test(size=(160, 60)) as pilot:
        await loaded(pilot, app)
        ref = next(r.ref for r in app.order_list.table.view if r.ref.order_handle == CONTROL_HANDLE)
        app.order_list.select_ref(ref)
        await wait_until(pilot, lambda: app.detail.error_shown, what="the detail error")
        # error_shown is set before the frame that draws it: wait for the screen itself
        await wait_until(pilot, lambda: "not sent: invalid request" in screen_text(app), what="the error on screen")
        screen = screen_text(app)
        assert_no_raw_controls(screen, "screen")
        assert not any("pwned" in path for _, path in seen.seen)  # the GET was never sent
