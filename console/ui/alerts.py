"""What changed, in the console: the "3 new red" counter, the jump key, the change feed, row
markers and terminal notifications.

The session compares each complete refresh with the one before (console/session/alerts.py) and
:class:`AlertsController` (subscribed to the session) re-posts its
:class:`~console.session.alerts.ChangesDetected` to the App as a
:class:`~console.ui.messages.ChangesFound` message, whose handler hands it back; :class:`AlertsController` shows it:

- the top bar's :class:`~console.ui.top_bar.NewRedLabel` counts the new reds not acknowledged;
- the order list marks the rows that changed in the last refreshes (``!`` an unacknowledged new
  red, ``~`` any other change: see :meth:`OrderList.set_change_marks`);
- the change feed (:class:`~console.ui.screens.change_feed.ChangeFeedScreen`), when open, is
  brought up to date;
- the refresh's notification (at most one, composed by the session's notifier, sanitized) is
  written to the terminal through the Textual driver (:mod:`console.ui.textual_compat.terminal`).

Acknowledging: ``a`` in the feed acknowledges every new red; highlighting an order in the list
by moving the cursor onto it (a key, ``n``, or ``enter`` in the feed) acknowledges it. The list
moving its cursor by itself after a refresh (it keeps the top row until the supervisor moves)
is not a visit, so a new red that lands under an untouched cursor still counts.

The jump key (``n``) goes to the next unacknowledged new red below the cursor in the list's
order, wrapping to the top; one the filter hides is not jumped to (the filter is the
supervisor's choice, as in k9s, where a filter stays until cleared): the key then says how many
are hidden and which keys clear the filter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.api.vocab import OrderRef
from console.session.alerts import ChangesDetected, ChangeTracker
from console.session.core import Session, SessionEvent
from console.ui.messages import ChangesFound
from console.ui.textual_compat import terminal
from console.ui.top_bar import NewRedLabel

if TYPE_CHECKING:
    from console.ui.app import DispatchApp
    from console.ui.order_list import OrderList
    from console.ui.screens.change_feed import ChangeFeedScreen


#: The view's action that shows every risk level again.
ALL_RISKS = "risk('all')"


class AlertsController:
    """The App's side of the session's change tracking (see the module)."""

    def __init__(self, app: "DispatchApp", session: Session) -> None:
        self.app = app
        self.tracker: ChangeTracker = session.changes
        self.label = NewRedLabel(id="new-red")
        #: Notifications handed to the terminal so far.
        self.notifications_sent = 0
        session.subscribe(self._session_event)

    def _session_event(self, event: SessionEvent) -> None:
        """The session's comparison of a refresh, re-posted to the App as a typed message (it is
        shown once the refresh's rows are)."""
        if isinstance(event, ChangesDetected):
            self.app.post_message(ChangesFound(event))

    # ------------------------------------------------------------------ a refresh's changes

    def changes_found(self, changes: ChangesDetected) -> None:
        if changes.notification:
            # Bytes made by console.notify: sanitized, printable text inside BEL/OSC framing.
            if terminal.write(self.app, changes.notification.decode("utf-8", "replace")):
                self.notifications_sent += 1
        self._show()

    def _show_counter(self) -> None:
        self.label.show_count(self.tracker.new_red_count)

    def _show_marks(self) -> None:
        feed = self.tracker.feed
        unacked = frozenset(e.key for e in feed.unacknowledged())
        self.app.order_list.set_change_marks(feed.recently_changed(), unacked)

    def _show(self) -> None:
        """The tracker's state on screen: the counter, the row marks, an open feed."""
        self._show_counter()
        self._show_marks()
        screen = self._open_feed()
        if screen is not None:
            screen.update_feed()

    # ------------------------------------------------------------------ acknowledging

    def highlighted(self, message: "OrderList.Highlighted") -> None:
        """The list's highlight moved: a visit when the supervisor moved it (a key, ``n``, the
        feed's ``enter``), not when a refresh or a filter did."""
        if message.by_user:
            self.visited(message.ref)

    def visited(self, ref: OrderRef | None) -> None:
        """The supervisor highlighted ``ref`` in the list (their cursor move, not the list's)."""
        if ref is not None and self.tracker.acknowledge(ref):
            self._show()

    def acknowledge_all(self) -> None:
        count = self.tracker.acknowledge_all()
        self._show()
        self.app.notify(f"Acknowledged {count:,} new red." if count else "No new red to acknowledge.",
                        markup=False)

    # ------------------------------------------------------------------ the jump key

    def jump_to_next_new_red(self) -> None:
        """The next unacknowledged new red below the cursor (wrapping to the top)."""
        app = self.app
        if not app.on_main_screen:
            return  # a dialog (the feed, the help) is open: the list behind it is not moved
        order_list = app.order_list
        table = order_list.table
        waiting = self.tracker.feed.unacknowledged()
        if not waiting:
            app.notify("No new red order to go to: every order that turned red was looked at.",
                       markup=False)
            return
        # A cursor the supervisor never moved sits on the top row by the list's doing: the jump
        # starts from above it, so the top row is the first candidate.
        moved = order_list.cursor_row is not None and order_list.cursor_moved
        cursor = order_list.cursor_index if moved else -1
        shown: list[tuple[int, OrderRef]] = []
        hidden = 0
        for event in waiting:
            if table.get(event.ref) is None:
                continue  # it left the list; the refresh that shows it gone drops it from the feed's count
            index = table.index_of(event.ref)
            if index is None:
                hidden += 1
            else:
                shown.append((index, event.ref))
        if not shown:
            if hidden:
                app.notify(self._hidden_message(hidden), severity="warning", markup=False)
            else:
                app.notify("The new red orders have left the open list.", markup=False)
            return
        shown.sort(key=lambda pair: pair[0])
        below = [pair for pair in shown if pair[0] > cursor]
        index, ref = below[0] if below else shown[0]
        here = moved and index == cursor  # it turned red under the cursor: looked at now
        wrapped = not below and moved and not here
        self._go(index, ref)
        left = self.tracker.new_red_count
        note = f"{ref.describe()}: new red"
        if here:
            note += " (the highlighted order)"
        elif wrapped:
            note += " (from the top)"
        if left:
            note += f"; {left:,} more ({self._key('next_new_red', 'n')} goes on)"
        if hidden:
            note += f"; {hidden:,} hidden by the filter"
        app.notify(note + ".", markup=False)

    def _hidden_message(self, hidden: int) -> str:
        verb = "is" if hidden == 1 else "are"
        return f"{hidden:,} new red {verb} hidden by the list's filter: {self._clearing()}."

    def _clearing(self) -> str:
        """How to clear the list's filter, with the keys as the keymap left them."""
        return (f"{self._key(ALL_RISKS, '0')} shows every risk, {self._key('filter', '/')} then escape "
                f"clears the text, {self._key('pick_status', 's')} the status")

    def _go(self, index: int, ref: OrderRef) -> None:
        """Highlight the row at ``index`` (``ref``'s): a visit, so it is acknowledged."""
        order_list = self.app.order_list
        order_list.move_cursor(index)
        order_list.focus()
        self.visited(ref)

    def go_to(self, ref: OrderRef) -> None:
        """Highlight ``ref`` in the list (``enter`` in the feed), or say why it cannot be."""
        app = self.app
        table = app.order_list.table
        name = ref.describe()
        if table.get(ref) is None:
            app.notify(f"{name} is no longer in the open list.", markup=False)
            return
        index = table.index_of(ref)
        if index is None:
            app.notify(f"{name} is hidden by the list's filter: {self._clearing()}.", severity="warning",
                       markup=False)
            return
        self._go(index, ref)

    # ------------------------------------------------------------------ the feed

    def open_feed(self) -> None:
        from console.ui.screens.change_feed import ChangeFeedScreen

        if self._open_feed() is not None:
            return
        settings = self.app.settings

        def closed(ref: OrderRef | None) -> None:
            if ref is not None:
                self.go_to(ref)

        self.app.push_screen(ChangeFeedScreen(self.tracker.feed, ascii=settings.ascii,
                                              empty_message=self.empty_message()), closed)

    def empty_message(self) -> str:
        settings = self.app.settings
        first = "" if self.tracker.compared else " The first load only sets the baseline."
        return (
            "No changes yet. This lists, newest first, what changes from one refresh to the next "
            f"(every {settings.refresh_seconds:g} s): a risk rising or falling, the worst risk "
            f"turning red, an order becoming LATE, an ETA slipping by {settings.eta_slip_minutes:g} "
            "minutes or more, a status change, a reassignment, an order arriving in or leaving "
            "the open list (completed or cancelled, by this console or elsewhere). It keeps the "
            f"last {self.tracker.feed_size:,} changes, whatever the list's filter shows.{first}"
        )

    def _open_feed(self) -> "ChangeFeedScreen | None":
        from console.ui.screens.change_feed import ChangeFeedScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, ChangeFeedScreen):
                return screen
        return None

    # ------------------------------------------------------------------ keys, help

    def _key(self, action: str, default: str) -> str:
        return self.app.view_controls.key(action) or default

    def help_descriptions(self) -> dict[str, str]:
        return {
            "next_new_red": "go to the next order that newly turned red (acknowledges it)",
            "change_feed": "the change feed: what changed at each refresh, newest first",
        }

    def help_contexts(self) -> list[tuple[str, list[tuple[str, str]]]]:
        from console.ui.screens.change_feed import ChangeFeedScreen
        from console.ui.screens.help import describe_bindings

        # The feed's own bindings, as the keymap left them (the screen is only built, not shown).
        words = {"red_only(True)": "changes to red only", "red_only(False)": "every change",
                 "acknowledge_all": "acknowledge every new red", "close": "close"}
        return [("Change feed", [
            ("j, k, g, G", "move"),
            ("enter", "go to the order (highlights it in the list: acknowledged)"),
            *describe_bindings(ChangeFeedScreen(self.tracker.feed), descriptions=words),
        ])]

    def help_notes(self) -> list[str]:
        changed = "~"
        return [
            f"'N new red' (top bar): orders that turned red since you looked. In the list, '!' "
            f"before the order: a new red not looked at yet; '{changed}': the order changed in the "
            "last 3 refreshes. Highlighting the order acknowledges it."
        ]
