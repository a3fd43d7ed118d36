"""Measure the console with tens of thousands of orders, headless.

    .venv/bin/python scripts/bench_order_list.py 10000 50000

For each size: the app (real DispatchApp, real OrdersClient, real parsing) loads every page from
an in-memory fake API that serves realistic list items (about 1.5 KB of JSON each, like the
examples) in pages of 100 without latency, so the numbers are the console's own costs. Reported:

- first rows: seconds from start until the first page is in the list;
- loaded: seconds until all pages are loaded;
- longest loop stall during the rest of the load, once the first rows are on screen (a 5 ms
  ticker measures how late it wakes up);
- cursor move: the widget's own cost of one ``j`` (cursor move + rendering every visible line),
  median and max of 200, and the longest loop stall while pressing ``j`` 200 times via Pilot;
- refresh with 1% of the orders changed: the longest loop stall, and the merge's final step;
- RSS after loading (and peak).

Numbers vary a lot on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.api.client import OrdersClient  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.ui.app import DispatchApp  # noqa: E402

NOW = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)
BASE = "http://localhost"  # a MockTransport answers: never connected to
PAGE = 100
LEVELS = ("green", "green", "green", "green", "yellow", "green", "red", "green", "green", "yellow")
KEYS = ("is_offline", "moving_away_from_destination", "delayed_from_scheduled_at", "deviating_from_expected_route",
        "in_outage", "moving_too_slow", "delayed_from_initial_eta", "in_low_battery")


def order_json(i: int, version: int) -> str:
    # A list item shaped like hypertrack-orders-examples.json's, about 1.5 KB.
    risks = {k: LEVELS[(i * 7 + n * 13) % 10] for n, k in enumerate(KEYS)}
    if version > 1 and i % 100 == 0:
        risks["is_offline"] = "red" if risks["is_offline"] != "red" else "green"
    minute = (i * 37) % 600
    return json.dumps({
        "order_handle": f"ORD-{i:06d}", "fulfillment_attempt": 0, "status": ("assigned", "ongoing", "planned")[i % 3],
        "destination": {"geometry": {"type": "Point", "coordinates": [-122.24765, 37.81162]},
                        "address": f"{i} Grand Ave, Oakland, CA 94610", "radius": 100},
        "ops_group_handle": ("oak-depot", "sf-mission", "berkeley")[i % 3], "track_mode": "full_shift",
        "plan_mode": "manual", "risk_status": True, "risks": risks,
        "scheduled_after": "2026-11-29T17:00:00.000Z",
        "scheduled_at": f"2026-11-29T{12 + minute // 60:02d}:{minute % 60:02d}:00.000Z",
        "started_at": "2026-11-29T16:58:12.406Z", "type": "drop", "type_index": 0,
        "expected_service_time": 300, "capacity_used": 2, "priority": "high",
        "metadata": {"customer_id": f"C-{i}", "dock": "B"},
        "region": {"country": "United States", "city": "Oakland", "state": "California"},
        "product_type": ["chilled"], "share_url": f"https://trck.at/x{i}",
        "device_id": "4B9E2C71-0F3D-4A86-B5E2-7D19C3A4F608", "worker_handle": f"w-{i % 400}",
        "created_at": "2026-11-29T14:20:45.018Z", "assigned_at": "2026-11-29T15:40:06.210Z",
        "planned_at": "2026-11-29T15:40:05.930Z", "route_handle": "3C7A1F0E-8B2D-4E59-A6C4-9D0F2B7E1A35",
        "plan_id": "B8E2F4A6-1C3D-4E5F-9A7B-0C2D4E6F8A1B",
        "estimate": {"arrive_at": "2026-11-29T18:41:00.000Z", "distance": 4200, "duration": 720},
    })


class FakeAPI:
    def __init__(self, n: int) -> None:
        self.n = n
        self.version = 1

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/orders/":
            start = int(request.url.params.get("pagination_token") or 0)
            end = min(self.n, start + PAGE)
            items = ",".join(order_json(i, self.version) for i in range(start, end))
            token = json.dumps(str(end)) if end < self.n else "null"
            body = f'{{"orders":[{items}],"pagination_token":{token}}}'
            return httpx.Response(200, content=body.encode(), headers={"content-type": "application/json"})
        handle = path.rsplit("/", 1)[-1]
        i = int(handle.split("-")[1])
        return httpx.Response(200, content=order_json(i, self.version).encode(), headers={"content-type": "application/json"})


class Stalls:
    """The longest time the event loop was busy, seen by a task that wants to run every 5 ms."""

    def __init__(self) -> None:
        self.worst = 0.0
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            t = loop.time()
            await asyncio.sleep(0.005)
            self.worst = max(self.worst, loop.time() - t - 0.005)

    def start(self) -> "Stalls":
        self.worst = 0.0
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    def stop(self) -> float:
        assert self._task is not None
        self._task.cancel()
        return self.worst


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() / 1e6


async def bench(n: int) -> dict[str, float]:
    api = FakeAPI(n)
    client = OrdersClient(None, base_url=BASE, transport=httpx.MockTransport(api.handler))
    app = DispatchApp(client, Settings(base_url=BASE, refresh_seconds=3600), now=lambda: NOW)
    out: dict[str, float] = {}
    app.detail_controller.DETAIL_DEBOUNCE = 0.08  # as in production
    t0 = time.perf_counter()
    async with app.run_test(size=(160, 48)) as pilot:
        while app.order_list.table.total == 0:
            await asyncio.sleep(0.001)
        out["first rows s"] = time.perf_counter() - t0
        # From here: the rest of the load, while the first rows are on screen.
        stalls = Stalls().start()
        while app.session.loads < 1:
            await asyncio.sleep(0.01)
        out["loaded s"] = time.perf_counter() - t0
        out["load: longest stall ms"] = stalls.stop() * 1000
        await pilot.pause(0.5)
        assert app.order_list.table.total == n, app.order_list.table.total
        out["RSS MB"] = rss_mb()

        # The widget's own cost of one cursor move: move, then render every visible line.
        order_list = app.order_list
        height = order_list.scrollable_content_region.height
        costs = []
        for _ in range(200):
            t = time.perf_counter()
            order_list.action_cursor_down()
            for y in range(height):
                order_list.render_line(y)
            costs.append(time.perf_counter() - t)
        out["cursor move median ms"] = statistics.median(costs) * 1000
        out["cursor move max ms"] = max(costs) * 1000
        order_list.move_cursor(5000 if n > 5000 else n // 2)
        await pilot.pause(0.2)
        stalls = Stalls().start()
        for _ in range(200):
            await pilot.press("j")
        out["200 x j: longest stall ms"] = stalls.stop() * 1000

        # A refresh in which 1% of the orders changed.
        api.version = 2
        loads = app.session.loads
        merges = []
        original = order_list.apply_refresh

        async def timed(merge):
            result = None
            steps = merge.steps()
            for _ in steps:
                await asyncio.sleep(0)
            t = time.perf_counter()
            result = merge.finish()
            merges.append(time.perf_counter() - t)
            order_list._after_change(result)
            return result

        order_list.apply_refresh = timed  # type: ignore[method-assign]
        stalls = Stalls().start()
        t = time.perf_counter()
        app.action_refresh()
        while app.session.loads == loads:
            await asyncio.sleep(0.01)
        out["refresh 1%: s"] = time.perf_counter() - t
        out["refresh 1%: longest stall ms"] = stalls.stop() * 1000
        out["refresh 1%: final merge step ms"] = merges[0] * 1000
        order_list.apply_refresh = original  # type: ignore[method-assign]
        out["peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    await client.aclose()
    gc.unfreeze()
    return out


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [10_000, 50_000]
    for n in sizes:
        results = asyncio.run(bench(n))
        print(f"{n:,} orders")
        for key, value in results.items():
            print(f"  {key:34} {value:9.1f}" if "ms" in key or "MB" in key else f"  {key:34} {value:9.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
