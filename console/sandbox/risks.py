"""Risk assessment for a simulated order: HyperTrack's eight keys, each green, yellow or red.

Three risks follow from the order's own facts (lateness against ``scheduled_at`` and against the
first ETA, crawling in traffic, leaving the destination without completing); the device-side ones
(offline, low battery, outage, off-route) come and go at random, but stick for a while once raised.
Everything is a hash of (seed, order, round), so the same fleet re-assessed at the same moments
always gets the same colours.
"""

from __future__ import annotations

from console.sandbox.order import RISK_KEYS, SimOrder
from console.sandbox.rand import unit

LATE_RED_S = 15 * 60
INITIAL_ETA_RED_S = 10 * 60
INITIAL_ETA_YELLOW_S = 2 * 60
# Earliest an order without a route could possibly arrive: planning plus a drive.
UNROUTED_LEAD_S = 30 * 60

_DEVICE_RISKS = ("is_offline", "in_low_battery", "in_outage", "deviating_from_expected_route")
_RAISE_P = {"is_offline": 0.03, "in_low_battery": 0.04, "in_outage": 0.02, "deviating_from_expected_route": 0.05}
_STICK_P = 0.65


def expected_arrival(o: SimOrder, t: float) -> float | None:
    p = o.plan
    if p is not None and o.started_at is not None:
        return p.arrive_t
    if o.status in ("assigned", "dispatched") and o.trip_dur:
        return max(t, o.start_by or t) + o.trip_dur
    if o.status in ("unplanned", "planned", "disabled"):
        return t + UNROUTED_LEAD_S
    return None


def _late(lateness: float, red: float, yellow: float = 0.0) -> str:
    if lateness > red:
        return "red"
    if lateness > yellow:
        return "yellow"
    return "green"


def assess(o: SimOrder, t: float) -> dict[str, str]:
    """The risks of ``o`` at time ``t``; advances the order's risk round."""
    o.risk_round += 1
    rnd = o.risk_round
    risks = dict.fromkeys(RISK_KEYS, "green")
    eta = expected_arrival(o, t)
    if eta is not None and o.scheduled_at is not None:
        risks["delayed_from_scheduled_at"] = _late(eta - o.scheduled_at, LATE_RED_S)
    p = o.plan
    driving = p is not None and o.status == "ongoing" and t < p.arrive_t
    if p is not None and o.initial_eta is not None:
        risks["delayed_from_initial_eta"] = _late(p.arrive_t - o.initial_eta, INITIAL_ETA_RED_S, INITIAL_ETA_YELLOW_S)
    if driving and p is not None:
        avg = p.drive_len / max(1.0, p.parked_t - p.track.start)
        speed = p.track.speed(t)
        if speed < 0.35 * avg:
            risks["moving_too_slow"] = "red"
        elif speed < 0.6 * avg:
            risks["moving_too_slow"] = "yellow"
    if p is not None and o.status == "ongoing" and p.outcome == "abandon" and t >= p.exit_t:
        risks["moving_away_from_destination"] = "red"
    if o.worker is not None and o.status in ("assigned", "dispatched", "ongoing"):
        for i, key in enumerate(_DEVICE_RISKS):
            if key == "deviating_from_expected_route" and not driving:
                continue
            before = o.risks.get(key, "green")
            r = unit(o.seed, o.uid, 200 + i, rnd)
            if before != "green" and r < _STICK_P:
                risks[key] = before
            elif r < _RAISE_P[key]:
                risks[key] = "red" if unit(o.seed, o.uid, 300 + i, rnd) < 0.35 else "yellow"
    return risks
