"""The client: lifecycle, options, resources and the request pipeline.

::

    async with CloseAsync(api_key="api_...") as close:
        email = await close.emails.get("acti_...")

One call goes: resource (validate, build parameters) -> its
:class:`~closeasync.pipeline.requester.Requester` (route, auth, headers; pacing and
retries in the pipeline; ``transport.send``; status -> typed error; JSON) -> the
resource structures the model. The client only makes and closes what they share.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import SplitResult, urlsplit

import aiohttp

from . import errors
from ._version import __version__
from .pipeline.auth import Credentials
from .pipeline.pacing import RateLimitState
from .pipeline.requester import Connection, Requester
from .pipeline.sender import EventHook, Pipeline
from .pipeline.wire import Timeout
from .resources import CallsResource, EmailThreadsResource, MeetingsResource, NotesResource
from .resources.activities import ActivitiesResource
from .resources.emails import EmailsResource
from .resources.events import EventsResource
from .resources.raw import RawResource
from .resources.sms import SMSResource
from .retry import RetryPolicy
from .transports.aiohttp import AiohttpTransport

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import TracebackType

    from .listing.paginator import AsyncPaginator
    from .pipeline.wire import QueryValue
    from .transports.base import Transport

__all__ = ["DEFAULT_BASE_URL", "CloseAsync"]

DEFAULT_BASE_URL = "https://api.close.com/api/v1"
log = logging.getLogger("closeasync")


class CloseAsync:
    """An async client for the Close API.

    Args:
        api_key: a Close API key (HTTP Basic, key as username). Defaults to the
            ``CLOSE_API_KEY`` environment variable when no credential is given.
        oauth_token: an OAuth 2.0 access token (Bearer), instead of ``api_key``.
        base_url: the API root. Defaults to the ``CLOSE_BASE_URL`` environment variable,
            else ``https://api.close.com/api/v1``; e.g. a ``closeasync serve`` fake's URL.
        transport: how requests are sent; defaults to an :class:`AiohttpTransport`.
        session: an aiohttp session to borrow (not closed by the client).
        timeout: default time limits: a :class:`Timeout` or total seconds.
        max_connections: connection pool size of the client's own session.
        tz_offset: hours sent as ``X-TZ-Offset`` (how Close reads naive dates).
        retry: when and how failed requests are repeated (see :class:`RetryPolicy`);
            ``RetryPolicy(max_attempts=1)`` turns retries off.
        max_concurrency: most requests in flight at once (default: ``max_connections``).
        pace_rate_limits: hold requests back while Close's ``RateLimit`` header says the
            endpoint group's budget is spent, so tasks wait instead of meeting 429s, and
            while a group's budget is still unknown send its first request alone (its
            answer tells the budget). False sends regardless and only a 429 makes them wait.
        on_event: called with a :class:`RequestEvent` for every attempt, response,
            retry, rate-limit wait and give-up (for metrics).

    The client closes its transport when closed, a transport passed in included
    (as httpx does); a borrowed aiohttp ``session`` is left open.

    Raises:
        ConfigurationError: no credential, both kinds, or conflicting options.

    >>> import asyncio
    >>> async def main() -> None:
    ...     async with CloseAsync(api_key="api_example") as close:
    ...         print(close)
    >>> asyncio.run(main())
    <CloseAsync https://api.close.com/api/v1 api_key>
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        oauth_token: str | None = None,
        base_url: str | None = None,
        transport: Transport | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: Timeout | float | None = None,
        max_connections: int = 100,
        tz_offset: float | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int | None = None,
        pace_rate_limits: bool = True,
        on_event: EventHook | Sequence[EventHook] | None = None,
    ) -> None:
        if api_key is not None and oauth_token is not None:
            raise errors.ConfigurationError("pass api_key or oauth_token, not both")
        if api_key is None and oauth_token is None:
            api_key = os.environ.get("CLOSE_API_KEY")
            if not api_key:
                raise errors.ConfigurationError(
                    "no credentials: pass api_key= or oauth_token=, or set CLOSE_API_KEY"
                )
        credentials = (
            Credentials.oauth_token(oauth_token)
            if oauth_token is not None
            else Credentials.api_key(api_key or "")
        )
        if transport is not None and session is not None:
            raise errors.ConfigurationError("pass transport or session, not both")
        if max_concurrency is not None and max_concurrency < 1:
            raise errors.ConfigurationError("max_concurrency must be at least 1")
        self._timeout = _as_timeout(timeout)
        self._retry = retry or RetryPolicy()
        if transport is None:
            transport = AiohttpTransport(
                session=session, timeout=self._timeout, max_connections=max_connections
            )
        headers = [
            ("authorization", credentials.header),
            ("accept", "application/json"),
            ("user-agent", f"closeasync/{__version__} aiohttp/{aiohttp.__version__}"),
        ]
        if tz_offset is not None:
            headers.append(("x-tz-offset", f"{tz_offset:g}"))
        if base_url is None:
            # Read as CLOSE_API_KEY is, so a script meant for a fake never goes to production.
            base_url = os.environ.get("CLOSE_BASE_URL") or DEFAULT_BASE_URL
        hooks = () if on_event is None else (on_event,) if callable(on_event) else tuple(on_event)
        pipeline = Pipeline(
            transport,
            policy=self._retry,
            limits=RateLimitState(max_concurrency=max_concurrency or max_connections, pace=pace_rate_limits),
            hooks=hooks,
        )
        self._connection = Connection(credentials, _check_base_url(base_url), tuple(headers), pipeline)
        self._attach_resources()

    def _attach_resources(self) -> None:
        requester = self._requester = Requester(self._connection, timeout=self._timeout, retry=self._retry)
        self.emails = EmailsResource(requester)
        """Email activities: list, get, create, update, send, schedule, cancel, delete."""
        self.sms = SMSResource(requester)
        """SMS activities: the same methods as :attr:`emails`."""
        self.activities = ActivitiesResource(requester)
        """Every activity type of a lead or organization, as typed models."""
        self.notes = NotesResource(requester)
        """Note activities: list, get, create, update, delete."""
        self.calls = CallsResource(requester)
        """Call activities: list, get, create (log an outside call), update, delete."""
        self.meetings = MeetingsResource(requester)
        """Meeting activities: list, get, update, delete (Close makes them from calendars)."""
        self.email_threads = EmailThreadsResource(requester)
        """Email threads: list, get, delete (which deletes the thread's emails)."""
        self.events = EventsResource(requester)
        """Close's event log: list, get, and a feed that follows changes."""

    @property
    def transport(self) -> Transport:
        """The transport requests go through."""
        return self._connection.pipeline.transport

    @property
    def base_url(self) -> str:
        """The API root URL."""
        return self._connection.base_url

    @property
    def closed(self) -> bool:
        """Whether :meth:`aclose` was called."""
        return self._connection.closed

    def with_options(
        self, *, timeout: Timeout | float | None = None, retry: RetryPolicy | None = None
    ) -> CloseAsync:
        """Return a view of this client with other defaults; it shares the connection pool
        and the rate-limit state.

        >>> close = CloseAsync(api_key="api_example")
        >>> close.with_options(timeout=5).timeout
        Timeout(total=5.0, connect=10.0, read=None)
        """
        view = object.__new__(CloseAsync)
        view._connection = self._connection
        view._timeout = _as_timeout(timeout) if timeout is not None else self._timeout
        view._retry = retry or self._retry
        view._attach_resources()
        return view

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy of this client (or view)."""
        return self._retry

    @property
    def timeout(self) -> Timeout:
        """The default time limits of this client (or view)."""
        return self._timeout

    async def __aenter__(self) -> CloseAsync:
        self._check_open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self.aclose()
        except Exception:
            if exc is None:
                raise
            # A failure while closing must not hide the one that ended the block.
            log.exception("closing the client after an error failed too")

    async def aclose(self) -> None:
        """Close the client and its transport. Safe to call twice.

        Views made by :meth:`with_options` share the client: closing one closes all.
        """
        if self._connection.closed:
            return
        self._connection.pipeline.closed = True
        await self._connection.pipeline.transport.aclose()

    def _check_open(self) -> None:
        self._connection.check_open()

    def __repr__(self) -> str:
        return f"<CloseAsync {self._connection.base_url} {self._connection.credentials.kind}>"

    # -- any endpoint, as plain JSON (resources/raw.py: paths, groups, what is never repeated) --

    async def get(self, path: str, *, params: Mapping[str, QueryValue] | None = None) -> Any:
        """GET any endpoint (a path relative to ``base_url``); return the decoded JSON.

        ``params`` take what the typed lists take (lists are comma-joined; datetimes, dates
        and enums are formatted); a long query moves into the body, as Close documents.
        Pacing, retries, typed errors and redaction are the typed calls' own::

            lead = await close.get("/lead/lead_abc/", params={"_fields": ["id", "name"]})

        Raises:
            InvalidRequestError: the path leaves the base URL, has a query, or a parameter is
                bad (nothing was sent).
            APIError: Close answered with an error status (``NotFoundError``, ...).
        """
        return await RawResource(self._requester).request("GET", path, params=params)

    async def post(
        self, path: str, *, json: Any = None, params: Mapping[str, QueryValue] | None = None
    ) -> Any:
        """POST ``json`` to any endpoint; return the decoded JSON. Never repeated once it may
        have reached Close (then ``WriteOutcomeUnknownError``)::

            lead = await close.post("/lead/", json={"name": "Acme"})
        """
        return await RawResource(self._requester).request("POST", path, params=params, json=json)

    async def put(
        self, path: str, *, json: Any = None, params: Mapping[str, QueryValue] | None = None
    ) -> Any:
        """PUT ``json`` to any endpoint; return the decoded JSON. Repeated after a 5xx or a lost
        answer, except one moving an email or SMS to ``outbox``/``scheduled``::

            await close.put("/lead/lead_abc/", json={"description": "Key account"})
        """
        return await RawResource(self._requester).request("PUT", path, params=params, json=json)

    async def delete(self, path: str, *, params: Mapping[str, QueryValue] | None = None) -> Any:
        """DELETE any endpoint; return the decoded JSON (Close answers ``{}``). Repeated after a
        5xx or a lost answer; a 404 after an attempt that may have arrived counts as done::

            await close.delete("/lead/lead_abc/")
        """
        return await RawResource(self._requester).request("DELETE", path, params=params)

    def paginate(
        self,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        page_size: int = 100,
        prefetch: int = 0,
    ) -> AsyncPaginator[dict[str, Any]]:
        """List any endpoint paged by ``_skip``/``_limit``/``has_more``; each item is the JSON
        object Close sent. Lazy, with ``.pages()``, ``.limit(n)``, ``.collect()`` and
        ``prefetch=`` as ``close.emails.list``::

            async for lead in close.paginate("/lead/", params={"query": "acme"}):
                print(lead["display_name"])

        Raises:
            InvalidRequestError: as :meth:`get`, or ``params`` sets ``_skip``/``_limit``.
        """
        return RawResource(self._requester).paginate(
            path, params=params, page_size=page_size, prefetch=prefetch
        )


def _check_base_url(url: str) -> str:
    parts: SplitResult | None = None
    port: int | None = None
    try:
        if isinstance(url, str):
            parts = urlsplit(url)
            port = parts.port  # raises for a port out of range
    except ValueError:  # e.g. an unclosed IPv6 bracket
        parts = None
    if parts is not None and (parts.username is not None or parts.password is not None):
        # Never echoed: it holds a secret. The key goes in api_key=, never in the URL.
        raise errors.ConfigurationError("base_url must not contain a user name or password")
    if parts is not None and (parts.query or parts.fragment):
        # Not echoed either: a query string is where a key pasted into a URL would be.
        raise errors.ConfigurationError(
            f"base_url must have no query string or fragment (?... or #...), such as {DEFAULT_BASE_URL!r}"
        )
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or port == 0:
        raise errors.ConfigurationError(
            f"base_url must be an http(s) URL such as {DEFAULT_BASE_URL!r}, got {url!r}"
        )
    return url


def _as_timeout(value: Timeout | float | None) -> Timeout:
    if value is None:
        return Timeout()
    if isinstance(value, Timeout):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return Timeout(total=float(value))
    raise errors.ConfigurationError(f"timeout must be a Timeout or positive seconds, got {value!r}")
