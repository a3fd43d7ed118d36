"""One run of the bulk dialog's figure for the A/B of ``textual_compat.scrollbars``: the console
(headless, 120x40, 2,000 orders loaded from the in-process sandbox) with a dialog holding the
bulk dialogs' line list over it, and lines appended one at a time, as a bulk run reports its
orders. Run in a fresh process per run (the switch is read at import); prints one JSON object:
``append_stall`` (s, the event loop's longest stall while the lines were appended and drawn) and
``append_cpu`` (CPU s of the process over the appends).
"""

from __future__ import annotations

import asyncio
import json
import time

from textual.app import ComposeResult
from textual.screen import ModalScreen

from console.ui.screens.bulk_lines import LineList
from tests.benchmarks.probe import LoopMonitor
from tests.benchmarks.scale import SIZE
from tests.support.ui_support import loaded, make_app

LINES = 300
#: Seconds between two appended lines (a bulk run at concurrency 8 and 50 ms latency reports
#: about 160 orders a second; a slower server, fewer).
GAP = 0.01


class Lines(ModalScreen[None]):
    DEFAULT_CSS = "Lines { align: center middle; } Lines > LineList { width: 80; height: 20; }"

    def compose(self) -> ComposeResult:
        yield LineList(id="lines")


async def measure() -> dict[str, float]:
    app, _, _ = make_app(orders=2_000)
    async with app.run_test(size=SIZE) as pilot:
        await loaded(pilot, app)
        screen = Lines()
        await app.push_screen(screen)
        await pilot.pause()
        lines = screen.query_one(LineList)
        monitor = LoopMonitor().start()
        cpu = time.process_time()
        for i in range(LINES):
            lines.append([[(f"ORD-{i:05d}  completed", "ok")]])
            await asyncio.sleep(GAP)
        await pilot.pause()
        cpu = time.process_time() - cpu
        stall = await monitor.stop()
    return {"append_stall": stall, "append_cpu": cpu}


def main() -> None:
    print(json.dumps(asyncio.run(measure())))


if __name__ == "__main__":
    main()
