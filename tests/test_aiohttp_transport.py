"""The real :class:`AiohttpTransport` against a real aiohttp.web server on loopback.

Every test talks HTTP over a socket bound to 127.0.0.1 on an ephemeral port: what
the server receives (method, path, raw query, headers, body) is recorded, and what
it answers (JSON, HTML, truncated bodies, hang-ups, never) is scripted per test.
Waits are bounded with :func:`asyncio.timeout` so a bug fails a test instead of
hanging the suite, and a handler that blocks is released at teardown.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import socket
import traceback
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from multidict import CIMultiDictProxy

from closeasync import (
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    CloseAsync,
    CloseError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    RateLimit,
    RateLimitError,
    RequestTimeoutError,
    ResponseValidationError,
    ServerError,
    Timeout,
    TransportError,
)
from closeasync.errors import WriteOutcomeUnknownError
from closeasync.models import Email
from closeasync.transports import AiohttpTransport, Request, Response
from tests.conftest import NO_RETRY

API_KEY = "api_AIOHTTPSECRET0123456789abcdefXYZ"
BASIC_TOKEN = base64.b64encode(f"{API_KEY}:".encode()).decode("ascii")
OAUTH_TOKEN = "oauth_SECRETTOKEN_9876543210"
EMAIL_ID = "acti_WuIVvTT9b3zLmOOWalxK0OrqtdkxEEdu4mNr1TPGb2o"
EMAIL_PATH = f"/api/v1/activity/email/{EMAIL_ID}/"
EMAIL_JSON: dict[str, Any] = orjson.loads(
    (Path(__file__).parent / "data" / "close_docs" / "000_get_email_response_1.json").read_bytes()
)
BOUND = 5.0  # seconds: the most any single wait may take before the test fails

Reply = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query_string: str
    headers: CIMultiDictProxy[str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


def reply_json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
    """A scripted answer: ``body`` as JSON with ``status``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.json_response(body, status=status, headers=headers)

    return handler


def reply_raw(content: bytes, status: int, content_type: str) -> Reply:
    """A scripted answer with a body that need not be JSON."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=content, status=status, content_type=content_type)

    return handler


async def truncated_body(request: web.Request) -> web.StreamResponse:
    """Promise 1000 bytes, send a few, then drop the connection."""
    response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "1000"})
    await response.prepare(request)
    await response.write(b'{"id": "acti_')
    assert request.transport is not None
    request.transport.close()
    return response


async def hang_up(request: web.Request) -> web.StreamResponse:
    """Drop the connection after reading the request, before any response byte."""
    assert request.transport is not None
    request.transport.close()
    raise asyncio.CancelledError  # as aiohttp does to a handler whose connection is lost


class FakeClose:
    """A stand-in for Close on a real loopback socket; each test scripts :attr:`reply`."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.reply: Reply = reply_json({"_type": "Email", "id": EMAIL_ID})
        self.blocked = asyncio.Event()  # a handler reached its blocking point
        self.disconnected = asyncio.Event()  # a blocked handler was cancelled: the client hung up
        self.release = asyncio.Event()  # set only at teardown, so blocked handlers end
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.server = TestServer(app, host="127.0.0.1")  # port 0: the OS picks a free one

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/api/v1"

    @property
    def last(self) -> Seen:
        assert self.seen, "the server received no request"
        return self.seen[-1]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, request.query_string, request.headers, body))
        return await self.reply(request)

    async def block(self, request: web.Request) -> web.StreamResponse:
        """Wait on an event that is set only at teardown: the client must give up first."""
        self.blocked.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            # TestServer cancels a handler whose client closed the connection.
            self.disconnected.set()
            raise
        return web.json_response({})

    async def stall_body(self, request: web.Request) -> web.StreamResponse:
        """Send the headers and part of the body, then wait like :meth:`block`."""
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "100"})
        await response.prepare(request)
        await response.write(b'{"id": ')
        await self.block(request)
        return response


def acquired_connections(transport: AiohttpTransport) -> int:
    """Count the connections checked out of the transport's pool and not yet given back.

    aiohttp 3.14's ``TCPConnector`` puts every connection it hands to a request in the
    private set ``_acquired`` and removes it when the response is released or closed
    (``_acquired_per_host`` is only kept when ``limit_per_host`` is set, which ours is
    not). A request that ends by timeout or cancellation must leave it empty, or the
    pool leaks a slot for good.
    """
    session = transport.session
    assert session is not None, "no session was created"
    connector = session.connector
    assert isinstance(connector, aiohttp.TCPConnector)
    return len(connector._acquired)


