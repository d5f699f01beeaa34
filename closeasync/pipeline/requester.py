"""The requester: the one thing a resource knows of its client.

A resource asks it to build a request from a route, send it through the pipeline
(pacing, retries), check the status and decode the JSON, with every error cleaned of
the credentials. The client owns the connection state (:class:`Connection`: the
credentials, the base URL, the pipeline) and hands each resource a :class:`Requester`
carrying its own defaults (a view made by ``with_options`` has another timeout or retry
policy over the same connection).

::

    resource -> Requester.exchange(route, ...) -> build_request -> Pipeline.send
             -> status check (decode_error) -> decode_json -> (data, response)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

from .. import errors
from ..retry import RetryPolicy
from .auth import Credentials, redact_exception
from .routes import Route
from .sender import Pipeline
from .wire import QueryValue, Response, Timeout, build_request, decode_error, decode_json

__all__ = ["Connection", "Requester"]

log = logging.getLogger("closeasync")


class Connection:
    """What a client and every view of it share: where requests go, as whom, and how.

    Attributes:
        credentials: the key or token (never shown).
        base_url: the API root, without a trailing slash.
        headers: the headers every request carries (the Authorization one included).
        pipeline: pacing, the concurrency cap and retries; it keeps the closed flag.
        secrets: what must never appear in an error message, even if a server echoes it.
    """

    __slots__ = ("base_url", "credentials", "headers", "pipeline", "secrets")

    def __init__(
        self,
        credentials: Credentials,
        base_url: str,
        headers: tuple[tuple[str, str], ...],
        pipeline: Pipeline,
    ) -> None:
        self.credentials = credentials
        self.base_url = base_url.rstrip("/")
        self.headers = headers
        self.pipeline = pipeline
        self.secrets = credentials.secrets()

    @property
    def closed(self) -> bool:
        """Whether the client was closed (the pipeline keeps the flag: it checks it most)."""
        return self.pipeline.closed

    def check_open(self) -> None:
        """Raise :class:`~closeasync.errors.ClientClosedError` once the client is closed."""
        if self.pipeline.closed:
            raise errors.ClientClosedError(
                "this CloseAsync client is closed; create a new one (async with CloseAsync(...) as close:)"
            )


class Requester:
    """Sends requests for resources: build, send, check, decode, redact.

    One per client or view: ``timeout`` and ``retry`` are that client's defaults.
    """

    __slots__ = ("connection", "retry", "timeout")

    def __init__(self, connection: Connection, *, timeout: Timeout, retry: RetryPolicy) -> None:
        self.connection = connection
        self.timeout = timeout
        self.retry = retry

    @property
    def secrets(self) -> frozenset[str]:
        """The credentials every error is cleaned of."""
        return self.connection.secrets

    async def call(
        self,
        route: Route,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        sends: bool = False,
    ) -> Any:
        """Send one request and return its decoded JSON body (see :meth:`exchange`)."""
        data, _ = await self.exchange(route, path_params=path_params, query=query, json=json, sends=sends)
        return data

    async def exchange(
        self,
        route: Route,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        sends: bool = False,
        decode: bool = True,
    ) -> tuple[Any, Response]:
        """Send one request (with pacing and retries); return its decoded JSON body and the response.

        The response is there so that a body that does not fit its model can be
        reported with its status, bytes, method and URL. ``sends`` marks a request
        that sends an email or SMS: it is never repeated once it may have reached Close.
        ``decode=False`` leaves the body undecoded (None in its place): decode it later
        with :meth:`decode` (a prefetched page waits as bytes).

        Raises:
            APIError: Close answered with an error status.
            TransportError: no response arrived.
            WriteOutcomeUnknownError: a write failed after it may have been processed.
            ResponseValidationError: the body is not JSON.
            ClientClosedError: the client was closed.
        """
        connection = self.connection
        pipeline = connection.pipeline
        if pipeline.closed:
            connection.check_open()
        request = build_request(
            route,
            base_url=connection.base_url,
            path_params=path_params,
            query=query,
            json=json,
            headers=connection.headers,
            timeout=self.timeout,
            sends=sends,
        )
        debug = log.isEnabledFor(logging.DEBUG)  # skips timing and formatting on every call
        started = time.perf_counter() if debug else 0.0
        try:
            response = await pipeline.send(request, policy=self.retry)
            if debug:
                log.debug(
                    "%s %s -> %d in %.1f ms",
                    request.method,
                    request.url,
                    response.status,
                    (time.perf_counter() - started) * 1000,
                )
            if not 200 <= response.status < 300:
                # Redirects are not followed (an API client should not be sent elsewhere quietly).
                raise decode_error(response)
            return (decode_json(response) if decode else None), response
        except errors.CloseError as exc:
            redact_exception(exc, connection.secrets)
            log.info("%s %s failed: %s", request.method, request.url, exc)
            raise

    def decode(self, response: Response) -> Any:
        """Decode a successful response's JSON body, as :meth:`exchange` does.

        Raises:
            ResponseValidationError: the body is not JSON (credentials removed).
        """
        try:
            return decode_json(response)
        except errors.CloseError as exc:
            redact_exception(exc, self.connection.secrets)
            raise
