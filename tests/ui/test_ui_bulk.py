"""Bulk completion in the console (issue 4): marks, the review, the run on the App, its screen.

Pilot against the in-process sandbox. Every test checks what the supervisor sees AND what the
server received (``sb.stats``: POSTs received and completions applied, per order identity).
Each app has its own journal in ``tmp_path``. No timing is asserted: latency faults only make a
run slow enough to press a key in the middle of it.
"""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest

from console.api.models import OrderRef
from console.api.retry import Backoff
from console.bulk.journal import Journal
from console.bulk.results import ResultStatus as R
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.bulk_run import FINISHED
from console.ui.screens.bulk_progress import BulkProgressScreen
from console.ui.screens.bulk_review import BulkReviewScreen
from console.ui.screens.bulk_settled import BulkSettledScreen
from console.ui.screens.confirm import ConfirmComplete
from console.session.table import ref_key
from tests.support.hostile import screen_text
from tests.support.sandbox_fixtures import make_sandbox
from tests.support.ui_support import json_error, list_lines, loaded, make_app, on, wait_until, workers_done

FAST_ENGINE = dict(settle_delay=0.0, settle_window=0.0, min_pause=0.0, backoff=Backoff(base=0.0, cap=0.0, max_attempts=2))


def bulk_app(tmp_path, sb=None, *, orders: int = 60, **settings):
    settings.setdefault("base_url", IN_PROCESS_BASE_URL)
    settings.setdefault("journal_path", tmp_path / "journal.sqlite3")
    app, sb, seen = make_app(sb, orders=orders, settings=Settings(**settings))
    app.bulk.engine_options = dict(FAST_ENGINE)
    return app, sb, seen


class Gate(httpx.AsyncBaseTransport):
    """Holds every POST until ``open`` is set (GETs pass): a run with requests in flight, for
    as long as the test wants, without any timing."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.open = asyncio.Event()
        self.waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.waiting += 1
            await self.open.wait()
        return await self.inner.handle_async_request(request)


class HoldReads(httpx.AsyncBaseTransport):
    """Holds every GET of one order until ``open`` is set (everything else passes): a
    settlement still reading, for as long as the test wants, without any timing."""

    def __init__(self, inner: httpx.AsyncBaseTransport, handle: str) -> None:
        self.inner = inner
        self.handle = handle
        self.open = asyncio.Event()
        self.waiting = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET" and request.url.path.rstrip("/").endswith("/" + self.handle):
            self.waiting += 1
            await self.open.wait()
        return await self.inner.handle_async_request(request)


def applied(sb) -> dict[tuple, int]:
    """Completions the server applied, by order identity."""
    return dict(sb.stats.completions_applied)


def posts_to(sb, handle: str) -> int:
    return sb.stats.posts_received[(handle, "complete")]


def marked_lines(app, glyph: str = "✓") -> list[str]:
    return [line for line in list_lines(app)[1:] if line[1:2] == glyph]


def entry(lines: list[str], handle: str) -> str:
    """One order's result from a result list: its line, and its message line(s) below it."""
    found = []
    for i, line in enumerate(lines):
        if not line.startswith(" ") and handle in line:
            block = [line]
            for more in lines[i + 1:]:
                if not more.startswith("    "):
                    break
                block.append(more.strip())
            found.append("\n".join(block))
    assert len(found) == 1, (handle, lines)
    return found[0]


async def run_finished(pilot, app) -> None:
    await wait_until(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == FINISHED,
                     what="the bulk run to finish")
    await pilot.pause()


async def mark_rows(pilot, app, count: int) -> list[OrderRef]:
    """Mark the first ``count`` rows with space, moving down; returns their refs."""
    refs = []
    for _ in range(count):
        refs.append(app.order_list.cursor_row.ref)
        await pilot.press("space", "j")
    return refs


# ----------------------------------------------------------------------------- marks


