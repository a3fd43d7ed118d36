"""The list's columns follow one priority order: a wider terminal never shows fewer columns.

Each width from 80 to 250 columns (steps of 10) is checked on the running console, as drawn in
the list's header, across the stacked and the side-by-side layouts; Worker shows from 100 up.
"""

from __future__ import annotations

from console.ui.columns import layout
from tests.support.ui_support import list_lines, loaded, make_app, wait_until

TITLES = ("SEORATBU", "Order", "Status", "Worker", "Ops group", "Scheduled", "ETA", "Destination")


def shown(header: str) -> set[str]:
    return {title for title in TITLES if f" {title} " in f" {header} "}


def test_layout_adds_columns_in_one_order_as_the_width_grows() -> None:
    before: set[str] = set()
    for width in range(52, 260):
        names = {column.name for column in layout(width)}
        assert before <= names, (width, before - names)
        before = names


async def test_a_wider_terminal_never_shows_fewer_columns() -> None:
    app, sb, _ = make_app(orders=60)
    async with app.run_test(size=(80, 40)) as pilot:
        await loaded(pilot, app)
        before: set[str] = set()
        seen = {}
        for width in range(80, 251, 10):
            await pilot.resize_terminal(width, 40)
            await wait_until(pilot, lambda: app.size.width == width and app.order_list.size.width > 0
                             and app.screen.size.width == width, what=f"the resize to {width}")
            await pilot.pause()
            header = list_lines(app)[0]
            columns = shown(header)
            seen[width] = (header, app.screen.has_class("-wide"))
            assert {"SEORATBU", "Order", "Status", "Scheduled"} <= columns, (width, header)
            assert before <= columns, (width, sorted(before - columns), header)
            if width >= 100:
                assert "Worker" in columns, (width, header)
            if app.screen.has_class("-wide"):
                assert app.detail.size.width >= 50, (width, app.detail.size.width)
            before = columns
        assert before == set(TITLES)  # at 250 every column is shown
        assert any(wide for _, wide in seen.values()) and not all(wide for _, wide in seen.values())
