"""The console session's change tracking at 50,000 open orders (console/session/alerts.py): the
loop time its steps take in a refresh.

The same two refreshes as tests/benchmarks/changes.py (50k summaries; the second a minute later,
with 1% changed, 0.2% gone, 0.2% new), fed as the session feeds them (console/session/core.py):
the first load's rows in steps of ``Session.ROWS_PER_STEP`` (``TableDiff.add``, the baseline);
the refresh merged into the order table (untimed: the table's own work), its result given to the
diff; then the two halves of the end, with a yield between them in the session:
``ChangeTracker.compare`` (the detector's diff) and ``ChangeTracker.record`` (the feed, the new
reds, the notification composed). The collector is frozen and off, as the console's heap policy
keeps it during a load (console/gc_policy.py).

    .venv/bin/python -m tests.benchmarks.session_changes --runs 7
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time

from console.notify import Notifier
from console.session.alerts import ChangeTracker
from console.session.core import Session
from console.session.table import OrderTable
from tests.benchmarks.changes import LATER, NOW, first_load, fleet


def one_run(first: list, second: list) -> dict[str, float]:
    step = Session.ROWS_PER_STEP
    tracker = ChangeTracker(notifier=Notifier(None, min_interval=0))
    table = OrderTable()
    diff = tracker.begin(NOW)
    first_steps = first_load(diff, table, first, step)
    assert tracker.complete(diff) is None  # the baseline
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        merged = table.merge(second)
        t = time.perf_counter()
        diff = tracker.begin(LATER)
        diff.merged(merged)
        events = tracker.compare(diff)
        compare = time.perf_counter() - t
        t = time.perf_counter()
        found = tracker.record(events)
        record = time.perf_counter() - t
    finally:
        gc.enable()
        gc.unfreeze()
    assert found.events and found.notification
    return {"first_load_step_max": max(first_steps), "first_load_total": sum(first_steps), "compare": compare,
            "record": record, "end_max": max(compare, record), "refresh_total": compare + record,
            "events": len(found.events)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    first, second = fleet()
    results = [one_run(first, second) for _ in range(args.runs)]
    print(json.dumps({k: round(statistics.median(r[k] for r in results), 5) for k in results[0]}))
    print("max", json.dumps({k: round(max(r[k] for r in results), 5) for k in results[0]}))


if __name__ == "__main__":
    main()
