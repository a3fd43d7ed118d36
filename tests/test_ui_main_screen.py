"""MainScreen (console/ui/main_screen.py): the first screen is styled once at start-up, with
the styles Textual's second pass would have given; that pass still runs when it is needed."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.color import Color
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from console.ui.main_screen import MainScreen
from tests.ui_support import loaded, make_app


def _resumes(monkeypatch) -> list[bool]:
    """refresh_styles of every ScreenResume as Screen's own handler sees it."""
    seen: list[bool] = []
    original = Screen._on_screen_resume

    def spy(self, event):
        seen.append(event.refresh_styles)
        return original(self, event)

    monkeypatch.setattr(Screen, "_on_screen_resume", spy)
    return seen


def _styles(app: App) -> dict[str, dict]:
    return {f"{i}:{type(node).__name__}#{node.id}": node.styles.get_rules()
            for i, node in enumerate(app.screen.walk_children(with_self=True))}


async def test_the_console_is_styled_once_with_the_styles_of_two_passes(monkeypatch) -> None:
    resumes = _resumes(monkeypatch)
    app, _, _ = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        assert isinstance(app.screen, MainScreen)
        assert resumes[:1] == [False]  # the second styling pass was not needed
        ours = _styles(app)
        app.screen.update_node_styles(animate=False)  # what Textual's pass would have set
        await pilot.pause()
        assert _styles(app) == ours


class Late(Widget):
    """A class whose first widget is composed by another widget, after the screen's check.
    Its DEFAULT_CSS restyles a widget styled before it arrived."""

    DEFAULT_CSS = "Early { background: #ff0000; } Screen { background: #00ff00; }"
    SCOPED_CSS = False  # a rule for another class, as some of Textual's widgets have


class Early(Static):
    DEFAULT_CSS = "Early { height: 1; }"


class Holder(Widget):
    def compose(self) -> ComposeResult:
        yield Late()


class Demo(App[None]):
    def get_default_screen(self) -> Screen:
        return MainScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield Early("early")
        yield Holder()


class Known(Demo):
    def compose(self) -> ComposeResult:
        yield Early("early")
        yield Holder(Late())  # a child from construction: known before anything is styled


@pytest.mark.parametrize("app_class, pass_runs", [
    (Demo, True),  # Late arrives in Holder's compose: its CSS came after the screen was styled
    (Known, False),  # a child from construction: its class is known before anything is styled
])
async def test_textual_s_pass_runs_only_when_a_class_arrived_after_the_screen_was_styled(
    monkeypatch, app_class, pass_runs
) -> None:
    resumes = _resumes(monkeypatch)
    app = app_class()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert resumes[:1] == [pass_runs]
        assert app.query_one(Early).styles.background == Color.parse("#ff0000")
        assert app.screen.styles.background == Color.parse("#00ff00")
