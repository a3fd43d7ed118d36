"""The dispatch console's App: composition, bindings, screens and message routing.

The session (console/session/core.py) holds the orders and reads them; the App runs its loads
as the exclusive ``orders`` worker and shows its events. The detail pane's fetches run as the
exclusive ``detail`` worker (console/ui/detail_controller.py). Workers' ends arrive in one place,
:meth:`DispatchApp.on_worker_state_changed`. Writes (``c``, bulk runs) go through the action
pipeline (console/ui/single_completion.py, console/ui/bulk_run.py).

The app reads no environment variable and no argv: the caller (the CLI, a test) passes the
client, the :class:`~console.settings.Settings`, whether this is the sandbox, and the clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

# Only what the first frame needs is imported here. Screens, the bulk views, the command
# palette's provider and the pydantic models load where they are first used (start-up time,
# each import is paid before the first rows can be painted).
from console.settings import DEFAULT_THEME, Settings
from console.ui.bulk_bar import BulkStatusBar
from console.ui.bulk_run import BulkController
from console.ui.detail import DetailPane
from console.ui.detail_controller import DetailController
from console.ui import help_text
from console.ui.footer import ConsoleFooter
from console.ui.forwarded_actions import ForwardedActions
from console.ui.alerts import AlertsController
from console.ui.load_status import LoadStatus
from console.ui.main_screen import main_screen_for
from console.ui.messages import RefreshRequested
from console.ui.order_actions import OrderActions
from console.ui.order_list import OrderList
from console.ui.outcomes import error_message, error_title
from console.session.core import (
    LoadFailed,
    LoadFinished,
    LoadSummary,
    PageShown,
    RefreshMerged,
    Session,
    SessionEvent,
)
from console.ui.stylesheets import css_paths
from console.ui.single_completion import SingleCompletion
from console.ui.top_bar import ScopeLabel
from console.ui.view_controls import ViewControls
from console.ui.zoom import toggle_zoom

if TYPE_CHECKING:
    from textual.command import Provider

    from console.api.client import OrdersClient

Clock = Callable[[], datetime]


def _console_commands() -> type[Provider]:
    """The command palette's provider, imported when the palette first opens (Textual accepts
    a callable returning the provider class in ``App.COMMANDS``): textual.command and the
    palette's widgets are not needed to show the list."""
    from console.ui.commands import ConsoleCommands

    return ConsoleCommands


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


