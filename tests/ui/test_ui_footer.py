"""ConsoleFooter (console/ui/footer.py): the keys Textual's Footer shows, held back until
released; a key's click, disabled look and keymap as Textual's."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widget import Widget
from textual.widgets import Footer

from console.ui.footer import ConsoleFooter


class Focusable(Widget, can_focus=True):
    DEFAULT_CSS = "Focusable { height: 1; }"


class Keys(App[None]):
    BINDINGS = [
        Binding("c", "complete", "Complete", id="demo.complete"),
        Binding("r", "refresh", "Refresh", id="demo.refresh"),
        Binding("z", "zoom", "Zoom", show=False, id="demo.zoom"),
        Binding("q", "quit", "Quit", id="demo.quit"),
    ]

    def __init__(self, footer: type[Footer]) -> None:
        super().__init__()
        self.footer_type = footer
        self.can_complete = True
        self.completed = 0

    def compose(self) -> ComposeResult:
        yield Focusable(id="one")
        yield Focusable(id="two")
        yield self.footer_type(compact=True)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "complete":
            return True if self.can_complete else None  # None: shown, disabled
        return True

    def action_complete(self) -> None:
        self.completed += 1

    def action_refresh(self) -> None:
        pass


#: Textual's footer key widget, by its CSS type name (the class is not exported).
FOOTER_KEY = "FooterKey"


def shown(app: App) -> list[tuple]:
    return [(k.key, k.key_display, k.description, k.action, k.has_class("-disabled"), sorted(k.classes))
            for k in app.screen.query(FOOTER_KEY)]


async def _keys_of(footer: type[Footer], *, disable: bool = False, keymap: dict | None = None) -> list[tuple]:
    app = Keys(footer)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        if keymap:
            app.set_keymap(keymap)
        if disable:
            app.can_complete = False
            app.refresh_bindings()
        await pilot.pause()
        await pilot.pause()
        return shown(app)


async def test_it_shows_what_textuals_footer_shows() -> None:
    for kwargs in ({}, {"disable": True}, {"keymap": {"demo.complete": "x"}}):
        ours = await _keys_of(ConsoleFooter, **kwargs)
        textuals = await _keys_of(Footer, **kwargs)
        if "keymap" in kwargs:
            # The same keys, but in their declared order: Textual's moves a rebound key last.
            assert sorted(ours) == sorted(textuals) and ours != textuals
        else:
            assert ours == textuals
        assert [k[3] for k in ours] == ["complete", "refresh", "quit", "command_palette"]
    remapped = await _keys_of(ConsoleFooter, keymap={"demo.complete": "x"})
    assert [k[:2] for k in remapped if k[3] == "complete"] == [("x", "x")]
    assert (await _keys_of(ConsoleFooter, disable=True))[0][4] is True


async def test_a_click_on_a_key_runs_its_action() -> None:
    app = Keys(ConsoleFooter)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        app.set_focus(None)
        key = next(k for k in app.screen.query(FOOTER_KEY) if k.action == "complete")
        await pilot.click(key)
        await pilot.pause()
        assert app.completed == 1


class Held(Keys):
    def compose(self) -> ComposeResult:
        yield Focusable(id="one")
        footer = ConsoleFooter(compact=True)
        footer.hold()
        yield footer


async def test_a_held_footer_builds_its_keys_when_released() -> None:
    app = Held(ConsoleFooter)
    async with app.run_test(size=(100, 10)) as pilot:
        await pilot.pause()
        app.refresh_bindings()
        await pilot.pause()
        assert shown(app) == []
        app.query_one(ConsoleFooter).release()
        await pilot.pause()
        await pilot.pause()
        assert shown(app) == await _keys_of(Footer)


async def test_the_console_builds_its_footer_keys_after_its_first_rows() -> None:
    from tests.support.ui_support import loaded, make_app

    app, _, _ = make_app()
    app.session.start_up.GRACE = 30.0  # only the first rows bring the moment here
    keys_when_rows_shown: list[int] = []
    app.when_first_rows_shown(lambda: keys_when_rows_shown.append(len(app.screen.query(FOOTER_KEY))))
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.pause()
        await pilot.pause()
        assert keys_when_rows_shown == [0]  # nothing built before the first rows
        assert "complete" in {k.action for k in app.screen.query(FOOTER_KEY)}  # and right after
