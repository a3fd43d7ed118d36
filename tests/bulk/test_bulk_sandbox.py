"""The bulk engine and the headless command against the real sandbox (console.sandbox).

In process (fast, with the engine's sleep/clock faked) for the fault scenarios and a 1,000-order
run; served over HTTP by uvicorn for the processes killed half-way (F25/F26). What the SERVER
saw and applied (``sb.stats``) is the evidence, not the client's own account.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from console.api.models import OrderRef
from console.bulk.engine import BulkEngine
from console.bulk.journal import SUCCESS_STATES, Journal
from console.bulk.results import ResultStatus as R
from console.sandbox import DEFAULT_SECRET_KEY, ManualClock, Sandbox
from tests.support.fake_hypertrack import FakeClock, journal_bytes, journal_rows

REPO = Path(__file__).resolve().parents[2]
START = 1_767_000_000.0


def sandbox_with(n: int, *, outsiders: int = 3, seed: int = 11) -> tuple[Sandbox, list[str]]:
    """A sandbox whose clock stands still, with ``n`` open orders of ours and a few others."""
    sb = Sandbox(seed=seed, orders=0, clock=ManualClock(START))
    names = [f"run-{i:04d}" for i in range(n)]
    for h in names:
        sb.add_order(h, status="assigned")
    for i in range(outsiders):
        sb.add_order(f"outsider-{i}", status="ongoing")
    return sb, names


def check_sandbox_invariants(sb: Sandbox, run_handles: list[str], journal_path: Path, results=()) -> None:
    run = set(run_handles)
    # I1: nothing outside the run touched
    assert sb.stats.touched_handles() <= run
    assert sb.stats.changed_handles() <= run
    # at most one effective completion per order, as the server counts them
    assert sb.stats.max_completions_per_order() <= 1
    rows = journal_rows(journal_path)
    # I3: no intent left without an outcome
    assert all(r["state"] != "sending" for r in rows)
    results = list(results)
    if results:
        assert sorted(r.ref.order_handle for r in results if not r.earlier_run) == sorted(set(
            r.ref.order_handle for r in results if not r.earlier_run))
    # I4: the journal claims completed only for orders the server has completed
    for r in rows:
        if r["state"] in SUCCESS_STATES:
            assert sb.order(r["order_handle"]).status == "completed", r
    # I5: the secret is nowhere in the journal
    assert DEFAULT_SECRET_KEY.encode() not in journal_bytes(journal_path)


def engine_for(sb: Sandbox, journal: Journal, clock: FakeClock, **options) -> BulkEngine:
    client = sb.client(sleep=clock.sleep)
    options.setdefault("sleep", clock.sleep)
    options.setdefault("clock", clock)
    options.setdefault("rng", random.Random(3))
    return BulkEngine(client, journal, **options)


async def run_refs(sb: Sandbox, names: list[str], journal_path: Path, events: list | None = None, *,
                   look_up: bool = True, before_run=None, **options):
    """Run the engine over ``names``; their identity is looked up by GET (as the headless
    command does) or, with ``look_up=False``, taken as the sandbox's drop leg 0, attempt 0."""
    clock = FakeClock()
    if look_up:
        async with sb.client(sleep=clock.sleep) as lookup:
            refs = [(await lookup.get_order(h)).ref for h in names]
    else:
        refs = [OrderRef(h, "drop", 0, 0) for h in names]
    if before_run is not None:
        before_run()
    with Journal(journal_path) as journal:
        engine = engine_for(sb, journal, clock, **options)
        report = await engine.run(refs, on_event=events.append if events is not None else None)
        await engine.client.aclose()
    return report, clock


@pytest.fixture
def journal_path(tmp_path: Path) -> Path:
    return tmp_path / "journal.sqlite3"


# ---------------------------------------------------------------------- in process


async def test_plain_run_sends_the_full_identity(journal_path) -> None:
    sb, names = sandbox_with(6)
    report, _ = await run_refs(sb, names, journal_path)
    assert all(r.status is R.COMPLETED for r in report.results)
    assert all(sb.stats.completions_applied[(h, "drop", 0, 0)] == 1 for h in names)
    queries = {r.query for r in sb.stats.snapshot() if r.method == "POST"}
    assert queries == {"type=drop&type_index=0&fulfillment_attempt=0"}
    check_sandbox_invariants(sb, names, journal_path, report.results)


