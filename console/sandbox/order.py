"""One simulated order and how it looks on the wire.

An order keeps only its facts (times, places, who, what it is); everything that follows from them
(milestones, the timeline, the polyline, the estimate) is derived when it is read, as of a given
moment. That keeps a 50,000-order fleet cheap: the expensive parts are built only for the orders a
client actually asks about.

Wire rules (see shared/docs/hypertrack-orders-api.md):
- list items are summaries: no ``timeline``, ``polyline``, ``start_location``, ``end_location``;
- a field that does not apply is left out, never sent as null (nulls appear only inside events);
- timestamps are ``YYYY-MM-DDTHH:MM:SS.mmmZ``; coordinates are ``[lon, lat]``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from console.sandbox.clock import iso
from console.sandbox.geo import Area, Track, distance_m, offset, round_coord
from console.sandbox.rand import code_from, unit, uuid_from

RISK_KEYS = (
    "is_offline", "moving_away_from_destination", "delayed_from_scheduled_at",
    "deviating_from_expected_route", "in_outage", "moving_too_slow", "delayed_from_initial_eta",
    "in_low_battery",
)
OPEN_STATUSES = frozenset({"unplanned", "planned", "assigned", "dispatched", "ongoing", "disabled"})
TERMINAL_STATUSES = frozenset({"completed", "cancelled"})
GRID_FACTOR = 1.3  # city streets are about this much longer than the straight line
PLANNING_SPEED_MPS = 9.0
#: Slower than this (m/s), a worker is standing: an ETA assumes the planning speed instead.
MOVING_MPS = 1.0

# A list summary is a pure function of the order and a time bucket: the bytes are cached per
# bucket, so a refreshing console sees ETAs move at most this often.
SUMMARY_BUCKET_S = 15.0

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def to_json(value: Any) -> bytes:
    return _dumps(value).encode("utf-8")


@dataclass(eq=False)
class Worker:
    handle: str
    name: str
    device_id: str
    area: Area
    route_handle: str
    shift_start: float
    pos: tuple[float, float]
    route: list["SimOrder"] = field(default_factory=list)
    current: "SimOrder | None" = None


class Plan:
    """What physically happens once an order starts: the worker's track and its milestones.

    ``outcome`` is what the worker will do at the door: ``complete``, ``abandon`` (leave without
    completing, so the order stays open for a supervisor), ``cancel`` (customer turned it down)
    or ``reschedule`` (a failed attempt; a new attempt follows).
    """

    __slots__ = (
        "track", "drive_len", "parked_t", "arrive_t", "service_start", "service_end", "exit_t",
        "finish_t", "outcome", "park",
    )

    def __init__(self, track: Track, drive_len: float, parked_t: float, arrive_t: float,
                 service_start: float, service_end: float, exit_t: float, finish_t: float,
                 outcome: str, park: tuple[float, float]) -> None:
        self.track = track
        self.drive_len = drive_len
        self.parked_t = parked_t
        self.arrive_t = arrive_t
        self.service_start = service_start
        self.service_end = service_end
        self.exit_t = exit_t
        self.finish_t = finish_t
        self.outcome = outcome
        self.park = park


class SimOrder:
    """One order leg and attempt: identity ``(order_handle, type, type_index, fulfillment_attempt)``."""

    __slots__ = (
        "uid", "seq", "seed", "handle", "type", "type_index", "attempt", "area", "city", "worker",
        "status", "created_at", "planned_at", "assigned_at", "started_at", "scheduled_after",
        "scheduled_at", "completed_at", "cancelled_at", "disabled_at", "enabled_at", "resumes", "rescheduled_marked_at",
        "dest", "address", "radius", "origin", "trip_len", "trip_dur", "start_by", "initial_eta",
        "plan", "cut", "ended_by", "end_pos", "metadata", "priority", "product_type",
        "capacity", "expected_service", "track_mode", "plan_mode", "plan_id", "route_handle",
        "planning_failure_reason", "previous", "risks", "risk_round", "fate", "fate_t",
        "successor", "start_pending", "_share_url", "version", "risk_version", "_summary", "_summary_bucket", "_search",
    )

    def __init__(self, uid: int, seed: int, area: Area) -> None:
        self.uid = uid
        self.seq = -1
        self.seed = seed
        self.handle = ""
        self.type = "drop"
        self.type_index = 0
        self.attempt = 0
        self.area = area
        self.city = area.city
        self.worker: Worker | None = None
        self.status = "unplanned"
        self.created_at = 0.0
        self.planned_at: float | None = None
        self.assigned_at: float | None = None
        self.started_at: float | None = None
        self.scheduled_after: float | None = None
        self.scheduled_at: float | None = None
        self.completed_at: float | None = None
        self.cancelled_at: float | None = None
        self.disabled_at: float | None = None
        self.enabled_at: float | None = None
        self.resumes: str | None = None  # while disabled: the status an enable gives back
        self.rescheduled_marked_at: float | None = None
        self.dest = area.depot
        self.address = ""
        self.radius = 100
        self.origin: tuple[float, float] | None = None
        self.trip_len = 0.0
        self.trip_dur = 0.0
        self.start_by: float | None = None
        self.initial_eta: float | None = None
        self.plan: Plan | None = None
        self.cut: float | None = None  # when tracking for this order stopped (completion/cancel)
        self.ended_by: str | None = None  # "worker" (at the door, or a fate) or "api"
        self.end_pos: tuple[float, float] | None = None
        self.metadata: dict[str, Any] = {}
        self.priority: str | None = None
        self.product_type: list[str] | None = None
        self.capacity = 1
        self.expected_service = 300
        self.track_mode = "full_shift"
        self.plan_mode = "scheduled"
        self.plan_id: str | None = None
        self.route_handle: str | None = None
        self.planning_failure_reason: str | None = None
        self.previous: list[dict[str, Any]] | None = None
        self.risks: dict[str, str] = dict.fromkeys(RISK_KEYS, "green")
        self.risk_round = 0
        self.fate: str | None = None  # a pending "cancel" or "disable" that may happen first
        self.fate_t: float | None = None
        self.successor: SimOrder | None = None  # the next attempt, for a rescheduled attempt
        self.start_pending = False  # its worker's queue has scheduled its start
        self._share_url: str | None = None
        self.version = 0
        self.risk_version = 0
        self._summary: bytes | None = None
        self._summary_bucket = -1.0
        self._search: tuple[str, ...] | None = None

    # ------------------------------------------------------------------ identity and change

    @property
    def key(self) -> tuple[str, str, int, int]:
        return (self.handle, self.type, self.type_index, self.attempt)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def touch(self) -> None:
        """Something visible changed: drop the cached summary."""
        self._summary = None

    @property
    def search_fields(self) -> tuple[str, ...]:
        if self._search is None:
            fields = [self.handle, self.area.ops_group_handle]
            if self.worker is not None:
                fields.append(self.worker.handle)
            fields.extend(str(v) for v in self.metadata.values())
            self._search = tuple(f.casefold() for f in fields)
        return self._search

    def forget_search(self) -> None:
        self._search = None

    # ------------------------------------------------------------------ derived facts

    def shown(self, t: float | None, now: float) -> bool:
        """Has a planned milestone at ``t`` happened by ``now`` (and before tracking stopped)?"""
        if t is None or t > now:
            return False
        return self.cut is None or t <= self.cut

    def position(self, now: float) -> tuple[float, float] | None:
        if self.plan is None:
            return None
        return self.plan.track.position(min(now, self.cut) if self.cut is not None else now)

    def share_url(self) -> str:
        if self._share_url is None:
            self._share_url = "https://trck.at/" + code_from(10, self.seed, self.uid, 5)
        return self._share_url

    def order_id(self) -> str:
        return uuid_from(self.seed, self.uid, 6)

    # ------------------------------------------------------------------ wire form

    def summary_bytes(self, now: float) -> bytes:
        """The list item as JSON bytes, cached until it can change.

        A summary is computed as of the start of a short time bucket (ETAs in a list move at most
        every SUMMARY_BUCKET_S seconds), or as of the moment it stopped changing with time.
        """
        settled = self._settled_at()
        if settled is not None and now >= settled:
            as_of = settled
        else:
            as_of = max(now - now % SUMMARY_BUCKET_S, self._last_change())
        if self._summary is None or self._summary_bucket != as_of:
            self._summary = to_json(self.wire(as_of, detail=False))
            self._summary_bucket = as_of
        return self._summary

    def _last_change(self) -> float:
        return max(
            t for t in (self.created_at, self.planned_at, self.assigned_at, self.started_at,
                        self.completed_at, self.cancelled_at, self.disabled_at, self.enabled_at)
            if t is not None
        )

    def _settled_at(self) -> float | None:
        """From when on the summary no longer depends on the time it is read (None: never)."""
        if self.status in TERMINAL_STATUSES:
            last = self._last_change()
            if self.plan is not None and self.worker_finished:
                last = max(last, self.plan.exit_t)
            return last
        if self.status in ("unplanned", "planned"):
            return self._last_change()
        return None

    @property
    def worker_finished(self) -> bool:
        """Ended by the worker at the door (so the geofence exit after it is still reported)."""
        return self.ended_by == "worker"

    def wire(self, now: float, *, detail: bool) -> dict[str, Any]:
        """The order as the API returns it, as of ``now`` (list summary or full detail)."""
        p = self.plan
        w = self.worker
        d: dict[str, Any] = {
            "order_handle": self.handle,
            "fulfillment_attempt": self.attempt,
            "status": self.status,
            "destination": {
                "geometry": {"type": "Point", "coordinates": [self.dest[0], self.dest[1]]},
                "address": self.address,
                "radius": self.radius,
            },
            "ops_group_handle": self.area.ops_group_handle,
            "track_mode": self.track_mode,
            "plan_mode": self.plan_mode,
            "risk_status": any(v != "green" for v in self.risks.values()),
            "risks": dict(self.risks),
        }
        if self.scheduled_after is not None:
            d["scheduled_after"] = iso(self.scheduled_after)
        if self.scheduled_at is not None:
            d["scheduled_at"] = iso(self.scheduled_at)
        if self.started_at is not None:
            d["started_at"] = iso(self.started_at)
        if p is not None:
            if self.shown(p.arrive_t, now):
                d["arrived_at"] = iso(p.arrive_t)
            if self.shown(p.exit_t, now) or (self.worker_finished and p.exit_t <= now):
                d["exited_at"] = iso(p.exit_t)
            if detail:
                if self.shown(p.service_start, now):
                    d["service_started_at"] = iso(p.service_start)
                if self.shown(p.service_end, now):
                    d["service_ended_at"] = iso(p.service_end)
        if self.completed_at is not None:
            d["completed_at"] = iso(self.completed_at)
        if self.cancelled_at is not None:
            d["cancelled_at"] = iso(self.cancelled_at)
        if self.disabled_at is not None:
            d["disabled_at"] = iso(self.disabled_at)
        if self.enabled_at is not None:
            d["enabled_at"] = iso(self.enabled_at)
        if self.rescheduled_marked_at is not None:
            d["rescheduled_marked_at"] = iso(self.rescheduled_marked_at)
        d["type"] = self.type
        d["type_index"] = self.type_index
        d["expected_service_time"] = self.expected_service
        if self.status in TERMINAL_STATUSES and p is not None and self.shown(p.service_start, now):
            end = min(p.service_end, self.cut) if self.cut is not None else p.service_end
            actual = max(0, int(end - p.service_start))
            d["actual_service_time"] = actual
            d["tracked_service_time"] = max(0, actual - int(unit(self.seed, self.uid, 7) * 20))
        d["capacity_used"] = self.capacity
        if self.priority is not None:
            d["priority"] = self.priority
        d["metadata"] = dict(self.metadata)
        d["region"] = {"country": "United States", "city": self.city, "state": "California"}
        if self.product_type:
            d["product_type"] = list(self.product_type)
        if self.started_at is not None:
            d["share_url"] = self.share_url()
        if w is not None:
            d["device_id"] = w.device_id
            d["worker_handle"] = w.handle
            d["worker_name" if detail else "driver_name"] = w.name
        d["created_at"] = iso(self.created_at)
        if self.planned_at is not None:
            d["planned_at"] = iso(self.planned_at)
        if self.assigned_at is not None:
            d["assigned_at"] = iso(self.assigned_at)
        if self.route_handle is not None:
            d["route_handle"] = self.route_handle
        if self.plan_id is not None:
            d["plan_id"] = self.plan_id
        if self.planning_failure_reason is not None:
            d["planning_failure_reason"] = self.planning_failure_reason
        if self.status in TERMINAL_STATUSES and p is not None and self.cut is not None:
            d["distance"] = int(p.track.travelled(self.cut))
            d["duration"] = int(self.cut - (self.started_at or self.cut))
            d["tracking_rate"] = round(0.9 + 0.1 * unit(self.seed, self.uid, 8), 2)
        estimate = self.estimate(now, detail=detail)
        if estimate is not None:
            d["estimate"] = estimate
        if detail:
            self._detail_extras(d, now)
        return d

    # ------------------------------------------------------------------ estimate

    def estimate(self, now: float, *, detail: bool) -> dict[str, Any] | None:
        """ETA block for an order that is still open; None when nothing can be estimated."""
        if self.status in TERMINAL_STATUSES or self.status == "unplanned":
            return None
        e: dict[str, Any] = {}
        if self.start_by is not None:
            e["start_by"] = iso(self.start_by)
        p = self.plan
        if self.status == "ongoing" and p is not None:
            e["start_at"] = iso(p.track.start)
            if now >= p.exit_t:
                # The worker left the destination without completing the order: the ETA is
                # recomputed from where they are now, at their speed (standing: the planning
                # speed), so it moves with the fleet instead of staying at the first arrival.
                lon, lat = p.track.position(now)
                remaining = distance_m(lon, lat, *self.dest) * GRID_FACTOR
                speed = p.track.speed(now)
                arrive = now + remaining / (speed if speed > MOVING_MPS else PLANNING_SPEED_MPS)
            else:
                # On the way, the simulated track is the worker's position and speed; at the
                # destination, the ETA is the arrival (at most the service's minutes ago).
                arrive = p.arrive_t
                remaining = max(0.0, p.drive_len - p.track.travelled(now)) if now < p.arrive_t else 0.0
            e["arrive_at"] = iso(arrive)
            if self.initial_eta is not None:
                e["initial_arrive_at"] = iso(self.initial_eta)
            e["distance"] = int(remaining)
            e["duration"] = int(max(0.0, arrive - now))
            if detail:
                lon, lat = p.track.position(now)
                e["current_worker_location"] = {
                    "geometry": {"type": "Point", "coordinates": [round_coord(lon), round_coord(lat)]},
                    "bearing": round(p.track.heading(now), 1),
                    "accuracy": round(4.0 + 12.0 * unit(self.seed, self.uid, int(now) // 60), 1),
                    "speed": round(p.track.speed(now), 2),
                    "recorded_at": iso(now - now % 5),
                }
                until = p.parked_t if now < p.parked_t else now
                e["polyline"] = {"type": "LineString", "coordinates": p.track.remaining_path(now, until)}
                e["start_location"] = {"type": "Point", "coordinates": [round_coord(lon), round_coord(lat)]}
                e["end_location"] = {"type": "Point", "coordinates": [self.dest[0], self.dest[1]]}
            return e
        if self.status in ("assigned", "dispatched") and self.trip_dur:
            start = max(now, self.start_by or now)
            e["arrive_at"] = iso(start + self.trip_dur)
            if self.initial_eta is not None:
                e["initial_arrive_at"] = iso(self.initial_eta)
        if self.status in ("assigned", "dispatched", "disabled") and self.trip_len:
            e["distance"] = int(self.trip_len)
            e["duration"] = int(self.trip_dur)
            if detail and self.origin is not None and self.status != "disabled":
                o = [round_coord(self.origin[0]), round_coord(self.origin[1])]
                e["polyline"] = {"type": "LineString", "coordinates": [o, [self.dest[0], self.dest[1]]]}
                e["start_location"] = {"type": "Point", "coordinates": o}
                e["end_location"] = {"type": "Point", "coordinates": [self.dest[0], self.dest[1]]}
        return e or None

    # ------------------------------------------------------------------ detail-only parts

    def _detail_extras(self, d: dict[str, Any], now: float) -> None:
        p = self.plan
        if self.previous:
            d["previous_fulfillments"] = [dict(x) for x in self.previous]
        if p is not None and self.started_at is not None:
            points = self.polyline(now)
            if points:
                d["polyline"] = {"type": "LineString", "coordinates": points}
                d["start_location"] = {"type": "Point", "coordinates": points[0][:2]}
                d["end_location"] = {"type": "Point", "coordinates": points[-1][:2]}
            d["visited_destination"] = self.shown(p.arrive_t, now)
        if self.status == "completed":
            if self.end_pos is not None:
                dev = int(distance_m(*self.end_pos, *self.dest))
                d["completed_at_destination"] = dev <= self.radius
                d["deviation_from_destination"] = dev
            else:
                d["completed_at_destination"] = False
            if p is not None and self.shown(p.service_start, now):
                d["parking"] = [{
                    "geometry": {"type": "Point", "coordinates": [round_coord(p.park[0]), round_coord(p.park[1])]},
                    "score": 1,
                    "timestamp": iso(p.service_start),
                }]
        if self.status == "cancelled":
            if self.end_pos is not None:
                d["cancelled_at_destination"] = distance_m(*self.end_pos, *self.dest) <= self.radius
            else:
                d["cancelled_at_destination"] = False
        d["timeline"] = self.timeline(now)

    def polyline(self, now: float) -> list[list[Any]]:
        """``[lon, lat, altitude, recorded_at]`` points as the device reported them.

        Sampled every 20-45 s with a little GPS noise; points repeat while the worker stands still
        (as in HyperTrack's examples), and now and then a fix is reported twice.
        """
        p = self.plan
        if p is None:
            return []
        end = min(now, p.track.end)
        if self.cut is not None:
            end = min(end, self.cut)
        start = p.track.start
        if end < start:
            return []
        seed, uid = self.seed, self.uid
        interval = 20.0 + 25.0 * unit(seed, uid, 11)
        area = self.area
        out: list[list[Any]] = []
        k = 0
        t = start
        while t <= end and k < 5000:
            r = unit(seed, uid, 12, k)
            # A fix reported twice: only when crawling or standing (a repeat while driving fast
            # would make the next fix look like a jump).
            if k and r < 0.06 and p.track.speed(t) < 4.0:
                prev = out[-1]
                out.append([prev[0], prev[1], prev[2], iso(t)])
            else:
                lon, lat = p.track.position(t)
                moving = p.track.speed(t) > 0.5
                if moving or r > 0.6:
                    lon, lat = offset(lon, lat, (unit(seed, uid, 13, k) - 0.5) * 6.0,
                                      (unit(seed, uid, 14, k) - 0.5) * 6.0)
                lon, lat = round_coord(lon), round_coord(lat)
                alt = round(area.altitude_at(lon, lat) + (unit(seed, uid, 15, k) - 0.5) * 0.6, 2)
                out.append([lon, lat, alt, iso(t)])
            k += 1
            t = start + k * interval + unit(seed, uid, 16, k) * interval * 0.4
        return out

    def timeline(self, now: float) -> list[dict[str, Any]]:
        """Events in HyperTrack's example vocabulary, oldest first, as of ``now``."""
        h, fa = self.handle, self.attempt
        events: list[tuple[float, int, dict[str, Any]]] = []

        def add(t: float, rank: int, event: dict[str, Any]) -> None:
            event = {"type": event.pop("type"), "recorded_at": iso(t), **event}
            events.append((t, rank, event))

        add(self.created_at, 0, {"type": "order_created", "order_handle": h, "metadata": dict(self.metadata)})
        if self.planned_at is not None:
            add(self.planned_at, 1, {"type": "order_planned", "order_handle": h,
                                     "route_handle": self.route_handle, "fulfillment_attempt": fa})
        if self.assigned_at is not None and self.worker is not None:
            add(self.assigned_at, 2, {"type": "order_assigned", "order_handle": h,
                                      "driver_handle": self.worker.handle, "fulfillment_attempt": fa})
        if self.disabled_at is not None:
            add(self.disabled_at, 3, {"type": "order_disabled", "order_handle": h,
                                      "route_handle": self.route_handle, "fulfillment_attempt": fa})
        if self.enabled_at is not None:
            add(self.enabled_at, 3, {"type": "order_enabled", "order_handle": h,
                                     "route_handle": self.route_handle, "fulfillment_attempt": fa})
        p = self.plan
        if p is not None and self.started_at is not None:
            self._tracking_events(add, p, now)
        if self.completed_at is not None:
            add(self.completed_at, 8, {"type": "order_completed", "order_handle": h,
                                       "route_handle": self.route_handle, "order_type": self.type})
        if self.cancelled_at is not None:
            add(self.cancelled_at, 8, {"type": "order_cancelled", "order_handle": h,
                                       "route_handle": self.route_handle, "fulfillment_attempt": fa})
        events.sort(key=lambda e: (e[0], e[1]))
        return [e[2] for e in events]

    def _tracking_events(self, add: Any, p: Plan, now: float) -> None:
        h, fa = self.handle, self.attempt
        track = p.track
        started = self.started_at or track.start
        add(started, 4, {"type": "order_started", "order_handle": h, "route_handle": self.route_handle,
                         "order_type": self.type, "fulfillment_attempt": fa})

        def loc(t: float, third: bool = False) -> dict[str, Any]:
            lon, lat = track.position(t)
            coords: list[float] = [round_coord(lon), round_coord(lat)]
            if third:
                coords.append(0)
            return {"geometry": {"type": "Point", "coordinates": coords}, "recorded_at": iso(t)}

        def place(kind: str, t: float, duration: float, distance: float | None, third: bool = False) -> None:
            add(t, 6, {"type": kind, "location": loc(t, third), "duration": int(duration),
                       "distance": None if distance is None else int(distance), "order_handle": h,
                       "order_id": self.order_id(), "order_type": self.type, "fulfillment_attempt": fa,
                       "event_id": uuid_from(self.seed, self.uid, 20, int(t * 1000))})

        add(track.start, 5, {"type": "driver_activity_started", "driver_handle": None, "activity": "drive",
                             "location": loc(track.start), "address": None})
        # The driver's activity still open (kind, since when): closed when tracking stops.
        activity: tuple[str, float] | None = ("drive", track.start)
        if self.shown(p.arrive_t, now):
            place("order_geofence_entered", p.arrive_t, p.arrive_t - started, track.travelled(p.arrive_t), True)
        if self.shown(p.parked_t, now):
            add(p.parked_t, 7, {"type": "driver_activity_ended", "driver_handle": None, "activity": "drive",
                                "location": loc(p.parked_t), "distance": int(p.drive_len),
                                "duration": int(p.parked_t - track.start), "steps": None})
            add(p.parked_t, 7, {"type": "driver_activity_started", "driver_handle": None, "activity": "stop",
                                "location": loc(p.parked_t), "address": self.address})
            activity = ("stop", p.parked_t)
        if self.shown(p.service_start, now):
            place("order_service_started", p.service_start, p.service_start - started,
                  track.travelled(p.service_start))
        if self.shown(p.service_end, now):
            stop_len = p.service_end - p.parked_t
            add(p.service_end, 7, {"type": "driver_activity_ended", "driver_handle": None, "activity": "stop",
                                   "location": loc(p.service_end), "distance": None,
                                   "duration": int(stop_len), "steps": int(stop_len / 20)})
            activity = None
            place("order_service_ended", p.service_end, p.service_end - p.service_start,
                  unit(self.seed, self.uid, 21) * 30)
        exited = self.shown(p.exit_t, now) or (self.worker_finished and p.exit_t <= now)
        if exited and p.arrive_t <= p.exit_t and self.shown(p.arrive_t, now):
            place("order_geofence_exited", p.exit_t, p.exit_t - p.arrive_t, None)
            if p.outcome == "abandon" and self.shown(p.exit_t, now):
                add(p.exit_t, 7, {"type": "driver_activity_started", "driver_handle": None,
                                  "activity": "drive", "location": loc(p.exit_t), "address": None})
                activity = ("drive", p.exit_t)
        cut = self.cut
        if activity is not None and cut is not None and self.status in TERMINAL_STATUSES:
            # As in the seed's example, the activity is ended before the order_completed (or
            # order_cancelled, rank 8) of the same moment.
            kind, since = activity
            duration = max(0.0, cut - since)
            add(cut, 7, {"type": "driver_activity_ended", "driver_handle": None, "activity": kind,
                         "location": loc(cut),
                         "distance": int(track.travelled(cut) - track.travelled(since)) if kind == "drive" else None,
                         "duration": int(duration), "steps": None if kind == "drive" else int(duration / 20)})
