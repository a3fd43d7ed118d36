"""The session core (console/session/core.py) driven without an App or Pilot: a client over the
in-process sandbox (frozen clock), the session's events recorded as they come."""

from __future__ import annotations

import httpx
import pytest

from console.api.client import OrdersClient
from console.api.vocab import OPEN_STATUSES
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.session.core import (
    ChangesDetected,
    FirstRowsShown,
    LoadFailed,
    LoadFinished,
    PageShown,
    RefreshMerged,
    Session,
    SessionEvent,
    ShownError,
)
from console.settings import Settings
from tests.support.sandbox_fixtures import FIXED_START, make_sandbox
from tests.support.ui_support import Interceptor


async def _no_sleep(seconds: float) -> None:
    return None


def _session(orders: int = 120, page_size: int = 25) -> tuple[Session, Interceptor, list[SessionEvent], object]:
    sb = make_sandbox(orders=orders)
    interceptor = Interceptor(sb.transport())
    client = OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=interceptor, sleep=_no_sleep)
    session = Session(client, Settings(base_url=IN_PROCESS_BASE_URL, page_size=page_size), now=lambda: FIXED_START)
    session.NEXT_PAGE_SIZE = 40  # several pages after the first
    session.start_up.GRACE = 60.0  # the moment comes with the first rows, however loaded the machine
    events: list[SessionEvent] = []
    session.subscribe(events.append)
    return session, interceptor, events, sb


def _open_keys(sb) -> set[tuple]:
    return {(o.handle, o.type, o.type_index, o.attempt)
            for o in sb.orders() if o.status in OPEN_STATUSES}


async def _load(session: Session, **waits) -> None:
    try:
        summary = await session.load(**waits)
    except Exception as error:  # noqa: BLE001 - the UI's worker reports it the same way
        session.load_failed(error)
    else:
        session.load_succeeded(summary)


async def test_the_first_load_shows_every_open_order_page_by_page_and_the_first_rows_once() -> None:
    session, interceptor, events, sb = _session()
    order: list[str] = []
    session.when_first_rows_shown(lambda: order.append("first rows"))

    async def frame() -> None:
        order.append(f"frame after {session.table.total} rows")

    await _load(session, frame=frame)

    pages = [e for e in events if isinstance(e, PageShown)]
    assert len(pages) >= 3, "several pages, each shown as it came"
    assert [p.loaded for p in pages] == sorted(p.loaded for p in pages)
    assert {row.key for row in session.table.rows} == _open_keys(sb)
    assert isinstance(events[-1], LoadFinished) and session.loads == 1 and session.last_success == FIXED_START
    # The moment comes once, right after the frame that shows the first page, not at the end.
    assert order == [f"frame after {pages[0].change.added} rows", "first rows"]
    assert sum(isinstance(e, FirstRowsShown) for e in events) == 1
    assert events.index(next(e for e in events if isinstance(e, FirstRowsShown))) < events.index(pages[1])
    assert not any(isinstance(e, RefreshMerged) for e in events)
    # What the server received: the open set's query, first page at the configured size.
    first_method, first_path = interceptor.seen[0]
    assert first_method == "GET" and first_path.startswith("/orders/?status=unplanned%2C")
    assert first_path.endswith("&limit=25")


async def test_a_refresh_is_merged_in_one_go_and_drops_what_left_the_open_set() -> None:
    session, _interceptor, events, sb = _session()
    await _load(session)
    gone = session.table.rows[0]
    await session.client.complete(gone.ref)
    events.clear()

    await _load(session)

    assert [type(e) for e in events] == [RefreshMerged, ChangesDetected, LoadFinished]
    assert events[0].change.removed >= 1
    left = [e for e in events[1].events if e.ref == gone.ref]
    assert [(e.kind.value, e.by_this_console) for e in left] == [("left", False)]
    assert session.table.get(gone.ref) is None
    assert {row.key for row in session.table.rows} == _open_keys(sb)
    assert session.loads == 2


async def test_a_failed_load_is_offline_first_then_stale_and_keeps_the_rows() -> None:
    session, interceptor, events, _sb = _session()
    down = [True]
    interceptor.rules.append(
        lambda request: httpx.Response(503, json={"message": "down"})
        if down[0] and request.method == "GET" else None)
    shown: list[str] = []
    session.when_first_rows_shown(lambda: shown.append("first rows"))

    await _load(session)
    failed = events[-1]
    assert isinstance(failed, LoadFailed) and failed.stale is False
    assert shown == ["first rows"], "no rows are coming: the start-up moment passes anyway"
    assert session.last_success is None and session.load_error is failed.error

    down[0] = False
    await _load(session)
    total = session.table.total
    assert total and session.load_error is None

    down[0] = True
    session.refresh_after_load()
    await _load(session)
    failed = events[-1]
    assert isinstance(failed, LoadFailed) and failed.stale is True
    assert session.table.total == total and session.last_success == FIXED_START
    assert session.take_refresh_again() is False, "a failed load drops the pending refresh"
    assert shown == ["first rows"]


async def test_a_refresh_asked_for_during_a_load_is_taken_once() -> None:
    session, *_ = _session()
    session.refresh_after_load()
    assert session.take_refresh_again() is True
    assert session.take_refresh_again() is False


async def test_first_rows_callbacks_registered_after_the_moment_run_at_once() -> None:
    session, *_ = _session()
    session.first_rows_shown()
    seen: list[int] = []
    session.when_first_rows_shown(lambda: seen.append(1))
    session.first_rows_shown()
    assert seen == [1]


async def test_a_detail_fetch_and_an_action_result_share_the_cache_and_errors() -> None:
    session, interceptor, _events, _sb = _session()
    await _load(session)
    row = session.table.rows[0]
    order = await session.fetch_detail(row.ref)
    assert order.ref.same_leg(row.ref)
    assert ("GET", f"/orders/{row.ref.order_handle}") in {(m, p.split("?")[0].rstrip("/")) for m, p in interceptor.seen}
    session.details.put(row.key, order)
    error = ShownError("Refused", "the order is not open", None, "req-1")

    session.action_ended(row.ref, error)
    assert session.details.get(row.key) is None, "the order changed or may have: fetched again"
    assert session.action_errors[row.key] == error

    session.action_ended(row.ref, None)
    assert row.key not in session.action_errors


@pytest.mark.parametrize("page_size", [1, 1000])
async def test_one_page_or_many_read_the_same_rows(page_size: int) -> None:
    session, _interceptor, _events, sb = _session(orders=60, page_size=page_size)
    await _load(session)
    assert {row.key for row in session.table.rows} == _open_keys(sb)


async def test_marks_of_orders_that_left_the_open_set_can_be_pruned_against_the_table() -> None:
    from console.session.marks import still_open

    session, *_ = _session()
    await _load(session)
    gone, kept = session.table.rows[0], session.table.rows[1]
    session.marks.mark([gone.ref, kept.ref])
    await session.client.complete(gone.ref)
    await _load(session)
    assert session.marks.prune(still_open(session.table)) == [gone.ref]
    assert list(session.marks) == [kept.ref]
