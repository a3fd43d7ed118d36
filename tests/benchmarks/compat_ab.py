"""A/B of the items of ``console/ui/textual_compat``: what each one gains on the figure it serves.

Each item is switched off by naming it in ``DISPATCH_CONSOLE_COMPAT_OFF``; A is the console as
shipped, B the same console with the item off. Runs alternate A, B, A, B... (a busy moment of the
shared machine hits both alike), after one warm-up of each. The figure is start-up to the first
order rows painted (``startup.console_first_rows``: a pty, 120x40, the embedded sandbox).

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
import statistics
import tempfile

from tests.benchmarks.startup import console_first_rows_and_cpu

#: The start-up items that can be switched off ("all": every one of them at once). None left:
#: the three measured here (single_styling, lazy_component_styles, footer_rebuild) gained
#: under 10 ms each and were removed; tests/benchmarks/RESULTS.md has their figures.
STARTUP_ITEMS: tuple[str, ...] = ()
OFF_VARIABLE = "DISPATCH_CONSOLE_COMPAT_OFF"


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
            f"CPU to the first rows: A {ms(statistics.median(r['A_cpu']))} ms, "
            f"B {ms(statistics.median(r['B_cpu']))} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of A and of B per item (default 7)")
    parser.add_argument("--items", default=",".join(STARTUP_ITEMS),
                        help=f"comma-separated, of {', '.join(STARTUP_ITEMS)}, all")
    parser.add_argument("--json", metavar="PATH", help="also write every run's figures here")
    args = parser.parse_args()
    items = [item for item in args.items.split(",") if item]
    if not items:
        parser.error("no item to measure")
    raw = {}
    with tempfile.TemporaryDirectory(prefix="bench-home-") as home:
        for item in items:
            raw[item] = measure(item, args.runs, home)
            print(describe(item, raw[item]), flush=True)
    if args.json:
        with open(args.json, "w") as out:
            json.dump(raw, out, indent=1)


if __name__ == "__main__":
    main()
