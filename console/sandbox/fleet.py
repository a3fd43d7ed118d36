"""The simulated fleet: ops groups, workers, their routes and orders, moving on in time.

How it is built: workers get a day's route from a morning planning run, a pool of newer orders
waits to be planned, and a few handles carry an earlier failed attempt from yesterday. Then the
same event machinery that runs the fleet afterwards replays the day up to "now", so every
completed order has a consistent history (started, drove, arrived, served, completed, exited) and
every open one is mid-story. From then on the fleet moves with its clock: orders start and
progress, risks and ETAs change, and new orders come in now and then.

Cheap at scale: an event touches one order in O(log n); the costly parts of an order (polyline,
timeline) are derived only when read; list summaries are cached as JSON bytes (see
:meth:`SimOrder.summary_bytes`). Everything is deterministic for a given seed and clock.
"""

from __future__ import annotations

import heapq
from bisect import bisect_left, bisect_right
import math
import random
from collections.abc import Callable, Iterable
from itertools import count
from typing import Any

from console.gc_policy import paused
from console.sandbox.clock import day_stamp
from console.sandbox.geo import AREAS, Area, Track, distance_m, offset, round_coord, to_local
from console.sandbox.names import (
    CUSTOMERS, FIRST_NAMES, LAST_NAMES, NOTES, PLANNING_FAILURE_REASONS, PRODUCT_TYPES,
)
from console.sandbox.order import (
    GRID_FACTOR, OPEN_STATUSES, PLANNING_SPEED_MPS, TERMINAL_STATUSES, Plan, SimOrder, Worker,
)
from console.sandbox.rand import mix, unit, uuid_from
from console.sandbox.risks import assess

#: Statuses the list filter accepts (as HyperTrack documents them).
FILTERABLE_STATUSES = (
    "completed", "cancelled", "rescheduled", "disabled", "ongoing", "unplanned", "assigned", "planned",
)
AREA_WEIGHTS = (0.35, 0.2, 0.3, 0.15)
CYCLE_ESTIMATE_S = 25 * 60  # what the morning plan assumes one stop takes
HOUR = 3600.0

OrderKey = tuple[str, str, int, int]


class ConflictState(Exception):
    """complete/cancel of an order that is already completed or cancelled."""

    def __init__(self, order: SimOrder) -> None:
        self.order = order
        super().__init__(order.status)


