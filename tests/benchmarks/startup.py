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

import re
import tempfile

from tests.benchmarks.ptyrun import PtyProcess, python, terminal_env

ROW_PATTERN = re.compile(rb"ORD-\d{8}-\d")
BARE_PATTERN = re.compile(rb"bench-bare-ready")


def console_first_rows(home: str) -> float:
    env = terminal_env(home=home)
    with PtyProcess([python(), "-m", "console", "--sandbox"], env) as proc:
        seen = proc.wait_for(ROW_PATTERN, timeout=60)
        return seen - proc.started


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
