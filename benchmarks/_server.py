"""The benchmarks' page server, run in a child process by ``_common.page_server``.

Two implementations answer the same routes with the same bytes:

- ``protocol`` (the default): a minimal HTTP/1.1 server on :class:`asyncio.Protocol`.
  Each answer's status line, headers and body are prepared before the server starts;
  per request it only parses the request line, formats the ``RateLimit`` header and
  writes. Keep-alive, ``Content-Length`` bodies, requests answered in order on each
  connection (pipelining too).
- ``aiohttp``: the same routes as an ``aiohttp.web`` app (the server of the first
  benchmark runs, kept to compare with).

Why the minimal one: with ``aiohttp.web`` the child process spent ~0.5-1 ms of CPU per
600 KiB page (request parsing, routing, a ``web.Response``, writing), time during which
every client waits for its next page. That wait is the same absolute time for every
client, so it pushed all ratios toward 1 and measured the server more than the clients.
The clients, the data and the bytes on the wire are unchanged; only the server's own
cost per request is smaller, as it is for Close's API seen from one client.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

import orjson

#: Routes (``{root}`` is ``/api/v1``; ``/slow/api/v1`` answers the same after the latency).
LIST_PATH = "/activity/email/"
GET_PREFIX = "/activity/email/"
#: The event log: empty (nothing changes while a benchmark runs); an export reads it after its walk.
EVENTS_PATH = "/event/"
NO_EVENTS = orjson.dumps({"data": [], "cursor_next": None, "cursor_previous": None})


class Answers:
    """What the server says: the pages by ``_skip``, one email, and the RateLimit window."""

    def __init__(
        self, emails: list[dict[str, Any]], pages: dict[int, bytes], page_size: int, one: bytes, rate: int
    ) -> None:
        self.emails = emails
        self.pages = pages
        self.page_size = page_size
        self.one = one
        self.rate = rate
        self.window_end = 0.0
        self.used = 0

    def rate_limit(self) -> str:
        """An honest one-second window (the budget is larger than any benchmark uses)."""
        now = time.monotonic()
        if now >= self.window_end:
            self.window_end, self.used = now + 1.0, 0
        self.used += 1
        left = self.rate - self.used
        return f"limit={self.rate}, remaining={left}, reset={self.window_end - now:.3f}"

    def page(self, query: dict[str, str]) -> bytes:
        skip = int(query.get("_skip", 0))
        limit = int(query.get("_limit", self.page_size))
        body = self.pages.get(skip) if limit == self.page_size else None
        if body is None:  # not a page boundary: slice (never on the measured path)
            data = self.emails[skip : skip + limit]
            body = orjson.dumps({"data": data, "has_more": skip + limit < len(self.emails)})
        return body

    def route(self, target: str) -> tuple[bytes | None, bool]:
        """The body for a request target (None: not found), and whether it is a slow route."""
        path, _, query = target.partition("?")
        slow = path.startswith("/slow/")
        if slow:
            path = path[len("/slow") :]
        if not path.startswith("/api/v1/"):
            return None, slow
        path = path[len("/api/v1") :]
        if path == LIST_PATH:
            return self.page(dict(parse_qsl(query))), slow
        if path == EVENTS_PATH:
            return NO_EVENTS, slow
        if path.startswith(GET_PREFIX) and path.endswith("/") and path.count("/") == 4:
            return self.one, slow
        return None, slow


_OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\nRateLimit: %s\r\n\r\n"
_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
#: A request head larger than this is refused (the benchmarks send ~300 bytes).
_MAX_HEAD = 64 * 1024


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse request heads, answer each in order."""

    def __init__(self, answers: Answers, latency: float) -> None:
        self.answers = answers
        self.latency = latency
        self.buffer = b""
        self.transport: asyncio.Transport | None = None
        # Answers in request order; None while a slow one is still waiting.
        self.queue: deque[list[bytes | None]] = deque()
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > _MAX_HEAD and self.transport is not None:
                    self.transport.close()
                return
            head = self.buffer[:end].decode("latin-1")
            lines = head.split("\r\n")
            length = 0
            close = False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                name = name.strip().lower()
                if name == "content-length":
                    length = int(value)
                elif name == "connection" and value.strip().lower() == "close":
                    close = True
            if len(self.buffer) < end + 4 + length:
                return  # the body (never sent by the benchmarks) is not all here yet
            self.buffer = self.buffer[end + 4 + length :]
            self._answer(lines[0], close)

    def _answer(self, request_line: str, close: bool) -> None:
        parts = request_line.split(" ")
        body, slow = self.answers.route(parts[1]) if len(parts) == 3 else (None, False)
        slot: list[bytes | None] = [None]
        self.queue.append(slot)
        self.close_after = self.close_after or close

        def ready() -> None:
            if body is None:
                slot[0] = _NOT_FOUND
            else:
                slot[0] = _OK % (len(body), self.answers.rate_limit().encode()) + body
            self._flush()

        if slow and self.latency > 0:
            asyncio.get_running_loop().call_later(self.latency, ready)
        else:
            ready()

    def _flush(self) -> None:
        transport = self.transport
        while self.queue and self.queue[0][0] is not None:
            data = self.queue.popleft()[0]
            if transport is not None and not transport.is_closing():
                transport.write(data)  # type: ignore[arg-type]
        if self.close_after and not self.queue and transport is not None:
            transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def serve_protocol(answers: Answers, latency: float, started: Callable[[int], None]) -> None:
    """Serve until the parent closes our stdin."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Connection(answers, latency), "127.0.0.1", 0, backlog=1024)
    started(server.sockets[0].getsockname()[1])
    await _until_stdin_closes()
    server.close()
    await server.wait_closed()


async def serve_aiohttp(answers: Answers, latency: float, started: Callable[[int], None]) -> None:
    """The same routes with ``aiohttp.web`` (for comparison with earlier results)."""
    from aiohttp import web

    def respond(body: bytes) -> web.Response:
        headers = {"Content-Type": "application/json", "RateLimit": answers.rate_limit()}
        return web.Response(body=body, headers=headers)

    async def listing(request: web.Request) -> web.Response:
        return respond(answers.page(dict(request.rel_url.query)))

    async def slow_listing(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        return await listing(request)

    async def get_one(request: web.Request) -> web.Response:
        return respond(answers.one)

    async def slow_get_one(request: web.Request) -> web.Response:
        await asyncio.sleep(latency)
        return respond(answers.one)

    async def events(request: web.Request) -> web.Response:
        return respond(NO_EVENTS)

    app = web.Application()
    app.router.add_get("/api/v1/event/", events)
    app.router.add_get("/api/v1/activity/email/", listing)
    app.router.add_get("/api/v1/activity/email/{id}/", get_one)
    app.router.add_get("/slow/api/v1/activity/email/", slow_listing)
    app.router.add_get("/slow/api/v1/activity/email/{id}/", slow_get_one)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    started(runner.addresses[0][1])
    await _until_stdin_closes()
    await runner.cleanup()


async def _until_stdin_closes() -> None:
    import sys

    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)


SERVERS = {"protocol": serve_protocol, "aiohttp": serve_aiohttp}
