"""Issue 5's filter and sort: ``/`` as you type, ``1``/``2``/``0`` risk, ``s`` status, ``o``/``O`` sort.

The first half checks the pure pieces (console/session/filtering.py, console/session/sorting.py) on an
:class:`OrderTable` of hand-made orders; the second half drives the console with Pilot against
the sandbox and checks what the supervisor sees: the rows, the view bar, the cursor, the marks.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.api.models import Order, RiskLevel
from console.ui.filter_bar import ViewState, describe_view
from console.session.filtering import ViewFilter
from console.ui.screens.picker import PickerScreen
from console.session.sorting import SORT_COLUMNS, ViewSort
from console.session.table import OrderTable
from tests.support.hostile import MARKUP, screen_text
from tests.support.ui_support import list_lines, loaded, make_app, wait_until

T0 = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def order(handle: str, *, worker: str | None = None, ops: str | None = "oak-depot", status: str = "assigned",
          risk: str | None = "green", address: str | None = None, scheduled: int | None = 0,
          eta: int | None = None, metadata: dict | None = None) -> Order:
    data: dict[str, Any] = {"order_handle": handle, "status": status, "type": "drop", "type_index": 0,
                            "fulfillment_attempt": 0}
    if worker:
        data["worker_handle"] = worker
    if ops:
        data["ops_group_handle"] = ops
    if risk:
        data["risks"] = {"is_offline": risk}
    if address:
        data["destination"] = {"address": address, "geometry": {"type": "Point", "coordinates": [0, 0]}}
    if scheduled is not None:
        data["scheduled_at"] = (T0 + timedelta(minutes=scheduled)).isoformat()
    if eta is not None:
        data["estimate"] = {"arrive_at": (T0 + timedelta(minutes=eta)).isoformat()}
    if metadata:
        data["metadata"] = metadata
    return Order.model_validate(data)


def fleet() -> list[Order]:
    return [
        order("ORD-1", worker="w-ana", ops="oak-depot", risk="red", address="12 Grand Ave, Oakland", scheduled=30,
              eta=40, metadata={"customer": "ACME [Ltd]"}),
        order("ORD-2", worker="w-bo", ops="sf-mission", risk="yellow", address="9 Mission St", scheduled=10,
              status="ongoing"),
        order("ORD-3", worker=None, ops="oak-depot", risk="green", address=None, scheduled=None, eta=5),
        order("ord-4", worker="w-Cy", ops="berkeley", risk="red", address="1 Shattuck", scheduled=5,
              status="unplanned", metadata={"dock": "B-7", "n": 42}),
        order("ORD-5", worker="w-ana", ops=None, risk=None, address="500 Broadway, Oakland", scheduled=20, eta=1),
        order("ORD-6", worker="w-dee", ops="oak-depot", risk="yellow", address="(weird) .* [x] \\d", scheduled=15),
    ]


def table_of(orders: list[Order]) -> OrderTable:
    table = OrderTable()
    table.extend(orders)
    return table


def handles(rows) -> list[str]:
    return [row.ref.order_handle for row in rows]


# ---------------------------------------------------------------------------- pure: filtering


@pytest.mark.parametrize("text, expected", [
    ("oak", {"ORD-1", "ORD-3", "ORD-5", "ORD-6"}),  # ops group and address, any case
    ("OAKLAND", {"ORD-1", "ORD-5"}),
    ("w-ana", {"ORD-1", "ORD-5"}),  # worker
    ("acme [ltd]", {"ORD-1"}),  # metadata value, brackets matched as typed
    ("b-7", {"ord-4"}),  # metadata value
    ("42", {"ord-4"}),  # a number in metadata
    ("ord-4", {"ord-4"}),  # handle
    ("  mission  ", {"ORD-2"}),  # trimmed
    (".*", {"ORD-6"}),  # not a regular expression
    ("[x] \\d", {"ORD-6"}),
    ("(", {"ORD-6"}),
    ("zzz", set()),
    ("", {"ORD-1", "ORD-2", "ORD-3", "ord-4", "ORD-5", "ORD-6"}),
])
def test_text_filter_is_plain_case_insensitive_text(text: str, expected: set[str]) -> None:
    table = table_of(fleet())
    table.set_filter(ViewFilter(text=text).row_filter())
    assert set(handles(table.view)) == expected


def test_risk_and_status_quick_filters_combine_with_the_text() -> None:
    table = table_of(fleet())
    table.set_filter(ViewFilter(min_risk=RiskLevel.RED).row_filter())
    assert set(handles(table.view)) == {"ORD-1", "ord-4"}
    table.set_filter(ViewFilter(min_risk=RiskLevel.YELLOW).row_filter())
    assert set(handles(table.view)) == {"ORD-1", "ord-4", "ORD-2", "ORD-6"}
    table.set_filter(ViewFilter(text="oak", min_risk=RiskLevel.YELLOW).row_filter())
    assert set(handles(table.view)) == {"ORD-1", "ORD-6"}
    table.set_filter(ViewFilter(status="ongoing").row_filter())
    assert handles(table.view) == ["ORD-2"]
    table.set_filter(ViewFilter(text="oak", min_risk=RiskLevel.RED, status="assigned").row_filter())
    assert handles(table.view) == ["ORD-1"]
    table.set_filter(ViewFilter().row_filter())
    assert len(table.view) == 6


def test_filtering_keeps_the_sort_order() -> None:
    table = table_of(fleet())
    full = handles(table.view)
    table.set_filter(ViewFilter(text="o").row_filter())
    assert handles(table.view) == [h for h in full if h in handles(table.view)]
    assert handles(table.view) == sorted(handles(table.view), key=full.index)


def test_typing_a_longer_text_narrows_the_shown_rows_and_backspace_widens_them() -> None:
    table = table_of(fleet())
    seen = []
    for text in ("o", "oa", "oak", "oakl", "oak", "o", ""):
        table.set_filter(ViewFilter(text=text).row_filter())
        seen.append(set(handles(table.view)))
        assert seen[-1] == {r.ref.order_handle for r in table.rows if text.lower() in r.search_text}
    assert seen[0] >= seen[1] >= seen[2] >= seen[3]
    assert seen[4] == seen[2] and seen[6] == set(handles(table.rows))


def test_a_refresh_keeps_the_filter() -> None:
    table = table_of(fleet())
    table.set_filter(ViewFilter(text="oakland").row_filter())
    assert set(handles(table.view)) == {"ORD-1", "ORD-5"}
    changed = fleet()
    changed[1] = order("ORD-2", worker="w-bo", ops="sf-mission", risk="red", address="3 Oakland Blvd")
    table.merge(changed + [order("ORD-7", address="7 Oakland Ave")])
    assert set(handles(table.view)) == {"ORD-1", "ORD-2", "ORD-5", "ORD-7"}


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=12))
def test_any_text_filters_like_a_plain_substring_search(text: str) -> None:
    """No input can raise or be read as a pattern: the result is always the plain search."""
    table = table_of(fleet())
    view_filter = ViewFilter(text=text)
    table.set_filter(view_filter.row_filter())
    needle = view_filter.needle
    assert handles(table.view) == [h for h, r in zip(handles(table.rows), table.rows) if needle in r.search_text]
    line = describe_view(ViewState(filter=view_filter, total=6, shown=len(table.view)), 80)
    assert line.cell_len == 80  # the bar holds any text at its width


# ---------------------------------------------------------------------------- pure: sorting


def _sorted_table(column: str, reverse: bool) -> list[str]:
    table = table_of(fleet())
    key, rev = ViewSort(column, reverse).key()
    table.set_sort(key, rev)
    return handles(table.view)


def test_default_sort_is_worst_risk_first_then_scheduled() -> None:
    assert _sorted_table("risk", False) == ["ord-4", "ORD-1", "ORD-2", "ORD-6", "ORD-3", "ORD-5"]
    assert ViewSort().key() == (None, False)


@pytest.mark.parametrize("column, ascending, descending", [
    # Case-insensitive text.
    ("handle", ["ORD-1", "ORD-2", "ORD-3", "ord-4", "ORD-5", "ORD-6"],
     ["ORD-6", "ORD-5", "ord-4", "ORD-3", "ORD-2", "ORD-1"]),
    # No worker last both ways; the tie (w-ana twice) worst risk first both ways.
    ("worker", ["ORD-1", "ORD-5", "ORD-2", "ord-4", "ORD-6", "ORD-3"],
     ["ORD-6", "ord-4", "ORD-2", "ORD-1", "ORD-5", "ORD-3"]),
    ("ops", ["ord-4", "ORD-1", "ORD-6", "ORD-3", "ORD-2", "ORD-5"],
     ["ORD-2", "ORD-1", "ORD-6", "ORD-3", "ord-4", "ORD-5"]),
    ("scheduled", ["ord-4", "ORD-2", "ORD-6", "ORD-5", "ORD-1", "ORD-3"],
     ["ORD-1", "ORD-5", "ORD-6", "ORD-2", "ord-4", "ORD-3"]),
    # Without an ETA: last, in the default order (worst risk, earliest scheduled) both ways.
    ("eta", ["ORD-5", "ORD-3", "ORD-1", "ord-4", "ORD-2", "ORD-6"],
     ["ORD-1", "ORD-3", "ORD-5", "ord-4", "ORD-2", "ORD-6"]),
    # By progress (unplanned ... ongoing), not alphabetically.
    ("status", ["ord-4", "ORD-1", "ORD-6", "ORD-3", "ORD-5", "ORD-2"],
     ["ORD-2", "ORD-1", "ORD-6", "ORD-3", "ORD-5", "ord-4"]),
    ("address", ["ORD-6", "ord-4", "ORD-1", "ORD-5", "ORD-2", "ORD-3"],
     ["ORD-2", "ORD-5", "ORD-1", "ord-4", "ORD-6", "ORD-3"]),
    ("risk", ["ord-4", "ORD-1", "ORD-2", "ORD-6", "ORD-3", "ORD-5"],
     ["ORD-5", "ORD-3", "ORD-2", "ORD-6", "ord-4", "ORD-1"]),  # best first, then earliest
])
def test_every_column_sorts_both_ways_with_missing_values_last(
    column: str, ascending: list[str], descending: list[str]
) -> None:
    assert _sorted_table(column, False) == ascending
    assert _sorted_table(column, True) == descending
    assert {c.name for c in SORT_COLUMNS} >= {column}


def test_descending_ties_keep_the_worst_risk_first() -> None:
    orders = [order(f"ORD-{i}", worker="w-same", risk=risk, scheduled=i) for i, risk in
              enumerate(["green", "red", "yellow", "red"])]
    for reverse in (False, True):
        table = table_of(orders)
        key, rev = ViewSort("worker", reverse).key()
        table.set_sort(key, rev)
        assert handles(table.view) == ["ORD-1", "ORD-3", "ORD-2", "ORD-0"]


def test_a_sorted_table_keeps_its_order_through_a_refresh_and_new_pages() -> None:
    for reverse in (False, True):
        table = table_of(fleet())
        key, rev = ViewSort("address", reverse).key()
        table.set_sort(key, rev)
        table.extend([order("ORD-8", address="0 First St"), order("ORD-9", address=None)])
        table.merge(fleet()[:4] + [order("ORD-8", address="0 First St"), order("ORD-9")])
        assert handles(table.view) == handles(sorted(table.rows, key=key, reverse=rev))
        assert set(handles(table.view)[-2:]) == {"ORD-3", "ORD-9"}  # no address: last both ways


def test_view_bar_says_what_is_filtered_and_how_it_is_sorted() -> None:
    f = ViewFilter(text="oak", min_risk=RiskLevel.RED, status="ongoing")
    wide = describe_view(ViewState(filter=f, sort=ViewSort("scheduled", True), shown=3, total=300), 160).plain
    assert 'filter: "oak"' in wide and "risk: red" in wide and "status: ongoing" in wide
    assert "sort: scheduled, latest first" in wide and wide.rstrip().endswith("3 of 300")
    narrow = describe_view(ViewState(filter=f, sort=ViewSort("scheduled", True), shown=3, total=300), 60).plain
    assert len(narrow) == 60 and '"oak"' in narrow and "red" in narrow and "scheduled↓" in narrow
    assert narrow.rstrip().endswith("3 of 300")
    idle = describe_view(ViewState(total=300, shown=300), 80).plain
    assert "filter: none (/)" in idle and "risk: all" in idle and "sort: risk, worst first" in idle
    assert idle.rstrip().endswith("300 shown")
    ascii_line = describe_view(ViewState(sort=ViewSort("eta"), total=3, shown=3, ascii=True), 40).plain
    assert ascii_line.isascii() and "by eta asc" in ascii_line


# ---------------------------------------------------------------------------- the console


async def type_text(pilot, text: str) -> None:
    for char in text:
        await pilot.press(char if char != " " else "space")


def shown_handles(app) -> list[str]:
    return [row.ref.order_handle for row in app.order_list.table.view]


async def test_slash_filters_as_you_type_and_enter_keeps_it() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        table = app.order_list.table
        total = table.total
        group = next(r.ops_group for r in table.rows if r.ops_group)
        await pilot.press("slash")
        assert app.focused is app.view_controls.bar.input
        counts = []
        for char in group:
            await pilot.press(char)
            counts.append(len(table.view))
            # After every keystroke, without waiting: only matching rows are shown.
            typed = group[: len(counts)].lower()
            assert all(typed in row.search_text for row in table.view)
        assert counts == sorted(counts, reverse=True) and counts[-1] < total
        assert all(group.lower() in line.lower() or group.lower() in row.search_text
                   for row, line in zip(table.view, list_lines(app)[1:]))
        await pilot.press("enter")
        assert app.focused is app.order_list
        bar = screen_text(app)
        assert f'filter: "{group}"' in bar and f"{counts[-1]} of {total}" in bar
        # j/k move in the filtered list; q still quits (not typed into a closed input).
        await pilot.press("j")
        assert app.order_list.cursor_row is table.view[1]


async def test_escape_clears_the_text_and_returns_to_the_list() -> None:
    app, sb, _ = make_app(orders=80)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("1")  # risk stays through Esc
        reds = len(app.order_list.table.view)
        await pilot.press("slash", "o", "r", "d")
        await pilot.press("escape")
        assert app.focused is app.order_list
        assert app.view_controls.filter.text == "" and app.view_controls.filter.min_risk is RiskLevel.RED
        assert len(app.order_list.table.view) == reds
        assert "filter: none" in screen_text(app)


async def test_the_filter_input_is_mounted_at_the_first_slash_and_kept() -> None:
    """Start-up (issue 6) mounts only the bar's summary; the prompt and input come with the
    first `/`, take their place before the summary, work at once, and stay for the next `/`."""
    app, sb, _ = make_app(orders=40)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        bar = app.view_controls.bar
        assert not app.query("FilterInput") and not app.query("#filter-prompt")
        assert [child.id for child in bar.children] == ["view-summary"]
        await pilot.press("slash", "o", "r", "d")  # typed in one burst, as over SSH
        assert [child.id for child in bar.children] == ["filter-prompt", "filter-input", "view-summary"]
        assert app.focused is bar.input and bar.input.value == "ord"
        assert bar.input.region.width > 0 and bar.prompt.region.width > 0  # shown, not only mounted
        await pilot.press("escape")
        assert bar.input.region.width == 0  # hidden again (display: none), still mounted
        first = bar.input
        await pilot.press("slash", "x")
        assert app.query_one("FilterInput") is first and first.value == "x"
        assert app.focused is first


async def test_keys_type_into_the_filter_instead_of_acting() -> None:
    app, sb, seen = make_app(orders=40)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        await type_text(pilot, "qc1yo/ j")
        assert app.view_controls.bar.input.value == "qc1yo/ j"
        assert app.is_running and app.screen is app.screen_stack[0]  # no quit, no dialog, no picker
        assert app.view_controls.filter.min_risk is None
        assert seen.posts() == []


async def test_quick_risk_filters() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        table = app.order_list.table
        await pilot.press("1")
        assert table.view and all(r.worst is RiskLevel.RED for r in table.view)
        assert len(table.view) == sum(r.worst is RiskLevel.RED for r in table.rows)
        assert "risk: red" in screen_text(app)
        await pilot.press("2")
        assert all(r.worst >= RiskLevel.YELLOW for r in table.view)
        assert len(table.view) == sum(r.worst >= RiskLevel.YELLOW for r in table.rows)
        assert "risk: red+yellow" in screen_text(app)
        await pilot.press("0")
        assert len(table.view) == table.total
        assert "risk: all" in screen_text(app)


async def test_status_picker_with_j_k_and_enter() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        table = app.order_list.table
        await pilot.press("s")
        assert isinstance(app.screen, PickerScreen)
        text = screen_text(app)
        statuses = sorted({r.status for r in table.rows})
        assert "all statuses" in text and all(s in text for s in statuses)
        await pilot.press("j", "j", "k", "j")  # the second status in the list
        picked = app.screen.options[app.screen.query_one("#picker-list").highlighted][0][1:]
        await pilot.press("enter")
        assert not isinstance(app.screen, PickerScreen)
        assert table.view and all(r.status == picked for r in table.view)
        assert f"status: {picked}" in screen_text(app)
        await pilot.press("s", "g", "enter")  # g: first option, "all statuses"
        assert len(table.view) == table.total
        await pilot.press("s", "escape")
        assert not isinstance(app.screen, PickerScreen) and len(table.view) == table.total


async def test_sort_picker_and_reverse_keep_the_cursor_on_its_order() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        order_list = app.order_list
        await pilot.press("j", "j", "j")
        target = order_list.cursor_row
        await pilot.press("o")
        assert isinstance(app.screen, PickerScreen)
        names = [c.name for c in SORT_COLUMNS]
        await pilot.press(*["j"] * names.index("scheduled"), "enter")
        view = order_list.table.view
        stamps = [r.scheduled_at.timestamp() for r in view if r.scheduled_at]
        assert stamps == sorted(stamps) and view[-1].scheduled_at is None or all(r.scheduled_at for r in view)
        assert order_list.cursor_row is target and view[order_list.cursor_index] is target
        assert "sort: scheduled, earliest first" in screen_text(app)
        await pilot.press("O")
        view = order_list.table.view
        stamps = [r.scheduled_at.timestamp() for r in view if r.scheduled_at]
        assert stamps == sorted(stamps, reverse=True)
        assert order_list.cursor_row is target
        assert "sort: scheduled, latest first" in screen_text(app)


async def test_filter_and_sort_survive_a_refresh() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("2", "o", *["j"] * 5, "enter")  # scheduled
        before = shown_handles(app)
        sb.advance(20 * 60)
        loads = app.session.loads
        await pilot.press("r")
        await wait_until(pilot, lambda: app.session.loads > loads and not app.loading, what="the refresh")
        view = app.order_list.table.view
        assert all(r.worst >= RiskLevel.YELLOW for r in view)
        assert len(view) == sum(r.worst >= RiskLevel.YELLOW for r in app.order_list.table.rows)
        stamps = [r.scheduled_at.timestamp() for r in view if r.scheduled_at]
        assert stamps == sorted(stamps)
        assert before  # something was shown before and the bar still says what is active
        text = screen_text(app)
        assert "risk: red+yellow" in text and "scheduled" in text


async def test_marks_survive_filtering_and_star_marks_only_what_is_shown() -> None:
    app, sb, _ = make_app(orders=120)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        marks = app.bulk.marks
        table = app.order_list.table
        await pilot.press("0")
        first = app.order_list.cursor_row
        await pilot.press("space")
        assert first.ref in marks
        # Hide it with a filter, then bring it back: it is still marked.
        other_status = next(s for s in {r.status for r in table.rows} if s != first.status)
        app.view_controls.set_status(other_status)
        await pilot.pause()
        assert first not in table.view and first.ref in marks
        app.view_controls.set_status("")
        await pilot.pause()
        assert first.ref in marks and first in table.view
        # * marks the filtered view only.
        await pilot.press("U", "1", "asterisk")
        reds = [r for r in table.rows if r.worst is RiskLevel.RED and r.is_open]
        assert {r.ref for r in reds} == set(marks)
        await pilot.press("0")
        assert {r.ref for r in reds} == set(marks)


async def test_a_filter_that_matches_nothing_says_so_and_hostile_text_is_shown_as_typed() -> None:
    app, sb, _ = make_app(orders=40)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot, app)
        await pilot.press("slash")
        for text in (*MARKUP.values(), "\x1b]0;x\x07", "(", "*", "\\"):
            app.view_controls.bar.input.value = text  # as if pasted
            await pilot.pause()
            assert app.is_running
        app.view_controls.bar.input.value = "[/oops] no such order"
        await pilot.press("enter")
        assert app.order_list.cursor_row is None
        text = screen_text(app)
        assert "No order matches the filter." in text
        assert '"[/oops] no such order"' in text
        assert f"0 of {app.order_list.table.total:,}" in text


async def test_the_view_bar_is_shown_at_80x24_and_250x70() -> None:
    for size in ((80, 24), (250, 70)):
        app, sb, _ = make_app(orders=60)
        async with app.run_test(size=size) as pilot:
            await loaded(pilot, app)
            await pilot.press("2")
            bar = app.view_controls.bar
            assert bar.region.height == 1 and bar.region.width == size[0]
            assert bar.region.y < app.order_list.region.y
            text = screen_text(app)
            assert "risk: red+yellow" in text
            assert "of 60" in text or "of " in text


def test_a_row_changed_while_filtering_is_matched_by_its_new_text() -> None:
    table = table_of(fleet())
    table.set_filter(ViewFilter(text="o").row_filter())  # broad: the C pass over the texts
    assert "ORD-2" in handles(table.view)
    row = next(r for r in table.rows if r.ref.order_handle == "ORD-2")
    table.replace_order(row.ref, order("ORD-2", worker="w-bo", ops="sf-mission", risk="yellow",
                                       address="77 Zebra Lane", status="completed"))
    for text in ("o", "ze", "zebra"):  # a full scan, then narrowing keystrokes
        table.set_filter(ViewFilter(text=text).row_filter())
        expected = [h for h, r in zip(handles(table.rows), table.rows) if text in r.search_text]
        assert handles(table.view) == expected
    assert handles(table.view) == ["ORD-2"]
