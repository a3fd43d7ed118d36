"""The journal's writer thread: the event loop hands it journal calls and awaits them.

Why one thread, and why batches: a bulk run makes two journal writes per order (the intent
before the POST, the outcome after it), each durable (``synchronous=FULL``: an fsync) before the
engine goes on. Handing each write to a pool thread cost a thread hand-off each way, nine threads
contending for the GIL and the journal's lock, and one transaction per write: about a third of
the engine's CPU per order (measured, 1,000 orders at concurrency 8). Here one thread takes
*everything queued* while its previous commit ran and makes it durable in ONE transaction
(:meth:`Journal.group`), then wakes the event loop once for the whole batch.

Guarantees, unchanged from calling the journal directly:

- a call's future resolves only after its write is durable; if the batch's commit fails, every
  call of the batch fails with :class:`~console.bulk.journal.JournalWriteError` (none of its
  writes happened), whatever each call returned inside the transaction;
- calls run in the order they were submitted (one thread, FIFO), so a write submitted before
  another is durable no later than it;
- a failing call (an exception inside it) fails only itself: each runs in its own savepoint.

Only for use from one event loop. The journal's own methods stay usable from any thread.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from typing import Any

from console.bulk.journal import Journal, JournalError, JournalWriteError

log = logging.getLogger(__name__)

_STOP = object()


class _Call:
    __slots__ = ("fn", "args", "kwargs", "future", "result", "error")

    def __init__(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
                 future: asyncio.Future[Any]) -> None:
        self.fn = fn
        self.args = args
        self.kwargs = kwargs
        self.future = future
        self.result: Any = None
        self.error: BaseException | None = None


class JournalWriter:
    """One thread that runs journal calls for an event loop, many per transaction."""

    def __init__(self, journal: Journal, *, name: str = "bulk-journal") -> None:
        self.journal = journal
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = threading.Thread(target=self._serve, name=name, daemon=False)
        self._started = False
        self._closed = False
        self.batches = 0  # commits made (for tests and measurements)

    def start(self) -> "JournalWriter":
        self._loop = asyncio.get_running_loop()
        self._thread.start()
        self._started = True
        return self

    def close(self) -> None:
        """No new calls. Calls already queued are still made (a write may be on its way to the
        disk); the thread ends after them. Does not wait."""
        if self._started and not self._closed:
            self._closed = True
            self._queue.put(_STOP)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> asyncio.Future[Any]:
        """Queue ``fn(*args, **kwargs)`` for the writer thread; the future has its result once
        the batch it joined is committed (or the error)."""
        if not self._started or self._closed or self._loop is None:
            raise RuntimeError("the journal writer is not running")
        future = self._loop.create_future()
        self._queue.put(_Call(fn, args, kwargs, future))
        return future

    async def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await self.submit(fn, *args, **kwargs)

    # ------------------------------------------------------------------ the thread

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            batch: list[_Call] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                else:
                    batch.append(item)
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if batch:
                self._run_batch(batch)

    def _run_batch(self, batch: list[_Call]) -> None:
        try:
            with self.journal.group():
                for call in batch:
                    try:
                        call.result = call.fn(*call.args, **call.kwargs)
                    except Exception as exc:
                        call.error = exc
        except JournalError as exc:
            # Nothing of the batch is durable: every call fails, even one that returned.
            for call in batch:
                call.result = None
                if call.error is None:
                    call.error = JournalWriteError(str(exc))
        except BaseException as exc:  # a bug: still answer every caller
            log.exception("the journal writer failed")
            for call in batch:
                call.result, call.error = None, call.error or JournalError(f"the journal writer failed: {exc!r}")
        self.batches += 1
        loop = self._loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(_resolve, batch)
        except RuntimeError:  # the loop is closed: nobody is waiting any more
            pass


def _resolve(batch: list[_Call]) -> None:
    """On the event loop: hand every call of a committed batch its outcome, in order."""
    for call in batch:
        if call.future.done():  # cancelled: the caller went away (the write happened anyway)
            continue
        if call.error is not None:
            call.future.set_exception(call.error)
        else:
            call.future.set_result(call.result)
