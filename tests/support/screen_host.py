"""A minimal App that shows one modal screen, for Pilot tests and snapshots of a screen alone.

:class:`ScreenHost` loads the console's own stylesheets (styles/app.tcss first, then the others
by name, as the console does), pushes the screen made by ``make_screen`` on mount and records
every value it is dismissed with in ``results``. With ``ascii=True`` it sets the ``-ascii`` class
and the :class:`~console.ui.ascii_mode.AsciiFilter`, as ``--ascii`` does in the console.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.screen import Screen
from textual.widgets import Static

from console.ui.ascii_mode import AsciiFilter
from console.ui.stylesheets import SCREEN_ONLY

STYLES = Path(__file__).resolve().parents[2] / "styles"


def css_paths() -> list[Path]:
    """The App's stylesheets, as the console has them (a screen's own come with the screen)."""
    return [STYLES / "app.tcss",
            *sorted(p for p in STYLES.glob("*.tcss") if p.name != "app.tcss" and p.name not in SCREEN_ONLY)]


class ScreenHost(App[None]):
    CSS_PATH = css_paths()

    def __init__(self, make_screen: Callable[[], Screen[Any]], *, ascii: bool = False) -> None:
        super().__init__()
        self.make_screen = make_screen
        self.ascii_mode = ascii
        self.results: list[Any] = []
        self._ascii_filter = AsciiFilter()

    def compose(self) -> ComposeResult:
        yield Static("the order list would be here", id="behind")

    def on_mount(self) -> None:
        self.set_class(self.ascii_mode, "-ascii")
        self.push_screen(self.make_screen(), self.results.append)

    def get_line_filters(self):
        filters = list(super().get_line_filters())
        return [*filters, self._ascii_filter] if self.ascii_mode else filters
