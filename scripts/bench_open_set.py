"""Measure the load of the open set on the default sandbox: the server-filtered statuses the
console used to ask for (``dispatched`` missing) against the open set it reads now.

    .venv/bin/python scripts/bench_open_set.py [--orders 500] [--runs 7] [--history 50000]

``--history N`` adds N completed orders created more than a month before the sandbox's day (an
account's history) and compares the open set read with its window (48 h, the default) against
the whole history (a window of 0, what the console read before the window).

The default sandbox (seed 7, a frozen clock) is served by uvicorn on loopback; the client reads
every page as the console does (a first page of 100, then pages of 1,000) into list summaries.
Reported per query: orders listed, list requests the server received, median wall time.
Numbers vary a lot on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from console.api.client import OrdersClient
from console.api.vocab import OPEN_STATUSES
from console.sandbox.server import serve_in_thread
from tests.support.sandbox_fixtures import make_sandbox

#: What the console asked for before the open set included dispatched and summarizing.
FILTERABLE_OPEN = ("unplanned", "planned", "assigned", "ongoing", "disabled")


async def measure(orders: int, runs: int, history: int = 0) -> None:
    sb = make_sandbox(orders=orders)
    if history:
        oldest = min(o.created_at for o in sb.orders())
        sb.fleet.add_history(history, before=oldest - 3 * 86400)
    with serve_in_thread(sb) as url:
        async with OrdersClient(sb.credentials, base_url=url) as client, \
                OrdersClient(sb.credentials, base_url=url, open_set_window_hours=0) as whole:
            cases = (("filtered by the server (dispatched missing)", client, FILTERABLE_OPEN),
                     ("the open set, 48 h window (now)", client, OPEN_STATUSES),
                     ("the open set, whole history (window 0)", whole, OPEN_STATUSES))
            for name, client, statuses in cases:
                times, listed, requests = [], 0, 0
                for _ in range(runs):
                    before = len(sb.stats.snapshot())
                    started = time.perf_counter()
                    listed = 0
                    async for page in client.iter_summary_pages(status=statuses, limit=100, next_limit=1000):
                        listed += len(page.orders)
                    times.append(time.perf_counter() - started)
                    requests = len(sb.stats.snapshot()) - before
                print(f"{name}: {listed} orders, {requests} list requests, "
                      f"median {1000 * statistics.median(times):.0f} ms of {runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=500)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--history", type=int, default=0)
    args = parser.parse_args()
    asyncio.run(measure(args.orders, args.runs, args.history))


if __name__ == "__main__":
    main()
