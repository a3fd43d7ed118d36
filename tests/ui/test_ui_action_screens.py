"""The order actions' screens alone (console/ui/screens/action_confirm.py, worker_picker.py,
reschedule.py), each hosted by tests/support/screen_host.py: what they show, what typing does,
what they refuse, and the value they are dismissed with."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Input, OptionList, Static

from console.api.vocab import OrderRef
from console.session.workers import Presence, WorkerChoice, worker_choices
from console.ui.screens.action_confirm import (
    MAX_REASON_LENGTH, ActionConfirmed, ActionConfirmScreen, ActionDescription, OrderAction,
)
from console.ui.screens.reschedule import RescheduleScreen
from console.ui.screens.worker_picker import WorkerPickerScreen
from tests.support.screen_host import ScreenHost
from tests.support.ui_support import wait_until

HOSTILE = "ord-[/oops][@click=app.quit]x[/]"
WHEN = datetime(2026, 11, 29, 18, 30, tzinfo=timezone.utc)


def screen_text(app) -> str:
    """Every Static's and option's text on the current screen, joined by newlines."""
    parts = [str(w.render()) for w in app.screen.query(Static)]
    for option_list in app.screen.query(OptionList):
        parts += [str(option_list.get_option_at_index(i).prompt) for i in range(option_list.option_count)]
    return "\n".join(parts)


def describe(action: OrderAction, **changes) -> ActionDescription:
    return ActionDescription(action, OrderRef(HOSTILE, "drop", 1, 0), status="assigned",
                             worker="w-old", scheduled_at=WHEN, **changes)


# --------------------------------------------------------------------------- confirmation


@pytest.mark.parametrize("action", list(OrderAction))
async def test_confirmation_names_the_order_and_leg_and_enter_confirms(action: OrderAction) -> None:
    extra = {OrderAction.REASSIGN: dict(to_worker="w-new"),
             OrderAction.RESCHEDULE: dict(new_time=datetime(2026, 11, 29, 20, 0, tzinfo=timezone.utc))}
    description = describe(action, **extra.get(action, {}))
    app = ScreenHost(lambda: ActionConfirmScreen(description))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        text = screen_text(app)
        assert HOSTILE in text  # shown literally: markup in a handle is never parsed
        assert "Leg: drop #1, attempt 0" in text
        if action is OrderAction.CANCEL:
            assert "cannot be undone" in text
        if action is OrderAction.REASSIGN:
            assert "w-old → w-new" in text
        if action is OrderAction.RESCHEDULE:
            assert "Sun 2026-11-29 18:30 UTC" in text and "Sun 2026-11-29 20:00 UTC" in text
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == [ActionConfirmed(description, None)]


@pytest.mark.parametrize("action", list(OrderAction))
async def test_escape_goes_back_with_none(action: OrderAction) -> None:
    extra = {OrderAction.REASSIGN: dict(to_worker="w"), OrderAction.RESCHEDULE: dict(new_time=WHEN)}
    app = ScreenHost(lambda: ActionConfirmScreen(describe(action, **extra.get(action, {}))))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        await pilot.press("x", "escape")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == [None]


async def test_cancel_reason_is_typed_trimmed_and_bounded() -> None:
    description = describe(OrderAction.CANCEL)
    app = ScreenHost(lambda: ActionConfirmScreen(description))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        reason = app.screen.query_one("#action-reason", Input)
        assert reason.has_focus
        await pilot.press("space", *"customer moved ")
        reason.value += "x" * (MAX_REASON_LENGTH - len(reason.value) - 3)
        reason.cursor_position = len(reason.value)
        await pilot.press(*"x" * 8)  # 5 past the bound: the input stops at it
        assert len(reason.value) == MAX_REASON_LENGTH
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    (result,) = app.results
    assert result.reason.startswith("customer moved x") and len(result.reason) == MAX_REASON_LENGTH - 1


async def test_cancel_reason_with_control_characters_is_refused() -> None:
    app = ScreenHost(lambda: ActionConfirmScreen(describe(OrderAction.CANCEL)))
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        app.screen.query_one("#action-reason", Input).value = "late\u202eevil"
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "control or invisible characters" in screen_text(app)
        app.screen.query_one("#action-reason", Input).value = ""
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results[0].reason is None


def test_description_needs_what_changes() -> None:
    with pytest.raises(ValueError):
        describe(OrderAction.REASSIGN)
    with pytest.raises(ValueError):
        describe(OrderAction.RESCHEDULE)


async def test_ascii_confirmation_draws_no_arrow_glyph() -> None:
    app = ScreenHost(lambda: ActionConfirmScreen(describe(OrderAction.REASSIGN, to_worker="w"), ascii=True),
                     ascii=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until(pilot, lambda: isinstance(app.screen, ActionConfirmScreen), what="the confirmation")
        text = screen_text(app)
    assert "w-old -> w" in text and "→" not in text


# --------------------------------------------------------------------------- worker picker

CHOICES = [
    WorkerChoice("ann-x", None, 0, Presence.UNKNOWN),
    WorkerChoice("joanne", "Jo", 1, Presence.ONLINE),
    WorkerChoice("zed", "Annie Zed", 2, Presence.OFFLINE),
    WorkerChoice("bob", "Bob", 3, Presence.ONLINE),
]


def shown_workers(app) -> list[str]:
    option_list = app.screen.query_one(OptionList)
    return [str(option_list.get_option_at_index(i).prompt) for i in range(option_list.option_count)]


async def open_picker(pilot, app) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, WorkerPickerScreen), what="the picker")


async def test_picker_lists_counts_and_presence_and_filters_as_you_type() -> None:
    app = ScreenHost(lambda: WorkerPickerScreen(CHOICES, order_handle="o-1", current="bob"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        lines = shown_workers(app)
        assert len(lines) == 4
        assert "joanne" in lines[1] and "1 open" in lines[1] and lines[1].rstrip().endswith("online")
        assert "zed" in lines[2] and "offline" in lines[2]
        assert lines[0].rstrip().endswith("unknown")
        assert lines[3].rstrip().endswith("online current")
        await pilot.press(*"ann")
        await wait_until(pilot, lambda: len(shown_workers(app)) == 4, what="the filtered list")
        lines = shown_workers(app)
        assert [line.split()[0] for line in lines[:3]] == ["ann-x", "joanne", "zed"]
        assert lines[3].startswith("Use ann as typed")
        assert "3 of 4 known workers match." in screen_text(app)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == ["joanne"]


async def test_picker_takes_a_typed_handle_nobody_has() -> None:
    app = ScreenHost(lambda: WorkerPickerScreen(CHOICES))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        await pilot.press(*"new-driver@x")
        await wait_until(pilot, lambda: len(shown_workers(app)) == 1, what="only the typed handle")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == ["new-driver@x"]


async def test_picker_exact_handle_comes_first() -> None:
    choices = [WorkerChoice("w10", None, 0, Presence.UNKNOWN), WorkerChoice("w1", None, 0, Presence.UNKNOWN)]
    app = ScreenHost(lambda: WorkerPickerScreen(choices))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        await pilot.press("w", "1")
        await pilot.pause()
        assert [line.split()[0] for line in shown_workers(app)] == ["w1", "w10"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == ["w1"]


async def test_picker_refuses_an_invalid_typed_handle_and_the_current_worker() -> None:
    app = ScreenHost(lambda: WorkerPickerScreen(CHOICES, current="bob"))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        await pilot.press("space", "q", "q")  # " qq": nobody, and it starts with white space
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "starts or ends with white space" in screen_text(app)
        input_ = app.screen.query_one(Input)
        input_.value = "bob"
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "already assigned to this worker" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == [None]


async def test_picker_over_rows_and_hostile_names() -> None:
    from console.api.models import Order
    from console.session.table import OrderRow

    rows = [OrderRow(Order.model_validate({"order_handle": f"o{i}", "status": "assigned",
                                           "worker_handle": "w[/b]", "worker_name": "[@click=a]N",
                                           "risks": {"is_offline": "green"}})) for i in range(2)]
    app = ScreenHost(lambda: WorkerPickerScreen(worker_choices(rows)))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        (line,) = shown_workers(app)
        assert line.startswith("w[/b]") and "[@click=a]N" in line and "2 open" in line
        assert "online" in line
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == ["w[/b]"]


async def test_picker_with_no_known_workers_says_type_a_handle() -> None:
    app = ScreenHost(lambda: WorkerPickerScreen([]))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        assert "type a worker handle" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "Type part of a worker" in screen_text(app)


# --------------------------------------------------------------------------- reschedule

BERLIN = ZoneInfo("Europe/Berlin")


class Clock:
    """The screen's clock: fixed at 18:30 UTC (19:30 in Berlin) until a test moves it."""

    def __init__(self) -> None:
        self.at = WHEN

    def __call__(self) -> datetime:
        return self.at


