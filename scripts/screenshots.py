"""Regenerate the README's screenshots (SVG) from the in-process sandbox.

    .venv/bin/python scripts/screenshots.py [--out screenshots]

Deterministic: a fixed sandbox seed and a frozen clock (the sandbox's and the app's), so the same
code gives byte-identical SVGs. Each shot is taken inside ``App.run_test(size=...)``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from console.sandbox import ManualClock, Sandbox  # noqa: E402
from console.sandbox.core import IN_PROCESS_BASE_URL  # noqa: E402
from console.settings import Settings  # noqa: E402
from console.ui.app import DispatchApp  # noqa: E402

FROZEN = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)
SEED = 7
ORDERS = 300


async def _no_sleep(_seconds: float) -> None:
    return None


#: The sandbox of the app build_app made last (a shot that makes changes happen scripts it).
SANDBOXES: dict[int, Sandbox] = {}


def build_app(**settings: object) -> DispatchApp:
    sandbox = Sandbox(seed=SEED, orders=ORDERS, clock=ManualClock(FROZEN))
    app = DispatchApp(
        sandbox.client(sleep=_no_sleep),
        Settings(base_url=IN_PROCESS_BASE_URL, **settings),  # type: ignore[arg-type]
        sandbox=True,
        now=lambda: FROZEN,
    )
    app.detail_controller.DETAIL_DEBOUNCE = 0.0
    SANDBOXES[id(app)] = sandbox
    return app


async def _settle(pilot, app: DispatchApp) -> None:
    """Wait for the list and the highlighted order's detail, then for the screen to be idle."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while (app.session.loads < 1 or app.loading or any(not w.is_finished for w in app.workers)) and loop.time() < deadline:
        await pilot.pause(0.05)
    await pilot.pause(0.1)


async def _highlight_route(pilot, app: DispatchApp) -> None:
    """Put the cursor on the first ongoing order: it has a timeline and a route to show."""
    view = app.order_list.table.view
    index = next((i for i, row in enumerate(view) if row.status == "ongoing"), 0)
    app.order_list.move_cursor(index)
    await _settle(pilot, app)


Shot = tuple[str, tuple[int, int], dict, Callable[[object, DispatchApp], Awaitable[None]]]


async def _main_view(pilot, app: DispatchApp) -> None:
    await _highlight_route(pilot, app)


async def _detail_view(pilot, app: DispatchApp) -> None:
    await _highlight_route(pilot, app)
    app.detail.focus()
    await pilot.press("z")
    await pilot.pause(0.1)


async def _confirm_view(pilot, app: DispatchApp) -> None:
    await _highlight_route(pilot, app)
    await pilot.press("c")
    await pilot.pause(0.1)


async def _help_view(pilot, app: DispatchApp) -> None:
    await pilot.press("question_mark")
    await pilot.pause(0.1)


async def _filtered_view(pilot, app: DispatchApp) -> None:
    """A supervisor's morning: the red orders of one ops group, latest scheduled first, marked."""
    await pilot.press("slash", *"oak-depot", "enter", "1", "o", *["j"] * 5, "enter", "O", "asterisk")
    await _settle(pilot, app)


async def _palette_view(pilot, app: DispatchApp) -> None:
    await pilot.press("ctrl+p", *"sort by")
    await pilot.pause(0.3)


async def _change_feed_view(pilot, app: DispatchApp) -> None:
    """After a refresh in which two orders turned red, one was reassigned and one cancelled
    elsewhere: the change feed."""
    from console.sandbox.transitions import Script

    sandbox = SANDBOXES[id(app)]
    calm = [row for row in app.order_list.table.view
            if row.worst.name != "RED" and row.status in ("assigned", "dispatched")]
    script = Script(sandbox)
    for row in calm[:2]:
        script.turn_red(row.ref.order_handle, type=row.ref.type, type_index=row.ref.type_index, risk="in_outage")
    other = next(r.worker for r in calm if r.worker and r.worker != calm[2].worker)
    script.reassign(calm[2].ref.order_handle, type=calm[2].ref.type, type_index=calm[2].ref.type_index, worker=other)
    script.cancel(calm[3].ref.order_handle, type=calm[3].ref.type, type_index=calm[3].ref.type_index)
    loads = app.session.loads
    await pilot.press("r")
    while app.session.loads == loads or app.loading:
        await pilot.pause(0.05)
    await pilot.press("F")
    await pilot.pause(0.3)


SHOTS: list[Shot] = [
    ("main.svg", (160, 48), {}, _main_view),
    ("main-80x24.svg", (80, 24), {}, _main_view),
    ("detail.svg", (100, 48), {}, _detail_view),
    ("confirm.svg", (100, 30), {}, _confirm_view),
    ("help.svg", (100, 48), {}, _help_view),
    ("read-only-ascii.svg", (80, 24), {"read_only": True, "ascii": True}, _main_view),
    ("filtered-80x24.svg", (80, 24), {}, _filtered_view),
    ("colorblind.svg", (160, 48), {"palette": "colorblind"}, _main_view),
    ("command-palette.svg", (100, 30), {}, _palette_view),
    ("change-feed-80x24.svg", (80, 24), {}, _change_feed_view),
]


async def take(name: str, size: tuple[int, int], settings: dict, prepare, out: Path) -> Path:
    app = build_app(**settings)
    async with app.run_test(size=size) as pilot:
        await _settle(pilot, app)
        await prepare(pilot, app)
        await pilot.pause(0.3)  # the footer re-composes after a binding change
        app.save_screenshot(name, str(out))
    return out / name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    parser.add_argument("--only", help="one file name, e.g. main.svg")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, size, settings, prepare in SHOTS:
        if args.only and name != args.only:
            continue
        path = asyncio.run(take(name, size, settings, prepare, args.out))
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
