"""An in-process transport to a :class:`~closeasync.fake.FakeClose` (no sockets).

It lives with the fake rather than in :mod:`closeasync.transports`: it is one of the
fake's two ways in (the other is :func:`closeasync.fake.app.serve`), it needs the fake's
request type, and ``FakeClose.transport()`` makes one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
import anyio.lowlevel

from .. import errors
from ..pipeline.wire import Request, Response, Timeout
from ._http import FakeRequest

if TYPE_CHECKING:
    from .core import FakeClose

__all__ = ["FakeTransport"]


class FakeTransport:
    """Hand requests straight to a FakeClose; faults behave as they would over HTTP.

    A dropped connection raises :class:`~closeasync.errors.TransportError` saying the
    request may have reached the server (it may have: see ``Fault.after``).
    """

    def __init__(self, fake: FakeClose) -> None:
        self.fake = fake

    def __repr__(self) -> str:
        return f"<FakeTransport to {self.fake!r}>"

    async def send(self, request: Request) -> Response:
        """Answer ``request`` from the fake."""
        # As over a socket, a request is a point where other tasks run and a
        # cancellation lands (the client's pipeline adds no pause of its own).
        await anyio.lowlevel.checkpoint()

        try:
            fake_request = FakeRequest.from_wire(
                request.method, request.url, dict(request.headers), request.content, root=self.fake.root
            )
        except ValueError:
            return Response(
                400, (("content-type", "application/json"),), b'{"error": "Invalid JSON."}', request
            )
        outcome = self.fake.handle(fake_request)
        if outcome.delay:
            # As over HTTP: a delay beyond the request's time limit is a timeout (after processing).
            limit = _wait_limit(request.timeout)
            if limit is not None and outcome.delay > limit:
                await anyio.sleep(limit)
                raise errors.RequestTimeoutError(
                    "timed out waiting for the response (the fake's injected delay)",
                    may_have_reached_server=True,
                    method=request.method,
                    url=request.url,
                )
            await anyio.sleep(outcome.delay)
        if outcome.drop is not None:
            raise errors.TransportError(
                "connection dropped by the fake server",
                may_have_reached_server=True,
                method=request.method,
                url=request.url,
            )
        reply = outcome.response
        headers = (("content-type", "application/json"), *reply.headers)
        return Response(reply.status, headers, reply.content(), request)

    async def aclose(self) -> None:
        """Nothing to release."""


def _wait_limit(timeout: Timeout | None) -> float | None:
    """How long a response may take under ``timeout`` (the tighter of total and read)."""
    if timeout is None:
        return None
    limits = [t for t in (timeout.total, timeout.read) if t is not None]
    return min(limits) if limits else None