def reschedule_host(clock: Clock, *, order_zone: str | None = "America/Los_Angeles", ascii: bool = False):
    # The screen's default parser: console.timeparse.parse_when, the one reschedule --at uses.
    return ScreenHost(lambda: RescheduleScreen(HOSTILE, scheduled_at=WHEN, now=clock, local_zone=BERLIN,
                                               order_zone_name=order_zone, ascii=ascii),
                      ascii=ascii)


async def open_reschedule(pilot, app) -> None:
    await wait_until(pilot, lambda: isinstance(app.screen, RescheduleScreen), what="the reschedule screen")


def preview(app) -> str:
    return str(app.screen.query_one("#reschedule-preview", Static).render())


async def test_reschedule_previews_both_zones_as_you_type_and_enter_takes_the_time() -> None:
    clock = Clock()
    app = reschedule_host(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        text = screen_text(app)
        assert HOSTILE in text
        assert "Your zone: CET (UTC+01:00); it is 19:30 there." in text
        assert "Scheduled now: Sun 2026-11-29 19:30 CET (UTC+01:00)" in text
        await pilot.press("plus", "3", "0", "m")
        await wait_until(pilot, lambda: "in 30m" in preview(app), what="the preview")
        assert "Your zone:  Sun 2026-11-29 20:00 CET (UTC+01:00)" in preview(app)
        assert "Order zone: Sun 2026-11-29 11:00 PST (UTC-08:00)" in preview(app)
        assert "Order's zone: America/Los_Angeles." in screen_text(app)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    (moment,) = app.results
    assert moment == datetime(2026, 11, 29, 19, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(("typed", "expected"), [
    ("21:15", datetime(2026, 11, 29, 20, 15, tzinfo=timezone.utc)),  # today, in the supervisor's zone
    ("2026-12-08T14:30", datetime(2026, 12, 8, 13, 30, tzinfo=timezone.utc)),  # no offset: their zone
    ("2026-12-08T14:30Z", datetime(2026, 12, 8, 14, 30, tzinfo=timezone.utc)),
])
async def test_reschedule_reads_clock_and_iso_times(typed: str, expected: datetime) -> None:
    app = reschedule_host(Clock())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        app.screen.query_one(Input).value = typed
        await pilot.pause()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == [expected]


@pytest.mark.parametrize(("typed", "words"), [
    ("14:30", "has already passed today"),
    ("2026-11-01T10:00", "in the past"),
    ("soon", "Cannot read 'soon' as a time"),
    ("2026-12-08", "a date without a time"),
    ("25:00", "not a time of day"),
])
async def test_reschedule_refuses_past_and_unreadable_times(typed: str, words: str) -> None:
    app = reschedule_host(Clock())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        app.screen.query_one(Input).value = typed
        await wait_until(pilot, lambda: words in preview(app), what="the refusal")
        assert app.screen.query_one("#reschedule-preview").has_class("-refused")
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "Not rescheduled" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: app.results, what="the result")
    assert app.results == [None]


async def test_reschedule_reads_the_time_again_at_enter() -> None:
    clock = Clock()
    app = reschedule_host(clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        await pilot.press("1", "9", "colon", "4", "5")
        await wait_until(pilot, lambda: "in 15m" in preview(app), what="the preview")
        clock.at = datetime(2026, 11, 29, 18, 50, tzinfo=timezone.utc)  # 19:50 in Berlin: passed
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "Not rescheduled" in screen_text(app)
        assert "already passed" in preview(app)


@pytest.mark.parametrize(("zone", "words"), [
    (None, "Order's zone: unknown (the order gives no time zone)."),
    ("Mars/Olympus", "Order's zone: unknown (the order's zone 'Mars/Olympus' is not one this console knows)."),
])
async def test_reschedule_says_when_the_order_zone_is_unknown(zone, words) -> None:
    app = reschedule_host(Clock(), order_zone=zone)
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        await pilot.press("plus", "1", "h")
        await wait_until(pilot, lambda: "in 1h 00m" in preview(app), what="the preview")
        assert "Order zone: unknown (see above)" in preview(app)
        assert words in screen_text(app)


async def test_reschedule_empty_enter_asks_for_a_time() -> None:
    app = reschedule_host(Clock())
    async with app.run_test(size=(80, 24)) as pilot:
        await open_reschedule(pilot, app)
        await pilot.press("enter")
        await pilot.pause()
        assert app.results == []
        assert "Type a time first" in screen_text(app)


# --------------------------------------------------------------------------- hostile data


@pytest.mark.parametrize("name", ["close_tag", "click_action", "osc_title_st", "c1_csi", "nul",
                                  "bidi_rlo", "zero_width", "emoji_wide"])
async def test_hostile_values_are_shown_escaped_on_every_action_screen(name: str) -> None:
    from tests.support.hostile import HOSTILE as CORPUS, check_svg, shown

    raw = CORPUS[name]
    ref = OrderRef(f"o{raw}", "drop", 0, 0)
    screens = [
        lambda: ActionConfirmScreen(ActionDescription(OrderAction.CANCEL, ref, status=raw, worker=raw)),
        lambda: ActionConfirmScreen(ActionDescription(OrderAction.REASSIGN, ref, status=raw, worker=raw,
                                                      to_worker=f"w{raw}")),
        lambda: WorkerPickerScreen([WorkerChoice(f"w{raw}", raw, 1, Presence.ONLINE)], order_handle=f"o{raw}"),
    ]
    for make in screens:
        app = ScreenHost(make)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            assert isinstance(app.screen, (ActionConfirmScreen, WorkerPickerScreen))
            # The order handle, escaped, whole; the worker's where it is shown whole.
            text = screen_text(app)
            assert f"o{shown(raw)}" in text
            if isinstance(app.screen, WorkerPickerScreen):
                assert shown_workers(app)[0].startswith(f"w{shown(raw)}"[:12])
            else:
                assert f"w{shown(raw)}" in text or app.screen.description.to_worker is None
            check_svg(app.export_screenshot())


async def test_description_for_a_list_row_and_picker_over_its_table() -> None:
    """How the app wires them: a description from the highlighted row, choices from the table."""
    from console.api.models import Order
    from console.session.table import OrderRow, OrderTable

    table = OrderTable()
    table.extend([OrderRow(Order.model_validate({
        "order_handle": f"o{i}", "status": "assigned", "type": "pick", "type_index": 0,
        "worker_handle": f"w{i % 2}", "scheduled_at": "2026-11-29T18:30:00Z"})) for i in range(3)])
    row = table.view[0]
    described = ActionDescription.for_row(OrderAction.REASSIGN, row, to_worker="w9")
    assert (described.ref, described.status, described.worker, described.scheduled_at) == (
        row.ref, "assigned", row.worker, WHEN)
    app = ScreenHost(lambda: WorkerPickerScreen(worker_choices(table.rows), order_handle=row.ref.order_handle,
                                                current=row.worker))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        lines = shown_workers(app)
        assert [line.split()[:3] for line in lines] == [["w0", "2", "open"], ["w1", "1", "open"]]


async def test_picker_lists_at_most_max_shown_and_says_so() -> None:
    from console.ui.screens.worker_picker import MAX_SHOWN

    many = [WorkerChoice(f"driver-{i:03d}", None, 0, Presence.UNKNOWN) for i in range(MAX_SHOWN + 10)]
    app = ScreenHost(lambda: WorkerPickerScreen(many))
    async with app.run_test(size=(80, 24)) as pilot:
        await open_picker(pilot, app)
        assert len(shown_workers(app)) == MAX_SHOWN
        assert f"The first {MAX_SHOWN} of {MAX_SHOWN + 10} matching workers: type more" in screen_text(app)
        await pilot.press(*"driver-05")  # driver-050 .. driver-059: all shown, plus the typed handle
        await wait_until(pilot, lambda: len(shown_workers(app)) == 11, what="the narrowed list")
        assert f"10 of {MAX_SHOWN + 10} known workers match." in screen_text(app)
