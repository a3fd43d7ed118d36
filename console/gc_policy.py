"""How the console steers Python's cyclic garbage collector: the whole policy, in one place.

Why there is a policy at all: a full collection walks every tracked object of the process. Once
Textual's app, tens of thousands of orders or a bulk run's httpx objects are alive, that is a
60-200 ms stall of the event loop on this project's 2-core machine (measured; see the classes
below). Reference counting frees nearly everything the console makes; the collector is only
needed for reference cycles, so the policy keeps it from rescanning what lives long.

The tools, and the only places that use them:

- :func:`paused`: no collection while a burst of long-lived or short-lived-but-acyclic objects
  is made. Used by the list page reader (console/api/summaries.py, a page's parse) and the
  sandbox's fleet building (console/sandbox/fleet.py).
- :func:`freeze_survivors`: collect the young generations, then move everything alive into the
  permanent generation that collections skip. Used by the bulk engine when a run starts
  (console/bulk/engine.py) and by :class:`HeapPolicy` on the first load.
- :func:`freeze_all`: freeze what is alive now, with no collection (all of it is known to live:
  the sandbox process's fleet, console/sandbox/serve_socket.py).
- :class:`StartUpPause`: the console process's start-up (console/cli.py).
- :class:`HeapPolicy`: the console's thresholds and freezes while its order list loads and
  refreshes (console/session/core.py, which loads them).

The switch :data:`ENABLED` governs what outlives a call (freezes and thresholds: the engine's
freeze at a run's start and :class:`HeapPolicy`); the test suite turns it off (tests/conftest.py),
so that its Pilot tests do not freeze the test process's heap, and the tests of the policy turn
it back on. :func:`paused` is not switched: it leaves the collector as it found it.

No Textual here.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Whether freezes and raised thresholds happen in this process (see the module docstring).
ENABLED = True


@contextmanager
def paused() -> Iterator[None]:
    """No cyclic collection inside the block (reference counting goes on); the collector is left
    as it was found (a caller already paused keeps its pause)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def freeze_survivors() -> None:
    """Collect the young generations, then freeze everything still alive.

    After ``gc.freeze()`` the objects alive at that instant sit in a permanent generation that
    collections skip; later collections walk only what is new. Objects frozen and freed later are
    still freed by reference counting; only cyclic garbage-to-be alive at that instant is never
    collected, which is why the young generations (where fresh garbage is) are collected first:
    a few milliseconds, not the ~100 ms of a full collection."""
    gc.collect(1)
    gc.freeze()


def freeze_all() -> None:
    """Freeze what is alive now, without collecting first: for a caller that has just built
    only long-lived objects (with :func:`paused`), where a collection would find nothing."""
    gc.freeze()


