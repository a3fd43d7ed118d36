"""The session's change tracker (console/session/alerts.py): baseline, compared refreshes, the
orders this console acted on, one notification per refresh."""

from __future__ import annotations

from datetime import timedelta

from console.api.vocab import OrderRef
from console.notify import Notifier
from console.session.alerts import ChangeTracker
from tests.session.test_session_changes import T0, order


def load(tracker: ChangeTracker, orders, seconds: int):
    builder = tracker.begin(T0 + timedelta(seconds=seconds))
    builder.add(orders)
    return tracker.complete(builder)


def test_the_first_load_is_the_baseline_and_later_ones_are_compared() -> None:
    tracker = ChangeTracker()
    assert load(tracker, [order("a"), order("b")], 0) is None
    same = load(tracker, [order("a"), order("b")], 10)
    assert same is not None and same.events == () and same.new_reds == () and same.notification == b""
    red = load(tracker, [order("a", risks={"is_offline": "red"}), order("b")], 20)
    assert [e.kind.value for e in red.events] == ["risk", "worst"]
    assert [e.ref.order_handle for e in red.new_reds] == ["a"]
    assert tracker.new_red_count == 1 and tracker.compared == 2
    assert tracker.acknowledge(OrderRef("a")) and tracker.new_red_count == 0


def test_a_failed_load_reports_nothing_and_keeps_the_baseline() -> None:
    tracker = ChangeTracker()
    load(tracker, [order("a"), order("b")], 0)
    builder = tracker.begin(T0 + timedelta(seconds=10))
    builder.add([order("a")])  # the read failed before b's page: never completed
    after = load(tracker, [order("a"), order("b", risks={"in_outage": "red"})], 20)
    assert [(e.ref.order_handle, e.kind.value) for e in after.events] == [("b", "risk"), ("b", "worst")]


def test_orders_this_console_acted_on_leave_by_this_console_and_are_then_forgotten() -> None:
    tracker = ChangeTracker()
    load(tracker, [order("a"), order("b"), order("c")], 0)
    tracker.acted_on([OrderRef("a"), OrderRef("b")])
    # b's completion came after this refresh read it: it is still open here.
    first = load(tracker, [order("b"), order("c")], 10)
    assert [(e.ref.order_handle, e.kind.value, e.by_this_console) for e in first.events] == [("a", "left", True)]
    second = load(tracker, [order("c")], 20)
    assert [(e.ref.order_handle, e.by_this_console) for e in second.events] == [("b", True)]
    assert tracker._acted == {}  # nothing kept for orders gone
    load(tracker, [order("c"), order("b")], 30)  # b back (reopened elsewhere), then gone again
    third = load(tracker, [order("c")], 40)
    assert [(e.ref.order_handle, e.by_this_console) for e in third.events] == [("b", False)]


def test_the_notification_is_composed_once_per_refresh_without_a_stream() -> None:
    clock = [0.0]
    tracker = ChangeTracker(notifier=Notifier(None, min_interval=30, clock=lambda: clock[0]))
    load(tracker, [order("a"), order("b"), order("c")], 0)
    both = load(tracker, [order("a", risks={"is_offline": "red"}), order("b", risks={"is_offline": "red"}),
                          order("c")], 10)
    assert both.notification.count(b"\x1b]9;") == 1
    assert b"2 orders turned red: a, b" in both.notification
    clock[0] = 10.0  # within the rate limit: kept for the next one
    held = load(tracker, [order("a", risks={"is_offline": "red"}), order("b", risks={"is_offline": "red"}),
                          order("c", risks={"is_offline": "red"})], 20)
    assert held.notification == b"" and [e.ref.order_handle for e in held.new_reds] == ["c"]
    clock[0] = 45.0
    later = load(tracker, [order("a", risks={"is_offline": "red"}), order("b", risks={"is_offline": "red"}),
                           order("c", risks={"is_offline": "red"})], 30)
    assert b"1 order turned red: c" in later.notification


# ---------------------------------------------------------------------------- in the session


async def test_the_session_compares_complete_loads_only_over_the_sandbox() -> None:
    import httpx

    from console.sandbox.transitions import Script
    from console.session.alerts import ChangesDetected
    from tests.session.test_session_core import _load, _session

    session, interceptor, events, sb = _session()
    await _load(session)
    assert not any(isinstance(e, ChangesDetected) for e in events)  # the first load: the baseline
    row = next(r for r in session.table.rows if r.worst.name != "RED" and r.status == "ongoing")
    Script(sb).turn_red(row.ref.order_handle, type=row.ref.type, type_index=row.ref.type_index)
    # A refresh that fails after its first page: nothing compared, nothing looks gone.
    pages = [0]

    def second_page_fails(request: httpx.Request):
        if request.method == "GET" and "pagination_token" in str(request.url):
            pages[0] += 1
            return httpx.Response(503, json={"message": "down"})
        return None

    interceptor.rules.append(second_page_fails)
    events.clear()
    await _load(session)
    assert pages[0] >= 1 and not any(isinstance(e, ChangesDetected) for e in events)
    interceptor.rules.clear()
    events.clear()
    await _load(session)
    found = [e for e in events if isinstance(e, ChangesDetected)]
    assert len(found) == 1
    assert [(e.ref, e.kind.value) for e in found[0].new_reds] == [(row.ref, "worst")]
    assert not [e for e in found[0].events if e.kind.value == "left"]
    assert session.changes.new_red_count == 1


def test_the_session_s_notifier_follows_the_settings() -> None:
    from console.settings import Settings
    from console.session.core import _notifier

    assert _notifier(Settings()) is None  # off by default
    notifier = _notifier(Settings(notify=True, notify_kinds=("late",), notify_methods=("bell", "osc777"),
                                  notify_tmux=True))
    assert (notifier.kinds, notifier.methods, notifier.tmux, notifier.stream) == (
        ("late",), ("bell", "osc777"), True, None)


async def test_after_a_first_load_that_failed_part_way_the_next_complete_load_is_the_baseline() -> None:
    # The failed first load left some rows in the table, so the next load is merged, not
    # listed: the baseline must still be the whole table, or later changes to orders that did
    # not change in that load would read as new orders (and their leaving as nothing).
    import httpx

    from console.sandbox.transitions import Script
    from console.session.alerts import ChangesDetected
    from tests.session.test_session_core import _load, _session

    session, interceptor, events, sb = _session()

    def next_pages_fail(request: httpx.Request):
        if request.method == "GET" and "pagination_token" in str(request.url):
            return httpx.Response(503, json={"message": "down"})
        return None

    interceptor.rules.append(next_pages_fail)
    await _load(session)
    assert session.load_error is not None and 0 < session.table.total
    interceptor.rules.clear()
    await _load(session)  # complete, merged into the rows the failed load left: the baseline
    assert session.load_error is None and not any(isinstance(e, ChangesDetected) for e in events)
    row = next(r for r in session.table.rows if r.worst.name != "RED" and r.status == "ongoing")
    Script(sb).turn_red(row.ref.order_handle, type=row.ref.type, type_index=row.ref.type_index)
    events.clear()
    await _load(session)
    [found] = [e for e in events if isinstance(e, ChangesDetected)]
    assert [(e.ref, e.kind.value) for e in found.new_reds] == [(row.ref, "worst")]
    assert not [e for e in found.events if e.kind.value == "new"]
