"""``dispatch-console watch`` as a supervisor's script runs it: a real subprocess reading the
sandbox served over loopback HTTP, scripted transitions (console/sandbox/transitions.py), real
signals, and injected faults."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from console.sandbox import Sandbox
from console.sandbox.transitions import Script
from console.sandbox.server import serve_in_thread
from tests.support.sandbox_fixtures import make_sandbox

REPO = Path(__file__).resolve().parents[1]


class Watch:
    """``python -m console watch`` against a served sandbox; stdout and stderr read by threads."""

    def __init__(self, served: Served | None, *args: str, config: Path | None = None) -> None:
        """``served``: watch that sandbox over HTTP; None: ``args`` say what to watch (the
        embedded sandbox) and ``config`` is the config file."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HYPERTRACK_", "DISPATCH_CONSOLE"))}
        env.update(PYTHONPATH=str(REPO), DISPATCH_CONSOLE_CONFIG=str(served.config if served else config))
        if served is not None:
            creds = served.sandbox.credentials
            env.update(HYPERTRACK_ACCOUNT_ID=creds.account_id,
                       HYPERTRACK_SECRET_KEY=creds.secret_key.get_secret_value())
            args = ("--base-url", served.base_url, *args)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "console", "watch", *args],
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        )
        self.out: queue.Queue[str] = queue.Queue()
        self.err: list[str] = []
        self._err_q: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.out), daemon=True).start()
        threading.Thread(target=self._pump, args=(self.proc.stderr, self._err_q), daemon=True).start()

    @staticmethod
    def _pump(stream, into: queue.Queue) -> None:
        for line in stream:
            into.put(line.rstrip("\n"))

    def stderr_until(self, condition: Callable[[str], bool], what: str, timeout: float = 60) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._err_q.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, f"watch ended waiting for {what}: {self.err}"
                continue
            self.err.append(line)
            if condition(line):
                return line
        raise AssertionError(f"timed out waiting for {what}; stderr: {self.err}")

    def lines_until(self, condition: Callable[[list[str]], bool], what: str, timeout: float = 60) -> list[str]:
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while not condition(lines):
            assert time.monotonic() < deadline, f"timed out waiting for {what}; got {lines}; stderr {self.err}"
            try:
                lines.append(self.out.get(timeout=0.2))
            except queue.Empty:
                assert self.proc.poll() is None, f"watch ended waiting for {what}: {self.err}"
        return lines

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=30)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            while True:
                try:
                    self.err.append(self._err_q.get_nowait())
                except queue.Empty:
                    break

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Served(NamedTuple):
    base_url: str
    sandbox: Sandbox
    config: Path  # an empty config file: no profile of the user's applies


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    sb = make_sandbox()
    config = tmp_path / "config.toml"
    config.write_text("")
    with serve_in_thread(sb) as base_url:
        yield Served(base_url, sb, config)


def _queued(sb, n: int, skip: set[str] = frozenset()) -> list:
    """``n`` single-leg queued orders not red, each with its own worker (so one's reassignment
    does not move the next)."""
    found, workers = [], set()
    for o in sb.fleet.ordered:
        if (o.status == "assigned" and len(sb.fleet.by_handle[o.handle]) == 1 and o.handle not in skip
                and "red" not in o.risks.values() and o.worker.handle not in workers):
            found.append(o)
            workers.add(o.worker.handle)
            if len(found) == n:
                return found
    raise AssertionError("the fleet has too few queued orders")


def _watching(line: str) -> bool:
    return "watching" in line and "open order" in line