class Fleet:
    """All orders and workers, and the events that move them."""

    def __init__(self, seed: int, orders: int, start: float) -> None:
        if orders < 0:
            raise ValueError("orders must be >= 0")
        self.seed = seed
        self.start = start
        self.now = start
        self.target_orders = orders
        self.workers: list[Worker] = []
        self.workers_by_area: dict[str, list[Worker]] = {a.ops_group_handle: [] for a in AREAS}
        self.ordered: list[SimOrder] = []  # by created_at; an order's seq is its index here
        self.by_key: dict[OrderKey, SimOrder] = {}
        self.by_handle: dict[str, list[SimOrder]] = {}
        self._heap: list[tuple[float, int, str, Any, int]] = []
        self._tie = count()
        self._uids = count(1)
        self._day_numbers: dict[str, int] = {}
        self._partner_numbers = count(5501)
        self._load: dict[str, list[tuple[int, str, Worker]]] = {}  # least-loaded worker per group
        self._live = False  # False while the day is replayed: no risk rounds, no new orders
        self._spawn_rng = random.Random(mix(seed, 77))
        self._build(orders)

    # ================================================================== building

    def _build(self, n: int) -> None:
        # Building allocates hundreds of thousands of long-lived objects; the cyclic GC would
        # rescan them over and over (measured: about a third of the build time at 50,000 orders).
        # Nothing built here is garbage, so collection waits until the fleet stands.
        with paused():
            self._build_fleet(n)

    def _build_fleet(self, n: int) -> None:
        rng = random.Random(mix(self.seed, 1))
        self._make_workers(rng, max(len(AREAS), round(n / 14)))
        groups = self._make_orders(rng, n)
        self._run(self.start)  # replay the day so far with the same events that run it from now on
        self._name_handles(groups)
        for group in groups:
            for o in group:
                self._index(o)
        self.ordered.sort(key=lambda o: (o.created_at, o.uid))
        for i, o in enumerate(self.ordered):
            o.seq = i
        self._go_live()

    def _make_workers(self, rng: random.Random, n: int) -> None:
        taken: set[str] = set()
        for i in range(n):
            area = AREAS[_weighted(rng, AREA_WEIGHTS)]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            handle = f"w-{first}-{last}".lower()
            suffix = 2
            while handle in taken:
                handle = f"w-{first}-{last}-{suffix}".lower()
                suffix += 1
            taken.add(handle)
            if rng.random() < 0.85:
                shift = self.start - rng.uniform(0.3, 3.2) * HOUR
            else:
                shift = self.start + rng.uniform(0.2, 2.0) * HOUR
            depot = offset(*area.depot, rng.uniform(-60, 60), rng.uniform(-60, 60))
            w = Worker(
                handle=handle, name=f"{first} {last}", device_id=uuid_from(self.seed, 900, i, upper=True),
                area=area, route_handle=uuid_from(self.seed, 901, i), shift_start=shift, pos=depot,
            )
            self.workers.append(w)
            self.workers_by_area[area.ops_group_handle].append(w)
        for area in AREAS:  # every ops group has someone: borrow from the largest group
            if not self.workers_by_area[area.ops_group_handle]:
                w = max(self.workers_by_area.values(), key=len)[-1]
                self.workers_by_area[w.area.ops_group_handle].remove(w)
                w.area = area
                w.pos = area.depot
                self.workers_by_area[area.ops_group_handle].append(w)

    def _make_orders(self, rng: random.Random, n: int) -> list[list[SimOrder]]:
        """Create ``n`` order records (legs and attempts count one each) in handle groups."""
        groups: list[list[SimOrder]] = []
        plan_runs = {a.ops_group_handle: self._plan_run(a) for a in AREAS}
        self._load = {
            area: [(0, w.handle, w) for w in sorted(ws, key=lambda w: w.handle)]
            for area, ws in self.workers_by_area.items()
        }
        remaining = n
        while remaining > 0:
            r = rng.random()
            if r < 0.03 and remaining >= 2:
                group = self._attempt_pair(rng)
            elif r < 0.19:
                group = [self._pool_order(rng, self._pick_area(rng))]
            else:
                legs = 1
                if remaining >= 3 and rng.random() < 0.04:
                    legs = 3
                elif remaining >= 2 and rng.random() < 0.14:
                    legs = 2
                group = self._routed_group(rng, legs, plan_runs)
            groups.append(group)
            remaining -= len(group)
        return groups

    def _pick_area(self, rng: random.Random) -> Area:
        return AREAS[_weighted(rng, AREA_WEIGHTS)]

    def _plan_run(self, area: Area) -> tuple[float, str]:
        """The morning planning run of an ops group: when, and its plan id."""
        starts = [w.shift_start for w in self.workers_by_area[area.ops_group_handle]] or [self.start]
        when = min(min(starts), self.start) - 35 * 60 - unit(self.seed, 40, len(area.city)) * 25 * 60
        return when, uuid_from(self.seed, 41, AREAS.index(area))

    def _new_order(self, rng: random.Random, area: Area, created: float) -> SimOrder:
        o = SimOrder(next(self._uids), self.seed, area)
        o.created_at = created
        o.city = _pick(rng, area.cities) if area.cities else area.city
        lon = rng.uniform(*area.lon_range)
        lat = rng.uniform(*area.lat_range)
        o.dest = (round_coord(lon), round_coord(lat))
        o.address = f"{_below(rng, 100, 4800)} {_pick(rng, area.streets)}, {o.city}, CA {_pick(rng, area.zips)}"
        o.radius = _pick(rng, (50, 75, 100, 100, 100, 150, 200))
        o.expected_service = _below(rng, 2, 16) * 60
        o.capacity = _below(rng, 1, 5)
        o.priority = _pick(rng, (None, None, "low", "medium", "medium", "high"))
        if rng.random() < 0.3:
            o.product_type = list(_pick(rng, PRODUCT_TYPES))
        o.track_mode = {"oak-depot": "full_shift", "berkeley-hub": "on_shift",
                        "sf-mission": "full_shift", "sj-north": "on_time"}[area.ops_group_handle]
        md: dict[str, Any] = {"customer_id": f"C-{_below(rng, 10000, 99999)}"}
        extra = rng.random()
        if extra < 0.35:
            md["invoice"] = f"INV-{_below(rng, 10000, 99999)}"
        elif extra < 0.5:
            md["dock"] = _pick(rng, "ABCDE")
        elif extra < 0.6:
            md["return_authorisation"] = f"RA-{_below(rng, 1000, 9999)}"
        if rng.random() < 0.5:
            md["customer_name"] = _pick(rng, CUSTOMERS)
        if rng.random() < 0.2:
            md["notes"] = _pick(rng, NOTES)
        o.metadata = md
        return o

    def _pool_order(self, rng: random.Random, area: Area, created: float | None = None) -> SimOrder:
        """An order not yet routed: it waits for a planning run (which may fail)."""
        if created is None:
            created = self.start - rng.uniform(0, 3.0) * HOUR
        o = self._new_order(rng, area, created)
        o.plan_mode = "on_demand"
        o.scheduled_at = _round_to(created + rng.uniform(0.75, 5.0) * HOUR, 15 * 60)
        o.scheduled_after = o.scheduled_at - rng.choice((30, 60, 120)) * 60
        if rng.random() < 0.25:
            self._push(created + rng.uniform(5, 30) * 60, "planfail", o)
        else:
            self._push(created + rng.uniform(5 * 60, 3 * HOUR), "plan", o)
        if rng.random() < 0.03:
            self._set_fate(o, "cancel", created + rng.uniform(10 * 60, 4 * HOUR))
        return o

    def _routed_group(self, rng: random.Random, legs: int, plan_runs: dict[str, tuple[float, str]]) -> list[SimOrder]:
        area = self._pick_area(rng)
        # The least-loaded worker of the group (a heap: min() over thousands of workers for
        # every one of 50,000 orders would be quadratic).
        queue = self._load[area.ops_group_handle]
        _, _, worker = heapq.heappop(queue)
        plan_t, plan_id = plan_runs[area.ops_group_handle]
        created = plan_t - rng.uniform(0.25, 14.0) * HOUR
        group = []
        for i in range(legs):
            o = self._new_order(rng, area, created)
            if legs > 1:
                o.type = "pick" if i == 0 else "drop"
                o.type_index = 0 if i < 2 else i - 1
            if i == 0 and legs > 1:
                store = offset(*area.depot, rng.uniform(-900, 900), rng.uniform(-900, 900))
                o.dest = (round_coord(store[0]), round_coord(store[1]))
                o.address = f"{rng.randrange(100, 2400)} {rng.choice(area.streets)}, {area.city}, CA {area.zips[0]}"
                o.metadata = {"store": f"{area.city} fulfilment centre", **{k: v for k, v in o.metadata.items() if k == "customer_id"}}
                o.expected_service = rng.randrange(3, 8) * 60
            group.append(o)
        for o in group:
            self._route(o, worker, plan_t + rng.uniform(0.05, 0.4), plan_t, plan_id, rng)
            if rng.random() < 0.03:
                self._set_fate(o, "cancel", plan_t + rng.uniform(0, self.start - plan_t + 2 * HOUR))
            elif rng.random() < 0.05:
                self._set_fate(o, "disable", plan_t + rng.uniform(0, self.start - plan_t + 2 * HOUR))
        heapq.heappush(queue, (len(worker.route), worker.handle, worker))
        return group

    def _attempt_pair(self, rng: random.Random) -> list[SimOrder]:
        """A handle whose first attempt failed yesterday and was rescheduled."""
        area = self._pick_area(rng)
        first = self._new_order(rng, area, self.start - rng.uniform(26, 34) * HOUR)
        first.plan_mode = "scheduled"
        worker = rng.choice(self.workers_by_area[area.ops_group_handle])
        first.worker = worker
        first.route_handle = uuid_from(self.seed, 902, first.uid)
        first.plan_id = uuid_from(self.seed, 903, first.uid)
        first.planned_at = first.created_at + rng.uniform(0.5, 2.0) * HOUR
        first.assigned_at = first.planned_at + rng.uniform(0.05, 0.4)
        first.status = "assigned"
        start = first.assigned_at + rng.uniform(1.0, 5.0) * HOUR
        first.scheduled_at = _round_to(start + rng.uniform(0.2, 1.0) * HOUR, 15 * 60)
        first.scheduled_after = first.scheduled_at - 3600
        origin = offset(*area.depot, rng.uniform(-2500, 2500), rng.uniform(-2500, 2500))
        first.origin = origin
        self._start(first, start, origin=origin, outcome="reschedule")
        second = self._new_order(rng, area, 0.0)  # created when the first attempt is given up
        second.dest, second.address, second.radius, second.city = first.dest, first.address, first.radius, first.city
        second.metadata = dict(first.metadata)
        second.attempt = 1
        second.plan_mode = "on_demand"
        second.previous = [{"order_handle": "", "fulfillment_attempt": 0}]
        first.successor = second
        return [first, second]

    def _route(self, o: SimOrder, w: Worker, assigned_at: float, plan_t: float | None,
               plan_id: str | None, rng: random.Random) -> None:
        """Put ``o`` at the end of ``w``'s route, with its trip and promised times."""
        prev = next((x for x in reversed(w.route) if x.status not in TERMINAL_STATUSES), None)
        origin = prev.dest if prev is not None else w.pos
        o.worker = w
        o.route_handle = w.route_handle
        o.planned_at = plan_t if plan_t is not None else o.planned_at
        o.plan_id = plan_id if plan_id is not None else o.plan_id
        o.assigned_at = assigned_at
        o.status = "assigned"
        o.origin = origin
        o.trip_len = distance_m(*origin, *o.dest) * GRID_FACTOR
        o.trip_dur = o.trip_len / PLANNING_SPEED_MPS
        if o.scheduled_at is None:
            expected = max(w.shift_start, assigned_at) + (len(w.route) + 1) * CYCLE_ESTIMATE_S
            o.scheduled_at = _round_to(expected + rng.uniform(-25, 50) * 60, 15 * 60)
            o.scheduled_after = o.scheduled_at - rng.choice((30, 60, 60, 120)) * 60
        o.start_by = o.scheduled_at - o.trip_dur - 300
        o.initial_eta = max(assigned_at, o.start_by) + o.trip_dur
        w.route.append(o)
        o.forget_search()
        self._kick(w, assigned_at)

    # ================================================================== naming

    def _name_handles(self, groups: list[list[SimOrder]]) -> None:
        """Handles like ``ORD-20261129-0042``, numbered per day of creation; a few ops-group
        partners use their own schemes (with ``/``, ``#`` or ``@`` in them)."""
        keyed = sorted((min(o.created_at for o in g), g[0].uid, g) for g in groups)
        days = [day_stamp(created) for created, _, _ in keyed]
        per_day: dict[str, int] = {}
        for day in days:
            per_day[day] = per_day.get(day, 0) + 1
        width = max([4, *(len(str(v)) for v in per_day.values())])
        for (_, _, g), day in zip(keyed, days):
            handle = self._next_handle(g[0], day, width)
            for o in g:
                o.handle = handle
                if o.previous:
                    o.previous = [{"order_handle": handle, "fulfillment_attempt": p["fulfillment_attempt"]}
                                  for p in o.previous]

    def _next_handle(self, o: SimOrder, day: str, width: int = 4) -> str:
        if o.area.ops_group_handle == "sf-mission" and unit(self.seed, o.uid, 50) < 0.03:
            n = next(self._partner_numbers)
            scheme = int(unit(self.seed, o.uid, 51) * 3)
            return (f"ACME/PO-{n:05d}", f"PO#{n}", f"dropoff-{n}@acme.example")[scheme]
        self._day_numbers[day] = self._day_numbers.get(day, 0) + 1
        return f"ORD-{day}-{self._day_numbers[day]:0{width}d}"

    def _index(self, o: SimOrder) -> None:
        if o.key in self.by_key:
            raise ValueError(f"duplicate order identity {o.key!r}")
        self.by_key[o.key] = o
        self.by_handle.setdefault(o.handle, []).append(o)
        self.ordered.append(o)

    # ================================================================== events

    def _push(self, t: float, kind: str, o: Any, version: int | None = None) -> None:
        if version is None:
            version = o.version if isinstance(o, SimOrder) else 0
        heapq.heappush(self._heap, (t, next(self._tie), kind, o, version))

    def _set_fate(self, o: SimOrder, fate: str, t: float) -> None:
        o.fate, o.fate_t = fate, t
        self._push(t, "fate", o)

    def _go_live(self) -> None:
        """From now on: risk rounds for open orders and new orders now and then."""
        self._live = True
        heap = self._heap
        for o in self.ordered:
            if o.is_open:
                o.risks = assess(o, self.start)
                gap = 30 + unit(self.seed, o.uid, 60, o.risk_round) * 270
                heap.append((self.start + gap, next(self._tie), "risk", o, o.risk_version))
        heapq.heapify(heap)  # one heapify instead of 30,000 pushes
        self._push(self.start + self._spawn_gap(), "spawn", None)

    def _spawn_gap(self) -> float:
        return self._spawn_rng.uniform(30, 210) / max(1.0, self.target_orders / 500)

    def _schedule_risk(self, o: SimOrder, t: float, first: bool = False) -> None:
        r = unit(self.seed, o.uid, 60, o.risk_round)
        gap = 30 + r * 270 if first else 120 + r * 300  # the first round comes sooner
        self._push(t + gap, "risk", o, o.risk_version)

    def at(self, t: float, fn: Callable[[float], Any]) -> None:
        """Call ``fn(t)`` when the fleet reaches ``t``, in time order with its own events (the
        scripted and "elsewhere" transitions of console/sandbox/transitions.py)."""
        self._push(t, "call", fn, 0)

    def _on_call(self, t: float, fn: Callable[[float], Any], _v: int) -> None:
        fn(t)

    def advance_to(self, now: float) -> None:
        """Let everything that happens up to ``now`` happen."""
        if now > self.now:
            self._run(now)

    def _run(self, t_end: float) -> None:
        heap = self._heap
        while heap and heap[0][0] <= t_end:
            t, _, kind, o, version = heapq.heappop(heap)
            self.now = max(self.now, t)
            getattr(self, "_on_" + kind)(t, o, version)
        self.now = max(self.now, t_end)

    # ------------------------------------------------------------------ event handlers

    def _on_plan(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status != "unplanned":
            return
        o.status = "planned"
        o.planned_at = t
        o.plan_id = uuid_from(self.seed, 42, AREAS.index(o.area), int(t // 1800))
        o.start_by = o.scheduled_at - 1800 if o.scheduled_at is not None else None
        o.touch()
        # Planned orders wait a while for a worker (10 minutes to 3 hours).
        self._push(t + 600 + unit(self.seed, o.uid, 70) * 3 * HOUR, "assign", o)

    def _on_planfail(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status != "unplanned":
            return
        o.planning_failure_reason = PLANNING_FAILURE_REASONS[int(unit(self.seed, o.uid, 71) * 2)]
        o.touch()

    def _on_assign(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status != "planned":
            return
        workers = self.workers_by_area[o.area.ops_group_handle]
        w = workers[int(unit(self.seed, o.uid, 72) * len(workers))]
        o.touch()
        self._route(o, w, t, None, None, random.Random(mix(self.seed, o.uid, 73)))

    def _on_fate(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status not in ("unplanned", "planned", "assigned", "dispatched"):
            return
        if o.fate == "cancel":
            self._cancel(o, t, by="worker")
        elif o.fate == "disable" and o.status in ("assigned", "dispatched"):
            o.status = "disabled"
            o.disabled_at = t
            o.version += 1
            o.start_pending = False  # the version made its pending start lapse (as in disable())
            o.touch()
            self._after_leaving_queue(o, t)

    def _on_start(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status not in ("assigned", "dispatched"):
            return
        self._start(o, t)

    def _on_finish(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.version or o.status != "ongoing" or o.plan is None:
            return
        p = o.plan
        w = o.worker
        if p.outcome == "complete":
            o.status = "completed"
            o.completed_at = t
            self._stop_tracking(o, t, by="worker")
        elif p.outcome in ("cancel", "reschedule"):
            o.status = "cancelled"
            o.cancelled_at = t
            if p.outcome == "reschedule":
                o.rescheduled_marked_at = t - 1.5
                self._activate_successor(o, t)
            self._stop_tracking(o, t, by="worker")
        else:  # abandon: the worker drove off without completing; the order stays open
            o.version += 1
            o.touch()
            if self._live:
                o.risks = assess(o, t)
        if w is not None and w.current is o:
            w.current = None
            w.pos = p.track.position(p.track.end)
            self._kick(w, t)

    def _on_risk(self, t: float, o: SimOrder, version: int) -> None:
        if version != o.risk_version or not o.is_open:
            return
        risks = assess(o, t)
        if risks != o.risks:
            o.risks = risks
            o.touch()
        self._schedule_risk(o, t)

    def _on_spawn(self, t: float, _o: Any, _v: int) -> None:
        rng = random.Random(mix(self.seed, 80, next(self._tie)))
        o = self._pool_order(rng, self._pick_area(rng), created=t)
        o.handle = self._next_handle(o, day_stamp(t))
        self._arrive(o, t)
        self._push(t + self._spawn_gap(), "spawn", None)

    def _arrive(self, o: SimOrder, t: float) -> None:
        """An order that enters the live fleet at ``t`` (spawned, or a re-created attempt):
        indexed last, its risks assessed and their reassessment scheduled."""
        self._index(o)
        o.seq = len(self.ordered) - 1
        o.risks = assess(o, t)
        self._schedule_risk(o, t, first=True)

    # ------------------------------------------------------------------ worker progress

    def _kick(self, w: Worker, t: float) -> None:
        """If ``w`` is free, dispatch their next order and have it start shortly."""
        if w.current is not None:
            return
        nxt = next((x for x in w.route if x.status in ("assigned", "dispatched")), None)
        if nxt is None:
            return
        if nxt.status == "assigned":
            nxt.status = "dispatched"
            nxt.touch()
        if nxt.start_pending:
            return  # its start is already on the way
        nxt.start_pending = True
        gap = 30 + unit(self.seed, nxt.uid, 74) * 210
        self._push(max(t + gap, w.shift_start), "start", nxt)

    def _after_leaving_queue(self, o: SimOrder, t: float) -> None:
        """``o`` left its worker's queue without being worked: the worker moves on if free."""
        w = o.worker
        if w is not None and w.current is None:
            self._kick(w, t)

    def _start(self, o: SimOrder, t: float, origin: tuple[float, float] | None = None,
               outcome: str | None = None) -> None:
        rng = random.Random(mix(self.seed, o.uid, 31))
        w = o.worker
        if origin is None:
            origin = w.pos if w is not None else (o.origin or o.area.depot)
        o.plan = build_plan(o, t, origin, rng, outcome)
        o.origin = origin
        o.started_at = t
        o.status = "ongoing"
        o.version += 1
        o.start_pending = False
        if o.initial_eta is None:
            o.initial_eta = t + o.plan.drive_len / PLANNING_SPEED_MPS
        o.touch()
        if w is not None and o in w.route:
            w.current = o
            nxt = next((x for x in w.route if x.status == "assigned"), None)
            if nxt is not None:
                nxt.status = "dispatched"
                nxt.touch()
        self._push(o.plan.finish_t, "finish", o)

    def _stop_tracking(self, o: SimOrder, t: float, by: str) -> None:
        o.version += 1
        o.ended_by = by
        if o.plan is not None and o.started_at is not None:
            o.cut = t
            o.end_pos = o.plan.track.position(t)
        if not self._live or by == "worker":
            o.risks = assess(o, t)
        o.touch()

    def _cancel(self, o: SimOrder, t: float, by: str) -> None:
        was_queued = o.status in ("assigned", "dispatched")
        o.status = "cancelled"
        o.cancelled_at = t
        self._stop_tracking(o, t, by=by)
        if was_queued:
            self._after_leaving_queue(o, t)

    def _activate_successor(self, o: SimOrder, t: float) -> None:
        s = o.successor
        if s is None:
            return
        s.created_at = t + 40 + unit(self.seed, s.uid, 75) * 500
        s.scheduled_at = _round_to(s.created_at + 20 * HOUR + unit(self.seed, s.uid, 76) * 6 * HOUR, 15 * 60)
        s.scheduled_after = s.scheduled_at - 7200
        self._push(s.created_at + 600, "plan", s)

    # ================================================================== actions (the API)

    def complete(self, o: SimOrder, t: float) -> None:
        if o.status in TERMINAL_STATUSES:
            raise ConflictState(o)
        was = o.status
        w = o.worker
        o.status = "completed"
        o.completed_at = t
        self._stop_tracking(o, t, by="api")
        self._released(o, was, t, w)

    def cancel(self, o: SimOrder, t: float) -> None:
        if o.status in TERMINAL_STATUSES:
            raise ConflictState(o)
        was = o.status
        w = o.worker
        o.status = "cancelled"
        o.cancelled_at = t
        self._stop_tracking(o, t, by="api")
        self._released(o, was, t, w)

    # The four primitives below change an order and the queues around it; which statuses each
    # applies to is decided by console.sandbox.actions before they are called.

    def disable(self, o: SimOrder, t: float) -> None:
        """Out of its route's ETAs: its worker moves on; pending events of ``o`` lapse."""
        was, w = o.status, o.worker
        o.resumes = "assigned" if was == "dispatched" else was
        o.status = "disabled"
        o.disabled_at = t
        o.version += 1
        o.start_pending = False
        o.touch()
        if w is not None and w.current is o and o.plan is not None:
            w.pos = o.plan.track.position(t)  # the worker moves on from where they are now
        self._released(o, was, t, w)

    def enable(self, o: SimOrder, t: float) -> None:
        """Back to the status it was disabled from (``dispatched`` comes back ``assigned``).

        An order disabled while ``ongoing`` comes back ``ongoing`` but is no longer worked by
        the simulation (its worker moved on): only the API completes or cancels it."""
        o.status = o.resumes or "assigned"
        o.resumes = None
        o.enabled_at = t
        o.version += 1
        o.touch()
        if o.status == "unplanned":
            self._push(t + 600, "plan", o)
        elif o.status == "planned":
            self._push(t + 600, "assign", o)
        elif o.status == "assigned" and o.worker is not None and o in o.worker.route:
            self._kick(o.worker, t)

    def reassign(self, o: SimOrder, w: Worker, t: float) -> None:
        """To ``w``: at the end of their queue (so the simulation works it), unless ``o`` was
        never in a queue (orders made by :meth:`add_order` stay worked by the caller).

        An ``ongoing`` order starts over with ``w`` (its old worker stops where they are); a
        ``disabled`` one stays disabled, and an enable gives it back to ``w`` as ``assigned``."""
        old = o.worker
        if old is w:
            return  # already theirs: nothing moves (a repeated reassign changes nothing)
        queued = old is not None and o in old.route
        was = o.status
        o.version += 1
        o.start_pending = False
        if old is not None and old.current is o:
            old.current = None
            if o.plan is not None:
                old.pos = o.plan.track.position(t)
        if o.started_at is not None:  # tracking starts over with the new worker
            o.plan = o.started_at = o.cut = o.end_pos = o.ended_by = None
        if queued and old is not None:
            old.route.remove(o)
            self._kick(old, t)
        if was == "disabled":
            o.worker, o.route_handle, o.assigned_at, o.resumes = w, w.route_handle, t, "assigned"
            if queued or old is None:
                w.route.append(o)
            o.forget_search()
        elif queued or old is None:
            self._route(o, w, t, None, None, random.Random(mix(self.seed, o.uid, 84)))
        else:
            o.worker, o.route_handle, o.assigned_at, o.status = w, w.route_handle, t, "assigned"
            o.forget_search()
        o.touch()

    def reschedule(self, o: SimOrder, t: float, at: float, after: float | None) -> SimOrder:
        """New times for ``o``: the order that now carries them (``o`` itself, or a new attempt).

        Not yet dispatched (or disabled): taken off its route, ``unplanned`` with the new times
        (planned again later). Dispatched or ongoing: this attempt ends ``cancelled`` and marked rescheduled,
        and the next ``fulfillment_attempt`` is created ``unplanned`` with the new times."""
        if o.status in ("dispatched", "ongoing"):
            o.rescheduled_marked_at = t
            self.cancel(o, t)
            o = self._next_attempt(o, t)
        else:
            w = o.worker
            queued = w is not None and o in w.route
            if queued and w is not None:
                w.route.remove(o)
                self._kick(w, t)
            o.status = "unplanned"
            o.resumes = None
            o.worker = o.route_handle = o.plan_id = None
            o.planned_at = o.assigned_at = o.start_by = o.initial_eta = None
            o.version += 1
            o.start_pending = False
            o.forget_search()
            if queued or w is None:  # an add_order order is worked by the caller: not replanned
                self._push(t + 600, "plan", o)
        o.scheduled_at, o.scheduled_after = at, after
        o.touch()
        return o

    def _next_attempt(self, o: SimOrder, t: float) -> SimOrder:
        attempts = [x.attempt for x in self.by_handle.get(o.handle, ()) if (x.type, x.type_index) == (o.type, o.type_index)]
        n = SimOrder(next(self._uids), self.seed, o.area)
        n.handle, n.type, n.type_index, n.attempt = o.handle, o.type, o.type_index, max(attempts) + 1
        n.created_at = t
        n.dest, n.address, n.radius, n.city = o.dest, o.address, o.radius, o.city
        n.metadata = dict(o.metadata)
        n.priority, n.product_type, n.capacity = o.priority, o.product_type, o.capacity
        n.expected_service, n.track_mode, n.plan_mode = o.expected_service, o.track_mode, o.plan_mode
        n.previous = [*(o.previous or ()), {"order_handle": o.handle, "fulfillment_attempt": o.attempt}]
        o.successor = n
        self._arrive(n, t)
        self._push(t + 600, "plan", n)
        return n

    def _released(self, o: SimOrder, was: str, t: float, w: Worker | None) -> None:
        """The worker of ``o`` no longer has it to do: they move on (orders added with
        :meth:`add_order` are not in a queue and move nobody)."""
        if w is None or o not in w.route:
            return
        if w.current is o:
            w.current = None
            if o.end_pos is not None:
                w.pos = o.end_pos
            self._kick(w, t)
        elif was in ("assigned", "dispatched"):
            self._kick(w, t)

    # ================================================================== reading

    def worker(self, handle: str) -> Worker | None:
        """The worker with ``handle`` (None: no such worker in the fleet)."""
        return next((w for w in self.workers if w.handle == handle), None)

    def lookup(self, handle: str, type: str | None = None, type_index: int | None = None,
               attempt: int | None = None) -> SimOrder | None:
        """The order a request addresses.

        Rule where HyperTrack is silent: of the legs and attempts that match the given
        parameters, take the latest attempt, then its first leg (pick before drop, lowest
        ``type_index``).
        """
        found = self.by_handle.get(handle)
        if not found:
            return None
        if type is not None:
            found = [o for o in found if o.type == type]
        if type_index is not None:
            found = [o for o in found if o.type_index == type_index]
        if attempt is not None:
            found = [o for o in found if o.attempt == attempt]
        if not found:
            return None
        latest = max(o.attempt for o in found)
        return min((o for o in found if o.attempt == latest),
                   key=lambda o: (o.type != "pick", o.type_index))

    def select(self, match: Callable[[SimOrder], bool], *, after: int | None, limit: int,
               descending: bool, created_from: float | None = None,
               created_to: float | None = None) -> tuple[list[SimOrder], bool]:
        """Up to ``limit`` matching orders after position ``after``, and whether more follow.

        ``created_from``/``created_to``: only orders created in that span (inclusive). The
        orders are kept in creation order, so the span is a slice found by bisection: a query
        for the recent orders costs the recent orders, not the whole history.
        """
        ordered = self.ordered
        lo = 0 if created_from is None else bisect_left(ordered, created_from, key=_created)
        hi = len(ordered) if created_to is None else bisect_right(ordered, created_to, key=_created)
        if descending:
            start = hi - 1 if after is None else min(after - 1, hi - 1)
            indices: Iterable[int] = range(start, lo - 1, -1)
        else:
            start = lo if after is None else max(after + 1, lo)
            indices = range(start, hi)
        out: list[SimOrder] = []
        for i in indices:
            o = ordered[i]
            if match(o):
                if len(out) == limit:
                    return out, True
                out.append(o)
        return out, False

    def add_history(self, count: int, *, before: float, span: float = 30 * 86400.0) -> None:
        """``count`` completed orders created in the ``span`` seconds before ``before`` (for
        benchmarks and tests of an account with a long history). They are worked by no one and
        change nothing else; positions (and so pagination tokens) are renumbered: call it
        before serving."""
        if before > min((o.created_at for o in self.ordered), default=before):
            raise ValueError("history must be older than every order")
        rng = random.Random(mix(self.seed, 83, count))
        old: list[SimOrder] = []
        for i in range(count):
            created = before - span + span * i / max(count, 1)
            o = self._new_order(rng, _pick(rng, AREAS), created)
            o.handle = f"HIST-{day_stamp(created)}-{i:06d}"
            o.type, o.type_index, o.attempt = "drop", 0, 0
            o.scheduled_at = _round_to(created + 2 * HOUR, 15 * 60)
            o.status, o.completed_at, o.ended_by = "completed", created + 3 * HOUR, "api"
            o.risks = assess(o, created + 3 * HOUR)
            if o.key in self.by_key:
                raise ValueError(f"duplicate order identity {o.key!r}")
            self.by_key[o.key] = o
            self.by_handle.setdefault(o.handle, []).append(o)
            old.append(o)
            o.touch()
        self.ordered[:0] = old
        for i, o in enumerate(self.ordered):
            o.seq = i

    # ================================================================== for tests and demos

    def add_order(self, handle: str, *, status: str = "assigned", ops_group_handle: str | None = None,
                  type: str = "drop", type_index: int = 0, attempt: int = 0,
                  metadata: dict[str, Any] | None = None) -> SimOrder:
        """Create an order with a chosen handle (e.g. one holding ``/`` or ``#``) at ``self.now``.

        ``status`` may be unplanned, planned, assigned, ongoing, disabled, completed or cancelled.
        The order is worked on its own (it does not join a worker's queue), so nothing else in
        the fleet changes because of it.
        """
        t = self.now
        area = next((a for a in AREAS if a.ops_group_handle == ops_group_handle), None) if ops_group_handle else AREAS[0]
        if area is None:
            raise ValueError(f"unknown ops group {ops_group_handle!r}")
        key = (handle, type, type_index, attempt)
        if key in self.by_key:
            raise ValueError(f"an order {key!r} already exists")
        rng = random.Random(mix(self.seed, 81, len(self.ordered)))
        o = self._new_order(rng, area, t)
        o.handle, o.type, o.type_index, o.attempt = handle, type, type_index, attempt
        if attempt:
            o.previous = [{"order_handle": handle, "fulfillment_attempt": a} for a in range(attempt)]
        if metadata is not None:
            o.metadata = dict(metadata)
        o.scheduled_at = _round_to(t + 2 * HOUR, 15 * 60)
        o.scheduled_after = o.scheduled_at - 3600
        if status not in ("unplanned", "planned"):
            w = self.workers_by_area[area.ops_group_handle][0]
            o.worker, o.route_handle = w, w.route_handle
            o.planned_at, o.assigned_at = t, t
            o.plan_id = uuid_from(self.seed, 42, AREAS.index(area), int(t // 1800))
            o.origin = offset(*o.dest, 1500, -1200)
            o.trip_len = distance_m(*o.origin, *o.dest) * GRID_FACTOR
            o.trip_dur = o.trip_len / PLANNING_SPEED_MPS
            o.start_by = o.scheduled_at - o.trip_dur - 300
            o.initial_eta = t + o.trip_dur
            o.status = "assigned"
        elif status == "planned":
            o.status, o.planned_at = "planned", t
        self._index(o)
        o.seq = len(self.ordered) - 1
        if status == "ongoing":
            self._start(o, t, origin=o.origin, outcome="abandon")
            o.version += 1  # worked only by the caller: no automatic finish
        elif status == "disabled":
            o.status, o.disabled_at = "disabled", t
        elif status == "completed":
            o.status, o.completed_at, o.ended_by = "completed", t, "api"
        elif status == "cancelled":
            o.status, o.cancelled_at, o.ended_by = "cancelled", t, "api"
        elif status not in ("unplanned", "planned", "assigned"):
            raise ValueError(f"cannot create an order in status {status!r}")
        o.risks = assess(o, t)
        if o.is_open:
            self._schedule_risk(o, t, first=True)
        o.touch()
        return o

    def status_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for o in self.ordered:
            out[o.status] = out.get(o.status, 0) + 1
        return out


# ====================================================================== plans


def _created(o: SimOrder) -> float:
    return o.created_at


def build_plan(o: SimOrder, t: float, origin: tuple[float, float], rng: random.Random,
               outcome: str | None = None) -> Plan:
    """Everything the worker will do for ``o``, starting at ``t`` from ``origin``."""
    dest = o.dest
    first_fix = t + rng.uniform(3, 25)
    track = Track(first_fix, *origin)
    # Along the street grid: one leg east-west and one north-south (in either order), with a jog.
    if rng.random() < 0.5:
        corner = (dest[0], origin[1])
    else:
        corner = (origin[0], dest[1])
    jog = offset(*corner, rng.uniform(-150, 150), rng.uniform(-150, 150))
    mid = ((origin[0] + jog[0]) / 2, (origin[1] + jog[1]) / 2)
    park_d = rng.uniform(4, min(35.0, o.radius * 0.5))
    angle = rng.uniform(0, 2 * math.pi)
    park = offset(*dest, park_d * math.cos(angle), park_d * math.sin(angle))
    waypoints = [mid, jog, park]
    speed = rng.uniform(7.5, 12.5)
    slow = rng.randrange(2) if rng.random() < 0.25 else -1
    for i, wp in enumerate(waypoints):
        factor = rng.uniform(0.25, 0.5) if i == slow else rng.uniform(0.85, 1.15)
        if i == len(waypoints) - 1:
            factor *= 0.7  # slower on the last stretch: finding the door and parking
        track.go(*wp, speed * factor)
    parked_t = track.end
    drive_len = track.cum[-1]
    arrive_t = _geofence_entry(track, dest, o.radius)
    service_start = parked_t + rng.uniform(10, 90)
    if outcome is None:
        r = rng.random()
        outcome = "complete" if r < 0.78 else "abandon" if r < 0.92 else "cancel"
    service_len = o.expected_service * (rng.uniform(0.6, 1.6) if outcome != "reschedule" else rng.uniform(0.1, 0.3))
    track.stay(service_start + service_len - parked_t)
    service_end = track.end
    if outcome == "abandon":
        finish_t = None
        track.stay(rng.uniform(20, 120))
        hop = rng.uniform(300, 900)
        leave_speed = speed
    else:
        finish_t = service_end + rng.uniform(5, 90)
        track.stay(finish_t - service_end + rng.uniform(5, 40))
        hop = o.radius * 1.2 - park_d
        leave_speed = rng.uniform(3.0, 6.0)
    # Leave straight away from the destination: the geofence is crossed after radius - park_d metres.
    ux, uy = math.cos(angle), math.sin(angle)
    leave_start = track.end
    away = offset(*park, hop * ux, hop * uy)
    track.go(*away, leave_speed)
    exit_t = leave_start + max(0.0, o.radius - park_d) / leave_speed
    return Plan(track, drive_len, parked_t, arrive_t, service_start, service_end, exit_t,
                exit_t if finish_t is None else finish_t, outcome, park)


def _geofence_entry(track: Track, dest: tuple[float, float], radius: float) -> float:
    """When the track first comes within ``radius`` metres of ``dest``.

    Per segment, in metres around ``dest``: the smallest s in [0, 1] with |a + s(b - a)| = r.
    """
    r2 = radius * radius
    ax, ay = to_local(track.lons[0], track.lats[0], dest)
    if ax * ax + ay * ay <= r2:
        return track.ts[0]
    for i in range(1, len(track.ts)):
        bx, by = to_local(track.lons[i], track.lats[i], dest)
        if bx * bx + by * by <= r2:
            dx, dy = bx - ax, by - ay
            a = dx * dx + dy * dy
            b = 2 * (ax * dx + ay * dy)
            c = ax * ax + ay * ay - r2
            disc = max(0.0, b * b - 4 * a * c)
            s = (-b - math.sqrt(disc)) / (2 * a) if a > 0 else 0.0
            s = min(1.0, max(0.0, s))
            return track.ts[i - 1] + (track.ts[i] - track.ts[i - 1]) * s
        ax, ay = bx, by
    return track.end


def _pick(rng: random.Random, seq: Any) -> Any:
    """``rng.choice`` without its overhead (50,000 orders make millions of draws)."""
    return seq[int(rng.random() * len(seq))]


def _below(rng: random.Random, lo: int, hi: int) -> int:
    """An int in [lo, hi), like ``rng.randrange(lo, hi)`` but cheaper."""
    return lo + int(rng.random() * (hi - lo))


def _weighted(rng: random.Random, weights: tuple[float, ...]) -> int:
    r = rng.random() * sum(weights)
    for i, w in enumerate(weights):
        r -= w
        if r < 0:
            return i
    return len(weights) - 1


def _round_to(t: float, step: float) -> float:
    return round(t / step) * step


__all__ = ["FILTERABLE_STATUSES", "ConflictState", "Fleet", "OPEN_STATUSES", "build_plan"]
