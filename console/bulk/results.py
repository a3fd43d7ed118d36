"""What a bulk run tells its caller: per-order results, progress events and the run report.

Plain data, no I/O: the headless commands print these, and the Textual UI renders them (it must
still render strings through ``Text``/``Content`` objects: ``message`` is sanitized, never markup-safe).
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from console.api.vocab import OrderRef
from console.api.sanitize import sanitize
from console.api.timestamps import format_timestamp


class ResultStatus(str, enum.Enum):
    """The final state of one order in a run."""

    COMPLETED = "completed"                        # our POST answered with the completed order
    COMPLETED_RECONCILED = "completed_reconciled"  # the answer was lost; a GET showed it completed
    ALREADY_COMPLETED = "already_completed"        # it was completed before (409, a lookup, or a GET)
    NOT_FOUND = "not_found"                        # 404: no such order
    REJECTED = "rejected"                          # 400/422 (or a handle we refuse to send)
    CONFLICT = "conflict"                          # refused, and the order is not completed (cancelled, ...)
    FAILED_NOT_SENT = "failed_not_sent"            # never reached the server, retries spent
    AUTH_FAILED = "auth_failed"                    # 401/403: the run stopped here
    IN_DOUBT = "in_doubt"                          # may have been applied; could not be settled
    NOT_APPLIED = "not_applied"                    # read back, settle window passed: did not take effect
    STOPPED = "stopped"                            # never sent: the operator stopped the run
    NOT_SENT = "not_sent"                          # never sent: the run stopped for another reason

    @property
    def is_success(self) -> bool:
        return self in SUCCESS_RESULTS

    @property
    def is_failure(self) -> bool:
        return self in FAILURE_RESULTS

    @property
    def label(self) -> str:
        return _LABELS[self]


SUCCESS_RESULTS = frozenset(
    {ResultStatus.COMPLETED, ResultStatus.COMPLETED_RECONCILED, ResultStatus.ALREADY_COMPLETED}
)
#: Settled, and not completed: the operator may retry them (they stay marked in the UI).
FAILURE_RESULTS = frozenset(
    {ResultStatus.NOT_FOUND, ResultStatus.REJECTED, ResultStatus.CONFLICT, ResultStatus.FAILED_NOT_SENT,
     ResultStatus.AUTH_FAILED}
)
#: Not completed, and safe to send again: never sent in this run, or read back as not applied.
NOT_ATTEMPTED_RESULTS = frozenset({ResultStatus.STOPPED, ResultStatus.NOT_SENT, ResultStatus.NOT_APPLIED})

_LABELS = {
    ResultStatus.COMPLETED: "completed",
    ResultStatus.COMPLETED_RECONCILED: "completed (reconciled)",
    ResultStatus.ALREADY_COMPLETED: "already completed",
    ResultStatus.NOT_FOUND: "not found",
    ResultStatus.REJECTED: "rejected",
    ResultStatus.CONFLICT: "conflict",
    ResultStatus.FAILED_NOT_SENT: "failed (not sent)",
    ResultStatus.AUTH_FAILED: "authentication failed",
    ResultStatus.IN_DOUBT: "IN DOUBT",
    ResultStatus.NOT_APPLIED: "not applied (checked; safe to send again)",
    ResultStatus.STOPPED: "stopped (not sent)",
    ResultStatus.NOT_SENT: "not sent (the run stopped)",
}

#: Where an order settled before a run came from (``OrderResult.earlier``).
INTERRUPTED = "interrupted"      # an earlier run sent it and died before recording the answer
LEFT_IN_DOUBT = "left_in_doubt"  # an earlier run finished and recorded it in doubt
NEVER_SENT = "never_sent"        # an earlier run was interrupted before sending it
EARLIER_WORDS = {
    INTERRUPTED: "interrupted before an answer",
    LEFT_IN_DOUBT: "in doubt from a finished run",
    NEVER_SENT: "never sent by an interrupted run",
}


class StopReason(str, enum.Enum):
    """Why a run stopped sending before it ran out of orders."""

    OPERATOR = "operator"          # stop() was called (Esc, Ctrl-C)
    AUTH = "auth"                  # 401/403
    JOURNAL = "journal"            # an intent or outcome could not be made durable: fail closed
    CERTIFICATE = "certificate"    # TLS verification failed: a security problem, never retried
    RETRY_BUDGET = "retry_budget"  # the run's automatic retries are spent (the circuit opened)
    UNREACHABLE = "unreachable"    # the server could not be reached many times in a row
    RATE_LIMITED = "rate_limited"  # the server asked to wait longer than we will wait unattended


@dataclass(frozen=True)
class OrderResult:
    """The outcome for one order. ``message`` is sanitized (never raw API text)."""

    ref: OrderRef
    status: ResultStatus
    op_id: str | None = None
    #: POSTs sent for this order in this run (re-sends after a reconciling GET count).
    attempts: int = 0
    message: str = ""
    field_errors: dict[str, list[str]] = field(default_factory=dict)
    http_status: int | None = None
    request_id: str | None = None
    completed_at: datetime | None = None
    #: The order's status as last seen on the server, when known.
    order_status: str | None = None
    #: Look at this one: an anomaly (a 2xx that was not a completed order for the handle), or a
    #: completion that may have come from a request whose answer was lost.
    flagged: bool = False
    #: Settled from an earlier run: how that run left it (INTERRUPTED, LEFT_IN_DOUBT, NEVER_SENT).
    earlier: str | None = None
    #: The order as the server last showed it (the answer, or the read-back), when there was one.
    order: Any = field(default=None, compare=False, repr=False)

    @property
    def earlier_run(self) -> bool:
        return self.earlier is not None

    @property
    def display_handle(self) -> str:
        return sanitize(self.ref.order_handle)

    def to_json(self) -> dict[str, Any]:
        # order_handle stays byte-exact for machines: json.dumps escapes control characters.
        return {
            "order_handle": self.ref.order_handle,
            "type": self.ref.type,
            "type_index": self.ref.type_index,
            "fulfillment_attempt": self.ref.fulfillment_attempt,
            "result": self.status.value,
            "attempts": self.attempts,
            "message": self.message,
            "field_errors": self.field_errors,
            "http_status": self.http_status,
            "request_id": self.request_id,
            "completed_at": format_timestamp(self.completed_at) if self.completed_at else None,
            "order_status": self.order_status,
            "flagged": self.flagged,
            "earlier_run": self.earlier_run,
            "earlier": self.earlier,
            "op_id": self.op_id,
        }


@dataclass(frozen=True)
class Progress:
    """A snapshot for a progress bar. Times come from the engine's (monotonic) clock."""

    total: int
    finished: int = 0
    succeeded: int = 0
    failed: int = 0
    in_doubt: int = 0
    not_sent: int = 0
    in_flight: int = 0
    elapsed: float = 0.0
    #: orders finished per second so far (None until one has finished)
    rate: float | None = None
    #: seconds left at the current rate (None while unknown)
    eta: float | None = None
    paused: bool = False

    @property
    def remaining(self) -> int:
        return self.total - self.finished

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True)
class BulkEvent:
    """Base of the events passed to ``on_event``. ``kind`` names the event for easy dispatch."""

    kind: ClassVar[str] = "event"
    progress: Progress


