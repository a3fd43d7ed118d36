"""The performance benchmark of issue 6: one command, a table of medians against the targets.

    .venv/bin/python -m tests.benchmarks.run                 # every benchmark, 5 runs each
    .venv/bin/python -m tests.benchmarks.run --quick         # 1 run each: a smoke check, not a result
    .venv/bin/python -m tests.benchmarks.run --runs 7 --only startup,traffic --json out.json

Every figure is the median over the runs, printed beside its target and beside a baseline
measured in the same invocation, with their ratio:

- start-up (``startup.py``): the console in a pty to its first order rows, against a bare Textual
  app that paints one Static (the target is the ratio);
- fleet scale (``scale.py``, a fresh process per run, headless 120x40) against a benchmark
  sandbox with 50,000 open orders served over loopback HTTP from its own process; baselines: a
  bare Textual app in the same process (first frame, key-to-frame, memory), the event loop's
  idle stall, and the same list requests made with plain httpx (the network floor);
- bulk (``bulk.py``): the engine with its journal against a sandbox with 50 ms latency; baseline:
  a plain httpx loop sending the same POSTs;
- change detection (``changes.py``): the loop time change detection adds to a refresh of 50,000
  open orders, 1% changed, as the console feeds it (its table's merge result) and as ``watch``
  does (summaries); baseline: one plain dict diff of the same two 50k dicts;
- terminal traffic (``traffic.py``): bytes per refresh tick in a 120x40 pty with 256 colours;
  baseline: a bare Textual app relabelling one Static once a second.

The machine is shared: the load average is printed before and after; rerun when it is high.
Nothing here is part of the test suite (pyproject's ``norecursedirs``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from tests.benchmarks import bulk, changes, startup, traffic
from tests.benchmarks.bulk import bench_server
from tests.benchmarks.ptyrun import REPO

GROUPS = ("startup", "scale", "bulk", "traffic", "changes")
SCALE_ORDERS = 74_000
SCALE_OPEN = 50_000


@dataclass
class Row:
    name: str
    value: float | None  # None: not measured (not built)
    unit: str
    target: float | None
    target_text: str
    baseline: float | None
    baseline_text: str
    verdict_value: float | None = None  # what the target is checked against, when not `value`
    note: str = ""

    def verdict(self) -> str:
        checked = self.verdict_value if self.verdict_value is not None else self.value
        if checked is None:
            return "not built"
        if self.target is None:
            return "info"
        return "PASS" if checked <= self.target else "MISS"


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.2f} s" if value >= 1 else f"{value * 1000:.0f} ms"
    if unit == "ms":
        return f"{value * 1000:.1f} ms"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "B":
        return f"{value:.0f} B"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}"


def med(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    if not present or len(present) < len(values):
        return None
    return statistics.median(present)


def ratio(a: float | None, b: float | None) -> str:
    if a is None or not b:
        return "-"
    return f"{a / b:.2f}x"


# ---------------------------------------------------------------------- the groups


def run_startup(runs: int, raw: dict[str, Any]) -> list[Row]:
    r = startup.measure(runs)
    raw["startup"] = r
    console, bare = med(r["console"]), med(r["bare"])
    return [Row("Start-up to first rows painted (pty, embedded sandbox, 500 orders)", console, "s",
                1.6, "<= 1.6x the bare app", bare, "bare Textual app, first paint",
                verdict_value=console / bare if console and bare else None,
                note=f"ratio {ratio(console, bare)}")]


def run_scale(runs: int, raw: dict[str, Any]) -> list[Row]:
    results = []
    print(f"  building the {SCALE_OPEN:,}-open-order sandbox (its own process)...", file=sys.stderr, flush=True)
    with bench_server("--orders", str(SCALE_ORDERS), "--open", str(SCALE_OPEN)) as info:
        if info["open"] != SCALE_OPEN:
            raise RuntimeError(f"the sandbox has {info['open']} open orders, not {SCALE_OPEN}")
        for i in range(runs):
            print(f"  scale run {i + 1}/{runs}", file=sys.stderr, flush=True)
            out = subprocess.run([sys.executable, "-m", "tests.benchmarks.scale", "--url", info["url"]],
                                 cwd=REPO, capture_output=True, text=True, timeout=600)
            if out.returncode != 0:
                raise RuntimeError(f"scale run failed:\n{out.stderr[-3000:]}")
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    raw["scale"] = results
    c = [r["console"] for r in results]

    def m(key: str) -> float | None:
        return med([x.get(key) for x in c])

    bare_first = med([r["bare"]["first_frame"] for r in results])
    bare_key = med([r["bare"]["key_median"] for r in results])
    rows_loaded = med([x["rows"] for x in c])
    filter_median = m("filter_median")
    return [
        Row("50k: first page on screen (from app start)", m("first_rows"), "s", 0.5, "<= 0.5 s",
            bare_first, "bare app, first frame"),
        Row(f"50k: all loaded ({rows_loaded:,.0f} rows)", m("all_loaded"), "s", 10.0, "<= 10 s",
            med([r["network_floor"] for r in results]), "same requests, plain httpx"),
        Row("50k: key to screen while loading (p95 of a run)", m("loading_key_p95"), "ms", 0.05, "<= 50 ms",
            bare_key, "bare app, key to frame", note=f"median {fmt(m('loading_key_median'), 'ms')}"),
        Row("50k loaded: filter keystroke to repaint (median)", filter_median, "ms", 0.05, "<= 50 ms",
            bare_key, "bare app, key to frame",
            note="" if filter_median is not None else "the console has no / filter yet"),
        Row("50k loaded: cursor move to repaint (median)", m("cursor_median"), "ms", 0.016, "<= 16 ms",
            bare_key, "bare app, key to frame", note=f"p95 {fmt(m('cursor_p95'), 'ms')}"),
        Row("50k loaded: refresh merge, 1% changed: longest loop stall", m("merge_stall"), "ms", 0.1,
            "<= 100 ms", m("idle_stall"), "idle loop, 1 s", note=f"whole refresh {fmt(m('merge_time'), 's')}"),
        Row("50k loaded: resident memory", m("rss_mb"), "MB", 300.0, "<= 300 MB",
            med([r["rss_before_mb"] for r in results]), "same process before loading"),
    ]


def run_bulk(runs: int, raw: dict[str, Any]) -> list[Row]:
    r = bulk.measure(runs)
    raw["bulk"] = r
    wall = med([x["wall"] for x in r["engine"]])
    return [
        Row(f"Bulk: {bulk.ORDERS:,} orders, 50 ms latency, concurrency {bulk.CONCURRENCY}, journal: wall",
            wall, "s", 1.3 * bulk.IDEAL, f"<= 1.3x ideal {bulk.IDEAL:.2f} s = {1.3 * bulk.IDEAL:.2f} s",
            med([x["wall"] for x in r["plain"]]), "plain httpx loop, same POSTs",
            note=f"{ratio(wall, bulk.IDEAL)} the ideal; client CPU {fmt(med([x['cpu'] for x in r['engine']]), 's')}"),
        Row("Bulk: longest event-loop stall during the run", med([x["stall"] for x in r["engine"]]), "ms", 0.05,
            "<= 50 ms", med([x["stall"] for x in r["plain"]]), "plain httpx loop"),
    ]


def run_traffic(runs: int, raw: dict[str, Any]) -> list[Row]:
    r = traffic.measure(runs)
    raw["traffic"] = r
    bare = med(r["bare"])
    return [
        Row("Terminal traffic per refresh tick, nothing changed (pty 120x40, 256 colours)", med(r["idle"]), "B",
            600, "<= 600 B", bare, "bare app, one label per tick"),
        Row("Terminal traffic per refresh tick, one row changed", med(r["changed"]), "B", 2048, "<= 2 KB",
            bare, "bare app, one label per tick"),
    ]


def run_changes(runs: int, raw: dict[str, Any]) -> list[Row]:
    r = changes.measure(runs)
    raw["changes"] = r
    table, summaries = r["table"], r["summaries"]
    t_base, s_base = med([v["baseline"] for v in table]), med([v["baseline"] for v in summaries])
    return [
        Row("50k: change detection per refresh, 1% changed (the console: its table's merge result): "
            "loop time", med([v["loop_total"] for v in table]), "ms", 0.02, "<= 20 ms", t_base,
            "one plain dict diff, 50k",
            note=f"one step; {med([v['events'] for v in table]):.0f} events; the table's own merge, "
            f"without detection: {fmt(med([v['merge'] for v in table]), 'ms')}; first load (baseline): "
            f"{fmt(med([v['first_load_pages_total'] for v in table]), 'ms')} over its pages, longest "
            f"{fmt(med([v['first_load_page_max'] for v in table]), 'ms')}"),
        # watch reads every order of a refresh itself (no table): at least the plain diff's cost,
        # spread over its pages; nothing interactive waits on its loop, so no target.
        Row("50k: change detection per refresh, 1% changed (watch: summaries): loop time, pages + compare",
            med([v["loop_total"] for v in summaries]), "ms", None, "info", s_base, "one plain dict diff, 50k",
            note=f"CPU {fmt(med([v['cpu_total'] for v in summaries]), 'ms')}; end step (finish + compare) "
            f"{fmt(med([v['compare'] for v in summaries]), 'ms')}; longest page of 1,000 "
            f"{fmt(med([v['page_max'] for v in summaries]), 'ms')}"),
    ]


RUNNERS: dict[str, Callable[[int, dict[str, Any]], list[Row]]] = {
    "startup": run_startup, "scale": run_scale, "bulk": run_bulk, "traffic": run_traffic,
    "changes": run_changes,
}


# ---------------------------------------------------------------------- output


def machine() -> list[str]:
    import textual

    try:
        cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo")
                    if line.startswith("model name")), platform.processor())
    except OSError:
        cpu = platform.processor()
    return [
        f"CPUs (nproc): {os.cpu_count()} ({cpu})",
        f"Python {platform.python_version()}, Textual {textual.__version__}, {platform.system()} {platform.release()}",
    ]


def load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def table(rows: list[Row], runs: int) -> str:
    lines = [
        f"| Measure (median of {runs} runs) | Result | Target | Verdict | Baseline (same run) | vs baseline | Notes |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        value = "not built" if row.value is None else fmt(row.value, row.unit)
        baseline = f"{fmt(row.baseline, row.unit)} ({row.baseline_text})"
        lines.append(f"| {row.name} | {value} | {row.target_text} | {row.verdict()} | {baseline} | "
                     f"{ratio(row.value, row.baseline)} | {row.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per benchmark (default 5)")
    parser.add_argument("--quick", action="store_true", help="one run of each: a smoke check, not a result")
    parser.add_argument("--only", default=",".join(GROUPS), help=f"comma-separated subset of {', '.join(GROUPS)}")
    parser.add_argument("--json", metavar="PATH", help="also write every run's raw figures here")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    if runs < 1:
        parser.error("--runs must be at least 1")
    groups = [g.strip() for g in args.only.split(",") if g.strip()]
    unknown = [g for g in groups if g not in RUNNERS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    started = time.time()
    load_before = load()
    raw: dict[str, Any] = {}
    rows: list[Row] = []
    for group in groups:
        print(f"running {group} ({runs} run{'s' if runs != 1 else ''}), load {load()}", file=sys.stderr, flush=True)
        rows += RUNNERS[group](runs, raw)
    print()
    print(table(rows, runs))
    print()
    for line in machine():
        print(line)
    print(f"Load average (1/5/15 min): {load_before} before, {load()} after; "
          f"{time.time() - started:.0f} s in all")
    print("Command: .venv/bin/python -m tests.benchmarks.run" + (" --quick" if args.quick else f" --runs {runs}")
          + ("" if set(groups) == set(GROUPS) else f" --only {','.join(groups)}"))
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"runs": runs, "raw": raw, "load_before": load_before, "load_after": load()}, out, indent=1)
    misses = [r for r in rows if r.verdict() == "MISS"]
    return 1 if misses else 0


if __name__ == "__main__":
    raise SystemExit(main())
