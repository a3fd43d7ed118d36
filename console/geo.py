"""Route geometry: what an order's polyline says about the trip, and a tiny drawing of it.

Pure Python (no Textual, no I/O) so it can be tested with hand-computed fixtures.

Distances are great-circle distances on a sphere of radius :data:`EARTH_RADIUS_M` (the IUGG
mean Earth radius, 6,371,008.8 m). On that sphere one degree of latitude is 111,195.08 m. The
spherical model is off from the WGS84 ellipsoid by up to ~0.5 %, which is far below what a
supervisor can act on and far below GPS noise.

Points are ``[lon, lat]`` (GeoJSON order). Tracks that cross the antimeridian (±180°) are not
special-cased in the drawing: dispatch routes do not cross it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: importing this module does not build the pydantic models
    from console.api.models import Destination, Order, TrackPoint

#: IUGG mean Earth radius (R1), in metres.
EARTH_RADIUS_M = 6_371_008.8


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two ``lon, lat`` positions (degrees).

    Uses the mean Earth radius :data:`EARTH_RADIUS_M` = 6,371,008.8 m.
    """
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    # Rounding can push ``a`` a hair outside [0, 1] for (near-)antipodal points; asin would raise.
    a = min(1.0, max(0.0, a))
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True, slots=True)
class Position:
    lon: float
    lat: float

    def distance_to(self, other: "Position") -> float:
        return haversine_m(self.lon, self.lat, other.lon, other.lat)


@dataclass(frozen=True, slots=True)
class BoundingBox:
    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float


@dataclass(frozen=True, slots=True)
class RouteSummary:
    """What the polyline says. Time-based figures are None when the points carry no times."""

    point_count: int
    first: Position
    last: Position
    bbox: BoundingBox
    #: Sum of the great-circle lengths of consecutive segments (repeated points add 0).
    distance_m: float
    #: Earliest and latest ``recorded_at`` among the points, and the seconds between them.
    started_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    #: Distance between the first and the last timed point, divided by their time apart.
    average_speed_mps: float | None
    #: Fastest segment between consecutive timed points; segments with no time between them
    #: are skipped (they would divide by zero). Reported as measured: GPS jumps show up here.
    top_speed_mps: float | None
    destination: Position | None
    destination_radius_m: float | None
    #: Last position to the destination point, and whether that is within the radius.
    distance_to_destination_m: float | None
    inside_destination: bool | None
    #: Polyline entries left out because they hold no readable position (see
    #: :func:`unreadable_points`); every figure above is over the readable points only.
    unreadable_points: int = 0


def destination_position(destination: Destination | None) -> Position | None:
    if destination is None or destination.geometry is None:
        return None
    lon_lat = destination.geometry.lon_lat
    return Position(*lon_lat) if lon_lat is not None else None


def summarize_route(
    points: Sequence[TrackPoint], destination: Destination | None, *, unreadable: int = 0
) -> RouteSummary | None:
    """Summarize a polyline; None when there are no (readable) points.

    ``unreadable``: how many entries of the polyline were left out, carried into the summary.
    """
    if not points:
        return None
    positions = [Position(float(p.lon), float(p.lat)) for p in points]

    distance = 0.0
    # Speeds are measured between consecutive *timed* points; untimed points in between still
    # add their path length to the segment.
    path_since_timed = 0.0
    path_at_first_timed: float | None = None
    path_at_last_timed = 0.0
    previous_time: datetime | None = None
    top_speed: float | None = None
    times: list[datetime] = []
    for index, point in enumerate(points):
        if index:
            step = positions[index - 1].distance_to(positions[index])
            distance += step
            path_since_timed += step
        when = point.recorded_at
        if when is None:
            continue
        times.append(when)
        if path_at_first_timed is None:
            path_at_first_timed = distance
        else:
            dt = (when - previous_time).total_seconds() if previous_time else 0.0
            if dt > 0:
                speed = path_since_timed / dt
                top_speed = speed if top_speed is None else max(top_speed, speed)
        path_at_last_timed = distance
        previous_time = when
        path_since_timed = 0.0

    started_at = min(times) if times else None
    ended_at = max(times) if times else None
    duration = (ended_at - started_at).total_seconds() if started_at and ended_at else None
    average_speed = None
    if duration and path_at_first_timed is not None:
        average_speed = (path_at_last_timed - path_at_first_timed) / duration

    dest = destination_position(destination)
    radius_m = _finite_float(destination.radius) if destination is not None else None
    to_dest = positions[-1].distance_to(dest) if dest is not None else None
    inside = to_dest <= radius_m if to_dest is not None and radius_m is not None else None

    return RouteSummary(
        point_count=len(points),
        first=positions[0],
        last=positions[-1],
        bbox=BoundingBox(
            min_lon=min(p.lon for p in positions),
            min_lat=min(p.lat for p in positions),
            max_lon=max(p.lon for p in positions),
            max_lat=max(p.lat for p in positions),
        ),
        distance_m=distance,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration,
        average_speed_mps=average_speed,
        top_speed_mps=top_speed,
        destination=dest,
        destination_radius_m=radius_m,
        distance_to_destination_m=to_dest,
        inside_destination=inside,
        unreadable_points=unreadable,
    )


def _finite_float(value: object) -> float | None:
    # A radius is any JSON number: a 400-digit integer would raise OverflowError in float().
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def summarize_order(order: Order) -> RouteSummary | None:
    """The route summary of a full order (list summaries have no polyline: None)."""
    points = order.polyline.coordinates if order.polyline is not None else []
    return summarize_route(points, order.destination, unreadable=unreadable_points(order))