def transport_of(client: CloseAsync) -> AiohttpTransport:
    transport = client.transport
    assert isinstance(transport, AiohttpTransport)
    return transport


def closed_port() -> int:
    """A loopback port nothing listens on (bound, read, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class Recording:
    """A transport that keeps the Request and Response values passing through a real one."""

    def __init__(self, inner: AiohttpTransport) -> None:
        self.inner = inner
        self.requests: list[Request] = []
        self.responses: list[Response] = []

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        response = await self.inner.send(request)
        self.responses.append(response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
async def server() -> AsyncIterator[FakeClose]:
    fake = FakeClose()
    await fake.server.start_server()
    try:
        yield fake
    finally:
        fake.release.set()
        await fake.server.close()


@pytest.fixture
async def client(server: FakeClose) -> AsyncIterator[CloseAsync]:
    async with CloseAsync(
        retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, timeout=Timeout(total=BOUND)
    ) as close:
        yield close


# -- requests on the wire ---------------------------------------------------------------------------


async def test_get_email_sends_route_query_and_headers(server: FakeClose, client: CloseAsync) -> None:
    """A GET reaches the server with its path, raw query, Basic auth, Accept and User-Agent."""
    server.reply = reply_json({"id": EMAIL_ID, "subject": "Welcome to Close!"})
    async with asyncio.timeout(BOUND):
        email = await client.emails.get(EMAIL_ID, fields=["id", "subject"])
    assert isinstance(email, Email)
    assert (email.id, email.subject) == (EMAIL_ID, "Welcome to Close!")
    seen = server.last
    assert (seen.method, seen.path, seen.query_string) == ("GET", EMAIL_PATH, "_fields=id,subject")
    assert seen.headers["Authorization"] == f"Basic {BASIC_TOKEN}"
    assert base64.b64decode(seen.headers["Authorization"].removeprefix("Basic ")) == f"{API_KEY}:".encode()
    assert seen.headers["Accept"] == "application/json"
    assert seen.headers["User-Agent"].startswith("closeasync/")
    assert seen.body == b""
    assert len(server.seen) == 1


async def test_get_email_structures_the_full_response(server: FakeClose, client: CloseAsync) -> None:
    """A full Email response read off the socket becomes a typed Email with parsed datetimes."""
    server.reply = reply_json(EMAIL_JSON)
    async with asyncio.timeout(BOUND):
        email = await client.emails.get(EMAIL_ID)
    assert email.id == EMAIL_ID
    assert email.subject == "Welcome to Close!"
    assert isinstance(email.date_created, datetime)
    assert server.last.query_string == ""


async def test_oauth_token_is_sent_as_bearer(server: FakeClose) -> None:
    """An OAuth client sends ``Authorization: Bearer <token>`` and no Basic credentials."""
    server.reply = reply_json({"id": EMAIL_ID})
    async with (
        CloseAsync(retry=NO_RETRY, oauth_token=OAUTH_TOKEN, base_url=server.base_url) as close,
        asyncio.timeout(BOUND),
    ):
        await close.emails.get(EMAIL_ID)
    assert server.last.headers.getall("Authorization") == [f"Bearer {OAUTH_TOKEN}"]


async def test_create_posts_exactly_the_json_body(server: FakeClose, client: CloseAsync) -> None:
    """A create is a POST whose JSON body, as received, is exactly the fields given."""
    server.reply = reply_json({"id": EMAIL_ID, "status": "draft"})
    async with asyncio.timeout(BOUND):
        email = await client.emails.create(
            lead_id="lead_1", status="draft", subject="Hi ✓", body_text="Hello", to=["a@example.com"]
        )
    assert email.id == EMAIL_ID
    seen = server.last
    assert (seen.method, seen.path, seen.query_string) == ("POST", "/api/v1/activity/email/", "")
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.headers["Content-Length"] == str(len(seen.body))
    assert seen.json() == {
        "lead_id": "lead_1",
        "status": "draft",
        "subject": "Hi ✓",
        "body_text": "Hello",
        "to": ["a@example.com"],
    }


async def test_long_query_falls_back_to_post_with_method_override(
    server: FakeClose, client: CloseAsync
) -> None:
    """A list whose URL is too long arrives as POST + ``x-http-method-override: GET`` + ``_params``."""
    ids = [f"acti_{i:02d}" + "x" * 40 for i in range(60)]
    server.reply = reply_json({"data": [{"id": ids[0]}], "has_more": False})
    async with asyncio.timeout(BOUND):
        emails = await client.emails.list(id__in=ids).collect()
    assert [e.id for e in emails] == [ids[0]]
    seen = server.last
    assert (seen.method, seen.path, seen.query_string) == ("POST", "/api/v1/activity/email/", "")
    assert seen.headers["x-http-method-override"] == "GET"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.json() == {"_params": {"id__in": ",".join(ids), "_limit": "100"}}


# -- error statuses through the whole stack --------------------------------------------------------


async def test_a_page_larger_than_the_read_buffer_arrives_whole(
    server: FakeClose, client: CloseAsync
) -> None:
    """A list page of several MiB (the session reads up to 1 MiB before pausing) comes through intact."""
    items = [
        {"_type": "Email", "id": f"acti_{i}", "lead_id": "lead_1", "body_text": f"{i} " + "x" * 30_000}
        for i in range(100)
    ]
    server.reply = reply_json({"data": items, "has_more": False})
    async with asyncio.timeout(BOUND):
        got = await client.emails.list(page_size=100).collect()
    assert [e.id for e in got] == [f"acti_{i}" for i in range(100)]
    assert all(e.body_text == f"{i} " + "x" * 30_000 for i, e in enumerate(got))


async def test_400_is_bad_request_with_field_errors(server: FakeClose, client: CloseAsync) -> None:
    """A Close 400 body becomes BadRequestError with its ``errors`` and ``field-errors``."""
    body = {"errors": ["Something is off."], "field-errors": {"subject": "Too long."}}
    server.reply = reply_json(body, status=400)
    async with asyncio.timeout(BOUND):
        with pytest.raises(BadRequestError) as info:
            await client.emails.get(EMAIL_ID)
    assert info.value.status == 400
    assert info.value.errors == ["Something is off."]
    assert info.value.field_errors == {"subject": "Too long."}
    assert info.value.method == "GET"
    assert info.value.url == server.base_url + EMAIL_PATH.removeprefix("/api/v1")


async def test_404_is_not_found(server: FakeClose, client: CloseAsync) -> None:
    """A 404 ``{"error": "Not found"}`` becomes NotFoundError carrying Close's message."""
    server.reply = reply_json({"error": "Not found"}, status=404)
    async with asyncio.timeout(BOUND):
        with pytest.raises(NotFoundError) as info:
            await client.emails.get(EMAIL_ID)
    assert (info.value.status, info.value.message) == (404, "Not found")


