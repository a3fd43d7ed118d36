"""HeapPolicy: full garbage collections are put off while a load runs, and always come back."""

from __future__ import annotations

import asyncio
import gc

import pytest

from console import gc_policy
from console.gc_policy import HeapPolicy


@pytest.fixture(autouse=True)
def _policy_on(monkeypatch):
    """These tests are about the policy: on, whatever the suite's default (tests/conftest.py)."""
    monkeypatch.setattr(gc_policy, "ENABLED", True)


@pytest.fixture(autouse=True)
def thresholds():
    before = gc.get_threshold()
    yield before
    gc.set_threshold(*before)


def test_a_load_puts_full_collections_off_and_its_end_brings_them_back(thresholds) -> None:
    policy = HeapPolicy()
    policy.load_started()
    assert gc.get_threshold() == (thresholds[0], max(thresholds[1], HeapPolicy.LOADING_MIDDLE_THRESHOLD),
                                  HeapPolicy.LOADING_THRESHOLD)
    policy.load_started()  # a second start (a refresh queued behind) changes nothing
    policy.load_finished(rows=10)
    assert gc.get_threshold() == thresholds


def test_a_failed_or_cancelled_load_brings_them_back_too(thresholds) -> None:
    policy = HeapPolicy()
    policy.load_started()
    policy.load_failed()
    assert gc.get_threshold() == thresholds


def test_a_disabled_policy_leaves_the_collector_alone(thresholds) -> None:
    policy = HeapPolicy(enabled=False)
    policy.load_started()
    assert gc.get_threshold() == thresholds
    policy.load_finished(rows=100_000)
    assert policy.freezes == 0 and gc.get_threshold() == thresholds


def test_every_page_after_the_first_rows_is_collected_and_frozen_and_so_is_the_end(thresholds) -> None:
    # Each freeze keeps the next collection down to what is new since the previous one.
    policy = HeapPolicy()
    try:
        policy.load_started()
        policy.page_loaded(rows=100)
        assert policy.freezes == 0  # the first rows paint before the first (long) collection
        policy.first_rows_shown()  # the start-up moment (console/session/startup.py)
        frozen = gc.get_freeze_count()
        garbage = [[]]
        garbage[0].append(garbage)  # a cycle nothing refers to: collected, not frozen
        del garbage
        rows = [[] for _ in range(50)]  # what a page leaves alive: frozen
        policy.page_loaded(rows=1100)
        policy.page_loaded(rows=2100)
        assert policy.freezes == 2 and gc.get_freeze_count() > frozen
        assert gc.get_threshold()[2] == HeapPolicy.LOADING_THRESHOLD
        policy.load_finished(rows=2100)  # no event loop here: the settle runs at once
        assert policy.freezes == 2 and gc.get_threshold() == thresholds  # nothing new to freeze
    finally:
        gc.unfreeze()


def test_a_refresh_freezes_only_when_it_grew_the_table(thresholds) -> None:
    # Each freeze keeps the screen's render caches alive at that instant for good.
    policy = HeapPolicy()
    try:
        policy.load_started()
        policy.load_finished(rows=50)
        policy.load_started()
        policy.load_finished(rows=60)
        assert policy.freezes == 0
        policy.load_started()
        policy.load_finished(rows=60 + HeapPolicy.rows_per_freeze)
        assert policy.freezes == 1
    finally:
        gc.unfreeze()


def test_the_first_load_freezes_what_start_up_built_without_a_full_collection(thresholds, monkeypatch) -> None:
    """An app started without the command line (which freezes start-up itself) must not walk
    all of start-up in its page-2 collection: the first load freezes it, after a young
    collection only."""
    gc.unfreeze()
    collected: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or real_collect(generation))
    policy = HeapPolicy()
    try:
        policy.load_started()
        assert gc.get_freeze_count() > 0
        assert collected == [1]  # young generations only: no full collection before the first page
        policy.load_finished(rows=10)
        before = list(collected)
        policy.load_started()  # a refresh: no second start-up freeze
        assert collected == before
    finally:
        gc.unfreeze()


def test_start_up_already_frozen_by_the_command_line_is_not_collected_again(thresholds, monkeypatch) -> None:
    """console/cli.py pauses the collector while the console starts and freezes what start-up
    built: a young collection then would walk all of it (measured: +150 ms to the first rows)."""
    gc.freeze()
    collected: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or real_collect(generation))
    try:
        HeapPolicy().load_started()
        assert collected == []
    finally:
        gc.unfreeze()