def test_json_events_for_scripted_transitions_and_nothing_on_the_first_load(served: Served) -> None:
    sb = served.sandbox
    red, moved, gone = _queued(sb, 3)
    old_worker = moved.worker.handle
    watch = Watch(served, "--json", "--interval", "1")
    try:
        watch.stderr_until(_watching, "the first load")
        assert watch.out.empty()  # the first load prints nothing
        with sb.lock:  # in one step, so that one refresh sees all three
            script = Script(sb)
            script.turn_red(red.handle, risk="is_offline")
            script.reassign(moved.handle)
            script.cancel(gone.handle)
        expected = {
            (red.handle, "risk", "green", "red"), (red.handle, "worst", "green", "red"),
            (moved.handle, "worker", old_worker, moved.worker.handle),
            (gone.handle, "left", "assigned", None),
        }

        def seen(lines: list[str]) -> bool:
            got = {(e["order_handle"], e["kind"], e["from"], e["to"]) for e in map(json.loads, lines)}
            return expected <= got

        lines = watch.lines_until(seen, "the scripted events")
        events = [json.loads(line) for line in lines]
        assert set(events[0]) >= {"time", "order_handle", "type", "type_index", "fulfillment_attempt",
                                  "worker", "kind", "from", "to"}
        by = {(e["order_handle"], e["kind"]): e for e in events}
        assert by[(red.handle, "risk")]["risk"] == "is_offline"
        assert by[(red.handle, "worst")]["worst"] == "red"
        assert by[(red.handle, "risk")]["type"] == red.type
        assert by[(gone.handle, "left")]["by_this_console"] is False
        # Only what the script did (and its knock-on effects on the two workers' queues).
        touched = {red.handle, moved.handle, gone.handle}
        for e in events:
            assert e["order_handle"] in touched or e["kind"] == "status", e
        assert watch.stop(signal.SIGTERM) == 143
    finally:
        watch.close()
    assert not any("Traceback" in line for line in watch.err)


def test_nothing_is_printed_while_nothing_changes(served: Served) -> None:
    watch = Watch(served, "--json", "--interval", "1")
    try:
        first = watch.stderr_until(_watching, "the first load")
        assert f"watching {sum(o.is_open for o in served.sandbox.fleet.ordered)} open order(s)" in first
        # More refreshes of a frozen fleet: the first one's note, then a refresh after a
        # scripted change proves later refreshes ran; no line came before it.
        (moved,) = _queued(served.sandbox, 1)
        assert watch.out.empty()
        Script(served.sandbox).reassign(moved.handle)
        lines = watch.lines_until(lambda ls: any(moved.handle in line for line in ls), "the reassignment")
        assert all(json.loads(line)["kind"] in ("worker", "status") for line in lines)
        assert watch.stop(signal.SIGINT) == 130
    finally:
        watch.close()


def test_only_red_and_text_lines_are_sanitized(served: Served) -> None:
    sb = served.sandbox
    hostile = "EVIL\x1b]0;pwned\x07\x1b[2J"
    with sb.lock:
        sb.fleet.add_order(hostile)
    red, moved = _queued(sb, 2)
    watch = Watch(served, "--only", "red", "--interval", "1")
    try:
        watch.stderr_until(_watching, "the first load")
        with sb.lock:
            script = Script(sb)
            script.turn_red(hostile)
            script.turn_red(red.handle)
            script.reassign(moved.handle)  # not red: not printed
        lines = watch.lines_until(lambda ls: sum("worst risk rose" in line for line in ls) >= 2, "two new reds")
    finally:
        assert watch.stop() == 143
        watch.close()
    text = "\n".join(lines)
    assert "\x1b" not in text and "\x07" not in text
    assert "EVIL\\x1b]0;pwned\\x07\\x1b[2J" in text  # visible escapes, not control characters
    assert moved.handle not in text
    assert all(" to red" in line for line in lines)


def test_backs_off_on_api_failures_and_resumes_without_inventing_events(served: Served) -> None:
    sb = served.sandbox
    watch = Watch(served, "--json", "--interval", "1")
    try:
        watch.stderr_until(_watching, "the first load")
        sb.faults.set_error_rate(1.0)
        note = watch.stderr_until(lambda line: "failed" in line, "the failure note")
        assert "retrying in 2 s" in note
        sb.faults.set_error_rate(0.0)
        watch.stderr_until(lambda line: "reading again" in line, "the resume note")
        (red,) = _queued(sb, 1)
        Script(sb).turn_red(red.handle, risk="is_offline")
        lines = watch.lines_until(lambda ls: any('"worst"' in line and red.handle in line for line in ls),
                                  "the red after resuming")
        # Nothing from the failed reads: no order reported as gone or new.
        assert all(json.loads(line)["kind"] not in ("left", "new") for line in lines)
    finally:
        assert watch.stop() == 143
        watch.close()
    assert not any("Traceback" in line for line in watch.err)


