"""The transport seam: one coroutine that turns a Request into a Response.

Everything above it (routing, auth, validation, retries, pagination) is shared by
every transport; everything below it is one way of moving bytes (aiohttp over the
network, a cassette, the in-memory fake). Nothing monkeypatches an HTTP library.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..pipeline.wire import Request, Response

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """Sends requests. Implementations map their own failures to closeasync errors.

    ``send`` returns any response the server gave, error statuses included (the
    client decodes those); it raises :class:`~closeasync.errors.TransportError`
    when no response arrived, saying whether the request may have reached the server.

    ``send`` must wait on something at least once, as real I/O always does: the client
    takes a free concurrency slot without yielding (it is on every request's path), so
    an in-memory transport should ``await anyio.lowlevel.checkpoint()``, as the fake's
    and the replay transports do. One that never awaits keeps other tasks, timeouts
    and cancellation from running while a listing goes on.
    """

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return the whole response."""
        ...

    async def aclose(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...