async def test_marks_show_in_the_list_and_the_count_is_visible(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        assert "marked" not in screen_text(app)
        refs = await mark_rows(pilot, app, 3)
        lines = marked_lines(app)
        assert len(lines) == 3
        for ref, line in zip(refs, lines):
            assert ref.order_handle[:12] in line
        assert "✓ 3 marked" in screen_text(app)
        await pilot.press("k", "space")  # unmark the third
        assert len(marked_lines(app)) == 2 and "✓ 2 marked" in screen_text(app)
        await pilot.press("U")
        assert marked_lines(app) == [] and "marked" not in screen_text(app)
        assert seen.posts() == []


async def test_marks_follow_identity_through_resort_filter_refresh_and_go_when_the_order_leaves(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        table = order_list.table
        await pilot.press("j", "j")
        refs = await mark_rows(pilot, app, 2)
        # Reverse the sort (O): the marks move with their orders, not with the row positions.
        positions = [table.index_of(ref) for ref in refs]
        await pilot.press("O")
        assert [table.index_of(ref) for ref in refs] != positions
        assert {row.ref for row in table.view if row.key in app.bulk.marks} == set(refs)
        for ref in refs:
            order_list.move_cursor(table.index_of(ref))
            await pilot.pause()
            assert any(ref.order_handle[:12] in line for line in marked_lines(app))
        # Filter to red only (1): `*` marks the open orders shown; marks outside the filter stay.
        await pilot.press("g")  # the top row of the reversed sort: the least risk
        last = order_list.cursor_row
        assert last.worst.name != "RED"
        await pilot.press("space", "1")
        shown = [row.ref for row in table.view if row.is_open]
        assert shown and len(shown) < len(table.rows) and last.ref not in shown
        await pilot.press("asterisk")
        marked = set(refs) | set(shown) | {last.ref}
        assert set(app.bulk.marks) == marked
        # The review says how many of the marked orders the filter hides (they are sent too).
        hidden = len(marked - set(shown))
        assert hidden >= 1
        await pilot.press("c")
        assert isinstance(app.screen, BulkReviewScreen) and set(app.screen.refs) == marked
        assert f"{hidden} of these are marked but hidden by the current filter" in screen_text(app)
        await pilot.press("escape")
        await pilot.press("0")
        await pilot.pause()
        assert len(table.view) > len(shown)
        assert f"✓ {len(marked)} marked" in screen_text(app)
        top = int(order_list.scroll_y)
        on_screen = table.view[top:top + len(list_lines(app)) - 1]
        assert len(marked_lines(app)) == sum(1 for row in on_screen if row.key in app.bulk.marks) > 0
        # Time passes and a refresh re-sorts: the marks stay on their orders.
        sb.advance(10 * 60)
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        still_open = {row.ref for row in table.view if row.is_open}
        assert set(app.bulk.marks) == marked & still_open
        # An order completed elsewhere leaves the open list: its mark goes with it.
        gone = refs[0]
        async with sb.client() as other:
            await other.complete(gone)
        before = len(app.bulk.marks)
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        loads = app.session.loads
        await pilot.press("r")  # the list holds a row it changed itself for one load; not this one
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        assert gone not in app.bulk.marks
        assert len(app.bulk.marks) == before - 1
        assert f"✓ {before - 1} marked" in screen_text(app)
        assert seen.posts() == []  # marking sends nothing


# ----------------------------------------------------------------------------- review and run


async def test_mark_three_review_confirm_all_completed_exactly_once(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 3)
        await pilot.press("c")
        assert isinstance(app.screen, BulkReviewScreen)
        text = screen_text(app)
        assert "Complete 3 orders?" in text
        for ref in refs:
            assert ref.describe() in text
        assert seen.posts() == []  # nothing before the confirmation
        await pilot.press("y")
        await run_finished(pilot, app)
        assert isinstance(app.screen, BulkProgressScreen)
        text = screen_text(app)
        assert "finished" in text and "done 3/3" in text and "completed 3" in text
        results = app.screen.query_one("#bulk-progress-results").plain_lines
        assert len(results) == 3 and all(" completed" in line for line in results)
        # The server: exactly three applied completions, one per marked order, nothing else.
        assert applied(sb) == {ref_key(ref): 1 for ref in refs}
        assert len(seen.posts()) == 3
        await pilot.press("escape")
        assert not isinstance(app.screen, BulkProgressScreen)
        # The list refreshes after the run: the completed orders leave, their marks with them.
        await wait_until(pilot, lambda: all(app.order_list.table.get(ref) is None for ref in refs)
                         and not app.loading, what="the completed orders to leave the list")
        assert len(app.bulk.marks) == 0


async def test_a_completed_run_drops_the_cached_detail_of_its_orders(tmp_path) -> None:
    """The highlighted order's detail was fetched and cached; once a bulk run has completed it,
    that cached order is out of date and must not be shown again from the cache."""
    from tests.support.ui_support import detail_loaded

    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await detail_loaded(pilot, app)
        ref = app.order_list.cursor_row.ref
        assert app.session.details.get(ref_key(ref)) is not None
        await pilot.press("space", "c", "y")
        await run_finished(pilot, app)
        assert applied(sb) == {ref_key(ref): 1}
        assert app.session.details.get(ref_key(ref)) is None


async def test_run_acts_on_the_frozen_list_after_refresh_and_resort(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("j", "j", "j")
        refs = await mark_rows(pilot, app, 3)
        await pilot.press("c")
        assert isinstance(app.screen, BulkReviewScreen)
        # Behind the review: time passes, the list refreshes and re-sorts, rows move.
        positions = [app.order_list.table.index_of(ref) for ref in refs]
        sb.advance(5 * 60)
        app.order_list.table.set_sort(lambda row: row.ref.order_handle, reverse=True)
        loads = app.session.loads
        app.load_orders()
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        assert [app.order_list.table.index_of(ref) for ref in refs] != positions
        await pilot.press("y")
        await run_finished(pilot, app)
        # Exactly the orders reviewed were sent, whatever now sits at their old positions.
        assert sb.stats.touched_handles() == {ref.order_handle for ref in refs}
        assert set(applied(sb)) <= {ref_key(ref) for ref in refs}
        assert sb.stats.max_completions_per_order() == 1
        # Each reviewed order is completed now (the fleet may have finished one meanwhile: then
        # the server refused ours and the result says "already completed").
        report = app.bulk.state.report
        assert [r.ref for r in report.results] == refs
        for r in report.results:
            assert r.status.is_success
            assert sb.order(r.ref.order_handle, r.ref.type, r.ref.type_index, r.ref.fulfillment_attempt).status == "completed"
            if r.status is R.ALREADY_COMPLETED:
                assert ref_key(r.ref) not in applied(sb)


async def test_more_than_twenty_needs_the_typed_count(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("asterisk")
        count = len(app.bulk.marks)
        assert count > 20
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, BulkReviewScreen) and screen.typed
        assert f"Complete {count} orders?" in screen_text(app)
        assert f"Type {count}" in screen_text(app)
        await pilot.press("y", "enter")  # not a confirmation here
        assert app.screen is screen
        await pilot.press(*str(count - 1), "enter")  # the wrong count does nothing but say so
        assert app.screen is screen
        assert f"That is not {count}" in screen_text(app)
        await workers_done(pilot)
        assert seen.posts() == [] and not applied(sb)
        await pilot.press(*str(count), "enter")
        await run_finished(pilot, app)
        assert f"done {count}/{count}" in screen_text(app)
        assert len(applied(sb)) == count and sb.stats.max_completions_per_order() == 1


async def test_escape_cancels_the_review(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await mark_rows(pilot, app, 2)
        await pilot.press("c", "escape")
        assert not isinstance(app.screen, BulkReviewScreen)
        await pilot.press("c", "n")
        assert not isinstance(app.screen, BulkReviewScreen)
        await workers_done(pilot)
        assert seen.posts() == [] and app.bulk.state is None
        assert len(app.bulk.marks) == 2


async def test_drop_after_apply_is_reconciled_without_a_second_post(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 3)
        sb.faults.drop_after_apply(1)  # the first complete is applied, then the connection drops
        await pilot.press("c", "y")
        await run_finished(pilot, app)
        results = app.screen.query_one("#bulk-progress-results").plain_lines
        assert sum("completed (reconciled)" in line for line in results) == 1
        assert "completed 3" in screen_text(app)
        for ref in refs:
            assert posts_to(sb, ref.order_handle) == 1  # never sent twice
        assert applied(sb) == {ref_key(ref): 1 for ref in refs}


async def test_rejection_shows_the_apis_message(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 2)
        bad = refs[1].order_handle
        seen.rules.append(on("POST", "/complete", lambda r: json_error(422, "[/oops] worker must be on site")
                             if bad in r.url.path else None))
        await pilot.press("c", "y")
        await run_finished(pilot, app)
        lines = app.screen.query_one("#bulk-progress-results").plain_lines
        rejected = entry(lines, bad)
        assert "rejected" in rejected.splitlines()[0] and "[/oops] worker must be on site" in rejected
        assert "failed 1" in screen_text(app)
        assert set(applied(sb)) == {ref_key(refs[0])}
        assert refs[1] in app.bulk.marks and refs[0] not in app.bulk.marks


async def test_escape_in_the_middle_stops_new_sends(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, bulk_concurrency=2)
    gate = Gate(seen.inner)
    seen.inner = gate  # POSTs reach the sandbox only when the gate opens
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 8)
        sb.faults.set_latency(0.05)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: gate.waiting == 2, what="two POSTs in flight")
        await pilot.press("escape")
        await pilot.pause()
        assert app.bulk.state.stop_requested
        await wait_until(pilot, lambda: "STOPPING" in screen_text(app), what="the stopping state")
        note = str(app.screen.query_one("#bulk-progress-note").render()).replace("\n", " ")
        assert "No new requests are sent" in note and "2 request(s) in flight finish and are recorded" in note
        gate.open.set()
        await run_finished(pilot, app)
        report = app.bulk.state.report
        stopped = [r for r in report.results if r.status is R.STOPPED]
        sent = [r for r in report.results if r.attempts]
        # The two in flight finished and were recorded; nothing else was sent.
        assert len(sent) == 2 and len(stopped) == 6
        assert len(seen.posts()) == 2 and sb.stats.count("POST") == 2
        for r in sent:
            assert r.status.is_success and applied(sb)[ref_key(r.ref)] == 1
        for r in stopped:
            assert posts_to(sb, r.ref.order_handle) == 0
        results = "\n".join(app.screen.query_one("#bulk-progress-results").plain_lines)
        assert results.count("stopped (not sent)") == 6
        assert "finished (stopped)" in screen_text(app)
        # The stopped ones stay marked: R sends them after a review.
        assert set(app.bulk.marks) == {r.ref for r in stopped}
        assert set(app.bulk.state.retryable) == {r.ref for r in stopped}


class HeldClock:
    """The engine's clock and sleep: a sleep lasts until the test releases it, then the clock
    moves on by that much. A 429 pause is held as long as the test looks at it."""

    def __init__(self) -> None:
        self.t = 1000.0
        self.release = asyncio.Event()
        self.sleeping = 0

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.sleeping += 1
        await self.release.wait()
        self.t += seconds


async def test_a_429_pauses_the_whole_run_with_a_countdown(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, bulk_concurrency=1)
    clock = HeldClock()
    app.bulk.engine_options.update(clock=clock, sleep=clock.sleep)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 3)
        sb.faults.script("POST", refs[0].order_handle, ["429:7"])
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: clock.sleeping >= 1, what="the pause")
        await wait_until(pilot, lambda: "PAUSED" in screen_text(app), what="the paused screen")
        note = str(app.screen.query_one("#bulk-progress-note").render()).replace("\n", " ")
        assert "(429)" in note and "no request goes out for" in note
        # Deliberate: a window of real time in which an engine that did not pause would send
        # (the held clock keeps the 429's pause from ever ending on its own).
        await pilot.pause(0.2)
        assert sb.stats.count("POST") == 1  # nothing else goes out while paused
        clock.release.set()
        await run_finished(pilot, app)
        assert "PAUSED" not in screen_text(app) and "completed 3" in screen_text(app)
        assert posts_to(sb, refs[0].order_handle) == 2  # the throttled one, once more after the pause
        assert applied(sb) == {ref_key(ref): 1 for ref in refs}


