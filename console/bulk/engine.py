"""The action pipeline: every write to an order, one at a time or a thousand, goes through here.

The pipeline, for each order: plan -> intent committed -> send -> classify -> settle by
read-back -> outcome committed. A single ``c`` in the console is a run of one; bulk runs, ``R``
and the headless commands are runs of many; all of them are this code. What is sent is an
:class:`~console.bulk.actions.Action` (complete, cancel, disable, enable, reassign, reschedule):
its request, its parameters, its expected end state and its read-back.

No action has an idempotency key, so the engine is the careful party:

- Every request is preceded by a durable (fsynced) INTENT in the journal and followed by its
  OUTCOME, committed before the result is reported. If the intent cannot be written, nothing is
  sent and the run stops (fail closed). An outcome is not fsynced by itself: it rides in the
  commit of its worker's next intent (one journal wait per order), or is committed alone and
  synced at the end of the run; one lost to a power cut leaves its intent, settled by read-back.
- Only what provably never arrived is retried on its own: :class:`RequestNotSent` (not a
  certificate failure) with capped, fully-jittered backoff, and 429 after its ``Retry-After``.
  A 429 pauses the WHOLE run: no request of the run starts until the pause ends. All automatic
  retries draw on one budget per run; when it is spent the run stops (the circuit opens).
- Every outcome that may have been applied (timeout or dropped connection after sending, 5xx,
  a 2xx that does not show the end state, an unexpected status) is settled by reading the
  order's leg back (``OrdersClient.get_leg``: never another leg of the same handle) before
  anything is sent again. :meth:`Action.judge` alone says what the read-back means: applied ->
  ``completed_reconciled``; ended otherwise (cancelled) -> ``conflict``; not applied -> sent again
  (an attempt, journaled), but only once the SETTLE WINDOW has passed; the read fails ->
  ``in_doubt``, shown to the operator, never guessed.
- The settle window: a request may still be in flight for a while after it was sent (our
  client gave up; the server has not finished). A read-back inside that window that shows "not
  applied" concludes nothing: the engine waits out the window (a ``waiting`` event with the
  seconds left; ``stop()`` ends the wait and leaves the order in doubt), then reads again. This
  holds for in-run retries and for what earlier runs left, whose age comes from the journal.
- 409 -> a read-back decides ``already_completed`` or ``conflict``. 401/403 stop the run:
  requests in flight finish, the rest end ``not_sent``.
- Before a run, intents of an earlier run that was interrupted (the process died) or that
  finished in doubt are settled by read-back and reported first
  (:meth:`BulkEngine.settle_pending`), so nothing applied is sent again.

No Textual here. A UI drives the engine through :meth:`BulkEngine.run` (with an ``on_event``
callback for progress), :meth:`BulkEngine.stop` and the :class:`RunReport` it returns. Journal
writes run on worker threads (and share fsyncs through the journal's group commit), so a slow
disk never stalls the event loop.

Driving it from a UI (run it in a worker that belongs to the App, so it outlives its screen)::

    from console.bulk.engine import BulkEngine
    from console.bulk.journal import Journal, JournalError   # JournalLocked: another run holds it

    with Journal() as journal:                 # open per bulk action: the lock is exclusive
        engine = BulkEngine(client, journal, concurrency=4)
        report = await engine.run(frozen_refs, on_event=post_to_ui)   # settles earlier runs first
    # meanwhile, from a key binding: engine.stop()   (in-flight finish and are recorded)

``on_event`` is called on the event loop with a :class:`~console.bulk.results.BulkEvent`
(``kind`` = settling / settled / started / sent / waiting / result / paused / resumed /
stopping / finished), each carrying a :class:`~console.bulk.results.Progress` snapshot (finished, succeeded,
failed, in_doubt, rate, eta, paused). It must return quickly; an exception in it is logged and
ignored. ``report.results`` has one :class:`~console.bulk.results.OrderResult` per distinct ref
(input order), ``report.settled`` the orders of interrupted earlier runs, and
``report.retryable`` the refs a "retry the failed ones" key should send again.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar

from console.api import errors
from console.api.client import DEFAULT_ATTEMPT_TIMEOUT, OrdersClient, OrderSummary
from console.api.handles import validate_handle
from console.api.models import Order, OrderRef
from console.api.retry import Backoff
from console.api.sanitize import sanitize
from console.bulk import journal as journaling
from console.bulk import actions as actions_module
from console.bulk.actions import COMPLETE, Action, Verdict
from console.bulk.results import (
    INTERRUPTED,
    LEFT_IN_DOUBT,
    BulkEvent,
    OrderFinished,
    OrderResult,
    PendingSettled,
    Progress,
    RequestSent,
    ResultStatus,
    RunFinished,
    RunPaused,
    RunReport,
    RunResumed,
    RunStarted,
    RunStopping,
    SettleWaiting,
    SettlingStarted,
    StopReason,
)
from console import gc_policy

log = logging.getLogger(__name__)

MIN_CONCURRENCY = 1
MAX_CONCURRENCY = 16
DEFAULT_CONCURRENCY = 4
#: Per order: how many times a request that never arrived is tried before ``failed_not_sent``.
DEFAULT_BACKOFF = Backoff(base=0.5, cap=20.0, max_attempts=4)
#: Added to the client's per-attempt deadline to make the default settle window: time for a
#: request our client gave up on to finish behind a gateway, or a server that is slow to apply.
SETTLE_MARGIN = 15.0

EventCallback = Callable[[BulkEvent], None]
Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")

#: The journal's state of each result (the journal's names are the same for every action).
JOURNAL_STATE = {
    ResultStatus.COMPLETED: journaling.APPLIED,
    ResultStatus.COMPLETED_RECONCILED: journaling.APPLIED_RECONCILED,
    ResultStatus.ALREADY_COMPLETED: journaling.ALREADY_APPLIED,
    ResultStatus.NOT_FOUND: journaling.NOT_FOUND,
    ResultStatus.REJECTED: journaling.REJECTED,
    ResultStatus.CONFLICT: journaling.CONFLICT,
    ResultStatus.FAILED_NOT_SENT: journaling.FAILED_NOT_SENT,
    ResultStatus.AUTH_FAILED: journaling.AUTH_FAILED,
    ResultStatus.IN_DOUBT: journaling.IN_DOUBT,
    ResultStatus.NOT_APPLIED: journaling.NOT_APPLIED,
    ResultStatus.STOPPED: journaling.STOPPED,
    ResultStatus.NOT_SENT: journaling.NOT_SENT,
}


def _same_action(op: journaling.OpRecord, action: Action) -> bool:
    """True when ``op`` was recorded for exactly ``action`` (name and parameters)."""
    return op.action == action.name and op.params == action.params_json()


def _rounds(ops: Sequence[journaling.OpRecord], held: set[OrderRef],
            ) -> list[dict[OrderRef, tuple[Action, str]]]:
    """``ops`` (oldest first) as rounds: round k holds each order's k-th op, with its action
    rebuilt from the journal and its op id. An op whose action this version cannot rebuild is
    not sent, and neither is any later op of its order; nor is any op of a ``held`` order."""
    rounds: list[dict[OrderRef, tuple[Action, str]]] = []
    depth: dict[OrderRef, int] = {}
    blocked = set(held)
    for op in ops:
        if op.ref in blocked:
            continue
        try:
            action = actions_module.from_journal(op.action, op.params)
        except ValueError as exc:
            log.warning("not resuming op %s: %s", op.op_id, exc)
            blocked.add(op.ref)
            continue
        k = depth.get(op.ref, 0)
        depth[op.ref] = k + 1
        if k == len(rounds):
            rounds.append({})
        rounds[k][op.ref] = (action, op.op_id)
    return rounds


def dedupe(refs: Sequence[OrderRef]) -> tuple[list[OrderRef], list[OrderRef]]:
    """Distinct refs in first-seen order, and the repeats that were dropped."""
    seen: set[OrderRef] = set()
    unique: list[OrderRef] = []
    repeats: list[OrderRef] = []
    for ref in refs:
        if ref in seen:
            repeats.append(ref)
        else:
            seen.add(ref)
            unique.append(ref)
    return unique, repeats


@dataclass
class _Item:
    """One order's progress through the run."""

    ref: OrderRef
    op_id: str
    #: What is sent to this order and how its state is judged: the run's action, or, for what an
    #: earlier run left, the action (and parameters) its journal op was recorded with.
    action: Action = COMPLETE
    #: POSTs sent in this run.
    sends: int = 0
    #: A POST of this run may have been applied without our knowing (its answer was lost).
    had_doubt: bool = False
    anomaly: str = ""
    #: The journal says an earlier run completed this identity: check by GET before sending.
    precheck: bool = False
    result: OrderResult | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    #: Taken by a worker: its final outcome may wait to ride with the worker's next intent.
    in_worker: bool = False
    #: This order's final outcome, prepared but not committed yet (see BulkEngine._worker).
    deferred: journaling.Write | None = None
    #: The worker's previous order, whose outcome is committed with this order's first write.
    carry: "_Item | None" = None
    #: Engine-clock time until which a request of this order may still be in flight (its last
    #: send plus the settle window). Before it, a read-back showing "not applied" proves nothing.
    window_ends: float | None = None


