"""Measuring instruments shared by the benchmarks: paint times, event-loop stalls, memory, keys.

- :class:`PaintProbe` wraps ``App._display``, the one place a composed frame leaves the app. In a
  terminal it is turned into escape sequences and written; headless (``run_test``) Textual skips
  that step, so the probe does it itself (``render_segments``) to keep its cost in the figure,
  then timestamps the frame. "On screen" in these benchmarks means: that frame was produced.
- :class:`LoopMonitor` sleeps 1 ms at a time on the event loop and keeps the longest gap: how long
  the loop could not run anything else (a key press waits at least that long).
- :func:`press` posts a key exactly as the terminal driver does (``driver.send_message``), with no
  waiting (Pilot's ``press`` waits for idle, which would hide the latency).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from textual import events
from textual._compositor import CompositorUpdate
from textual.app import App

now = time.perf_counter


@dataclass
class Frame:
    at: float
    nbytes: int
    marks: dict[str, Any]


class PaintProbe:
    """Records every frame an app produces, with a snapshot of chosen app state at that moment.

    ``marks`` maps a name to a zero-argument callable evaluated when a frame is produced (e.g. the
    number of rows the list holds): "the first frame where X held" is then a lookup.
    """

    def __init__(self, app: App, marks: dict[str, Callable[[], Any]] | None = None) -> None:
        self.app = app
        self.marks = marks or {}
        self.frames: list[Frame] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and not app._batch_count:
                if isinstance(renderable, CompositorUpdate):
                    nbytes = len(renderable.render_segments(app.console).encode("utf-8"))
                else:
                    nbytes = 0
                snapshot = {}
                for name, fn in self.marks.items():
                    try:
                        snapshot[name] = fn()
                    except Exception:  # a widget not mounted yet, or gone
                        snapshot[name] = None
                self.frames.append(Frame(now(), nbytes, snapshot))
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def first_frame(self, after: float, condition: Callable[[Frame], bool] = lambda f: True) -> Frame | None:
        for frame in self.frames:
            if frame.at >= after and condition(frame):
                return frame
        return None

    async def wait_frame(self, after: float, condition: Callable[[Frame], bool] = lambda f: True,
                         timeout: float = 30.0) -> Frame:
        deadline = now() + timeout
        while True:
            frame = self.first_frame(after, condition)
            if frame is not None:
                return frame
            if now() > deadline:
                raise TimeoutError("no frame met the condition")
            await asyncio.sleep(0.002)


class LoopMonitor:
    """The longest time the event loop was blocked while the monitor ran (1 ms ticks)."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._stop = False

    async def _run(self) -> None:
        last = now()
        while not self._stop:
            await asyncio.sleep(0.001)
            t = now()
            self.gaps.append(t - last)
            last = t

    def start(self) -> "LoopMonitor":
        self._stop = False
        self.gaps = []
        self._task = asyncio.create_task(self._run())
        return self

    async def stop(self) -> float:
        """Stop; the longest stall in seconds (a gap minus the 1 ms the monitor asked to sleep)."""
        self._stop = True
        if self._task is not None:
            await self._task
        return max(0.0, max(self.gaps, default=0.0) - 0.001)


def press(app: App, key: str, char: str | None = None) -> float:
    """Post one key as a terminal would; returns the time it was posted."""
    event = events.Key(key, char if char is not None else (key if len(key) == 1 else None))
    event.set_sender(app)
    t = now()
    assert app._driver is not None
    app._driver.send_message(event)
    return t


def rss_mb() -> float:
    """Resident memory of this process (VmRSS), in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class KeyLatencies:
    """Key-to-frame latencies, in seconds."""

    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def p95(self) -> float:
        return percentile(self.values, 0.95)
