"""Route geometry against hand-computed values.

On a sphere of radius R = 6,371,008.8 m one degree of arc is R * pi / 180 = 111,195.0802 m, so
points along the equator or along a meridian have distances we know without a library.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.api.models import Destination, Order, Polyline, TrackPoint
from console.geo import (
    EARTH_RADIUS_M,
    MARK_DESTINATION,
    MARK_END,
    MARK_END_AT_DESTINATION,
    MARK_END_AT_DESTINATION_ASCII,
    MARK_START,
    BoundingBox,
    Position,
    braille_track,
    haversine_m,
    summarize_order,
    summarize_route,
)

ONE_DEGREE_M = 111_195.0802  # 6,371,008.8 m * pi / 180, by hand
T0 = datetime(2025, 3, 14, 16, 0, 0, tzinfo=timezone.utc)
EXAMPLES = Path("/work/shared/docs/hypertrack-orders-examples.json")


def pt(lon: float, lat: float, seconds: float | None = None) -> TrackPoint:
    when = T0 + timedelta(seconds=seconds) if seconds is not None else None
    return TrackPoint(lon=lon, lat=lat, recorded_at=when)


def dest(lon: float, lat: float, radius: float | None = 100) -> Destination:
    return Destination.model_validate(
        {"geometry": {"type": "Point", "coordinates": [lon, lat]}, "radius": radius}
    )


# --------------------------------------------------------------------------- haversine


def test_one_degree_along_the_equator_and_a_meridian() -> None:
    assert EARTH_RADIUS_M == 6_371_008.8
    assert haversine_m(0, 0, 1, 0) == pytest.approx(ONE_DEGREE_M, abs=0.001)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(ONE_DEGREE_M, abs=0.001)
    assert haversine_m(10, 45, 10, 46) == pytest.approx(ONE_DEGREE_M, abs=0.001)


def test_a_quarter_of_the_earth_and_the_antipode() -> None:
    assert haversine_m(0, 0, 90, 0) == pytest.approx(90 * ONE_DEGREE_M, rel=1e-9)
    assert haversine_m(0, 0, 0, 90) == pytest.approx(90 * ONE_DEGREE_M, rel=1e-9)
    assert haversine_m(0, 0, 180, 0) == pytest.approx(math.pi * EARTH_RADIUS_M, rel=1e-9)


def test_longitude_shrinks_with_cos_latitude() -> None:
    # Near 60° N a small step in longitude is half as long as at the equator.
    assert haversine_m(0, 60, 0.001, 60) == pytest.approx(0.001 * ONE_DEGREE_M * 0.5, rel=1e-5)


# --------------------------------------------------------------------------- summary


def test_empty_polyline_has_no_summary() -> None:
    assert summarize_route([], dest(0, 0)) is None


def test_equator_segment_with_a_known_duration() -> None:
    s = summarize_route([pt(0, 0, 0), pt(1, 0, 1000)], None)
    assert s is not None
    assert s.point_count == 2
    assert s.distance_m == pytest.approx(ONE_DEGREE_M, abs=0.001)
    assert s.started_at == T0 and s.ended_at == T0 + timedelta(seconds=1000)
    assert s.duration_s == 1000
    assert s.average_speed_mps == pytest.approx(111.1950802, abs=1e-6)
    assert s.top_speed_mps == pytest.approx(111.1950802, abs=1e-6)
    assert s.first == Position(0, 0) and s.last == Position(1, 0)
    assert s.destination is None and s.distance_to_destination_m is None
    assert s.inside_destination is None


def test_meridian_with_two_speeds() -> None:
    # 1° in 100 s (1,111.95 m/s), then 1° in 200 s (555.98 m/s): 2° in 300 s on average.
    s = summarize_route([pt(0, 0, 0), pt(0, 1, 100), pt(0, 2, 300)], None)
    assert s.distance_m == pytest.approx(2 * ONE_DEGREE_M, abs=0.001)
    assert s.duration_s == 300
    assert s.top_speed_mps == pytest.approx(1111.950802, abs=1e-5)
    assert s.average_speed_mps == pytest.approx(2 * ONE_DEGREE_M / 300, abs=1e-5)
    assert s.bbox == BoundingBox(min_lon=0, min_lat=0, max_lon=0, max_lat=2)


def test_repeated_points_add_nothing_and_zero_time_segments_are_skipped() -> None:
    # Parked 10 s, then 1° in 10 s; a repeated timestamp (dt == 0) must not divide by zero.
    points = [pt(0, 0, 0), pt(0, 0, 10), pt(0, 1, 20), pt(0, 1, 20)]
    s = summarize_route(points, None)
    assert s.distance_m == pytest.approx(ONE_DEGREE_M, abs=0.001)
    assert s.top_speed_mps == pytest.approx(ONE_DEGREE_M / 10, abs=1e-5)
    assert s.average_speed_mps == pytest.approx(ONE_DEGREE_M / 20, abs=1e-5)


def test_a_jump_with_no_time_between_has_no_speed() -> None:
    s = summarize_route([pt(0, 0, 5), pt(0, 1, 5)], None)
    assert s.distance_m == pytest.approx(ONE_DEGREE_M, abs=0.001)
    assert s.duration_s == 0
    assert s.top_speed_mps is None
    assert s.average_speed_mps is None


def test_an_untimed_point_in_the_middle_counts_toward_the_next_timed_segment() -> None:
    s = summarize_route([pt(0, 0, 0), pt(0, 1), pt(0, 2, 200)], None)
    assert s.distance_m == pytest.approx(2 * ONE_DEGREE_M, abs=0.001)
    assert s.top_speed_mps == pytest.approx(2 * ONE_DEGREE_M / 200, abs=1e-5)
    assert s.average_speed_mps == pytest.approx(2 * ONE_DEGREE_M / 200, abs=1e-5)


def test_lon_lat_only_polyline_has_no_time_figures() -> None:
    # The estimate's polyline is [lon, lat] pairs with no time at all.
    points = Polyline.model_validate({"coordinates": [[0, 0], [0, 0.5], [0.5, 0.5]]}).coordinates
    s = summarize_route(points, None)
    assert s.point_count == 3
    assert s.distance_m == pytest.approx(
        0.5 * ONE_DEGREE_M + haversine_m(0, 0.5, 0.5, 0.5), abs=0.001
    )
    assert s.started_at is s.ended_at is s.duration_s is None
    assert s.average_speed_mps is None and s.top_speed_mps is None


def test_destination_inside_and_outside_the_radius() -> None:
    # 0.0008° of latitude = 88.96 m; 0.001° = 111.20 m; the radius is 100 m.
    inside = summarize_route([pt(0, 0.0008)], dest(0, 0, radius=100))
    assert inside.distance_to_destination_m == pytest.approx(0.0008 * ONE_DEGREE_M, abs=0.001)
    assert inside.inside_destination is True
    outside = summarize_route([pt(0, 0.001)], dest(0, 0, radius=100))
    assert outside.distance_to_destination_m == pytest.approx(111.195, abs=0.001)
    assert outside.inside_destination is False
    # Exactly on the radius counts as inside.
    edge = summarize_route([pt(0, 0.001)], dest(0, 0, radius=haversine_m(0, 0, 0, 0.001)))
    assert edge.inside_destination is True


def test_destination_without_radius_or_geometry() -> None:
    s = summarize_route([pt(0, 0.001)], dest(0, 0, radius=None))
    assert s.distance_to_destination_m == pytest.approx(111.195, abs=0.001)
    assert s.destination_radius_m is None and s.inside_destination is None
    no_point = summarize_route([pt(0, 0.001)], Destination(address="somewhere", radius=50))
    assert no_point.destination is None and no_point.distance_to_destination_m is None
    assert no_point.inside_destination is None


def seed_order() -> Order:
    """The Complete Order reference page's example (a single-point polyline)."""
    seed = Path("/work/shared/seeds/000_bd2ddfd1cf404aa3.txt").read_text()
    start = seed.index('{  "order_handle"')
    return Order.model_validate(json.JSONDecoder().raw_decode(seed, start)[0])


