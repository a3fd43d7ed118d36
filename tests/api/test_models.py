"""console.api.models: every documented example parses faithfully (nothing lost, nothing
invented), unknown things are kept, hostile or broken input is either sanitized or a
ValidationError (never a crash), and a list page survives one bad order."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from console.api.models import (
    RISK_KEYS,
    DriverActivityEnded,
    DriverActivityStarted,
    Order,
    OrderAssigned,
    OrderCompleted,
    OrderCreated,
    OrderGeofenceEntered,
    OrderGeofenceExited,
    OrderPlanned,
    OrderRef,
    OrderServiceEnded,
    OrderServiceStarted,
    OrderStarted,
    RiskLevel,
    TimelineEvent,
    TrackPoint,
    UnknownEvent,
    parse_error_body,
    parse_order,
    parse_order_page,
    risk_level,
)
from console.api.timestamps import format_timestamp, parse_timestamp

SHARED = Path("/work/shared")
EXAMPLES = json.loads((SHARED / "docs" / "hypertrack-orders-examples.json").read_text())
FORBIDDEN = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def seed_bodies() -> list[Any]:
    """The JSON bodies of the Complete Order reference page: one per line, after the curl."""
    [seed] = sorted((SHARED / "seeds").glob("000_*.txt"))
    return [json.loads(line) for line in seed.read_text().splitlines() if line.lstrip().startswith("{")]


def seed_order() -> dict[str, Any]:
    [body] = [b for b in seed_bodies() if "order_handle" in b]
    return body


def dumps(obj: Any) -> str:
    return json.dumps(obj)


# --------------------------------------------------------------------------- fidelity oracle


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def assert_faithful(raw: Any, parsed: Any, where: str = "order") -> None:
    """Every raw value is in the parsed model, with the same meaning; unknown keys in extras."""
    if isinstance(parsed, TrackPoint):
        assert isinstance(raw, list), where
        assert (parsed.lon, parsed.lat) == (raw[0], raw[1]), where
        assert parsed.altitude == (raw[2] if len(raw) > 2 else None), where
        assert parsed.recorded_at == (as_utc(raw[3]) if len(raw) > 3 else None), where
        return
    if isinstance(parsed, UnknownEvent):
        assert parsed.type == raw["type"], where
        rest = {k: v for k, v in raw.items() if k not in ("type", "recorded_at")}
        assert parsed.raw == rest, where
        return
    if isinstance(parsed, BaseModel):
        assert isinstance(raw, dict), where
        fields = type(parsed).model_fields
        for key, value in raw.items():
            if key in fields:
                assert_faithful(value, getattr(parsed, key), f"{where}.{key}")
            else:
                assert (parsed.model_extra or {}).get(key) == value, f"{where}.{key} lost"
        return
    if isinstance(parsed, datetime):
        assert parsed == as_utc(raw), where
        return
    if isinstance(parsed, list):
        assert isinstance(raw, list) and len(raw) == len(parsed), where
        for i, (r, p) in enumerate(zip(raw, parsed)):
            assert_faithful(r, p, f"{where}[{i}]")
        return
    assert parsed == raw and type(parsed) is type(raw), f"{where}: {parsed!r} != {raw!r}"


# --------------------------------------------------------------------------- the seed


def test_the_seed_complete_order_response_parses_faithfully():
    raw = seed_order()
    order = parse_order(dumps(raw).encode())
    assert_faithful(raw, order)
    assert (order.order_handle, order.status) == ("order-1", "completed")
    assert order.ref == OrderRef("order-1", "pick", 0, 0)
    assert order.completed_at == datetime(2023, 10, 26, 1, 39, 45, 503000, tzinfo=timezone.utc)
    assert order.is_terminal
    assert order.worker == "James"
    assert order.destination.geometry.lon_lat == (-121.8871193, 37.390611)  # longitude first
    assert order.risk_status is True
    assert order.worst_risk is RiskLevel.YELLOW
    assert risk_level(order.risks, "moving_too_slow") is RiskLevel.YELLOW
    assert {key for key, _, _ in RISK_KEYS} == set(order.risks)
    # A single-point polyline in the 4-value form.
    [point] = order.polyline.coordinates
    assert (point.lon, point.lat, point.altitude) == (-121.877246, 37.371916, 24.49)
    assert point.recorded_at == datetime(2023, 10, 26, 1, 39, 24, 125000, tzinfo=timezone.utc)
    assert [type(e) for e in order.timeline] == [
        OrderCreated, OrderPlanned, OrderAssigned, OrderStarted,
        DriverActivityStarted, DriverActivityEnded, OrderCompleted,
    ]
    ended = order.timeline[5]
    assert ended.distance is None and ended.duration == 0 and ended.location.geometry.lon_lat
    assert order.timeline[0].metadata == {"customerID": "12654"}


def test_the_seed_error_bodies_give_message_and_detail():
    errors = [b for b in seed_bodies() if "order_handle" not in b]
    assert len(errors) == 3
    for body in errors:
        message, detail = parse_error_body(dumps(body).encode())
        assert message == "string"
        assert detail == body["detail"]


# --------------------------------------------------------------------------- the examples file


def test_the_detail_example_parses_faithfully():
    raw = EXAMPLES["order_detail_completed"]
    order = parse_order(dumps(raw))
    assert_faithful(raw, order)
    assert order.model_extra == {"parking": raw["parking"]}  # not modelled, still kept
    assert len(order.polyline.coordinates) == 10
    kinds = [type(e) for e in order.timeline]
    assert OrderGeofenceEntered in kinds and OrderServiceStarted in kinds
    assert OrderServiceEnded in kinds and kinds[-1] is OrderGeofenceExited
    assert order.timeline[-1].location.geometry is None  # null geometry on an exit
    entered = order.timeline[kinds.index(OrderGeofenceEntered)]
    assert entered.location.geometry.coordinates == [-122.26781, 37.81203, 0]  # 3rd coordinate
    assert entered.location.geometry.lon_lat == (-122.26781, 37.81203)
    assert not any(isinstance(e, UnknownEvent) for e in order.timeline)


@pytest.mark.parametrize("name", ["list_orders_response_page_1", "list_orders_response_last_page"])
def test_the_list_page_examples_parse_faithfully(name):
    raw = EXAMPLES[name]
    page = parse_order_page(dumps(raw).encode())
    assert page.skipped == []
    assert page.pagination_token == raw["pagination_token"]
    assert len(page.orders) == len(raw["orders"])
    for raw_order, order in zip(raw["orders"], page.orders):
        assert_faithful(raw_order, order)
        assert_faithful(raw_order, parse_order(dumps(raw_order)))  # each alone as well
    assert page.model_extra == ({"_note": raw["_note"]} if "_note" in raw else {})


def test_list_items_carry_estimates_and_risks():
    page = parse_order_page(dumps(EXAMPLES["list_orders_response_page_1"]))
    ongoing = page.orders[0]
    assert ongoing.estimate.arrive_at == datetime(2025, 3, 14, 17, 41, 30, tzinfo=timezone.utc)
    assert ongoing.worst_risk is RiskLevel.RED
    assert page.orders[2].worst_risk is RiskLevel.GREEN
    assert ongoing.timeline is None and ongoing.polyline is None


@pytest.mark.parametrize("name", sorted(EXAMPLES["errors"]))
def test_every_error_example_gives_its_message_and_detail(name):
    raw = EXAMPLES["errors"][name]
    message, detail = parse_error_body(dumps(raw).encode())
    expected = raw.get("message") or raw.get("title")
    assert message == expected
    assert detail == raw["detail"]


def test_the_oauth_example_is_not_an_order():
    with pytest.raises(ValidationError):
        parse_order(dumps(EXAMPLES["oauth_token_exchange"]["response_200"]))


# --------------------------------------------------------------------------- unknown things kept


def test_unknown_fields_are_kept_at_every_level():
    raw = {
        "order_handle": "h", "status": "teleported", "brand_new": {"a": [1, 2.5, None, True]},
        "destination": {"geometry": {"type": "Point", "coordinates": [1, 2], "crs": "x"}, "floor": 3},
        "region": {"country": "NL", "province": "NH"},
    }
    order = parse_order(dumps(raw))
    assert_faithful(raw, order)
    assert order.status == "teleported"  # unknown status values are not an error either
    assert order.model_extra["brand_new"] == {"a": [1, 2.5, None, True]}
    assert order.destination.model_extra == {"floor": 3}
    assert order.destination.geometry.model_extra == {"crs": "x"}


def test_unknown_risk_keys_and_values_are_kept_without_a_crash():
    risks = {
        "is_offline": "purple", "brand_new_risk": "red", "in_outage": None, "moving_too_slow": 3,
        "delayed_from_initial_eta": {"intensity_label": "red", "intensity_value": 0.9},
        "deviating_from_expected_route": " Yellow ", "in_low_battery": ["red"],
    }
    order = parse_order(dumps({"order_handle": "h", "status": "ongoing", "risks": risks}))
    assert order.risks == risks
    assert risk_level(order.risks, "is_offline") is RiskLevel.UNKNOWN
    assert risk_level(order.risks, "brand_new_risk") is RiskLevel.RED
    assert risk_level(order.risks, "delayed_from_initial_eta") is RiskLevel.RED  # webhook shape
    assert risk_level(order.risks, "deviating_from_expected_route") is RiskLevel.YELLOW
    assert risk_level(order.risks, "in_low_battery") is RiskLevel.UNKNOWN
    assert risk_level(order.risks, "not_there") is RiskLevel.UNKNOWN
    assert order.worst_risk is RiskLevel.RED


@pytest.mark.parametrize("risks", [None, [], "red", 3])
def test_risks_that_are_not_an_object_do_not_hide_the_order(risks):
    order = parse_order(dumps({"order_handle": "h", "status": "ongoing", "risks": risks}))
    assert not order.risks
    assert order.worst_risk is RiskLevel.UNKNOWN


def test_both_polyline_forms_parse():
    raw = {
        "order_handle": "h", "status": "completed",
        "polyline": {"type": "LineString", "coordinates": [
            [-122.1, 37.1, 4.5, "2025-03-14T16:32:02.114Z"],
            [-122.2, 37.2],
            [-122.3, 37.3, 5],
        ]},
    }
    points = parse_order(dumps(raw)).polyline.coordinates
    assert [(p.lon, p.lat, p.altitude) for p in points] == [
        (-122.1, 37.1, 4.5), (-122.2, 37.2, None), (-122.3, 37.3, 5.0)
    ]
    assert points[0].recorded_at == datetime(2025, 3, 14, 16, 32, 2, 114000, tzinfo=timezone.utc)
    assert points[1].recorded_at is None and points[2].recorded_at is None


#: Polyline points the reference schema allows (a point is any array) but that hold no position,
#: plus entries that are not even arrays. Each is left out of the route, and counted.
UNREADABLE_POINTS = [
    [], [0], [1], ["a", "b"], [200, 10], [-180.5, 0], [10, 95], [10, -90.01], [None, 1], [None, None],
    ["NaN", "1"], ["Infinity", 0], ["-inf", "nan"], ["12.5", "41.2"], [True, False], [1, True],
    [[1, 2], [3, 4]], [[1, 2]], [{"lon": 1}, 2], [1, {"lat": 2}], [10**400, 1], [1, -(10**400)],
    None, "12.5,41.2", 7, {"lon": 1, "lat": 2},
]


@pytest.mark.parametrize("point", UNREADABLE_POINTS, ids=repr)
def test_an_unreadable_polyline_point_is_left_out_and_counted_not_fatal(point):
    raw = {"order_handle": "h", "status": "completed", "polyline": {"type": "LineString", "coordinates": [
        [-122.1, 37.1, 4.5, "2025-03-14T16:32:02.114Z"], point, [-122.2, 37.2], point,
    ]}}
    order = parse_order(dumps(raw))
    assert order.order_handle == "h" and order.status == "completed"
    assert [(p.lon, p.lat) for p in order.polyline.coordinates] == [(-122.1, 37.1), (-122.2, 37.2)]
    assert order.polyline.unreadable == 2


def test_a_polyline_of_only_unreadable_points_keeps_the_order():
    raw = {"order_handle": "h", "status": "ongoing", "polyline": {"coordinates": UNREADABLE_POINTS}}
    order = parse_order(dumps(raw))
    assert order.polyline.coordinates == []
    assert order.polyline.unreadable == len(UNREADABLE_POINTS)


def test_a_readable_position_with_an_odd_altitude_or_time_keeps_the_position():
    raw = {"order_handle": "h", "status": "ongoing", "polyline": {"coordinates": [
        [1, 2, "high", "not a time"], [3, 4, None, 17], [5, 6, [1], "2025-03-14T16:32:02Z", "extra"],
        [7, 8, 10**400],
    ]}}
    points = parse_order(dumps(raw)).polyline.coordinates
    assert [(p.lon, p.lat, p.altitude) for p in points] == [(1, 2, None), (3, 4, None), (5, 6, None), (7, 8, None)]
    assert [p.recorded_at for p in points] == [
        None, None, datetime(2025, 3, 14, 16, 32, 2, tzinfo=timezone.utc), None]
    assert parse_order(dumps(raw)).polyline.unreadable == 0


def test_a_server_cannot_set_the_unreadable_count():
    raw = {"order_handle": "h", "status": "ongoing",
           "polyline": {"coordinates": [[1, 2]], "unreadable": 99, "_unreadable": 99}}
    assert parse_order(dumps(raw)).polyline.unreadable == 0


def test_unknown_timeline_events_are_kept_whole():
    custom = {"type": "package_scanned", "recorded_at": "2025-03-14T16:00:00Z", "scanner": {"id": 7}}
    schema_only = {"type": "driver_activity_event", "recorded_at_start": "x", "is_partial": False}
    bad_known = {"type": "order_started", "recorded_at": "2025-03-14T16:00:00Z", "fulfillment_attempt": "many"}
    raw = {"order_handle": "h", "status": "ongoing",
           "timeline": [custom, schema_only, bad_known, {"no_type": 1}, 42, "text", None]}
    events = parse_order(dumps(raw)).timeline
    assert all(isinstance(e, TimelineEvent) for e in events)
    assert [type(e) for e in events] == [UnknownEvent] * 7
    assert events[0].type == "package_scanned"
    assert events[0].recorded_at == datetime(2025, 3, 14, 16, tzinfo=timezone.utc)
    assert events[0].raw == {"scanner": {"id": 7}}
    assert events[1].raw == {"recorded_at_start": "x", "is_partial": False}
    assert events[2].type == "order_started"  # a known type with a broken field: shown generically
    assert events[2].raw["fulfillment_attempt"] == "many"
    assert events[3].type == "(event without a type)" and events[3].raw == {"no_type": 1}
    assert events[4].type == "(malformed event)" and events[4].raw == {"value": "42"}


@pytest.mark.parametrize("timeline", [None, [], {}, "x"])
def test_a_missing_or_odd_timeline_is_not_fatal(timeline):
    order = parse_order(dumps({"order_handle": "h", "status": "x", "timeline": timeline}))
    assert order.timeline == (None if timeline is None else [])


# --------------------------------------------------------------------------- timestamps

T0 = datetime(2023, 10, 26, 1, 39, 45, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-10-26T01:39:45Z", T0),
        ("2023-10-26T01:39:45.5Z", T0 + timedelta(microseconds=500000)),
        ("2023-10-26T01:39:45.50Z", T0 + timedelta(microseconds=500000)),
        ("2023-10-26T01:39:45.503Z", T0 + timedelta(microseconds=503000)),
        ("2023-10-26T01:39:45.5031Z", T0 + timedelta(microseconds=503100)),
        ("2023-10-26T01:39:45.50312Z", T0 + timedelta(microseconds=503120)),
        ("2023-10-26T01:39:45.503123Z", T0 + timedelta(microseconds=503123)),
        ("2023-10-26T01:39:45.5031239Z", T0 + timedelta(microseconds=503123)),  # 7 digits
        ("2023-10-26T01:39:45.50312399Z", T0 + timedelta(microseconds=503123)),
        ("2023-10-26T01:39:45.503123999Z", T0 + timedelta(microseconds=503123)),  # 9: truncated
        ("2023-10-26T01:39:45.503+00:00", T0 + timedelta(microseconds=503000)),
        ("2023-10-26 01:39:45.503000+00:00", T0 + timedelta(microseconds=503000)),  # spec artefact
        ("2023-10-26 01:39:45Z", T0),
        ("2023-10-26T01:39:45", T0),  # no zone: UTC
        ("2023-10-26T01:39:45z", T0),
        ("2023-10-26T03:39:45+02:00", T0),
        ("2023-10-25T20:39:45-05:00", T0),
        ("2023-10-26T03:39:45+0200", T0),
        ("2023-10-26T01:39:45,503Z", T0 + timedelta(microseconds=503000)),
        ("2023-10-26", datetime(2023, 10, 26, tzinfo=timezone.utc)),
        ("2023-10-26T01:39Z", T0.replace(second=0)),
    ],
)
def test_timestamps_are_parsed_leniently(text, expected):
    assert parse_timestamp(text) == expected
    order = parse_order(dumps({"order_handle": "h", "status": "x", "scheduled_at": text}))
    assert order.scheduled_at == expected
    assert order.scheduled_at.tzinfo is not None


@pytest.mark.parametrize(
    "text",
    ["", "yesterday", "2023-13-01T00:00:00Z", "2023-02-30T00:00:00Z", "2023-10-26T25:00:00Z",
     "2023-10-26T01:39:45.1234567890Z", "2023-10-26T01:39:45+25:99", "1698284385", "9999-12-31T23:59:59-23:59",
     "2023-10-26T01:39:45Z trailing", "0000-01-01T00:00:00Z", "2023-10-26\x1b[2J", "x" * 100],
)
def test_a_garbage_timestamp_becomes_none_not_a_lost_order(text):
    assert parse_timestamp(text) is None
    order = parse_order(dumps({"order_handle": "h", "status": "x", "completed_at": text}))
    assert order.completed_at is None


@pytest.mark.parametrize("value", [1698284385, 1.5, True, [], {}])
def test_a_timestamp_of_the_wrong_type_becomes_none(value):
    order = parse_order(dumps({"order_handle": "h", "status": "x", "created_at": value}))
    assert order.created_at is None


def test_timestamps_format_back_in_the_api_form():
    assert format_timestamp(T0 + timedelta(microseconds=503999)) == "2023-10-26T01:39:45.503Z"


# --------------------------------------------------------------------------- refused input


@pytest.mark.parametrize(
    "fragment",
    [
        '"distance": NaN', '"distance": Infinity', '"distance": -Infinity', '"tracking_rate": NaN',
        '"distance": 1e400', '"distance": "NaN"', '"destination": {"radius": Infinity}',
        '"polyline": {"coordinates": [[NaN, 1]]}', '"polyline": {"coordinates": [[1, 2, Infinity]]}',
        '"estimate": {"distance": NaN}', '"metadata": {"weight": NaN}', '"brand_new": [Infinity]',
        '"risks": {"is_offline": NaN}', '"timeline": [{"type": "x", "v": NaN}]',
        '"start_location": {"type": "Point", "coordinates": [NaN, 1]}',
    ],
)
def test_nan_and_infinity_are_refused_everywhere(fragment):
    with pytest.raises(ValidationError):
        parse_order('{"order_handle": "h", "status": "x", ' + fragment + "}")


@pytest.mark.parametrize(
    "fields",
    [
        {"order_handle": 123}, {"order_handle": None}, {"order_handle": ["h"]}, {"order_handle": {}},
        {"order_handle": True}, {"status": None}, {"status": 1}, {"status": ["completed"]},
        {"status": {"value": "completed"}}, {"fulfillment_attempt": "many"}, {"risk_status": "maybe"},
        {"metadata": "not an object"}, {"destination": []},
    ],
)
def test_wrong_types_are_validation_errors(fields):
    with pytest.raises(ValidationError):
        parse_order(dumps({"order_handle": "h", "status": "completed", **fields}))


@pytest.mark.parametrize("missing", ["order_handle", "status"])
def test_the_two_required_fields_are_required(missing):
    body = {"order_handle": "h", "status": "completed"}
    del body[missing]
    with pytest.raises(ValidationError):
        parse_order(dumps(body))


@pytest.mark.parametrize("body", ["", "null", "[]", '"order"', "<html><body>502</body></html>",
                                  '{"order_handle": "h", "status": "comp', "\ufeff{}"])
def test_non_order_bodies_are_validation_errors(body):
    with pytest.raises(ValidationError):
        parse_order(body)


DEEP = 5000


@pytest.mark.parametrize(
    "body",
    [
        "[" * DEEP + "]" * DEEP,
        '{"order_handle": "h", "status": "x", "metadata": {"a": ' + "[" * DEEP + "]" * DEEP + "}}",
        '{"order_handle": "h", "status": "x", "brand_new": ' + '{"a":' * DEEP + "1" + "}" * DEEP + "}",
        '{"order_handle": "h", "status": "x", "timeline": [' + '{"type":' * DEEP + '"x"' + "}" * DEEP + "]}",
        '{"order_handle": "h", "status": "x", "distance": ' + "9" * 5000 + "}",
        '{"order_handle": "h", "status": "x", "metadata": {"n": -' + "9" * 5000 + "}}",
        '{"order_handle": "h", "status": "x", "brand_new": ' + "1" * 5000 + "}",
        '{"order_handle": ' + "7" * 5000 + ', "status": "x"}',
        '{"order_handle": "h", "status": "x", "distance": 1' + "0" * 5000 + ".5}",
    ],
    ids=["deep-top", "deep-metadata", "deep-extra", "deep-timeline", "bigint-distance",
         "bigint-metadata", "bigint-extra", "bigint-handle", "bigfloat"],
)
def test_deep_nesting_and_huge_numbers_are_validation_errors_not_crashes(body):
    with pytest.raises(ValidationError) as info:
        parse_order(body)
    assert len(str(info.value)) < 5000  # the error itself is printable and bounded
    with pytest.raises(ValidationError):
        parse_order_page('{"orders": [' + body + "]}") if body[0] == "{" else parse_order_page(body)


def _nested(depth: int) -> Any:
    value: Any = "leaf"
    for i in range(depth):
        value = {"k": value} if i % 2 else [value]
    return value


@pytest.mark.parametrize("field", ["metadata", "brand_new", "risks", "timeline"])
def test_deep_python_values_are_validation_errors_not_recursion_errors(field):
    value = {"k": _nested(DEEP)}
    if field == "timeline":
        value = [{"type": "custom", "x": _nested(DEEP)}]
    with pytest.raises(ValidationError):
        Order.model_validate({"order_handle": "h", "status": "x", field: value})


def test_duplicate_keys_last_one_wins():
    order = parse_order(
        '{"order_handle": "a", "status": "ongoing", "order_handle": "b", "status": "completed",'
        ' "risks": {"is_offline": "red"}, "risks": {"in_outage": "green"}}'
    )
    assert (order.order_handle, order.status) == ("b", "completed")
    assert order.risks == {"in_outage": "green"}


# --------------------------------------------------------------------------- list pages


def test_a_page_with_one_bad_order_keeps_the_others_and_reports_it():
    good = EXAMPLES["list_orders_response_page_1"]["orders"]
    bad = [
        {"order_handle": "ORD-bad\x1b]0;pwned\x07", "status": None},
        {"order_handle": 42, "status": "ongoing"},
        {"order_handle": "ORD-nan", "status": "ongoing", "distance": float("nan")},
        "not an order",
    ]
    body = json.dumps({"orders": [good[0], *bad, *good[1:]], "pagination_token": "t2",
                       "aggregate": {"orders": {"total": 7}}}, allow_nan=True)
    page = parse_order_page(body)
    assert [o.order_handle for o in page.orders] == [o["order_handle"] for o in good]
    assert page.pagination_token == "t2"
    assert page.model_extra == {"aggregate": {"orders": {"total": 7}}}
    assert len(page.skipped) == 4
    assert page.skipped[0].startswith("ORD-bad\\x1b]0;pwned\\x07: ")  # escaped in the report
    assert page.skipped[1].startswith("item 2: ")
    assert page.skipped[2].startswith("ORD-nan: ")
    assert page.skipped[3].startswith("item 4: ")
    assert all(not any(unicodedata.category(c) in FORBIDDEN for c in line) for line in page.skipped)


def test_a_server_cannot_inject_its_own_skipped_lines():
    page = parse_order_page(dumps({"orders": [], "skipped": ["\x1b[2J fake"]}))
    assert page.skipped == []
    assert page.model_extra == {"skipped": ["\\x1b[2J fake"]}


@pytest.mark.parametrize(
    ("body", "count"),
    [('{"orders": null}', 0), ("{}", 0), ('{"pagination_token": null}', 0),
     ('{"orders": [{"order_handle": "a", "status": null}]}', 0)],
)
def test_thin_pages_are_pages(body, count):
    page = parse_order_page(body)
    assert len(page.orders) == count and page.pagination_token is None


@pytest.mark.parametrize(
    "body",
    ["[]", '{"orders": "x"}', '{"orders": {}}', '{"orders": [], "pagination_token": 5}', "<html>", ""],
)
def test_a_body_that_is_not_a_page_is_a_validation_error(body):
    with pytest.raises(ValidationError):
        parse_order_page(body)


# --------------------------------------------------------------------------- hostile text

PAYLOAD = "\x1b]0;pwned\x07\x1b[2J\x9b\u202e\u200b\x00\x7f\U000e0041"


def _poison(value: Any) -> Any:
    if isinstance(value, str):
        return value + PAYLOAD
    if isinstance(value, list):
        return [_poison(v) for v in value]
    if isinstance(value, dict):
        out = {k: _poison(v) for k, v in value.items()}
        out["x-" + PAYLOAD] = PAYLOAD  # an unknown key at every level, too
        return out
    return value


def _strings(obj: Any, where: str = "order"):
    """Every string the model holds (values and keys, fields and extras), with its location."""
    if isinstance(obj, BaseModel):
        for name, value in {**obj.__dict__, **(obj.model_extra or {})}.items():
            yield f"{where}.{name}", name
            yield from _strings(value, f"{where}.{name}")
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield f"{where}[{key!r}]", key
            yield from _strings(value, f"{where}[{key!r}]")
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from _strings(value, f"{where}[{i}]")
    elif isinstance(obj, str):
        yield where, obj


@pytest.mark.parametrize("source", ["seed", "detail", "list_item"])
def test_every_string_an_order_holds_is_sanitized_except_the_handle(source):
    raw = {
        "seed": seed_order,
        "detail": lambda: EXAMPLES["order_detail_completed"],
        "list_item": lambda: EXAMPLES["list_orders_response_page_1"]["orders"][0],
    }[source]()
    poisoned = _poison(raw)
    order = parse_order(dumps(poisoned))
    checked = 0
    for where, text in _strings(order):
        if where == "order.order_handle":
            continue
        checked += 1
        bad = [hex(ord(c)) for c in text if unicodedata.category(c) in FORBIDDEN]
        assert not bad, f"{where} holds {bad}"
    assert checked > 50
    # The handle addresses the order: kept byte-exact, shown through display_handle.
    assert order.order_handle == poisoned["order_handle"]
    assert order.display_handle == raw["order_handle"] + (
        "\\x1b]0;pwned\\x07\\x1b[2J\\x9b\\u202e\\u200b\\x00\\x7f\\U000e0041"
    )
    # Nothing was dropped: the poisoned metadata is all there, escaped.
    assert len(order.metadata) == len(poisoned["metadata"])
    assert order.ref.describe().startswith(order.display_handle)


def test_sanitized_text_keeps_everything_visible():
    order = parse_order(dumps({"order_handle": "h", "status": "ongoing",
                               "destination": {"address": "1 Main St\x1b]0;t\x07 [bold]x[/]"}}))
    assert order.destination.address == "1 Main St\\x1b]0;t\\x07 [bold]x[/]"
    assert re.search(r"\[bold\]x\[/\]", order.destination.address)  # markup is the UI's job


def test_a_geometry_without_type_is_a_point_as_the_reference_schema_says():
    # PointGeometry in ../shared/reference requires only "coordinates" (type defaults to Point).
    order = parse_order(dumps({"order_handle": "h", "status": "ongoing",
                               "destination": {"geometry": {"coordinates": [-122.2, 37.8]}}}))
    assert order.destination.geometry.type == "Point"
    assert order.destination.geometry.lon_lat == (-122.2, 37.8)
