"""Shared fixtures: a client on a scripted transport at our own seam (no network); the
export's copies, PostgreSQL's on a throwaway server (``tests/postgres_server.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, cast

import anyio.lowlevel
import orjson
import pytest

from closeasync import CloseAsync
from closeasync.models import Activity
from closeasync.models.registry import ACTIVITY_BY_RESOURCE
from closeasync.pipeline.routes import ROUTES, Route
from closeasync.retry import RetryPolicy
from closeasync.transports import Request, Response
from tests.export_support import STORES, Copy, open_copy
from tests.postgres_server import PostgresServer, session_server

API_KEY = "api_TESTKEY0123456789abcdefghij"
#: For tests of a single attempt's behaviour (what one 429, 5xx or reset looks like).
NO_RETRY = RetryPolicy(max_attempts=1)
Handler = Callable[[Request], Response]

#: :data:`closeasync.models.Activity` as a ``structure`` target (the same object at runtime).
#: It is a union, and cattrs' ``structure(obj, cl: type[T])`` cannot take a union until
#: typing has a TypeForm (PEP 747), so the cast states what it structures to.
ACTIVITY_UNION = cast("type[Activity]", Activity)


def json_response(body: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A JSON response as Close would send it."""
    return Response(status, (("content-type", "application/json"), *headers), orjson.dumps(body))


#: The routes answered with one object, and its ``_type`` (None: the object has none).
_ONE_OBJECT: dict[Route, str | None] = {
    route: (ACTIVITY_BY_RESOURCE[name].TYPE if name in ACTIVITY_BY_RESOURCE else None)
    for name, routes in ROUTES.items()
    for action, route in routes.items()
    if action in ("get", "create", "update")
}


def minimal_answer(request: Request) -> Response:
    """What Close answers when a test does not say: a get, create or update gets a minimal
    object of the route's type (the id from the URL, or a new one; its ``_type``), any other
    request ``{}``. The SDK refuses an empty answer where one object belongs."""
    route = request.route
    if route is None or route not in _ONE_OBJECT:
        return json_response({})
    path = request.url.partition("?")[0]
    ident = "acti_new" if route.method == "POST" else path.rstrip("/").rpartition("/")[2]
    tag = _ONE_OBJECT[route]
    return json_response({"id": ident} if tag is None else {"_type": tag, "id": ident})


class StubTransport:
    """A Transport that records every request and answers from a handler.

    The default handler is :func:`minimal_answer`; tests set ``handler`` (or queue
    responses with :meth:`queue`) to script Close.
    """

    def __init__(self) -> None:
        self.requests: list[Request] = []
        self.queued: list[Response] = []
        self.handler: Handler = minimal_answer
        self.closed = False

    def queue(self, *responses: Response) -> None:
        self.queued.extend(responses)

    async def send(self, request: Request) -> Response:
        await anyio.lowlevel.checkpoint()  # as a socket would (see the Transport protocol)
        self.requests.append(request)
        response = self.queued.pop(0) if self.queued else self.handler(request)
        return Response(response.status, response.headers, response.content, request)

    async def aclose(self) -> None:
        self.closed = True

    @property
    def last(self) -> Request:
        assert self.requests, "no request was sent"
        return self.requests[-1]


@pytest.fixture(autouse=True)
def _no_close_settings_from_the_shell(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep a developer's CLOSE_API_KEY / CLOSE_BASE_URL out of the tests: the client reads both."""
    monkeypatch.delenv("CLOSE_API_KEY", raising=False)
    monkeypatch.delenv("CLOSE_BASE_URL", raising=False)


@pytest.fixture
def stub() -> StubTransport:
    return StubTransport()


@pytest.fixture
async def close(stub: StubTransport) -> AsyncIterator[CloseAsync]:
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as client:
        yield client


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL cluster of the session's own on 127.0.0.1, stopped at the end (skipped
    with the reason where PostgreSQL is missing, unless CLOSEASYNC_REQUIRE_POSTGRES=1)."""
    yield from session_server()


@pytest.fixture(params=STORES)
def copy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Copy]:
    """An empty copy in each database store (``parametrize("copy", [...], indirect=True)``
    for others: ``jsonl``)."""
    yield from open_copy(request.param, request, tmp_path)
