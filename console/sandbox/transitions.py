"""Changes the fleet does not make by itself: a supervisor elsewhere, and a scripting API.

The fleet already moves on with its clock (console/sandbox/fleet.py): risks are reassessed every
few minutes (they worsen and recover), drivers start and complete orders, some orders are
cancelled at the door, new orders arrive. What a second supervisor does is added here:

- :func:`start_elsewhere`: a seeded supervisor in another office who, every few simulated
  minutes (sooner in a bigger fleet), reassigns a queued order to another worker of its ops
  group or cancels one. Deterministic for a seed and clock: the choices come from the fleet's
  seed and the event's sequence. The served and embedded sandboxes start it; an in-process
  ``Sandbox`` only when asked (``Sandbox(..., elsewhere=True)``), so tests that advance a frozen
  clock see only what they script.
- :class:`Script`: what a test makes happen to a given order at a given simulated time: turn a
  risk red (pinned until :meth:`Script.recover`), reassign, cancel, complete. Each step is an
  event in the fleet's own queue, so it happens in time order with everything else, when the
  sandbox's clock reaches it (at once when the time is now or past and the sandbox is synced).

Everything here runs under the sandbox's lock (the fleet's events do; :class:`Script` takes it).
"""

from __future__ import annotations

import random
from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from console.sandbox.rand import mix

if TYPE_CHECKING:
    from console.sandbox.core import Sandbox
    from console.sandbox.fleet import Fleet
    from console.sandbox.order import SimOrder, Worker

#: Mean simulated seconds between two actions of the supervisor elsewhere, for 500 orders.
ELSEWHERE_GAP = 240.0


def start_elsewhere(fleet: "Fleet", *, gap: float = ELSEWHERE_GAP) -> None:
    """Have a supervisor elsewhere reassign or cancel an open order now and then."""
    rng = random.Random(mix(fleet.seed, 93))
    scale = max(1.0, fleet.target_orders / 500)

    def act(t: float) -> None:
        queued = [o for o in fleet.ordered[-2000:] if o.status in ("assigned", "dispatched")]
        if queued:
            o = queued[rng.randrange(len(queued))]
            if rng.random() < 0.7:
                reassign(fleet, o, t, worker=_other_worker(fleet, o, rng))
            else:
                fleet.cancel(o, t)
        fleet.at(t + rng.uniform(0.5, 1.5) * gap / scale, act)

    fleet.at(fleet.now + rng.uniform(0.5, 1.5) * gap / scale, act)


def _other_worker(fleet: "Fleet", o: "SimOrder", rng: random.Random) -> "Worker | None":
    workers = [w for w in fleet.workers_by_area[o.area.ops_group_handle] if w is not o.worker]
    return workers[rng.randrange(len(workers))] if workers else None


def reassign(fleet: "Fleet", o: "SimOrder", t: float, worker: "Worker | None" = None) -> "Worker | None":
    """Give ``o`` to ``worker`` (default: the next worker of its ops group) as the API's
    reassign does (:meth:`Fleet.reassign`: a queued order goes to the end of the new worker's
    route, an ongoing one starts over with them). Returns the new worker (None: nobody else to
    give it to, or ``o`` is no longer open)."""
    if worker is None:
        workers = fleet.workers_by_area[o.area.ops_group_handle]
        if o.worker in workers and len(workers) > 1:
            worker = workers[(workers.index(o.worker) + 1) % len(workers)]
        elif o.worker not in workers and workers:
            worker = workers[0]
    if worker is None or worker is o.worker or not o.is_open:
        return None
    fleet.reassign(o, worker, t)
    return worker


def turn_red(o: "SimOrder", risk: str = "delayed_from_scheduled_at") -> None:
    """Set one risk red and pin it: the fleet's pending risk rounds for ``o`` are dropped."""
    o.risks = dict(o.risks)
    o.risks[risk] = "red"
    o.risk_version += 1
    o.touch()


class Script:
    """Make given things happen to given orders at given simulated times.

    ``target``: a :class:`~console.sandbox.core.Sandbox` (its lock is taken and it is synced,
    so a step due now happens at once) or a bare :class:`~console.sandbox.fleet.Fleet`. ``at``:
    simulated UNIX seconds or an aware datetime; None: now. Orders are named by handle (and
    optionally ``type``/``type_index``), as an API request names them.
    """

    def __init__(self, target: "Sandbox | Fleet") -> None:
        self._sandbox = target if hasattr(target, "fleet") else None
        self.fleet: Fleet = target.fleet if self._sandbox is not None else target  # type: ignore[union-attr,assignment]

    def turn_red(self, handle: str, *, at: float | datetime | None = None,
                 risk: str = "delayed_from_scheduled_at", **leg: Any) -> None:
        self._at(at, handle, leg, lambda o, t: turn_red(o, risk))

    def recover(self, handle: str, *, at: float | datetime | None = None, **leg: Any) -> None:
        """Every risk green again, and the fleet's own risk rounds resume."""
        def step(o: "SimOrder", t: float) -> None:
            o.risks = {k: "green" for k in o.risks}
            o.risk_version += 1
            o.touch()
            self.fleet._schedule_risk(o, t)
        self._at(at, handle, leg, step)

    def reassign(self, handle: str, *, at: float | datetime | None = None, worker: str | None = None,
                 **leg: Any) -> None:
        def step(o: "SimOrder", t: float) -> None:
            chosen = None
            if worker is not None:
                chosen = self.fleet.worker(worker)
                if chosen is None:
                    raise ValueError(f"no worker {worker!r} in the fleet")
            reassign(self.fleet, o, t, chosen)
        self._at(at, handle, leg, step)

    def cancel(self, handle: str, *, at: float | datetime | None = None, **leg: Any) -> None:
        self._at(at, handle, leg, lambda o, t: o.is_open and self.fleet.cancel(o, t))

    def complete(self, handle: str, *, at: float | datetime | None = None, **leg: Any) -> None:
        self._at(at, handle, leg, lambda o, t: o.is_open and self.fleet.complete(o, t))

    def _at(self, at: float | datetime | None, handle: str, leg: dict[str, Any], step: Any) -> None:
        o = self.fleet.lookup(handle, leg.get("type"), leg.get("type_index"), leg.get("attempt"))
        if o is None:
            raise KeyError(f"no order {handle!r}")
        sb = self._sandbox
        with sb.lock if sb is not None else nullcontext():
            now = sb.now() if sb is not None else self.fleet.now
            t = now if at is None else (at.timestamp() if isinstance(at, datetime) else float(at))
            due = max(t, self.fleet.now)
            self.fleet.at(due, lambda when: step(o, when))
            if sb is not None:
                sb.sync()
            if due <= self.fleet.now:
                self.fleet._run(self.fleet.now)  # due now: the fleet does not wait for its clock
