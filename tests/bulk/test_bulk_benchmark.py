"""Throughput and event-loop stalls of a bulk run, against the fake with real latency.

Run the measurement (not part of the test suite's assertions; timing is never asserted):

    .venv/bin/python -m tests.bulk.test_bulk_benchmark --orders 1000 --concurrency 8 --latency 0.05

It prints the wall time next to the ideal (orders / concurrency * latency), the journal's share,
and the longest event-loop stall seen by a 1 ms ticker while the run goes on.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import httpx

from console.api.models import OrderRef
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal
from console.bulk.results import ResultStatus
from tests.support.fake_hypertrack import FakeHyperTrack, check_invariants


def slow_fake(names: list[str], latency: float) -> FakeHyperTrack:
    """The fake, answering each request after ``latency`` seconds of real time (async handler)."""
    fake = FakeHyperTrack(names)
    sync_handler = fake.handler

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(latency)
        return sync_handler(request)

    fake.handler = handler  # FakeHyperTrack.client() wraps whatever handler is current
    return fake


async def measure(orders: int, concurrency: int, latency: float, journal_path: Path) -> dict[str, float]:
    names = [f"bench-{i}" for i in range(orders)]
    fake = slow_fake(names, latency)
    stalls: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            stalls.append(now - last)
            last = now

    tick = asyncio.create_task(ticker())
    with Journal(journal_path) as journal:
        engine = BulkEngine(fake.client(), journal, concurrency=concurrency, rng=random.Random(1))
        started = time.perf_counter()
        report = await engine.run([OrderRef(h) for h in names])
        wall = time.perf_counter() - started
    done.set()
    await tick
    assert report.counts()[ResultStatus.COMPLETED] == orders
    check_invariants(fake, journal_path, names, results=report.results)
    return {
        "orders": orders, "concurrency": concurrency, "latency": latency, "wall": wall,
        "ideal": orders / concurrency * latency, "max_stall_ms": max(stalls) * 1000 if stalls else 0.0,
        "p99_stall_ms": sorted(stalls)[int(len(stalls) * 0.99)] * 1000 if stalls else 0.0,
        "posts": len(fake.posts()),
    }


async def test_a_run_with_real_latency_completes_everything(tmp_path: Path) -> None:
    """Correctness only (no timing): 80 orders with 5 ms of real latency at concurrency 8."""
    result = await measure(80, 8, 0.005, tmp_path / "journal.sqlite3")
    assert result["posts"] == 80


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.05)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        r = asyncio.run(measure(args.orders, args.concurrency, args.latency, Path(tmp) / "journal.sqlite3"))
    print(f"{r['orders']} orders, concurrency {r['concurrency']}, latency {r['latency'] * 1000:.0f} ms: "
          f"wall {r['wall']:.2f} s vs ideal {r['ideal']:.2f} s ({r['wall'] / r['ideal']:.2f}x); "
          f"event-loop stalls: longest {r['max_stall_ms']:.1f} ms, p99 {r['p99_stall_ms']:.1f} ms; "
          f"{r['posts']} POSTs")


if __name__ == "__main__":
    main()
