"""Every way a complete can fail, as the supervisor sees it: the API's message (and per-field
messages) in the detail pane, nothing else changed unless reading the order back says so, and the
list refreshed afterwards. Against the in-process sandbox; a few answers are forged in front of it.
"""

from __future__ import annotations

import httpx

from console.api.client import OrdersClient
from console.sandbox.core import IN_PROCESS_BASE_URL
from tests.hostile import screen_text, unwrapped
from tests.ui_support import json_error, loaded, make_app, on, row_line, wait_until


async def complete_highlighted(pilot, app) -> None:
    loads = app._loads
    await pilot.press("c", "y")
    await wait_until(pilot, lambda: not app._completing, what="the completion to end")
    await wait_until(pilot, lambda: app._loads > loads and not app.loading, what="the refresh after it")
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


async def test_409_reads_the_order_back_and_shows_the_truth() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        # Someone else completes it first; our list still shows it open.
        async with OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=sb.transport()) as other:
            await other.complete(row.ref)
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "state does not allow it (HTTP 409)" in text
        assert "is already completed" in text  # the sandbox's message
        assert "Read back: the order is completed" in text
        assert app.order_list.table.get(row.ref).status == "completed"
        assert sb.stats.completions_of(row.ref.order_handle) == 1  # only the other console's


async def test_422_shows_each_field_message() -> None:
    app, sb, seen = make_app(orders=60)
    detail = {"query": {"type_index": ["Must be greater than or equal to 0."],
                        "fulfillment_attempt": ["Not a valid integer."]}}
    seen.rules.append(on("POST", "/complete", lambda r: json_error(422, "Invalid query parameters", detail)))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "rejected by the server (HTTP 422)" in text and "Invalid query parameters" in text
        assert "query.type_index" in text and "Must be greater than or equal to 0." in text
        assert "query.fulfillment_attempt" in text and "Not a valid integer." in text
        assert app.order_list.table.get(row.ref).status == row.status


async def test_500_may_have_applied_so_it_is_read_back() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        sb.faults.script("POST", row.ref.order_handle, ["500"])  # refused before applying
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "server error (HTTP 500)" in text
        assert "may have been applied" in text
        assert f"Read back: the order is {row.status}, not completed" in text
        assert sb.stats.completions_of(row.ref.order_handle) == 0
        assert len(seen.posts()) == 1  # never re-sent


async def test_lost_answer_after_applying_is_settled_as_completed() -> None:
    app, sb, seen = make_app(orders=60)
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        sb.faults.script("POST", row.ref.order_handle, ["drop_after_apply"])
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "no answer from the server" in text
        assert "Read back: the order is completed" in text
        assert app.order_list.table.get(row.ref).status == "completed"
        assert sb.stats.completions_of(row.ref.order_handle) == 1
        assert len(seen.posts()) == 1


async def test_network_down_says_nothing_was_sent() -> None:
    app, sb, seen = make_app(orders=60)
    seen.rules.append(on("POST", "/complete", lambda r: httpx.ConnectError("network is unreachable")))
    async with app.run_test(size=(160, 48)) as pilot:
        await loaded(pilot, app)
        row = app.order_list.cursor_row
        await complete_highlighted(pilot, app)
        text = detail_text(app)
        assert "not sent: the server could not be reached" in text
        assert "network is unreachable" in text and "Nothing was sent" in text
        assert app.order_list.table.get(row.ref).status == row.status
        assert sb.stats.completions_of(row.ref.order_handle) == 0


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