def test_seed_single_point_polyline() -> None:
    order = seed_order()
    s = summarize_order(order)
    assert s.point_count == 1
    assert s.distance_m == 0
    assert s.first == s.last == Position(-121.877246, 37.371916)
    assert s.bbox == BoundingBox(-121.877246, 37.371916, -121.877246, 37.371916)
    assert s.started_at == s.ended_at == datetime(2023, 10, 26, 1, 39, 24, 125000, tzinfo=timezone.utc)
    assert s.duration_s == 0
    assert s.average_speed_mps is None and s.top_speed_mps is None
    # By hand: dlat 0.018695° = 2078.8 m; dlon 0.0098733° * cos(37.381°) = 872.3 m;
    # sqrt(2078.8² + 872.3²) = 2254.4 m, which the seed itself reports as
    # deviation_from_destination: 2254.
    assert s.distance_to_destination_m == pytest.approx(2254.4, abs=0.5)
    assert round(s.distance_to_destination_m) == order.deviation_from_destination
    assert s.destination_radius_m == 100 and s.inside_destination is False


def example_order() -> Order:
    return Order.model_validate(json.loads(EXAMPLES.read_text())["order_detail_completed"])


def test_example_order_figures() -> None:
    s = summarize_order(example_order())
    assert s.point_count == 10
    assert s.bbox == BoundingBox(-122.27781, 37.79486, -122.26729, 37.81239)
    assert s.duration_s == pytest.approx(1828.657)  # 16:32:02.114 → 17:02:30.771
    # Segment sums, each checked by the independent haversine above.
    coords = [(p.lon, p.lat) for p in example_order().polyline.coordinates]
    by_hand = sum(haversine_m(*a, *b) for a, b in zip(coords, coords[1:]))
    assert s.distance_m == pytest.approx(by_hand, abs=1e-6)
    assert 2100 < s.distance_m < 2250  # a 2.1 km straight line, slightly bent
    assert s.average_speed_mps == pytest.approx(s.distance_m / 1828.657)
    # The fastest leg is the second, by hand: dlat 0.00349° = 388.07 m, dlon 0.00208° at
    # cos(37.7988°) = 0.79020 → 182.76 m; sqrt(388.07² + 182.76²) = 428.95 m in
    # 16:36:12.877 - 16:33:40.305 = 152.572 s → 2.8115 m/s (10.1 km/h).
    assert s.top_speed_mps == pytest.approx(2.8115, abs=0.0005)
    assert s.inside_destination is True
    assert s.distance_to_destination_m == pytest.approx(23.4, abs=0.1)  # API says 23