def unreadable_points(order: Order) -> int:
    """How many of the order's polyline entries hold no readable position (``[]``, ``[0]``,
    ``["a", "b"]``, ``[200, 10]``, ...): left out of the route, and counted so the supervisor
    knows the track shown is missing them. Known even when no point at all is readable."""
    return order.polyline.unreadable if order.polyline is not None else 0


# --------------------------------------------------------------------------- drawing

#: Marker characters. Letters read without colour; the UI may colour them too.
MARK_START = "S"
MARK_END = "E"
MARK_DESTINATION = "D"
#: The end of the track in the same cell as the destination (the usual completed order).
MARK_END_AT_DESTINATION = "◉"
MARK_END_AT_DESTINATION_ASCII = "*"
MARKERS = frozenset({MARK_START, MARK_END, MARK_DESTINATION, MARK_END_AT_DESTINATION,
                     MARK_END_AT_DESTINATION_ASCII})

# Braille dot bits by (column, row) inside a 2x4 cell (Unicode "Braille Patterns" block).
_BRAILLE_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
_BRAILLE_BLANK = 0x2800


def track_legend(ascii: bool = False) -> str:
    both = MARK_END_AT_DESTINATION_ASCII if ascii else MARK_END_AT_DESTINATION
    # Short enough to fit on the drawing's frame at 40 columns.
    return f"S start  E end  D destination  {both} E at D"


def braille_track(
    points: Sequence[TrackPoint],
    destination: Destination | None,
    width: int,
    height: int,
    *,
    ascii: bool = False,
) -> list[str]:
    """Draw the track and the destination into ``height`` lines of ``width`` cells.

    Braille mode puts 2x4 dots in each cell; as a terminal cell is about twice as tall as it is
    wide, the dots are square. ASCII mode has one dot per cell, so a cell is two units tall.
    Longitude is scaled by cos(latitude) so the picture keeps the shape seen on a map.
    The start is ``S``, the end ``E``, the destination ``D``; when the end is in the destination's
    cell the cell shows ``◉`` (``*`` in ASCII). Priority when markers collide: that combined
    marker, then ``E``, then ``D``, then ``S``. In ASCII, recorded points are ``o`` and the lines
    between them ``.``.
    """
    width, height = max(0, int(width)), max(0, int(height))
    if width == 0 or height == 0:
        return [""] * height
    blank_row = " " * width
    track = [Position(float(p.lon), float(p.lat)) for p in points]
    dest = destination_position(destination)
    everything = track + ([dest] if dest is not None else [])
    if not everything:
        return [blank_row] * height

    # Equirectangular projection around the mean latitude: fine over a city, and it keeps the
    # aspect right, which is all a thumbnail needs.
    mid_lat = (min(p.lat for p in everything) + max(p.lat for p in everything)) / 2
    kx = math.cos(math.radians(mid_lat))
    xs = [p.lon * kx for p in everything]
    ys = [p.lat for p in everything]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)

    dots_w, dots_h = (width, height) if ascii else (width * 2, height * 4)
    dot_aspect = 2.0 if ascii else 1.0  # a dot's height over its width
    span_x, span_y = max_x - min_x, max_y - min_y
    scale_candidates = []
    if span_x > 0:
        scale_candidates.append((dots_w - 1) / span_x)
    if span_y > 0:
        scale_candidates.append((dots_h - 1) * dot_aspect / span_y)
    scale = min(scale_candidates) if scale_candidates else 0.0  # dots (across) per unit
    # Centre the picture: leftover room is split evenly on both sides.
    off_x = ((dots_w - 1) - span_x * scale) / 2
    off_y = ((dots_h - 1) - span_y * scale / dot_aspect) / 2

    def to_dot(p: Position) -> tuple[int, int]:
        x = off_x + (p.lon * kx - min_x) * scale
        y = off_y + (max_y - p.lat) * scale / dot_aspect
        return (min(dots_w - 1, max(0, round(x))), min(dots_h - 1, max(0, round(y))))

    track_dots = [to_dot(p) for p in track]
    line_dots: set[tuple[int, int]] = set()
    for a, b in zip(track_dots, track_dots[1:]):
        line_dots.update(_line(a, b))
    line_dots.update(track_dots)

    def cell_of(dot: tuple[int, int]) -> tuple[int, int]:
        return (dot[0], dot[1]) if ascii else (dot[0] // 2, dot[1] // 4)

    markers: dict[tuple[int, int], str] = {}
    # Written lowest priority first so that later ones win.
    if track_dots:
        markers[cell_of(track_dots[0])] = MARK_START
    if dest is not None:
        markers[cell_of(to_dot(dest))] = MARK_DESTINATION
    if track_dots:
        end_cell = cell_of(track_dots[-1])
        at_dest = dest is not None and end_cell == cell_of(to_dot(dest))
        if at_dest:
            markers[end_cell] = MARK_END_AT_DESTINATION_ASCII if ascii else MARK_END_AT_DESTINATION
        else:
            markers[end_cell] = MARK_END

    if ascii:
        grid = [[" "] * width for _ in range(height)]
        for x, y in line_dots:
            grid[y][x] = "."
        for x, y in track_dots:
            grid[y][x] = "o"
    else:
        bits = [[0] * width for _ in range(height)]
        for x, y in line_dots:
            bits[y // 4][x // 2] |= _BRAILLE_BITS[x % 2][y % 4]
        # Empty cells are plain spaces: some fonts draw U+2800 as a faint dot pattern.
        grid = [[chr(_BRAILLE_BLANK + b) if b else " " for b in row] for row in bits]
    for (cx, cy), mark in markers.items():
        grid[cy][cx] = mark
    return ["".join(row) for row in grid]


def _line(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """Bresenham's line from ``a`` to ``b``, both ends included."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    out = []
    while True:
        out.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return out
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy
