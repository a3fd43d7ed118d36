"""The help at 80 columns: a wrapped description stays under its column, and a key list never
runs into its text (it was ``up, down, pgup, pgdnscroll the detail``)."""

from __future__ import annotations

from textual.geometry import Region

from console.ui.screens.help import DESCRIPTION_AT, KEY_INDENT, HelpScreen
from tests.support.ui_support import loaded, make_app


def body_lines(app) -> list[str]:
    body = app.screen.query_one("#help-body")
    return [strip.text.rstrip() for strip in body.render_lines(Region(0, 0, body.size.width, body.size.height))]


async def test_help_at_80_columns_keeps_its_columns() -> None:
    app, sb, _ = make_app(orders=20)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot, app)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.pause()
        lines = body_lines(app)
        contexts = {name for name, _ in app.screen.contexts}
        keys_part = lines[: lines.index("Risk badges")]
        wrapped = 0
        for line in keys_part:
            if not line or line == "Keys" or line in contexts:
                continue
            indent = len(line) - len(line.lstrip(" "))
            # A key line starts at the key column; anything else is a description continuing
            # under the description column.
            assert indent in (KEY_INDENT, DESCRIPTION_AT), repr(line)
            if indent == KEY_INDENT and len(line) > DESCRIPTION_AT:
                assert line[DESCRIPTION_AT - 2:DESCRIPTION_AT] == "  ", repr(line)  # key, gap, text
            wrapped += indent == DESCRIPTION_AT
        assert wrapped  # at 80 columns some descriptions do wrap: the check is not idle
        # Every key list and description of the help is there, whole, in reading order.
        text = " ".join(" ".join(lines).split())
        for _, keys in app.screen.contexts:
            for key, description in keys:
                assert " ".join(f"{key} {description}".split()) in text, (key, description)
