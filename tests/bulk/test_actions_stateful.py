"""J1 over every action: a stateful Hypothesis machine mixing complete, cancel, disable, enable,
reassign and reschedule runs, with random faults per order, crashes (the run's task cancelled
half-way: intents may be left without outcomes), settling, resuming and operator stops, over 8
orders plus 2 that are never part of any run. After every step the checklist's invariants hold,
read per action where the checklist speaks of completion:

- I1: no order outside the runs is touched (the outsiders get no POST and keep their state).
- I2, per action: no POST of an action (with its parameters) goes to an order whose state our
  own last effective request of that same action and parameters made, unless a GET of the order
  came after its previous POST. (A disable after an enable undid an earlier disable is not such a
  POST: the order does not show "disabled" then.) A POST that never connected does not count as
  the previous POST, as in the checklist.
- Never silently duplicated, per op: for each order and action, the server's effective
  applications of that action (a request that changed the order) are at most the journal's ops
  of that action for that order that may have taken effect (an ``applied*`` state, or
  ``sending``/``in_doubt``). Disable then enable are two ops and two applications; the same
  disable applied twice is a duplicate.
- I3: no op is left ``sending`` except right after a crash; a run reports each order once.
- I4, "the server agrees with the journal": an order's latest op (by its last journal update)
  that claims its action took effect (``applied``, ``applied_reconciled``, ``already_applied``)
  is confirmed by the server's current state, judged by that op's own action and parameters
  (``Action.judge`` is APPLIED: cancelled for a cancel, the worker for a reassign, a working
  status for an enable, ...). Only the latest op is held to it: a later op of the order may have
  changed the state since (disable, then enable), and while an earlier op is in doubt the engine
  sends no later one, so nothing else changed the order after the latest op's outcome.
- I5: the secret is in no journal byte and no result.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import random
import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from console.api.models import OrderRef
from console.bulk.actions import COMPLETE, Action, Cancel, Disable, Enable, Reassign, Reschedule, Verdict, from_journal
from console.bulk.engine import BulkEngine
from console.bulk.journal import SUCCESS_STATES, UNSETTLED_STATES, Journal
from tests.support.fake_hypertrack import (
    ACCOUNT, REFUSED_BEFORE_WORK, SECRET, FakeHyperTrack, journal_bytes, journal_rows, order_view,
)

NAMES = [f"o{i}" for i in range(8)]
OUTSIDERS = ["x0", "x1"]
FAULTS = ["ok", "connect", "drop_after_apply", "drop_before_apply", "disconnect_after_apply",
          "504_after_apply", "502", "429:2", "422", "wrong_status", "get_fails"]
AT = datetime(2026, 12, 8, 14, 30, tzinfo=timezone.utc)

OPEN_ACTIONS = [Disable(), Enable(), Reassign("w-1"), Reassign("w-2"), Reschedule(at=AT),
                Reschedule(at=AT + timedelta(hours=1))]
#: Terminal actions are rarer, so that most orders stay open for the others a while.
weighted_actions = st.sampled_from(OPEN_ACTIONS * 3 + [COMPLETE, Cancel(), Cancel(reason="dup")])
subsets = st.lists(st.sampled_from(NAMES), min_size=1, max_size=5)
fault_lists = st.lists(st.sampled_from(FAULTS), min_size=0, max_size=5)


def _action_of_post(action: str, body: Any) -> Action:
    """The Action a POST the fake received stands for (its name and the parameters it carried)."""
    body = body if isinstance(body, dict) else {}
    if action == "reassign":
        return Reassign(body.get("worker_handle") or "?", ops_group=body.get("ops_group_handle"))
    if action == "reschedule":
        return Reschedule(at=datetime.fromisoformat(body["scheduled_at"].replace("Z", "+00:00")))
    if action == "cancel":
        return Cancel()  # the reason is not part of what the order shows
    return from_journal(action, None)


def _key(action: Action) -> tuple[str, str | None]:
    """An action's identity as the order shows it (a cancel's reason does not show)."""
    return (action.name, None if action.name == "cancel" else action.params_json())


class RecordingFake(FakeHyperTrack):
    """The fake, also recording each POST's action and whether the order already showed what our
    own last effective request of that same action had made (for I2), and each effective
    application by action (for the duplicate check)."""

    def __init__(self, handles) -> None:
        super().__init__(handles)
        self.applications: Counter[tuple[str, str]] = Counter()
        self.last_effective: dict[str, tuple[str, str | None]] = {}
        #: Log indexes of POSTs sent to an order our own same request had already put in that state.
        self.repeat_posts: set[int] = set()

    def _apply(self, handle: str, action: str = "complete", body: Any = None):
        before = dict(self.orders[handle])
        refused = super()._apply(handle, action, body)
        if refused is None and self.orders[handle] != before:
            self.applications[(handle, action)] += 1
            self.last_effective[handle] = _key(_action_of_post(action, body))
        return refused

    def handler(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.raw_path.decode().split("?", 1)[0].strip("/").split("/")
        if request.method == "POST" and len(parts) == 3 and parts[1] in self.orders:
            handle, name = parts[1], parts[2]
            try:
                sent = _action_of_post(name, json.loads(request.content) if request.content else None)
            except (ValueError, KeyError, AttributeError):
                sent = None
            if (sent is not None and self.last_effective.get(handle) == _key(sent)
                    and sent.judge(order_view(self.orders[handle])) is Verdict.APPLIED):
                self.repeat_posts.add(len(self.log))
        return super().handler(request)


class ActionsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="actions-j1-"))
        self.path = self.dir / "journal.sqlite3"
        self.fake = RecordingFake(NAMES + OUTSIDERS)
        self.outsiders = {h: dict(self.fake.orders[h]) for h in OUTSIDERS}
        self.crashed = False
        self.ever_in_run: set[str] = set()
        self.results: list[Any] = []

    def teardown(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers

    def _arm(self, subset: list[str], faults: list[str]) -> None:
        for handle, fault in zip(subset, faults):
            if fault == "get_fails":
                self.fake.get_faults[handle] = ["500"] * 6
            elif fault != "ok":
                self.fake.post_faults[handle] = [fault]

    def _disarm(self) -> None:
        self.fake.post_faults.clear()
        self.fake.get_faults.clear()

    def _engine(self, journal: Journal, concurrency: int, action: Action = COMPLETE) -> BulkEngine:
        # settle_window=0: an intent's window has always passed when a later step reads it back
        # (the fake applies a request before it answers; nothing is in flight between steps).
        return BulkEngine(self.fake.client(), journal, action=action, concurrency=concurrency,
                          sleep=self.fake.clock.sleep, clock=self.fake.clock, rng=random.Random(0),
                          retry_budget=100, settle_window=0)

    def _check_results(self, results) -> None:
        seen = [r.ref.order_handle for r in results if not r.earlier_run]
        assert len(seen) == len(set(seen)), "an order got two results in one run"
        self.results += results

    # ------------------------------------------------------------------ rules

    @rule(action=weighted_actions, subset=subsets, faults=fault_lists, concurrency=st.integers(1, 3))
    def run(self, action: Action, subset: list[str], faults: list[str], concurrency: int) -> None:
        self.ever_in_run |= set(subset)
        self._arm(subset, faults)

        async def go():
            with Journal(self.path) as journal:
                return await self._engine(journal, concurrency, action).run([OrderRef(h) for h in subset])

        report = asyncio.run(go())
        self._disarm()
        self._check_results(report.results + report.settled)
        assert len(report.results) == len(set(subset))
        self.crashed = False

    @rule(action=weighted_actions, subset=subsets, faults=fault_lists, after=st.integers(0, 3),
          concurrency=st.integers(1, 3))
    def crash(self, action: Action, subset: list[str], faults: list[str], after: int, concurrency: int) -> None:
        """The run's task is cancelled after ``after`` POSTs began: no outcome gets written for
        what was in flight."""
        self.ever_in_run |= set(subset)
        self._arm(subset, faults)

        async def go() -> None:
            with Journal(self.path) as journal:
                engine = self._engine(journal, concurrency, action)
                sent = 0

                def on_event(event) -> None:
                    nonlocal sent
                    if event.kind == "sent":
                        sent += 1
                        if sent > after:
                            task.cancel()

                task = asyncio.ensure_future(engine.run([OrderRef(h) for h in subset], on_event=on_event))
                try:
                    await task
                except asyncio.CancelledError:
                    pass

        asyncio.run(go())
        self._disarm()
        self.crashed = True

    @rule()
    def settle(self) -> None:
        async def go():
            with Journal(self.path) as journal:
                return await self._engine(journal, 2).settle_pending()

        self._check_results(asyncio.run(go()))
        self.crashed = False

    @rule(faults=fault_lists)
    def resume(self, faults: list[str]) -> None:
        self._arm(NAMES, faults)

        async def go():
            with Journal(self.path) as journal:
                return await self._engine(journal, 2).resume()

        report = asyncio.run(go())
        self._disarm()
        self.results += report.results + report.settled
        self.crashed = False

    @rule(action=weighted_actions, subset=subsets, stop_after=st.integers(0, 3))
    def operator_stop(self, action: Action, subset: list[str], stop_after: int) -> None:
        self.ever_in_run |= set(subset)

        async def go():
            with Journal(self.path) as journal:
                engine = self._engine(journal, 2, action)
                results = 0

                def on_event(event) -> None:
                    nonlocal results
                    if event.kind == "result":
                        results += 1
                        if results >= stop_after:
                            engine.stop()

                return await engine.run([OrderRef(h) for h in subset], on_event=on_event)

        report = asyncio.run(go())
        self._check_results(report.results + report.settled)
        self.crashed = False

    # ------------------------------------------------------------------ invariants

    @invariant()
    def invariants_hold(self) -> None:
        fake = self.fake
        # I1
        assert {r.handle for r in fake.posts()} <= self.ever_in_run
        for outsider, state in self.outsiders.items():
            assert fake.orders[outsider] == state and not fake.posts(outsider)
        # I2, per action
        for index in fake.repeat_posts:
            req = fake.log[index]
            earlier = [r for r in fake.log[:index] if r.handle == req.handle]
            last_post = max((j for j, r in enumerate(earlier)
                             if r.method == "POST" and r.outcome not in REFUSED_BEFORE_WORK), default=-1)
            assert any(r.method == "GET" for r in earlier[last_post + 1:]), (
                f"{req.action} POSTed to {req.handle}, which our own {req.action} had already changed, "
                "without a reconciling GET first")
        if not self.path.exists():
            return
        rows = journal_rows(self.path)
        assert {r["order_handle"] for r in rows} <= self.ever_in_run
        # Never silently duplicated, per op.
        may_have_applied = Counter((r["order_handle"], r["action"]) for r in rows
                                   if r["state"] in SUCCESS_STATES | UNSETTLED_STATES)
        for key, n in fake.applications.items():
            assert n <= may_have_applied[key], f"{key}: {n} effective applications, ops {may_have_applied[key]}"
        # I3
        if not self.crashed:
            assert not [r for r in rows if r["state"] == "sending"], "an intent left without an outcome"
        # I4, the latest op of each order
        latest: dict[str, dict[str, Any]] = {}
        for index, row in enumerate(rows):  # rowid order breaks ties of the same update time
            current = latest.get(row["order_handle"])
            if current is None or (row["updated_at"], index) >= (current["updated_at"], current["_index"]):
                latest[row["order_handle"]] = {**row, "_index": index}
        for handle, row in latest.items():
            if row["state"] in SUCCESS_STATES:
                action = from_journal(row["action"], row["params"])
                assert action.judge(order_view(fake.orders[handle])) is Verdict.APPLIED, (row, fake.orders[handle])
        # I5
        basic = base64.b64encode(f"{ACCOUNT}:{SECRET}".encode())
        blob = journal_bytes(self.path)
        assert SECRET.encode() not in blob and basic not in blob
        assert not any(SECRET in repr(r) for r in self.results)


TestActionsMachine = ActionsMachine.TestCase
# A deeper search: ACTIONS_J1_EXAMPLES=300 .venv/bin/pytest tests/bulk/test_actions_stateful.py
TestActionsMachine.settings = settings(
    max_examples=int(os.environ.get("ACTIONS_J1_EXAMPLES", "15")), stateful_step_count=6, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
