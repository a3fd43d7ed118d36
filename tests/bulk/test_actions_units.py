"""The action types on their own: what each one's judge and refusal say for every status, and
the parameters they carry (no HTTP here: the pipeline tests send them)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from console.api.vocab import ORDER_STATUSES, TERMINAL_STATUSES
from console.bulk.actions import (
    COMPLETE, WORKING_STATUSES, Cancel, Disable, Enable, Reassign, Reschedule, Verdict,
)

AT = datetime(2026, 12, 8, 14, 30, tzinfo=timezone.utc)
ALL = [COMPLETE, Cancel(), Disable(), Enable(), Reassign("w-2"), Reschedule(at=AT)]


def order(status: str, **fields):
    fields.setdefault("worker", "w-1")
    fields.setdefault("ops_group", None)
    fields.setdefault("scheduled_at", None)
    fields.setdefault("scheduled_after", None)
    return SimpleNamespace(status=status, **fields)


@pytest.mark.parametrize("action", ALL, ids=lambda a: a.name)
def test_no_action_applies_to_a_finished_order_and_each_says_why(action):
    for status in TERMINAL_STATUSES:
        reason = action.refusal(status)
        assert reason and status in reason
        assert action.refusal(order(status)) == reason
        if action.judge(order(status)) is not Verdict.APPLIED:
            assert action.judge(order(status)) is Verdict.ENDED_OTHERWISE


@pytest.mark.parametrize("action", ALL, ids=lambda a: a.name)
def test_an_order_the_action_may_take_is_never_judged_applied_or_ended(action):
    for status in ORDER_STATUSES:
        if action.refusal(order(status)) is None:
            assert action.judge(order(status)) is Verdict.NOT_APPLIED, status


def test_status_actions():
    assert Cancel().judge(order("cancelled")) is Verdict.APPLIED
    assert Cancel().judge(order("completed")) is Verdict.ENDED_OTHERWISE
    assert Disable().judge(order("disabled")) is Verdict.APPLIED
    assert Disable().refusal("disabled") == "the order is already disabled"
    assert Disable().refusal("summarizing") and Disable().refusal("ongoing") is None


def test_enable_means_back_to_a_working_status():
    for status in WORKING_STATUSES:
        assert Enable().judge(order(status)) is Verdict.APPLIED
        assert "not disabled" in Enable().refusal(status)
    assert Enable().judge(order("disabled")) is Verdict.NOT_APPLIED and Enable().refusal("disabled") is None
    assert Enable().judge(order("summarizing")) is Verdict.ENDED_OTHERWISE


def test_reassign_is_applied_when_the_order_shows_the_worker_whatever_its_group():
    action = Reassign("w-2", ops_group="north")
    assert action.judge(order("assigned", worker="w-2", ops_group="north")) is Verdict.APPLIED
    assert action.judge(order("dispatched", worker="w-2")) is Verdict.APPLIED  # group not shown
    # The group names the worker's membership; the order may keep its own (the sandbox does).
    assert action.judge(order("assigned", worker="w-2", ops_group="south")) is Verdict.APPLIED
    assert action.judge(order("assigned", worker="w-1")) is Verdict.NOT_APPLIED
    assert action.refusal(order("assigned", worker="w-2")) == "the order is already assigned to w-2"
    assert Reassign("w\x1b[2J").describe() == "reassign to w\\x1b[2J"
    with pytest.raises(ValueError):
        Reassign("  ")


def test_reschedule_compares_to_the_second_in_utc():
    action = Reschedule(at=AT.astimezone(timezone(timedelta(hours=5))) + timedelta(microseconds=700))
    assert action.at == AT and action.params() == {"at": "2026-12-08T14:30:00Z"}
    assert action.judge(order("unplanned", scheduled_at=AT + timedelta(milliseconds=400))) is Verdict.APPLIED
    assert action.judge(order("assigned", scheduled_at=AT + timedelta(seconds=60))) is Verdict.NOT_APPLIED
    assert action.judge(order("assigned", scheduled_at="2026-12-08T14:30:00.000Z")) is Verdict.APPLIED
    assert action.judge(order("assigned", scheduled_at=None)) is Verdict.NOT_APPLIED
    with pytest.raises(ValueError):
        Reschedule(at=datetime(2026, 12, 8, 14, 30))  # no zone
    with pytest.raises(ValueError):
        Reschedule(at=AT, after=AT + timedelta(minutes=1))


def test_parameters_as_journaled():
    assert COMPLETE.params_json() is None and Disable().params_json() is None
    assert Cancel(reason="  ").params_json() is None
    assert Cancel(reason="no one home").params_json() == '{"reason":"no one home"}'
    assert Reassign("w", ops_group="g").params_json() == '{"ops_group":"g","worker":"w"}'
    assert len(Cancel(reason="x" * 1000).reason) == 200