# --------------------------------------------------------------------------- drawing


def test_drawing_has_the_requested_size_and_markers() -> None:
    order = example_order()
    lines = braille_track(order.polyline.coordinates, order.destination, 30, 6)
    assert len(lines) == 6 and all(len(line) == 30 for line in lines)
    joined = "".join(lines)
    assert joined.count(MARK_START) == 1
    # The track ends 23 m from the destination: the same cell at this scale.
    assert joined.count(MARK_END_AT_DESTINATION) == 1
    assert any(0x2800 < ord(c) <= 0x28FF for c in joined)  # braille dots drawn


def test_drawing_separates_end_and_destination_when_far_apart() -> None:
    order = seed_order()
    lines = braille_track(order.polyline.coordinates, order.destination, 20, 5)
    joined = "".join(lines)
    # A single point is both start and end: the end wins.
    assert joined.count(MARK_END) == 1 and MARK_START not in joined
    assert joined.count(MARK_DESTINATION) == 1
    # The destination is north-west of the point: above it and to its left.
    (er, ec), (dr, dc) = (
        next((r, line.index(m)) for r, line in enumerate(lines) if m in line)
        for m in (MARK_END, MARK_DESTINATION)
    )
    assert dr < er and dc < ec


def test_ascii_drawing_uses_only_ascii() -> None:
    order = example_order()
    lines = braille_track(order.polyline.coordinates, order.destination, 30, 6, ascii=True)
    assert len(lines) == 6 and all(len(line) == 30 for line in lines)
    joined = "".join(lines)
    assert joined.isascii()
    assert set(joined) <= {" ", ".", "o", "S", "E", "D", MARK_END_AT_DESTINATION_ASCII}
    assert "o" in joined and "S" in joined and MARK_END_AT_DESTINATION_ASCII in joined