class StartUpPause:
    """No cyclic garbage collection while the console starts; what start-up built is frozen.

    Importing Textual, httpx, pydantic and the console and building the app allocate ~100,000
    long-lived objects, and the collector rescanned them again and again as they piled up: 170
    collections, 100-230 ms of CPU before the first rows were on screen (measured with
    ``gc.callbacks``). Paused, then ``gc.freeze()`` (the objects move to the permanent generation,
    which later collections skip), the same start-up runs no collection at all. The pause lasts
    until the first rows are on screen (the session's first-rows moment,
    console/session/startup.py): Textual's own
    start-up (the screen, its widgets and styles, the first frames) ran ~40 young collections
    after the app started, 10-25 ms of CPU before the first rows (measured); what it built is
    frozen too when the collector comes back on, so the first collection after the pause does
    not walk all of it. ``HeapPolicy`` (below) freezes again as the list loads, on
    the same reasoning. Fleet building pauses it the same way.

    The price: cyclic garbage made during start-up is never freed: ~2,500 objects here (what a
    full collection at the first rows finds; ~600 of them if the collector ran during Textual's
    start-up), against collections that would find them. Reference counting frees everything
    else as usual.

    Only for the process's own start-up (``main()`` reading ``sys.argv``: the console script,
    ``python -m console``): a program or a test calling ``main(argv)`` keeps its collector as
    it is.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.paused = enabled and gc.isenabled()
        if self.paused:
            gc.disable()

    def freeze(self) -> None:
        """Freeze what start-up built so far; the collector stays paused until :meth:`done`.
        (The console's heap policy then finds start-up frozen and does not collect it.)"""
        if self.paused:
            gc.freeze()

    def done(self) -> None:
        """Freeze what start-up built, collect again (idempotent): before a subcommand runs,
        once the console's first rows are on screen, and when ``main()`` returns."""
        if self.paused:
            self.paused = False
            gc.freeze()
            gc.enable()


# ----------------------------------------------------------------------------- the console's list

class HeapPolicy:
    """When the console's collections and freezes happen, so that the collector never freezes the UI.

    Measured here (2 shared cores): a full (generation 2) collection walks every tracked object and
    stalls the event loop for ~100 ms with Textual's own objects alone, and for seconds once tens of
    thousands of orders are loaded; Python runs one whenever enough objects have survived since the
    last. ``gc.freeze()`` moves the objects alive now into a permanent generation that collections
    skip, so later collections only walk what is new. Objects freed later are still freed at once by
    reference counting (rows hold no reference cycles).

    The price of a freeze: cyclic garbage-to-be that is alive at that instant is never collected.
    Textual's render caches are such garbage-to-be (strips evicted later are cyclic): measured, each
    freeze after a refresh kept ~800 more objects for good, which over a shift of refreshes every
    30 s would add up to tens of MB. So freezes happen while the table grows, not per refresh:

    - after every page of the first load loaded once the first rows are on screen (the
      start-up moment, console/session/startup.py: before it, the rows paint first), after a full
      collection that then walks only what is new since the previous freeze: that page's rows and
      whatever the screen made meanwhile, a few milliseconds. (Freezing once every 25 pages
      instead walked 25,000 rows at a time: 100-300 ms stalls mid-load, measured.) The list client drops each page's
      (cyclic) response before handing the page over, so it is garbage, not frozen;
    - after a refresh only if it added many rows. A refresh otherwise ends with a collection of the
      young generations only (see :meth:`HeapPolicy.load_finished`).

    A 50k-order first load thus freezes about 50 times, keeping no more garbage than three
    freezes of the whole table would (measured); an idle shift of refreshes freezes never.

    What a full collection walks, then, whenever Python runs one, is what is not frozen: Textual's
    render caches (strips, each with seven small caches of its own: 10-100k objects, 15-200 ms
    here, depending on how many strips the widgets' caches keep) and the garbage they shed since
    the previous full collection. Nothing long-lived and large may be made anew: the order table
    keeps its 50k-entry lists as the same objects, refilled, so they stay frozen
    (console/session/table.py); two new ones per refresh doubled a collection (measured).
    """

    #: A refresh that grew the table by this many rows freezes them.
    rows_per_freeze = 2_500

    #: The oldest generation's threshold while a load runs: in effect, no full collection.
    LOADING_THRESHOLD = 1_000_000
    #: The middle generation's: collected once per this many young collections while a load
    #: runs (Python: every 10), so that pages in flight do not reach the oldest generation. A
    #: 50k-order refresh runs ~50 young collections here; a much slower one still gets some.
    LOADING_MIDDLE_THRESHOLD = 100
    #: Seconds after a load ends before its put-off collection runs.
    SETTLE_DELAY = 0.05

    def __init__(self, enabled: bool | None = None) -> None:
        #: None: as the process's switch (:data:`ENABLED`) says at construction.
        self.enabled = ENABLED if enabled is None else enabled
        self.freezes = 0
        self._collected = False
        #: Whether the start-up moment has passed (the session tells: :meth:`first_rows_shown`).
        self._first_rows_shown = False
        self._rows_at_freeze = 0
        self._thresholds: tuple[int, int, int] | None = None
        self._start_up_checked = False
        self._settle: asyncio.TimerHandle | None = None

    def load_started(self) -> None:
        """Before a load or refresh: no automatic full collection, and hardly any of the middle
        generation, until :meth:`load_finished` (or :meth:`load_failed`).

        Each page's parsed orders live long enough to reach the oldest generation, so Python ran
        a full collection on nearly every page of 1,000 orders, most of them in the thread that
        parses pages, holding the GIL all along: a 50k-order refresh stalled the event loop a
        dozen times for 40-80 ms (measured on an idle machine; 40-240 ms on a busy one). The
        youngest generation is collected as usual. The middle one is left alone too: each of
        its collections moved the pages in flight into the oldest generation, and Python counts
        such moves to decide when a full collection is due: after every refresh one was, at
        once (see :meth:`load_finished`).
        """
        if not self.enabled:
            return
        if self._settle is not None:
            # The previous load's put-off collection has not run yet: it runs after this one.
            self._settle.cancel()
            self._settle = None
        if self._thresholds is not None:
            return
        if not self._start_up_checked and gc.get_freeze_count() == 0:
            # The first load: what start-up built (Textual's app, screens, styles; ~60k objects)
            # is frozen first (:func:`freeze_survivors`), so that the page-2 collection walks the
            # first page's objects rather than all of start-up (84 ms, measured in the
            # fleet-scale benchmark). The command line already froze start-up before the app
            # runs (console/cli.py), with the collector paused meanwhile, and then nothing is
            # left to freeze here (a young collection would walk all of start-up: +150 ms to the
            # first rows, measured); this covers an app started any other way.
            freeze_survivors()
        # Asked once: gc.get_freeze_count() walks the whole permanent generation, one linked
        # object at a time. With 50k orders frozen that took 44-49 ms, at the start of every
        # refresh (measured), for an answer that cannot change back once anything is frozen.
        self._start_up_checked = True
        self._thresholds = gc.get_threshold()
        young, middle, _ = self._thresholds
        gc.set_threshold(young, max(middle, self.LOADING_MIDDLE_THRESHOLD), self.LOADING_THRESHOLD)

    def load_failed(self) -> None:
        """The load stopped (an error, a cancel): the collector is set back as it was."""
        self.close()

    def close(self) -> None:
        """The app is going (or the load stopped): the collector is set back as it was, nothing left pending
        (a settle that never ran would leave the raised threshold to the rest of the process)."""
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None
        self._restore()

    def _restore(self) -> None:
        if self._thresholds is not None:
            gc.set_threshold(*self._thresholds)
            self._thresholds = None

    def first_rows_shown(self) -> None:
        """The start-up moment (console/session/startup.py): pages loaded from now on are frozen."""
        self._first_rows_shown = True

    def page_loaded(self, rows: int) -> None:
        """After each page of the first load, with the table's row count."""
        if not self.enabled or not self._first_rows_shown:
            # Nothing before the first rows are on screen: the first collection walks what
            # Textual built at start-up and not frozen yet (~100 ms), which the first frame
            # of rows must not wait behind.
            return
        self._freeze(rows)

    def load_finished(self, rows: int) -> None:
        """After a load or refresh has been merged.

        :attr:`SETTLE_DELAY` s later, on a loop turn of its own (not in the same stretch as the
        merge and the redraw that just ran): a collection of the young generations, which holds
        what the load left (its pages are gone by then; a few thousand objects, a few ms), or a
        full collection and a freeze if the table grew; then the thresholds come back.

        No full collection for a refresh: the oldest generation holds what it held before the
        load, plus what the load keeps, and Python's own count decides when it is walked next,
        as if no load had run. A full collection after every refresh walked everything not
        frozen, Textual's render caches above all, and their garbage: 40-66 ms of one stall at
        first, growing with the caches over a session (over 200 ms after 20 refreshes with the
        cursor moving between them, measured); it was the refresh's longest stall. Restoring
        the thresholds before that collection let Python start one of its own in the next step.
        """
        if not self.enabled:
            return

        def settle() -> None:
            self._settle = None
            if rows - self._rows_at_freeze >= self.rows_per_freeze:
                self._freeze(rows)
            elif self._thresholds is not None:
                gc.collect(1)
            self._restore()

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not on an event loop (a unit test): now
            settle()
            return
        if self._settle is not None:
            self._settle.cancel()
        self._settle = loop.call_later(self.SETTLE_DELAY, settle)

    def _freeze(self, rows: int) -> None:
        # Collect first: frozen garbage is never freed. Only what is not frozen yet is walked.
        self._collected = True
        gc.collect()
        gc.freeze()
        self.freezes += 1
        self._rows_at_freeze = rows
