"""Cancel (x), disable (d), enable (E), reassign (a) and reschedule (t) from the keyboard, against
the sandbox served over loopback HTTP: what the supervisor sees (the row, the toast, the footer,
the dialogs), what the server applied (its own record), and what the journal recorded (the
action and its parameters next to the outcome).
"""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path

import pytest

from console.api.client import OrdersClient
from console.bulk.journal import JournalReader
from console.settings import Settings
from console.ui.app import DispatchApp
from console.ui.screens.action_confirm import ActionConfirmScreen
from console.ui.screens.bulk_review import BulkReviewScreen
from console.ui.screens.reschedule import RescheduleScreen
from console.ui.screens.worker_picker import WorkerPickerScreen
from tests.support.sandbox_fixtures import FIXED_START, ServedSandbox
from tests.support.hostile import screen_text
from tests.support.ui_support import loaded, row_line, wait_until


async def _no_sleep(_seconds: float) -> None:
    return None


def served_app(served: ServedSandbox, tmp_path: Path, **settings) -> DispatchApp:
    """The console over real HTTP to the served sandbox; writes without settle waits."""
    sb = served.sandbox
    client = OrdersClient(sb.credentials, base_url=served.base_url, sleep=_no_sleep)
    app = DispatchApp(client, Settings(base_url=served.base_url, journal_path=tmp_path / "journal.sqlite3", **settings),
                      sandbox=True, now=lambda: FIXED_START)
    app.detail_controller.DETAIL_DEBOUNCE = 0.0
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0)
    app.order_actions.local_zone = timezone.utc
    return app


@pytest.fixture
async def served(served_sandbox, tmp_path):
    """``served(**settings)``: an app over the served sandbox; its HTTP client closed at teardown."""
    apps: list[DispatchApp] = []

    def make(**settings) -> DispatchApp:
        apps.append(served_app(served_sandbox, tmp_path, **settings))
        return apps[-1]

    yield make
    for app in apps:
        await app.client.aclose()


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def ops(app) -> list:
    with JournalReader(app.bulk.journal_path) as reader:
        return reader.list_ops()


def highlight(app, status: str | None = None, *, exclude: tuple[str, ...] = ()):
    """Move the cursor to the first row of ``status`` (any, when None); return that row."""
    view = app.order_list.table.view
    for index, row in enumerate(view):
        if (status is None or row.status == status) and row.status not in exclude:
            app.order_list.move_cursor(index)
            return row
    raise AssertionError(f"no {status} order in the list")


async def single_done(pilot, app) -> None:
    await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the single run to end")
    await pilot.pause()


async def test_cancel_from_the_keyboard_with_a_reason(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, exclude=("disabled",))
        handle = row.ref.order_handle
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        assert "cannot be undone" in str(app.screen.query_one("#action-effect").render())
        await pilot.press(*"gate closed")
        await pilot.press("enter")
        await single_done(pilot, app)
        assert app.order_list.table.get(row.ref).status == "cancelled"  # the result in place
        assert "cancelled" in row_line(app, handle[:12])
        assert f"Cancelled {row.display_handle}." in toasts(app)
        assert sb.stats.applied_count("cancel", handle) == 1
        assert sb.stats.count("POST", handle=handle, action="cancel") == 1
        (op,) = ops(app)
        assert op.action == "cancel" and op.state == "applied" and '"reason":"gate closed"' in op.params
        # The reason reached the server: the sandbox keeps a cancel's metadata on the order.
        r = row.ref
        assert sb.order(handle, r.type, r.type_index, r.fulfillment_attempt).metadata["cancel_reason"] == "gate closed"


async def test_escape_on_the_confirmation_sends_nothing(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, exclude=("disabled",))
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert sb.stats.count("POST", handle=row.ref.order_handle) == 0
        assert app.order_list.table.get(row.ref).status == row.status