async def test_502_html_is_server_error_with_snippet(server: FakeClose, client: CloseAsync) -> None:
    """A proxy's HTML 502 becomes ServerError whose message quotes the page."""
    page = b"<html><head><title>502 Bad Gateway</title></head><body>nginx upstream down</body></html>"
    server.reply = reply_raw(page, 502, "text/html")
    async with asyncio.timeout(BOUND):
        with pytest.raises(ServerError) as info:
            await client.emails.get(EMAIL_ID)
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.message
    assert "nginx upstream down" in str(info.value)


async def test_429_is_rate_limit_error_preferring_ratelimit_reset(
    server: FakeClose, client: CloseAsync
) -> None:
    """A 429 gives RateLimitError with ``retry_after`` from ``RateLimit: reset`` over ``Retry-After``."""
    headers = {"RateLimit": "limit=10; remaining=0; reset=2.5", "Retry-After": "3"}
    server.reply = reply_json({"error": "Too many requests"}, status=429, headers=headers)
    async with asyncio.timeout(BOUND):
        with pytest.raises(RateLimitError) as info:
            await client.emails.get(EMAIL_ID)
    assert info.value.retry_after == 2.5
    assert info.value.rate_limit == RateLimit(limit=10, remaining=0, reset=2.5)
    assert len(server.seen) == 1


async def test_200_with_non_json_body_is_response_validation_error(
    server: FakeClose, client: CloseAsync
) -> None:
    """A 200 whose body is not JSON becomes ResponseValidationError holding the raw bytes."""
    server.reply = reply_raw(b"<html>maintenance</html>", 200, "text/html")
    async with asyncio.timeout(BOUND):
        with pytest.raises(ResponseValidationError) as info:
            await client.emails.get(EMAIL_ID)
    assert info.value.status == 200
    assert info.value.body == b"<html>maintenance</html>"


# -- timeouts, refusals, hang-ups --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "stall_after_headers"),
    [
        (Timeout(total=0.2), False),
        (Timeout(total=None, read=0.2), False),
        (Timeout(total=None, read=0.2), True),
    ],
    ids=["total", "read", "read-mid-body"],
)
async def test_unanswered_request_times_out(
    server: FakeClose, limit: Timeout, stall_after_headers: bool
) -> None:
    """A server that stops answering gives RequestTimeoutError (may have reached it), no leaked connection."""
    server.reply = server.stall_body if stall_after_headers else server.block
    async with CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, timeout=limit) as close:
        async with asyncio.timeout(BOUND):
            with pytest.raises(RequestTimeoutError) as info:
                await close.emails.get(EMAIL_ID)
            await server.disconnected.wait()  # the client closed the connection it gave up on
        assert info.value.may_have_reached_server is True
        assert isinstance(info.value, TimeoutError)
        assert info.value.url == f"{server.base_url}/activity/email/{EMAIL_ID}/"
        assert acquired_connections(transport_of(close)) == 0


async def test_with_options_timeout_applies_per_call(server: FakeClose, client: CloseAsync) -> None:
    """``with_options(timeout=...)`` bounds the view's calls; the base client keeps its own limit."""
    server.reply = server.block
    view = client.with_options(timeout=Timeout(total=None, read=0.2))
    async with asyncio.timeout(BOUND):  # the base client's 5 s would trip this first
        with pytest.raises(RequestTimeoutError):
            await view.emails.get(EMAIL_ID)
    assert client.timeout == Timeout(total=BOUND)
    server.reply = reply_json({"id": EMAIL_ID})
    async with asyncio.timeout(BOUND):
        assert (await client.emails.get(EMAIL_ID)).id == EMAIL_ID  # same pool, still healthy
    assert acquired_connections(transport_of(client)) == 0


@pytest.mark.parametrize(
    ("default", "per_request"),
    [(Timeout(total=0.2), None), (Timeout(total=BOUND * 10), Timeout(total=None, read=0.2))],
    ids=["transport-default", "request-wins"],
)
async def test_transport_uses_request_timeout_else_its_default(
    server: FakeClose, default: Timeout, per_request: Timeout | None
) -> None:
    """The transport applies ``Request.timeout`` when set and its own default otherwise."""
    server.reply = server.block
    transport = AiohttpTransport(timeout=default)
    try:
        async with asyncio.timeout(BOUND):
            with pytest.raises(RequestTimeoutError) as info:
                await transport.send(Request("GET", server.base_url + "/x/", timeout=per_request))
        assert info.value.may_have_reached_server is True
        assert acquired_connections(transport) == 0
    finally:
        await transport.aclose()


async def test_connection_refused_is_connect_error() -> None:
    """A refused connection is ConnectError, which says the request never left."""
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    async with (
        CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=base_url) as close,
        asyncio.timeout(BOUND),
    ):
        with pytest.raises(ConnectError) as info:
            await close.emails.get(EMAIL_ID)
    assert info.value.may_have_reached_server is False
    assert (info.value.method, info.value.url) == ("GET", f"{base_url}/activity/email/{EMAIL_ID}/")


async def test_redirect_is_returned_not_followed(server: FakeClose) -> None:
    """A 3xx comes back as the response; the transport never follows it (nor resends credentials)."""

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/api/v1/elsewhere/")

    server.reply = redirect
    transport = AiohttpTransport()
    try:
        async with asyncio.timeout(BOUND):
            response = await transport.send(Request("GET", server.base_url + "/x/"))
    finally:
        await transport.aclose()
    assert response.status == 302
    assert response.header("location") == "/api/v1/elsewhere/"
    assert [s.path for s in server.seen] == ["/api/v1/x/"]


