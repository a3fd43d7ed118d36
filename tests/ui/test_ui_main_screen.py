"""MainScreen (console/ui/main_screen.py): a Resize older than the app's size is not handled;
every other one is, as Textual handles it."""

from __future__ import annotations

from textual import events
from textual.app import App, ComposeResult
from textual.geometry import Size
from textual.widgets import Static

from console.ui.main_screen import MainScreen
from tests.support.ui_support import loaded, make_app


class Demo(App[None]):
    def get_default_screen(self) -> MainScreen:
        return MainScreen(id="_default")

    CSS = "Static { height: 100%; }"

    def compose(self) -> ComposeResult:
        yield Static("demo")


async def test_a_resize_to_a_size_the_app_no_longer_has_is_not_laid_out() -> None:
    app = Demo()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        stale = Size(80, 30)
        app.screen.post_message(events.Resize(stale, stale))
        await pilot.pause()
        await pilot.pause()
        # Textual's Screen lays its widgets out at 80x30 now, in a 24-row terminal.
        assert app.query_one(Static).size == Size(80, 24)


async def test_a_resize_of_the_terminal_still_lays_the_screen_out() -> None:
    app = Demo()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(100, 30)
        await pilot.pause()
        await pilot.pause()
        assert app.query_one(Static).size == Size(100, 30)


async def test_the_console_s_screen_is_a_main_screen() -> None:
    app, _, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        assert isinstance(app.screen, MainScreen)
