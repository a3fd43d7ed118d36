"""The sandbox's transitions (console/sandbox/transitions.py): the scripting API, the supervisor
elsewhere (deterministic under a seed), and the clock's speed."""

from __future__ import annotations

import argparse
from datetime import timedelta

import pytest

from console.sandbox import ManualClock, Sandbox
from console.sandbox.clock import WallClock
from console.sandbox.server import add_sandbox_arguments
from console.sandbox.transitions import Script
from tests.support.sandbox_fixtures import FIXED_START, make_sandbox


def queued(sb: Sandbox):
    return next(o for o in sb.fleet.ordered
                if o.status == "assigned" and len(sb.fleet.by_handle[o.handle]) == 1 and "red" not in o.risks.values())


def test_a_scripted_step_happens_when_the_clock_reaches_it():
    sb = make_sandbox()
    o = queued(sb)
    Script(sb).turn_red(o.handle, at=FIXED_START + timedelta(minutes=5), risk="in_outage")
    sb.advance(299)
    assert o.risks["in_outage"] != "red"
    sb.advance(1)
    assert o.risks["in_outage"] == "red"
    # pinned: the fleet's own risk rounds do not undo it
    sb.advance(3600)
    assert o.risks["in_outage"] == "red"
    Script(sb).recover(o.handle)
    assert set(o.risks.values()) == {"green"}


def test_scripted_reassign_cancel_complete_show_in_the_api():
    sb = make_sandbox()
    a, b, c = [o for o in sb.fleet.ordered if o.status == "assigned" and len(sb.fleet.by_handle[o.handle]) == 1][:3]
    script = Script(sb)
    old = a.worker.handle
    script.reassign(a.handle)
    script.cancel(b.handle)
    script.complete(c.handle)
    assert a.worker.handle != old and a.status == "assigned" and a in a.worker.route
    assert (b.status, c.status) == ("cancelled", "completed")
    other = next(w for w in sb.fleet.workers_by_area[a.area.ops_group_handle] if w.handle not in (old, a.worker.handle))
    script.reassign(a.handle, worker=other.handle)
    assert a.worker is other
    with pytest.raises(KeyError):
        script.cancel("no-such-order")
    with pytest.raises(ValueError):
        script.reassign(a.handle, worker="nobody")


def _state(sb: Sandbox) -> list[tuple]:
    return [(o.handle, o.type, o.status, o.worker.handle if o.worker else None, tuple(sorted(o.risks.items())))
            for o in sb.fleet.ordered]


def test_the_supervisor_elsewhere_reassigns_and_cancels_deterministically():
    def run() -> tuple[list[tuple], list[tuple]]:
        sb = Sandbox(seed=11, orders=300, clock=ManualClock(FIXED_START), elsewhere=True)
        before = {(o.handle, o.type): o.worker.handle for o in sb.fleet.ordered
                  if o.status == "assigned" and o.worker is not None}
        sb.advance(2 * 3600)
        return before, _state(sb)

    before, first = run()
    _, second = run()
    assert first == second  # the same seed and clock: the same fleet, move for move
    after = {(h, t): (status, worker) for h, t, status, worker, _ in first}
    moved = [k for k, w in before.items() if after[k][1] not in (w, None) and after[k][0] != "completed"]
    assert moved, "no order was reassigned in two simulated hours"
    quiet = Sandbox(seed=11, orders=300, clock=ManualClock(FIXED_START))
    quiet.advance(2 * 3600)
    assert _state(quiet) != first  # elsewhere made a difference; without it, none of its moves


def test_wall_clock_speed(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("time.monotonic", lambda: now[0])  # the module the clock reads
    clock = WallClock(speed=60)
    start = clock()
    now[0] += 2
    assert clock() - start == pytest.approx(120)
    with pytest.raises(ValueError):
        WallClock(speed=0)


def test_sandbox_command_takes_speed():
    parser = argparse.ArgumentParser()
    add_sandbox_arguments(parser)
    args = parser.parse_args(["--speed", "60", "--no-elsewhere"])
    assert (args.speed, args.elsewhere) == (60.0, False)
    assert parser.parse_args([]).elsewhere is True
    with pytest.raises(SystemExit):
        parser.parse_args(["--speed", "0"])
