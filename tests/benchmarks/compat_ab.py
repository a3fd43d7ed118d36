"""A/B of the items of ``console/ui/textual_compat``: what each one gains on the figure it serves.

Each item is switched off by naming it in ``DISPATCH_CONSOLE_COMPAT_OFF``; A is the console as
shipped, B the same console with the item off. Runs alternate A, B, A, B... (a busy moment of the
shared machine hits both alike), after one warm-up of each. The figure is, for the start-up items,
start-up to the first order rows painted (``startup.console_first_rows``: a pty, 120x40, the
embedded sandbox); for ``virtual_size_without_layout``, the time to load every order of a
20,000-open-order benchmark sandbox with ``j`` held (``compat_load.py``, headless, a fresh
process per run; the key latency while loading is printed beside it); with ``--figure lines``,
the CPU of 300 lines appended one by one to the bulk dialogs' line list over a loaded console
(``compat_lines.py``, the loop's longest stall beside it).

    .venv/bin/python -m tests.benchmarks.compat_ab --runs 7 --items single_styling,footer_rebuild

Prints per item the medians of A and B, their spread (min-max, and the interquartile range), and
the gain B - A, in ms and as a share of A, and the median of the differences of each A run and
the B run right after it (less moved by the machine's load, which changes slower than a pair),
and the median CPU time the console's process used to get there (10 ms resolution; what the
items save is CPU, which the wall time shows only through the noise of a shared machine).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import statistics
import tempfile

from tests.benchmarks.bulk import bench_server
from tests.benchmarks.ptyrun import REPO, terminal_env
from tests.benchmarks.startup import console_first_rows_and_cpu

#: The start-up items that can be switched off ("all": every one of them at once). None left:
#: the three measured here (single_styling, lazy_component_styles, footer_rebuild) gained
#: under 10 ms each and were removed; tests/benchmarks/RESULTS.md has their figures.
STARTUP_ITEMS: tuple[str, ...] = ()
OFF_VARIABLE = "DISPATCH_CONSOLE_COMPAT_OFF"
#: The items measured on the load figure (compat_load.py), and its sandbox's open orders.
LOAD_ITEMS = ("virtual_size_without_layout",)
LOAD_ORDERS = 20_000


def load_run(url: str, extra: dict[str, str] | None) -> dict[str, float]:
    """One fresh process of compat_load.py against ``url``, ``extra`` in its environment."""
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.compat_load", "--url", url],
                         cwd=REPO, env=terminal_env(extra), capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"compat_load failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def lines_run(extra: dict[str, str] | None) -> dict[str, float]:
    """One fresh process of compat_lines.py, ``extra`` in its environment."""
    out = subprocess.run([sys.executable, "-m", "tests.benchmarks.compat_lines"],
                         cwd=REPO, env=terminal_env(extra), capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        raise RuntimeError(f"compat_lines failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure_lines(item: str, runs: int) -> dict[str, list[float]]:
    """The bulk dialog's line list: A and B alternated; the figure is the CPU over the appends,
    the loop's longest stall beside it."""
    b_env = {OFF_VARIABLE: item}
    result: dict[str, list[float]] = {"A": [], "B": [], "A_stall": [], "B_stall": []}
    for _ in range(runs):
        for side, env in (("A", None), ("B", b_env)):
            r = lines_run(env)
            result[side].append(r["append_cpu"])
            result[f"{side}_stall"].append(r["append_stall"])
    return result


def measure_load(item: str, runs: int) -> dict[str, list[float]]:
    b_env = {OFF_VARIABLE: item}
    result: dict[str, list[float]] = {"A": [], "B": [], "A_key_p95": [], "B_key_p95": []}
    with bench_server("--orders", str(LOAD_ORDERS), "--open", str(LOAD_ORDERS)) as info:
        for _ in range(runs):
            for side, env in (("A", None), ("B", b_env)):
                r = load_run(info["url"], env)
                result[side].append(r["all_loaded"])
                result[f"{side}_key_p95"].append(r["loading_key_p95"])
    return result


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def measure(item: str, runs: int, home: str) -> dict[str, list[float]]:
    off = ",".join(STARTUP_ITEMS) if item == "all" else item
    b_env = {OFF_VARIABLE: off}
    console_first_rows_and_cpu(home)
    console_first_rows_and_cpu(home, b_env)
    result: dict[str, list[float]] = {"A": [], "B": [], "A_cpu": [], "B_cpu": []}
    for _ in range(runs):
        for side, env in (("A", None), ("B", b_env)):
            wall, cpu = console_first_rows_and_cpu(home, env)
            result[side].append(wall)
            result[f"{side}_cpu"].append(cpu)
    return result


def describe(item: str, r: dict[str, list[float]]) -> str:
    a, b = statistics.median(r["A"]), statistics.median(r["B"])
    (a1, a3), (b1, b3) = quartiles(r["A"]), quartiles(r["B"])
    ms = lambda v: f"{v * 1000:.0f}"  # noqa: E731
    return (f"{item:24} A {ms(a)} ms ({ms(min(r['A']))}-{ms(max(r['A']))}, IQR {ms(a1)}-{ms(a3)})  "
            f"B {ms(b)} ms ({ms(min(r['B']))}-{ms(max(r['B']))}, IQR {ms(b1)}-{ms(b3)})  "
            f"gain {ms(b - a)} ms = {(b - a) / a * 100:.1f}% of A; "
            f"paired B-A median {ms(statistics.median(y - x for x, y in zip(r['A'], r['B'])))} ms; "
            + (f"CPU to the first rows: A {ms(statistics.median(r['A_cpu']))} ms, "
               f"B {ms(statistics.median(r['B_cpu']))} ms" if "A_cpu" in r else
               f"longest loop stall: A {ms(statistics.median(r['A_stall']))} ms, "
               f"B {ms(statistics.median(r['B_stall']))} ms" if "A_stall" in r else
               f"key while loading, p95 of a run (median of runs): A {ms(statistics.median(r['A_key_p95']))} ms, "
               f"B {ms(statistics.median(r['B_key_p95']))} ms"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of A and of B per item (default 7)")
    parser.add_argument("--items", default=",".join(STARTUP_ITEMS + LOAD_ITEMS),
                        help=f"comma-separated, of {', '.join(STARTUP_ITEMS + LOAD_ITEMS)}")
    parser.add_argument("--figure", choices=("startup", "load", "lines"),
                        help="the figure to measure on (default: the one the item serves; "
                        "lines: the bulk dialog's line list, compat_lines.py, for the scrollbars item)")
    parser.add_argument("--json", metavar="PATH", help="also write every run's figures here")
    args = parser.parse_args()
    items = [item for item in args.items.split(",") if item]
    if not items:
        parser.error("no item to measure")
    raw = {}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        for item in items:
            figure = args.figure or ("load" if item in LOAD_ITEMS else "startup")
            if figure == "lines":
                raw[item] = measure_lines(item, args.runs)
            elif figure == "load":
                raw[item] = measure_load(item, args.runs)
            else:
                raw[item] = measure(item, args.runs, home)
            print(describe(item, raw[item]), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(raw, out, indent=1)


if __name__ == "__main__":
    main()
