"""The start-up sequence (console/session/startup.py) driven through a Session without an App or
Pilot: the first page painted, then the moment, then its waiters; and the fallbacks (a first load
that fails, is cancelled, or has no answer yet) that bring the moment anyway."""

from __future__ import annotations

import asyncio
import gc

import httpx
import pytest

from console import gc_policy
from console.api.client import OrdersClient
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.session.core import FirstRowsShown, LoadFailed, LoadFinished, PageShown, Session, SessionEvent
from console.settings import Settings
from tests.support.sandbox_fixtures import FIXED_START, make_sandbox
from tests.support.ui_support import Interceptor


async def _no_sleep(seconds: float) -> None:
    return None


def _session(orders: int = 120, page_size: int = 25) -> tuple[Session, Interceptor]:
    sb = make_sandbox(orders=orders)
    interceptor = Interceptor(sb.transport())
    client = OrdersClient(sb.credentials, base_url=IN_PROCESS_BASE_URL, transport=interceptor, sleep=_no_sleep)
    session = Session(client, Settings(base_url=IN_PROCESS_BASE_URL, page_size=page_size), now=lambda: FIXED_START)
    session.NEXT_PAGE_SIZE = 40  # several pages after the first
    return session, interceptor


async def _load(session: Session, **waits) -> None:
    """One load, its end reported as the App's worker reports it."""
    try:
        summary = await session.load(**waits)
    except Exception as error:  # noqa: BLE001
        session.load_failed(error)
    else:
        session.load_succeeded(summary)


def _trace(session, log: list[str]) -> None:
    """Record the session's events and two waiters, in the order they happen."""

    def on_event(event: SessionEvent) -> None:
        if isinstance(event, PageShown):
            log.append(f"page of {event.change.added}")
        elif isinstance(event, FirstRowsShown):
            log.append("event")
        elif isinstance(event, LoadFinished):
            log.append("finished")
        elif isinstance(event, LoadFailed):
            log.append("failed")

    session.subscribe(on_event)
    session.when_first_rows_shown(lambda: log.append("waiter 1"))
    session.when_first_rows_shown(lambda: log.append("waiter 2"))


async def test_the_first_page_is_painted_then_the_moment_then_its_waiters_in_order() -> None:
    session, _interceptor = _session(orders=120, page_size=25)
    log: list[str] = []
    _trace(session, log)

    async def frame() -> None:
        log.append("painted")

    await _load(session, frame=frame)

    first_page = log[0]
    assert first_page.startswith("page of ")
    assert log[:5] == [first_page, "painted", "waiter 1", "waiter 2", "event"]
    assert log[5].startswith("page of "), "the next pages come after the moment"
    assert log[-1] == "finished" and log.count("waiter 1") == 1 and log.count("event") == 1
    assert session.first_rows_done

    log.clear()
    await _load(session, frame=frame)  # a refresh: no second moment, no frame waited for
    assert log == ["finished"]


async def test_a_first_load_that_fails_before_any_row_still_brings_the_moment() -> None:
    session, interceptor = _session()
    interceptor.rules.append(lambda request: httpx.ConnectError("no route to host"))
    log: list[str] = []
    _trace(session, log)

    await _load(session)

    assert log == ["waiter 1", "waiter 2", "event", "failed"]
    assert session.table.total == 0 and session.first_rows_done


async def test_a_first_load_with_no_open_orders_brings_the_moment_at_its_end() -> None:
    session, _interceptor = _session(orders=0)
    log: list[str] = []
    _trace(session, log)

    async def frame() -> None:
        log.append("painted")

    await _load(session, frame=frame)

    # Empty pages bring no rows: no frame is waited for, and the load's end is the moment.
    assert [entry for entry in log if entry != "page of 0"] == ["waiter 1", "waiter 2", "event", "finished"]


async def test_no_answer_yet_brings_the_moment_after_the_grace_and_a_cancel_ends_the_load() -> None:
    session, interceptor = _session()
    never = asyncio.Event()

    async def no_answer(**_filters):
        await never.wait()
        yield  # pragma: no cover - an async generator that never yields a page

    session.client.iter_summary_pages = no_answer
    session.start_up.GRACE = 0.05
    log: list[str] = []
    _trace(session, log)
    moment = asyncio.Event()
    session.when_first_rows_shown(moment.set)

    load = asyncio.create_task(session.load())
    await asyncio.wait_for(moment.wait(), 10)
    assert log == ["waiter 1", "waiter 2", "event"] and not load.done()
    load.cancel()
    with pytest.raises(asyncio.CancelledError):
        await load
    assert log == ["waiter 1", "waiter 2", "event"], "once per session"


async def test_a_cancelled_first_load_brings_the_moment() -> None:
    session, _interceptor = _session()
    never = asyncio.Event()
    asked = asyncio.Event()

    async def no_answer(**_filters):
        asked.set()
        await never.wait()
        yield  # pragma: no cover

    session.client.iter_summary_pages = no_answer
    session.start_up.GRACE = 3600.0
    log: list[str] = []
    _trace(session, log)

    load = asyncio.create_task(session.load())
    await asyncio.wait_for(asked.wait(), 10)
    assert log == []
    load.cancel()
    with pytest.raises(asyncio.CancelledError):
        await load
    assert log == ["waiter 1", "waiter 2", "event"]
    session.close()


async def test_the_heap_policy_freezes_only_pages_loaded_after_the_moment(monkeypatch) -> None:
    monkeypatch.setattr(gc_policy, "ENABLED", True)
    thresholds = gc.get_threshold()
    session, _interceptor = _session(orders=120, page_size=25)
    heap = session.heap
    assert heap.enabled
    freezes_at: list[tuple[str, int]] = []
    session.subscribe(lambda e: freezes_at.append((type(e).__name__, heap.freezes))
                      if isinstance(e, (PageShown, FirstRowsShown)) else None)
    try:
        await _load(session)
        pages = sum(1 for name, _ in freezes_at if name == "PageShown")
        assert freezes_at[:2] == [("PageShown", 0), ("FirstRowsShown", 0)]
        assert pages >= 3 and heap.freezes == pages, "each page after the moment, the first included"
    finally:
        session.close()
        gc.unfreeze()
        gc.set_threshold(*thresholds)
