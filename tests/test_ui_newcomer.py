"""What a new supervisor tripped over in a trial of the console (Pilot): the palette's entries,
the status picker's counts, remapped keys in the view bar and footer, the top bar at 80 columns,
toasts over dialogs, the export of the view, and the wording of a stopped bulk run."""

from __future__ import annotations

import pytest
from textual.command import CommandList, CommandPalette

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.ui_support import loaded, make_app, wait_until


def settings(**kw) -> Settings:
    return Settings(base_url=IN_PROCESS_BASE_URL, **kw)


# ---------------------------------------------------------------------------- command palette


def _palette_titles(app) -> list[str]:
    command_list = app.screen.query_one(CommandList)
    return [str(command_list.get_option_at_index(i).prompt).split("\n")[0].strip()
            for i in range(command_list.option_count)]


async def test_the_palette_offers_each_action_once_and_none_of_textual_s_developer_tools() -> None:
    app, _, _ = make_app(orders=30)
    async with app.run_test(size=(100, 40)) as pilot:
        await loaded(pilot, app)
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        # Textual's system commands and the console's last entry: every provider has answered.
        await wait_until(pilot, lambda: {"Theme", "Show every status"} <= set(_palette_titles(app)),
                         what="the palette's entries")
        titles = _palette_titles(app)
        duplicates = sorted({t for t in titles if titles.count(t) > 1})
        assert duplicates == [], duplicates
        lowered = [t.lower() for t in titles]
        for developer_tool in ("screenshot", "maximize", "minimize", "keys"):
            assert developer_tool not in lowered, titles
        assert sum(t.startswith("Quit") for t in titles) == 1, titles
        assert "Filter as you type: handle, worker, ops group, address, metadata" in titles
