"""The list and the detail pane say the same relative time for the same ETA at the same moment.

The list draws against the clock floored to the minute; the detail drew against the exact clock,
so at 18:30:50 an ETA of 18:38:43 read "in 8m" in the list and "in 7m" in the detail. Both now
count minutes with console.ui.timefmt.minutes_until.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from textual.geometry import Region
from textual.widgets import Static

from console.ui.columns import GAP, layout
from console.ui.timefmt import relative
from console.ui.text import relative_time
from tests.support.sandbox_fixtures import FIXED_START
from tests.support.ui_support import detail_loaded, list_lines, loaded, make_app, wait_until

#: 50 seconds into the sandbox's minute: the exact and the floored clock are far apart.
LATE_IN_MINUTE = FIXED_START + timedelta(seconds=50)


def test_one_rule_whatever_the_clock_resolution() -> None:
    from console.ui.timefmt import minutes_until

    eta = datetime(2026, 11, 29, 18, 38, 43, tzinfo=timezone.utc)
    for seconds in (0, 1, 30, 50, 59):
        now = FIXED_START + timedelta(seconds=seconds)
        assert minutes_until(eta, now) == 8
        assert relative(eta, now) == "in 8m" == relative_time(eta, now)
    assert minutes_until(FIXED_START + timedelta(seconds=20), LATE_IN_MINUTE) == 0
    assert relative(FIXED_START - timedelta(minutes=12), LATE_IN_MINUTE) == "12m ago"


def _cell(line: str, width: int, name: str) -> str:
    x = 0
    for column in layout(width):
        if column.name == name:
            return line[x:x + column.width].strip()
        x += column.width + GAP
    raise AssertionError(f"no {name} column at {width}")


def _detail_eta(app) -> str:
    facts = app.detail.query_one("#detail-facts", Static)
    for line in (s.text for s in facts.render_lines(Region(0, 0, facts.size.width, facts.size.height))):
        if line.lstrip().startswith("ETA"):
            match = re.search(r"\d\d:\d\d:\d\d\s+(now|in \S+|\S+ ago)", line)
            assert match, line
            return match.group(1)
    raise AssertionError("no ETA line in the detail")


async def test_the_list_and_the_detail_round_an_eta_alike() -> None:
    app, sb, _ = make_app(orders=60)
    app.now = lambda: LATE_IN_MINUTE  # the panes take the app's clock when they are made
    async with app.run_test(size=(100, 60)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        width = order_list.scrollable_content_region.width
        compared = differs_from_exact = 0
        for index, row in enumerate(order_list.table.view[:25]):
            order_list.move_cursor(index)
            await wait_until(pilot, lambda: app.detail.order is not None
                             and app.detail.order.order_handle == row.ref.order_handle, what="the detail")
            await detail_loaded(pilot, app)
            order = app.detail.order
            if order.estimate is None or order.estimate.arrive_at is None or row.eta is None:
                continue
            eta = order.estimate.arrive_at
            if abs((eta - LATE_IN_MINUTE).total_seconds()) >= 3600:
                continue  # the two panes spell hours differently (1h05 / 1h 05m)
            line = list_lines(app)[index - int(order_list.scroll_y) + 1]
            in_list = _cell(line, width, "eta")
            assert in_list == _detail_eta(app), (row.ref.order_handle, line)
            compared += 1
            exact = int((eta - LATE_IN_MINUTE).total_seconds() // 60)
            differs_from_exact += exact != int((eta - FIXED_START).total_seconds() // 60)  # floored clock
        assert compared >= 5
        assert differs_from_exact  # some ETA fell where the old exact clock said one minute less