@pytest.mark.parametrize("reply", [truncated_body, hang_up], ids=["truncated-body", "hang-up"])
async def test_dropped_connection_is_transport_error(
    server: FakeClose, client: CloseAsync, reply: Reply
) -> None:
    """A connection dropped mid-exchange is a TransportError that may have reached the server.

    For a POST that means the write's outcome is unknown: it is reported as such, not repeated.
    """
    server.reply = reply
    async with asyncio.timeout(BOUND):
        with pytest.raises(WriteOutcomeUnknownError) as info:
            await client.emails.create(lead_id="lead_1", status="draft")
    cause = info.value.__cause__
    assert type(cause) is TransportError  # neither ConnectError nor RequestTimeoutError
    assert cause.may_have_reached_server is True
    assert cause.method == info.value.method == "POST"
    assert server.last.json() == {"lead_id": "lead_1", "status": "draft"}
    assert acquired_connections(transport_of(client)) == 0


async def test_cancelled_request_releases_its_connection(server: FakeClose, client: CloseAsync) -> None:
    """Cancelling a task mid-request raises CancelledError, closes the connection and frees the pool."""
    server.reply = server.block
    task = asyncio.create_task(client.emails.get(EMAIL_ID))
    async with asyncio.timeout(BOUND):
        await server.blocked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.disconnected.wait()
    assert acquired_connections(transport_of(client)) == 0
    server.reply = reply_json({"id": EMAIL_ID})
    async with asyncio.timeout(BOUND):
        assert (await client.emails.get(EMAIL_ID)).id == EMAIL_ID


# -- session lifecycle -----------------------------------------------------------------------------


def test_client_can_be_built_outside_an_event_loop() -> None:
    """Constructing the client needs no running loop and creates no aiohttp session."""
    close = CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url="http://127.0.0.1:9/api/v1")
    assert transport_of(close).session is None


async def test_owned_session_is_lazy_and_closed_on_exit(server: FakeClose) -> None:
    """The client's session appears on the first request, is reused, and is closed on exit."""
    server.reply = reply_json({"id": EMAIL_ID})
    async with CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url) as close:
        transport = transport_of(close)
        assert transport.session is None
        async with asyncio.timeout(BOUND):
            await close.emails.get(EMAIL_ID)
            session = transport.session
            assert session is not None
            assert not session.closed
            await close.emails.get(EMAIL_ID)
        assert transport.session is session
    assert session.closed
    assert transport.session is None
    assert len(server.seen) == 2


async def test_aclose_closes_the_owned_session_once(server: FakeClose) -> None:
    """``aclose()`` closes the owned session and can be called again safely."""
    close = CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url)
    async with asyncio.timeout(BOUND):
        await close.emails.get(EMAIL_ID)
    session = transport_of(close).session
    assert session is not None
    await close.aclose()
    await close.aclose()
    assert close.closed
    assert session.closed


async def test_borrowed_session_is_used_and_left_open(server: FakeClose) -> None:
    """A session passed in carries the requests and is still open after the client closes."""
    server.reply = reply_json({"id": EMAIL_ID})
    async with aiohttp.ClientSession() as session:
        async with CloseAsync(
            retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, session=session
        ) as close:
            assert transport_of(close).session is session
            async with asyncio.timeout(BOUND):
                await close.emails.get(EMAIL_ID)
        assert not session.closed
        async with asyncio.timeout(BOUND), session.get(server.base_url + "/after/") as response:
            assert response.status == 200
    assert [s.path for s in server.seen] == [EMAIL_PATH, "/api/v1/after/"]


async def test_closed_client_refuses_without_sending(server: FakeClose) -> None:
    """After close, calls (also through a ``with_options`` view) raise ClientClosedError, sending nothing."""
    close = CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url)
    view = close.with_options(timeout=1)
    await close.aclose()
    async with asyncio.timeout(BOUND):
        with pytest.raises(ClientClosedError, match="closed"):
            await close.emails.get(EMAIL_ID)
        with pytest.raises(ClientClosedError, match="closed"):
            await view.emails.create(lead_id="lead_1", status="draft")
        with pytest.raises(ClientClosedError, match="closed"):
            async with close:
                pass
    assert server.seen == []
    assert transport_of(close).session is None