@pytest.mark.parametrize(
    ("action", "expected", "posts"),
    [
        ("drop_after_apply", R.COMPLETED_RECONCILED, 1),            # F4/F6
        ("drop_before_apply", R.COMPLETED, 2),                       # F5
        ("gateway_timeout_after_apply", R.COMPLETED_RECONCILED, 1),  # F8
        ("502", R.COMPLETED, 2),                                     # F9
        ("503", R.COMPLETED, 2),
    ],
)
async def test_fault_on_one_order(journal_path, action, expected, posts) -> None:
    sb, names = sandbox_with(4)
    sb.faults.script("POST", names[1], [action])
    report, _ = await run_refs(sb, names, journal_path)
    got = {r.ref.order_handle: r for r in report.results}
    assert got[names[1]].status is expected
    assert sb.stats.posts_received[(names[1], "complete")] == posts
    assert all(got[h].status is R.COMPLETED for h in names if h != names[1])
    assert all(sb.stats.completions_of(h) == 1 for h in names)
    check_sandbox_invariants(sb, names, journal_path, report.results)


async def test_f11_429_pauses_then_completes_never_in_doubt(journal_path) -> None:
    sb, names = sandbox_with(8)
    sb.faults.script("POST", names[2], ["429:3"])
    events: list = []
    report, clock = await run_refs(sb, names, journal_path, events, concurrency=4)
    assert all(r.status is R.COMPLETED for r in report.results)
    paused = [e for e in events if e.kind == "paused"]
    assert [e.retry_after for e in paused] == [3.0] and any(e.kind == "resumed" for e in events)
    assert max(clock.sleeps) >= 3.0
    assert sb.stats.posts_received[(names[2], "complete")] == 2
    check_sandbox_invariants(sb, names, journal_path, report.results)


async def test_a_reconciling_get_that_keeps_failing_stays_in_doubt(journal_path) -> None:
    sb, names = sandbox_with(3)
    sb.faults.script("POST", names[0], ["drop_after_apply"])
    report, _ = await run_refs(sb, names, journal_path,
                               before_run=lambda: sb.faults.script("GET", names[0], ["500"] * 20))
    got = {r.ref.order_handle: r.status for r in report.results}
    assert got[names[0]] is R.IN_DOUBT
    assert sb.stats.posts_received[(names[0], "complete")] == 1
    check_sandbox_invariants(sb, names, journal_path, report.results)


async def test_chaos_every_order_ends_settled_or_visibly_in_doubt(journal_path) -> None:
    sb, names = sandbox_with(150)
    sb.faults.set_error_rate(0.15)
    sb.faults.drop_after_apply(0, probability=0.1)
    sb.faults.drop_before_apply(0, probability=0.1)
    sb.faults.gateway_timeout_after_apply(0, probability=0.05)
    report, _ = await run_refs(sb, names, journal_path, look_up=False, concurrency=8, retry_budget=1000)
    assert len(report.results) == 150
    for r in report.results:
        server = sb.order(r.ref.order_handle).status
        if r.status.is_success:
            assert server == "completed"
        else:
            # 5xx/drops are never silently turned into failures: in doubt, or read back after
            # the settle window as not applied (and truly not applied)
            assert r.status in (R.IN_DOUBT, R.NOT_APPLIED), r
            if r.status is R.NOT_APPLIED:
                assert server != "completed", r
    assert report.counts()[R.COMPLETED] + report.counts()[R.COMPLETED_RECONCILED] > 100
    check_sandbox_invariants(sb, names, journal_path, report.results)


@pytest.mark.slow
async def test_a_thousand_orders_against_the_sandbox(journal_path) -> None:
    sb, names = sandbox_with(1000, outsiders=10)
    report, _ = await run_refs(sb, names, journal_path, look_up=False, concurrency=8)
    assert report.counts()[R.COMPLETED] == 1000
    assert sum(sb.stats.posts_received.values()) == 1000
    assert all(sb.stats.completions_of(h) == 1 for h in names)
    check_sandbox_invariants(sb, names, journal_path, report.results)


# ---------------------------------------------------------------------- killed and restarted


RUNNER = textwrap.dedent(
    """
    import argparse, os, signal, sys
    from pydantic import SecretStr
    from console.api.client import OrdersClient
    from console.api.credentials import Credentials
    from console.bulk import headless as H
    from console.bulk import journal as J

    base_url, journal_path, handles_file = sys.argv[1:4]
    kill_after = int(os.environ.get("KILL_AFTER_INTENTS", "0"))
    if kill_after:
        # F26: die right after an intent is durable, before its POST can go out.
        real, seen = J.Journal.record_intent, [0]
        def record_intent(self, *args, **kwargs):
            result = real(self, *args, **kwargs)
            seen[0] += 1
            if seen[0] == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return result
        J.Journal.record_intent = record_intent

    def client():
        return OrdersClient(Credentials("sandbox", SecretStr("sandbox-secret")), base_url=base_url)

    parser = argparse.ArgumentParser()
    H.add_complete_arguments(parser)
    args = parser.parse_args(["--from-file", handles_file, "--yes", "--json", "--concurrency",
                              os.environ.get("CONCURRENCY", "4"), "--journal", journal_path])
    options = {"settle_delay": 0.2, "settle_window": float(os.environ.get("SETTLE_WINDOW", "1"))}
    sys.exit(H.run_complete(args, client_factory=client, engine_options=options))
    """
)


