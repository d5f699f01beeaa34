"""closeasync: an async-first, typed Python SDK for the Close CRM API.

>>> import asyncio
>>> from closeasync import CloseAsync
>>> async def main() -> None:
...     async with CloseAsync(api_key="api_...") as close:  # doctest: +SKIP
...         async for email in close.emails.list(lead_id="lead_..."):
...             print(email.subject)
"""

from __future__ import annotations

from ._pipeline import RequestEvent
from ._ratelimit_headers import RateLimit
from ._version import __version__
from ._wire import Timeout
from .bulk import BulkResult
from .client import DEFAULT_BASE_URL, CloseAsync
from .errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    CassetteError,
    CassetteSecretError,
    ClientClosedError,
    CloseError,
    ConfigurationError,
    ConnectError,
    FieldValueError,
    InvalidRequestError,
    MethodNotAllowedError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    TransportError,
    UnmatchedRequestError,
    UnsupportedMediaTypeError,
    UnusedInteractionsError,
    WriteOutcomeUnknownError,
)
from .models import FieldNotLoaded
from .pagination import AsyncPaginator, Page
from .retry import RetryPolicy
from .sync import SyncCursor, SyncIterator

__all__ = [
    "DEFAULT_BASE_URL",
    "APIError",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BulkResult",
    "CassetteError",
    "CassetteSecretError",
    "ClientClosedError",
    "CloseAsync",
    "CloseError",
    "ConfigurationError",
    "ConnectError",
    "FieldNotLoaded",
    "FieldValueError",
    "InvalidRequestError",
    "MethodNotAllowedError",
    "NotFoundError",
    "Page",
    "PaymentRequiredError",
    "PermissionDeniedError",
    "RateLimit",
    "RateLimitError",
    "RequestEvent",
    "RequestTimeoutError",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "SyncCursor",
    "SyncIterator",
    "Timeout",
    "TransportError",
    "UnmatchedRequestError",
    "UnsupportedMediaTypeError",
    "UnusedInteractionsError",
    "WriteOutcomeUnknownError",
    "__version__",
]
