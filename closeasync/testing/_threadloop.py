"""Run an asyncio-only transport on a private event loop in its own thread.

The pytest plugin records through aiohttp, which needs asyncio, while the test
using the cassette may run under any backend (pytest-asyncio, or anyio's plugin
with asyncio or trio). Bridging through a private loop makes recording work from
all of them, and lets a *synchronous* fixture teardown close the aiohttp session.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

import anyio.to_thread

from ..pipeline.wire import Request, Response
from ..transports.base import Transport

__all__ = ["ThreadLoopTransport"]


class ThreadLoopTransport:
    """A transport whose ``inner`` (made by ``factory``) lives on a private event loop."""

    def __init__(self, factory: Callable[[], Transport], *, close_timeout: float = 10.0) -> None:
        self._factory = factory
        self._inner: Transport | None = None
        self._close_timeout = close_timeout
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="closeasync-recorder", daemon=True
        )
        self._thread.start()
        self._closed = False

    async def _send(self, request: Request) -> Response:
        if self._inner is None:
            self._inner = self._factory()  # created inside its own running loop
        return await self._inner.send(request)

    async def send(self, request: Request) -> Response:
        """Send on the private loop and wait for it from whatever backend is running.

        Cancelling the wait cancels the request on the private loop (and frees the
        worker thread that waited for it) instead of waiting for it to finish.
        """
        future = asyncio.run_coroutine_threadsafe(self._send(request), self._loop)
        try:
            return await anyio.to_thread.run_sync(future.result, abandon_on_cancel=True)
        except BaseException:
            future.cancel()
            raise

    def close(self) -> None:
        """Close the inner transport and stop the loop (synchronous; safe to call twice)."""
        if self._closed:
            return
        self._closed = True
        if self._inner is not None:
            asyncio.run_coroutine_threadsafe(self._inner.aclose(), self._loop).result(self._close_timeout)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(self._close_timeout)
        self._loop.close()

    async def aclose(self) -> None:
        """Close from async code."""
        await anyio.to_thread.run_sync(self.close)