async def test_an_order_left_in_doubt_says_so_and_is_settled_before_the_next_run(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 2)
        lost = refs[0]
        failing = {"on": True}
        sb.faults.script("POST", lost.order_handle, ["drop_after_apply"])
        sb.faults.hook = lambda info: ("503" if failing["on"] and info.method == "GET"
                                       and info.handle == lost.order_handle else None)
        await pilot.press("c", "y")
        await run_finished(pilot, app)
        lines = app.screen.query_one("#bulk-progress-results").plain_lines
        doubt = entry(lines, lost.order_handle)
        assert "IN DOUBT" in doubt.splitlines()[0] and "checking the order failed" in doubt
        assert "in doubt 1" in screen_text(app)
        assert posts_to(sb, lost.order_handle) == 1  # not sent again without evidence
        await pilot.press("escape")
        await wait_until(pilot, lambda: "1 IN DOUBT" in screen_text(app), what="the status bar")
        # The next run first settles it by GET (now answering), and says what happened.
        failing["on"] = False
        await pilot.press("U")
        target = next(row for row in app.order_list.table.view if row.is_open and row.ref not in refs)
        app.order_list.select_ref(target.ref)
        await pilot.press("space", "c", "y")
        await run_finished(pilot, app)
        lines = app.screen.query_one("#bulk-progress-results").plain_lines
        settled = entry(lines, lost.order_handle)
        assert "completed (reconciled)" in settled and "earlier run" in settled
        assert posts_to(sb, lost.order_handle) == 1
        assert applied(sb)[ref_key(lost)] == 1 and applied(sb)[ref_key(target.ref)] == 1


