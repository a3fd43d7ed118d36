"""What a new supervisor tripped over in a trial of the console (Pilot): the palette's entries,
the status picker's counts, remapped keys in the view bar and footer, the top bar at 80 columns,
toasts over dialogs, the export of the view, and the wording of a stopped bulk run."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.support.ui_support import loaded, make_app, wait_until


def settings(**kw) -> Settings:
    return Settings(base_url=IN_PROCESS_BASE_URL, **kw)


# ---------------------------------------------------------------------------- command palette


def _palette_titles(app) -> list[str]:
    command_list = app.screen.query_one(CommandList)
    return [str(command_list.get_option_at_index(i).prompt).split("\n")[0].strip()
            for i in range(command_list.option_count)]


async def test_the_palette_offers_each_action_once_and_none_of_textual_s_developer_tools() -> None:
    app, _, _ = make_app(orders=30)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        # Textual's system commands and the console's last entry: every provider has answered.
        await wait_until(pilot, lambda: {"Theme", "Show every status"} <= set(_palette_titles(app)),
                         what="the palette's entries")
        titles = _palette_titles(app)
        duplicates = sorted({t for t in titles if titles.count(t) > 1})
        assert duplicates == [], duplicates
        lowered = [t.lower() for t in titles]
        for developer_tool in ("screenshot", "maximize", "minimize", "keys"):
            assert developer_tool not in lowered, titles
        assert sum(t.startswith("Quit") for t in titles) == 1, titles
        assert "Filter as you type: handle, worker, ops group, address, metadata" in titles


# ---------------------------------------------------------------------------- status picker


async def test_the_status_picker_counts_the_current_view_and_the_whole_list() -> None:
    from textual.widgets import OptionList

    from console.ui.screens.picker import PickerScreen

    app, _, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        rows = list(app.order_list.table.rows)
        await pilot.press("1")  # red only: the view is a part of the list
        red = [r for r in rows if r.worst >= r.worst.RED]
        assert 0 < len(app.order_list.table.view) == len(red) < len(rows)

        async def picker_lines() -> dict[str, str]:
            await pilot.press("s")
            await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
            option_list = app.screen.query_one(OptionList)
            lines = {}
            for i in range(option_list.option_count):
                option = option_list.get_option_at_index(i)
                lines[option.id] = str(option.prompt)
            await pilot.press("escape")
            return lines

        def count(n: int) -> str:
            return f"{n:,}"

        lines = await picker_lines()
        assert " ".join(lines["*"].split()) == f"all statuses {count(len(red))} in view {count(len(rows))} in all"
        for status in {r.status for r in rows}:
            here = sum(r.status == status for r in red)
            whole = sum(r.status == status for r in rows)
            assert " ".join(lines[f"={status}"].split()) == f"{status} {here} in view {whole} in all"
        # With a status picked, "in view" still counts each status under the other filters.
        picked = next(r.status for r in red)
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        app.screen.dismiss(f"={picked}")
        await wait_until(pilot, lambda: app.view_controls.filter.status == picked, what="the status filter")
        lines = await picker_lines()
        assert " ".join(lines["*"].split()) == f"all statuses {count(len(red))} in view {count(len(rows))} in all"


# ---------------------------------------------------------------------------- a stopped bulk run


async def test_a_stopped_run_counts_what_was_done_and_says_each_thing_once(tmp_path) -> None:
    from tests.support.hostile import screen_text
    from tests.ui.test_ui_bulk import Gate, bulk_app, mark_rows, run_finished

    app, sb, seen = bulk_app(tmp_path, bulk_concurrency=2)
    gate = Gate(seen.inner)
    seen.inner = gate
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await mark_rows(pilot, app, 8)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: gate.waiting == 2, what="two POSTs in flight")
        await pilot.press("escape")
        await wait_until(pilot, lambda: "STOPPING" in screen_text(app), what="the stopping state")
        note = " ".join(str(app.screen.query_one("#bulk-progress-note").render()).split())
        assert note.lower().count("no new requests are sent") == 1, note
        assert "2 request(s) in flight finish and are recorded" in note
        gate.open.set()
        await run_finished(pilot, app)
        text = screen_text(app)
        # 2 were sent and completed, 6 never sent: "done" counts the 2, not the 8.
        assert "done 2/8" in text and "completed 2" in text and "not sent 6" in text, text
        assert "done 8/8" not in text
        note = " ".join(str(app.screen.query_one("#bulk-progress-note").render()).split())
        assert note.lower().count("no new requests") <= 1, note
        assert "6 orders never sent" in note, note
        await pilot.press("escape")
        await wait_until(pilot, lambda: "last bulk run" in screen_text(app), what="the status bar")
        bar = " ".join(str(app.query_one("#bulk-status").render()).split())
        assert "2/8 done" in bar and "6 not sent" in bar, bar


# ---------------------------------------------------------------------------- your own keys


def _footer_actions(app) -> list[str]:
    from textual.widgets._footer import FooterKey

    return [key.action for key in app.screen.query(FooterKey)]


async def _footer_order(keymap) -> list[str]:
    app, _, _ = make_app(orders=20, settings=settings(keymap=keymap))
    async with app.run_test(size=(160, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: "quit" in _footer_actions(app), what="the footer's keys")
        return _footer_actions(app)


async def test_remapped_keys_show_in_the_view_bar_and_keep_their_place_in_the_footer() -> None:
    keymap = (("view.filter", "f"), ("order.copy_url", "Y"), ("order.complete", "C"), ("bulk.clear", "X"))
    app, _, _ = make_app(orders=30, settings=settings(keymap=keymap))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        bar = str(app.view_controls.bar.summary.render())
        assert "filter: none (f)" in bar and "(/)" not in bar, bar
        await pilot.press("space")
        await wait_until(pilot, lambda: app.query_one("#bulk-status").display, what="the bulk bar")
        hint = str(app.query_one("#bulk-status").render())
        assert "C complete" in hint and "X clears" in hint, hint
        await pilot.press("question_mark")
        body = str(app.screen.query_one("#help-body").render())
        assert "Filter input (f)" in body and "Filter input (/)" not in body
    default = await _footer_order(())
    remapped = await _footer_order(keymap)
    assert remapped == default, (default, remapped)


# ---------------------------------------------------------------------------- the top bar


@pytest.mark.parametrize("profile", ["audit", "dispatch-north-west-night-shift"])
async def test_the_top_bar_fits_80_columns_with_a_profile_read_only_and_sandbox(profile: str) -> None:
    from tests.support.hostile import screen_text

    app, _, _ = make_app(orders=120, settings=settings(profile=profile, read_only=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        total = app.order_list.table.total
        await wait_until(pilot, lambda: "ago" in screen_text(app).splitlines()[0], what="the age")
        top = screen_text(app).splitlines()[0]
        assert "SANDBOX" in top and "READ-ONLY" in top, top
        assert f"{total:,} open orders" in top and top.rstrip().endswith("updated 0s ago"), top
        if len(profile) < 14:
            assert f" {profile} READ-ONLY " in " ".join(top.split()), top  # the profile whole
        else:
            assert "dispatch-north" in top and "…" in top, top  # cut, with an ellipsis
        # Wider (side by side, from 160), the scope says more, in its fixed order, and the brand shows.
        await pilot.resize_terminal(160, 24)
        await wait_until(pilot, lambda: "all ops groups" in screen_text(app).splitlines()[0],
                         what="the full scope")
        assert "Dispatch console" in screen_text(app).splitlines()[0]


def test_the_scope_shortens_in_a_fixed_order() -> None:
    from console.ui.top_bar import fit_scope, scope_forms

    forms = scope_forms("audit", "north")
    assert forms == ["audit · ops group north", "audit · north"]
    assert [fit_scope(forms, w) for w in (30, 22, 13, 8, 1, 0)] == [
        "audit · ops group north", "audit · north", "audit · north", "audit ·…", "…", ""]
    assert scope_forms("audit", None) == ["audit · all ops groups", "audit"]
    assert scope_forms(None, None) == ["all ops groups"]
    assert scope_forms(None, "n\x1b]0;x\x07") == ["ops group n\\x1b]0;x\\x07", "n\\x1b]0;x\\x07"]


# ---------------------------------------------------------------------------- toasts and dialogs


def _visible_toasts(app) -> list:
    from textual.widgets._toast import Toast

    return [t for t in app.screen.query(Toast) if t.display and t.region.area and t.visible]


async def test_no_toast_covers_the_bulk_review_s_instructions_or_input_at_80x24(tmp_path) -> None:
    from console.ui.screens.bulk_review import BulkReviewScreen as BulkReview
    from tests.support.hostile import screen_text
    from tests.ui.test_ui_bulk import bulk_app

    app, _, _ = bulk_app(tmp_path, orders=60)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:  # toasts drawn, as in use
        await loaded(pilot, app)
        await pilot.press("asterisk")
        n = len(app.bulk.marks)
        await wait_until(pilot, lambda: _visible_toasts(app), what="the marking toast")
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReview), what="the review")
        await pilot.pause()
        screen = app.screen
        assert screen.typed, "the typed-count review (more orders than the typed threshold)"
        await pilot.press("4", "enter")  # a wrong count: the dialog says so on its last line
        await wait_until(pilot, lambda: screen.query_one("#bulk-review-error").display, what="the error")
        await pilot.pause()
        assert _visible_toasts(app) or app._notifications, "the toast has not timed out yet"
        # Every line of the dialog: its question, list, warning, instructions, input and error.
        guarded = [w for w in screen.query("#bulk-review-dialog > *") if w.display]
        assert {"bulk-review-keys", "bulk-review-count", "bulk-review-error"} <= {w.id for w in guarded}
        for toast in _visible_toasts(app):
            for widget in guarded:
                assert not toast.region.overlaps(widget.region), (toast.region, widget.id, screen_text(app))
        text = " ".join(screen_text(app).split())
        assert f"Type {n} (the number of orders) and press Enter to confirm; Esc cancels." in text, text
        # Back on the list, a toast that has not timed out is there again.
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, BulkReview), what="the list")
        await wait_until(pilot, lambda: _visible_toasts(app), what="the toast back on the list")


# ---------------------------------------------------------------------------- export (e)


async def test_e_exports_the_view_as_shown_to_csv_and_names_the_file(tmp_path, monkeypatch) -> None:
    import csv
    from datetime import timezone

    from textual.widgets import Input

    from console.export import default_name
    from console.ui.screens.export import ExportScreen
    from tests.support.sandbox_fixtures import FIXED_START

    monkeypatch.chdir(tmp_path)
    app, _, _ = make_app(orders=80)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await loaded(pilot, app)
        await pilot.press("2", "O")  # red+yellow only, the sort reversed
        view = list(app.order_list.table.view)
        assert 2 < len(view) < app.order_list.table.total
        await pilot.press("space", "j", "j", "space")
        marked = {view[0].ref.order_handle, view[2].ref.order_handle}
        await pilot.press("e")
        await wait_until(pilot, lambda: isinstance(app.screen, ExportScreen), what="the export dialog")
        path_input = app.screen.query_one("#export-path", Input)
        utc = FIXED_START.astimezone(timezone.utc)
        assert path_input.value == default_name(FIXED_START) == f"dispatch-orders-{utc:%Y%m%dT%H%M%SZ}.csv"
        # A folder that does not exist: said in the dialog, which stays open for another path.
        path_input.value = str(tmp_path / "missing" / "view.csv")
        await pilot.press("enter")
        error = app.screen.query_one("#export-error")
        await wait_until(pilot, lambda: error.display, what="the error line")
        assert "does not exist" in str(error.render()) and isinstance(app.screen, ExportScreen)
        # The default: the current directory.
        path_input.value = default_name(FIXED_START)
        await pilot.press("enter")
        await wait_until(pilot, lambda: not isinstance(app.screen, ExportScreen), what="the dialog to close")
        target = tmp_path / default_name(FIXED_START)
        with open(target, newline="", encoding="utf-8") as handle:
            lines = list(csv.reader(handle))
        assert [line[0] for line in lines[1:]] == [row.ref.order_handle for row in view]
        assert {line[0] for line in lines[1:] if line[-1] == "yes"} == marked
        assert lines[0][-1] == "marked"
        await wait_until(pilot, lambda: any(str(target) in str(n.message) for n in app._notifications),
                         what="the toast naming the file")
        # The palette offers it too, with its key and keymap id.
        commands = {c.action: c for c in app.view_controls.palette_commands(app.action_descriptions())}
        assert commands["export"].help == "key: e   (keymap id: view.export)"
