"""--ascii: the worst-risk marker beside the badges never reads as a badge letter.

The badges are letters (S E O R A T B U, upper case red, lower case yellow), so a marker such as
``R`` for "red" next to them reads as the R (off-route) badge. The ASCII markers come from
console.risk_marks (also the headless ``orders`` command's), and the list, the detail pane and
the help's legend all draw those.
"""

from __future__ import annotations

from console.api.vocab import RISK_KEYS, RiskLevel
from console.risk_marks import MARKERS_ASCII, marker
from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from console.ui.screens.help import HelpScreen
from tests.support.hostile import screen_text
from tests.support.ui_support import detail_loaded, list_lines, loaded, make_app

BADGE_LETTERS = {letter for _, letter, _ in RISK_KEYS} | {letter.lower() for _, letter, _ in RISK_KEYS}


def test_no_ascii_marker_is_a_badge_letter_and_each_level_has_its_own() -> None:
    assert len(set(MARKERS_ASCII.values())) == len(RiskLevel)
    for level, mark in MARKERS_ASCII.items():
        assert len(mark) == 1 and mark.isascii() and mark not in BADGE_LETTERS, (level, mark)
        assert not mark.isalpha(), (level, mark)


async def test_ascii_list_detail_and_legend_draw_the_shared_markers() -> None:
    app, sb, _ = make_app(orders=60, settings=Settings(base_url=IN_PROCESS_BASE_URL, ascii=True))
    async with app.run_test(size=(100, 70)) as pilot:  # tall: the detail shows its risks
        await loaded(pilot, app)
        seen_levels = set()
        for row, line in zip(app.order_list.table.view, list_lines(app)[1:]):
            assert line[0] not in BADGE_LETTERS, line
            assert line[0] == MARKERS_ASCII[row.worst], line
            seen_levels.add(row.worst)
        assert RiskLevel.RED in seen_levels  # the check saw a red row: "R" would have failed it
        # The detail pane's risk lines use the same marker before each level word.
        await detail_loaded(pilot, app)
        order = app.detail.order
        assert order is not None
        text = screen_text(app)
        assert f"{MARKERS_ASCII[RiskLevel.RED]} red" in text or f"{MARKERS_ASCII[RiskLevel.GREEN]} green" in text
        for letter_marker in ("R red", "G green", "Y yellow"):
            assert letter_marker not in text
        first = app.order_list.table.view[0]
        assert marker(order.risks, ascii=True) == MARKERS_ASCII[first.worst]
        # The legend in `?` names the same markers.
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        body = str(app.screen.query_one("#help-body").render())
        for level, word in ((RiskLevel.RED, "red"), (RiskLevel.YELLOW, "yellow"), (RiskLevel.GREEN, "green")):
            assert f"{word}: badge is" in body
            assert f"row marker {MARKERS_ASCII[level]}" in body, body