def start_runner(base_url: str, journal: Path, handles_file: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, base_url, str(journal), str(handles_file)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO), **env},
    )


def finish(proc: subprocess.Popen) -> tuple[int, list[dict], str]:
    try:
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return proc.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err


def wait_until_quiet(sb: Sandbox, quiet: float = 0.5, limit: float = 10.0) -> None:
    """Wait until the server has recorded no new request and applied nothing new for ``quiet`` s."""
    deadline = time.monotonic() + limit
    last = None
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        now_state = (len(sb.stats.snapshot()), sum(sb.stats.completions_applied.values()))
        if now_state != last:
            last, stable_since = now_state, time.monotonic()
        elif time.monotonic() - stable_since >= quiet:
            return
        time.sleep(0.05)


@pytest.fixture
def served():
    from console.sandbox.server import serve_in_thread

    sb, names = sandbox_with(60, seed=5)
    with serve_in_thread(sb) as url:
        yield sb, names, url


def test_f25_killed_mid_flight_then_restarted_nothing_completed_is_resent(served, tmp_path) -> None:
    sb, names, url = served
    journal = tmp_path / "journal.sqlite3"
    listing = tmp_path / "handles.txt"
    listing.write_text("\n".join(names) + "\n")
    sb.faults.set_latency(0.05, 0.15)

    first = start_runner(url, journal, listing)
    deadline = time.monotonic() + 60
    while len(sb.stats.completions_applied) < 12:
        assert first.poll() is None, first.stderr.read()
        assert time.monotonic() < deadline, "the first run made no progress"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)  # no handler, no finally, no flush: like a dropped SSH session
    code, _, _ = finish(first)
    assert code == -signal.SIGKILL
    wait_until_quiet(sb)  # the server finishes what the dead process left in flight
    completed_before = {key[0] for key in sb.stats.completions_applied}
    rows = {r["order_handle"]: r for r in journal_rows(journal)}
    in_flight = [h for h, r in rows.items() if r["state"] == "sending"]
    assert 1 <= len(in_flight) <= 4  # at most `concurrency` intents without an outcome
    # the journal never claims more than the server did
    assert {h for h, r in rows.items() if r["state"] == "applied"} <= completed_before

    sb.faults.set_latency(0)
    code, lines, err = finish(start_runner(url, journal, listing))
    assert code == 0, err
    earlier = [d for d in lines if d["source"] == "earlier_run"]
    assert sorted(d["order_handle"] for d in earlier) == sorted(in_flight)
    assert lines[:len(earlier)] == earlier  # reported before anything else
    for d in earlier:
        expected = "completed_reconciled" if d["order_handle"] in completed_before else "not_applied"
        assert d["result"] == expected, d
    run = {d["order_handle"]: d["result"] for d in lines if d["source"] == "run"}
    assert set(run) == set(names) and all(v in ("completed", "already_completed") for v in run.values())
    # nothing the server had completed was POSTed again; everything else exactly once more
    for h in names:
        posts = sb.stats.posts_received[(h, "complete")]
        assert sb.stats.completions_of(h) == 1, h
        if h in completed_before:
            assert posts == 1, (h, posts)
        else:
            assert posts <= 2, (h, posts)
    check_sandbox_invariants(sb, names, journal)


def test_f26_killed_between_the_intent_and_the_post_is_sent_exactly_once(served, tmp_path) -> None:
    sb, names, url = served
    names = names[:10]
    journal = tmp_path / "journal.sqlite3"
    listing = tmp_path / "handles.txt"
    listing.write_text("\n".join(names) + "\n")

    code, _, _ = finish(start_runner(url, journal, listing, KILL_AFTER_INTENTS="5", CONCURRENCY="1"))
    assert code == -signal.SIGKILL
    rows = {r["order_handle"]: r for r in journal_rows(journal)}
    assert [h for h, r in rows.items() if r["state"] == "sending"] == [names[4]]
    assert sb.stats.posts_received[(names[4], "complete")] == 0  # the POST never went out
    assert {key[0] for key in sb.stats.completions_applied} == set(names[:4])

    code, lines, err = finish(start_runner(url, journal, listing, CONCURRENCY="1"))
    assert code == 0, err
    earlier = [d for d in lines if d["source"] == "earlier_run"]
    assert [(d["order_handle"], d["result"]) for d in earlier] == [(names[4], "not_applied")]
    assert all(sb.stats.posts_received[(h, "complete")] == 1 for h in names)
    assert all(sb.stats.completions_of(h) == 1 for h in names)
    op = rows[names[4]]["op_id"]
    assert {r["op_id"] for r in journal_rows(journal) if r["order_handle"] == names[4]} == {op}  # same op
    check_sandbox_invariants(sb, names, journal)