@dataclass
class _Look:
    """A read-back judged by the action: ``verdict``, or ``error`` when the read failed, or
    neither when the order looked not applied but its settle window could not be waited out."""

    verdict: Verdict | None = None
    order: Any = None
    error: errors.HyperTrackError | None = None

    @property
    def undecided(self) -> bool:
        return self.verdict is None and self.error is None


class _Settled(Exception):
    """Raised inside an item's flow to finish it with ``result`` (keeps the flow flat)."""

    def __init__(self, result: OrderResult) -> None:
        self.result = result


class BulkEngine:
    """Completes many orders safely. One run at a time per engine.

    Parameters are injectable for tests: ``sleep`` and ``clock`` must agree (the defaults are
    ``asyncio.sleep`` and ``time.monotonic``), ``rng`` drives the jitter.

    ``retry_budget``: automatic retries (re-sends after a connect failure or a 429, and re-sends
    after a reconciling GET) allowed in one run; ``None`` means ``10 + 10%`` of the orders. When
    it is spent the run stops with :attr:`StopReason.RETRY_BUDGET`.

    ``freeze_heap``: at the start of a run, move the objects alive then out of the garbage
    collector's way (``gc.freeze()``, after collecting the young generations), see
    :meth:`_keep_heap_out_of_collections`.

    ``unreachable_after``: that many requests in a row (across orders) that never reached the
    server open the circuit: the network is down, so the run stops
    (:attr:`StopReason.UNREACHABLE`) rather than burning through every order's retries.

    ``action``: what is sent (:mod:`console.bulk.actions`); complete by default.

    ``settle_window``: seconds after a send during which the request may still be in flight
    (our client gave up, the server had not finished). A read-back inside the window that
    shows the action not applied concludes nothing: the engine waits for the window to pass
    (a :class:`SettleWaiting` event; ``stop()`` cuts the wait short and leaves the order in
    doubt) and reads again. It holds for in-run retries and for intents an earlier run left
    (their age is taken from the journal's intent time, on ``wall_clock``). ``None``: the
    client's per-attempt deadline plus :data:`SETTLE_MARGIN` (60 s by default).
    """

    def __init__(
        self,
        client: OrdersClient,
        journal: journaling.Journal,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry_budget: int | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        settle_delay: float = 2.0,
        max_settle_wait: float = 30.0,
        min_pause: float = 1.0,
        max_retry_after: float = 300.0,
        max_sends: int = 3,
        unreachable_after: int = 8,
        freeze_heap: bool | None = None,
        action: Action = COMPLETE,
        settle_window: float | None = None,
        wall_clock: Callable[[], datetime] = journaling.utc_now,
    ) -> None:
        if isinstance(concurrency, bool) or not isinstance(concurrency, int) or not (
            MIN_CONCURRENCY <= concurrency <= MAX_CONCURRENCY
        ):
            raise ValueError(f"concurrency must be a whole number from {MIN_CONCURRENCY} to {MAX_CONCURRENCY}")
        if retry_budget is not None and retry_budget < 0:
            raise ValueError("retry_budget must be >= 0")
        if max_sends < 1:
            raise ValueError("max_sends must be >= 1")
        if settle_window is None:
            timeout = getattr(client, "attempt_timeout", None) or DEFAULT_ATTEMPT_TIMEOUT
            settle_window = timeout + SETTLE_MARGIN
        if settle_window < 0:
            raise ValueError("settle_window must be >= 0")
        self.action = action
        self.settle_window = float(settle_window)
        self._wall_clock = wall_clock
        self.client = client
        self.journal = journal
        self.concurrency = concurrency
        self.retry_budget = retry_budget
        self.backoff = backoff
        self.settle_delay = settle_delay
        self.max_settle_wait = max_settle_wait
        self.min_pause = min_pause
        self.max_retry_after = max_retry_after
        self.max_sends = max_sends
        self.unreachable_after = unreachable_after
        self.freeze_heap = gc_policy.ENABLED if freeze_heap is None else freeze_heap
        self._sleep = sleep
        self._clock = clock
        self._rng = rng or random.Random()

        self._session_depth = 0
        self._executor: ThreadPoolExecutor | None = None
        self._on_event: EventCallback | None = None
        self._open = asyncio.Event()
        self._stop_event = asyncio.Event()
        self._stopping = False
        self._stop_reason: StopReason | None = None
        self._stop_message = ""
        self._resume_at: float | None = None
        self._pause_task: asyncio.Task[None] | None = None
        self._throttles = 0
        self._unreachable_streak = 0
        self._budget_left = 0
        self._run_id: str | None = None
        self._running = False
        self._reset_counts(0)

    # ------------------------------------------------------------------ public API

    @property
    def account_id(self) -> str | None:
        return self.client.account_id

    @property
    def base_url(self) -> str:
        return self.client.base_url

    @property
    def running(self) -> bool:
        return self._running

    @property
    def paused(self) -> bool:
        return self._session_depth > 0 and not self._open.is_set()

    @property
    def stop_reason(self) -> StopReason | None:
        return self._stop_reason

    @property
    def progress(self) -> Progress:
        elapsed = max(0.0, self._clock() - self._t0) if self._t0 is not None else 0.0
        rate = self._finished / elapsed if elapsed > 0 and self._finished else None
        eta = (self._total - self._finished) / rate if rate else None
        return Progress(
            total=self._total, finished=self._finished, succeeded=self._succeeded, failed=self._failed,
            in_doubt=self._in_doubt, not_sent=self._unsent_count, in_flight=self._in_flight, elapsed=elapsed,
            rate=rate, eta=eta, paused=self.paused,
        )

    def stop(self) -> None:
        """Send no new request. Requests in flight finish and are recorded; orders not yet sent
        end as ``stopped``. Safe to call at any time, more than once, from the event loop."""
        self._halt(StopReason.OPERATOR, "stopped by the operator: no new requests are sent")

    async def settle_pending(self, *, on_event: EventCallback | None = None) -> list[OrderResult]:
        """Settle, by reading the order back, every order of this account and server that an
        earlier run left with an intent but no outcome (interrupted) or in doubt. Returns one
        result per such order: ``completed_reconciled``, ``conflict``, ``not_found``,
        ``not_applied`` (the settle window has passed and the request did not take effect: a
        later run may send it) or ``in_doubt`` (the read failed, or the window could not be
        waited out). Each carries ``earlier`` (INTERRUPTED or LEFT_IN_DOUBT)."""
        async with self._session(on_event):
            return await self._settle_all()

    async def run(
        self, refs: Sequence[OrderRef], *, on_event: EventCallback | None = None, settle_first: bool = True,
        decided: Sequence[OrderResult] = (),
    ) -> RunReport:
        """Send the action to ``refs`` (duplicates removed); return a report with one result per order.

        With ``settle_first`` (the default) earlier unsettled intents are settled before anything
        is sent; they appear in ``report.settled`` and as :class:`PendingSettled` events.
        ``decided``: orders the caller settled without sending (a look-up found them completed,
        cancelled or missing): recorded in this run's journal with their result and reason, and
        reported first, so the journal holds every order of the run.
        Raises :class:`JournalError` if the run cannot even be recorded (nothing is sent then).
        """
        if self._running:
            raise RuntimeError("this engine is already running")
        self._running = True
        try:
            async with self._session(on_event):
                settled = await self._settle_all() if settle_first else []
                return await self._run(refs, settled, decided)
        finally:
            self._running = False

    async def resume(self, *, on_event: EventCallback | None = None) -> RunReport:
        """Carry on with what earlier runs left: settle their unsettled intents, then send the
        orders they never sent (or that a read-back showed were not applied), reusing their op ids.

        Every such op is sent, each with the action and parameters it was recorded with, never
        the engine's. An order with several (disabled by one run, enabled by a later one) has
        them sent oldest first, one run per round: an order's next op goes out only once its
        previous one is closed (:data:`~console.bulk.journal.CLOSED_STATES`). An order whose
        earlier op is in doubt or still open keeps its later ops pending, untouched, for a later
        start: sending them would act on a state nobody knows. The report has the results of
        every round (each round is a run of its own in the journal and in the events)."""
        if self._running:
            raise RuntimeError("this engine is already running")
        self._running = True
        try:
            async with self._session(on_event):
                settled = await self._settle_all()
                if self._stopping:
                    return await self._run([], settled)
                ops = await self._journal_call(self.journal.open_ops, self.account_id, self.base_url,
                                    (journaling.PENDING, journaling.NOT_SENT, journaling.NOT_APPLIED))
                held = {r.ref for r in settled if JOURNAL_STATE[r.status] in journaling.UNSETTLED_STATES}
                rounds = _rounds(ops, held)
                reports = [await self._run(list(rounds[0]) if rounds else [], settled,
                                           actions={ref: a for ref, (a, _) in rounds[0].items()} if rounds else None,
                                           reuse_ops={ref: o for ref, (_, o) in rounds[0].items()} if rounds else None)]
                for later in rounds[1:]:
                    closed = {r.ref for r in reports[-1].results if JOURNAL_STATE[r.status] in journaling.CLOSED_STATES}
                    later = {ref: v for ref, v in later.items() if ref in closed}
                    if self._stopping or self._stop_reason is not None or not later:
                        break
                    reports.append(await self._run(list(later), [], actions={ref: a for ref, (a, _) in later.items()},
                                                   reuse_ops={ref: o for ref, (_, o) in later.items()}))
                last = reports[-1]
                return dataclasses.replace(
                    last, results=[r for report in reports for r in report.results], settled=settled,
                    elapsed=sum(report.elapsed for report in reports),
                )
        finally:
            self._running = False

    # ------------------------------------------------------------------ session plumbing

    @asynccontextmanager
    async def _session(self, on_event: EventCallback | None) -> Any:
        outer = self._session_depth == 0
        if outer:
            if self.freeze_heap:
                self._keep_heap_out_of_collections()
            # One thread per worker: their writes meet in the journal's group commit.
            self._executor = ThreadPoolExecutor(max_workers=self.concurrency + 1, thread_name_prefix="bulk-journal")
            self._on_event = on_event
            self._open = asyncio.Event()
            self._open.set()
            self._stop_event = asyncio.Event()
            self._stopping = False
            self._stop_reason = None
            self._stop_message = ""
            self._resume_at = None
            self._throttles = 0
            self._unreachable_streak = 0
            self._reset_counts(0)
        self._session_depth += 1
        try:
            yield
        finally:
            self._session_depth -= 1
            if outer:
                if self._pause_task is not None:
                    self._pause_task.cancel()
                    self._pause_task = None
                self._open.set()
                await self._sync_journal()
                executor, self._executor = self._executor, None
                if executor is not None:
                    # A write still running (only after a hard cancel) finishes on its own.
                    executor.shutdown(wait=False, cancel_futures=False)
                self._on_event = None

    async def _sync_journal(self) -> None:
        """Leave every outcome of the session durable (one fsync, only if one is not yet).

        Outcomes are committed without an fsync of their own (see :meth:`_record`); the end of
        a run's session is where no later intent will sync them."""
        try:
            await self._journal_call(self.journal.sync)
        except journaling.JournalError as exc:
            # Not lost on a process crash; on a power cut their intents settle them by GET.
            log.warning("could not sync the journal at the end of the run: %s", exc)

    @staticmethod
    def _keep_heap_out_of_collections() -> None:
        """Freeze what is alive now (console/gc_policy.py), so full collections during the
        run walk only its own objects.

        A run allocates steadily (every request leaves httpx objects in reference cycles for the
        collector), so Python runs a full collection now and then, and without the freeze it
        walked every tracked object of the process: 60-200 ms of a stalled event loop in a bare
        headless process here (60k objects, 2 shared cores), more in the console with its
        widgets. Nothing alive when the run starts is the run's garbage; frozen, it is skipped,
        and a full collection during the run costs what the run itself keeps.
        """
        gc_policy.freeze_survivors()

    async def _journal_call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a journal call on a journal thread, off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    def _reset_counts(self, total: int) -> None:
        self._total = total
        self._finished = self._succeeded = self._failed = self._in_doubt = self._unsent_count = 0
        self._in_flight = 0
        self._t0: float | None = None

    def _emit(self, event_type: type[BulkEvent], **fields: Any) -> None:
        if self._on_event is None:
            return
        try:
            self._on_event(event_type(progress=self.progress, **fields))
        except Exception:  # a broken display must not break a run that is changing real orders
            log.exception("the bulk on_event callback failed")

    def _halt(self, reason: StopReason, message: str) -> None:
        """Stop sending new requests; the first reason is the one reported."""
        if self._stopping:
            return
        self._stopping = True
        self._stop_reason = reason
        self._stop_message = sanitize(message)
        self._stop_event.set()
        self._emit(RunStopping, reason=reason, message=self._stop_message)

    def _spend_budget(self) -> bool:
        if self._budget_left <= 0:
            return False
        self._budget_left -= 1
        return True

    # ------------------------------------------------------------------ waiting

    async def _until_set_or_stop(self, waiter: Awaitable[Any]) -> None:
        """Await ``waiter`` unless stop() comes first (then it is abandoned)."""
        task = asyncio.ensure_future(waiter)
        stop = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for t in (task, stop):
                if not t.done():
                    t.cancel()

    async def _may_send(self) -> bool:
        """Wait while the run is paused by a 429; False once the run is stopping."""
        while not self._open.is_set():
            if self._stopping:
                return False
            await self._until_set_or_stop(self._open.wait())
        return not self._stopping

    async def _wait_open(self) -> None:
        """For reads that settle what may have been applied: they honour a pause, not a stop."""
        while not self._open.is_set():
            await self._open.wait()

    async def _sleep_unless_stopped(self, delay: float) -> None:
        if delay > 0 and not self._stopping:
            await self._until_set_or_stop(self._sleep(delay))

    def _pause(self, retry_after: float | None) -> float:
        """Close the gate for every worker at once (no await: nothing slips through)."""
        self._throttles += 1
        wait = retry_after if retry_after is not None else self.backoff.delay(self._throttles, self._rng)
        wait = max(wait, self.min_pause)
        resume_at = self._clock() + wait
        extended = self._resume_at is None or resume_at > self._resume_at
        if extended:
            self._resume_at = resume_at
        if self._open.is_set():
            self._open.clear()
            self._pause_task = asyncio.ensure_future(self._pauser())
        if extended:
            self._emit(RunPaused, retry_after=wait, message=f"rate limited by the server: pausing {wait:.1f} s")
        return wait

    async def _pauser(self) -> None:
        try:
            while self._resume_at is not None:
                remaining = self._resume_at - self._clock()
                if remaining <= 0:
                    break
                before = self._clock()
                await self._sleep(remaining)
                if self._clock() <= before:
                    break  # a sleep that does not move this clock (a test double): do not spin
        finally:
            self._resume_at = None
            self._open.set()
            self._pause_task = None
            self._emit(RunResumed)

    # ------------------------------------------------------------------ journal helpers

    async def _record(self, item: _Item, state: str, *, final: bool = False, **fields: Any) -> bool:
        """Commit an outcome; a failure stops the run (fail closed) but the result stands.

        Committed, not fsynced: the worker's next step after this is usually its next POST,
        whose intent must be fsynced anyway, and that fsync syncs this outcome too. An fsync of
        its own (p90 4-5 ms here) would sit between every two POSTs of the worker for nothing:
        if a power cut loses this outcome, the op is back at its fsynced intent, and start-up
        reconciliation settles that by GET before anything is sent again (F25-F27). A process
        crash loses nothing committed. The result is reported only after this returns, i.e.
        once the outcome is committed and visible to any reader.

        ``final`` (the order is settled) in a worker, while the run goes on: the outcome is only
        prepared, and committed with the worker's next intent (see :meth:`_worker`)."""
        if final and item.in_worker and not self._stopping and self._open.is_set():
            item.deferred = self.journal.outcome_write(item.op_id, state, run_id=self._run_id, **fields)
            return True
        carried = self._take_carry(item)
        try:
            await self._journal_call(self.journal.record_outcome, item.op_id, state, run_id=self._run_id,
                          also=carried.deferred if carried is not None else None, **fields)
            return True
        except journaling.JournalError as exc:
            self._halt(StopReason.JOURNAL, f"the journal could not record an outcome ({exc}); stopping")
            return False
        finally:
            self._reported_with(carried)

    async def _final(self, item: _Item, status: ResultStatus, message: str = "", *,
                     exc: errors.HyperTrackError | None = None, order: Order | OrderSummary | None = None,
                     flagged: bool = False, field_errors: dict[str, list[str]] | None = None,
                     earlier: str | None = None, http_status: int | None = None) -> OrderResult:
        """Build the result, record it, and return it."""
        http_status = getattr(exc, "status_code", http_status)
        if status is ResultStatus.COMPLETED and exc is None:
            http_status = 200  # the client returns the order, not the response: 2xx it was
        request_id = getattr(exc, "request_id", None)
        if item.anomaly:
            flagged = True
            message = f"{message} (anomaly: {item.anomaly})" if message else f"anomaly: {item.anomaly}"
        result = OrderResult(
            ref=item.ref, status=status, op_id=item.op_id, attempts=item.sends, message=sanitize(message),
            field_errors=field_errors or {}, http_status=http_status, request_id=request_id,
            completed_at=order.completed_at if order is not None else None,
            order_status=order.status if order is not None else None, flagged=flagged, earlier=earlier,
            order=order,
        )
        await self._record(
            item, JOURNAL_STATE[status], final=True, http_status=http_status, message=result.message,
            request_id=request_id, completed_at=result.completed_at,
        )
        return result

    async def _not_sent(self, item: _Item, why: str = "") -> OrderResult:
        status = ResultStatus.STOPPED if self._stop_reason is StopReason.OPERATOR else ResultStatus.NOT_SENT
        message = why or (self._stop_message or "not sent: the run stopped")
        return await self._final(item, status, message, flagged=item.had_doubt)

    # ------------------------------------------------------------------ reading back

    async def _read_back(self, item: _Item) -> tuple[Order | OrderSummary | None, errors.HyperTrackError | None]:
        """The current state of exactly ``ref``'s leg (``OrdersClient.get_leg``: the GET, or the
        list searched by handle when the GET answers with another leg). Returns (order, None) or
        (None, error); never raises the client's errors. ``get_leg`` returns only ``ref``'s own leg
        (another leg or attempt is never taken for it: not found, an error)."""
        try:
            order = await item.action.read_back(self.client, item.ref)
        except errors.HyperTrackError as exc:
            return None, exc
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("unexpected error from the client during a read-back")
            return None, errors.OutcomeInDoubt(f"unexpected {type(exc).__name__} while reading the order")
        return order, None

    async def _look(self, item: _Item) -> _Look:
        """Read ``item``'s leg back and judge it (``Action.judge``, the one rule).

        "Not applied" inside the item's settle window concludes nothing: the request may still
        be in flight. Then wait for the window to end (a :class:`SettleWaiting` event; ``stop()``
        cuts the wait short and the look stays undecided) and read again."""
        await self._wait_open()
        order, err = await self._read_back(item)
        if err is not None:
            return _Look(error=err)
        verdict = item.action.judge(order)
        if verdict is Verdict.NOT_APPLIED and item.window_ends is not None:
            remaining = item.window_ends - self._clock()
            if remaining > 0:
                if self._stopping:
                    return _Look(order=order)
                self._emit(SettleWaiting, ref=item.ref, seconds=remaining)
                await self._sleep_unless_stopped(remaining)
                if self._stopping:
                    return _Look(order=order)
                await self._wait_open()
                order, err = await self._read_back(item)
                if err is not None:
                    return _Look(error=err)
                verdict = item.action.judge(order)
        return _Look(verdict=verdict, order=order)

    def _window_from_journal(self, op: journaling.OpRecord) -> float | None:
        """The engine-clock end of the settle window of ``op``'s last intent (None: passed)."""
        if not op.intent_at:
            return None
        try:
            sent = datetime.strptime(op.intent_at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        except ValueError:
            sent = None
        # An unreadable time, or one in the future (the wall clock went back): the whole window.
        age = (self._wall_clock() - sent).total_seconds() if sent is not None else 0.0
        remaining = self.settle_window - max(0.0, age)
        return self._clock() + remaining if remaining > 0 else None

    def _check_failed(self, err: errors.HyperTrackError) -> None:
        if isinstance(err, errors.AuthenticationError):
            self._halt(StopReason.AUTH, f"authentication failed ({err.message}); the rest were not sent")

    # ------------------------------------------------------------------ settling earlier runs

    async def _settle_all(self) -> list[OrderResult]:
        ops = await self._journal_call(self.journal.unsettled, self.account_id, self.base_url)
        await self._journal_call(self.journal.close_interrupted_runs)
        if not ops:
            return []
        self._reset_counts(len(ops))
        self._t0 = self._clock()
        self._emit(SettlingStarted, count=len(ops))
        sem = asyncio.Semaphore(self.concurrency)

        async def settle(op: journaling.OpRecord) -> OrderResult:
            async with sem:
                if self._stop_reason is StopReason.AUTH:
                    result = OrderResult(op.ref, ResultStatus.IN_DOUBT, op.op_id, message=(
                        "an earlier run's request may have been applied; not checked: authentication failed"
                    ), earlier=INTERRUPTED if op.state == journaling.SENDING else LEFT_IN_DOUBT)
                else:
                    result = await self._settle_op(op)
                self._count(result)
                self._emit(PendingSettled, result=result)
                return result

        return list(await asyncio.gather(*(settle(op) for op in ops)))

    async def _settle_op(self, op: journaling.OpRecord) -> OrderResult:
        try:
            # Judged by what was sent: the op's own action and parameters, not this run's.
            action = actions_module.from_journal(op.action, op.params)
        except ValueError as exc:
            item = _Item(op.ref, op.op_id)
            return await self._final(item, ResultStatus.IN_DOUBT, (
                f"an earlier run sent an action this version cannot check ({exc}); check the order yourself"
            ), earlier=INTERRUPTED if op.state == journaling.SENDING else LEFT_IN_DOUBT)
        item = _Item(op.ref, op.op_id, action=action, window_ends=self._window_from_journal(op))
        if op.state == journaling.SENDING:
            earlier = INTERRUPTED
            prefix = (f"an earlier run sent this ({op.attempts} attempt(s)) and was interrupted before "
                      "recording the answer")
        else:
            earlier = LEFT_IN_DOUBT
            prefix = f"an earlier run finished with this in doubt ({op.attempts} attempt(s))"
        look = await self._look(item)
        done = item.action.done
        order = look.order
        if look.error is not None:
            self._check_failed(look.error)
            if isinstance(look.error, errors.NotFoundError):
                status, text = ResultStatus.NOT_FOUND, f"{prefix}; the order does not exist"
            else:
                status, text = ResultStatus.IN_DOUBT, f"{prefix}; it could not be checked: {look.error.message}"
        elif look.undecided:
            status, text = ResultStatus.IN_DOUBT, (
                f"{prefix}; the order is {order.status}, but that request may still be in flight "
                f"(sent less than {self.settle_window:g} s ago); not concluded: check it again later"
            )
        elif look.verdict is Verdict.APPLIED:
            status, text = ResultStatus.COMPLETED_RECONCILED, f"{prefix}; the order is {done}"
        elif look.verdict is Verdict.ENDED_OTHERWISE:
            status, text = ResultStatus.CONFLICT, f"{prefix}; the order is {order.status}, not {done}"
        else:
            status, text = ResultStatus.NOT_APPLIED, (
                f"{prefix}; the order is {order.status}: that request did not take effect (safe to send again)"
            )
        result = await self._final(item, status, text, exc=look.error, order=order, earlier=earlier)
        return dataclasses.replace(result, attempts=op.attempts)

    # ------------------------------------------------------------------ the run

    async def _run(self, refs: Sequence[OrderRef], settled: list[OrderResult],
                   decided: Sequence[OrderResult] = (), actions: dict[OrderRef, Action] | None = None,
                   reuse_ops: dict[OrderRef, str] | None = None) -> RunReport:
        """``actions``: the action of each ref that is not the engine's (what an earlier run left).
        ``reuse_ops``: the earlier op each of those refs carries on (recorded with that action),
        whichever op of the order is the latest."""
        unique, repeats = dedupe(refs)
        chosen = actions or {}

        def action_of(ref: OrderRef) -> Action:
            return chosen.get(ref, self.action)

        sending = set(unique)
        decided = [r for r in decided if r.ref not in sending]
        settled_not_done = {r.ref for r in settled if r.status is ResultStatus.IN_DOUBT}
        items: list[_Item] = []
        pre_results: dict[int, tuple[ResultStatus, str]] = {}

        # What the journal already knows about these orders decides op reuse and pre-checks.
        known, completed_before = await self._journal_call(self._journal_knowledge, unique, action_of)
        reuse: dict[OrderRef, str] = {}
        for index, ref in enumerate(unique):
            op = known.get(ref)
            try:
                validate_handle(ref.order_handle)
            except errors.InvalidHandle as exc:
                pre_results[index] = (ResultStatus.REJECTED, f"not sent: {exc.message}")
            # Only an op of the same action and parameters is taken over: its intent and attempts
            # are about exactly what this run sends.
            if op is not None and op.state in journaling.REUSABLE_STATES and _same_action(op, action_of(ref)):
                reuse[ref] = op.op_id
            if reuse_ops and ref in reuse_ops:
                reuse[ref] = reuse_ops[ref]
            if ref in settled_not_done or (op is not None and op.state in journaling.UNSETTLED_STATES):
                pre_results.setdefault(index, (
                    ResultStatus.IN_DOUBT,
                    "not sent: an earlier request for this order is still in doubt; check the order first",
                ))

        self._budget_left = self.retry_budget if self.retry_budget is not None else 10 + len(unique) // 10
        self._run_id = await self._journal_call(
            self.journal.start_run, account_id=self.account_id, base_url=self.base_url,
            count=len(unique) + len(decided),
        )
        # Decided orders get ops of their own (never reused: nothing is sent for them here).
        all_refs = [r.ref for r in decided] + list(unique)
        op_ids = await self._journal_call(
            self.journal.add_ops, self._run_id, all_refs, account_id=self.account_id, base_url=self.base_url,
            reuse=reuse, actions=[(action_of(r).name, action_of(r).params_json()) for r in all_refs],
        )
        decided_items = [_Item(r.ref, op_id, action=action_of(r.ref)) for r, op_id in zip(decided, op_ids)]
        for ref, op_id in zip(unique, op_ids[len(decided):]):
            items.append(_Item(ref, op_id, action=action_of(ref), precheck=ref in completed_before))

        self._reset_counts(len(items) + len(decided_items))
        self._t0 = self._clock()
        self._emit(RunStarted, run_id=self._run_id, total=len(items) + len(decided_items), duplicates=len(repeats))

        for item, given in zip(decided_items, decided):
            item.result = await self._final(
                item, given.status, given.message, order=given.order, field_errors=given.field_errors,
                flagged=given.flagged, http_status=given.http_status,
            )
            self._count(item.result)
            self._emit(OrderFinished, result=item.result)

        for index, (status, message) in pre_results.items():
            item = items[index]
            item.result = await self._final(item, status, message)
            self._count(item.result)
            self._emit(OrderFinished, result=item.result)

        queue: deque[_Item] = deque(item for item in items if item.result is None)
        workers = [asyncio.ensure_future(self._worker(queue)) for _ in range(min(self.concurrency, len(queue)))]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for w in workers:
                w.cancel()
            raise

        for item in items:
            if item.result is None:  # never taken from the queue: the run stopped
                item.result = await self._not_sent(item)
                self._count(item.result)
                self._emit(OrderFinished, result=item.result)

        try:
            await self._journal_call(self.journal.finish_run, self._run_id,
                          stop_reason=self._stop_reason.value if self._stop_reason else None)
        except journaling.JournalError as exc:
            log.warning("could not record the end of run %s: %s", self._run_id, exc)
        report = RunReport(
            run_id=self._run_id,
            results=[item.result for item in [*decided_items, *items] if item.result is not None],
            settled=settled, duplicates=repeats, stop_reason=self._stop_reason,
            stop_message=self._stop_message, elapsed=self.progress.elapsed,
        )
        self._emit(RunFinished, report=report)
        return report

    def _journal_knowledge(self, refs: Sequence[OrderRef], action_of: Callable[[OrderRef], Action],
                           ) -> tuple[dict[OrderRef, journaling.OpRecord], set[OrderRef]]:
        """(On a journal thread.) The latest op for each ref, and the refs that some op of the
        same action (in any run, not only the latest) applied: those are read back before any POST."""
        latest: dict[OrderRef, journaling.OpRecord] = {}
        completed: set[OrderRef] = set()
        for ref in refs:
            op = self.journal.latest_op_for(ref, account_id=self.account_id, base_url=self.base_url)
            if op is not None:
                latest[ref] = op
                name = action_of(ref).name
                if (op.state in journaling.SUCCESS_STATES and op.action == name) or self.journal.has_success_for(
                    ref, account_id=self.account_id, base_url=self.base_url, action=name,
                ):
                    completed.add(ref)
        return latest, completed

    async def _worker(self, queue: deque[_Item]) -> None:
        """Take orders one at a time; one journal commit per order on the common path.

        An order's final outcome is prepared, not committed, when it settles (``_record`` with
        ``final``), and rides in the same transaction as the intent of the worker's next order
        (``record_intent(also=)``), which is fsynced before its POST anyway: one wait between
        two POSTs instead of two. Each worker still commits on its own schedule (no writer
        batching everyone's intents, which made POSTs go out in bursts). The intents without an
        outcome stay at most one per worker (<= concurrency, F25): the outcome leaves
        ``sending`` in the same commit as the next intent enters it. The result is reported only
        after that commit: a reported result always has its outcome committed. Any other write
        of the next order, a wait (pause, stop), or the end of the queue commits the carried
        outcome first (``_flush_carry``), so a result is never held behind a long wait.
        """
        previous: _Item | None = None
        while queue and not self._stopping:
            item = queue.popleft()
            item.in_worker = True
            item.carry, previous = previous, None
            self._in_flight += 1
            try:
                item.result = await self._act_one(item)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a bug must not lose the order: say what we know
                log.exception("unexpected error while completing an order")
                status = ResultStatus.IN_DOUBT if item.sends else ResultStatus.FAILED_NOT_SENT
                item.result = await self._final(item, status, f"internal error: {type(exc).__name__}")
            finally:
                self._in_flight -= 1
            await self._flush_carry(item)  # only if this order wrote nothing (no intent)
            if item.deferred is not None:
                previous = item
            else:
                self._report(item)
        if previous is not None:
            await self._commit_carried(previous)

    def _report(self, item: _Item) -> None:
        assert item.result is not None
        self._count(item.result)
        self._emit(OrderFinished, result=item.result)

    def _take_carry(self, item: _Item) -> _Item | None:
        carried, item.carry = item.carry, None
        return carried

    async def _flush_carry(self, item: _Item) -> None:
        """Commit (alone) the outcome ``item`` carries from its worker's previous order, then
        report that order."""
        carried = self._take_carry(item)
        if carried is not None:
            await self._commit_carried(carried)

    async def _commit_carried(self, carried: _Item) -> None:
        """Commit ``carried``'s prepared outcome on its own, then report that order."""
        write, carried.deferred = carried.deferred, None
        try:
            await self._journal_call(self.journal.commit_outcome, write)
        except journaling.JournalError as exc:
            self._halt(StopReason.JOURNAL, f"the journal could not record an outcome ({exc}); stopping")
        self._report(carried)

    def _reported_with(self, carried: _Item | None) -> None:
        """The carried order's outcome was committed along with (or failed with) this write."""
        if carried is not None:
            carried.deferred = None
            self._report(carried)

    def _count(self, result: OrderResult) -> None:
        self._finished += 1
        if result.status.is_success:
            self._succeeded += 1
        elif result.status is ResultStatus.IN_DOUBT:
            self._in_doubt += 1
        elif result.status.is_failure:
            self._failed += 1
        else:
            self._unsent_count += 1

    # ------------------------------------------------------------------ one order

    async def _act_one(self, item: _Item) -> OrderResult:
        try:
            if item.precheck:
                await self._flush_carry(item)  # a read comes first: do not hold the last result
                await self._precheck(item)
            not_sent_tries = 0
            while True:
                try:
                    exc = await self._send_once(item)
                except _Settled:
                    self._unreachable_streak = 0
                    raise
                if isinstance(exc, errors.RequestNotSent):
                    self._unreachable_streak += 1
                else:
                    self._unreachable_streak = 0
                if exc is None:
                    continue  # throttled or not sent: try again (the gate and budget were checked)
                if isinstance(exc, errors.RequestNotSent):
                    not_sent_tries += 1
                    await self._after_not_sent(item, exc, not_sent_tries)
                    continue
                # The outcome is in doubt: settle it before anything is sent again.
                item.had_doubt = True
                await self._record(item, journaling.IN_DOUBT, http_status=getattr(exc, "status_code", None),
                                   message=f"outcome unknown ({exc.message}); checking the order",
                                   request_id=getattr(exc, "request_id", None))
                await self._reconcile(item, exc)
                # Read back after its settle window: the request did not take effect. Again?
                done = item.action.done
                if self._stopping:
                    raise _Settled(await self._final(item, ResultStatus.NOT_APPLIED, (
                        f"sent {item.sends} time(s); the answer was lost ({exc.message}) and the order was "
                        f"not {done} when checked after the settle window; not sent again because the run stopped"
                    ), exc=exc))
                if item.sends >= self.max_sends or not self._spend_budget():
                    raise _Settled(await self._final(item, ResultStatus.NOT_APPLIED, (
                        f"sent {item.sends} time(s) without a usable answer (the last: {exc.message}); each "
                        f"time the order was not {done} when checked after the settle window; not sent "
                        "again (the limit is reached)"
                    ), exc=exc))
        except _Settled as done_:
            return done_.result

    async def _precheck(self, item: _Item) -> None:
        """The journal says this identity was completed before: read it before any POST."""
        if not await self._may_send():
            raise _Settled(await self._not_sent(item))
        look = await self._look(item)
        if look.verdict is Verdict.APPLIED:
            raise _Settled(await self._final(
                item, ResultStatus.ALREADY_COMPLETED,
                f"{item.action.done} already (an earlier run {item.action.done} it)", order=look.order,
            ))
        # Otherwise send as usual: a handle can be reused for a new order, and a 409 is safe.

    async def _send_once(self, item: _Item) -> errors.HyperTrackError | None:
        """One request with its intent and outcome. Returns None to try again, the error when the
        outcome is in doubt or the request never arrived; raises _Settled when the order is done."""
        if item.carry is not None and (self._stopping or not self._open.is_set()):
            await self._flush_carry(item)  # paused or stopping: do not hold the last result
        if not await self._may_send():
            raise _Settled(await self._not_sent(item))
        carried = self._take_carry(item)
        try:
            await self._journal_call(self.journal.record_intent, item.op_id, self._run_id,
                          also=carried.deferred if carried is not None else None)
        except journaling.JournalError as exc:
            self._halt(StopReason.JOURNAL, f"the journal could not record an intent ({exc}); nothing more is sent")
            # The carried outcome failed with it: try it alone (it may have been the intent that
            # failed). If it fails too, that op stays at its intent (settled by GET at the next
            # start); its result stands, as when an outcome alone cannot be written.
            if carried is not None:
                await self._commit_carried(carried)
            # Nothing was committed, so there is nothing to record: the op stays as it was.
            raise _Settled(OrderResult(
                item.ref, ResultStatus.FAILED_NOT_SENT, item.op_id, attempts=item.sends,
                message=sanitize(f"not sent: the journal could not record the intent ({exc})"),
            )) from None
        self._reported_with(carried)
        # Re-check with no await between this check and the send: a 429 or a stop that arrived
        # while the intent was being written must hold this request back too.
        if self._stopping or not self._open.is_set():
            await self._record(item, journaling.PENDING, message="not sent: the run paused or stopped first",
                               withdraw_intent=True)
            return None
        item.sends += 1
        item.window_ends = self._clock() + self.settle_window
        self._emit(RequestSent, ref=item.ref, attempt=item.sends)
        try:
            order = await item.action.send(self.client, item.ref)
        except errors.RateLimited as exc:
            await self._after_rate_limit(item, exc)
            return None
        except errors.CertificateError as exc:
            self._halt(StopReason.CERTIFICATE, f"the server's TLS certificate was refused: {exc.message}")
            raise _Settled(await self._final(
                item, ResultStatus.FAILED_NOT_SENT, f"not sent: {exc.message} (a security problem: run stopped)",
                exc=exc,
            )) from None
        except errors.RequestNotSent as exc:
            return exc
        except errors.AuthenticationError as exc:
            self._halt(StopReason.AUTH, f"authentication failed ({exc.message}); the rest were not sent")
            raise _Settled(await self._final(item, ResultStatus.AUTH_FAILED, exc.message, exc=exc)) from None
        except errors.NotFoundError as exc:
            raise _Settled(await self._final(item, ResultStatus.NOT_FOUND, exc.message, exc=exc)) from None
        except errors.ValidationFailed as exc:
            raise _Settled(await self._final(
                item, ResultStatus.REJECTED, exc.message, exc=exc, field_errors=exc.field_errors,
            )) from None
        except errors.ConflictError as exc:
            raise _Settled(await self._after_conflict(item, exc)) from None
        except errors.UnexpectedStatus as exc:
            if exc.status_code == 400:
                raise _Settled(await self._final(item, ResultStatus.REJECTED, exc.message, exc=exc)) from None
            item.anomaly = exc.message
            return exc
        except (errors.InvalidHandle, errors.InvalidRequest) as exc:
            raise _Settled(await self._final(item, ResultStatus.REJECTED, f"not sent: {exc.message}")) from None
        except errors.MalformedResponse as exc:
            item.anomaly = exc.message
            return exc
        except errors.HyperTrackError as exc:  # OutcomeInDoubt, ServerError: may have been applied
            return exc
        except asyncio.CancelledError:
            # The intent stays without an outcome: the next start settles it by GET.
            raise
        except Exception as exc:  # not from our client's contract: treat as "may have been applied"
            log.exception("unexpected error from the client during a POST")
            return errors.OutcomeInDoubt(f"unexpected {type(exc).__name__} while sending")
        if item.action.judge(order) is not Verdict.APPLIED:
            item.anomaly = f"the server answered with status '{sanitize(str(order.status))}'"
            return errors.MalformedResponse(item.anomaly)
        raise _Settled(await self._final(item, ResultStatus.COMPLETED, item.action.done, order=order))

    async def _after_rate_limit(self, item: _Item, exc: errors.RateLimited) -> None:
        # Close the gate (or stop) BEFORE any await: while this coroutine waits for the journal,
        # other workers run, and none of them may start a request once the 429 is known.
        wait = exc.retry_after
        if wait is not None and wait > self.max_retry_after:
            self._halt(StopReason.RATE_LIMITED, (
                f"the server asked to wait {wait:.0f} s (over {self.max_retry_after:.0f} s); "
                "the rest were not sent: run again later"
            ))
            raise _Settled(await self._not_sent(item))
        if not self._spend_budget():
            self._halt(StopReason.RETRY_BUDGET, "too many retries in this run (rate limited); stopping")
            raise _Settled(await self._not_sent(item))
        self._pause(wait)
        await self._record(item, journaling.PENDING, http_status=429, request_id=exc.request_id,
                           message=f"throttled (429): not applied; {exc.message}")

    async def _after_not_sent(self, item: _Item, exc: errors.RequestNotSent, tries: int) -> None:
        await self._record(item, journaling.PENDING, message=f"not sent: {exc.message}")
        if self._stopping:
            raise _Settled(await self._not_sent(item))
        if self._unreachable_streak >= self.unreachable_after:
            self._halt(StopReason.UNREACHABLE, (
                f"the server could not be reached {self._unreachable_streak} times in a row; stopping "
                "(check the network, then run again)"
            ))
            raise _Settled(await self._final(
                item, ResultStatus.FAILED_NOT_SENT, f"not sent: {exc.message}; the server is unreachable"
            ))
        if tries >= self.backoff.max_attempts:
            raise _Settled(await self._final(
                item, ResultStatus.FAILED_NOT_SENT, f"not sent after {tries} tries: {exc.message}"
            ))
        if not self._spend_budget():
            self._halt(StopReason.RETRY_BUDGET, "too many retries in this run (connection failures); stopping")
            raise _Settled(await self._final(
                item, ResultStatus.FAILED_NOT_SENT, f"not sent: {exc.message}; the run's retry budget is spent"
            ))
        await self._sleep_unless_stopped(self.backoff.delay(tries, self._rng))

    async def _reconcile(self, item: _Item, exc: errors.HyperTrackError) -> None:
        """Settle a request whose outcome is unknown. Returns only if the order is, after the
        settle window, still not in the action's end state (the request did not take effect)."""
        delay = self.settle_delay
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            delay = max(delay, min(retry_after, self.max_settle_wait))
        # Wait first: behind a gateway that gave up, the request may still be running. Not cut
        # short by stop(): this read settles something that may already have happened.
        if delay > 0:
            await self._sleep(delay)
        look = await self._look(item)
        what = f"the answer to our request was lost ({exc.message})"
        done = item.action.done
        if look.error is not None:
            err = look.error
            self._check_failed(err)
            if isinstance(err, errors.NotFoundError):
                raise _Settled(await self._final(item, ResultStatus.NOT_FOUND, f"{what}; the order does not exist",
                                                 exc=err))
            raise _Settled(await self._final(
                item, ResultStatus.IN_DOUBT, f"{what}, and checking the order failed ({err.message})", exc=exc,
            ))
        if look.undecided:
            raise _Settled(await self._final(
                item, ResultStatus.IN_DOUBT,
                f"{what}; the order is {look.order.status}, but the request may still be in flight (the settle "
                f"window of {self.settle_window:g} s had not passed when the run stopped); check it again later",
                exc=exc, order=look.order,
            ))
        if look.verdict is Verdict.APPLIED:
            raise _Settled(await self._final(
                item, ResultStatus.COMPLETED_RECONCILED, f"{what}; the order is {done}", exc=exc, order=look.order,
            ))
        if look.verdict is Verdict.ENDED_OTHERWISE:
            raise _Settled(await self._final(
                item, ResultStatus.CONFLICT, f"{what}; the order is {look.order.status}, not {done}",
                exc=exc, order=look.order,
            ))
        item.extra["last_status"] = look.order.status

    async def _after_conflict(self, item: _Item, exc: errors.ConflictError) -> OrderResult:
        refused = f"the server refused ({exc.message})"
        # A 409 means the server looked at the order and refused: no request of ours is left
        # in flight by it (an earlier one, whose answer was lost, may be; hence had_doubt below).
        item.window_ends = None
        look = await self._look(item)
        if look.error is not None:
            self._check_failed(look.error)
            return await self._final(
                item, ResultStatus.IN_DOUBT, f"{refused}, and checking the order failed ({look.error.message})",
                exc=exc,
            )
        if look.verdict is Verdict.APPLIED:
            if item.had_doubt:
                # The residual risk: our earlier request (answer lost) probably completed it after
                # the read that said it had not. Not silent: flagged.
                return await self._final(
                    item, ResultStatus.ALREADY_COMPLETED,
                    f"{item.action.done}, probably by our earlier request whose answer was lost", exc=exc,
                    order=look.order, flagged=True,
                )
            return await self._final(item, ResultStatus.ALREADY_COMPLETED, f"already {item.action.done}", exc=exc,
                                     order=look.order)
        return await self._final(
            item, ResultStatus.CONFLICT, f"{refused}; the order is {look.order.status}", exc=exc, order=look.order,
        )
