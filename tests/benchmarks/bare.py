"""The baseline: a bare Textual app that paints one Static (and, as a script, exits).

``python -m tests.benchmarks.bare`` is what the console's start-up is compared with: the same
interpreter, the same kind of launch, the least a Textual app can do before its first paint.
With ``--tick`` it stays up and changes its label once a second without a layout: the least
traffic a ticking Textual screen can cost a terminal. In process, :class:`BareApp` is the floor for key-to-screen latency (a key updates the Static
without a layout pass, the cheapest repaint Textual has) and for memory.

Only Textual is imported here, on purpose.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import Static

MARKER = "bench-bare-ready"


class BareApp(App[None]):
    CSS = "Static { width: 40; height: 1; }"
    BINDINGS = [("j", "bump", "Bump")]

    def __init__(self, exit_after_paint: bool = False, tick: bool = False) -> None:
        super().__init__()
        self.exit_after_paint = exit_after_paint
        self.tick = tick
        self.bumps = 0

    def compose(self) -> ComposeResult:
        self.label = Static(MARKER)
        yield self.label

    def on_mount(self) -> None:
        if self.exit_after_paint:
            self.call_after_refresh(self.exit)
        if self.tick:
            self.set_interval(1.0, self.action_bump)

    def action_bump(self) -> None:
        self.bumps += 1
        self.label.update(f"{MARKER} {self.bumps}", layout=False)


if __name__ == "__main__":
    import sys

    # --tick: stay up and change the label once a second (the terminal-traffic baseline).
    tick = "--tick" in sys.argv[1:]
    BareApp(exit_after_paint=not tick, tick=tick).run()
