"""Change detection between refreshes (console/session/changes.py): events, feed, new reds."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from console.api.summaries import OrderSummary
from console.api.vocab import RISK_KEY_NAMES, OrderRef, RiskLevel
from console.session.changes import (
    ChangeDetector, ChangeEvent, ChangeFeed, ChangeKind, SnapshotBuilder, snapshot,
)

T0 = datetime(2026, 12, 7, 12, 0, 30, tzinfo=timezone.utc)


def order(handle: str, status: str = "ongoing", *, worker: str | None = "w1", risks=None,
          eta: datetime | None = None, scheduled: datetime | None = None, leg: str | None = None,
          ops: str | None = "g1") -> OrderSummary:
    ref = OrderRef(handle, leg, 0 if leg else None)
    return OrderSummary(ref, status, worker=worker, ops_group=ops, eta=eta, scheduled_at=scheduled,
                        risks=risks)


def diff(before, after, *, now=T0, later=timedelta(seconds=10), **kw):
    detector = ChangeDetector(**{k: v for k, v in kw.items() if k == "eta_slip_minutes"})
    assert detector.compare(snapshot(before, now)) == []  # the first load: no events
    return detector.compare(snapshot(after, now + later), acted_on=kw.get("acted_on", ()))


def kinds(events):
    return [(e.ref.order_handle, e.kind.value, e.before, e.after) for e in events]


def test_first_snapshot_gives_no_events_and_identical_gives_none():
    detector = ChangeDetector()
    orders = [order("a", risks={"is_offline": "red"}), order("b")]
    assert detector.compare(snapshot(orders, T0)) == []
    assert detector.compare(snapshot(orders, T0 + timedelta(seconds=10))) == []


def test_risk_key_up_and_down_and_worst():
    events = diff(
        [order("a", risks={"is_offline": "yellow", "moving_too_slow": "red"})],
        [order("a", risks={"is_offline": "red", "moving_too_slow": "green"})],
    )
    assert kinds(events) == [
        ("a", "risk", "yellow", "red"), ("a", "risk", "red", "green"),
    ]
    assert events[0].risk_key == "is_offline" and events[1].risk_key == "moving_too_slow"
    assert events[0].is_red and not events[1].is_red and not events[0].is_new_red


def test_worst_turning_red_is_a_new_red_with_words():
    events = diff([order("a", risks={"is_offline": "yellow"})], [order("a", risks={"is_offline": "red"})])
    assert kinds(events) == [("a", "risk", "yellow", "red"), ("a", "worst", "yellow", "red")]
    worst = events[1]
    assert worst.is_new_red and worst.worst is RiskLevel.RED
    assert worst.sentence() == "Order a, worker w1: worst risk rose from yellow to red."
    assert "the device stopped sending locations" in events[0].sentence()


def test_status_worker_new_and_left_by_whom():
    events = diff(
        [order("a", "assigned", worker="w1"), order("gone1"), order("gone2")],
        [order("a", "ongoing", worker="w2"), order("fresh", "unplanned", worker=None, risks={"in_outage": "red"})],
        acted_on=[OrderRef("gone2")],
    )
    assert kinds(events) == [
        ("a", "status", "assigned", "ongoing"), ("a", "worker", "w1", "w2"),
        ("fresh", "new", None, "unplanned"),
        ("gone1", "left", "ongoing", None), ("gone2", "left", "ongoing", None),
    ]
    assert events[2].is_new_red  # arriving red counts
    assert [e.by_this_console for e in events[3:]] == [False, True]
    assert events[3].sentence().endswith("completed or cancelled elsewhere.")
    assert events[4].sentence().endswith("completed or cancelled by this console.")
    assert events[1].sentence() == "Order a: reassigned from w1 to w2."


def test_terminal_status_counts_as_leaving():
    events = diff([order("a")], [order("a", "completed")])
    assert kinds(events) == [("a", "left", "ongoing", None)]


def test_legs_are_distinct_orders():
    events = diff([order("a", leg="pick"), order("a", leg="drop")],
                  [order("a", leg="pick"), order("a", leg="drop", worker="w9")])
    assert [(e.ref, e.kind) for e in events] == [(OrderRef("a", "drop", 0), ChangeKind.WORKER)]


def test_becoming_late_when_the_clock_passes_the_scheduled_time():
    scheduled = datetime(2026, 12, 7, 12, 1, 0, tzinfo=timezone.utc)
    detector = ChangeDetector()
    orders = [order("a", scheduled=scheduled)]
    detector.compare(snapshot(orders, T0))
    # 12:01:59: minute floor 12:01, 0 whole minutes past: not late yet (the list's rule)
    assert detector.compare(snapshot(orders, datetime(2026, 12, 7, 12, 1, 59, tzinfo=timezone.utc))) == []
    events = detector.compare(snapshot(orders, datetime(2026, 12, 7, 12, 2, 0, tzinfo=timezone.utc)))
    assert kinds(events) == [("a", "late", "on time", "late")]
    # rescheduled later: no longer late
    later = [order("a", scheduled=scheduled + timedelta(hours=1))]
    events = detector.compare(snapshot(later, datetime(2026, 12, 7, 12, 3, tzinfo=timezone.utc)))
    assert kinds(events) == [("a", "late", "late", "on time")]


def test_eta_slip_adds_up_and_resets_when_earlier():
    eta = T0 + timedelta(minutes=30)
    detector = ChangeDetector(eta_slip_minutes=10)
    detector.compare(snapshot([order("a", eta=eta)], T0))
    seen = []
    for minutes, t in ((4, 1), (8, 2), (11, 3), (15, 4), (2, 5), (12, 6)):
        seen.append(kinds(detector.compare(snapshot([order("a", eta=eta + timedelta(minutes=minutes))],
                                                    T0 + timedelta(seconds=10 * t)))))
    assert seen == [
        [], [],
        [("a", "eta", "2026-12-07T12:30:30Z", "2026-12-07T12:41:30Z")],  # 11 min from the baseline
        [],  # 4 more since that event
        [],  # earlier: the count starts again from 12:32:30
        [("a", "eta", "2026-12-07T12:32:30Z", "2026-12-07T12:42:30Z")],
    ]


def test_incomplete_snapshot_is_ignored_and_invents_no_left():
    detector = ChangeDetector()
    detector.compare(snapshot([order("a"), order("b")], T0))
    partial = SnapshotBuilder(T0 + timedelta(seconds=10))
    partial.add([order("a", worker="w2")])
    assert detector.compare(partial.abandon()) == []
    events = detector.compare(snapshot([order("a", worker="w2"), order("b")], T0 + timedelta(seconds=20)))
    assert kinds(events) == [("a", "worker", "w1", "w2")]


def test_control_characters_never_reach_event_text_but_json_keeps_the_handle():
    events = diff([order("h\x1b[31m", worker="w\x07")], [order("h\x1b[31m", worker="x\x1b]0;t\x07")])
    (event,) = events
    assert event.ref.order_handle == "h\x1b[31m"
    assert event.as_json()["order_handle"] == "h\x1b[31m"
    for text in (event.sentence(), event.before, event.after):
        assert not any(ord(c) < 32 or 0x7f <= ord(c) < 0xa0 for c in text)


def test_as_json_fields():
    events = diff([order("a", risks={"is_offline": "green"})], [order("a", risks={"is_offline": "red"})])
    assert events[0].as_json() == {
        "time": "2026-12-07T12:00:40Z", "order_handle": "a", "type": None, "type_index": None,
        "fulfillment_attempt": None, "worker": "w1", "kind": "risk", "from": "green", "to": "red",
        "worst": "red", "risk": "is_offline",
    }


# ------------------------------------------------------------------------------- the feed


def _event(handle: str, kind=ChangeKind.WORST, before="yellow", after="red") -> ChangeEvent:
    return ChangeEvent(T0, OrderRef(handle), kind, before, after,
                       worst=RiskLevel.RED if after == "red" else RiskLevel.YELLOW)


def test_feed_is_bounded_newest_first_and_filters_red():
    feed = ChangeFeed(size=3)
    feed.record([_event("a"), _event("b", ChangeKind.STATUS, "assigned", "ongoing")])
    feed.record([_event("c"), _event("d", ChangeKind.WORKER, "w1", "w2")])
    assert [e.ref.order_handle for e in feed.events()] == ["d", "c", "b"]
    assert [e.ref.order_handle for e in feed.events(red_only=True)] == ["c"]
    assert len(feed) == 3


def test_new_reds_ack_by_order_and_all_and_jump_wraps():
    feed = ChangeFeed()
    assert [e.ref.order_handle for e in feed.record([_event("a"), _event("b"), _event("c")])] == ["a", "b", "c"]
    assert feed.new_red_count == 3
    assert feed.next_new_red() == OrderRef("a")
    assert feed.next_new_red(OrderRef("c")) == OrderRef("a")
    assert feed.next_new_red(OrderRef("a")) == OrderRef("b")
    assert feed.acknowledge(OrderRef("b")) and not feed.acknowledge(OrderRef("b"))
    assert feed.new_red_count == 2
    # a recovered order and one that left are no longer waiting to be looked at
    feed.record([_event("a", after="yellow"), _event("zz", ChangeKind.STATUS, "x", "y")])
    assert [e.ref.order_handle for e in feed.unacknowledged()] == ["c"]
    assert feed.acknowledge_all() == 1 and feed.new_red_count == 0 and feed.next_new_red() is None


def test_recently_changed_ages_out():
    feed = ChangeFeed(marked_refreshes=2)
    feed.record([_event("a")])
    feed.record([_event("b", ChangeKind.STATUS, "x", "y")])
    assert feed.recently_changed() == {("a", None, None, None), ("b", None, None, None)}
    feed.record([])
    assert feed.recently_changed() == {("b", None, None, None)}


# ------------------------------------------------------------------------------- properties

_LEVELS = st.sampled_from([None, "green", "yellow", "red"])
_STATE = st.fixed_dictionaries({
    "status": st.sampled_from(["assigned", "ongoing", "completed"]),
    "worker": st.sampled_from([None, "w1", "w2"]),
    "risks": st.dictionaries(st.sampled_from(RISK_KEY_NAMES[:3]), _LEVELS, max_size=3),
})
_WORLD = st.dictionaries(st.sampled_from(["a", "b", "c", "d"]), _STATE, max_size=4)


def _orders(world):
    return [order(h, s["status"], worker=s["worker"], risks=s["risks"]) for h, s in world.items()]


@settings(max_examples=150, deadline=None)
@given(st.lists(_WORLD, min_size=1, max_size=5))
def test_events_account_for_exactly_what_changed(worlds):
    detector = ChangeDetector()
    previous = None
    for step, world in enumerate(worlds):
        now = T0 + timedelta(seconds=10 * step)
        events = detector.compare(snapshot(_orders(world), now))
        open_now = {h for h, s in world.items() if s["status"] != "completed"}
        if previous is None:
            assert events == []
        else:
            assert {e.ref.order_handle for e in events if e.kind is ChangeKind.NEW} == open_now - previous
            assert {e.ref.order_handle for e in events if e.kind is ChangeKind.LEFT} == previous - open_now
            for e in events:
                assert e.before != e.after
                assert e.time == now
        previous = open_now


@settings(max_examples=100, deadline=None)
@given(st.lists(_WORLD, min_size=2, max_size=4), st.integers(1, 3))
def test_page_by_page_comparison_gives_the_same_events_as_the_whole_diff(worlds, page):
    whole, paged = ChangeDetector(), ChangeDetector()
    for step, world in enumerate(worlds):
        now = T0 + timedelta(seconds=10 * step)
        orders = _orders(world)
        builder = paged.begin(now)
        for start in range(0, len(orders), page):
            builder.add(orders[start:start + page])
        assert paged.compare(builder.finish()) == whole.compare(snapshot(orders, now))


# ------------------------------------------------------------------------------- the order table
# The console feeds the detector its order table (console/session/table.py): the first load's
# rows, then what each refresh merge changed. The table updates a changed row in place, so the
# detector keeps values, never rows; unchanged orders are never visited and LATE from the clock
# comes from a heap. The events must be exactly those of the summaries' path.

from console.session.table import OrderTable, build_rows  # noqa: E402

_STATE_TIMED = st.fixed_dictionaries({
    "status": st.sampled_from(["assigned", "ongoing", "completed"]),
    "worker": st.sampled_from([None, "w1", "w2"]),
    "risks": st.dictionaries(st.sampled_from(RISK_KEY_NAMES[:3]), _LEVELS, max_size=3),
    "scheduled": st.one_of(st.none(), st.integers(-2, 8)),
    "eta": st.one_of(st.none(), st.integers(0, 40)),
})
_WORLD_TIMED = st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), _STATE_TIMED, max_size=5)


def _timed_orders(world):
    return [order(h, s["status"], worker=s["worker"], risks=s["risks"],
                  scheduled=None if s["scheduled"] is None else T0 + timedelta(minutes=s["scheduled"]),
                  eta=None if s["eta"] is None else T0 + timedelta(minutes=s["eta"]))
            for h, s in world.items()]


def table_load(detector: ChangeDetector, table: OrderTable, orders, now, page: int = 2, *, acted_on=()):
    """One load as the session runs it: listed into an empty table page by page, else merged."""
    diff = detector.begin_table(now)
    if table.total == 0:
        for start in range(0, len(orders), page):
            rows = build_rows(orders[start:start + page])
            diff.add(rows)
            table.extend(rows)
    else:
        merge = table.begin_refresh()
        for start in range(0, len(orders), page):
            merge.add_page(orders[start:start + page])
        for _ in merge.steps():
            pass
        diff.merged(merge.finish())
    return detector.compare_table(diff, acted_on=acted_on)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_WORLD_TIMED, st.integers(-90, 150)), min_size=2, max_size=6), st.integers(1, 3))
def test_the_order_table_gives_the_same_events_as_summaries(steps, page):
    by_table, by_summaries = ChangeDetector(eta_slip_minutes=5), ChangeDetector(eta_slip_minutes=5)
    table = OrderTable()
    now = T0
    for world, seconds in steps:
        now += timedelta(seconds=seconds)  # the clock may go back too
        orders = _timed_orders(world)
        assert table_load(by_table, table, orders, now, page) == by_summaries.compare(snapshot(orders, now))


def test_a_first_load_given_as_a_merge_is_refused():
    # A merge only says what changed: it cannot be a baseline (that would miss every order
    # that did not change in it).
    detector, table = ChangeDetector(), OrderTable()
    table.extend(build_rows([order("a"), order("b")]))
    diff = detector.begin_table(T0)
    diff.merged(table.merge([order("a", worker="w2"), order("b")]))
    with pytest.raises(ValueError, match="must list"):
        detector.compare_table(diff)
    assert not detector.has_baseline


def test_an_empty_first_load_is_a_baseline_and_the_first_order_is_new():
    detector, table = ChangeDetector(), OrderTable()
    assert table_load(detector, table, [], T0) == [] and detector.has_baseline
    assert kinds(table_load(detector, table, [order("a")], T0 + timedelta(seconds=10))) == [
        ("a", "new", None, "ongoing")]


def test_an_order_turning_red_in_place_gives_its_events():
    # The table keeps the row object of an order and updates it in place: the detector must
    # compare the values it had, not the (same) row.
    detector, table = ChangeDetector(), OrderTable()
    table_load(detector, table, [order("a"), order("b")], T0)
    row = table.get(OrderRef("a"))
    events = table_load(detector, table, [order("a", risks={"is_offline": "red"}), order("b")],
                        T0 + timedelta(seconds=10))
    assert table.get(OrderRef("a")) is row  # updated in place
    assert kinds(events) == [("a", "risk", "none", "red"), ("a", "worst", "none", "red")]
    assert events[1].is_new_red


def test_an_unchanged_order_becomes_late_as_the_clock_passes_and_not_late_when_it_goes_back():
    detector, table = ChangeDetector(), OrderTable()
    listing = [order("a", scheduled=datetime(2026, 12, 7, 12, 5, tzinfo=timezone.utc))]
    got = [kinds(table_load(detector, table, listing, datetime(2026, 12, 7, 12, minute, 30, tzinfo=timezone.utc)))
           for minute in (1, 5, 6, 7, 3, 4, 6)]
    assert got == [[], [], [("a", "late", "on time", "late")], [], [("a", "late", "late", "on time")], [],
                   [("a", "late", "on time", "late")]]


def _answer(handle: str, status: str, worker: str = "w1"):
    from console.api.models import Order

    return Order.model_construct(order_handle=handle, status=status, worker_handle=worker, ops_group_handle="g1")


def test_a_completion_between_loads_leaves_by_this_console_once():
    detector, table = ChangeDetector(), OrderTable()
    table_load(detector, table, [order("a"), order("b")], T0)
    table.replace_order(OrderRef("a"), _answer("a", "completed"))  # this console's completion
    # The next load no longer lists it; the table keeps it on screen once, showing "completed".
    first = table_load(detector, table, [order("b")], T0 + timedelta(seconds=10), acted_on=[OrderRef("a")])
    assert table.get(OrderRef("a")) is not None
    assert [(e.ref.order_handle, e.kind.value, e.before, e.by_this_console) for e in first] == [
        ("a", "left", "ongoing", True)]
    second = table_load(detector, table, [order("b")], T0 + timedelta(seconds=20))
    assert table.get(OrderRef("a")) is None and second == []


def test_a_change_made_between_loads_is_reported_though_the_listing_matches_the_row():
    # Reassigned by this console: the row shows w2 at once, and the next listing agrees, so the
    # merge sees nothing to update; the table still names the row.
    detector, table = ChangeDetector(), OrderTable()
    table_load(detector, table, [order("a"), order("b")], T0)
    table.replace_order(OrderRef("a"), _answer("a", "ongoing", worker="w2"))
    events = table_load(detector, table, [order("a", worker="w2"), order("b")], T0 + timedelta(seconds=10))
    assert kinds(events) == [("a", "worker", "w1", "w2")]
    assert table_load(detector, table, [order("a", worker="w2"), order("b")], T0 + timedelta(seconds=20)) == []


def test_a_load_that_fails_is_never_compared_and_the_next_one_sees_everything():
    detector, table = ChangeDetector(), OrderTable()
    table_load(detector, table, [order("a"), order("b")], T0)
    table.replace_order(OrderRef("a"), _answer("a", "ongoing", worker="w2"))
    merge = table.begin_refresh()  # the read fails after one page: never finished, never compared
    merge.add_page([order("a", worker="w2")])
    events = table_load(detector, table, [order("a", worker="w2"), order("b", status="assigned")],
                        T0 + timedelta(seconds=20))
    assert kinds(events) == [("a", "worker", "w1", "w2"), ("b", "status", "ongoing", "assigned")]


# What the console reports is what its table shows: whatever mix of loads and of changes made
# between them (a completion's or reassignment's answer, applied to a row), the events of the
# table path equal those of a snapshot of the table's rows taken after each load.

_LOCAL = st.tuples(st.sampled_from(["a", "b", "c", "d", "e"]),
                   st.sampled_from(["completed", "cancelled", "ongoing", "assigned"]),
                   st.sampled_from(["w1", "w2", "w3"]))
_STEP = st.one_of(
    st.tuples(st.just("load"), _WORLD_TIMED, st.integers(-30, 150)),
    st.tuples(st.just("answer"), _LOCAL, st.just(0)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_STEP, min_size=2, max_size=10), st.integers(1, 3))
def test_the_table_path_reports_what_the_table_shows_through_changes_made_between_loads(steps, page):
    by_table, oracle = ChangeDetector(eta_slip_minutes=5), ChangeDetector(eta_slip_minutes=5)
    table = OrderTable()
    now = T0
    for kind, arg, seconds in steps:
        if kind == "answer":
            handle, status, worker = arg
            table.replace_order(OrderRef(handle), _answer(handle, status, worker))  # no-op if not listed
            continue
        now += timedelta(seconds=seconds)
        got = table_load(by_table, table, _timed_orders(arg), now, page)
        assert got == oracle.compare(snapshot(list(table.rows), now))
