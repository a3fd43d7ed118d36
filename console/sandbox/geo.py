"""Geography of the simulated fleet: the Bay Area places it works in, and the little geometry it
needs (distances, bearings, timed tracks). Coordinates are always ``(lon, lat)``: longitude first,
as GeoJSON and HyperTrack have it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass, field

M_PER_DEG_LAT = 111_320.0


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Distance in metres (equirectangular: within 0.1% of great-circle over a metro area, and
    several times cheaper, which matters when 50,000 orders are planned)."""
    k = math.cos(math.radians((lat1 + lat2) * 0.5))
    return math.hypot((lon2 - lon1) * k, lat2 - lat1) * M_PER_DEG_LAT


def to_local(lon: float, lat: float, origin: tuple[float, float]) -> tuple[float, float]:
    """Metres east and north of ``origin`` (flat-earth)."""
    k = math.cos(math.radians(origin[1]))
    return (lon - origin[0]) * k * M_PER_DEG_LAT, (lat - origin[1]) * M_PER_DEG_LAT


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial compass bearing from the first point to the second, 0-360 degrees."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    """The point ``east_m``/``north_m`` metres away (flat-earth: fine over a few kilometres)."""
    dlat = north_m / M_PER_DEG_LAT
    dlon = east_m / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


def round_coord(value: float) -> float:
    # Six decimals is ~0.1 m: what GPS fixes in HyperTrack's examples carry.
    return round(value, 6)


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Area:
    """One ops group's service area: a land-only box, its depot, streets and postcodes."""

    ops_group_handle: str
    city: str
    depot: tuple[float, float]
    lon_range: tuple[float, float]
    lat_range: tuple[float, float]
    streets: tuple[str, ...]
    zips: tuple[str, ...]
    altitude: tuple[float, float]  # low and high ground in metres
    timezone: str = "America/Los_Angeles"
    cities: tuple[str, ...] = field(default=())

    def altitude_at(self, lon: float, lat: float) -> float:
        """A smooth, made-up terrain: the same place always has the same height."""
        low, high = self.altitude
        wave = (math.sin(lon * 157.0) + math.sin(lat * 211.0) + 2.0) / 4.0
        return round(low + (high - low) * wave, 2)


AREAS: tuple[Area, ...] = (
    Area(
        "oak-depot", "Oakland", (-122.27953, 37.79854), (-122.2850, -122.1800), (37.7650, 37.8350),
        ("Broadway", "Telegraph Ave", "Grand Ave", "MacArthur Blvd", "International Blvd",
         "Foothill Blvd", "Park Blvd", "Lakeshore Ave", "College Ave", "Piedmont Ave",
         "San Pablo Ave", "Market St", "Webster St", "Harrison St", "Fruitvale Ave", "E 14th St",
         "High St", "Lincoln Ave", "Adeline St", "Martin Luther King Jr Way"),
        ("94601", "94602", "94606", "94607", "94609", "94610", "94611", "94612", "94618", "94619"),
        (4.0, 120.0),
    ),
    Area(
        "berkeley-hub", "Berkeley", (-122.28910, 37.83880), (-122.3000, -122.2450), (37.8350, 37.8900),
        ("Shattuck Ave", "University Ave", "Telegraph Ave", "Ashby Ave", "Dwight Way",
         "San Pablo Ave", "Solano Ave", "Hopkins St", "Adeline St", "Sacramento St", "Cedar St",
         "Gilman St", "College Ave", "Milvia St"),
        ("94702", "94703", "94704", "94705", "94707", "94708", "94709", "94710"),
        (6.0, 95.0),
        cities=("Berkeley", "Berkeley", "Berkeley", "Emeryville", "Albany"),
    ),
    Area(
        "sf-mission", "San Francisco", (-122.40610, 37.76430), (-122.4800, -122.3950), (37.7350, 37.8000),
        ("Mission St", "Valencia St", "Market St", "Folsom St", "Geary Blvd", "Divisadero St",
         "Irving St", "Judah St", "24th St", "Cortland Ave", "Haight St", "Fillmore St", "Castro St",
         "Noriega St", "Church St", "Guerrero St", "Potrero Ave", "Bryant St"),
        ("94103", "94107", "94110", "94112", "94114", "94115", "94117", "94122", "94131"),
        (3.0, 110.0),
    ),
    Area(
        "sj-north", "San Jose", (-121.88712, 37.39061), (-121.9600, -121.8200), (37.3000, 37.4100),
        ("N 1st St", "Story Rd", "The Alameda", "E Santa Clara St", "Tully Rd", "Capitol Expy",
         "Berryessa Rd", "Hedding St", "Lincoln Ave", "Bascom Ave", "Meridian Ave",
         "Automation Pkwy", "Zanker Rd", "Montague Expy"),
        ("95110", "95112", "95116", "95122", "95126", "95128", "95131", "95134"),
        (18.0, 45.0),
    ),
)


