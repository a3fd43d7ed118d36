"""Change detection at 50,000 open orders (console/session/changes.py): loop time per refresh.

Two refreshes of the same 50,000 orders read as the list reads them (``OrderSummary``, pages of
1,000, timestamps shared as ``parse_timestamp`` memoises them; and as the list's rows, the same
row object kept for an unchanged order as the list's refresh merge keeps it), the second with 1% of the orders
changed (a risk, a worker, a status, an ETA), 0.2% gone and 0.2% new. Measured per run, in one
process: the per-page snapshot work of the second refresh (``SnapshotBuilder.add``, summed, and
its longest page; each page is also compared with the previous snapshot there), ``finish`` +
``compare`` (the one synchronous step at the end of a refresh),
and the baseline: one plain ``dict.items()`` difference over two 50k dicts of the same tuples.

    .venv/bin/python -m tests.benchmarks.changes --runs 7
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import time
from datetime import datetime, timedelta, timezone

from console.api.summaries import OrderSummary
from console.api.vocab import RISK_KEY_NAMES, OrderRef
from console.session.changes import ChangeDetector, SnapshotBuilder

ORDERS = 50_000
PAGE = 1_000
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
LEVELS = ("green", "green", "green", "yellow", "red")
STATUSES = ("assigned", "ongoing", "ongoing", "dispatched", "planned")


def fleet(seed: int = 1) -> tuple[list[OrderSummary], list[OrderSummary]]:
    rng = random.Random(seed)
    times = [NOW + timedelta(minutes=m) for m in range(-120, 600)]  # shared objects, as memoised
    workers = [f"worker-{i}" for i in range(800)]
    first = []
    for i in range(ORDERS):
        risks = {k: rng.choice(LEVELS) for k in RISK_KEY_NAMES if rng.random() < 0.6}
        first.append(OrderSummary(
            OrderRef(f"order-{i:06d}", "drop", 0), rng.choice(STATUSES), worker=rng.choice(workers),
            ops_group=f"group-{i % 20}", scheduled_at=rng.choice(times), eta=rng.choice(times),
            risks=risks or None,
        ))
    second = []
    for i, o in enumerate(first):
        roll = rng.random()
        if roll < 0.002:
            continue  # left
        if roll < 0.012:  # 1% changed
            risks = dict(o.risks or {})
            risks[rng.choice(RISK_KEY_NAMES)] = rng.choice(LEVELS)
            o = OrderSummary(o.ref, rng.choice(STATUSES), worker=rng.choice(workers), ops_group=o.ops_group,
                             scheduled_at=o.scheduled_at, eta=rng.choice(times), risks=risks)
        else:  # unchanged: a new object with equal values, as a fresh page read gives
            o = OrderSummary(o.ref, o.status, worker=o.worker, ops_group=o.ops_group,
                             scheduled_at=o.scheduled_at, eta=o.eta, risks=dict(o.risks) if o.risks else None)
        second.append(o)
    for i in range(ORDERS // 500):
        second.append(OrderSummary(OrderRef(f"new-{i:05d}", "drop", 0), "unplanned", eta=times[0]))
    return first, second


def one_run(first: list, second: list) -> dict[str, float]:
    detector = ChangeDetector()
    builder = SnapshotBuilder(NOW)
    for start in range(0, len(first), PAGE):
        builder.add(first[start:start + PAGE])
    previous = builder.finish()
    detector.compare(previous)
    gc.collect()
    gc.disable()
    try:
        builder = detector.begin(NOW + timedelta(seconds=10))
        pages = []
        cpu = 0.0  # the thread's CPU time: what the work costs when the machine is not shared
        for start in range(0, len(second), PAGE):
            t, c = time.perf_counter(), time.thread_time()
            builder.add(second[start:start + PAGE])
            pages.append(time.perf_counter() - t)
            cpu += time.thread_time() - c
        t, c = time.perf_counter(), time.thread_time()
        current = builder.finish()
        events = detector.compare(current)
        compare = time.perf_counter() - t
        cpu += time.thread_time() - c
        # Baseline: one plain dict diff of the two refreshes' 50k dicts of facts tuples.
        old, new = previous.tuples(), current.tuples()
        t = time.perf_counter()
        changed = new.items() - old.items()
        gone = old.keys() - new.keys()
        baseline = time.perf_counter() - t
    finally:
        gc.enable()
    assert changed and gone and events
    return {"pages_total": sum(pages), "page_max": max(pages), "compare": compare,
            "loop_total": sum(pages) + compare, "cpu_total": cpu, "baseline": baseline, "events": len(events)}


def measure(runs: int) -> dict[str, list[dict[str, float]]]:
    """Per run: the watch command's input (summaries) and the console's (the list's rows, which
    carry their risk levels and key already)."""
    from console.session.table import OrderRow

    first, second = fleet()
    first_rows = [OrderRow(o) for o in first]
    # As the list's refresh merge does: the previous row object is kept when the order's
    # fingerprint is unchanged.
    kept = {row.key: row for row in first_rows}
    second_rows = []
    for o in second:
        row = OrderRow(o)
        prev = kept.get(row.key)
        second_rows.append(prev if prev is not None and prev.fingerprint == row.fingerprint else row)
    return {"summaries": [one_run(first, second) for _ in range(runs)],
            "rows": [one_run(first_rows, second_rows) for _ in range(runs)]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name, results in measure(args.runs).items():
        summary = {k: round(statistics.median(r[k] for r in results), 5) for k in results[0]}
        print(name, json.dumps(summary))


if __name__ == "__main__":
    main()
