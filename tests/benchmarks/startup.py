"""Start-up to the first rows painted, in a real terminal, against a bare Textual app.

Both are fresh processes launched the same way (``python -m ...``) in a 120x40 pty with
``TERM=xterm-256color``; the time is from just before the fork to the arrival of the bytes that
complete the first match of:

- the console (``python -m console --sandbox``, the embedded sandbox with 500 orders): an order
  handle (``ORD-YYYYMMDD-N``) in a list row -- nothing else on its screen shows one;
- the baseline (``python -m tests.benchmarks.bare``): its Static's text.

Runs alternate (console, bare, console, ...) so that a busy moment of the shared machine hits
both alike.
"""

from __future__ import annotations

import os
import re
import tempfile

from tests.benchmarks.ptyrun import PtyProcess, python, terminal_env

ROW_PATTERN = re.compile(rb"ORD-\d{8}-\d")
BARE_PATTERN = re.compile(rb"bench-bare-ready")


def console_first_rows(home: str, extra: dict[str, str] | None = None) -> float:
    """Seconds to the first order rows; ``extra``: more environment (an A/B switch)."""
    return console_first_rows_and_cpu(home, extra)[0]


def console_first_rows_and_cpu(home: str, extra: dict[str, str] | None = None) -> tuple[float, float]:
    """Seconds to the first order rows, and the CPU seconds the console's process had used when
    they arrived (read right after: a few ms late, in every run alike; the embedded sandbox's
    own process is not counted)."""
    env = terminal_env(extra, home=home)
    with PtyProcess([python(), "-m", "console", "--sandbox"], env) as proc:
        seen = proc.wait_for(ROW_PATTERN, timeout=60)
        return seen - proc.started, process_cpu(proc.pid)


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_first_paint(home: str) -> float:
    env = terminal_env(home=home)
    with PtyProcess([python(), "-m", "tests.benchmarks.bare"], env) as proc:
        seen = proc.wait_for(BARE_PATTERN, timeout=60)
        return seen - proc.started


def measure(runs: int) -> dict[str, list[float]]:
    results: dict[str, list[float]] = {"console": [], "bare": []}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        # One warm-up of each: the first launch after a while pays for a cold page cache.
        console_first_rows(home)
        bare_first_paint(home)
        for _ in range(runs):
            results["console"].append(console_first_rows(home))
            results["bare"].append(bare_first_paint(home))
    return results


if __name__ == "__main__":
    import statistics

    r = measure(3)
    c, b = statistics.median(r["console"]), statistics.median(r["bare"])
    print(f"console {c * 1000:.0f} ms, bare {b * 1000:.0f} ms, ratio {c / b:.2f}x; {r}")
