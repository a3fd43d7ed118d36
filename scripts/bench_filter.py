"""Measure the list's filter with tens of thousands of orders: keystroke to repaint.

    .venv/bin/python scripts/bench_filter.py 50000

The real DispatchApp loads N orders from the in-memory fake API of ``bench_order_list.py``
(realistic list items), headless at 160x48. Then, for several typed filters (one key at a time,
as a supervisor types them) and for the quick keys (``1``, ``2``, ``0``, ``O``), it reports the
time from the key press until the screen update that follows it was handed to the terminal
driver (``App._display``): median and max over the keystrokes.

Also reported: the first keystroke of a filter (a full scan) separately from the narrowing ones,
the longest event-loop stall while typing, and backspacing (the text widens: a full scan).

Numbers vary a lot on a shared machine: read them as orders of magnitude.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_order_list import BASE, NOW, FakeAPI, Stalls  # noqa: E402

from console.api.client import OrdersClient  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.ui.app import DispatchApp  # noqa: E402

TYPED = ("oak-depot", "grand ave", "ord-0123", "w-17", "zzz")


async def bench(n: int) -> dict[str, str]:
    api = FakeAPI(n)
    client = OrdersClient(None, base_url=BASE, transport=httpx.MockTransport(api.handler))
    app = DispatchApp(client, Settings(base_url=BASE, refresh_seconds=3600), now=lambda: NOW)
    displays: list[float] = []
    original = app._display

    def display(screen, renderable) -> None:
        original(screen, renderable)
        displays.append(time.perf_counter())

    app._display = display  # type: ignore[method-assign]

    async def press(pilot, key: str) -> float:
        """Seconds from the key press to the next screen update written after it."""
        count = len(displays)
        start = time.perf_counter()
        await pilot.press(key)
        deadline = start + 5
        while len(displays) == count and time.perf_counter() < deadline:
            await asyncio.sleep(0.0005)
        return (displays[count] if len(displays) > count else time.perf_counter()) - start

    out: dict[str, str] = {}
    async with app.run_test(size=(160, 48)) as pilot:
        while app.session.loads < 1:
            await asyncio.sleep(0.05)
        await pilot.pause(0.5)
        table = app.order_list.table
        first: list[float] = []
        narrowing: list[float] = []
        widening: list[float] = []
        stalls = Stalls().start()
        opens: list[float] = []
        closes: list[float] = []
        for text in TYPED:
            opens.append(await press(pilot, "slash"))
            await pilot.pause(0.05)
            for i, char in enumerate(text):
                took = await press(pilot, char if char != " " else "space")
                (first if i == 0 else narrowing).append(took)
            shown = len(table.view)
            for _ in text:
                widening.append(await press(pilot, "backspace"))
            closes.append(await press(pilot, "escape"))
            await pilot.pause(0.05)
            out[f"matches {text!r}"] = f"{shown:,}"
        out["longest stall while typing ms"] = f"{stalls.stop() * 1000:.0f}"
        out["/ (opens the input, builds the search corpus if stale) ms"] = " ".join(f"{o * 1000:.0f}" for o in opens)
        out["Esc (clears) ms"] = " ".join(f"{c * 1000:.0f}" for c in closes)
        quick = [await press(pilot, key) for key in ("1", "2", "0", "O", "O")]
        # For scale: the same measure for a cursor move, which does almost no work of its own.
        moves = [await press(pilot, "j") for _ in range(20)]
        out["j (cursor move) ->repaint median ms, for scale"] = f"{statistics.median(moves) * 1000:.1f}"
        every = first + narrowing
        out["keystroke->repaint median ms (all typed keys)"] = f"{statistics.median(every) * 1000:.1f}"
        out["keystroke->repaint max ms"] = f"{max(every) * 1000:.1f}"
        out["first key of a filter (full scan) median ms"] = f"{statistics.median(first) * 1000:.1f}"
        out["narrowing keys median ms"] = f"{statistics.median(narrowing) * 1000:.1f}"
        out["backspace (widening) median ms"] = f"{statistics.median(widening) * 1000:.1f}"
        out["1 2 0 O O (risk filters, reverse sort) ms"] = " ".join(f"{q * 1000:.0f}" for q in quick)
    return out


def main(argv: list[str]) -> int:
    sizes = [int(a) for a in argv] or [50_000]
    for n in sizes:
        print(f"== {n:,} orders")
        for key, value in asyncio.run(bench(n)).items():
            print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
