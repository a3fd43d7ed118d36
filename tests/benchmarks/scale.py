"""One run of the fleet-scale benchmark: the console (headless, 120x40) against a benchmark
sandbox holding 50,000 open orders, over loopback HTTP. Run in a fresh process per run (so that
memory and the garbage collector start clean) by ``run.py``; prints one JSON object.

What is measured, all from frames as the app produces them (:class:`~tests.benchmarks.probe.PaintProbe`):

1. Baselines in this same process first: a bare Textual app's first frame after ``run_test``
   starts, and its key-to-frame latency (a key that updates a Static); the process's memory then.
2. The console from ``run_test`` on: the first frame showing rows; a ``j`` every
   :data:`KEY_GAP_LOADING` s while pages arrive, each timed to the first frame after the cursor
   moved; the first frame after the load finished.
3. With every order loaded: resident memory; the loop's longest stall over one idle second (the
   floor for the stall figures); :data:`CURSOR_KEYS` ``j`` presses, each to its frame; the ``/``
   filter (when the console has one: typing a few characters, each to the frame showing the
   filtered list); a refresh (``r``) after the server changed 1% of the orders, with the loop's
   longest stall while it is fetched and merged.
4. The network floor: the same list requests (same limits) fetched with plain httpx, bodies not
   parsed.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import re
import sys
from typing import Any

import httpx
from pydantic import SecretStr

from console.api.client import OrdersClient
from console.api.credentials import Credentials
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
from console.settings import Settings
from console.ui.app import DispatchApp
from tests.benchmarks.bare import BareApp
from tests.benchmarks.probe import LoopMonitor, PaintProbe, median, now, percentile, press, rss_mb

SIZE = (120, 40)
KEY_GAP_LOADING = 0.1
CURSOR_KEYS = 30
KEY_GAP = 0.05
FILTER_TEXT = "ord-2"  # every open order of the sandbox matches it, as typed so far
CHANGED_FRACTION = 0.01

_TOKEN = re.compile(rb'"pagination_token":\s*("(?:[^"\\]|\\.)*"|null)\s*}\s*$')


def credentials() -> Credentials:
    return Credentials(DEFAULT_ACCOUNT_ID, SecretStr(DEFAULT_SECRET_KEY))


async def bare_baseline() -> dict[str, Any]:
    app = BareApp()
    probe = PaintProbe(app, marks={"bumps": lambda: app.bumps})
    t0 = now()
    async with app.run_test(size=SIZE):
        first = await probe.wait_frame(t0)
        await asyncio.sleep(0.3)
        latencies = []
        for i in range(1, 21):
            t = press(app, "j")
            frame = await probe.wait_frame(t, lambda f, i=i: f.marks["bumps"] >= i)
            latencies.append(frame.at - t)
            await asyncio.sleep(KEY_GAP)
    return {"first_frame": first.at - t0, "key_median": median(latencies)}


async def control(client: httpx.AsyncClient, name: str, **params: Any) -> Any:
    response = await client.request("GET" if name == "list_requests" else "POST", f"/_bench/{name}", params=params)
    response.raise_for_status()
    return response.json()


def has_filter(app: DispatchApp) -> bool:
    """The console has a ``/`` filter when some binding on screen answers the slash key."""
    return "slash" in app.screen.active_bindings


async def measure_console(url: str, ctl: httpx.AsyncClient) -> dict[str, Any]:
    out: dict[str, Any] = {}
    client = OrdersClient(credentials(), base_url=url)
    app = DispatchApp(client, Settings(base_url=url, refresh_seconds=3600), sandbox=True)
    moves = [0]
    await control(ctl, "list_requests")  # forget earlier requests

    def count_moves(original: Any) -> Any:
        def move_cursor(*args: Any, **kwargs: Any) -> None:
            original(*args, **kwargs)
            moves[0] += 1
        return move_cursor

    probe = PaintProbe(app, marks={
        "rows": lambda: len(app.order_list.table),
        "moves": lambda: moves[0],
        "loads": lambda: app._loads,
        "view": lambda: id(app.order_list.table.view),
        "view_len": lambda: len(app.order_list.table.view),
    })
    t0 = now()
    async with app.run_test(size=SIZE) as pilot:
        order_list = app.order_list
        order_list.move_cursor = count_moves(order_list.move_cursor)  # type: ignore[method-assign]
        first = await probe.wait_frame(t0, lambda f: (f.marks["rows"] or 0) > 0, timeout=60)
        out["first_rows"] = first.at - t0

        # Keys while the pages arrive.
        loading_latencies = []
        while app._loads == 0:
            target = moves[0] + 1
            t = press(app, "j")
            frame = await probe.wait_frame(t, lambda f: f.marks["moves"] >= target, timeout=30)
            if frame.marks["loads"] == 0:
                loading_latencies.append(frame.at - t)
            await asyncio.sleep(KEY_GAP_LOADING)
        loaded = await probe.wait_frame(t0, lambda f: (f.marks["loads"] or 0) >= 1, timeout=120)
        out["all_loaded"] = loaded.at - t0
        out["rows"] = app.order_list.table.total
        out["loading_keys"] = len(loading_latencies)
        out["loading_key_median"] = median(loading_latencies)
        out["loading_key_p95"] = percentile(loading_latencies, 0.95)
        out["loading_key_max"] = max(loading_latencies, default=float("nan"))
        requests = (await control(ctl, "list_requests"))["requests"]
        out["list_limits"] = [r["limit"] for r in requests]

        await pilot.pause()
        await asyncio.sleep(0.5)
        out["rss_mb"] = rss_mb()

        monitor = LoopMonitor().start()
        await asyncio.sleep(1.0)
        out["idle_stall"] = await monitor.stop()

        # Cursor moves with everything loaded.
        latencies = []
        for _ in range(CURSOR_KEYS):
            target = moves[0] + 1
            t = press(app, "j")
            frame = await probe.wait_frame(t, lambda f: f.marks["moves"] >= target)
            latencies.append(frame.at - t)
            await asyncio.sleep(KEY_GAP)
        out["cursor_median"] = median(latencies)
        out["cursor_p95"] = percentile(latencies, 0.95)

        # The filter, if the console has one.
        if has_filter(app):
            press(app, "slash", "/")
            await pilot.pause()
            await asyncio.sleep(0.3)
            latencies = []
            for char in FILTER_TEXT:
                before = id(app.order_list.table.view)
                t = press(app, char, char)
                frame = await probe.wait_frame(t, lambda f: f.marks["view"] != before, timeout=10)
                latencies.append(frame.at - t)
                await asyncio.sleep(0.15)
            out["filter_median"] = median(latencies)
            out["filter_p95"] = percentile(latencies, 0.95)
            out["filter_rows"] = len(app.order_list.table.view)
            press(app, "escape")
            await pilot.pause()
        else:
            out["filter_median"] = None

        # A refresh with 1% of the orders changed.
        changed = (await control(ctl, "change", fraction=CHANGED_FRACTION))["changed"]
        await asyncio.sleep(0.2)
        loads = app._loads
        monitor = LoopMonitor().start()
        t = press(app, "r")
        while app._loads == loads:
            await asyncio.sleep(0.005)
        out["merge_stall"] = await monitor.stop()
        out["merge_time"] = now() - t
        out["merge_changed"] = changed
        await control(ctl, "reset")
        await control(ctl, "list_requests")
        gc.collect()
    return out


async def network_floor(url: str, limits: list[int]) -> float:
    """Fetch the same pages (same limits, in order) with plain httpx; bodies not parsed."""
    async with httpx.AsyncClient(base_url=url, auth=(DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY)) as client:
        params: dict[str, Any] = {"status": "unplanned,planned,assigned,ongoing,disabled"}
        t0 = now()
        token = None
        for limit in limits:
            query = {**params, "limit": limit}
            if token:
                query["pagination_token"] = token
            body = (await client.get("/orders/", params=query)).content
            match = _TOKEN.search(body[-4096:])
            token = json.loads(match.group(1)) if match else None
            if not token:
                break
        return now() - t0


async def main_async(url: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    result["bare"] = await bare_baseline()
    result["rss_before_mb"] = rss_mb()
    async with httpx.AsyncClient(base_url=url) as ctl:
        result["console"] = await measure_console(url, ctl)
    result["network_floor"] = await network_floor(url, result["console"]["list_limits"])
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="one run of the fleet-scale benchmark (see run.py)")
    parser.add_argument("--url", required=True, help="base URL of a tests.benchmarks.server")
    args = parser.parse_args(argv)
    result = asyncio.run(main_async(args.url))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