def test_ops_group_watches_only_that_group(served: Served) -> None:
    sb = served.sandbox
    candidates = [o for o in sb.fleet.ordered if o.status == "assigned" and len(sb.fleet.by_handle[o.handle]) == 1
                  and "red" not in o.risks.values()]
    inside = candidates[0]
    group = inside.area.ops_group_handle
    outside = next(o for o in candidates if o.area.ops_group_handle != group)
    watch = Watch(served, "--json", "--interval", "1", "--ops-group", group)
    try:
        first = watch.stderr_until(_watching, "the first load")
        listed = sum(o.is_open and o.area.ops_group_handle == group for o in sb.fleet.ordered)
        assert f"watching {listed} open order(s) in ops group {group}" in first
        with sb.lock:
            script = Script(sb)
            script.turn_red(outside.handle)
            script.turn_red(inside.handle)
        lines = watch.lines_until(lambda ls: any('"worst"' in line for line in ls), "the red inside the group")
        assert {json.loads(line)["order_handle"] for line in lines} == {inside.handle}
    finally:
        assert watch.stop() == 143
        watch.close()


def test_watch_on_the_embedded_sandbox_at_speed_prints_a_red_within_seconds(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("")
    watch = Watch(None, "--sandbox", "--sandbox-speed", "120", "--interval", "1", "--json", "--only", "red",
                  config=config)
    try:
        [line] = watch.lines_until(lambda lines: bool(lines), "a first red")
        event = json.loads(line)
        assert event["to"] == "red" or event["kind"] == "new"
        assert watch.stop() == 143
    finally:
        watch.close()


def test_watch_at_sandbox_speed_judges_late_on_the_sandbox_s_clock(tmp_path: Path) -> None:
    # Ten simulated minutes a real second: orders due within the next hour of the simulated day
    # turn LATE within seconds. On the wall clock (the bug) they would take real minutes to.
    config = tmp_path / "config.toml"
    config.write_text("")
    watch = Watch(None, "--sandbox", "--sandbox-speed", "600", "--interval", "1", "--json", config=config)
    try:
        lines = watch.lines_until(
            lambda got: any(json.loads(x)["kind"] == "late" and json.loads(x)["to"] == "late" for x in got),
            "an order turning LATE", timeout=30)
        late = [json.loads(x) for x in lines if json.loads(x)["kind"] == "late"]
        assert late and all(e["from"] == "on time" for e in late if e["to"] == "late")
        assert watch.stop() == 143
    finally:
        watch.close()


async def test_the_embedded_sandbox_process_runs_its_clock_at_the_speed_asked() -> None:
    import email.utils

    import httpx

    from console.connection import SANDBOX_BASE_URL
    from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
    from console.sandbox.process import start

    proc = start(7, 60, 3600.0)
    assert proc is not None
    async with httpx.AsyncClient(transport=proc.transport(), base_url=SANDBOX_BASE_URL,
                                 auth=(DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY)) as http:
        dates = []
        for _ in range(2):
            started = time.monotonic()
            response = await http.get("/orders/", params={"limit": 1})
            assert response.status_code == 200
            dates.append((email.utils.parsedate_to_datetime(response.headers["date"]), started))
            while time.monotonic() - started < 1.0:  # a real second between the two answers
                await asyncio.sleep(0.05)
    (first, t1), (second, t2) = dates
    simulated = (second - first).total_seconds()
    # An hour of the fleet per real second (at speed 1 this would be about one second); the
    # Date is taken while each answer is made, so the real interval between them is looser.
    assert 1000 <= simulated <= 3600 * (t2 - t1) + 3600
