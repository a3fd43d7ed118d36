"""The detail pane, as the supervisor sees it: mounted in a tiny app, read back from the screen.

Content tests run on a tall, wide terminal so that the whole pane is on screen and no line
wraps; the snapshot tests run at 80x24 with a frozen clock.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from console.api.models import EVENT_TYPES, Order, UnknownEvent, parse_event
from console.ui.detail import DETAIL_CSS_PATH, DetailPane, event_sentence
from tests.support.hostile import (
    COMBINED,
    HUGE_INT,
    SHORT_HOSTILE,
    assert_no_raw_controls,
    check_svg,
    hostile_order,
    screen_text,
    shown,
)

EXAMPLES = Path("/work/shared/docs/hypertrack-orders-examples.json")
SEED = Path("/work/shared/seeds/000_bd2ddfd1cf404aa3.txt")
SEED_NOW = datetime(2023, 10, 26, 2, 5, 0, tzinfo=timezone.utc)
EXAMPLE_NOW = datetime(2025, 3, 14, 17, 10, 0, tzinfo=timezone.utc)


def seed_order() -> Order:
    """The example order on the Complete Order reference page."""
    seed = SEED.read_text()
    return Order.model_validate(json.JSONDecoder().raw_decode(seed, seed.index('{  "order_handle"'))[0])


def example_raw() -> dict:
    return json.loads(EXAMPLES.read_text())["order_detail_completed"]


class PaneApp(App[None]):
    CSS_PATH = [DETAIL_CSS_PATH]

    def __init__(self, now: datetime, *, ascii: bool = False) -> None:
        super().__init__()
        self.frozen_now = now
        self.ascii_mode = ascii

    def compose(self) -> ComposeResult:
        yield DetailPane(now=lambda: self.frozen_now, ascii=self.ascii_mode)

    @property
    def pane(self) -> DetailPane:
        return self.query_one(DetailPane)


def lines_of(app: App) -> list[str]:
    text = screen_text(app)
    assert_no_raw_controls(text, "screen")
    return [line.rstrip() for line in text.splitlines()]


def line_with(lines: list[str], *parts: str) -> int:
    """The index of the first line holding every part, in that order; fails if none does."""
    for index, line in enumerate(lines):
        position = 0
        for part in parts:
            found = line.find(part, position)
            if found < 0:
                break
            position = found + len(part)
        else:
            return index
    raise AssertionError(f"no line with {parts!r} in:\n" + "\n".join(lines))


# --------------------------------------------------------------------------- the seed order


async def test_seed_order_timeline_facts_and_route() -> None:
    app = PaneApp(SEED_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(seed_order())
        await pilot.pause()
        lines = lines_of(app)

    header = line_with(lines, "order-1", "COMPLETED")
    line_with(lines, "Worker", "James")
    line_with(lines, "Ops group", "store-SF")
    line_with(lines, "Order", "type pick, index 0, attempt 0")
    # Scheduled 02:00, completed 01:39, now 02:05: past but not late (the order is done).
    line_with(lines, "Scheduled", "02:00:00", "5m ago")
    assert not any("LATE" in line for line in lines)
    line_with(lines, "Started", "01:28:21", "36m ago")
    line_with(lines, "Completed", "01:39:45", "25m ago")
    line_with(lines, "Destination", "1709 Automation Pkwy, San Jose, CA 95101")
    line_with(lines, "Radius", "100 m")
    line_with(lines, "Share URL", "https://trck.at/xvgK2DRQvl")
    line_with(lines, "Metadata", "customerID: 12654")

    # Each of the eight risks in words with its level; only moving_too_slow is yellow.
    line_with(lines, "▲ yellow", "T", "Moving too slowly to arrive on time")
    for words in (
        "Expected to be late against the scheduled time", "Later than the first ETA given",
        "The device stopped sending locations", "Off the expected route",
        "Moving away from the destination", "Battery may run out before the order is done",
        "In a location outage",
    ):
        line_with(lines, "● green", words)

    # The timeline, oldest first, one line per event.
    timeline = [
        line_with(lines, "2023-10-25"),
        line_with(lines, "17:54:42", "Order created"),
        line_with(lines, "18:08:44", "Planned into route 812a1ea5…"),
        line_with(lines, "18:08:44", "Assigned to James"),
        line_with(lines, "2023-10-26"),
        line_with(lines, "01:28:21", "Started (pick)"),
        line_with(lines, "01:39:24", "Stopped at 1653, De Rome Drive, San Jose, Santa Clara County, "
                                      "California, 95131, United States"),
        line_with(lines, "01:39:24", "Stop ended after 0s"),
        line_with(lines, "01:39:45", "Completed"),
    ]
    assert timeline == sorted(timeline) and header < timeline[0]
    assert len(set(timeline)) == len(timeline)

    # The route: a single point 2.25 km from the destination (the seed says 2254 m).
    line_with(lines, "Points", "1 point, 01:39:24 → 01:39:24 (0s)")
    line_with(lines, "Distance", "0 m")
    line_with(lines, "Speed", "average —, top —")
    line_with(lines, "Box", "lat 37.37192 to 37.37192, lon -121.87725 to -121.87725")
    line_with(lines, "First", "37.37192, -121.87725")
    line_with(lines, "Last", "37.37192, -121.87725")
    to_dest = line_with(lines, "To dest.", "2.3 km from the last position, outside the 100 m radius")
    # The drawing (between the figures and its legend): the point (E) south-east of the
    # destination (D), nothing else.
    legend = line_with(lines, "S start", "E end", "D destination")
    drawing = lines[to_dest + 1 : legend]  # inside its frame
    assert "".join(line.strip(" │╭╮╰╯─") for line in drawing).replace(" ", "") in ("DE", "ED")
    end_row = next(i for i, line in enumerate(drawing) if "E" in line)
    dest_row = next(i for i, line in enumerate(drawing) if "D" in line)
    assert dest_row < end_row
    assert drawing[dest_row].index("D") < drawing[end_row].index("E")


async def test_example_order_route_numbers() -> None:
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate(example_raw()))
        await pilot.pause()
        lines = lines_of(app)
    # By hand (see tests/test_geo.py): 2,172 m in 1,828.657 s → 1.188 m/s = 4.3 km/h;
    # fastest leg 428.95 m in 152.572 s = 2.81 m/s = 10.1 km/h; last point 23 m from the
    # destination, inside its 100 m radius.
    line_with(lines, "Points", "10 points, 16:32:02 → 17:02:30 (30m)")
    line_with(lines, "Distance", "2.2 km")
    line_with(lines, "Speed", "average 4.3 km/h, top 10 km/h")
    line_with(lines, "Box", "lat 37.79486 to 37.81239, lon -122.27781 to -122.26729")
    line_with(lines, "To dest.", "23 m from the last position, inside the 100 m radius")
    line_with(lines, "◉")  # the end of the track drawn on the destination
    line_with(lines, "S start  E end  D destination  ◉ E at D")
    # Timeline sentences with numbers from the events.
    line_with(lines, "16:32:02", "Started driving")
    line_with(lines, "16:49:10", "Entered the destination geofence")
    line_with(lines, "16:49:58", "Service started")
    line_with(lines, "16:49:58", "Drove 2.7 km in 17m")
    line_with(lines, "17:02:30", "Stop ended after 12m, 38 steps")
    line_with(lines, "17:02:30", "Service ended after 12m")
    line_with(lines, "17:03:04", "Completed")
    line_with(lines, "17:03:05", "Left the destination geofence after 13m")


async def test_an_open_order_past_its_time_is_late_and_shows_its_eta() -> None:
    raw = json.loads(EXAMPLES.read_text())["list_orders_response_page_1"]["orders"][0]
    now = datetime(2025, 3, 14, 17, 37, 0, tzinfo=timezone.utc)  # scheduled 17:30
    app = PaneApp(now)
    async with app.run_test(size=(160, 60)) as pilot:
        app.pane.show_summary(Order.model_validate(raw), loading=True)
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "Scheduled", "17:30:00", "LATE 7m", "not before 17:00:00")
        line_with(lines, "ETA", "17:41:30", "in 4m", "first ETA 17:24:10")
        line_with(lines, "■ red", "S", "Expected to be late against the scheduled time")
        line_with(lines, "▲ yellow", "E", "Later than the first ETA given")
        line_with(lines, "loading the full order…")
        # A summary has no timeline or route: the pane says they are loading.
        assert lines[line_with(lines, "Timeline") + 1].strip() == "loading…"
        assert lines[line_with(lines, "Route") + 1].strip() == "loading…"

        # The GET failed: the summary stays, and says it is only a summary.
        app.pane.show_summary(Order.model_validate(raw), loading=False)
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "summary only: no timeline or route for this order here")
        assert lines[line_with(lines, "Timeline") + 1].strip() == "not loaded"


async def test_summary_then_full_order_then_a_late_summary() -> None:
    app = PaneApp(EXAMPLE_NOW)
    order = Order.model_validate(example_raw())
    summary = Order.model_validate({k: v for k, v in example_raw().items() if k not in ("timeline", "polyline")})
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_placeholder("Select an order")
        await pilot.pause()
        assert [line.strip() for line in lines_of(app) if line.strip()] == ["Select an order"]

        app.pane.show_summary(summary, loading=True)
        await pilot.pause()
        assert not any("Order created" in line for line in lines_of(app))

        app.pane.show_order(order)
        await pilot.pause()
        line_with(lines_of(app), "15:02:11", "Order created")

        # The list refreshes and hands the pane the summary of the order already shown in full:
        # the timeline must not disappear.
        app.pane.show_summary(summary, loading=True)
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "15:02:11", "Order created")
        line_with(lines, "refreshing…")


async def test_the_order_sections_are_mounted_with_the_first_order_shown() -> None:
    """Start-up (issue 6) mounts only the placeholder and the error box; the first order shown
    mounts the sections, in their place after the placeholder, and fills them in the same
    frame; back to a placeholder they are hidden, not removed, and reused for the next order."""
    app = PaneApp(EXAMPLE_NOW)
    order = Order.model_validate(example_raw())
    names = ["detail-header", "detail-facts", "detail-risks", "detail-timeline", "detail-route", "detail-track"]
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_placeholder("Loading orders…")
        await pilot.pause()
        assert [child.id for child in app.pane.children] == ["detail-error", "detail-placeholder"]
        assert [line.strip() for line in lines_of(app) if line.strip()] == ["Loading orders…"]

        app.pane.show_order(order)
        await pilot.pause()
        assert [child.id for child in app.pane.children] == ["detail-error", "detail-placeholder", *names]
        lines = lines_of(app)
        line_with(lines, order.order_handle)
        line_with(lines, "15:02:11", "Order created")
        assert not any("Loading orders" in line for line in lines)
        first = list(app.pane.children)

        app.pane.show_placeholder("No open orders.")
        await pilot.pause()
        assert [line.strip() for line in lines_of(app) if line.strip()] == ["No open orders."]
        assert list(app.pane.children) == first  # hidden, still mounted

        app.pane.show_order(order)
        await pilot.pause()
        assert list(app.pane.children) == first
        line_with(lines_of(app), "15:02:11", "Order created")


# --------------------------------------------------------------------------- hostile text


async def test_hostile_strings_are_shown_literally() -> None:
    app = PaneApp(datetime(2026, 1, 1, 10, 7, tzinfo=timezone.utc))
    async with app.run_test(size=(260, 60)) as pilot:
        for name, raw in SHORT_HOSTILE.items():
            app.pane.show_order(Order.model_validate(hostile_order(f"h-{name}", raw)))
            await pilot.pause()
            lines = lines_of(app)
            expected = shown(raw)
            line_with(lines, "Worker", expected)
            line_with(lines, "Ops group", expected)
            line_with(lines, "Destination", expected)
            line_with(lines, "Metadata", f"{expected}: {expected}")
            line_with(lines, "note: " + expected)
            line_with(lines, "08:30:00", "Started ", expected)
        check_svg(app.export_screenshot())


async def test_markup_in_values_has_no_style_and_no_action() -> None:
    app = PaneApp(datetime(2026, 1, 1, 10, 7, tzinfo=timezone.utc))
    order = hostile_order("[bold]h[/]", "[bold red]x[/]")
    order["metadata"] = {"click": "[@click=app.quit]x[/]", "close": "[/oops]", "style": "[bold red]x[/]"}
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate(order))
        app.pane.show_error("[/oops]", "[@click=app.quit]x[/]", {"[b]f[/]": ["[/x]"]}, "[bold]r[/]")
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "[bold]h[/]", "ONGOING")
        line_with(lines, "click: [@click=app.quit]x[/]")
        line_with(lines, "close: [/oops]")
        line_with(lines, "style: [bold red]x[/]")
        line_with(lines, "• [b]f[/]: [/x]")
        line_with(lines, "request id [bold]r[/]")
        # Nothing on screen carries an action, and the metadata values are not bold.
        for strip in app.screen._compositor.render_strips():
            for segment in strip:
                style = segment.style
                if style is None:
                    continue
                assert not (style.meta or {}).get("@click"), segment
                if "[bold red]x[/]" in segment.text and "style" not in segment.text:
                    assert not style.bold, segment
        assert app.is_running  # no MarkupError, no app.quit


async def test_absurd_numbers_and_combined_attack_do_not_crash() -> None:
    order = hostile_order(
        "h", COMBINED,
        destination={"radius": HUGE_INT, "address": COMBINED,
                     "geometry": {"type": "Point", "coordinates": [0, 0]}},
        polyline={"coordinates": [[0, 0, 1, "2026-01-01T09:00:00Z"], [0, 0.001, 1, "2026-01-01T09:01:00Z"]]},
    )
    order["timeline"].append({"type": "driver_activity_ended", "recorded_at": "2026-01-01T09:30:00Z",
                              "activity": "drive", "distance": HUGE_INT, "duration": HUGE_INT})
    app = PaneApp(datetime(2026, 1, 1, 10, 7, tzinfo=timezone.utc))
    async with app.run_test(size=(200, 90)) as pilot:
        app.pane.show_order(Order.model_validate(order))
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "Destination", shown(COMBINED))
        line_with(lines, "Distance", "111 m")
        line_with(lines, "To dest.", "111 m from the last position")  # no radius to compare
        line_with(lines, "09:30:00", "Drove")
        check_svg(app.export_screenshot())


# --------------------------------------------------------------------------- the timeline


def test_every_known_event_type_has_its_own_sentence() -> None:
    for kind in EVENT_TYPES:
        event = parse_event({"type": kind, "recorded_at": "2025-03-14T16:00:00Z"})
        assert not isinstance(event, UnknownEvent), kind
        sentence = event_sentence(event)
        assert sentence and kind not in sentence, (kind, sentence)


@pytest.mark.parametrize(
    ("raw", "sentence"),
    [
        ({"type": "order_planned"}, "Planned"),
        ({"type": "order_assigned"}, "Assigned"),
        ({"type": "order_started"}, "Started"),
        ({"type": "driver_activity_started", "activity": "stop", "address": None}, "Stopped"),
        ({"type": "driver_activity_started", "activity": "walk"}, "Started walking"),
        ({"type": "driver_activity_ended", "activity": "drive", "distance": 2300, "duration": 372},
         "Drove 2.3 km in 6m"),
        ({"type": "driver_activity_ended", "activity": "walk", "distance": 120, "duration": 200, "steps": 150},
         "Walked 120 m in 3m, 150 steps"),
        ({"type": "driver_activity_ended", "activity": "drive", "distance": None, "duration": 90},
         "Drove for 1m"),
        ({"type": "order_geofence_exited", "duration": None}, "Left the destination geofence"),
        ({"type": "order_service_ended", "duration": 720}, "Service ended after 12m"),
        ({"type": "order_disabled"}, "Disabled"),
        ({"type": "order_cancelled"}, "Cancelled"),
        ({"type": "order_cancelled", "cancellation_source": "dispatcher"}, "Cancelled (by dispatcher)"),
        ({"type": "order_completed", "completed_at_destination": False, "deviation_from_destination": 2254},
         "Completed away from the destination (2.3 km off)"),
        # Unknown types (custom events, the schema's other vocabulary): type and raw fields.
        ({"type": "photo_taken", "note": "left at door", "count": 3}, "photo_taken: note=left at door, count=3"),
        ({"type": "check_in", "deviation": {"distance": 12, "duration": 3}},
         'check_in: deviation={"distance": 12, "duration": 3}'),
        ({"type": "x", "a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}, "x: a=1, b=2, c=3, d=4, +2 more"),
        ({"type": "bare"}, "bare"),
        # A known type whose fields do not fit is still shown, generically.
        ({"type": "order_assigned", "driver_handle": {"id": 5}}, 'order_assigned: driver_handle={"id": 5}'),
        ({"recorded_at": "2025-03-14T16:00:00Z"}, "(event without a type)"),
    ],
)
def test_event_sentences(raw: dict, sentence: str) -> None:
    raw = {"recorded_at": "2025-03-14T16:00:00Z", **raw}
    assert event_sentence(parse_event(raw)) == sentence


async def test_unknown_event_line_on_screen_and_order_kept() -> None:
    raw = example_raw()
    raw["timeline"] = [
        {"type": "order_created", "recorded_at": "2025-03-14T15:02:11.408Z"},
        {"type": "photo_taken", "recorded_at": "2025-03-14T16:50:00Z", "note": "[/oops] at door"},
        # Out of order on the wire: shown where its time puts it.
        {"type": "order_planned", "recorded_at": "2025-03-14T15:40:05Z", "route_handle": "abc"},
    ]
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate(raw))
        await pilot.pause()
        lines = lines_of(app)
    created = line_with(lines, "15:02:11", "Order created")
    planned = line_with(lines, "15:40:05", "Planned into route abc")
    unknown = line_with(lines, "16:50:00", "photo_taken: note=[/oops] at door")
    assert created < planned < unknown


# --------------------------------------------------------------------------- errors in the pane


async def test_error_with_field_errors_is_shown_above_the_order() -> None:
    app = PaneApp(EXAMPLE_NOW)
    order = Order.model_validate(example_raw())
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(order)
        app.pane.show_error(
            "Could not complete (409 Conflict)",
            "Order ORD-20250314-0042 is already completed",
            {"type": ["Must be one of: pick, drop."], "fulfillment_attempt": ["Not a valid integer.", "Too big."]},
            request_id="req-7f3a",
        )
        await pilot.pause()
        lines = lines_of(app)
        title = line_with(lines, "Could not complete (409 Conflict)")
        line_with(lines, "Order ORD-20250314-0042 is already completed")
        line_with(lines, "• type: Must be one of: pick, drop.")
        line_with(lines, "• fulfillment_attempt: Not a valid integer.; Too big.")
        line_with(lines, "request id req-7f3a")
        assert title < line_with(lines, "ORD-20250314-0042", "COMPLETED")
        line_with(lines, "15:02:11", "Order created")  # the order stays shown

        # A refresh of the same order keeps the error; another order clears it.
        app.pane.show_order(order)
        await pilot.pause()
        assert app.pane.error_shown
        line_with(lines_of(app), "Could not complete (409 Conflict)")
        app.pane.show_order(seed_order())
        await pilot.pause()
        assert not app.pane.error_shown
        assert not any("Could not complete" in line for line in lines_of(app))

        app.pane.show_error("Network down", "The request was not sent")
        await pilot.pause()
        line_with(lines_of(app), "Network down")
        app.pane.clear_error()
        await pilot.pause()
        assert not any("Network down" in line for line in lines_of(app))
        line_with(lines_of(app), "order-1", "COMPLETED")


# --------------------------------------------------------------------------- ASCII mode


async def test_ascii_mode_uses_no_unicode_glyphs() -> None:
    app = PaneApp(EXAMPLE_NOW, ascii=True)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate(example_raw()))
        app.pane.show_error("Could not complete", "x", {"type": ["bad"]})
        await pilot.pause()
        text = screen_text(app)
        assert text.isascii(), sorted({c for c in text if not c.isascii()})
        lines = [line.rstrip() for line in text.splitlines()]
        line_with(lines, "^ yellow", "S", "Expected to be late against the scheduled time")
        line_with(lines, "- green", "E", "Later than the first ETA given")
        line_with(lines, "- type: bad")
        line_with(lines, "Points", "10 points, 16:32:02 -> 17:02:30 (30m)")
        line_with(lines, "S start  E end  D destination  * E at D")
        line_with(lines, "Planned into route 5f0c2d4e...")
        assert any("o" in line and set(line.strip(" |")) <= set("o. SED*") for line in lines)

        # Switching back at run time redraws with glyphs.
        app.pane.ascii = False
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "▲ yellow", "S")
        line_with(lines, "16:32:02 → 17:02:30")


# --------------------------------------------------------------------------- snapshots


def _show_example(pane_action):
    async def run_before(pilot) -> None:
        pane = pilot.app.query_one(DetailPane)
        pane.show_order(Order.model_validate(example_raw()))
        await pilot.pause()  # laid out first, so that scrolling knows the height
        pane_action(pane)
        await pilot.pause()

    return run_before


def test_snapshot_80x24_top(snap_compare) -> None:
    assert snap_compare(
        PaneApp(EXAMPLE_NOW), terminal_size=(80, 24),
        run_before=_show_example(lambda pane: pane.show_error(
            "Could not complete (409 Conflict)", "Order ORD-20250314-0042 is already completed",
            {"type": ["Must be one of: pick, drop."]}, "req-7f3a",
        )),
    )


def test_snapshot_80x24_route(snap_compare) -> None:
    assert snap_compare(
        PaneApp(EXAMPLE_NOW), terminal_size=(80, 24),
        run_before=_show_example(lambda pane: pane.scroll_end(animate=False, immediate=True)),
    )


# --------------------------------------------------------------------------- text helpers


def test_relative_time_and_formats() -> None:
    from datetime import timedelta

    from console.ui.text import (
        format_distance, format_duration, format_speed, relative_time, safe, text,
    )

    now = EXAMPLE_NOW
    assert relative_time(now + timedelta(minutes=5), now) == "in 5m"
    assert relative_time(now - timedelta(minutes=12), now) == "12m ago"
    assert relative_time(now - timedelta(minutes=7, seconds=59), now, deadline=True) == "late 7m"
    assert relative_time(now + timedelta(seconds=10), now, deadline=True) == "now"
    assert relative_time(None, now) == "—"
    assert [format_duration(s) for s in (0, 59, 60, 753, 3600, 3900, 86_400 + 7200)] == [
        "0s", "59s", "1m", "12m", "1h 00m", "1h 05m", "1d 2h",
    ]
    assert [format_distance(m) for m in (0, 23.4, 999, 1000, 2254, 123_456)] == [
        "0 m", "23 m", "999 m", "1.0 km", "2.3 km", "123 km",
    ]
    assert format_speed(2.8115) == "10 km/h" and format_speed(1.188) == "4.3 km/h"
    # Absurd numbers from the API are "missing", not a crash.
    assert format_distance(HUGE_INT) == format_duration(float("nan")) == format_speed(None) == "—"
    # Flattened values keep their text as is; controls become visible escapes.
    assert safe({"a": ["x", 1, None, True]}) == '{"a": ["x", 1, null, true]}'
    assert safe("a\x1b[2Jb\nc") == "a\\x1b[2Jb\\x0ac"
    assert safe("abcdef", limit=4) == "abc…" and safe("abcdef", limit=4, ellipsis="...") == "a..."
    literal = text("[bold red]x[/] [/oops]")
    assert literal.plain == "[bold red]x[/] [/oops]" and not literal.spans


async def test_a_bare_order_and_a_theme_change() -> None:
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(100, 50)) as pilot:
        app.pane.show_summary(Order.model_validate({"order_handle": "bare-1", "status": "unplanned"}), loading=False)
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "bare-1", "UNPLANNED")
        for label in ("Worker", "Ops group", "Order", "Scheduled", "ETA", "Destination"):
            line_with(lines, label, "—")
        line_with(lines, "no risk data for this order")

        def label_colour() -> object:
            row = line_with(lines_of(app), "Worker")
            strip = app.screen._compositor.render_strips()[row]
            return next(seg.style.color for seg in strip if "Worker" in seg.text)

        dark = label_colour()
        app.theme = "textual-light"
        await pilot.pause()
        await pilot.pause()
        assert label_colour() != dark  # redrawn with the new theme's muted colour
        line_with(lines_of(app), "bare-1", "UNPLANNED")


async def test_the_other_leg_of_the_same_handle_is_another_order() -> None:
    raw = example_raw()
    pick = Order.model_validate({**raw, "type": "pick", "timeline": [], "polyline": None})
    drop = Order.model_validate(raw)
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(drop)
        app.pane.show_error("Could not complete", "409")
        app.pane.show_summary(pick, loading=True)
        await pilot.pause()
        lines = lines_of(app)
        line_with(lines, "Order", "type pick")
        assert not any("Order created" in line or "Could not complete" in line for line in lines)


#: Polyline points the reference schema allows (a point is any array) but that hold no position.
ODD_POINTS = [[], [0], ["a", "b"], [200, 10], [None, None], ["NaN", "1"], [[1, 2], [3, 4]]]


async def test_unreadable_route_points_are_counted_and_the_route_still_shown() -> None:
    raw = example_raw()
    salted = {**raw["polyline"], "coordinates": [ODD_POINTS[0], *raw["polyline"]["coordinates"], *ODD_POINTS[1:]]}
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate({**raw, "polyline": salted}))
        await pilot.pause()
        lines = lines_of(app)
    route = line_with(lines, "Route")
    # The figures of the clean example (test_example_order_route_numbers), and the count.
    points = line_with(lines, "Points", "10 points, 16:32:02 → 17:02:30 (30m)")
    skipped = line_with(lines, "Skipped", "7 unreadable points")
    line_with(lines, "Distance", "2.2 km")
    line_with(lines, "To dest.", "23 m from the last position, inside the 100 m radius")
    line_with(lines, "S start  E end  D destination  ◉ E at D")
    assert route < points < skipped


async def test_a_route_of_only_unreadable_points_says_so() -> None:
    raw = example_raw()
    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(160, 80)) as pilot:
        app.pane.show_order(Order.model_validate({**raw, "polyline": {"type": "LineString", "coordinates": [[0]]}}))
        await pilot.pause()
        lines = lines_of(app)
    route = line_with(lines, "Route")
    assert lines[route + 1].strip() == "no positions recorded, 1 unreadable point"
    assert not any("S start" in line for line in lines)
