"""The contract suite's fixtures: one seeded fake, reached in-process or over real HTTP.

Every test taking ``backend`` runs twice: ``inprocess`` (``fake.transport()``) and
``http`` (:func:`closeasync.fake.app.serve` on 127.0.0.1 and the real
``AiohttpTransport``). The fake is a :class:`CheckedFake`, which records every answer
it gives; at teardown each is judged by :mod:`tests.contract.checker` (strict
converter + OpenAPI schemas), and a test whose fake said something unfaithful fails.
"""

from __future__ import annotations

import base64
import io
from collections.abc import AsyncIterator, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import aiohttp
import attrs
import orjson
import pytest

from closeasync import CloseAsync, Timeout
from closeasync.fake import FakeClose, FakeRequest, Outcome
from closeasync.fake.app import serve
from tests.conftest import NO_RETRY

from .checker import SKIPPED, Checker

SEED = 7
OAUTH_TOKEN = "oauth_contract_token_0123456789"
BACKENDS = ("inprocess", "http")
#: A wait no test should ever need: every network call is bounded by it.
BOUND = 10.0


class CheckedFake(FakeClose):
    """A FakeClose that records every answer it gives, for the faithfulness checks."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.checker = Checker()

    def handle(self, request: FakeRequest) -> Outcome:
        outcome = super().handle(request)
        self.checker.record(request, outcome.response)
        return outcome


def make_fake(seed: int = SEED) -> CheckedFake:
    """The fake every contract test starts from (one lead, one contact)."""
    return CheckedFake(seed=seed, oauth_tokens=(OAUTH_TOKEN,))


@attrs.frozen
class Raw:
    """A response as a raw HTTP client sees it."""

    status: int
    headers: Mapping[str, str]  # lower-case names
    body: Any

    def field_errors(self) -> dict[str, Any]:
        """Close's ``field-errors`` of a 400 (asserting the shape)."""
        assert self.status == 400, (self.status, self.body)
        assert isinstance(self.body, dict), self.body
        assert isinstance(self.body.get("errors"), list), self.body
        errors = self.body.get("field-errors")
        assert isinstance(errors, dict), self.body
        return errors


def basic(key: str) -> str:
    """An HTTP Basic Authorization value with ``key`` as the username."""
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


class Backend:
    """One way of reaching the fake: SDK clients and a raw HTTP client."""

    def __init__(self, name: str, fake: CheckedFake, stack: AsyncExitStack, base_url: str | None) -> None:
        self.name = name
        self.fake = fake
        self._stack = stack
        self._base_url = base_url
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"<Backend {self.name}>"

    def client(
        self,
        *,
        api_key: str | None = None,
        oauth_token: str | None = None,
        tz_offset: float | None = None,
        timeout: float | None = None,
    ) -> CloseAsync:
        """A client of the fake (the fake's key unless told otherwise); use ``async with``."""
        if api_key is None and oauth_token is None:
            api_key = self.fake.api_key
        limits = Timeout(total=timeout or BOUND, connect=BOUND, read=timeout or BOUND)
        if self._base_url is None:
            return CloseAsync(
                retry=NO_RETRY,
                pace_rate_limits=False,
                api_key=api_key,
                oauth_token=oauth_token,
                transport=self.fake.transport(),
                tz_offset=tz_offset,
                timeout=limits,
            )
        return CloseAsync(
            retry=NO_RETRY,
            pace_rate_limits=False,
            api_key=api_key,
            oauth_token=oauth_token,
            base_url=self._base_url,
            tz_offset=tz_offset,
            timeout=limits,
        )

    async def raw(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        auth: str | None = "key",
    ) -> Raw:
        """Send a request without the SDK (``auth``: ``"key"``, an Authorization value, or None)."""
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        if auth == "key":
            sent["authorization"] = basic(self.fake.api_key)
        elif auth is not None:
            sent["authorization"] = auth
        if self._base_url is None:
            outcome = self.fake.handle(FakeRequest(method.upper(), path, dict(query or {}), json, sent))
            assert outcome.drop is None, "raw requests are not for dropped connections"
            reply = outcome.response
            return Raw(reply.status, {k.lower(): v for k, v in reply.headers}, reply.body)
        if self._session is None:
            self._session = await self._stack.enter_async_context(aiohttp.ClientSession())
        if json is not None:
            sent["content-type"] = "application/json"
        async with self._session.request(
            method,
            self._base_url + path,
            params=dict(query or {}),
            # A stream, not bytes: aiohttp warns about bodies over 1 MiB given as bytes.
            data=None if json is None else io.BytesIO(orjson.dumps(json)),
            headers=sent,
            timeout=aiohttp.ClientTimeout(total=BOUND),
        ) as response:
            content = await response.read()
            body = await response.json(content_type=None) if content.strip() else None
            return Raw(response.status, {k.lower(): v for k, v in response.headers.items()}, body)


@pytest.fixture
def fake() -> CheckedFake:
    """A fresh seeded fake (the ``backend`` fixture serves it)."""
    return make_fake()


@asynccontextmanager
async def open_backend(name: str, fake: CheckedFake) -> AsyncIterator[Backend]:
    """Reach ``fake`` in-process or over HTTP on 127.0.0.1 until the block ends."""
    async with AsyncExitStack() as stack:
        base_url = None
        if name == "http":
            server = await stack.enter_async_context(serve(fake))
            assert server.host == "127.0.0.1"
            base_url = server.base_url
        yield Backend(name, fake, stack, base_url)


def assert_faithful(fake: CheckedFake) -> None:
    """Fail if any answer the fake gave departs from Close's documents."""
    problems = fake.checker.problems()
    if problems:
        shown = "\n  ".join(problems[:20])
        pytest.fail(f"the fake answered unfaithfully ({len(problems)} problems):\n  {shown}", pytrace=False)


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest, fake: CheckedFake) -> AsyncIterator[Backend]:
    """The fake, in-process or served on 127.0.0.1; its answers are checked at teardown."""
    async with open_backend(request.param, fake) as reached:
        yield reached
    assert_faithful(fake)


@pytest.fixture
async def close(backend: Backend) -> AsyncIterator[CloseAsync]:
    """An SDK client of the backend, with the fake's API key."""
    async with backend.client() as client:
        yield client


@pytest.fixture
def lead(fake: CheckedFake) -> dict[str, Any]:
    """A lead to hang activities on."""
    return fake.add_lead("Acme Corp")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say what the faithfulness checks could not judge."""
    if SKIPPED:
        terminalreporter.section("contract: not schema-checked")
        for note in sorted(SKIPPED):
            terminalreporter.write_line(note)
