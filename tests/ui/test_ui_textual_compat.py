"""Equivalence tests of console/ui/textual_compat: each item gives what Textual's public API (or
Textual's own way) gives, so that a Textual upgrade that changes what an item relies on fails
here, loudly, and not on a supervisor's screen. (The Resize guard: tests/ui/test_ui_main_screen.py
and tests/ui/test_ui_web_driver.py.)"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

from console.ui.textual_compat.bindings import bindings_after_keymap, declared_bindings
from console.ui.textual_compat.scrollbars import refresh_scrollbar_visibility, update_scrollbars


class Keyed(Widget, can_focus=True):
    BINDINGS = [
        Binding("c", "complete", "Complete", id="demo.complete"),
        Binding("r", "refresh", "Refresh", id="demo.refresh"),
    ]


class KeyedApp(App[None]):
    BINDINGS = [Binding("q", "quit", "Quit", id="demo.quit")]

    def compose(self) -> ComposeResult:
        yield Keyed()


def _keys(bindings) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for key, binding in bindings:
        out.setdefault(binding.action, set()).add(key)
    return out


async def test_a_node_s_bindings_after_the_keymap_are_the_keys_textual_makes_active() -> None:
    app = KeyedApp()
    async with app.run_test() as pilot:
        keyed = app.query_one(Keyed)
        keyed.focus()
        await pilot.pause()
        before = _keys(declared_bindings(keyed))
        assert before == {"complete": {"c"}, "refresh": {"r"}}
        app.set_keymap({"demo.complete": "x", "demo.quit": "ctrl+x"})
        await pilot.pause()
        active = {binding.action: set() for _, binding, _, _ in app.screen.active_bindings.values()}
        for key, (_node, binding, _enabled, _tooltip) in app.screen.active_bindings.items():
            active[binding.action].add(key)
        # The demo's own actions (Textual's App adds some of its own, such as ctrl+c's hint,
        # that a screen's active bindings leave out).
        for node, actions in ((keyed, ("complete", "refresh")), (app, ("quit",))):
            after = _keys(bindings_after_keymap(node))
            for action in actions:
                assert after[action] == active[action], (node, action)
        assert "ctrl+x" in active["quit"] and "q" not in active["quit"]  # the keymap took effect
        assert _keys(bindings_after_keymap(keyed))["complete"] == {"x"}
        assert _keys(declared_bindings(keyed)) == before  # the keymap is applied to a copy


class Lines(ScrollView):
    """A line-API widget whose row count grows; sized by the stylesheet, never by its rows."""

    DEFAULT_CSS = "Lines { height: 10; }"

    def render_line(self, y: int) -> Strip:
        return Strip.blank(self.size.width)

    def grow_with_textual(self, rows: int) -> None:
        self.virtual_size = Size(self.scrollable_content_region.width, rows)

    def grow_without_layout(self, rows: int) -> None:
        size = Size(self.scrollable_content_region.width, rows)
        self.set_reactive(Lines.virtual_size, size)
        refresh_scrollbar_visibility(self)
        update_scrollbars(self, size)


class Two(App[None]):
    def compose(self) -> ComposeResult:
        yield Lines(id="textual")
        yield Lines(id="compat")


def _scrollbar_state(lines: Lines) -> tuple:
    bar = lines.vertical_scrollbar
    return (lines.show_vertical_scrollbar, bar.window_virtual_size, bar.window_size,
            lines.max_scroll_y, lines.scroll_y)


async def test_a_row_count_given_without_a_layout_sets_the_scrollbar_as_textual_does() -> None:
    app = Two()
    async with app.run_test(size=(40, 24)) as pilot:
        await pilot.pause()
        ours, theirs = app.query_one("#compat", Lines), app.query_one("#textual", Lines)
        for rows in (5, 50, 500, 20):
            had_bar = ours.show_vertical_scrollbar
            theirs.grow_with_textual(rows)
            ours.grow_without_layout(rows)
            at_once = _scrollbar_state(ours)  # no layout has run yet
            if ours.show_vertical_scrollbar != had_bar:
                ours.refresh(layout=True)  # what the console asks for when the bar comes or goes
            await pilot.pause()
            await pilot.pause()
            assert _scrollbar_state(ours) == _scrollbar_state(theirs), rows
            if ours.show_vertical_scrollbar == had_bar:
                assert at_once == _scrollbar_state(theirs), rows  # right without the layout
            theirs.scroll_end(animate=False, immediate=True)
            ours.scroll_end(animate=False, immediate=True)
            await pilot.pause()
            assert ours.scroll_y == theirs.scroll_y


def test_the_footer_key_class_is_the_one_textuals_footer_composes() -> None:
    from textual.widgets import Footer

    from console.ui.textual_compat.footer import FooterKey

    assert FooterKey.__module__.startswith("textual.widgets")
    assert "FooterKey" in Footer.compose.__code__.co_names or "FooterKey" in Footer.compose.__globals__


async def test_our_terminal_bytes_go_to_the_driver_textuals_clipboard_writes_to(monkeypatch) -> None:
    from textual.drivers.headless_driver import HeadlessDriver

    from console.ui.textual_compat.terminal import write

    written: list[str] = []
    monkeypatch.setattr(HeadlessDriver, "write", lambda self, data: written.append(data))
    app = KeyedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        written.clear()
        app.copy_to_clipboard("hello")
        assert write(app, "\x1b]9;dispatch-console: note\x07")
        # Both in the same driver's output, in the order they were sent.
        assert written == ["\x1b]52;c;aGVsbG8=\x07", "\x1b]9;dispatch-console: note\x07"]
        assert not write(app, "")
    assert not write(App(), "\x07")  # no driver: nothing sent, no error
