"""LazyComponentStyles (console/ui/component_styles.py): component-class styles looked up when
first used, kept up to date at later restyles, identical to Textual's eager ones."""

from __future__ import annotations

from rich.color import Color
from rich.style import Style
from textual.app import App, ComposeResult
from textual.widget import Widget

from console.ui.component_styles import LazyComponentStyles
from console.ui.detail import DetailPane
from console.ui.order_list import OrderList

RED, GREEN = Color.parse("#ff0000"), Color.parse("#008000")

CSS = """
Eager > .w--a, Lazy > .w--a { color: #ff0000; }
Eager > .w--b, Lazy > .w--b { text-style: bold; background: blue; }
App.-alt Eager > .w--a, App.-alt Lazy > .w--a { color: #008000; }
"""


class Eager(Widget):
    COMPONENT_CLASSES = {"w--a", "w--b", "w--c"}

    def render(self) -> str:
        return "eager"


class Lazy(LazyComponentStyles, Widget):
    COMPONENT_CLASSES = {"w--a", "w--b", "w--c"}
    style_updates = 0

    def render(self) -> str:
        return "lazy"

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.style_updates += 1


class Pair(App[None]):
    CSS = CSS

    def compose(self) -> ComposeResult:
        yield Eager()
        yield Lazy()


def _rich(widget: Widget, name: str, partial: bool = False) -> Style:
    return widget.get_component_rich_style(name, partial=partial)


async def test_nothing_is_styled_until_looked_up_and_then_as_textual_styles_it() -> None:
    app = Pair()
    async with app.run_test() as pilot:
        await pilot.pause()
        eager, lazy = app.query_one(Eager), app.query_one(Lazy)
        assert set(eager._component_styles) == {"w--a", "w--b", "w--c"}
        assert lazy._component_styles == {}  # mounted and styled, no class styled yet
        for name in ("w--a", "w--b", "w--c"):
            for partial in (False, True):
                assert _rich(lazy, name, partial) == _rich(eager, name, partial)
        assert lazy.get_component_styles("w--a", "w--b").rich_style == \
            eager.get_component_styles("w--a", "w--b").rich_style
        assert set(lazy._component_styles) == {"w--a", "w--b", "w--c"}


async def test_a_later_restyle_updates_the_looked_up_classes_and_repaints() -> None:
    app = Pair()
    async with app.run_test() as pilot:
        await pilot.pause()
        eager, lazy = app.query_one(Eager), app.query_one(Lazy)
        assert _rich(lazy, "w--a").color == RED
        updates = lazy.style_updates
        app.add_class("-alt")  # restyles the tree; the widgets' own styles do not change
        await pilot.pause()
        assert _rich(eager, "w--a").color == GREEN
        assert _rich(lazy, "w--a").color == GREEN
        assert lazy.style_updates > updates  # its caches were told (OrderList drops its strips)
        updates = lazy.style_updates
        app.query_one(Eager).add_class("unrelated")  # restyles Eager only
        lazy.set_class(True, "-other")  # restyles Lazy; nothing it looked up changes
        await pilot.pause()
        assert _rich(lazy, "w--a").color == GREEN


async def test_an_undeclared_class_is_still_a_key_error() -> None:
    app = Pair()
    async with app.run_test() as pilot:
        await pilot.pause()
        lazy = app.query_one(Lazy)
        try:
            lazy.get_component_styles("w--nope")
        except KeyError:
            pass
        else:
            raise AssertionError("an undeclared component class must raise KeyError")
        assert lazy.get_component_rich_style("w--nope", default=Style(bold=True)) == Style(bold=True)


def test_the_console_widgets_style_their_classes_lazily() -> None:
    for widget in (OrderList, DetailPane):
        assert issubclass(widget, LazyComponentStyles)
        assert widget.__mro__.index(LazyComponentStyles) < widget.__mro__.index(Widget)