class DispatchApp(ForwardedActions, App[None]):
    """The console. ``DispatchApp(client=..., settings=Settings(...), sandbox=True/False)``."""

    TITLE = "Dispatch console"
    CSS_PATH = css_paths()
    # Side by side from 160 columns, where the list keeps all its columns beside a detail pane
    # of 58 (styles/app.tcss); stacked below (80x24 stays fully usable).
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (160, "-wide")]
    #: ctrl+p lists every console action (console/ui/commands.py), and of Textual's own system
    #: commands only the theme (see get_system_commands).
    COMMANDS = App.COMMANDS | {_console_commands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "complete", "Complete", id="order.complete"),
        Binding("x", "cancel_order", "Cancel", id="order.cancel"),
        Binding("d", "disable_order", "Disable", id="order.disable"),
        Binding("E", "enable_order", "Enable", id="order.enable"),
        Binding("a", "reassign_order", "Reassign", id="order.reassign"),
        Binding("t", "reschedule_order", "Reschedule", id="order.reschedule"),
        # The list's view, the clipboard (console/ui/view_controls.py).
        Binding("slash", "filter", "Filter", id="view.filter"),
        Binding("o", "pick_sort", "Sort", id="view.sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False, id="view.reverse"),
        Binding("1", "risk('red')", "Red only", show=False, id="view.risk_red"),
        Binding("2", "risk('yellow')", "Red+yellow", show=False, id="view.risk_yellow"),
        Binding("0", "risk('all')", "All risks", show=False, id="view.risk_all"),
        Binding("s", "pick_status", "Status", show=False, id="view.status"),
        Binding("y", "copy_url", "Copy URL", id="order.copy_url"),
        Binding("e", "export", "Export", show=False, id="view.export"),  # help and ctrl+p list it
        Binding("r", "refresh", "Refresh", id="app.refresh"),
        Binding("z", "zoom", "Zoom pane", show=False, id="app.zoom"),  # help and ctrl+p list it; the footer has no room at 80 columns
        Binding("question_mark", "help", "Help", id="app.help"),
        Binding("q", "quit", "Quit", id="app.quit"),
        # Bulk completion (console/ui/bulk_run.py): marks, the marked run, its screen.
        Binding("space", "toggle_mark", "Mark", show=False, id="bulk.mark"),
        Binding("asterisk", "mark_view", "Mark all shown", show=False, id="bulk.mark_all"),
        Binding("U", "clear_marks", "Clear marks", show=False, id="bulk.clear"),
        Binding("R", "retry_failed", "Retry failed", show=False, id="bulk.retry"),
        Binding("b", "bulk_show", "Bulk run", show=False, id="bulk.show"),
        Binding("escape", "stop_waiting", "Stop waiting", show=False, id="order.stop_waiting"),
        Binding("n", "next_new_red", "Next new red", show=False, id="alerts.next_new_red"),
        Binding("F", "change_feed", "Change feed", show=False, id="alerts.feed"),
    ]

    PENDING_LABEL = "completing…"

    def __init__(
        self,
        client: OrdersClient,
        settings: Settings | None = None,
        *,
        sandbox: bool = False,
        now: Clock | None = None,
    ) -> None:
        super().__init__()
        self.client = client
        self.settings = settings or Settings()
        self.sandbox = sandbox
        self.now: Clock = now or _utc_now
        #: The orders, their loading, details and action errors (console/session/core.py).
        self.session = Session(client, self.settings, now=self.now)
        self.session.subscribe(self._on_session_event)
        #: Marks and bulk runs; a run is a worker of this App, so it outlives its screen.
        self.bulk = BulkController(self, self.session)
        #: Filter, sort, clipboard, palette, keymap, disabled-key explanations.
        self.view_controls = ViewControls(self)
        #: Cancel, disable, enable, reassign, reschedule: keys, dialogs, what applies now.
        self.order_actions = OrderActions(self)
        #: The count, the age and the banner: what the screen says about loading.
        self.load_status = LoadStatus(self.session, self.settings, now=self.now, loading=lambda: self.loading)
        #: The highlighted order's detail: when it is fetched, what the pane shows.
        self.detail_controller = DetailController(self, self.session,
                                                  keys_may_have_changed=self._bindings_may_have_changed)
        #: `c` on one order: the checks, the confirmation, its result in place.
        self.single = SingleCompletion(self, self.session, self.settings, bulk=self.bulk,
                                       detail=self.detail_controller, request_refresh=self._request_refresh)
        #: What changed at each refresh: the new-red counter, the feed, row marks, notifications.
        self.alerts = AlertsController(self, self.session)
        self._complete_enabled: bool | None = None
        #: "orders" or "detail" while `z` gives that pane the whole body.
        self.zoomed: str | None = None
        theme = self.settings.theme
        self._theme_fallback = theme not in self.available_themes
        self.theme = DEFAULT_THEME if self._theme_fallback else theme
        if sandbox:
            self.sub_title = "SANDBOX"

    # ------------------------------------------------------------------ composition

    def get_default_screen(self) -> Screen:
        return main_screen_for(self.size.width, self.HORIZONTAL_BREAKPOINTS)

    def compose(self) -> ComposeResult:
        settings = self.settings
        with Horizontal(id="topbar"):
            yield Static(Text(" SANDBOX "), id="sandbox-marker")
            yield Static(Text(self.TITLE), id="brand")
            # The room left: the scope shortens itself to it, in a fixed order (console/ui/top_bar.py).
            yield ScopeLabel(settings.profile, settings.ops_group, ascii=settings.ascii, id="scope")
            yield Static(Text("READ-ONLY" if settings.read_only else "can write"), id="access")
            yield self.alerts.label
            yield self.load_status.count_label
            yield self.load_status.age_label
        yield self.load_status.banner
        yield self.view_controls.make_bar()
        with Container(id="body"):
            self.order_list = OrderList(now=self.now, ascii=settings.ascii, table=self.session.table, id="orders")
            self.detail = DetailPane(now=self.now, ascii=settings.ascii, id="detail")
            self.detail_controller.attach(self.detail, self.order_list)
            yield self.order_list
            yield self.detail
        yield BulkStatusBar(self.bulk, id="bulk-status")
        self.footer = ConsoleFooter(compact=True)  # 80 columns hold every shown key
        self.footer.hold()  # its keys come right after the first rows (on_mount)
        yield self.footer

    def on_mount(self) -> None:
        self.query_one("#sandbox-marker").display = self.sandbox
        self.query_one("#access").set_class(self.settings.read_only, "-read-only")
        self.load_status.mounted()
        self.order_list.focus()
        self.detail.show_placeholder("Loading orders…")
        if self._theme_fallback:
            self.notify(f"Unknown theme {self.settings.theme!r}; using {DEFAULT_THEME}.",
                        severity="warning", markup=False)
        self.set_interval(self.settings.refresh_seconds, self._refresh_on_timer, name="auto-refresh")
        self.set_interval(1.0, self._tick, name="tick")
        # The footer's keys are built at the first-rows moment (console/session/startup.py).
        self.when_first_rows_shown(self.footer.release)
        self.order_list.is_marked = self.bulk.marks.is_marked
        self.bulk.startup()  # settles an interrupted bulk run before anything is sent
        self.view_controls.mount()
        self.load_orders()

    # The widgets the app talks to, created once in compose (not queried on every tick: a
    # query during shutdown finds nothing).
    order_list: OrderList
    detail: DetailPane
    footer: ConsoleFooter

    @property
    def on_main_screen(self) -> bool:
        """The list is the screen on top: no dialog is open over it (False before the first
        screen is up and while the app shuts down)."""
        try:
            return self.is_mounted and self.screen is self.screen_stack[0]
        except Exception:  # no screen yet, or shutting down
            return False

    @property
    def loading(self) -> bool:
        """True while the order list is being (re)loaded."""
        return any(w.group == "orders" and w.state in (WorkerState.PENDING, WorkerState.RUNNING)
                   for w in self.workers)

    # ------------------------------------------------------------------ loading the list

    @work(exclusive=True, group="orders", exit_on_error=False)
    async def load_orders(self) -> LoadSummary:
        """Every page of the open orders, read by the session (its events show them)."""
        self.load_status.update_age()
        # Between two steps of loading, keys on their way to the screen go first: see
        # OrderList.pace (a bare sleep let one more step run before each of a key's hops).
        return await self.session.load(pace=self.order_list.pace, frame=self._next_frame)

    async def _next_frame(self, timeout: float = 1.0) -> None:
        """Wait until the screen has been refreshed (at most ``timeout``: a suspended app
        draws nothing, and loading must not stall on it)."""
        painted = asyncio.Event()
        self.call_after_refresh(painted.set)
        try:
            await asyncio.wait_for(painted.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    def when_first_rows_shown(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, at the session's first-rows moment (console/session/startup.py).
        The command line resumes the garbage collector with it (console/cli.py)."""
        self.session.when_first_rows_shown(callback)

    def on_unmount(self) -> None:
        self.session.close()

    def _on_session_event(self, event: SessionEvent) -> None:
        """The session's events, shown (synchronously: a page's rows are drawn before the
        session waits for the frame that shows them)."""
        if isinstance(event, PageShown):
            self.order_list.show_change(event.change)
            self.load_status.page_shown(event.loaded)
        elif isinstance(event, RefreshMerged):
            self.order_list.show_change(event.change)
        elif isinstance(event, LoadFinished):
            self._orders_loaded(event.summary)
        elif isinstance(event, LoadFailed):
            self._orders_failed(event)

    def _orders_loaded(self, summary: LoadSummary) -> None:
        self.load_status.loaded()
        self.order_list.set_empty_message("No open orders.")
        self.view_controls.update_bar()
        if self.order_list.cursor_row is None:
            self.detail.show_placeholder("No open orders.")
        if summary.skipped:
            self.notify(f"{summary.skipped} order(s) could not be read and are not listed.",
                        severity="warning", markup=False)
        self.detail_controller.after_load()
        self.bulk.after_load()  # marks of orders that left the open list go
        if self.session.take_refresh_again():
            self.load_orders()

    def _orders_failed(self, event: LoadFailed) -> None:
        self.load_status.failed(event)
        if self.session.last_success is None:
            self.order_list.set_empty_message("No orders loaded (see the message above).")
            if self.order_list.cursor_row is None:
                self.detail.show_placeholder("No orders loaded.")

    def _refresh_on_timer(self) -> None:
        # Not "_auto_refresh": Textual's DOMNode keeps an attribute of that name (None), which
        # shadowed this method, so the timer called nothing and the list never refreshed itself.
        if not self.loading:
            self.load_orders()

    def action_refresh(self) -> None:
        if self.loading:
            self.notify("Already loading the orders.", markup=False)
            return
        self.load_orders()

    @on(RefreshRequested)
    def _request_refresh(self, message: RefreshRequested | None = None) -> None:
        """Refresh now, or right after the load in progress (which may predate our change)."""
        if self.loading:
            self.session.refresh_after_load()
        else:
            self.load_orders()

    def _tick(self) -> None:
        if not self.is_running:
            return
        self.load_status.update_age()
        self.order_list.tick()
        self.view_controls.update_bar()

    # ------------------------------------------------------------------ the detail pane (console/ui/detail_controller.py)

    def on_order_list_highlighted(self, message: OrderList.Highlighted) -> None:
        if self.is_running:  # shutting down: the pane's children are going away
            self.detail_controller.highlighted(message.row)
            self.alerts.highlighted(message)

    def _bindings_may_have_changed(self) -> None:
        """Refresh the footer only when `c` becomes enabled or disabled: a refresh re-composes the
        footer, which must not happen on every cursor move."""
        enabled = (self.check_action("complete", ()), self.check_action("copy_url", ()), *self.order_actions.states())
        if enabled != self._complete_enabled:
            self._complete_enabled = enabled
            self.refresh_bindings()

    # ------------------------------------------------------------------ completing

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "complete":
            if self.settings.read_only:
                return None  # shown disabled: this console cannot write
            if self.on_main_screen:
                row = self.order_list.cursor_row
                if row is None and not self.bulk.marks:
                    return None
        if action == "retry_failed" and self.settings.read_only:
            return None
        if action == "stop_waiting":
            return bool(self.bulk.singles.waiting)
        return self.view_controls.check_action(action, parameters)

    # ------------------------------------------------------------------ workers: one place

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if not self.is_running:
            return  # shutting down: the widgets are going away, nothing to show results in
        worker = event.worker
        state = event.state
        if state in (WorkerState.PENDING, WorkerState.RUNNING):
            if worker.group == "orders":
                self.load_status.update_age()
            return
        group = worker.group
        if state == WorkerState.SUCCESS:
            if group == "orders":
                self.session.load_succeeded(worker.result)
            elif group == "detail":
                self.detail_controller.worker_ended(worker, None)
        elif state == WorkerState.ERROR:
            error = worker.error
            assert error is not None
            if group == "orders":
                self.session.load_failed(error)
            elif not (group == "detail" and self.detail_controller.worker_ended(worker, error)):
                self.notify(f"{error_title(error)}: {error_message(error)}", severity="error", markup=False)


    # ------------------------------------------------------------------ other actions

    def get_system_commands(self, screen: Screen):
        """Of Textual's system commands, only the theme: the console's provider already offers
        quit and help (each once, with its key), and Textual's screenshot, maximize and keys
        panel are developer tools with no use on a dispatch desk."""
        from textual.app import SystemCommand

        yield SystemCommand("Theme", "Change the colour theme (this session only)", self.action_change_theme)

    def action_descriptions(self) -> dict[str, str]:
        """Long descriptions per action, for the help screen and the command palette."""
        return help_text.action_descriptions(self)

    def action_help(self) -> None:
        self.push_screen(help_text.help_screen(self))

    def action_zoom(self) -> None:
        self.zoomed = toggle_zoom(self.screen_stack[0], self.zoomed, self.focused,
                                  detail=self.detail, order_list=self.order_list)