# --------------------------------------------------------------------------- timed tracks


class Track:
    """Where a worker is at each moment of one order: a piecewise-linear path in time.

    Built once from waypoints and times; read lazily (a polyline is sampled only when an order's
    detail is asked for), so a fleet of 50,000 orders costs a few floats per order until then.
    """

    __slots__ = ("ts", "lons", "lats", "cum")

    def __init__(self, start: float, lon: float, lat: float) -> None:
        self.ts = [start]
        self.lons = [lon]
        self.lats = [lat]
        self.cum = [0.0]

    def go(self, lon: float, lat: float, speed_mps: float) -> None:
        """Drive in a straight line to ``(lon, lat)`` at ``speed_mps``."""
        d = distance_m(self.lons[-1], self.lats[-1], lon, lat)
        self.ts.append(self.ts[-1] + d / speed_mps)
        self.lons.append(lon)
        self.lats.append(lat)
        self.cum.append(self.cum[-1] + d)

    def stay(self, seconds: float) -> None:
        self.ts.append(self.ts[-1] + seconds)
        self.lons.append(self.lons[-1])
        self.lats.append(self.lats[-1])
        self.cum.append(self.cum[-1])

    @property
    def start(self) -> float:
        return self.ts[0]

    @property
    def end(self) -> float:
        return self.ts[-1]

    def _locate(self, t: float) -> tuple[int, float]:
        if t <= self.ts[0]:
            return 0, 0.0
        if t >= self.ts[-1]:
            return len(self.ts) - 1, 0.0
        i = bisect_right(self.ts, t) - 1
        span = self.ts[i + 1] - self.ts[i]
        return i, (t - self.ts[i]) / span if span > 0 else 0.0

    def position(self, t: float) -> tuple[float, float]:
        i, f = self._locate(t)
        if f == 0.0:
            return self.lons[i], self.lats[i]
        return (
            self.lons[i] + (self.lons[i + 1] - self.lons[i]) * f,
            self.lats[i] + (self.lats[i + 1] - self.lats[i]) * f,
        )

    def travelled(self, t: float) -> float:
        """Metres driven by time ``t``."""
        i, f = self._locate(t)
        if f == 0.0:
            return self.cum[i]
        return self.cum[i] + (self.cum[i + 1] - self.cum[i]) * f

    def speed(self, t: float) -> float:
        i, _ = self._locate(t)
        if i >= len(self.ts) - 1:
            return 0.0
        span = self.ts[i + 1] - self.ts[i]
        return (self.cum[i + 1] - self.cum[i]) / span if span > 0 else 0.0

    def heading(self, t: float) -> float:
        i, _ = self._locate(t)
        j = min(i + 1, len(self.ts) - 1)
        while j < len(self.ts) - 1 and self.cum[j] == self.cum[i]:
            j += 1
        if self.cum[j] == self.cum[i]:
            return 0.0
        return bearing_deg(self.lons[i], self.lats[i], self.lons[j], self.lats[j])

    def time_at_distance(self, metres: float) -> float:
        """When the worker has driven ``metres`` (the end time if never)."""
        if metres <= 0:
            return self.ts[0]
        i = bisect_right(self.cum, metres)
        if i >= len(self.cum):
            return self.ts[-1]
        seg = self.cum[i] - self.cum[i - 1]
        f = (metres - self.cum[i - 1]) / seg if seg > 0 else 0.0
        return self.ts[i - 1] + (self.ts[i] - self.ts[i - 1]) * f

    def remaining_path(self, t: float, until: float) -> list[list[float]]:
        """``[lon, lat]`` pairs from the position at ``t`` to the position at ``until``."""
        out = [list(map(round_coord, self.position(t)))]
        for i, ts in enumerate(self.ts):
            if t < ts < until:
                point = [round_coord(self.lons[i]), round_coord(self.lats[i])]
                if point != out[-1]:
                    out.append(point)
        last = list(map(round_coord, self.position(until)))
        if last != out[-1]:
            out.append(last)
        return out
