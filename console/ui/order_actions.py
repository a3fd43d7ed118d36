"""Cancel, disable, enable, reassign and reschedule from the keyboard (``x`` ``d`` ``E`` ``a`` ``t``).

Each key acts like ``c``: on the marked orders when there are marks (one worker or one time for
all of them, then the bulk review, which lists the marked orders the action skips and why), else
on the highlighted order (the worker picker or the time input, then the confirmation, then a run
of one through the pipeline, its result in place in the row). Every send goes through the
:class:`~console.ui.bulk_run.BulkController` (journal, settle window, read-back by
:meth:`Action.judge <console.bulk.actions.Action.judge>`), exactly as complete does.

Which keys apply follows the highlighted order's status (:meth:`Action.refusal`): the footer
shows a key that does not apply dimmed, and pressing it says why in a toast. Read-only mode
disables all of them.

Nothing here draws: dialogs are pushed on the App; a single run starts and shows its result
through :class:`~console.ui.single_completion.SingleCompletion`.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any

from console.api.sanitize import sanitize

if TYPE_CHECKING:
    from console.bulk.actions import Action
    from console.session.table import OrderRow
    from console.ui.app import DispatchApp

#: The App's action names (their bindings' actions) and the pipeline action each one sends.
KEY_ACTIONS: dict[str, str] = {
    "cancel_order": "cancel",
    "disable_order": "disable",
    "enable_order": "enable",
    "reassign_order": "reassign",
    "reschedule_order": "reschedule",
}

#: Long descriptions (help screen, command palette).
DESCRIPTIONS: dict[str, str] = {
    "cancel_order": "cancel the marked orders (review first), or the highlighted one (asks first; cannot be undone)",
    "disable_order": "disable the marked orders (review first), or the highlighted one (asks first)",
    "enable_order": "enable the marked (disabled) orders (review first), or the highlighted one (asks first)",
    "reassign_order": "reassign the marked orders, or the highlighted one, to a worker (a picker, then asks)",
    "reschedule_order": "reschedule the marked orders, or the highlighted one, to a time (+30m, 14:30, ISO; then asks)",
}


def read_only_reason(settings: Any, verb: str) -> str:
    """Why a write key does nothing in a read-only console (its toast), for ``verb``."""
    source = f"profile {settings.profile!r} is read-only" if settings.profile else "started with --read-only"
    return (f"Read-only ({sanitize(source)}): this console cannot {verb} orders. "
            f"Start it without --read-only (or with a profile that can write) to {verb}.")


def _probe(kind: str) -> Action:
    """An action of ``kind`` for status questions (``refusal`` of a status does not look at the
    worker or the time; those come from the dialogs)."""
    from datetime import timezone

    from console.bulk.actions import ACTIONS, Reassign, Reschedule

    if kind == "reassign":
        return Reassign(worker="-")
    if kind == "reschedule":
        return Reschedule(at=datetime(2100, 1, 1, tzinfo=timezone.utc))
    return ACTIONS[kind]


class OrderActions:
    """The five order actions of one :class:`DispatchApp`."""

    def __init__(self, app: "DispatchApp") -> None:
        self.app = app
        #: The supervisor's zone: ``14:30`` means today there (tests set a fixed one).
        self.local_zone: tzinfo | None = None
        self._probes: dict[str, Action] = {}
        self._states: tuple[bool | None, ...] | None = None
        # Marks change which keys apply (with marks they act on the marked orders): the bulk
        # controller's flush tells (the highlight's changes come through the App's own check).
        app.bulk.subscribe(self.keys_may_have_changed, base=True)

    # ------------------------------------------------------------------ what applies now

    def probe(self, name: str) -> Action:
        kind = KEY_ACTIONS[name]
        if kind not in self._probes:
            self._probes[kind] = _probe(kind)
        return self._probes[kind]

    def check_action(self, name: str) -> bool | None:
        """For the app's ``check_action``: None shows the key dimmed (it cannot act now)."""
        app = self.app
        if app.settings.read_only:
            return None
        if self.app.on_main_screen and not app.bulk.marks:
            row = app.order_list.cursor_row
            if row is None or self.probe(name).refusal(row.status) is not None:
                return None
        return True

    def states(self) -> tuple[bool | None, ...]:
        """Every action's :meth:`check_action`, to tell when the footer needs redrawing."""
        return tuple(self.check_action(name) for name in KEY_ACTIONS)

    def applying_to_marked(self) -> list[str]:
        """The App's action names (``complete`` first, then the keys' order) that apply to at
        least one marked order as the list shows it now, for the bulk bar's hint.

        One pass over the marks collects their statuses; each action is then asked once per
        distinct status, so thousands of marks cost one dict walk, not six."""
        from console.bulk.actions import ACTIONS

        app = self.app
        table = app.order_list.table
        statuses = set()
        for ref in app.bulk.marks:
            row = table.get(ref)
            if row is not None:
                statuses.add(row.status)
        probes = {"complete": ACTIONS["complete"], **{name: self.probe(name) for name in KEY_ACTIONS}}
        return [name for name, action in probes.items()
                if any(action.refusal(status) is None for status in statuses)]

    def keys_may_have_changed(self) -> None:
        """Redraw the footer's keys when one of these actions became enabled or disabled."""
        states = self.states()
        if states != self._states:
            self._states = states
            if self.app.is_running:
                self.app.refresh_bindings()

    def disabled_reason(self, name: str) -> str | None:
        """Why ``name`` cannot run now, for the toast of a dimmed key (None: it can)."""
        app = self.app
        settings = app.settings
        verb = self.probe(name).verb
        if settings.read_only:
            return read_only_reason(settings, verb)
        if app.bulk.marks:
            return None
        row = app.order_list.cursor_row if app.is_mounted else None
        if row is None:
            return "No order is highlighted (the list is empty or still loading)."
        reason = self.probe(name).refusal(row.status)
        if reason is not None:
            return f"{row.display_handle}: {reason}."
        return None

    # ------------------------------------------------------------------ a key

    def run(self, name: str) -> None:
        """The key of ``name`` was pressed (or its palette entry chosen)."""
        app = self.app
        if not self.app.on_main_screen:
            return  # a dialog is open (the bindings are the app's, so they reach here)
        probe = self.probe(name)
        if app.settings.read_only:
            app.notify(self.disabled_reason(name) or "Read-only.", severity="warning", markup=False)
            return
        if app.bulk.marks:
            self._on_marked(probe)
            return
        row = app.order_list.cursor_row
        if row is None or row.key in app.bulk.singles.completing:
            return  # nothing highlighted, or an action on it is in flight: a second press does nothing
        if app.bulk.refuses_single(row.ref):
            return
        reason = probe.refusal(row.status)
        if reason is not None:
            app.notify(f"{row.display_handle}: {reason}.", severity="warning", markup=False)
            return
        kind = probe.name
        if kind == "reassign":
            self._pick_worker(row, lambda worker, groups: self._confirm(
                row, _reassign(worker, groups, [row.ops_group])))
        elif kind == "reschedule":
            self._pick_time(row, None, lambda when, after: self._confirm(row, _reschedule(when, after)))
        else:
            self._confirm(row, probe)

    def _on_marked(self, probe: Action) -> None:
        bulk = self.app.bulk
        if bulk.refuses_marked(probe):
            return
        if probe.name == "reassign":
            self._pick_worker(None, lambda worker, groups: bulk.act_on_marked(
                _reassign(worker, groups, self._marked_groups())))
        elif probe.name == "reschedule":
            count = len(bulk.marks)
            self._pick_time(None, count, lambda when, after: bulk.act_on_marked(_reschedule(when, after)))
        else:
            bulk.act_on_marked(probe)

    # ------------------------------------------------------------------ dialogs

    def zone(self) -> tzinfo:
        return self.local_zone or datetime.now().astimezone().tzinfo  # type: ignore[return-value]

    def _marked_groups(self) -> list[str | None]:
        """The ops groups of the marked orders as the list shows them."""
        table = self.app.order_list.table
        rows = (table.get(ref) for ref in self.app.bulk.marks)
        return [row.ops_group for row in rows if row is not None]

    def _pick_worker(self, row: OrderRow | None, then: Any) -> None:
        """The picker, then ``then(handle, ops_groups)``: the worker's ops groups as the loaded
        rows show them (none for a typed handle no loaded order names)."""
        from console.session.workers import worker_choices
        from console.ui.screens.worker_picker import WorkerPickerScreen

        app = self.app
        choices = worker_choices(app.order_list.table.rows)

        def picked(worker: str | None) -> None:
            if worker:
                groups = next((c.ops_groups for c in choices if c.handle == worker), ())
                then(worker, groups)

        app.push_screen(WorkerPickerScreen(
            choices, order_handle=row.ref.order_handle if row is not None else None,
            current=row.worker if row is not None else None, ascii=app.settings.ascii), picked)

    def _pick_time(self, row: OrderRow | None, count: int | None, then: Any) -> None:
        """The time input, then ``then(new_time, not_before)`` (``not_before`` may be None)."""
        from console.ui.screens.reschedule import RescheduleScreen

        app = self.app
        screen = RescheduleScreen(
            row.ref.order_handle if row is not None else "", orders=count,
            scheduled_at=row.scheduled_at if row is not None else None, now=app.now,
            local_zone=self.zone(), order_zone_name=self._order_zone_name(row), ascii=app.settings.ascii)

        def picked(when: datetime | None) -> None:
            if when is not None:
                then(when, screen.not_before)

        app.push_screen(screen, picked)

    def _order_zone_name(self, row: OrderRow | None) -> str | None:
        """The order's ``timezone``: the list's row carries it; else the full order, when the
        detail pane holds it."""
        if row is not None and row.timezone:
            return row.timezone
        order = self.app.detail_controller.shown_order(row.ref) if row is not None else None
        zone = getattr(order, "timezone", None)
        return zone if isinstance(zone, str) else None

    def _confirm(self, row: OrderRow, action: Action) -> None:
        from console.ui.screens.action_confirm import ActionConfirmed, ActionConfirmScreen, ActionDescription, OrderAction

        app = self.app
        kind = OrderAction(action.name)
        changes: dict[str, Any] = {"zone": self.zone()}
        if kind is OrderAction.REASSIGN:
            changes["to_worker"] = action.worker  # type: ignore[attr-defined]
            changes["to_ops_group"] = action.ops_group  # type: ignore[attr-defined]
        elif kind is OrderAction.RESCHEDULE:
            changes["new_time"] = action.at  # type: ignore[attr-defined]
            changes["not_before"] = action.after  # type: ignore[attr-defined]
        description = ActionDescription.for_row(kind, row, **changes)

        def confirmed(answer: ActionConfirmed | None) -> None:
            if answer is None:
                return
            chosen = action
            if kind is OrderAction.CANCEL and answer.reason:
                from console.bulk.actions import Cancel

                chosen = Cancel(reason=answer.reason)
            self._start(row, chosen)

        app.push_screen(ActionConfirmScreen(description, ascii=app.settings.ascii), confirmed)

    def _start(self, row: OrderRow, action: Action) -> None:
        app = self.app
        # The world may have moved while the dialogs were open: a bulk run started, or the
        # refresh shows the order in a status the action does not apply to any more.
        if app.settings.read_only or app.bulk.refuses_single(row.ref):
            return
        current = app.order_list.table.get(row.ref) or row
        reason = action.refusal(current)
        if reason is not None:
            app.notify(f"{current.display_handle}: {reason}; nothing sent.", severity="warning", markup=False)
            return
        app.single.start(current, action)


def _reassign(worker: str, worker_groups: Any, order_groups: Any) -> Action:
    from console.bulk.actions import Reassign
    from console.session.workers import ops_group_to_send

    # The API needs the group when the worker is not (only) in the order's; see ops_group_to_send.
    return Reassign(worker=worker, ops_group=ops_group_to_send(worker_groups, order_groups))


def _reschedule(when: datetime, after: datetime | None = None) -> Action:
    from console.bulk.actions import Reschedule

    # The time input refuses past times, and a "not before" that is not before the new time;
    # whole seconds (the pipeline keeps the second in UTC).
    return Reschedule(at=when - timedelta(microseconds=when.microsecond),
                      after=after - timedelta(microseconds=after.microsecond) if after is not None else None)
