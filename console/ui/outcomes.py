"""Words for what happened: turn the client's exceptions into a title and a message a supervisor
can act on. Pure functions; the messages are already sanitized by the client.

The distinction that matters for a complete is the reliability checklist's: *not sent* (nothing
happened, safe to try again), *rejected* (the server refused: nothing happened), and *in doubt*
(it may have been applied: the console reads the order back before anyone tries again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.api import errors as E

if TYPE_CHECKING:  # annotations only: the pydantic models are not needed to word an error
    from console.api.models import Order, OrderRef


@dataclass
class CompleteOutcome:
    """What one complete call ended with (the worker's result)."""

    #: The server's answer on success.
    completed: Order | None = None
    error: E.HyperTrackError | None = None
    #: The order as read back after an error that may have applied or a conflict.
    checked: Order | None = None
    check_error: E.HyperTrackError | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def now_completed(self) -> Order | None:
        """The order in its completed state, whether the POST said so or the read-back did."""
        if self.completed is not None:
            return self.completed
        if self.checked is not None and self.checked.status == "completed":
            return self.checked
        return None


def error_title(exc: BaseException, *, action: str = "") -> str:
    """A short title naming the kind of failure (and its HTTP status, when there was one)."""
    prefix = f"{action} failed: " if action else ""
    if isinstance(exc, E.NotFoundError):
        return f"{prefix}order not found (HTTP 404)"
    if isinstance(exc, E.ConflictError):
        return f"{prefix}the order's state does not allow it (HTTP 409)"
    if isinstance(exc, E.ValidationFailed):
        return f"{prefix}rejected by the server (HTTP 422)"
    if isinstance(exc, E.AuthenticationError):
        return f"{prefix}credentials refused (HTTP {exc.status_code})"
    if isinstance(exc, E.RateLimited):
        return f"{prefix}throttled by the server (HTTP 429)"
    if isinstance(exc, E.ServerError):
        return f"{prefix}server error (HTTP {exc.status_code})"
    if isinstance(exc, E.APIStatusError):
        return f"{prefix}unexpected answer (HTTP {exc.status_code})"
    if isinstance(exc, E.CertificateError):
        return f"{prefix}TLS certificate refused"
    if isinstance(exc, E.RequestNotSent):
        return f"{prefix}not sent: the server could not be reached"
    if isinstance(exc, E.OutcomeInDoubt):
        return f"{prefix}no answer from the server"
    if isinstance(exc, E.MalformedResponse):
        return f"{prefix}the server's answer was not valid"
    if isinstance(exc, (E.InvalidHandle, E.InvalidRequest)):
        return f"{prefix}not sent: invalid request"
    if isinstance(exc, E.HyperTrackError):
        return f"{prefix}error"
    return f"{prefix}unexpected error ({type(exc).__name__})"


def error_message(exc: BaseException) -> str:
    """The server's own message when it sent one, else the client's description."""
    if isinstance(exc, E.APIStatusError):
        message = exc.api_message or ""
        if isinstance(exc, E.RateLimited) and exc.retry_after is not None:
            message = f"{message} (retry after {exc.retry_after:g} s)".strip()
        return message or exc.message
    if isinstance(exc, E.HyperTrackError):
        return exc.message
    from console.api.sanitize import sanitize

    return sanitize(str(exc))[:300]


def field_errors(exc: BaseException) -> dict[str, list[str]] | None:
    if isinstance(exc, E.ValidationFailed):
        return exc.field_errors or None
    return None


def request_id(exc: BaseException) -> str | None:
    return getattr(exc, "request_id", None)


def complete_message(outcome: CompleteOutcome) -> str:
    """The detail pane's message for a failed complete: what the server said, whether it may have
    been applied, and what reading the order back showed."""
    exc = outcome.error
    assert exc is not None
    parts = [error_message(exc)]
    if isinstance(exc, E.RequestNotSent):
        parts.append("Nothing was sent, so nothing changed; try again when the connection is back.")
    elif isinstance(exc, E.RateLimited):
        parts.append("The server refused before doing any work: nothing changed.")
    elif exc.may_have_applied:
        parts.append("The completion may have been applied.")
    elif not isinstance(exc, E.ConflictError):
        parts.append("Nothing was changed.")
    if outcome.checked is not None:
        checked = outcome.checked
        if checked.status == "completed":
            when = checked.completed_at.isoformat(timespec="seconds") if checked.completed_at else "unknown time"
            parts.append(f"Read back: the order is completed (completed_at {when}).")
        else:
            parts.append(f"Read back: the order is {checked.status}, not completed.")
    elif outcome.check_error is not None:
        parts.append(
            f"Reading the order back failed too ({error_message(outcome.check_error)}): "
            "its state is unknown until the next refresh."
        )
    parts.extend(outcome.notes)
    parts = [p for p in parts if p]
    if parts and parts[0][-1:] not in ".!?":
        parts[0] += "."
    return " ".join(parts)


def needs_read_back(exc: BaseException) -> bool:
    """An outcome in doubt, or a conflict (already completed? cancelled?), is settled by a GET."""
    return isinstance(exc, E.ConflictError) or bool(getattr(exc, "may_have_applied", False))


def same_leg(ref: OrderRef, order: Order) -> bool:
    """Whether ``order`` is the leg and attempt ``ref`` names.

    ``GET /orders/{h}`` takes no ``type``/``type_index``: for a handle with several legs it
    answers with one of them (the sandbox: the first leg of the latest attempt), which may not be
    the row's. Showing that leg's status as this row's would mislead, so callers check.
    """
    if ref.type is not None and order.type is not None and order.type != ref.type:
        return False
    if ref.type_index is not None and order.type_index is not None and order.type_index != ref.type_index:
        return False
    if (
        ref.fulfillment_attempt is not None
        and order.fulfillment_attempt is not None
        and order.fulfillment_attempt != ref.fulfillment_attempt
    ):
        return False
    return True


def describe_leg(ref: OrderRef | Order) -> str:
    kind = ref.type or "order"
    index = ref.type_index if ref.type_index is not None else 0
    text = f"{kind} #{index}" if ref.type else kind
    if ref.fulfillment_attempt is not None:
        text += f", attempt {ref.fulfillment_attempt}"
    return text
