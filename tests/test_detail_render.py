"""The detail pane's sections are rendered once per width: a layout (which asks their height) and
the paint that follows share one Rich render, and draw what a plain Static draws."""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, RenderResult
from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.widgets import Static

from console.ui.detail import RenderedOnce


class CountingTable:
    """A Rich table that counts how often it is rendered."""

    def __init__(self, rows: int) -> None:
        self.renders = 0
        self.rows = rows

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        self.renders += 1
        grid = Table.grid(padding=(0, 1))
        grid.add_column(no_wrap=True, width=11)
        grid.add_column(overflow="fold")
        for i in range(self.rows):
            grid.add_row(f"label {i}", Text(f"value {i} " * (i + 1)))
        yield grid


class Sections(App[None]):
    CSS = "Static { height: auto; width: 1fr; }"

    def compose(self) -> ComposeResult:
        yield Static(id="once")
        yield Static(id="plain")


def _text(static: Static) -> list[str]:
    return [strip.text for strip in static.render_lines(Region(0, 0, static.size.width, static.size.height))]


async def test_layout_and_paint_share_one_render_and_draw_the_same() -> None:
    app = Sections()
    async with app.run_test(size=(40, 40)) as pilot:
        once, plain = app.query_one("#once", Static), app.query_one("#plain", Static)
        counted, reference = CountingTable(5), CountingTable(5)
        once.update(RenderedOnce(once, counted))
        plain.update(reference)
        await pilot.pause()
        assert once.size.height == plain.size.height > 5  # long values wrapped: more lines than rows
        assert _text(once) == _text(plain)
        assert counted.renders == 1
        assert reference.renders >= 2  # Textual's own path: once to measure, once to paint

        # A new width (a resize) renders again, once.
        await pilot.resize_terminal(30, 40)
        await pilot.pause()
        assert _text(once) == _text(plain)
        assert counted.renders == 2