async def test_closed_transport_refuses_without_a_new_session(server: FakeClose) -> None:
    """A closed transport raises ClientClosedError and does not open a new session."""
    transport = AiohttpTransport()
    async with asyncio.timeout(BOUND):
        await transport.send(Request("GET", server.base_url + "/x/"))
        await transport.aclose()
        with pytest.raises(ClientClosedError, match="closed"):
            await transport.send(Request("GET", server.base_url + "/y/"))
    assert transport.session is None
    assert [s.path for s in server.seen] == ["/api/v1/x/"]


async def test_borrowed_session_closed_by_its_owner_is_client_closed(server: FakeClose) -> None:
    """A borrowed session its owner already closed gives ClientClosedError, not aiohttp's RuntimeError."""
    session = aiohttp.ClientSession()
    await session.close()
    async with CloseAsync(
        retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, session=session
    ) as close:
        async with asyncio.timeout(BOUND):
            with pytest.raises(ClientClosedError, match="closed by its owner"):
                await close.emails.get(EMAIL_ID)
    assert server.seen == []


async def test_borrowed_session_closed_after_use_is_client_closed(server: FakeClose) -> None:
    """A borrowed session closed by its owner between two requests: the second is refused, unsent."""
    server.reply = reply_json({"id": EMAIL_ID})
    session = aiohttp.ClientSession()
    try:
        async with CloseAsync(
            retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, session=session
        ) as close:
            async with asyncio.timeout(BOUND):
                assert (await close.emails.get(EMAIL_ID)).id == EMAIL_ID
                await session.close()
                with pytest.raises(ClientClosedError, match="closed by its owner"):
                    await close.emails.get(EMAIL_ID)
    finally:
        await session.close()
    assert len(server.seen) == 1


# -- what each request reuses ------------------------------------------------------------------------
# The transport keeps aiohttp's form of the last headers and time limits it saw, and reads a
# response without aiohttp's context managers: these check that nothing leaks between requests.


async def test_each_request_carries_its_own_headers(server: FakeClose) -> None:
    """Two clients on one transport, and a write between reads: every request has its own headers."""
    other_key = "api_OTHERKEY0123456789"
    transport = AiohttpTransport()
    first = CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, transport=transport)
    second = CloseAsync(
        retry=NO_RETRY, api_key=other_key, base_url=server.base_url, transport=transport, tz_offset=2
    )
    server.reply = reply_json({"id": EMAIL_ID})
    try:
        async with asyncio.timeout(BOUND):
            await first.emails.get(EMAIL_ID)
            await second.emails.get(EMAIL_ID)
            await first.emails.create(lead_id="lead_1", status="draft")
            await first.emails.get(EMAIL_ID)
            await second.emails.get(EMAIL_ID)
    finally:
        await transport.aclose()
    keys = [base64.b64decode(s.headers["Authorization"].removeprefix("Basic ")) for s in server.seen]
    assert keys == [f"{k}:".encode() for k in (API_KEY, other_key, API_KEY, API_KEY, other_key)]
    assert [s.headers.get("X-TZ-Offset") for s in server.seen] == [None, "2", None, None, "2"]
    content_types = [s.headers.get("Content-Type") for s in server.seen]
    assert content_types == [None, None, "application/json", None, None]


async def test_a_request_after_another_uses_its_own_time_limit(server: FakeClose) -> None:
    """A request with its own limit after one with the default: the new limit applies, not the last."""
    transport = AiohttpTransport(timeout=Timeout(total=BOUND * 10))
    try:
        async with asyncio.timeout(BOUND):
            server.reply = reply_json({})
            await transport.send(Request("GET", server.base_url + "/x/"))  # the default: generous
            server.reply = server.block
            with pytest.raises(RequestTimeoutError):  # not the default's 50 s: asyncio.timeout would trip
                await transport.send(Request("GET", server.base_url + "/y/", timeout=Timeout(read=0.2)))
        assert acquired_connections(transport) == 0
    finally:
        await transport.aclose()


