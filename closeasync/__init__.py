"""closeasync: an async-first, typed Python SDK for the Close CRM API.

>>> import asyncio
>>> from closeasync import CloseAsync
>>> async def main() -> None:
...     async with CloseAsync(api_key="api_...") as close:  # doctest: +SKIP
...         async for email in close.emails.list(lead_id="lead_..."):
...             print(email.subject)
"""

# Names are imported on first use (PEP 562), so ``import closeasync`` (and the pytest plugin
# that every pytest run of a project with closeasync installed loads) costs no aiohttp,
# cattrs or model imports until a program touches the client. Type checkers read the
# imports below; ``_PUBLIC`` says where each name lives at run time, and a test checks
# that the two agree.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .bulk import BulkResult as BulkResult
    from .client import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from .client import CloseAsync as CloseAsync
    from .errors import APIError as APIError
    from .errors import AuthenticationError as AuthenticationError
    from .errors import BadRequestError as BadRequestError
    from .errors import CassetteError as CassetteError
    from .errors import CassetteSecretError as CassetteSecretError
    from .errors import ClientClosedError as ClientClosedError
    from .errors import CloseError as CloseError
    from .errors import ConfigurationError as ConfigurationError
    from .errors import ConnectError as ConnectError
    from .errors import EventLogExpiredError as EventLogExpiredError
    from .errors import FieldValueError as FieldValueError
    from .errors import InvalidRequestError as InvalidRequestError
    from .errors import MethodNotAllowedError as MethodNotAllowedError
    from .errors import NotFoundError as NotFoundError
    from .errors import PaymentRequiredError as PaymentRequiredError
    from .errors import PermissionDeniedError as PermissionDeniedError
    from .errors import RateLimitError as RateLimitError
    from .errors import RequestTimeoutError as RequestTimeoutError
    from .errors import ResponseValidationError as ResponseValidationError
    from .errors import ServerError as ServerError
    from .errors import TransportError as TransportError
    from .errors import UnmatchedRequestError as UnmatchedRequestError
    from .errors import UnsupportedMediaTypeError as UnsupportedMediaTypeError
    from .errors import UnusedInteractionsError as UnusedInteractionsError
    from .errors import WriteOutcomeUnknownError as WriteOutcomeUnknownError
    from .listing.changes import ChangeCursor as ChangeCursor
    from .listing.changes import ChangeFeed as ChangeFeed
    from .listing.cursor import SyncCursor as SyncCursor
    from .listing.keyset import SyncIterator as SyncIterator
    from .listing.paginator import AsyncPaginator as AsyncPaginator
    from .listing.paginator import Page as Page
    from .models import FieldNotLoaded as FieldNotLoaded
    from .pipeline.ratelimit import RateLimit as RateLimit
    from .pipeline.sender import RequestEvent as RequestEvent
    from .pipeline.wire import Timeout as Timeout
    from .retry import RetryPolicy as RetryPolicy

_PUBLIC: dict[str, str] = {
    "RequestEvent": ".pipeline.sender",
    "RateLimit": ".pipeline.ratelimit",
    "Timeout": ".pipeline.wire",
    "BulkResult": ".bulk",
    "DEFAULT_BASE_URL": ".client",
    "CloseAsync": ".client",
    "APIError": ".errors",
    "AuthenticationError": ".errors",
    "BadRequestError": ".errors",
    "CassetteError": ".errors",
    "CassetteSecretError": ".errors",
    "ClientClosedError": ".errors",
    "CloseError": ".errors",
    "ConfigurationError": ".errors",
    "ConnectError": ".errors",
    "EventLogExpiredError": ".errors",
    "FieldValueError": ".errors",
    "InvalidRequestError": ".errors",
    "MethodNotAllowedError": ".errors",
    "NotFoundError": ".errors",
    "PaymentRequiredError": ".errors",
    "PermissionDeniedError": ".errors",
    "RateLimitError": ".errors",
    "RequestTimeoutError": ".errors",
    "ResponseValidationError": ".errors",
    "ServerError": ".errors",
    "TransportError": ".errors",
    "UnmatchedRequestError": ".errors",
    "UnsupportedMediaTypeError": ".errors",
    "UnusedInteractionsError": ".errors",
    "WriteOutcomeUnknownError": ".errors",
    "FieldNotLoaded": ".models",
    "AsyncPaginator": ".listing.paginator",
    "Page": ".listing.paginator",
    "RetryPolicy": ".retry",
    "SyncCursor": ".listing.cursor",
    "ChangeCursor": ".listing.changes",
    "ChangeFeed": ".listing.changes",
    "SyncIterator": ".listing.keyset",
}

__all__ = [*_PUBLIC, "__version__"]


#: Subpackages and modules reachable as attributes (``closeasync.models.Email``), as they
#: were when this module imported them all.
_SUBMODULES = frozenset(
    {
        "bulk",
        "cli",
        "client",
        "errors",
        "export",
        "fake",
        "models",
        "listing",
        "pagination",
        "pipeline",
        "params",
        "retry",
        "rules",
        "sync",
        "testing",
        "transports",
        "webhooks",
    }
)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif name in _SUBMODULES:
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module 'closeasync' has no attribute {name!r}")
    globals()[name] = value  # later lookups are plain module attributes
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
