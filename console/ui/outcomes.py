"""Words for what happened: turn the client's exceptions into a title and a message a supervisor
can act on. Pure functions; the messages are already sanitized by the client.

The distinction that matters for a complete is the reliability checklist's: *not sent* (nothing
happened, safe to try again), *rejected* (the server refused: nothing happened), and *in doubt*
(it may have been applied: the console reads the order back before anyone tries again).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.api import errors

if TYPE_CHECKING:  # annotations only: the pydantic models are not needed to word an error
    from console.bulk.results import OrderResult


def error_title(exc: BaseException, *, action: str = "") -> str:
    """A short title naming the kind of failure (and its HTTP status, when there was one)."""
    prefix = f"{action} failed: " if action else ""
    if isinstance(exc, errors.NotFoundError):
        return f"{prefix}order not found (HTTP 404)"
    if isinstance(exc, errors.ConflictError):
        return f"{prefix}the order's state does not allow it (HTTP 409)"
    if isinstance(exc, errors.ValidationFailed):
        return f"{prefix}rejected by the server (HTTP 422)"
    if isinstance(exc, errors.AuthenticationError):
        return f"{prefix}credentials refused (HTTP {exc.status_code})"
    if isinstance(exc, errors.RateLimited):
        return f"{prefix}throttled by the server (HTTP 429)"
    if isinstance(exc, errors.ServerError):
        return f"{prefix}server error (HTTP {exc.status_code})"
    if isinstance(exc, errors.APIStatusError):
        return f"{prefix}unexpected answer (HTTP {exc.status_code})"
    if isinstance(exc, errors.CertificateError):
        return f"{prefix}TLS certificate refused"
    if isinstance(exc, errors.RequestNotSent):
        return f"{prefix}not sent: the server could not be reached"
    if isinstance(exc, errors.OutcomeInDoubt):
        return f"{prefix}no answer from the server"
    if isinstance(exc, errors.MalformedResponse):
        return f"{prefix}the server's answer was not valid"
    if isinstance(exc, (errors.InvalidHandle, errors.InvalidRequest)):
        return f"{prefix}not sent: invalid request"
    if isinstance(exc, errors.HyperTrackError):
        return f"{prefix}error"
    return f"{prefix}unexpected error ({type(exc).__name__})"


def error_message(exc: BaseException) -> str:
    """The server's own message when it sent one, else the client's description."""
    if isinstance(exc, errors.APIStatusError):
        message = exc.api_message or ""
        if isinstance(exc, errors.RateLimited) and exc.retry_after is not None:
            message = f"{message} (retry after {exc.retry_after:g} s)".strip()
        return message or exc.message
    if isinstance(exc, errors.HyperTrackError):
        return exc.message
    from console.api.sanitize import sanitize

    return sanitize(str(exc))[:300]


def field_errors(exc: BaseException) -> dict[str, list[str]] | None:
    if isinstance(exc, errors.ValidationFailed):
        return exc.field_errors or None
    return None


def request_id(exc: BaseException) -> str | None:
    return getattr(exc, "request_id", None)


def result_title(result: OrderResult, *, action: str = "Complete") -> str:
    """A short title for what the pipeline ended with (its HTTP status, when it had one)."""
    from console.bulk.results import ResultStatus as S

    status, http = result.status, result.http_status
    code = f" (HTTP {http})" if http else ""
    if status is S.COMPLETED:
        return "completed"
    if status is S.COMPLETED_RECONCILED:
        return "completed (the answer was lost; reading the order back showed it completed)"
    if status is S.ALREADY_COMPLETED:
        return "already completed" + (" (HTTP 409)" if http == 409 else "")
    if status is S.NOT_FOUND:
        return f"{action} failed: order not found{code}"
    if status is S.REJECTED:
        return f"{action} failed: rejected by the server{code}" if http else f"{action} failed: not sent: invalid request"
    if status is S.CONFLICT:
        return f"{action} failed: the order's state does not allow it{code}"
    if status is S.FAILED_NOT_SENT:
        return f"{action} failed: not sent"
    if status is S.AUTH_FAILED:
        return f"{action} failed: credentials refused{code}"
    if status is S.IN_DOUBT:
        return f"{action}: IN DOUBT"
    if status is S.NOT_APPLIED:
        return f"{action} did not take effect"
    return f"{action}: not sent"


def result_message(result: OrderResult) -> str:
    """What happened, in a sentence or two, and what the supervisor can do next."""
    from console.bulk.results import EARLIER_WORDS
    from console.bulk.results import ResultStatus as S

    parts = [result.message]
    status = result.status
    if status is S.IN_DOUBT:
        parts.append("It may have been applied: look at the order before completing it again.")
    elif status is S.NOT_APPLIED:
        parts.append("Nothing changed; c sends it again.")
    elif status in (S.NOT_FOUND, S.REJECTED, S.FAILED_NOT_SENT, S.AUTH_FAILED, S.STOPPED, S.NOT_SENT):
        parts.append("Nothing was changed.")
    if result.earlier:
        parts.insert(0, f"({EARLIER_WORDS.get(result.earlier, result.earlier)})")
    parts = [p for p in parts if p]
    if parts and parts[-1][-1:] not in ".!?)":
        parts[-1] += "."
    if len(parts) > 1 and parts[0][-1:] not in ".!?)":
        parts[0] += "."
    return " ".join(parts)