@dataclass(frozen=True)
class SettlingStarted(BulkEvent):
    """Intents of an interrupted earlier run are being settled by GET (before anything is sent)."""

    kind: ClassVar[str] = "settling"
    count: int = 0


@dataclass(frozen=True)
class PendingSettled(BulkEvent):
    kind: ClassVar[str] = "settled"
    result: OrderResult | None = None


@dataclass(frozen=True)
class SettleWaiting(BulkEvent):
    """A read-back found ``ref`` not applied while its request may still be in flight: nothing
    is concluded (or sent again) before ``seconds`` have passed. ``stop()`` leaves it in doubt."""

    kind: ClassVar[str] = "waiting"
    ref: OrderRef | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class RunStarted(BulkEvent):
    kind: ClassVar[str] = "started"
    run_id: str = ""
    total: int = 0
    duplicates: int = 0


@dataclass(frozen=True)
class RequestSent(BulkEvent):
    """A POST is about to go out (its intent is durable)."""

    kind: ClassVar[str] = "sent"
    ref: OrderRef | None = None
    attempt: int = 1


@dataclass(frozen=True)
class OrderFinished(BulkEvent):
    kind: ClassVar[str] = "result"
    result: OrderResult | None = None


@dataclass(frozen=True)
class RunPaused(BulkEvent):
    """The server throttled us (429): no request of this run goes out for ``retry_after`` s."""

    kind: ClassVar[str] = "paused"
    retry_after: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class RunResumed(BulkEvent):
    kind: ClassVar[str] = "resumed"


@dataclass(frozen=True)
class RunStopping(BulkEvent):
    """No new requests from now on; those in flight finish and are recorded."""

    kind: ClassVar[str] = "stopping"
    reason: StopReason = StopReason.OPERATOR
    message: str = ""


@dataclass(frozen=True)
class RunFinished(BulkEvent):
    kind: ClassVar[str] = "finished"
    report: "RunReport | None" = None


@dataclass
class RunReport:
    """Everything a run did. ``results`` has one entry per distinct input order, in input order."""

    run_id: str | None
    results: list[OrderResult]
    #: Orders of interrupted earlier runs, settled by GET before this run sent anything.
    settled: list[OrderResult] = field(default_factory=list)
    duplicates: list[OrderRef] = field(default_factory=list)
    stop_reason: StopReason | None = None
    stop_message: str = ""
    elapsed: float = 0.0

    def counts(self, *, include_settled: bool = False) -> Counter[ResultStatus]:
        items = self.results + (self.settled if include_settled else [])
        return Counter(r.status for r in items)

    def with_status(self, *statuses: ResultStatus) -> list[OrderResult]:
        wanted = set(statuses)
        return [r for r in self.results if r.status in wanted]

    @property
    def in_doubt(self) -> list[OrderResult]:
        return [r for r in self.settled + self.results if r.status is ResultStatus.IN_DOUBT]

    @property
    def retryable(self) -> list[OrderRef]:
        """What a "retry the failed ones" key should send again: settled failures that a new
        attempt could change, and orders never sent. In-doubt orders are excluded: they need a
        look first."""
        again = {ResultStatus.FAILED_NOT_SENT, ResultStatus.AUTH_FAILED, *NOT_ATTEMPTED_RESULTS}
        return [r.ref for r in self.results if r.status in again]
