"""Terminal traffic: bytes the console writes to a real terminal (pty, 120x40, 256 colours) per
refresh tick, when nothing changed and when one row changed.

The console runs as a user starts it (``python -m console --base-url ... --refresh 1``, the
shortest refresh the CLI allows, credentials from the environment) against a benchmark sandbox
whose clock is frozen: a refresh brings exactly the changes the benchmark makes. A "tick" is the
time between two refreshes (the sandbox records when each refresh's first page is asked for;
both processes share the system's monotonic clock), so it holds one refresh and one clock tick
of the "updated ... ago" label. Bytes are counted as they arrive from the pty.

- idle: the median of :data:`IDLE_TICKS` consecutive ticks;
- one row changed: a visible red row (not the highlighted one) gets one more yellow risk on the
  server (a badge changes; the row keeps its place), then the tick in which the console's refresh brings it in is counted; the median of
  :data:`CHANGED_TICKS` such ticks (a different row each time).

Baseline: ``python -m tests.benchmarks.bare --tick`` (one Static relabelled once a second
without a layout), the same terminal and counting.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
from typing import Any

import httpx

from console.api.models import OPEN_STATUSES
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
from console.session.table import OrderTable
from tests.benchmarks.bulk import bench_server, client_for
from tests.benchmarks.ptyrun import PtyProcess, python, terminal_env

IDLE_TICKS = 8
CHANGED_TICKS = 4
LOADED = re.compile(rb"\d+ open orders")


def visible_handles(url: str, count: int) -> list[str]:
    """The handles of the list's rows 3.. in the console's own order (row 1 is highlighted);
    the first rows of the list are red ones."""
    async def fetch() -> list[Any]:
        async with client_for(url) as client:
            return await client.list_orders(status=OPEN_STATUSES)

    table = OrderTable()
    table.extend(asyncio.run(fetch()))
    return [row.ref.order_handle for row in table.view[2:2 + count]]


class Ticks:
    """Refresh times as the sandbox saw them (``time.monotonic``)."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http
        self.times: list[float] = []

    def poll(self) -> list[float]:
        requests = self.http.get("/_bench/list_requests").json()["requests"]
        self.times += [r["at"] for r in requests if r["first"]]
        return self.times

    def wait_new(self, timeout: float = 10.0) -> float:
        """Wait for the next refresh; its time."""
        seen = len(self.poll())
        deadline = time.monotonic() + timeout
        while len(self.poll()) == seen:
            if time.monotonic() > deadline:
                raise TimeoutError("no refresh arrived")
            time.sleep(0.02)
        return self.times[-1]


def _pty_time(proc: PtyProcess, monotonic_t: float) -> float:
    """A ``time.monotonic`` instant on the pty's ``perf_counter`` clock (both are the same
    system clock on Linux; converted through one paired reading to be safe)."""
    return monotonic_t - time.monotonic() + time.perf_counter()


def console_traffic(home: str) -> dict[str, float]:
    with bench_server("--orders", "500") as info, httpx.Client(base_url=info["url"]) as http:
        url = info["url"]
        handles = visible_handles(url, CHANGED_TICKS)
        env = terminal_env({"HYPERTRACK_ACCOUNT_ID": DEFAULT_ACCOUNT_ID, "HYPERTRACK_SECRET_KEY": DEFAULT_SECRET_KEY},
                           home=home)
        with PtyProcess([python(), "-m", "console", "--base-url", url, "--refresh", "1"], env) as proc:
            proc.wait_for(LOADED, timeout=60)
            time.sleep(3.0)  # the highlighted order's detail arrives; the screen settles
            ticks = Ticks(http)
            ticks.poll()
            ticks.times.clear()
            starts = [ticks.wait_new() for _ in range(IDLE_TICKS + 1)]
            idle = [proc.bytes_between(_pty_time(proc, a), _pty_time(proc, b)) for a, b in zip(starts, starts[1:])]
            changed = []
            for handle in handles:
                ticks.wait_new()
                time.sleep(0.3)  # that refresh is over: the change is seen by the next one
                assert http.post("/_bench/change_one", params={"handle": handle}).json()["changed"] == 1
                a = ticks.wait_new()
                b = ticks.wait_new()
                changed.append(proc.bytes_between(_pty_time(proc, a), _pty_time(proc, b)))
    if statistics.median(changed) <= statistics.median(idle):
        raise RuntimeError("the changed rows were not redrawn: no more bytes than an idle tick")
    return {"idle": statistics.median(idle), "changed": statistics.median(changed)}


def bare_traffic(home: str) -> float:
    with PtyProcess([python(), "-m", "tests.benchmarks.bare", "--tick"], terminal_env(home=home)) as proc:
        proc.wait_for(rb"bench-bare-ready 2", timeout=60)
        start = time.perf_counter()
        time.sleep(IDLE_TICKS)
        return proc.bytes_between(start, start + IDLE_TICKS) / IDLE_TICKS


def measure(runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"idle": [], "changed": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        for _ in range(runs):
            r = console_traffic(home)
            results["idle"].append(r["idle"])
            results["changed"].append(r["changed"])
            results["bare"].append(bare_traffic(home))
    return results


if __name__ == "__main__":
    print(measure(1))
