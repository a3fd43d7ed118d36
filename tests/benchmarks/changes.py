"""Change detection at 50,000 open orders (console/session/changes.py): loop time per refresh.

Two refreshes of the same 50,000 orders read as the list reads them (``OrderSummary``, pages of
1,000, timestamps shared as ``parse_timestamp`` memoises them), the second a minute later with
1% of the orders changed (a risk, a worker, a status, an ETA), 0.2% gone and 0.2% new. Measured
per run, in one process, for each way in:

- the console's (``table``): the order table is loaded and refreshed by its merge (timed apart:
  the table's own refresh, run with or without change detection); the detector is given the
  merge's result and compares (``TableDiff.merged`` + ``compare_table``: what change detection
  adds to the refresh, one synchronous step). Also the first load's per-page ``TableDiff.add``
  (it sets the baseline);
- ``watch``'s (``summaries``): the per-page snapshot work of the second refresh
  (``SnapshotBuilder.add``, summed, and its longest page; each page is also compared with the
  previous snapshot there), and ``finish`` + ``compare``.

Both must give the same events (checked before the runs). The baseline: one plain
``dict.items()`` difference over two 50k dicts of the same tuples.

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
from console.session.changes import ChangeDetector, SnapshotBuilder, snapshot

ORDERS = 50_000
PAGE = 1_000
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=timezone.utc)
#: The second refresh: a minute later, so the clock makes some unchanged orders LATE too.
LATER = NOW + timedelta(seconds=60)
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
    """The summaries' path (``watch``): every order of the refresh goes through the builder."""
    detector = ChangeDetector()
    builder = SnapshotBuilder(NOW)
    for start in range(0, len(first), PAGE):
        builder.add(first[start:start + PAGE])
    previous = builder.finish()
    detector.compare(previous)
    gc.collect()
    gc.disable()
    try:
        builder = detector.begin(LATER)
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
        baseline = _baseline(previous.tuples(), current.tuples())
    finally:
        gc.enable()
    assert events
    return {"pages_total": sum(pages), "page_max": max(pages), "compare": compare,
            "loop_total": sum(pages) + compare, "cpu_total": cpu, "baseline": baseline, "events": len(events)}


def _baseline(old: dict, new: dict) -> float:
    """One plain dict diff of the two refreshes' 50k dicts of facts tuples."""
    t = time.perf_counter()
    changed = new.items() - old.items()
    gone = old.keys() - new.keys()
    took = time.perf_counter() - t
    assert changed and gone
    return took


def one_table_run(first: list, second: list) -> dict[str, float]:
    """The console's path: the order table is loaded (the first load's rows go to the detector
    page by page) and refreshed by its merge, untimed here except as context (the table's own
    refresh, which runs with or without change detection); the detector is given the merge's
    result, and that, with the compare, is what change detection adds to the refresh."""
    from console.session.table import OrderTable

    detector, table = ChangeDetector(), OrderTable()
    diff = detector.begin_table(NOW)
    listing = first_load(diff, table, first, PAGE)
    assert detector.compare_table(diff) == []
    gc.collect()
    gc.disable()
    try:
        t = time.perf_counter()
        merge = table.begin_refresh()
        for start in range(0, len(second), PAGE):
            merge.add_page(second[start:start + PAGE])
        for _ in merge.steps():
            pass
        result = merge.finish()
        merge_time = time.perf_counter() - t
        t, c = time.perf_counter(), time.thread_time()
        diff = detector.begin_table(LATER)
        diff.merged(result)
        events = detector.compare_table(diff)
        compare = time.perf_counter() - t
        cpu = time.thread_time() - c
        old = {k: f[:7] for k, f in snapshot(first, NOW).tuples().items()}
        baseline = _baseline(old, snapshot(second, LATER).tuples())
    finally:
        gc.enable()
    assert events
    return {"pages_total": 0.0, "page_max": 0.0, "compare": compare, "loop_total": compare, "cpu_total": cpu,
            "baseline": baseline, "events": len(events), "merge": merge_time,
            "first_load_pages_total": sum(listing), "first_load_page_max": max(listing)}


def first_load(diff, table, orders: list, step: int) -> list[float]:
    """The first load as the session runs it: rows built a step at a time, each step given to
    the diff (the baseline) and added to the table. Returns the seconds of each ``diff.add``."""
    from console.session.table import build_rows

    took = []
    for start in range(0, len(orders), step):
        rows = build_rows(orders[start:start + step])
        t = time.perf_counter()
        diff.add(rows)
        took.append(time.perf_counter() - t)
        table.extend(rows)
    return took


def measure(runs: int) -> dict[str, list[dict[str, float]]]:
    """Per run: the console's input (its order table's merge) and the watch command's
    (summaries). Both must give the same events."""
    first, second = fleet()
    check_same_events(first, second)
    return {"table": [one_table_run(first, second) for _ in range(runs)],
            "summaries": [one_run(first, second) for _ in range(runs)]}


def check_same_events(first: list, second: list) -> None:
    from console.session.table import OrderTable, build_rows

    by_summaries = ChangeDetector()
    by_summaries.compare(snapshot(first, NOW))
    expected = by_summaries.compare(snapshot(second, LATER))
    detector, table = ChangeDetector(), OrderTable()
    diff = detector.begin_table(NOW)
    rows = build_rows(first)
    diff.add(rows)
    table.extend(rows)
    detector.compare_table(diff)
    diff = detector.begin_table(LATER)
    diff.merged(table.merge(second))
    assert detector.compare_table(diff) == expected, "the table's events differ from the summaries'"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for name, results in measure(args.runs).items():
        summary = {k: round(statistics.median(r[k] for r in results), 5) for k in results[0]}
        print(name, json.dumps(summary))


if __name__ == "__main__":
    main()
