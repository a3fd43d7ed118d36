"""The App's actions that only hand the key to a controller: the bulk ones to
:class:`~console.ui.bulk_run.BulkController`, the view's to
:class:`~console.ui.view_controls.ViewControls`, ``c`` on one order to
:class:`~console.ui.single_completion.SingleCompletion`.

Textual looks actions up on the App (its bindings name them), so they are methods of the App;
they live here, as a mixin placed before :class:`textual.app.App` in ``DispatchApp``'s bases, so
that the App's module keeps composition and routing only. ``super()`` here is the App.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from console.ui.alerts import AlertsController
    from console.ui.bulk_run import BulkController
    from console.ui.single_completion import SingleCompletion
    from console.ui.view_controls import ViewControls


class ForwardedActions:
    """Bulk and view actions, forwarded; key explanations and line filters of the view."""

    bulk: BulkController
    single: SingleCompletion
    view_controls: ViewControls
    alerts: AlertsController

    # ------------------------------------------------------------------ one order (console/ui/single_completion.py)

    def action_complete(self) -> None:
        self.single.complete()

    def action_stop_waiting(self) -> None:
        self.single.stop_waiting()


    # ------------------------------------------------------------------ bulk (console/ui/bulk_run.py)

    def action_toggle_mark(self) -> None:
        self.bulk.toggle()

    def action_mark_view(self) -> None:
        self.bulk.mark_view()

    def action_clear_marks(self) -> None:
        self.bulk.clear()

    def action_retry_failed(self) -> None:
        self.bulk.retry_failed()

    def action_bulk_show(self) -> None:
        self.bulk.show()

    # ------------------------------------------------------------------ what changed (console/ui/alerts.py)

    def action_next_new_red(self) -> None:
        self.alerts.jump_to_next_new_red()

    def action_change_feed(self) -> None:
        self.alerts.open_feed()

    # Handlers by name (a mixin's ``@on`` is not seen by Textual; its name lookup is): the
    # messages of console/ui/messages.py that only the alerts controller handles.

    def on_changes_found(self, message: Any) -> None:
        if self.is_running:  # type: ignore[attr-defined]
            self.alerts.changes_found(message.changes)

    def on_acknowledge_all_new_reds(self, message: Any) -> None:
        self.alerts.acknowledge_all()

    async def action_quit(self) -> None:
        if self.bulk.confirm_quit():  # during a bulk run, the first q only warns
            await super().action_quit()  # type: ignore[misc]

    # ------------------------------------------------------------------ view (console/ui/view_controls.py)

    def action_filter(self) -> None:
        self.view_controls.open_filter()

    def action_risk(self, level: str) -> None:
        self.view_controls.set_risk(level)

    def action_pick_status(self) -> None:
        self.view_controls.pick_status()

    def action_status(self, status: str) -> None:
        self.view_controls.set_status(status)

    def action_pick_sort(self) -> None:
        self.view_controls.pick_sort()

    def action_reverse_sort(self) -> None:
        self.view_controls.reverse_sort()

    def action_sort_by(self, column: str) -> None:
        self.view_controls.sort_by(column)

    def action_copy_url(self) -> None:
        self.view_controls.copy_url()

    def action_export(self) -> None:
        self.view_controls.export()

    def on_key(self, event: Any) -> None:
        # Runs before the bindings: a key whose action is disabled (c in read-only) says why.
        self.view_controls.explain_key(event.key)

    def handle_bindings_clash(self, clashed_bindings: Any, node: Any) -> None:
        self.view_controls.bindings_clash(clashed_bindings)

    def get_line_filters(self) -> Any:
        # --ascii: every rendered line also goes through AsciiFilter (console/ui/ascii_mode.py).
        return self.view_controls.line_filters(super().get_line_filters())  # type: ignore[misc]
