"""Bulk completion at scale: 1,000 orders, 50 ms of sandbox latency, concurrency 8, journal on.

Each run gets a fresh benchmark sandbox (its own process, 1,000 open orders, every response
delayed by 50 ms) over loopback HTTP, a fresh journal file, and the real :class:`BulkEngine` with
the real :class:`OrdersClient`. Measured: the wall time of ``engine.run`` and the longest stall of
this process's event loop meanwhile (a 1 ms ticker). The ideal is orders x latency / concurrency.

The baseline, measured the same way against a fresh sandbox: the same 1,000 POSTs sent by a
plain httpx loop (eight at a time, no journal, no engine) -- what the network and the sandbox
alone cost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from console.api.client import OrdersClient
from console.api.credentials import Credentials
from console.api.handles import order_path
from console.api.models import OPEN_STATUSES, OrderRef
from console.bulk.engine import BulkEngine
from console.bulk.journal import Journal
from console.bulk.results import ResultStatus
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
from tests.benchmarks.probe import LoopMonitor, now
from tests.benchmarks.ptyrun import REPO

ORDERS = 1000
LATENCY = 0.05
CONCURRENCY = 8
IDEAL = ORDERS * LATENCY / CONCURRENCY


@contextlib.contextmanager
def bench_server(*args: str) -> Iterator[dict[str, Any]]:
    """A :mod:`tests.benchmarks.server` process; yields its JSON line (``url``, ``open``)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.benchmarks.server", *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=REPO, text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError("the benchmark server did not start")
        yield json.loads(line)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # the server serves until its stdin closes
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def client_for(url: str) -> OrdersClient:
    return OrdersClient(Credentials(DEFAULT_ACCOUNT_ID, SecretStr(DEFAULT_SECRET_KEY)), base_url=url)


async def open_refs(url: str) -> list[OrderRef]:
    async with client_for(url) as client:
        orders = await client.list_orders(status=OPEN_STATUSES, limit=1000)
    return [order.ref for order in orders][:ORDERS]


async def engine_run(url: str, journal_path: Path) -> dict[str, float]:
    refs = await open_refs(url)
    assert len(refs) == ORDERS, f"the sandbox has only {len(refs)} open orders"
    async with client_for(url) as client:
        with Journal(journal_path) as journal:
            engine = BulkEngine(client, journal, concurrency=CONCURRENCY, rng=random.Random(1))
            monitor = LoopMonitor().start()
            t0, cpu0 = now(), time.process_time()
            report = await engine.run(refs)
            wall, cpu = now() - t0, time.process_time() - cpu0
            stall = await monitor.stop()
    completed = report.counts()[ResultStatus.COMPLETED]
    if completed != ORDERS:
        raise RuntimeError(f"only {completed} of {ORDERS} orders were completed")
    return {"wall": wall, "stall": stall, "cpu": cpu}


async def plain_loop(url: str) -> dict[str, float]:
    refs = await open_refs(url)
    queue = list(reversed(refs))
    async with httpx.AsyncClient(base_url=url, auth=(DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY),
                                 limits=httpx.Limits(max_connections=CONCURRENCY)) as http:
        async def worker() -> None:
            while queue:
                ref = queue.pop()
                response = await http.post(order_path(ref.order_handle, "complete"), params=ref.action_params(), json={})
                response.raise_for_status()

        monitor = LoopMonitor().start()
        t0, cpu0 = now(), time.process_time()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        wall, cpu = now() - t0, time.process_time() - cpu0
        stall = await monitor.stop()
    return {"wall": wall, "stall": stall, "cpu": cpu}


def server_args() -> list[str]:
    return ["--orders", str(int(ORDERS * 1.7)), "--open", str(ORDERS), "--latency", str(LATENCY)]


def measure(runs: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {"engine": [], "plain": []}
    for _ in range(runs):
        with bench_server(*server_args()) as info, tempfile.TemporaryDirectory(prefix="bench-journal-") as tmp:
            results["engine"].append(asyncio.run(engine_run(info["url"], Path(tmp) / "journal.sqlite3")))
        with bench_server(*server_args()) as info:
            results["plain"].append(asyncio.run(plain_loop(info["url"])))
    return results


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else 1), indent=1))