def test_a_restart_while_requests_are_still_in_flight_never_sends_twice(served, tmp_path) -> None:
    """The race: the server takes 3 s to apply each completion; the run is killed (SIGKILL)
    while its first POSTs are being processed and re-run at once. The start-up settle read each
    order back before its first request had landed, concluded "not applied" and sent again.
    Inside the settle window that read concludes nothing: the restart waits, reads again, and
    finds the orders completed by the first requests."""
    import threading

    sb, names, url = served
    names = names[:8]
    journal = tmp_path / "journal.sqlite3"
    listing = tmp_path / "handles.txt"
    listing.write_text("\n".join(names) + "\n")
    arrived: list[str] = []
    lock = threading.Lock()

    def slow_apply(info):
        if info.method == "POST" and info.action == "complete":
            with lock:
                arrived.append(info.handle)
            return "delay:3"
        return None

    sb.faults.hook = slow_apply
    first = start_runner(url, journal, listing, CONCURRENCY="4", SETTLE_WINDOW="6")
    deadline = time.monotonic() + 30
    while len(arrived) < 4 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)  # polling for the condition: four POSTs are being processed
    assert len(arrived) == 4, "the first run never had four requests in flight"
    first.kill()  # SIGKILL: no chance to record anything
    first.wait()
    in_flight = set(arrived)
    assert not sb.stats.completions_applied  # none has landed yet: the race is real

    code, lines, err = finish(start_runner(url, journal, listing, CONCURRENCY="4", SETTLE_WINDOW="6"))
    assert code == 0, err
    sb.faults.hook = None
    wait_until_quiet(sb)
    earlier = {d["order_handle"]: d for d in lines if d["source"] == "earlier_run"}
    assert set(earlier) == in_flight
    assert all(d["result"] == "completed_reconciled" and d["earlier"] == "interrupted" for d in earlier.values())
    for h in names:
        assert sb.stats.posts_received[(h, "complete")] == 1, h  # each order sent exactly once
        assert sb.stats.completions_of(h) == 1, h
    check_sandbox_invariants(sb, names, journal)


@pytest.mark.parametrize("knob", ["issue", "error_rate", "drop_after_apply", "drop_before_apply", "gateway_timeout"])
async def test_pick_drop_legs_are_settled_by_their_own_leg_under_every_fault(journal_path, knob) -> None:
    """GET /orders/{h} answers with the pick leg: a drop leg whose answer was lost was left IN
    DOUBT ("the server returned type pick instead of drop"). Its read-back now finds the drop
    leg itself (the list searched by handle)."""
    from tests.support.sandbox_fixtures import make_sandbox

    sb = make_sandbox(orders=300)
    by_handle: dict[str, list] = {}
    for o in sb.orders():
        by_handle.setdefault(o.handle, []).append(o)
    refs = [OrderRef(o.handle, o.type, o.type_index, o.attempt)
            for legs in by_handle.values() if len(legs) > 1
            for o in legs if o.status not in ("completed", "cancelled")]
    assert any(r.type == "drop" for r in refs) and any(r.type == "pick" for r in refs)
    if knob in ("issue", "error_rate"):
        sb.faults.set_error_rate(0.3)
    if knob in ("issue", "drop_after_apply"):
        sb.faults.drop_after_apply(0, probability=0.15 if knob == "issue" else 0.5)
    if knob == "drop_before_apply":
        sb.faults.drop_before_apply(0, probability=0.5)
    if knob == "gateway_timeout":
        sb.faults.gateway_timeout_after_apply(0, probability=0.5)
    clock = FakeClock()
    with Journal(journal_path) as journal:
        engine = engine_for(sb, journal, clock, retry_budget=1000, max_sends=6)
        report = await engine.run(refs)
        await engine.client.aclose()
    sb.faults.reset()
    for r in report.results:
        leg = next(o for o in by_handle[r.ref.order_handle]
                   if (o.type, o.type_index, o.attempt) == (r.ref.type, r.ref.type_index, r.ref.fulfillment_attempt))
        assert "instead of" not in r.message, r
        if r.status is R.IN_DOUBT:
            # only when the read-back itself failed (its GETs hit the error rate too), never
            # because of which leg answered
            assert knob in ("issue", "error_rate") and "checking the order failed (HTTP 50" in r.message, r
            continue
        if r.status.is_success:
            assert leg.status == "completed", r
        else:
            assert r.status is R.NOT_APPLIED and leg.status != "completed", r
    assert sum(r.status.is_success for r in report.results) > len(refs) // 2
