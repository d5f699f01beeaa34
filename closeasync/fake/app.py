"""Serve a FakeClose over real HTTP with aiohttp.web (on 127.0.0.1 unless told otherwise).

::

    async with serve(FakeClose(seed=1)) as server:
        async with CloseAsync(api_key=server.fake.api_key, base_url=server.base_url) as close:
            ...

Faults behave as on the wire: a delay holds the answer back, a drop closes the
connection without one (after processing the request when the fault says so).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
from aiohttp import web

from ._http import MAX_BODY_BYTES, FakeRequest, FakeResponse, too_large
from .core import FakeClose

__all__ = ["FakeServer", "make_app", "serve"]


def make_app(fake: FakeClose) -> web.Application:
    """An aiohttp application answering every path from ``fake``.

    ``fake.faults.clear()`` releases the answers a delay fault is holding back; call it
    on the server's event loop.
    """
    released = asyncio.Event()

    def release() -> None:
        nonlocal released
        released.set()
        released = asyncio.Event()  # the next delays wait afresh

    fake.faults.on_clear.append(release)

    async def handle(request: web.Request) -> web.StreamResponse:
        # Too large is answered as the in-process fake does (JSON), not with aiohttp's text:
        # at once when the length is announced, else when reading passes aiohttp's limit; a
        # body within that limit (one byte more than Close's, see below) goes to the router,
        # which answers one over Close's limit itself.
        if (request.content_length or 0) > MAX_BODY_BYTES:
            return _web_response(too_large())
        try:
            content = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _web_response(too_large())
        try:
            fake_request = FakeRequest.from_wire(
                request.method, str(request.rel_url), dict(request.headers), content, root=fake.root
            )
        except ValueError:
            return web.json_response({"error": "The request contains invalid JSON."}, status=400)
        outcome = fake.handle(fake_request)
        if outcome.delay:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(released.wait(), outcome.delay)
        if outcome.drop is not None:
            # No answer at all: the client sees the connection close under it.
            if request.transport is not None:
                request.transport.close()
            raise web.HTTPServiceUnavailable()  # never reaches the closed socket
        return _web_response(outcome.response)

    # aiohttp refuses bodies over 1 MiB by default (413), but Close accepts an email whose
    # body_text and body_html are 1 MiB each: the fake must see them to answer as Close does.
    # aiohttp 3.11.0 refuses a body of exactly client_max_size (later releases take it): one
    # byte more, and the size is checked above, so every version answers as Close does.
    app = web.Application(client_max_size=MAX_BODY_BYTES + 1)
    app.router.add_route("*", "/{tail:.*}", handle)
    app.cleanup_ctx.append(fake.webhooks.serving)  # webhook deliveries, while the app runs
    return app


def _web_response(reply: FakeResponse) -> web.Response:
    return web.Response(
        status=reply.status,
        body=reply.content(),
        content_type="application/json",
        headers=dict(reply.headers),
    )


@attrs.frozen
class FakeServer:
    """A running served fake: where to point a client."""

    fake: FakeClose
    host: str
    port: int

    @property
    def base_url(self) -> str:
        """The API root URL, e.g. ``http://127.0.0.1:8000/api/v1`` (``http://[::1]:8000/...``)."""
        host = f"[{self.host}]" if ":" in self.host else self.host  # an IPv6 literal needs brackets
        return f"http://{host}:{self.port}{self.fake.root}"


@asynccontextmanager
async def serve(fake: FakeClose, *, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[FakeServer]:
    """Serve ``fake`` until the block ends; ``port=0`` picks a free port."""
    # handler_cancellation: a client that goes away (killed mid-request) cancels its
    # handler, as in a real server, instead of leaving a delayed answer to finish.
    runner = web.AppRunner(make_app(fake), access_log=None, handler_cancellation=True)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]  # the real port when port=0 asked for any free one
        yield FakeServer(fake, host, int(bound))
    finally:
        await runner.cleanup()
