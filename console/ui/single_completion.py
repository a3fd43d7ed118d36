"""``c`` on one order, as the supervisor sees it: the checks and the confirmation before it, the
run of one it starts (console/ui/single_run.py drives it through the action pipeline), and its
result shown in place (the row, the detail pane, a toast). The marked set's ``c`` goes to the
bulk controller instead.

The other actions on one order (cancel, disable, ...: console/ui/order_actions.py ask for them)
start their run of one here too (:meth:`SingleCompletion.start` with the action) and have their
result shown the same way, in the action's words."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.session.core import ShownError
from console.ui.outcomes import result_message, result_title

if TYPE_CHECKING:
    from textual.app import App

    from console.api.vocab import OrderRef
    from console.bulk.actions import Action
    from console.bulk.results import OrderResult
    from console.session.core import Session
    from console.session.table import OrderRow
    from console.settings import Settings
    from console.ui.bulk_run import BulkController
    from console.ui.detail_controller import DetailController


class SingleCompletion:
    """Uses the App's public API only (screens, toasts); state is the session's."""

    def __init__(self, app: App[Any], session: Session, settings: Settings, *, bulk: BulkController,
                 detail: DetailController, request_refresh: Callable[[], None]) -> None:
        self._app = app
        self.session = session
        self.settings = settings
        self.bulk = bulk
        self.detail = detail
        self._request_refresh = request_refresh

    def complete(self) -> None:
        """The ``c`` key on the main screen."""
        app = self._app
        if not app.on_main_screen:
            return  # a dialog is open (this binding is the app's, so it reaches here)
        if self.settings.read_only:
            app.notify("Read-only: this console cannot complete orders.", severity="warning", markup=False)
            return
        if self.bulk.marks:
            self.bulk.complete_marked()  # the marked set, reviewed and frozen first
            return
        row = self.detail.order_list.cursor_row
        if row is None or row.key in self.bulk.singles.completing:
            return  # nothing highlighted, or already in flight: a second press does nothing
        if self.bulk.refuses_single(row.ref):
            return
        if row.status in ("completed", "cancelled"):
            app.notify(f"{row.display_handle} is already {row.status}.", markup=False)
            return

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.start(row)

        from console.ui.screens.confirm import ConfirmComplete

        app.push_screen(ConfirmComplete(row, ascii=self.settings.ascii), confirmed)

    def start(self, row: OrderRow, action: Action | None = None) -> None:
        """A run of one (complete by default), through the pipeline; its result comes back to
        :meth:`done`."""
        self.session.action_errors.pop(row.key, None)
        if self.detail.is_current(row.ref):
            self.detail.pane.clear_error()
        self.bulk.singles.start(row.ref, action)

    def done(self, ref: OrderRef, result: OrderResult, settled: list[OrderResult],
             action: Action | None = None) -> None:
        """Show a single run's result in place: the row, the detail pane, a toast."""
        app = self._app
        if not app.is_running:
            return
        order_list = self.detail.order_list
        if result.status.is_success and result.order is not None:
            order_list.replace_order(ref, result.order)
        row = order_list.table.get(ref)
        name = row.display_handle if row is not None else ref.describe()
        title, message = result_title(result), result_message(result)
        done = "Completed"
        if action is not None and action.name != "complete":
            from console.ui.action_words import in_words, title_verb
            from console.ui.textual_compat.bindings import key_display

            title = in_words(result_title(result, action=title_verb(action)), action)
            key = key_display(app, f"{action.name}_order") or action.verb
            message = in_words(message, action).replace("c sends it again", f"{key} sends it again")
            done = action.done.capitalize()
        if result.status.is_success:
            self.session.action_ended(ref, None)
            self.session.changes.acted_on([ref])  # its leaving the open set is this console's doing
            app.notify(f"{done} {name}." if result.status.value == "completed" else f"{name}: {title}.",
                       markup=False)
        else:
            self.session.action_ended(ref, ShownError(title, message, result.field_errors or None, result.request_id))
            app.notify(f"{name}: {title}. {message}", severity="error", timeout=8, markup=False)
        if self.detail.is_current(ref):
            current = order_list.table.get(ref)
            if current is not None:
                self.detail.show(current)
        if settled:
            self.bulk.show_settled(settled)
        self._request_refresh()

    def stop_waiting(self) -> None:
        """Esc while a single completion waits out its settle window: leave it in doubt."""
        if self.bulk.singles.stop_waiting():
            self._app.notify("Stopped waiting: the order stays IN DOUBT until it is checked again.",
                             severity="warning", markup=False)