def test_ascii_drawing_draws_lines_between_points() -> None:
    lines = braille_track([pt(0, 0), pt(1, 0)], None, 10, 1, ascii=True)
    assert lines == ["S........E"]


def _cell_extent(lines: list[str]) -> tuple[int, int]:
    cells = [(x, y) for y, line in enumerate(lines) for x, c in enumerate(line) if c != " "]
    xs, ys = [x for x, _ in cells], [y for _, y in cells]
    return max(xs) - min(xs) + 1, max(ys) - min(ys) + 1


def test_drawing_keeps_the_aspect_at_high_latitude() -> None:
    # At 60° N, 0.02° of longitude is as long as 0.01° of latitude: an L of two equal legs.
    # Braille dots are square, so the picture is twice as many cells wide as tall.
    points = [pt(0, 60), pt(0.02, 60), pt(0.02, 60.01)]
    wide, tall = _cell_extent(braille_track(points, None, 40, 10))
    assert tall == 10 and wide == 20
    wide, tall = _cell_extent(braille_track(points, None, 40, 10, ascii=True))
    # One dot per cell, two across per one down: 2 x (10 - 1) + 1 = 19 columns, give or take
    # one for rounding (cos of the mid latitude 60.005° is a hair under 0.5).
    assert tall == 10 and abs(wide - 19) <= 1


def test_drawing_of_nothing_or_a_zero_size() -> None:
    assert braille_track([], None, 5, 2) == ["     ", "     "]
    assert braille_track([pt(0, 0)], None, 0, 3) == ["", "", ""]
    assert braille_track([pt(0, 0)], None, 3, 0) == []
    assert braille_track([], dest(0, 0), 3, 1) == [" D "]


# --------------------------------------------------------------------------- properties

lons = st.floats(min_value=-180, max_value=180, allow_nan=False)
lats = st.floats(min_value=-90, max_value=90, allow_nan=False)
times = st.none() | st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(timezone.utc)
)
points_st = st.lists(
    st.builds(lambda lon, lat, t: TrackPoint(lon=lon, lat=lat, recorded_at=t), lons, lats, times),
    max_size=12,
)
destinations = st.none() | st.builds(
    lambda lon, lat, r: dest(lon, lat, r),
    lons, lats, st.none() | st.floats(min_value=0, max_value=1e7, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(points_st, destinations)
def test_summary_never_raises_and_distance_is_at_least_the_straight_line(points, destination):
    s = summarize_route(points, destination)
    if not points:
        assert s is None
        return
    assert s.point_count == len(points)
    assert s.distance_m >= 0
    straight = s.first.distance_to(s.last)
    assert s.distance_m >= straight - 1e-6 * (1 + straight)
    for speed in (s.average_speed_mps, s.top_speed_mps):
        assert speed is None or (speed >= 0 and math.isfinite(speed))
    if s.duration_s is not None:
        assert s.duration_s >= 0
    assert s.bbox.min_lon <= s.bbox.max_lon and s.bbox.min_lat <= s.bbox.max_lat


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(lons, lats, st.integers(0, 10_000)), min_size=2, max_size=10,
        unique_by=lambda p: p[2],
    ),
)
def test_average_speed_never_exceeds_top_speed(raw):
    # With times strictly increasing, the average is a weighted mean of the segment speeds.
    # (A jump with no time between is left out of the top speed but not out of the distance,
    # so with repeated times the average may exceed the top: by design, see RouteSummary.)
    raw = sorted(raw, key=lambda p: p[2])
    s = summarize_route([pt(lon, lat, t) for lon, lat, t in raw], None)
    if s.average_speed_mps is not None:
        assert s.top_speed_mps is not None
        assert s.average_speed_mps <= s.top_speed_mps * (1 + 1e-9) + 1e-9


@settings(max_examples=100, deadline=None)
@given(points_st, destinations, st.integers(0, 50), st.integers(0, 12), st.booleans())
def test_drawing_never_raises_and_fills_the_box(points, destination, width, height, ascii):
    lines = braille_track(points, destination, width, height, ascii=ascii)
    assert len(lines) == height
    assert all(len(line) == width for line in lines)
    if ascii:
        assert all(line.isascii() for line in lines)


# --------------------------------------------------------------------------- unreadable points

