"""What the journal's integrity check costs when a journal opens, at 10,000 ops.

    .venv/bin/python scripts/bench_journal_check.py [--ops 10000] [--runs 15]

Builds a journal the way runs fill it (one run; per op: the op row, an intent and an outcome in
its history, i.e. 10,000 ops and 20,000 events), closes it, then times, each ``--runs`` times on
a fresh connection (the page cache of the OS is warm, as on a second start):

- ``PRAGMA quick_check(1)``: what :class:`Journal` and :class:`JournalReader` run on open;
- ``PRAGMA integrity_check(1)``: the stricter check (indexes against their tables), for comparison;
- ``Journal.open()`` + ``close()`` and ``JournalReader.open()`` + ``close()``, the whole opening,
  with the check and without it.

Prints the median and the worst of each, in milliseconds, and the file's size.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from console.api.vocab import OrderRef  # noqa: E402
from console.bulk import journal as J  # noqa: E402
from console.bulk.journal import Journal, JournalReader, format_time, utc_now  # noqa: E402

URL = "https://v3.api.hypertrack.com"


def build(path: Path, ops: int) -> None:
    with Journal(path) as journal:
        run_id = journal.start_run(account_id="acct-bench", base_url=URL, count=ops)
        op_ids = journal.add_ops(run_id, [OrderRef(f"ORD-20261207-{i:05d}", "drop", 0, 0) for i in range(ops)],
                                 account_id="acct-bench", base_url=URL)
        journal.finish_run(run_id)
    # The intents and outcomes, as the engine records them, in one transaction (a real run
    # commits each on its own; the file they leave is the same).
    conn = sqlite3.connect(path)
    now = format_time(utc_now())
    with conn:
        for op_id in op_ids:
            conn.execute("UPDATE ops SET state='applied', attempts=1, intent_at=?, outcome_at=?, updated_at=?, "
                         "http_status=200, message='completed', request_id=?, completed_at=? WHERE op_id=?",
                         (now, now, now, uuid.uuid4().hex, now, op_id))
            conn.execute("INSERT INTO op_events(op_id, run_id, at, kind, state, attempt) "
                         "VALUES (?, ?, ?, 'intent', 'sending', 1)", (op_id, run_id, now))
            conn.execute("INSERT INTO op_events(op_id, run_id, at, kind, state, http_status, message, request_id) "
                         "VALUES (?, ?, ?, 'outcome', 'applied', 200, 'completed', ?)",
                         (op_id, run_id, now, uuid.uuid4().hex))
    conn.close()


def timed(fn, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ops", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "journal.sqlite3"
        build(path, args.ops)

        def pragma(sql: str):
            def go() -> None:
                conn = sqlite3.connect(path)
                try:
                    assert conn.execute(sql).fetchall() == [("ok",)]
                finally:
                    conn.close()
            return go

        def open_writer() -> None:
            Journal(path).open().close()

        def open_reader() -> None:
            JournalReader(path).open().close()

        print(f"journal: {args.ops} ops, {path.stat().st_size / 1e6:.1f} MB; {args.runs} runs each")
        for name, fn in (("PRAGMA quick_check(1)", pragma("PRAGMA quick_check(1)")),
                         ("PRAGMA integrity_check(1)", pragma("PRAGMA integrity_check(1)")),
                         ("Journal.open()+close()", open_writer),
                         ("JournalReader.open()+close()", open_reader)):
            fn()  # warm the page cache
            times = timed(fn, args.runs)
            print(f"{name:32s} median {statistics.median(times):7.2f} ms   max {max(times):7.2f} ms")
        # The same openings without the check: what the check adds to them.
        checked, J.INTEGRITY_CHECK = J.INTEGRITY_CHECK, "SELECT 'ok'"
        try:
            for name, fn in (("Journal.open() without check", open_writer),
                             ("JournalReader.open() w/o check", open_reader)):
                fn()
                times = timed(fn, args.runs)
                print(f"{name:32s} median {statistics.median(times):7.2f} ms   max {max(times):7.2f} ms")
        finally:
            J.INTEGRITY_CHECK = checked


if __name__ == "__main__":
    main()
