"""One run of the load figure for the A/B of ``textual_compat.scrollbars``: the console (headless,
120x40) loading every open order of a benchmark sandbox over loopback HTTP, with ``j`` held down
while the pages arrive, as the fleet-scale benchmark does (``scale.py``, its first part only).
Run in a fresh process per run (the switch is read at import); prints one JSON object:
``all_loaded`` (s from ``run_test`` to the first frame after the load), ``loading_key_p95`` and
``loading_key_median`` (s, each key from when it was due to the frame that shows it).
"""

from __future__ import annotations

import argparse
import asyncio
import json

from console.api.client import OrdersClient
from console.settings import Settings
from console.ui.app import DispatchApp
from tests.benchmarks.probe import PaintProbe, median, now, percentile
from tests.benchmarks.scale import BURST, KEY_REPEAT, REST, SIZE, count_calls, credentials, key_burst


async def measure(url: str) -> dict[str, float]:
    client = OrdersClient(credentials(), base_url=url)
    app = DispatchApp(client, Settings(base_url=url, refresh_seconds=3600), sandbox=True)
    moves = [0]
    probe = PaintProbe(app, marks={"moves": lambda: moves[0], "loads": lambda: app.session.loads})
    t0 = now()
    latencies: list[float] = []
    async with app.run_test(size=SIZE):
        order_list = app.order_list
        order_list.move_cursor = count_calls(order_list.move_cursor, moves)  # type: ignore[method-assign]
        while app.session.loads == 0:
            latencies += await key_burst(app, probe, "moves", lambda: moves[0], [("j", "j")] * BURST, KEY_REPEAT)
            await asyncio.sleep(REST)
        done = await probe.wait_frame(t0, lambda f: (f.marks["loads"] or 0) >= 1, timeout=120)
    return {"all_loaded": done.at - t0, "loading_key_p95": percentile(latencies, 95),
            "loading_key_median": median(latencies), "rows": app.order_list.table.total}


def main() -> None:
    parser = argparse.ArgumentParser(description="one run of the compat load figure (see compat_ab.py)")
    parser.add_argument("--url", required=True, help="base URL of a tests.benchmarks.server")
    print(json.dumps(asyncio.run(measure(parser.parse_args().url))))


if __name__ == "__main__":
    main()
