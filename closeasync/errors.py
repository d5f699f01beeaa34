"""Every exception closeasync raises, in one place.

::

    CloseError
    ├── APIError                      Close answered with an error status
    │   ├── BadRequestError           400, with ``errors`` and ``field_errors``
    │   ├── AuthenticationError       401
    │   ├── PaymentRequiredError      402 (a plan limit)
    │   ├── PermissionDeniedError     403
    │   ├── NotFoundError             404
    │   ├── MethodNotAllowedError     405
    │   ├── UnsupportedMediaTypeError 415
    │   ├── RateLimitError            429, with ``retry_after`` and ``rate_limit``
    │   └── ServerError               5xx
    ├── TransportError                no usable response; ``may_have_reached_server``
    │   ├── ConnectError              never connected: the request did not leave
    │   └── RequestTimeoutError       also a builtin ``TimeoutError``
    ├── WriteOutcomeUnknownError      a write may have been processed: check, don't repeat
    ├── ResponseValidationError       a 2xx whose body is not what Close documents
    │   └── FieldValueError           a field's value, found wrong when first read
    ├── InvalidRequestError           refused before sending; ``field_errors``
    ├── EventLogExpiredError          a change feed's resume point is older than the event log keeps
    ├── ConfigurationError            bad client arguments
    ├── ClientClosedError             the client was used after ``aclose()``
    └── CassetteError                 record/replay: UnmatchedRequestError,
                                      UnusedInteractionsError, CassetteSecretError

No exception's message, ``repr`` or attributes hold the API key or OAuth token:
requests are described by method and URL only, never by their headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from .pipeline.ratelimit import RateLimit

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "CassetteError",
    "CassetteSecretError",
    "ClientClosedError",
    "CloseError",
    "ConfigurationError",
    "ConnectError",
    "EventLogExpiredError",
    "FieldValueError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseValidationError",
    "ServerError",
    "TransportError",
    "UnmatchedRequestError",
    "UnsupportedMediaTypeError",
    "UnusedInteractionsError",
    "WriteOutcomeUnknownError",
]


def restore_exception(
    cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]
) -> BaseException:
    """Rebuild a pickled exception without calling its ``__init__`` (see ``CloseError.__reduce__``)."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class CloseError(Exception):
    """Base class of every closeasync exception.

    Every one pickles (for process pools and task queues) with its attributes: most
    take keyword-only arguments, which pickle's default ``cls(*args)`` cannot give back.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        return (restore_exception, (type(self), self.args, dict(self.__dict__)))


class APIError(CloseError):
    """Close answered with an error status.

    Attributes:
        status: the HTTP status code.
        body: the decoded JSON body, or the text when it is not JSON (``None`` if empty).
        message: Close's own message when it gave one.
        request_id: the request id from the response headers, if any.
        method: the HTTP method of the request.
        url: the URL of the request (no credentials are ever part of it).
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        body: Any = None,
        request_id: str | None = None,
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.body = body
        self.request_id = request_id
        self.method = method
        self.url = url

    def __str__(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        rid = f" [request {self.request_id}]" if self.request_id else ""
        return f"{self.status}: {self.message}{where}{rid}"


class BadRequestError(APIError):
    """400: Close refused the request's content.

    ``field_errors`` maps Close's field names (``"subject"``, ``"_limit"``) to messages;
    ``errors`` holds the messages that concern no single field.
    """

    def __init__(
        self,
        message: str,
        *,
        errors: list[str] | None = None,
        field_errors: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errors = list(errors or [])
        self.field_errors = dict(field_errors or {})


class AuthenticationError(APIError):
    """401: the API key or OAuth token is missing, wrong or revoked."""


class PaymentRequiredError(APIError):
    """402: a limit of the organization's plan was reached."""


class PermissionDeniedError(APIError):
    """403: the key's user may not do this."""


class NotFoundError(APIError):
    """404: no such object (or no such URL)."""


class MethodNotAllowedError(APIError):
    """405: the endpoint does not support this HTTP method."""


class UnsupportedMediaTypeError(APIError):
    """415: the request body was not in a format Close accepts."""


class RateLimitError(APIError):
    """429: too many requests for this endpoint group.

    ``retry_after`` is the number of seconds Close asked us to wait (from the
    ``RateLimit`` header's ``reset``, else ``Retry-After``, else the legacy body),
    or ``None`` if it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        rate_limit: RateLimit | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after
        self.rate_limit = rate_limit


class ServerError(APIError):
    """5xx: Close (or a proxy in front of it) failed."""


class TransportError(CloseError):
    """No usable response arrived.

    ``may_have_reached_server`` is False only when the request provably never left
    (the connection was refused, the name did not resolve): only then is repeating
    a write harmless.
    """

    def __init__(
        self, message: str, *, may_have_reached_server: bool, method: str = "", url: str = ""
    ) -> None:
        super().__init__(message)
        self.may_have_reached_server = may_have_reached_server
        self.method = method
        self.url = url


class ConnectError(TransportError):
    """The connection could not be made; the request was not sent."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message, may_have_reached_server=False, method=method, url=url)


class RequestTimeoutError(TransportError, TimeoutError):
    """The request took longer than its timeout allowed."""


class WriteOutcomeUnknownError(CloseError):
    """A write may or may not have been processed, and repeating it could duplicate it.

    Raised instead of retrying a POST (or a PUT that sends an email or SMS) whose
    request may have reached Close before the failure (a reset connection, a
    timeout, a 5xx). Check (by listing, say) before trying again. The failure is
    ``__cause__``; ``method`` and ``url`` name the request.
    """

    def __init__(self, message: str, *, method: str, url: str) -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ResponseValidationError(CloseError):
    """A successful response whose body is not what Close documents.

    Raised, instead of handing out a model that would be silently wrong, when a 2xx
    answer is not JSON; when a get, create or update is answered with an empty body
    (or a 204), with something other than one JSON object (a list, a list envelope
    ``{"data": [...]}``), with an object without ``id`` (unless ``fields=[...]`` left
    ``id`` out), or with an object whose ``_type`` names another model than the one
    asked for; and when an item of a listing is not a JSON object.

    The leniency kept, on purpose (Close adds fields and values without notice):
    unknown keys (kept, see :func:`~closeasync.models.extra_fields`), unknown enum
    values (kept as plain strings), an object without ``_type``, and a malformed
    field value, which raises the subclass :class:`FieldValueError` only when that
    field is read.

    ``status``, ``method`` and ``url`` name the response (its message says them too);
    ``body`` holds its bytes (for an item of a listing, that item's JSON). No
    credential is in any of them, and the message never quotes the body.

    >>> err = ResponseValidationError("expected one Email object, got an empty answer",
    ...     status=200, body=b"", method="GET", url="https://api.close.com/api/v1/activity/email/acti_1/")
    >>> str(err)
    'expected one Email object, got an empty answer (HTTP 200 from GET https://api.close.com/api/v1/activity/email/acti_1/)'
    """

    def __init__(self, message: str, *, status: int, body: bytes, method: str = "", url: str = ""):
        super().__init__(message)
        self.status = status
        self.body = body
        self.method = method
        self.url = url

    def __str__(self) -> str:
        message = super().__str__()
        if self.method:
            return f"{message} (HTTP {self.status} from {self.method} {self.url})"
        return f"{message} (HTTP {self.status})" if self.status else message


class FieldValueError(ResponseValidationError):
    """A model field whose JSON value does not fit its type, found when the field is read.

    Models convert timestamps, enums and nested objects on first read (see
    :mod:`closeasync.models`), so a value Close sent malformed surfaces here, naming the
    model and field, instead of failing the whole listing it came in. ``status``,
    ``method`` and ``url`` say which response the object came in (``0`` and empty for
    a model not built from a response); ``body`` is the JSON object holding the field.

    >>> err = FieldValueError("Email.date_created: bad", model="Email", field="date_created")
    >>> (err.model, err.field, err.status)
    ('Email', 'date_created', 0)
    """

    def __init__(
        self,
        message: str,
        *,
        model: str,
        field: str,
        status: int = 0,
        body: bytes = b"",
        method: str = "",
        url: str = "",
    ) -> None:
        super().__init__(message, status=status, body=body, method=method, url=url)
        self.model = model
        self.field = field


class InvalidRequestError(CloseError, ValueError):
    """The request was refused before anything was sent.

    ``field_errors`` uses the same field names as Close's own 400 ``field-errors``,
    so code handling one can handle the other.

    >>> err = InvalidRequestError({"subject": "at most 1000 characters"})
    >>> str(err)
    'subject: at most 1000 characters'
    """

    def __init__(self, field_errors: Mapping[str, str], errors: list[str] | None = None) -> None:
        self.field_errors = dict(field_errors)
        self.errors = list(errors or [])
        parts = [f"{field}: {msg}" for field, msg in self.field_errors.items()] + self.errors
        super().__init__("; ".join(parts))


class EventLogExpiredError(CloseError):
    """A change feed cannot go on: its resume point is older than Close's event log keeps.

    Close keeps events for 30 days. Changes made between ``since`` and ``oldest`` can no
    longer be read, so a copy kept by following them must be walked again from scratch
    (a full export into a new file); nothing is skipped silently.

    Attributes:
        since: where the feed stood (the newest change it had delivered).
        oldest: the oldest moment the event log still covers.
    """

    def __init__(self, message: str, *, since: datetime, oldest: datetime) -> None:
        super().__init__(message)
        self.since = since
        self.oldest = oldest


class ConfigurationError(CloseError, ValueError):
    """The client was given arguments it cannot work with."""


class ClientClosedError(CloseError, RuntimeError):
    """The client was used after it was closed."""


class CassetteError(CloseError):
    """Base of the record/replay errors (a test set-up problem, not Close's)."""


class UnmatchedRequestError(CassetteError):
    """A request has no unused recorded interaction to answer it."""


class UnusedInteractionsError(CassetteError):
    """Recorded interactions were never requested (when the cassette demands all be used)."""


class CassetteSecretError(CassetteError):
    """Refused to write a cassette that still contains a credential."""
