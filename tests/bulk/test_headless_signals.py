"""Ctrl-C (SIGINT), SIGTERM and SIGHUP (an SSH session closing) in the middle of ``complete``, in
a real subprocess with real signals: each stops new sends, lets the requests in flight finish and
records them, then exits with its documented code.

The subprocess runs ``run_complete`` against the fake (with 20 ms of real latency per request)
and writes what the fake server saw to a file when it exits.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from tests.support.fake_hypertrack import journal_rows

REPO = Path(__file__).resolve().parents[2]

RUNNER = textwrap.dedent(
    """
    import argparse, json, sys
    from console.bulk import headless as H
    from tests.bulk.test_bulk_benchmark import slow_fake

    journal, stats = sys.argv[1], sys.argv[2]
    names = [f"o{i}" for i in range(100)]
    fake = slow_fake(names, 0.02)
    parser = argparse.ArgumentParser()
    H.add_complete_arguments(parser)
    args = parser.parse_args([*names, "--yes", "--json", "--concurrency", "2", "--journal", journal])
    code = H.run_complete(args, client_factory=fake.client)
    with open(stats, "w") as fh:
        json.dump({"code": code, "posts": [r.handle for r in fake.posts()],
                   "completed": sorted(fake.completed()), "effective": dict(fake.effective)}, fh)
    sys.exit(code)
    """
)


import pytest


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_mid_run_stops_sending_records_in_flight_and_exits_with_its_code(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    journal = tmp_path / "journal.sqlite3"
    stats_path = tmp_path / "stats.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", RUNNER, str(journal), str(stats_path)], cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        # A few orders in: the progress line of the first tenth (a line per 10% off a terminal).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            assert line, "the runner ended before a tenth of the run was done"
            finished = re.match(r"completing (\d+)/100", line)
            if finished and int(finished.group(1)) >= 10:
                break
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    stats = json.loads(stats_path.read_text())
    results = {d["order_handle"]: d["result"] for d in map(json.loads, out.splitlines())}
    assert len(results) == 100
    assert set(results.values()) <= {"completed", "stopped"}
    completed = {h for h, r in results.items() if r == "completed"}
    assert 0 < len(completed) < 100
    # what we report completed is exactly what the server completed, each with one POST
    assert completed == set(stats["completed"])
    assert sorted(stats["posts"]) == sorted(completed)
    rows = {r["order_handle"]: r["state"] for r in journal_rows(journal)}
    assert "sending" not in rows.values()
    assert {h for h, s in rows.items() if s == "applied"} == completed
    assert {h for h, s in rows.items() if s == "stopped"} == set(results) - completed
