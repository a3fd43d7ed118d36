"""One run of the fleet-scale benchmark: the console (headless, 120x40) against a benchmark
sandbox holding 50,000 open orders, over loopback HTTP. Run in a fresh process per run (so that
memory and the garbage collector start clean) by ``run.py``; prints one JSON object.

What is measured, all from frames as the app produces them (:class:`~tests.benchmarks.probe.PaintProbe`):

1. Baselines in this same process first: a bare Textual app's first frame after ``run_test``
   starts, and its key-to-frame latency (a key that updates a Static); the process's memory then.
2. The console from ``run_test`` on: the first frame showing rows; ``j`` held down while pages
   arrive (bursts of :data:`BURST` keys at the terminal's repeat rate, :data:`REST` s apart),
   each key timed to the first frame after its cursor move; the first frame after the load
   finished.
3. With every order loaded: resident memory; the loop's longest stall over one idle second (the
   floor for the stall figures); :data:`CURSOR_BURSTS` bursts of ``j``, each key to its frame;
   the ``/`` filter (when the console has one: typing a few characters, each to the frame
   showing the filtered list); a refresh (``r``) after the server changed 1% of the orders, with
   the loop's longest stall while it is fetched and merged, and for half a second after.

Keys are sent on a fixed schedule, not after the previous frame, and each latency counts from
the moment its key was due: a loop that is busy delays the keys behind it, as a terminal's would
be (no coordinated omission).
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
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from pydantic import SecretStr

from console.api.client import OPEN_SET_DATE_FILTER, OrdersClient, list_params
from console.api.credentials import Credentials
from console.api.vocab import OPEN_STATUSES
from console.sandbox.defaults import DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY
from console.settings import Settings
from console.ui.app import DispatchApp
from tests.benchmarks.bare import BareApp
from tests.benchmarks.probe import LoopMonitor, PaintProbe, median, now, percentile, press, rss_mb

SIZE = (120, 40)
#: A held key: the terminal repeats it about 28 times a second.
KEY_REPEAT = 0.035
#: Keys per burst, and the rest between bursts (the supervisor reads the highlighted order: the
#: detail pane loads then, as it is meant to).
BURST = 20
REST = 0.6
CURSOR_BURSTS = 3
#: Typing into the filter, about 8 characters a second.
TYPE_GAP = 0.12
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
        latencies = await key_burst(app, probe, "bumps", lambda: app.bumps, [("j", "j")] * BURST, KEY_REPEAT)
    return {"first_frame": first.at - t0, "key_median": median(latencies)}


async def key_burst(app: Any, probe: PaintProbe, count_mark: str, counter: Callable[[], int],
                    keys: Sequence[tuple[str, str | None]], gap: float) -> list[float]:
    """Send ``keys`` every ``gap`` s; each one's latency from when it was due to the first frame
    where ``count_mark`` shows it was handled (the counter went past it)."""
    due: list[tuple[float, int]] = []
    start = now()
    base = counter()
    for i, (key, char) in enumerate(keys):
        wait = start + i * gap - now()
        if wait > 0:
            await asyncio.sleep(wait)
        press(app, key, char)
        due.append((start + i * gap, base + i + 1))
    last = due[-1][1]
    await probe.wait_frame(start, lambda f: (f.marks[count_mark] or 0) >= last, timeout=60)
    latencies = []
    for t, target in due:
        frame = probe.first_frame(t, lambda f, target=target: (f.marks[count_mark] or 0) >= target)
        assert frame is not None
        latencies.append(frame.at - t)
    return latencies


def count_calls(method: Callable[..., Any], counter: list[int]) -> Callable[..., Any]:
    """``method``, counting its calls in ``counter[0]`` once each call has run."""
    def counted(*args: Any, **kwargs: Any) -> Any:
        result = method(*args, **kwargs)
        counter[0] += 1
        return result
    return counted


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

    probe = PaintProbe(app, marks={
        "rows": lambda: len(app.order_list.table),
        "moves": lambda: moves[0],
        "loads": lambda: app.session.loads,
    })
    t0 = now()
    async with app.run_test(size=SIZE) as pilot:
        order_list = app.order_list
        order_list.move_cursor = count_calls(order_list.move_cursor, moves)  # type: ignore[method-assign]
        first = await probe.wait_frame(t0, lambda f: (f.marks["rows"] or 0) > 0, timeout=60)
        out["first_rows"] = first.at - t0

        # j held down while the pages arrive.
        loading_latencies: list[float] = []
        while app.session.loads == 0:
            loading_latencies += await key_burst(app, probe, "moves", lambda: moves[0], [("j", "j")] * BURST,
                                                 KEY_REPEAT)
            await asyncio.sleep(REST)
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

        # j held down with everything loaded.
        latencies = []
        for _ in range(CURSOR_BURSTS):
            latencies += await key_burst(app, probe, "moves", lambda: moves[0], [("j", "j")] * BURST, KEY_REPEAT)
            await asyncio.sleep(REST)
        out["cursor_median"] = median(latencies)
        out["cursor_p95"] = percentile(latencies, 0.95)

        # The filter, if the console has one: each character to the frame with the new view.
        if has_filter(app):
            press(app, "slash", "/")
            await pilot.pause()
            await asyncio.sleep(0.3)
            filters = [0]
            order_list.set_filter = count_calls(order_list.set_filter, filters)  # type: ignore[method-assign]
            probe.marks["filters"] = lambda: filters[0]
            latencies = await key_burst(app, probe, "filters", lambda: filters[0], [(c, c) for c in FILTER_TEXT],
                                        TYPE_GAP)
            out["filter_median"] = median(latencies)
            out["filter_p95"] = percentile(latencies, 0.95)
            out["filter_rows"] = len(app.order_list.table.view)
            press(app, "escape")
            await pilot.pause()
            await asyncio.sleep(0.3)
        else:
            out["filter_median"] = None

        # A refresh with 1% of the orders changed.
        changed = (await control(ctl, "change", fraction=CHANGED_FRACTION))["changed"]
        await asyncio.sleep(0.2)
        loads = app.session.loads
        monitor = LoopMonitor().start()
        t = press(app, "r")
        while app.session.loads == loads:
            await asyncio.sleep(0.005)
        out["merge_time"] = now() - t
        await asyncio.sleep(0.5)  # and whatever the refresh left to run right after it
        out["merge_stall"] = await monitor.stop()
        out["merge_changed"] = changed
        await control(ctl, "reset")
        await control(ctl, "list_requests")
        gc.collect()
    return out


async def network_floor(url: str, limits: list[int]) -> float:
    """Fetch the same pages (same queries, same limits, in order) with plain httpx; bodies not
    parsed."""
    async with httpx.AsyncClient(base_url=url, auth=(DEFAULT_ACCOUNT_ID, DEFAULT_SECRET_KEY)) as client:
        # The console's own queries for its open set (OrdersClient.open_set_queries: the
        # statuses the filter names, then the window's query for the others).
        planner = OrdersClient(credentials(), base_url=url)
        queries = []
        for sent, _, windowed in planner.open_set_queries(OPEN_STATUSES):
            params: dict[str, Any] = list_params(status=sent)
            if windowed:
                params[OPEN_SET_DATE_FILTER] = await planner.window_start()
            queries.append(params)
        await planner.aclose()
        t0 = now()
        pending = list(limits)
        for params in queries:
            token = None
            while pending:
                query = {**params, "limit": pending.pop(0)}
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
