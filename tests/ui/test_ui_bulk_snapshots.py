"""Snapshots of the bulk screens at 80x24: the review of a typed-count run, and the results of a
run with every kind of line (completed, reconciled, rejected with the API's message).

Sandbox seed 7 on a frozen clock; the engine's clock is frozen too (so rate and time left read
as unknown, not as whatever this machine managed). ``snap_compare`` runs its own event loop, so
these are plain ``def`` tests. After a deliberate visual change:
``pytest tests/ui/test_ui_bulk_snapshots.py --snapshot-update``, then LOOK at the SVGs in
tests/__snapshots__/test_ui_bulk_snapshots/ before committing them.
"""

from __future__ import annotations

from pathlib import Path

from console.sandbox.core import IN_PROCESS_BASE_URL
from console.settings import Settings
from tests.support.hostile import screen_text
from tests.support.ui_support import footer_settled, json_error, make_app, on, wait_until, workers_done

FROZEN_ENGINE = dict(settle_delay=0.0, settle_window=0.0, min_pause=0.0, clock=lambda: 1000.0)


def _app(tmp_path: Path, orders: int):
    settings = Settings(base_url=IN_PROCESS_BASE_URL, journal_path=tmp_path / "journal.sqlite3")
    app, sb, seen = make_app(orders=orders, settings=settings)
    app.bulk.engine_options = dict(FROZEN_ENGINE)
    return app, sb, seen


async def _wait(pilot, condition) -> None:
    await wait_until(pilot, condition, timeout=20.0)


def _loaded(app) -> bool:
    return app.session.loads >= 1 and not app.loading and all(w.is_finished for w in app.workers)


def test_bulk_review_typed_80x24(snap_compare, tmp_path) -> None:
    app, _, _ = _app(tmp_path, orders=60)

    async def run_before(pilot) -> None:
        await _wait(pilot, lambda: _loaded(app))
        await pilot.press("asterisk", "c")
        await pilot.press("4", "1", "enter")  # a wrong count: the screen says so
        await wait_until(pilot, lambda: "That is not" in screen_text(app), what="the wrong count's note")
        await footer_settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_bulk_results_80x24(snap_compare, tmp_path) -> None:
    app, sb, seen = _app(tmp_path, orders=60)

    async def run_before(pilot) -> None:
        await _wait(pilot, lambda: _loaded(app))
        view = app.order_list.table.view
        rejected = view[1].ref.order_handle
        seen.rules.append(on("POST", "/complete", lambda r: json_error(
            422, "Order cannot be completed: worker is not at the destination") if rejected in r.url.path else None))
        sb.faults.script("POST", view[2].ref.order_handle, ["drop_after_apply"])
        await pilot.press("space", "j", "space", "j", "space", "j", "space")
        await pilot.press("c", "y")
        await _wait(pilot, lambda: app.bulk.state is not None and app.bulk.state.phase == "finished")
        await workers_done(pilot)
        await footer_settled(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


def test_bulk_review_with_skipped_orders_80x24(snap_compare, tmp_path) -> None:
    """E (enable) on four marked orders, one of them disabled: the review sends that one and lists
    the three it skips, each with the reason."""
    app, _, _ = _app(tmp_path, orders=60)

    async def run_before(pilot) -> None:
        await _wait(pilot, lambda: _loaded(app))
        await pilot.press("space", "j", "space", "j", "space")
        view = app.order_list.table.view
        app.order_list.move_cursor(next(i for i, row in enumerate(view) if row.status == "disabled"))
        await pilot.press("space", "E")
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
