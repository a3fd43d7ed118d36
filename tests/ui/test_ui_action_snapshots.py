"""Snapshots at 80x24 of the order actions' dialogs: the confirmation of each action (cancel also
in --ascii), the reassign worker picker while searching, and the reschedule input previewing a
time and refusing a past one.

Each screen is hosted alone by tests/support/screen_host.py with the console's stylesheets, on
fixed data and a fixed clock. ``snap_compare`` runs its own event loop, so these are plain
``def`` tests. After a deliberate visual change:
``pytest tests/ui/test_ui_action_snapshots.py --snapshot-update``, then LOOK at the SVGs in
tests/__snapshots__/test_ui_action_snapshots/ before committing them.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from console.api.vocab import OrderRef
from console.session.workers import Presence, WorkerChoice
from console.timeparse import parse_when
from console.ui.screens.action_confirm import ActionConfirmScreen, ActionDescription, OrderAction
from console.ui.screens.reschedule import RescheduleScreen
from console.ui.screens.worker_picker import WorkerPickerScreen
from tests.support.screen_host import ScreenHost

NOW = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)
BERLIN = ZoneInfo("Europe/Berlin")
REF = OrderRef("ord-5f2a91", "drop", 1, 0)


def description(action: OrderAction, **changes) -> ActionDescription:
    return ActionDescription(action, REF, status="assigned", worker="driver-ana", scheduled_at=NOW,
                             zone=BERLIN, **changes)


DESCRIPTIONS = {
    "cancel": description(OrderAction.CANCEL),
    "disable": description(OrderAction.DISABLE),
    "enable": ActionDescription(OrderAction.ENABLE, OrderRef("ord-77c0"), status="disabled",
                                worker="driver-ana"),
    "reassign": description(OrderAction.REASSIGN, to_worker="driver-bo"),
    "reschedule": description(OrderAction.RESCHEDULE,
                              new_time=datetime(2026, 11, 29, 19, 0, tzinfo=timezone.utc)),
}


@pytest.mark.parametrize("name", list(DESCRIPTIONS))
def test_confirmation_80x24(snap_compare, name: str) -> None:
    app = ScreenHost(lambda: ActionConfirmScreen(DESCRIPTIONS[name]))

    async def run_before(pilot) -> None:
        if name == "cancel":
            await pilot.press(*"customer moved")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_cancel_confirmation_ascii_80x24(snap_compare) -> None:
    app = ScreenHost(lambda: ActionConfirmScreen(DESCRIPTIONS["cancel"], ascii=True), ascii=True)
    assert snap_compare(app, terminal_size=(80, 24))


WORKERS = [
    WorkerChoice(handle, name, count, presence)
    for handle, name, count, presence in [
        ("driver-ana", "Ana Lima", 4, Presence.ONLINE), ("driver-bo", "Bo Chen", 2, Presence.OFFLINE),
        ("driver-cy", None, 0, Presence.UNKNOWN), ("driver-dee", "Dee [/b] Okafor", 7, Presence.ONLINE),
        ("courier-ed", "Ed Park", 1, Presence.ONLINE), ("courier-fay", "Fay Adeyemi", 3, Presence.UNKNOWN),
        ("van-12", None, 5, Presence.OFFLINE), ("van-13", None, 0, Presence.UNKNOWN),
        ("a-very-long-worker-handle-from-an-import", "Gus", 1, Presence.ONLINE),
    ]
]


def test_worker_picker_80x24(snap_compare) -> None:
    app = ScreenHost(lambda: WorkerPickerScreen(WORKERS, order_handle="ord-5f2a91", current="driver-ana"))

    async def run_before(pilot) -> None:
        await pilot.press(*"dr", "down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_worker_picker_all_80x24(snap_compare) -> None:
    app = ScreenHost(lambda: WorkerPickerScreen(WORKERS, order_handle="ord-5f2a91", current="driver-ana"))
    assert snap_compare(app, terminal_size=(80, 24))


def _reschedule(typed: str, *, ascii: bool = False) -> tuple[ScreenHost, object]:
    parse = parse_when  # the real parser: the one reschedule --at uses
    app = ScreenHost(lambda: RescheduleScreen(
        "ord-5f2a91", scheduled_at=NOW, now=lambda: NOW, local_zone=BERLIN,
        order_zone_name="America/Los_Angeles", parse=parse, ascii=ascii), ascii=ascii)

    async def run_before(pilot) -> None:
        for key in typed:
            await pilot.press({"+": "plus", ":": "colon"}.get(key, key))
        await pilot.pause()

    return app, run_before


def test_reschedule_preview_80x24(snap_compare) -> None:
    app, run_before = _reschedule("+30m")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_reschedule_refused_80x24(snap_compare) -> None:
    app, run_before = _reschedule("14:30")
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_reschedule_ascii_80x24(snap_compare) -> None:
    app, run_before = _reschedule("+1h30m", ascii=True)
    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
