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


async def test_an_order_of_the_same_shape_repaints_without_a_layout() -> None:
    from tests.ui.test_detail import EXAMPLE_NOW, PaneApp, example_raw, lines_of

    from console.api.models import Order

    raw = example_raw()
    first = Order.model_validate(raw)
    same_shape = Order.model_validate({**raw, "order_handle": "other-handle-" + "x" * (len(raw["order_handle"]) - 13)})
    assert len(same_shape.order_handle) == len(first.order_handle)
    taller = Order.model_validate({**raw, "metadata": {**(raw.get("metadata") or {}), "extra_key": "one more line"}})

    app = PaneApp(EXAMPLE_NOW)
    async with app.run_test(size=(120, 80)) as pilot:
        layouts = [0]
        screen = app.screen
        original = screen._refresh_layout

        def counted(*args, **kwargs):
            layouts[0] += 1
            return original(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]
        app.pane.show_order(first)
        await pilot.pause()
        before = layouts[0]
        assert before >= 1  # the first order: the sections got their heights

        app.pane.show_order(same_shape)
        await pilot.pause()
        assert layouts[0] == before  # every section kept its height: repainted, not laid out
        lines = lines_of(app)
        assert any(same_shape.order_handle in line for line in lines)
        assert not any(first.order_handle in line for line in lines)

        app.pane.show_order(taller)
        await pilot.pause()
        assert layouts[0] > before  # the facts grew by a line: laid out
        assert any("extra_key: one more line" in line for line in lines_of(app))