async def test_answered_requests_give_their_connection_back(server: FakeClose, client: CloseAsync) -> None:
    """Answers read in full return the connection to the pool: one socket serves them all."""
    peers: list[object] = []

    async def answer(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.append(request.transport.get_extra_info("peername"))
        return web.json_response({"id": EMAIL_ID})

    server.reply = answer
    async with asyncio.timeout(BOUND):
        for _ in range(3):
            await client.emails.get(EMAIL_ID)
            assert acquired_connections(transport_of(client)) == 0
        await client.emails.create(lead_id="lead_1", status="draft")
        await client.emails.get(EMAIL_ID)
    assert len(peers) == 5
    assert len(set(peers)) == 1


async def test_cancelled_mid_body_releases_its_connection(server: FakeClose, client: CloseAsync) -> None:
    """Cancelled while the body is arriving: the half-read connection is closed, never reused."""
    server.reply = server.stall_body
    task = asyncio.create_task(client.emails.get(EMAIL_ID))
    async with asyncio.timeout(BOUND):
        await server.blocked.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await server.disconnected.wait()
    assert acquired_connections(transport_of(client)) == 0
    server.reply = reply_json({"id": EMAIL_ID})
    async with asyncio.timeout(BOUND):
        assert (await client.emails.get(EMAIL_ID)).id == EMAIL_ID


# -- secrets ---------------------------------------------------------------------------------------


async def test_secrets_never_reach_logs_errors_or_reprs(
    server: FakeClose, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither the key nor its Basic token shows in DEBUG logs, errors, or reprs of client and values."""
    caplog.set_level(logging.DEBUG, logger="closeasync")
    recording = Recording(AiohttpTransport())
    raised: list[CloseError] = []
    try:
        close = CloseAsync(retry=NO_RETRY, api_key=API_KEY, base_url=server.base_url, transport=recording)
        async with close, asyncio.timeout(BOUND):
            server.reply = reply_json({"id": EMAIL_ID})
            await close.emails.get(EMAIL_ID)
            server.reply = reply_json({"error": f"bad key {API_KEY[:6]}..."}, status=401)
            with pytest.raises(AuthenticationError) as auth:
                await close.emails.get(EMAIL_ID)
            raised.append(auth.value)
            server.reply = truncated_body
            with pytest.raises(TransportError) as dropped:
                await close.emails.get(EMAIL_ID)
            raised.append(dropped.value)
        refused = CloseAsync(
            retry=NO_RETRY, api_key=API_KEY, base_url=f"http://127.0.0.1:{closed_port()}/api/v1"
        )
        async with refused, asyncio.timeout(BOUND):
            with pytest.raises(ConnectError) as connect:
                await refused.emails.get(EMAIL_ID)
            raised.append(connect.value)
    finally:
        await recording.aclose()

    # The secret really travelled, and the log really recorded the exchanges.
    assert {s.headers["Authorization"] for s in server.seen} == {f"Basic {BASIC_TOKEN}"}
    assert len(recording.requests) == 3
    assert EMAIL_PATH in caplog.text
    assert "failed" in caplog.text

    texts = [caplog.text, str(close), repr(close), str(refused), repr(refused)]
    texts += [str(recording.inner), repr(recording.inner), repr(transport_of(refused))]
    texts += [f"{r!s} {r!r}" for r in (*recording.requests, *recording.responses)]
    texts += [f"{e!s} {e!r} {e.args!r}" for e in raised]
    texts += ["".join(traceback.format_exception(e)) for e in raised]
    for text in texts:
        assert API_KEY not in text
        assert BASIC_TOKEN not in text


@pytest.mark.parametrize("version", ["3.10.11", "3.9.5"])
def test_an_aiohttp_that_resends_on_its_own_is_refused(monkeypatch: pytest.MonkeyPatch, version: str) -> None:
    """aiohttp < 3.11 re-sends a sending PUT with no switch to stop it: the client will not run on it."""
    monkeypatch.setattr(aiohttp, "__version__", version)
    with pytest.raises(ConfigurationError, match=rf"aiohttp {version} may send a sending PUT twice"):
        CloseAsync(api_key="api_x")


def test_the_declared_aiohttp_floor_is_the_first_safe_release() -> None:
    """pyproject's aiohttp floor (what `nox -s floors` tests) is the version the transport checks for."""
    import tomllib

    from closeasync.transports.aiohttp import SAFE_AIOHTTP

    project = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())["project"]
    [floor] = [d.removeprefix("aiohttp>=") for d in project["dependencies"] if d.startswith("aiohttp")]
    assert tuple(int(p) for p in floor.split(".")[:2]) == SAFE_AIOHTTP
    assert tuple(int(p) for p in aiohttp.__version__.split(".")[:2]) >= SAFE_AIOHTTP
