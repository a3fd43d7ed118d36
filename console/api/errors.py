"""The client's exception tree, in the style of httpx's ``_exceptions.py``.

::

    HyperTrackError
    ├── InvalidHandle            a handle that may not be sent; nothing was sent
    ├── InvalidRequest           a bad parameter caught before sending; nothing was sent
    ├── TransportError           no HTTP response was received
    │   ├── RequestNotSent       provably never reached the server (connect error, pool timeout)
    │   │   └── CertificateError TLS verification failed: never retried
    │   └── OutcomeInDoubt       may have been applied (timeout after sending, dropped connection)
    ├── APIStatusError           the server answered with an error status
    │   ├── AuthenticationError  401 / 403
    │   ├── NotFoundError        404
    │   ├── ConflictError        409
    │   ├── ValidationFailed     422 (``field_errors`` holds the per-field messages)
    │   ├── RateLimited          429 (``retry_after`` in seconds, when the server said)
    │   ├── ServerError          5xx: may have been applied (a gateway 504 does not stop the backend)
    │   └── UnexpectedStatus     anything else (3xx redirects are never followed, 400, ...)
    └── MalformedResponse        a 2xx whose body is not what was asked for
        └── ResponseTooLarge     the body went over the size cap

Every message is sanitized: it can be shown on a terminal as it is.
"""

from __future__ import annotations

from typing import Any

from console.api.sanitize import sanitize


class HyperTrackError(Exception):
    """Base class of every error the client raises."""

    #: True when the request may have changed state on the server (a POST whose outcome is
    #: unknown). Such an outcome must be settled by reading the order back, never by re-sending.
    may_have_applied: bool = False

    def __init__(self, message: str) -> None:
        self.message = sanitize(message)
        super().__init__(self.message)


class InvalidHandle(HyperTrackError, ValueError):
    """The handle is not one we will put in a URL (empty, '.', '..', controls, too long)."""

    def __init__(self, handle: object, reason: str) -> None:
        from console.api.handles import describe_handle

        self.handle = handle
        self.reason = reason
        super().__init__(f"invalid order handle {describe_handle(handle)!s}: {reason}")


class InvalidRequest(HyperTrackError, ValueError):
    """A parameter was rejected before anything was sent."""


class TransportError(HyperTrackError):
    """No HTTP response was received."""

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        self.method = method
        self.path = path
        super().__init__(message)


class RequestNotSent(TransportError):
    """The request provably never reached the server: safe to send again."""


class CertificateError(RequestNotSent):
    """TLS verification failed: a security or configuration problem, never retried."""


class OutcomeInDoubt(TransportError):
    """The request may have reached the server and been applied; the response was lost."""

    may_have_applied = True


class APIStatusError(HyperTrackError):
    """The server answered with an error status."""

    def __init__(
        self,
        status_code: int,
        message: str,
        *,
        detail: Any = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status_code = status_code
        self.api_message = sanitize(message) if message else ""
        self.detail = detail
        self.request_id = sanitize(request_id) if request_id else None
        self.method = method
        self.path = path
        text = f"HTTP {status_code}"
        if self.api_message:
            text += f": {self.api_message}"
        super().__init__(text)


class AuthenticationError(APIStatusError):
    """401 or 403: the credentials were refused. A bulk run stops."""


class NotFoundError(APIStatusError):
    """404: no such order."""


class ConflictError(APIStatusError):
    """409: the order is in a state that does not allow the action (e.g. already completed)."""


class ValidationFailed(APIStatusError):
    """422: the server rejected a parameter. ``field_errors`` maps "location.field" to messages."""

    @property
    def field_errors(self) -> dict[str, list[str]]:
        return field_errors_from_detail(self.detail)


class RateLimited(APIStatusError):
    """429: throttled before any work was done. ``retry_after`` is in seconds, if given."""

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class ServerError(APIStatusError):
    """5xx: the server (or its gateway) failed; a POST may still have been applied."""

    may_have_applied = True

    def __init__(self, *args: Any, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(*args, **kwargs)


class UnexpectedStatus(APIStatusError):
    """A status the contract does not declare (redirects are never followed).

    A redirect or an odd 2xx/1xx may come after the backend acted, so it counts as "may have
    applied". Any other 4xx (400, 405, ...) is a refusal: nothing was applied (checklist: 400 is
    "rejected", like 422).
    """

    may_have_applied = True

    def __init__(self, status_code: int, *args: Any, **kwargs: Any) -> None:
        super().__init__(status_code, *args, **kwargs)
        if 400 <= status_code < 500:
            self.may_have_applied = False


class MalformedResponse(HyperTrackError):
    """A 2xx response whose body is not a valid answer to the request (an anomaly)."""

    may_have_applied = True

    def __init__(self, message: str, *, status_code: int | None = None, request_id: str | None = None) -> None:
        self.status_code = status_code
        self.request_id = sanitize(request_id) if request_id else None
        super().__init__(message)


class ResponseTooLarge(MalformedResponse):
    """The response body exceeded the client's size cap and was not read further."""


def field_errors_from_detail(detail: Any) -> dict[str, list[str]]:
    """Flatten ``{"<location>": {"<field>": ["msg", ...]}}`` into ``{"location.field": [...]}``.

    Any other shape is kept as well as it can be, never raised on.
    """
    out: dict[str, list[str]] = {}
    if not isinstance(detail, dict):
        return out
    for location, fields in detail.items():
        loc = sanitize(str(location))
        if isinstance(fields, dict):
            for field, messages in fields.items():
                key = f"{loc}.{sanitize(str(field))}"
                if isinstance(messages, list):
                    out[key] = [sanitize(str(m)) for m in messages]
                else:
                    out[key] = [sanitize(str(messages))]
        elif isinstance(fields, list):
            out[loc] = [sanitize(str(m)) for m in fields]
        elif fields not in (None, ""):
            out[loc] = [sanitize(str(fields))]
    return out
