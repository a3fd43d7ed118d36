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


# ------------------------------------------------------------------------------- list rows
# The console feeds the list's rows: the same row object while its order's fingerprint is
# unchanged (console/session/table.py). Those are compared by identity and LATE found from a heap;
# the events must be exactly those of the summaries' path.

from console.session.table import OrderRow  # noqa: E402

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


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_WORLD_TIMED, st.integers(0, 150)), min_size=2, max_size=6), st.integers(1, 3))
def test_list_rows_give_the_same_events_as_summaries(steps, page):
    by_rows, by_summaries = ChangeDetector(eta_slip_minutes=5), ChangeDetector(eta_slip_minutes=5)
    kept: dict = {}
    now = T0
    for world, seconds in steps:
        now += timedelta(seconds=seconds)
        orders = _timed_orders(world)
        rows = []
        for o in orders:
            row = OrderRow(o)
            prev = kept.get(row.key)
            if prev is not None and prev.fingerprint == row.fingerprint:
                row = prev  # what the list's refresh merge does
            kept[row.key] = row
            rows.append(row)
        builder = by_rows.begin(now)
        for start in range(0, len(rows), page):
            builder.add(rows[start:start + page])
        assert by_rows.compare(builder.finish()) == by_summaries.compare(snapshot(orders, now))


def test_an_unchanged_row_becomes_late_as_the_clock_passes():
    row = OrderRow(order("a", scheduled=datetime(2026, 12, 7, 12, 5, tzinfo=timezone.utc)))
    detector = ChangeDetector()
    for minute, expected in ((1, []), (5, []), (6, [("a", "late", "on time", "late")]), (7, [])):
        builder = detector.begin(datetime(2026, 12, 7, 12, minute, 30, tzinfo=timezone.utc))
        builder.add([row])
        assert kinds(detector.compare(builder.finish())) == expected
