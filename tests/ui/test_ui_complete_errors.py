"""Every way a complete can fail, as the supervisor sees it: the API's message (and per-field
messages) in the detail pane, nothing else changed unless reading the order back says so, and the
list refreshed afterwards. Against the in-process sandbox; a few answers are forged in front of it.
"""

from __future__ import annotations

import httpx

from console.api.client import OrdersClient
from console.api.retry import Backoff
from console.sandbox.core import IN_PROCESS_BASE_URL
from tests.support.hostile import screen_text, unwrapped
from tests.support.ui_support import json_error, loaded, make_app, on, row_line, wait_until


async def complete_highlighted(pilot, app) -> None:
    loads = app.session.loads
    await pilot.press("c", "y")
    await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the completion to end")
    await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh after it")
    await pilot.pause()


class Squeezed(str):
    """Screen text compared without white space: the pane wraps long messages anywhere."""

    def __contains__(self, needle: object) -> bool:
        return "".join(str(needle).split()) in "".join(self.split())


def detail_text(app) -> Squeezed:
    """What the detail pane shows: its columns of the screen, rows joined."""
    region = app.detail.region
    lines = screen_text(app).splitlines()[region.y:region.bottom]
    return Squeezed(unwrapped("\n".join(line[region.x:region.right] for line in lines)))


async def test_404_shows_the_api_message_and_changes_nothing() -> None:
    app, sb, seen = make_app(orders=60)
    seen.rules.append(on("POST", "/complete", lambda r: json_error(404, "Order not found for handle X-1")))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        status = row.status
        await complete_highlighted(pilot, app)
        assert app.detail.error_shown
        text = detail_text(app)
        assert "order not found (HTTP 404)" in text and "Order not found for handle X-1" in text
        assert "Nothing was changed" in text
        assert app.order_list.table.get(row.ref).status == status
        assert status in row_line(app, row.ref.order_handle[:12])
        assert sb.stats.completions_of(row.ref.order_handle) == 0
        assert len(seen.posts()) == 1


def journal_ops(app) -> list:
    """The journal's ops, as ``dispatch-console journal`` reads them."""
    from console.bulk.journal import JournalReader

    with JournalReader(app.bulk.journal_path) as reader:
        return reader.list_ops()


async def test_409_reads_the_order_back_and_shows_the_truth() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        # Someone else completes it first; our list still shows it open.
        async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as other:
            await other.complete(row.ref)
        await complete_highlighted(pilot, app)
        assert not app.detail.error_shown  # the order is completed: nothing failed
        assert app.order_list.table.get(row.ref).status == "completed"
        assert sb.stats.completions_of(row.ref.order_handle) == 1  # only the other console's
        (op,) = journal_ops(app)
        assert op.state == "already_applied" and op.http_status == 409


async def test_500_may_have_applied_so_it_is_read_back_before_sending_again() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        sb.faults.script("POST", row.ref.order_handle, ["500"])  # refused before applying
        await complete_highlighted(pilot, app)
        # read back (not completed, and with no settle window in this test), then sent again
        handle_path = [path for _, path in seen.seen if row.ref.order_handle.split("/")[0] in path]
        methods = [method for method, path in seen.seen if path in handle_path]
        first_post = methods.index("POST")
        assert "GET" in methods[first_post:] and methods.count("POST") == 2
        assert methods.index("POST", first_post + 1) > methods.index("GET", first_post)
        assert app.order_list.table.get(row.ref).status == "completed"
        assert sb.stats.completions_of(row.ref.order_handle) == 1
        (op,) = journal_ops(app)
        assert op.state == "applied" and op.attempts == 2


async def test_lost_answer_after_applying_is_settled_as_completed() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        sb.faults.script("POST", row.ref.order_handle, ["drop_after_apply"])
        await complete_highlighted(pilot, app)
        assert app.order_list.table.get(row.ref).status == "completed"
        assert sb.stats.completions_of(row.ref.order_handle) == 1
        assert len(seen.posts()) == 1
        (op,) = journal_ops(app)
        assert op.state == "applied_reconciled"


async def test_network_down_says_nothing_was_sent() -> None:
    app, sb, seen = make_app(orders=60)
    app.bulk.engine_options["backoff"] = Backoff(base=0.0, cap=0.0, max_attempts=2)
    seen.rules.append(on("POST", "/complete", lambda r: httpx.ConnectError("network is unreachable")))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "Complete failed: not sent" in text
        assert "network is unreachable" in text and "Nothing was changed" in text
        assert app.order_list.table.get(row.ref).status == row.status
        assert sb.stats.completions_of(row.ref.order_handle) == 0
        (op,) = journal_ops(app)
        assert op.state == "failed_not_sent"


async def test_single_completions_are_in_the_journal_with_their_leg() -> None:
    """Three completions made with c were missing from the journal afterwards."""
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        done = []
        for _ in range(3):
            row = app.order_list.cursor_row
            done.append(row.ref)
            await complete_highlighted(pilot, app)
            await pilot.press("j")
        ops = journal_ops(app)
        assert sorted((op.ref for op in ops), key=repr) == sorted(done, key=repr)
        assert all(op.state == "applied" for op in ops)
        assert len({op.run_id for op in ops}) == 3  # each a run of one
        for ref in done:
            assert sb.stats.completions_of(ref.order_handle) >= 1


async def test_error_stays_with_its_order_when_the_cursor_comes_back() -> None:
    app, sb, seen = make_app(orders=60)
    seen.rules.append(on("POST", "/complete", lambda r: json_error(404, "gone")))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        await complete_highlighted(pilot, app)
        assert app.detail.error_shown
        await pilot.press("j")
        await wait_until(pilot, lambda: not app.detail.error_shown, what="the next order")
        await pilot.press("k")
        await wait_until(pilot, lambda: app.detail.error_shown, what="the error again")


async def test_a_read_back_inside_the_settle_window_counts_down_and_escape_leaves_it_in_doubt() -> None:
    app, sb, seen = make_app(orders=60)
    app.bulk.engine_options["settle_window"] = 30.0
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        sb.faults.script("POST", row.ref.order_handle, ["drop_before_apply"])  # lost, not applied
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: "recheck" in row_line(app, row.ref.order_handle[:12]),
                         what="the countdown on the row")
        assert app.bulk.singles.waiting
        await pilot.press("escape")
        await wait_until(pilot, lambda: not app.bulk.singles.completing, what="the completion to end")
        await pilot.pause()
        text = detail_text(app)
        assert "IN DOUBT" in text and "may still be in flight" in text
        assert len(seen.posts()) == 1  # never sent again inside the window
        (op,) = journal_ops(app)
        assert op.state == "in_doubt"