async def test_disable_then_enable_and_the_footer_follows_the_status(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        handle = row.ref.order_handle
        await pilot.pause()
        bindings = app.screen.active_bindings
        assert bindings["d"].enabled and not bindings["E"].enabled  # enable needs a disabled order

        await pilot.press("E")  # dimmed: says why, opens nothing, sends nothing
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        assert any("not disabled: there is nothing to enable" in t for t in toasts(app))

        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("enter")
        await single_done(pilot, app)
        assert app.order_list.table.get(row.ref).status == "disabled"
        assert "disabled" in row_line(app, handle[:12])
        await wait_until(pilot, lambda: not app.screen.active_bindings["d"].enabled, what="d dimmed")
        assert app.screen.active_bindings["E"].enabled

        await pilot.press("E")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("enter")
        await single_done(pilot, app)
        status = app.order_list.table.get(row.ref).status
        assert status in ("unplanned", "planned", "assigned", "dispatched", "ongoing")
        assert sb.stats.applied_count("disable", handle) == 1 and sb.stats.applied_count("enable", handle) == 1
        assert [(op.action, op.state) for op in ops(app)] == [("disable", "applied"), ("enable", "applied")]


async def test_reassign_picks_a_worker_and_the_row_shows_them(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        # A worker of the order's own ops group: no ops group is needed, none is sent.
        other = next(r.worker for r in app.order_list.table.rows
                     if r.worker and r.worker != row.worker and r.ops_group == row.ops_group)
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the worker picker")
        await pilot.press(*other)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        assert other in str(app.screen.query_one("#action-facts").render())
        await pilot.press("enter")
        await single_done(pilot, app)
        assert app.order_list.table.get(row.ref).worker == other
        assert sb.stats.applied_count("reassign", row.ref.order_handle) == 1
        (op,) = ops(app)
        assert op.action == "reassign" and op.state == "applied" and op.params == f'{{"worker":"{other}"}}'


@pytest.mark.parametrize("status", ["assigned", "dispatched"])
async def test_reschedule_to_a_typed_time(served, served_sandbox, tmp_path, status) -> None:
    app = served()
    sb = served_sandbox.sandbox
    new_time = FIXED_START + timedelta(minutes=90)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, status)
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press(*"+90m")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        facts = str(app.screen.query_one("#action-facts").render())
        assert "2026-11-29 20:00 UTC" in facts
        await pilot.press("enter")
        await single_done(pilot, app)
        shown = app.order_list.table.get(row.ref)
        # In place: the new time; a dispatched order comes back re-created, unplanned (documented).
        assert shown.scheduled_at == new_time
        if status == "dispatched":
            assert shown.status == "unplanned"
        assert sb.stats.applied_count("reschedule", row.ref.order_handle) == 1
        (op,) = ops(app)
        assert op.action == "reschedule" and op.state == "applied"
        assert op.params == '{"at":"2026-11-29T20:00:00Z"}'


async def test_lost_answer_of_a_cancel_is_settled_by_reading_back(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        handle = row.ref.order_handle
        sb.faults.script("POST", handle, ["drop_after_apply"])
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("enter")
        await single_done(pilot, app)
        assert app.order_list.table.get(row.ref).status == "cancelled"
        assert sb.stats.count("POST", handle=handle, action="cancel") == 1  # never sent twice
        assert sb.stats.applied_count("cancel", handle) == 1
        (op,) = ops(app)
        assert op.action == "cancel" and op.state == "applied_reconciled"
        assert any("cancelled (the answer was lost" in t for t in toasts(app))


async def test_a_refused_disable_before_applying_is_sent_again_once(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        handle = row.ref.order_handle
        sb.faults.script("POST", handle, ["503"])  # refused before applying: in doubt, read back
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("enter")
        await single_done(pilot, app)
        assert app.order_list.table.get(row.ref).status == "disabled"
        assert sb.stats.applied_count("disable", handle) == 1
        (op,) = ops(app)
        assert op.action == "disable" and op.state == "applied" and op.attempts == 2


async def test_read_only_disables_every_action_and_says_why(served, served_sandbox, tmp_path) -> None:
    app = served(read_only=True, profile="audit")
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await pilot.pause(0.2)
        bindings = app.screen.active_bindings
        for key in ("x", "d", "E", "a", "t"):
            assert not bindings[key].enabled, key
        await pilot.press("x", "a", "space", "t")
        await pilot.pause()
        assert app.screen is app.screen_stack[0]
        said = toasts(app)
        assert any("'audit' is read-only" in t and "cannot cancel orders" in t for t in said)
        assert any("cannot reassign orders" in t for t in said)
        assert any("cannot reschedule orders" in t for t in said)
        assert sb.stats.count("POST") == 0


async def test_the_footer_shows_the_actions_dimmed_from_130_columns(served, served_sandbox, tmp_path) -> None:
    from console.ui.textual_compat.footer import FooterKey

    app = served()
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        highlight(app, "assigned")
        await pilot.pause(0.3)
        keys = {k.action: k for k in app.footer.query(FooterKey)}
        assert {"cancel_order", "disable_order", "enable_order", "reassign_order", "reschedule_order"} <= set(keys)
        assert keys["enable_order"].has_class("-disabled") and not keys["cancel_order"].has_class("-disabled")
        await pilot.press("space")  # with marks, E acts on the marked orders: no longer dimmed
        await wait_until(pilot, lambda: not {k.action: k for k in app.footer.query(FooterKey)}["enable_order"]
                         .has_class("-disabled"), what="E enabled by the mark")
        await pilot.press("U")
        await wait_until(pilot, lambda: {k.action: k for k in app.footer.query(FooterKey)}["enable_order"]
                         .has_class("-disabled"), what="E dimmed again")
        await pilot.resize_terminal(80, 24)
        await pilot.pause(0.3)
        assert "cancel_order" not in {k.action for k in app.footer.query(FooterKey)}


async def test_bulk_disable_skips_what_it_does_not_apply_to(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        rows = [r for r in app.order_list.table.view if r.status == "assigned"][:3]
        # One of them is disabled already (by the console, as a single run).
        highlight(app, "assigned")
        first = app.order_list.cursor_row
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("enter")
        await single_done(pilot, app)
        assert first in rows
        for r in rows:
            app.order_list.move_cursor(app.order_list.table.view.index(app.order_list.table.get(r.ref)))
            await pilot.press("space")
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        review = app.screen
        assert len(review.refs) == 2 and [ref for ref, _ in review.skipped] == [first.ref]
        assert review.skipped[0][1] == "the order is already disabled"
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        state = app.bulk.state
        assert state.action.name == "disable" and len(state.results) == 2
        assert all(r.status.value == "completed" for r in state.results)
        await pilot.press("escape")
        await wait_until(pilot, lambda: "last bulk disable: 2/2 done" in screen_text(app), what="the status bar")
        for r in rows:
            assert sb.stats.applied_count("disable", r.ref.order_handle) == 1
        assert [op.action for op in ops(app)] == ["disable"] * 3


async def test_bulk_reassign_sends_one_worker_to_all(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        worker = view[0].worker or next(r.worker for r in view if r.worker)
        group = next(r.ops_group for r in view if r.worker == worker)
        # Orders of the worker's own ops group: no ops group is needed, none is sent.
        targets = [r for r in view if r.worker != worker and r.ops_group == group
                   and r.status in ("assigned", "planned", "unplanned")][:2]
        assert len(targets) == 2
        for r in targets:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the worker picker")
        await pilot.press(*worker)
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert f"reassign to {worker}" in str(app.screen.query_one("#bulk-review-warning").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        for r in targets:
            assert sb.stats.applied_count("reassign", r.ref.order_handle) == 1
        assert {op.params for op in ops(app)} == {f'{{"worker":"{worker}"}}'}


# ---------------------------------------------------------------------------- palette, keymap, retry


async def test_palette_entries_and_keymap_ids(served, served_sandbox, tmp_path) -> None:
    from textual.command import CommandPalette

    from console.ui.keymap import binding_ids

    assert {"order.cancel", "order.disable", "order.enable", "order.reassign", "order.reschedule"} <= binding_ids()
    app = served(keymap=(("order.cancel", "X"),))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        highlight(app, "assigned")
        commands = {c.action: c for c in app.view_controls.palette_commands(app.action_descriptions())}
        for name in ("cancel_order", "disable_order", "enable_order", "reassign_order", "reschedule_order"):
            assert name in commands
        assert "key: X" in commands["cancel_order"].help and "order.cancel" in commands["cancel_order"].help
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"reschedule the marked")
        await wait_until(pilot, lambda: "Reschedule the marked" in screen_text(app), what="the hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("X")  # the keymap's key
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")


async def test_bulk_cancel_failed_orders_stay_marked_and_R_retries_them_as_cancels(tmp_path) -> None:
    import httpx

    from console.sandbox.core import IN_PROCESS_BASE_URL
    from tests.support.ui_support import make_app

    app, sb, seen = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL,
                                                          journal_path=tmp_path / "journal.sqlite3"))
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0, min_pause=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = []
        for _ in range(3):
            refs.append(app.order_list.cursor_row.ref)
            await pilot.press("space", "j")
        failing = refs[1].order_handle

        def unreachable(request: httpx.Request):
            if request.method == "POST" and failing in request.url.path:
                return httpx.ConnectError("connection refused")
            return None

        seen.rules.append(unreachable)
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert "Cancel 3 orders?" in screen_text(app) and "cannot be undone" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        text = screen_text(app)
        assert "Bulk cancel of 3 orders: finished" in text and "cancelled 2" in text and "failed 1" in text
        assert set(app.bulk.marks) == {refs[1]}
        await pilot.press("escape")
        seen.rules.clear()
        await pilot.press("R")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the retry review")
        assert "Retry: Cancel 1 order?" in screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished"
                         and app.bulk.state.refs == [refs[1]], what="the retry")
        assert app.bulk.state.action.name == "cancel"
        for ref in refs:
            assert sb.stats.applied_count("cancel", ref.order_handle) == 1
            assert sb.stats.applied_count("complete", ref.order_handle) == 0


async def test_lost_answer_of_a_dispatched_reschedule_is_found_on_the_re_created_attempt(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "dispatched")
        handle = row.ref.order_handle
        sb.faults.script("POST", handle, ["drop_after_apply"])
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press(*"+2h")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        assert "creates it again" in str(app.screen.query_one("#action-effect").render())
        await pilot.press("enter")
        await single_done(pilot, app)
        assert sb.stats.count("POST", handle=handle, action="reschedule") == 1  # never sent twice
        assert sb.stats.applied_count("reschedule", handle) == 1
        (op,) = ops(app)
        assert op.action == "reschedule" and op.state == "applied_reconciled"
        assert any("rescheduled (the answer was lost" in t for t in toasts(app))
        # After the refresh the list shows the re-created attempt, unplanned, at the new time.
        await wait_until(pilot, lambda: any(
            r.ref.order_handle == handle and r.status == "unplanned" and r.scheduled_at == FIXED_START + timedelta(hours=2)
            for r in app.order_list.table.rows), what="the re-created attempt in the list")


async def test_bulk_reschedule_sends_one_time_to_all(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        targets = [r for r in view if r.status in ("assigned", "planned")][:3]
        for r in targets:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        assert "Reschedule 3 marked orders to one time" in str(app.screen.query_one("#reschedule-title").render())
        await pilot.press(*"+45m", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        assert "rescheduled 3" in screen_text(app)
        for r in targets:
            assert sb.stats.applied_count("reschedule", r.ref.order_handle) == 1
            o = sb.order(r.ref.order_handle, r.ref.type, r.ref.type_index, r.ref.fulfillment_attempt)
            assert o.scheduled_at == (FIXED_START + timedelta(minutes=45)).timestamp()
        assert {op.params for op in ops(app)} == {'{"at":"2026-11-29T19:15:00Z"}'}


async def test_more_than_twenty_marked_disables_need_the_typed_count(tmp_path) -> None:
    from console.sandbox.core import IN_PROCESS_BASE_URL
    from tests.support.ui_support import make_app

    app, sb, seen = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL,
                                                          journal_path=tmp_path / "journal.sqlite3"))
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0, min_pause=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("asterisk")
        rows = [app.order_list.table.get(ref) for ref in app.bulk.marks]
        sendable = [r for r in rows if r.status != "disabled"]
        assert len(sendable) > 20 and len(sendable) < len(rows)  # some are disabled already: skipped
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert app.screen.typed and len(app.screen.skipped) == len(rows) - len(sendable)
        await pilot.press("y")  # not enough: only the typed count confirms
        await pilot.pause()
        assert isinstance(app.screen, BulkReviewScreen) and sb.stats.count("POST") == 0
        await pilot.press(*str(len(sendable)), "enter")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        assert sb.stats.applied_count("disable") == len(sendable)
        assert sb.stats.count("POST", action="disable") == len(sendable) == sb.stats.count("POST")


async def test_a_dead_cancel_run_is_settled_in_cancel_words_and_x_sends_the_rest(tmp_path) -> None:
    """A bulk cancel that died mid-flight: at the next start the report says cancelled / not
    applied per order with its action (not 'c sends them'), and x cancels what is left."""
    from console.bulk.journal import Journal
    from console.sandbox.core import IN_PROCESS_BASE_URL
    from console.ui.screens.bulk_settled import BulkSettledScreen
    from tests.support.sandbox_fixtures import make_sandbox
    from tests.support.ui_support import make_app

    sb = make_sandbox(orders=60)
    async with sb.client() as setup:
        done, not_done = [o.ref for o in await setup.list_orders(status=["assigned"])][:2]
    path = tmp_path / "journal.sqlite3"
    account = sb.credentials.account_id
    with Journal(path) as journal:
        run = journal.start_run(account_id=account, base_url=IN_PROCESS_BASE_URL, count=2)
        ops_ = journal.add_ops(run, [done, not_done], account_id=account, base_url=IN_PROCESS_BASE_URL,
                               actions=[("cancel", '{"reason":"storm"}')] * 2)
        for op in ops_:
            journal.record_intent(op, run)
    async with sb.client() as other:
        await other.cancel_summary(done)  # that request had arrived before the console died
    app, sb, seen = make_app(sb, settings=Settings(base_url=IN_PROCESS_BASE_URL, journal_path=path))
    app.bulk.engine_options = dict(settle_delay=0.0, settle_window=0.0, min_pause=0.0)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: isinstance(app.screen, BulkSettledScreen), what="the settlement report")
        await pilot.pause()
        text = screen_text(app)
        assert "c sends them" not in text and "not c unless it was a completion" in text
        lines = app.screen.query_one("#bulk-settled-list").plain_lines
        assert any(done.order_handle in line and "cancel: cancelled (reconciled)" in line for line in lines), lines
        assert any(not_done.order_handle in line and "cancel: not applied" in line for line in lines), lines
        await pilot.press("escape")
        await wait_until(pilot, lambda: not_done in app.bulk.marks, what="the mark")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        assert sb.stats.applied_count("cancel", not_done.order_handle) == 1
        assert sb.stats.applied_count("complete") == 0


async def test_a_typed_worker_handle_is_shown_literally_never_as_markup(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the worker picker")
        await pilot.press(*"[bold]w-evil[/]")
        await pilot.press("enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        assert "[bold]w-evil[/]" in screen_text(app)  # as typed: not parsed, not dropped
        await pilot.press("escape")
        await pilot.pause()
        assert sb.stats.count("POST", handle=row.ref.order_handle) == 0


# ---------------------------------------------------------------------------- the marks' hint


async def test_the_marks_hint_names_the_actions_that_apply_to_them_within_80_columns(served, served_sandbox, tmp_path) -> None:
    app = served()
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        for r in [r for r in view if r.status == "assigned"][:2]:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await wait_until(pilot, lambda: "U clears" in screen_text(app), what="the marks' hint")
        bar = str(app.query_one("#bulk-status").render())
        # Enable applies only to disabled orders: none is marked, so the hint leaves it out.
        assert bar == "✓ 2 marked · c complete x cancel d disable a reassign t reschedule · U clears", bar
        disabled = next(r for r in view if r.status == "disabled")
        app.order_list.move_cursor(view.index(disabled))
        await pilot.press("space")
        await wait_until(pilot, lambda: "3 marked" in screen_text(app), what="the third mark")
        bar = str(app.query_one("#bulk-status").render())
        # Every key now applies to some marked order: too long for the line, the keys alone.
        assert bar == "✓ 3 marked · c x d E a t act on them · U clears", bar
        assert any("c x d E a t act on them · U clears" in line for line in screen_text(app).splitlines())


# ---------------------------------------------------------------------------- the bulk cancel's reason


def _metadata(sb, ref) -> dict:
    return sb.order(ref.order_handle, ref.type, ref.type_index, ref.fulfillment_attempt).metadata or {}


async def test_bulk_cancel_sends_the_reason_typed_in_the_review_with_every_cancel(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        targets = [r for r in view if r.status == "assigned"][:2]
        for r in targets:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert "sent with every cancel" in screen_text(app) and "Tab reason" in screen_text(app)
        await pilot.press("tab", *"storm [b]", "enter")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        for r in targets:
            assert sb.stats.applied_count("cancel", r.ref.order_handle) == 1
            assert _metadata(sb, r.ref)["cancel_reason"] == "storm [b]"
        assert [op.params for op in ops(app)] == ['{"reason":"storm [b]"}'] * 2
        assert app.bulk.state.action.reason == "storm [b]"


async def test_bulk_cancel_without_a_reason_sends_none_and_y_still_confirms(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        target = next(r for r in view if r.status == "assigned")
        app.order_list.move_cursor(view.index(target))
        await pilot.press("space", "x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        assert sb.stats.applied_count("cancel", target.ref.order_handle) == 1
        assert "cancel_reason" not in _metadata(sb, target.ref)
        assert [op.params for op in ops(app)] == [None]


async def test_bulk_cancel_refuses_a_reason_with_control_characters(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        target = next(r for r in view if r.status == "assigned")
        app.order_list.move_cursor(view.index(target))
        await pilot.press("space", "x")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        await pilot.press("tab")
        app.screen.query_one("#bulk-review-reason").value = "gate\u202eclosed"
        await pilot.press("enter")
        await wait_until(pilot, lambda: "control or invisible" in screen_text(app), what="the refusal")
        assert isinstance(app.screen, BulkReviewScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert sb.stats.count("POST", handle=target.ref.order_handle) == 0


# ---------------------------------------------------------------------------- reassign's ops group


async def test_reassign_to_a_worker_of_another_ops_group_sends_their_group(tmp_path) -> None:
    import json

    from console.sandbox.core import IN_PROCESS_BASE_URL
    from console.session.workers import worker_choices
    from tests.support.ui_support import make_app

    app, sb, seen = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL,
                                                          journal_path=tmp_path / "journal.sqlite3"))
    app.order_actions.local_zone = timezone.utc
    bodies: list[dict] = []

    def record(request):
        if request.method == "POST" and request.url.path.endswith("/reassign"):
            bodies.append(json.loads(request.content))
        return None  # the sandbox answers

    seen.rules.append(record)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        rows = app.order_list.table.rows
        row = highlight(app, "assigned")
        choices = worker_choices(rows)
        worker = next(c for c in choices if len(c.ops_groups) == 1 and c.ops_groups[0] != row.ops_group)
        (group,) = worker.ops_groups
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the worker picker")
        await pilot.press(*worker.handle, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        facts = str(app.screen.query_one("#action-facts").render())
        assert f"Ops group: {row.ops_group} → {group}" in facts, facts
        await pilot.press("enter")
        await single_done(pilot, app)
        assert bodies == [{"worker_handle": worker.handle, "ops_group_handle": group}]
        assert sb.stats.applied_count("reassign", row.ref.order_handle) == 1
        assert app.order_list.table.get(row.ref).worker == worker.handle
        (op,) = ops(app)
        assert op.state == "applied" and json.loads(op.params) == {"worker": worker.handle, "ops_group": group}


async def test_bulk_reassign_sends_the_worker_s_group_when_a_marked_order_is_elsewhere(tmp_path) -> None:
    import json

    from console.sandbox.core import IN_PROCESS_BASE_URL
    from console.session.workers import worker_choices
    from tests.support.ui_support import make_app

    app, sb, seen = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL,
                                                          journal_path=tmp_path / "journal.sqlite3"))
    bodies: list[dict] = []

    def record(request):
        if request.method == "POST" and request.url.path.endswith("/reassign"):
            bodies.append(json.loads(request.content))
        return None

    seen.rules.append(record)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        open_ = ("assigned", "planned", "unplanned")

        def pair(choice):
            """An order of the worker's group and one of another, neither the worker's."""
            same = [r for r in view if r.status in open_ and r.worker != choice.handle and r.ops_group == choice.ops_groups[0]]
            other = [r for r in view if r.status in open_ and r.worker != choice.handle and r.ops_group != choice.ops_groups[0]]
            return [same[0], other[0]] if same and other else None

        worker, targets = next((c, pair(c)) for c in worker_choices(app.order_list.table.rows)
                               if len(c.ops_groups) == 1 and pair(c))
        (group,) = worker.ops_groups
        for r in targets:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await pilot.press("a")
        await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the worker picker")
        await pilot.press(*worker.handle, "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert f"(ops group {group})" in str(app.screen.query_one("#bulk-review-warning").render())
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        assert bodies == [{"worker_handle": worker.handle, "ops_group_handle": group}] * 2
        for r in targets:
            assert sb.stats.applied_count("reassign", r.ref.order_handle) == 1


# ---------------------------------------------------------------------------- reschedule's "not before"


async def test_reschedule_with_not_before_sends_scheduled_after(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press(*"+90m", "tab", *"+60m", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        facts = str(app.screen.query_one("#action-facts").render())
        assert "2026-11-29 20:00 UTC" in facts and "Not before: Sun 2026-11-29 19:30 UTC" in facts, facts
        await pilot.press("enter")
        await single_done(pilot, app)
        shown = app.order_list.table.get(row.ref)
        assert shown.scheduled_at == FIXED_START + timedelta(minutes=90)
        assert shown.scheduled_after == FIXED_START + timedelta(minutes=60)  # the server's answer
        assert sb.stats.applied_count("reschedule", row.ref.order_handle) == 1
        (op,) = ops(app)
        assert op.state == "applied"
        assert op.params == '{"after":"2026-11-29T19:30:00Z","at":"2026-11-29T20:00:00Z"}'


async def test_not_before_that_is_not_before_the_new_time_is_refused(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        row = highlight(app, "assigned")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press(*"+90m", "tab", *"+2h", "enter")
        await wait_until(pilot, lambda: "must be before the new time" in screen_text(app), what="the refusal")
        await pilot.press(*["backspace"] * 3, *"nonsense", "enter")
        await wait_until(pilot, lambda: "Not before:" in screen_text(app), what="the parser's refusal")
        assert isinstance(app.screen, RescheduleScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert sb.stats.count("POST", handle=row.ref.order_handle) == 0


# ---------------------------------------------------------------------------- the order's zone from the list


async def test_the_reschedule_input_shows_the_order_s_zone_from_the_list_row(served_sandbox, tmp_path) -> None:
    """The list endpoint carries ``timezone``: the row has it, so the dialog shows the order's
    zone without the detail pane holding the full order. (The sandbox gives no zone: a proxy
    over real HTTP adds one to every listed order, as HyperTrack's list would carry it.)"""
    import json

    import httpx

    class AddsZone(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            response = await self.inner.handle_async_request(request)
            if request.method != "GET" or request.url.path.rstrip("/") != "/orders":
                return response
            body = json.loads(await response.aread())
            for item in body.get("orders") or []:
                item["timezone"] = "America/Los_Angeles"
            return httpx.Response(response.status_code, json=body)

        async def aclose(self) -> None:
            await self.inner.aclose()

    sb = served_sandbox.sandbox
    client = OrdersClient(sb.credentials, base_url=served_sandbox.base_url, sleep=_no_sleep, transport=AddsZone())
    app = DispatchApp(client, Settings(base_url=served_sandbox.base_url, journal_path=tmp_path / "journal.sqlite3"),
                      sandbox=True, now=lambda: FIXED_START)
    app.detail_controller.DETAIL_DEBOUNCE = 3600.0  # the detail pane never holds the full order here
    app.order_actions.local_zone = timezone.utc
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            row = highlight(app, "assigned")
            assert row.timezone == "America/Los_Angeles"
            await pilot.press("t")
            await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
            assert "Order's zone: America/Los_Angeles." in screen_text(app)
            await pilot.press(*"+90m")
            await wait_until(pilot, lambda: "Order zone: Sun 2026-11-29 12:00 PST" in screen_text(app),
                             what="the preview in the order's zone")
            await pilot.press("escape")
    finally:
        await client.aclose()


async def test_bulk_reschedule_sends_the_not_before_with_every_order(served, served_sandbox, tmp_path) -> None:
    app = served()
    sb = served_sandbox.sandbox
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        view = app.order_list.table.view
        targets = [r for r in view if r.status in ("assigned", "planned")][:2]
        for r in targets:
            app.order_list.move_cursor(view.index(r))
            await pilot.press("space")
        await pilot.press("t")
        await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the time input")
        await pilot.press(*"+2h", "tab", *"+1h", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, BulkReviewScreen), what="the review")
        assert "not before 2026-11-29T19:30:00Z" in str(app.screen.query_one("#bulk-review-warning").render())
        await pilot.press("y")
        await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished",
                         what="the run")
        for r in targets:
            o = sb.order(r.ref.order_handle, r.ref.type, r.ref.type_index, r.ref.fulfillment_attempt)
            assert o.scheduled_at == (FIXED_START + timedelta(hours=2)).timestamp()
            assert o.scheduled_after == (FIXED_START + timedelta(hours=1)).timestamp()
        assert {op.params for op in ops(app)} == {'{"after":"2026-11-29T19:30:00Z","at":"2026-11-29T20:30:00Z"}'}