async def test_q_during_a_run_warns_first(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, bulk_concurrency=1)
    gate = Gate(seen.inner)
    seen.inner = gate
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await mark_rows(pilot, app, 2)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: gate.waiting == 1, what="a POST in flight")
        await pilot.press("b", "q")
        await pilot.pause()
        assert app.is_running and app.bulk.active  # the first q only warns
        gate.open.set()
        await run_finished(pilot, app)
        await pilot.press("escape", "q")
        await pilot.pause()
    assert not app.is_running  # no run going on: q quits at once


async def test_failed_orders_stay_marked_and_R_retries_only_them(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 4)
        failing = {refs[1].order_handle, refs[3].order_handle}

        def unreachable(request: httpx.Request):
            if request.method == "POST" and any(h in request.url.path for h in failing):
                return httpx.ConnectError("connection refused")
            return None

        seen.rules.append(unreachable)
        await pilot.press("c", "y")
        await run_finished(pilot, app)
        assert "failed 2" in screen_text(app)
        assert set(app.bulk.marks) == {refs[1], refs[3]}
        assert "R retries the 2 failed" in screen_text(app)
        assert set(applied(sb)) == {ref_key(refs[0]), ref_key(refs[2])}
        await pilot.press("escape")
        # The list says what happened to each order still there; the bar offers the retry.
        await wait_until(pilot, lambda: not app.loading, what="the refresh")
        await wait_until(pilot, lambda: "R retries 2 failed" in screen_text(app), what="the retry offer")
        await workers_done(pilot)
        text = screen_text(app)
        assert "R retries 2 failed" in text
        for handle in failing:
            assert any(handle[:12] in line and "failed" in line for line in list_lines(app)), list_lines(app)
        seen.rules.clear()
        await pilot.press("R")
        assert isinstance(app.screen, BulkReviewScreen) and "Retry 2 orders?" in screen_text(app)
        await pilot.press("y")
        await run_finished(pilot, app)
        assert "completed 2" in screen_text(app)
        assert applied(sb) == {ref_key(ref): 1 for ref in refs}
        for ref in (refs[0], refs[2]):
            assert posts_to(sb, ref.order_handle) == 1  # the completed ones were not sent again


