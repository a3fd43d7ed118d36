"""The console's start-up sequence: one moment, "first rows shown", that everything deferred
at start-up waits on. No Textual here.

Building the footer's keys, turning the garbage collector back on, freezing the heap and
fetching the highlighted order's detail each cost CPU (10-100 ms here) that the first frame of
rows would otherwise wait behind. So none of them happens before the first rows are on screen;
each happens right after. The sequence, for the first load of a session:

1. the App mounts; the session's first load starts (:meth:`StartUp.load_started` arms the
   grace timer);
2. the first page's rows join the table and the list draws them (``PageShown``);
3. the session waits for the frame that paints them (``Session.load``'s ``frame``);
4. **the moment** (:meth:`StartUp.first_rows_shown`): the waiters run once, in the order they
   registered, then the session emits ``FirstRowsShown``;
5. the load goes on with the next pages.

Who waits on it, in the order they register and run (:meth:`StartUp.when_first_rows_shown`):

- the heap policy (console/gc_policy.py, ``HeapPolicy.first_rows_shown``): no collection and
  freeze of a loaded page before the moment (the first one would walk what Textual built at
  start-up, before the rows are painted); every page loaded after it is frozen;
- the detail pane (console/ui/detail_controller.py, ``DetailController.first_rows_shown``):
  nothing is fetched or drawn for the highlighted order before the moment; at the moment the
  cursor's order is shown (after the usual debounce);
- the command line's collector pause (console/cli.py, ``StartUpPause.done``): start-up frozen,
  the collector back on;
- the footer's keys (console/ui/footer.py, released by the App's ``on_mount``,
  console/ui/app.py).

The moment comes once per session, at the first of:

- the frame that paints the first page's rows (the normal case);
- the end of the first load without rows: it succeeded with no open orders, or it failed (an
  error, a cancel) before any row came; the footer must never stay hidden behind a failure;
- :attr:`StartUp.GRACE` seconds after the first load started, with no page yet (a slow or
  unreachable server): what waits on the moment must not wait on the network, and a supervisor
  is never long without the footer's keys. Rows that come later are shown as usual; the pane
  then shows the first order highlighted, and the heap policy freezes from their page on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class StartUp:
    """The first-rows moment: its waiters, its fallbacks. ``Session.start_up``."""

    #: Seconds after the first load started at which the moment comes if no row has come yet.
    #: The footer's keys are built then at the latest (0.3 s: as long as a supervisor can be
    #: left without them unnoticed; the keys work all along, only their labels wait).
    GRACE = 0.3

    def __init__(self) -> None:
        self._waiters: list[Callable[[], None]] = []
        self._done = False
        self._grace: asyncio.TimerHandle | None = None
        #: Called right after the waiters, once (the session emits its event there).
        self.on_moment: Callable[[], None] | None = None

    @property
    def done(self) -> bool:
        """Whether the moment has passed."""
        return self._done

    def when_first_rows_shown(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once, at the moment (at once if it has passed)."""
        if self._done:
            callback()
        else:
            self._waiters.append(callback)

    def load_started(self) -> None:
        """The first load started: the grace timer runs from now (on the running loop; without
        one, a unit test, there is no grace and the load's end is the fallback)."""
        if self._done or self._grace is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._grace = loop.call_later(self.GRACE, self.first_rows_shown)

    def load_ended(self) -> None:
        """A load ended (rows or none, success or failure): the moment, if it has not come."""
        self.first_rows_shown()

    def first_rows_shown(self) -> None:
        """The moment; a no-op after the first call."""
        if self._done:
            return
        self._done = True
        self.cancel()
        waiters, self._waiters = self._waiters, []
        for callback in waiters:
            callback()
        if self.on_moment is not None:
            self.on_moment()

    def cancel(self) -> None:
        """Drop the grace timer (the session closes, or the moment came)."""
        if self._grace is not None:
            self._grace.cancel()
            self._grace = None