#: Points the reference schema allows (any array) that hold no usable position.
ODD_POINTS = [[], [0], ["a", "b"], [200, 10], [None, None], ["NaN", "1"], [[1, 2], [3, 4]]]


def order_with_odd_points(status: str = "completed", handle: str = "h-1") -> dict:
    good = json.loads(EXAMPLES.read_text())["order_detail_completed"]
    coordinates = list(good["polyline"]["coordinates"])
    # Odd points at the start, in the middle and at the end: none may shift the route.
    for index, point in zip((0, 5, len(coordinates)), (ODD_POINTS[:3], ODD_POINTS[3:5], ODD_POINTS[5:])):
        coordinates[index:index] = point
    coordinates.insert(3, None)  # not even an array
    return {**good, "order_handle": handle, "status": status,
            "polyline": {"type": "LineString", "coordinates": coordinates}}


def test_unreadable_points_are_left_out_of_the_summary_and_counted() -> None:
    order = Order.model_validate(order_with_odd_points())
    s = summarize_order(order)
    # The same figures as the clean example: the odd points changed nothing but the count.
    clean = summarize_order(example_order())
    assert s.point_count == clean.point_count == 10
    assert (s.distance_m, s.first, s.last, s.bbox) == (clean.distance_m, clean.first, clean.last, clean.bbox)
    assert (s.duration_s, s.top_speed_mps) == (clean.duration_s, clean.top_speed_mps)
    assert s.unreadable_points == len(ODD_POINTS) + 1
    assert clean.unreadable_points == 0


def test_a_route_of_only_unreadable_points_has_no_summary_but_a_count() -> None:
    order = Order.model_validate({"order_handle": "h", "status": "ongoing",
                                  "polyline": {"type": "LineString", "coordinates": ODD_POINTS}})
    assert summarize_order(order) is None
    assert order.polyline.unreadable == len(ODD_POINTS)


def _mock_client(body: dict):
    from tests.support.api_mock import Server, json_response

    server = Server(lambda request: json_response(body))
    return server, server.client()


async def test_a_completion_answer_with_unreadable_points_is_the_completed_order() -> None:
    server, client = _mock_client(order_with_odd_points("completed", "ORD-1"))
    async with client:
        done = await client.complete_order("ORD-1")
        fetched = await client.get_order("ORD-1")
    assert [s.method for s in server.seen] == ["POST", "GET"]
    for order in (done, fetched):
        assert order.order_handle == "ORD-1" and order.status == "completed"
        assert len(order.polyline.coordinates) == 10
        assert order.polyline.unreadable == len(ODD_POINTS) + 1


@pytest.fixture
def odd_points_served(monkeypatch):
    """The sandbox over loopback HTTP, its ongoing orders' polylines salted with the schema-valid
    odd points (the sandbox never makes them itself)."""
    from console.sandbox.order import SimOrder
    from console.sandbox.server import serve_in_thread
    from tests.support.sandbox_fixtures import make_sandbox

    real = SimOrder.polyline

    def salted(self, now):
        points = real(self, now)
        return [*ODD_POINTS[:4], *points[:2], *ODD_POINTS[4:], *points[2:]] if points else points

    monkeypatch.setattr(SimOrder, "polyline", salted)
    sb = make_sandbox()
    with serve_in_thread(sb) as base_url:
        yield base_url, sb


async def test_odd_points_from_the_sandbox_over_http_leave_the_completion_applied(odd_points_served) -> None:
    from console.api import OrdersClient

    base_url, sb = odd_points_served
    o = next(o for o in sb.orders("ongoing") if o.plan is not None and o.started_at is not None)
    async with OrdersClient(base_url=base_url, credentials=sb.credentials) as client:
        before = await client.get_order(o.handle, fulfillment_attempt=o.attempt)
        assert before.polyline is not None and before.polyline.unreadable == len(ODD_POINTS)
        assert before.polyline.coordinates and summarize_order(before).point_count == len(before.polyline.coordinates)
        done = await client.complete(before.ref)
    assert done.status == "completed" and done.order_handle == o.handle
    assert done.polyline.unreadable == len(ODD_POINTS)
    assert sb.stats.completions_applied == {o.key: 1}
    assert sb.stats.posts_received[(o.handle, "complete")] == 1