async def test_closing_the_progress_screen_keeps_the_run_going(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, bulk_concurrency=2)
    gate = Gate(seen.inner)
    seen.inner = gate  # the run stays in flight while the test looks at the list
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 6)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: gate.waiting == 2, what="two POSTs in flight")
        await pilot.press("b")
        assert not isinstance(app.screen, BulkProgressScreen)
        assert app.bulk.active
        # The status bar shows the run, and the rows say what the run is doing with them.
        await wait_until(pilot, lambda: "b shows it" in screen_text(app), what="the run in the status bar")
        assert "bulk: " in screen_text(app) and "/6 done" in screen_text(app)
        labels = [line for line in list_lines(app) if "queued" in line or "completing…" in line]
        assert labels
        gate.open.set()
        await run_finished(pilot, app)
        assert applied(sb) == {ref_key(ref): 1 for ref in refs}
        await wait_until(pilot, lambda: "last bulk run: 6/6 done" in screen_text(app), what="the status bar")
        await pilot.press("b")
        assert isinstance(app.screen, BulkProgressScreen)
        assert "done 6/6" in screen_text(app)


async def test_journal_held_by_another_process_is_named_and_nothing_is_sent(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path)
    holder = Journal(tmp_path / "journal.sqlite3").open()
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot, app)
            await mark_rows(pilot, app, 2)
            await pilot.press("c", "y")
            await wait_until(pilot, lambda: app.bulk.state is not None and not app.bulk.state.active,
                             what="the refusal")
            await wait_until(pilot, lambda: "NOT STARTED" in screen_text(app), what="the refusal on screen")
            note = str(app.screen.query_one("#bulk-progress-note").render())
            assert f"in use by process {os.getpid()}" in note.replace("\n", " ")
            assert seen.posts() == [] and not applied(sb)
            assert len(app.bulk.marks) == 2
    finally:
        holder.close()


