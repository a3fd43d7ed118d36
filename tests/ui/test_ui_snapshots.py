"""Snapshots of the whole console at 80x24 and 160x48: sandbox seed 7, frozen clock.

``snap_compare`` runs its own event loop, so these are plain ``def`` tests. After a deliberate
visual change: ``pytest tests/ui/test_ui_snapshots.py --snapshot-update``, then look at the SVGs in
tests/__snapshots__/test_ui_snapshots/ before committing them.
"""

from __future__ import annotations

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.support.ui_support import make_app, settled


def test_main_80x24(snap_compare) -> None:
    app, _, _ = make_app(orders=300)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled("j", "j"))


def test_main_160x48(snap_compare) -> None:
    app, _, _ = make_app(orders=300)
    assert snap_compare(app, terminal_size=(160, 48), run_before=settled("j", "j", "j", "j", "j", "j"))


def test_confirm_80x24(snap_compare) -> None:
    app, _, _ = make_app(orders=300)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled("c"))


def test_read_only_ascii_80x24(snap_compare) -> None:
    settings = Settings(base_url=IN_PROCESS_BASE_URL, read_only=True, ascii=True)
    app, _, _ = make_app(orders=300, settings=settings)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled())


def test_help_80x24(snap_compare) -> None:
    """The help at 80 columns: wrapped descriptions stay under their column."""
    app, _, _ = make_app(orders=300)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled("question_mark"))


def test_detail_focused_80x24(snap_compare) -> None:
    """After tab: the detail's title says it has the keys, the list's header has lost its mark."""
    app, _, _ = make_app(orders=300)
    assert snap_compare(app, terminal_size=(80, 24), run_before=settled("j", "tab", "j", "j"))