def test_only_the_first_load_asks_whether_start_up_is_frozen(thresholds, monkeypatch) -> None:
    # gc.get_freeze_count() walks every frozen object: with 50k orders frozen, tens of
    # milliseconds at the start of every refresh.
    calls: list[int] = []
    real_count = gc.get_freeze_count
    monkeypatch.setattr(gc, "get_freeze_count", lambda: calls.append(1) or real_count())
    policy = HeapPolicy()
    try:
        for rows in (10, 20, 30):
            policy.load_started()
            policy.load_finished(rows=rows)
        assert len(calls) == 1
    finally:
        gc.unfreeze()


async def _until(condition, what: str, timeout: float = 10.0) -> None:
    """Wait on the event loop until ``condition`` holds (a deadline only turns a hang into a failure)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.005)


def _counting_collect(monkeypatch) -> list[int]:
    collected: list[int] = []
    real_collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: collected.append(generation) or real_collect(generation))
    return collected


async def test_the_settle_collects_the_young_generations_before_the_thresholds_come_back(thresholds, monkeypatch) -> None:
    """Restored at the end of the load, the thresholds let Python run a full collection of its
    own at once: they stay raised until the settle's collection has run. A refresh that did not
    grow the table gets no full collection (see HeapPolicy.load_finished)."""
    policy = HeapPolicy()
    try:
        policy.load_started()
        collected = _counting_collect(monkeypatch)
        policy.load_finished(rows=10)
        assert gc.get_threshold()[2] == HeapPolicy.LOADING_THRESHOLD and collected == []
        await _until(lambda: collected != [], "the settle's collection")
        assert collected == [1]
        assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()


async def test_a_load_starting_before_the_settle_takes_the_collection_over(thresholds, monkeypatch) -> None:
    policy = HeapPolicy()
    try:
        policy.load_started()
        collected = _counting_collect(monkeypatch)
        policy.load_finished(rows=10)
        policy.load_started()  # a refresh right away: the collection waits for its end
        # Deliberate: the settle delay passing with a load running is what is under test.
        await asyncio.sleep(HeapPolicy.SETTLE_DELAY * 3)
        assert collected == [] and gc.get_threshold()[2] == HeapPolicy.LOADING_THRESHOLD
        policy.load_finished(rows=10)
        await _until(lambda: collected != [], "the settle's collection")
        assert collected == [1] and gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()


async def test_closing_restores_the_threshold_and_drops_a_pending_settle(thresholds, monkeypatch) -> None:
    policy = HeapPolicy()
    try:
        policy.load_started()
        collected = _counting_collect(monkeypatch)
        policy.load_finished(rows=10)
        policy.close()
        assert gc.get_threshold() == thresholds
        # Deliberate: the settle delay passing after close is what is under test.
        await asyncio.sleep(HeapPolicy.SETTLE_DELAY * 3)
        assert collected == []
    finally:
        gc.unfreeze()


async def test_an_app_gone_before_its_settle_gives_the_thresholds_back(thresholds) -> None:
    from tests.support.ui_support import loaded, make_app

    app, _sb, _interceptor = make_app(orders=30)
    app.session.heap.SETTLE_DELAY = 3600.0  # the load's settle would run long after the app is gone
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot, app)
            assert gc.get_threshold()[2] == HeapPolicy.LOADING_THRESHOLD
        assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()


def test_pages_in_flight_do_not_make_a_full_collection_due(thresholds, monkeypatch) -> None:
    """The middle generation is not collected while a load runs: each of its collections moved
    what was alive (the pages being read) into the oldest generation and counted towards a full
    collection, which came due at the end of every refresh."""
    policy = HeapPolicy()
    try:
        policy.load_started()
        oldest_count = gc.get_count()[2]
        pages = [[[] for _ in range(1_000)] for _ in range(30)]  # ~40 young collections' worth
        assert gc.get_count()[2] == oldest_count
        del pages
        collected = _counting_collect(monkeypatch)
        policy.load_finished(rows=10)  # no event loop here: the settle runs at once
        assert collected == [1]
        assert gc.get_count()[2] == oldest_count + 1
    finally:
        gc.unfreeze()


async def test_with_the_policy_off_an_app_leaves_the_collector_as_it_found_it(monkeypatch) -> None:
    """What the suite's Pilot tests run with (tests/conftest.py): no freeze, no thresholds."""
    from tests.support.ui_support import loaded, make_app

    monkeypatch.setattr(gc_policy, "ENABLED", False)
    gc.unfreeze()
    thresholds = gc.get_threshold()
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        assert gc.get_threshold() == thresholds
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds and app.session.heap.freezes == 0