async def test_read_only_marks_work_but_completion_is_disabled(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, read_only=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await mark_rows(pilot, app, 2)
        assert len(marked_lines(app)) == 2
        text = screen_text(app)
        assert "2 marked" in text and "read-only: completing is disabled" in text
        assert app.check_action("complete", ()) is None and app.check_action("retry_failed", ()) is None
        await pilot.press("c", "y", "R")
        await workers_done(pilot)
        assert not isinstance(app.screen, (BulkReviewScreen, ConfirmComplete))
        assert seen.posts() == []


async def test_ascii_mode_marks_and_results_read_without_unicode(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, ascii=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 2)
        assert len(marked_lines(app, "*")) == 2 and marked_lines(app) == []
        assert "* 2 marked | c complete x cancel d disable a reassign t reschedule | U clears" in screen_text(app)
        await pilot.press("c", "y")
        await run_finished(pilot, app)
        lines = app.screen.query_one("#bulk-progress-results").plain_lines
        for ref in refs:
            assert entry(lines, ref.order_handle).startswith("+ ")
        assert all(line.isascii() for line in lines)
        assert "done 2/2 | completed 2" in screen_text(app)


async def test_hostile_handles_are_shown_escaped_in_review_and_results(tmp_path) -> None:
    sb = make_sandbox(orders=20)
    markup = "[/oops][@click=app.quit]x[/]"  # a valid handle that is hostile markup
    escape = "[b]\x1b]0;pwned\x07"  # a handle with control characters: never sent
    for handle in (markup, escape):
        sb.add_order(handle, status="assigned")
    app, sb, seen = bulk_app(tmp_path, sb)
    async with app.run_test(size=(120, 30)) as pilot:
        await loaded(pilot, app)
        for handle in (markup, escape):
            ref = next(row.ref for row in app.order_list.table.view if row.ref.order_handle == handle)
            app.order_list.select_ref(ref)
            await pilot.press("space")
        await pilot.press("c")
        assert isinstance(app.screen, BulkReviewScreen)
        text = screen_text(app)
        assert markup in text and "[b]\\x1b]0;pwned\\x07" in text  # shown literally, escaped
        assert "\x1b" not in text
        await pilot.press("y")
        await run_finished(pilot, app)
        assert app.is_running  # no markup was parsed: no crash, no quit
        lines = app.screen.query_one("#bulk-progress-results").plain_lines
        sent = entry(lines, markup)
        refused = entry(lines, "pwned")
        assert "completed" in sent
        assert "rejected" in refused and "[b]\\x1b]0;pwned\\x07" in refused and "not sent" in refused
        assert sb.stats.completions_of(markup) == 1
        assert posts_to(sb, escape) == 0 and not any("pwned" in path for path in seen.posts())


# ----------------------------------------------------------------------------- start-up settlement


async def test_pending_intents_of_a_dead_run_are_settled_and_shown_before_anything_is_sent(tmp_path) -> None:
    sb = make_sandbox(orders=60)
    async with sb.client() as setup:
        open_orders = [o for o in await setup.list_orders(status=["assigned", "ongoing"])][:3]
    done, not_done, third = (o.ref for o in open_orders)
    path = tmp_path / "journal.sqlite3"
    # A run that died mid-flight: intents committed, no outcomes. One request had arrived.
    with Journal(path) as journal:
        run = journal.start_run(account_id=sb.credentials.account_id, base_url=IN_PROCESS_BASE_URL, count=3)
        ops = journal.add_ops(run, [done, not_done, third], account_id=sb.credentials.account_id,
                              base_url=IN_PROCESS_BASE_URL)
        for op in ops[:2]:
            journal.record_intent(op, run)
    async with sb.client() as other:
        await other.complete(done)
    posts_before = sb.stats.count("POST")
    app, sb, seen = bulk_app(tmp_path, sb)
    held = HoldReads(seen.inner, not_done.order_handle)
    seen.inner = held  # the settlement's read of not_done waits until the test lets it go
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: held.waiting >= 1, what="the settlement reading the order")
        # While the settlement runs, nothing can be sent: not a single completion either.
        assert app.bulk.blocks_sending
        await pilot.press("c")
        assert not isinstance(app.screen, (ConfirmComplete, BulkReviewScreen))
        held.open.set()
        await wait_until(pilot, lambda: isinstance(app.screen, BulkSettledScreen), what="the settlement report")
        await pilot.pause()
        text = screen_text(app)
        assert "Earlier runs settled" in text
        lines = app.screen.query_one("#bulk-settled-list").plain_lines
        done_line = entry(lines, done.order_handle)
        open_line = entry(lines, not_done.order_handle)
        assert "completed (reconciled)" in done_line
        assert "not applied (checked; safe to send again)" in open_line
        assert "interrupted before recording the answer" in open_line
        # No intent: the run died before sending it. Said so; nothing was checked for it.
        assert "interrupted before sending" in entry(lines, third.order_handle)
        assert sb.stats.count("GET", handle=third.order_handle) == 0
        assert sb.stats.count("POST") == posts_before  # settled by GET only
        await pilot.press("escape")
        # The orders not completed are marked, ready for c after a review.
        await wait_until(pilot, lambda: not_done in app.bulk.marks, what="the mark")
        assert set(app.bulk.marks) == {not_done, third}
        assert not app.bulk.blocks_sending
    with Journal(path) as journal:
        assert journal.unsettled() == []


