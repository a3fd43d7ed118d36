"""Snapshots of issue 5's views at 80x24 (and one at 250x70): NO_COLOR, ASCII, a filter in use,
the filter being typed, the sort picker, the colour-blind palette.

Sandbox seed 7, frozen clock. ``snap_compare`` runs its own event loop: plain ``def`` tests.
After a deliberate visual change: ``pytest tests/ui/test_ui_ergonomics_snapshots.py
--snapshot-update``, then look at the SVGs (cairosvg to PNG) before committing them.
"""

from __future__ import annotations

import pytest

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.support.ui_support import make_app, settled


def _app(**settings):
    app, _, _ = make_app(orders=300, settings=Settings(base_url=IN_PROCESS_BASE_URL, **settings))
    return app


# The red orders of one ops group, sorted by scheduled time, latest first: the scenario.
FILTERED = ("slash", *"oak-depot", "enter", "1", "o", *["j"] * 5, "enter", "O")


def test_no_color_80x24(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=settled("j"))


def test_no_color_filtered_80x24(snap_compare, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=settled(*FILTERED))


def test_ascii_filtered_80x24(snap_compare) -> None:
    assert snap_compare(_app(ascii=True), terminal_size=(80, 24), run_before=settled(*FILTERED))


def test_ascii_filter_typing_80x24(snap_compare) -> None:
    assert snap_compare(_app(ascii=True), terminal_size=(80, 24),
                        run_before=settled("2", "slash", *"grand"))


def test_sort_picker_80x24(snap_compare) -> None:
    assert snap_compare(_app(), terminal_size=(80, 24), run_before=settled("o", "j", "j"))


def test_colorblind_read_only_250x70(snap_compare) -> None:
    app = _app(palette="colorblind", read_only=True, profile="audit")
    assert snap_compare(app, terminal_size=(250, 70), run_before=settled("2", "j", "j"))