class ApplyThenHang(httpx.AsyncBaseTransport):
    """POSTs reach the server (which applies them) and their answers never come back: the
    console is closed with requests in flight, as when the terminal dies."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.hanging = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if request.method == "POST":
            self.hanging += 1
            await asyncio.Event().wait()  # until the app is closed
        return response


async def test_console_closed_mid_run_then_reopened_shows_what_happened_to_each_order(tmp_path) -> None:
    sb = make_sandbox(orders=60)
    app, sb, seen = bulk_app(tmp_path, sb, bulk_concurrency=2)
    hang = ApplyThenHang(seen.inner)
    seen.inner = hang
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        refs = await mark_rows(pilot, app, 6)
        await pilot.press("c", "y")
        await wait_until(pilot, lambda: hang.hanging == 2, what="two requests applied, answers pending")
        await pilot.press("b", "q", "q")  # the supervisor quits (or the terminal dies) mid-run
        await pilot.pause()
    in_flight = {key for key, n in applied(sb).items() if n}
    assert len(in_flight) == 2 and sb.stats.count("POST") == 2
    # Reopened: the two requests whose answers were lost are settled by GET, nothing is sent.
    app, sb, seen = bulk_app(tmp_path, sb)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: isinstance(app.screen, BulkSettledScreen), what="the settlement report")
        await pilot.pause()
        lines = app.screen.query_one("#bulk-settled-list").plain_lines
        for ref in refs:
            if ref_key(ref) in in_flight:
                assert "completed (reconciled)" in entry(lines, ref.order_handle)
            else:  # never sent: said so, and marked again for c
                never = entry(lines, ref.order_handle)
                assert "not sent (the run stopped)" in never and "interrupted before sending" in never
        assert sb.stats.count("POST") == 2  # nothing sent again
        await pilot.press("escape")
        await wait_until(pilot, lambda: len(app.bulk.marks) == 4, what="the marks")
        assert {ref_key(ref) for ref in app.bulk.marks} == {ref_key(ref) for ref in refs} - in_flight
    # Reported once: the next start has nothing to say.
    app, sb, seen = bulk_app(tmp_path, sb)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await wait_until(pilot, lambda: not app.bulk.startup_busy, what="the start-up check")
        await pilot.pause()
        assert app.bulk.startup_state is None and not isinstance(app.screen, BulkSettledScreen)
    with Journal(tmp_path / "journal.sqlite3") as journal:
        assert journal.unsettled() == []


@pytest.mark.parametrize("ascii", [False, True])
async def test_help_lists_the_bulk_keys(tmp_path, ascii: bool) -> None:
    app, sb, _ = bulk_app(tmp_path, orders=20, ascii=ascii)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        text = str(app.screen.query_one("#help-body").render())
        for needle in ("mark or unmark the highlighted order", "mark every open order shown",
                       "clear all marks", "retry the failed orders", "show the bulk run",
                       "Bulk review", "Bulk progress", "type the count to confirm"):
            assert needle in text, needle
        assert ("✓" in text) is not ascii


async def test_bulk_toasts_name_the_keys_of_the_users_keymap(tmp_path) -> None:
    app, sb, seen = bulk_app(tmp_path, keymap=(("order.complete", "x"), ("bulk.mark", "m")))
    messages: list[str] = []
    original = app.notify

    def notify(message, **kwargs):
        messages.append(message)
        original(message, **kwargs)

    app.notify = notify
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("b")
        await wait_until(pilot, lambda: any("No bulk run yet" in m for m in messages), what="the toast")
        text = next(m for m in messages if "No bulk run yet" in m)
        assert "(m, *)" in text and "press x" in text
