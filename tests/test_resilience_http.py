"""Over real HTTP: timeouts, cancellation and closing leave no connection, task or answer
behind; a create that never left (its host name did not resolve) is retried.

The served fake runs on its own event loop in a thread (:class:`ServerThread`), so the
test's loop holds only the client's tasks: after each scenario ``asyncio.all_tasks()``
comes down to the test itself, and the aiohttp connector has no connection checked out.
A ``delay`` fault holds answers back longer than any client here waits, so the requests
are certainly in flight (the fake has counted them in) when they time out, are cancelled,
or have their client closed under them.
"""

from __future__ import annotations

import asyncio
import queue
import random
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from functools import partial
from typing import Any

import aiohttp
import anyio
import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from closeasync import ClientClosedError, CloseAsync, RequestTimeoutError, Timeout
from closeasync.fake import FakeClose, FakeRequest, Outcome
from closeasync.fake.app import FakeServer, serve
from closeasync.models.email import Email
from closeasync.transports.aiohttp import AiohttpTransport
from tests.conftest import NO_RETRY
from tests.test_resilience import (
    Events,
    Outcomes,
    attempt_all,
    create_all,
    fast_retry,
    stored_subjects,
    unknown,
)

SEED = 11
#: A bound on every wait: a hang fails the test instead of stalling the suite.
BOUND = 10.0
#: How long the fake holds a delayed answer: far beyond the short client timeouts below.
DELAY = 1.0
IN_FLIGHT = 20
GET = "GET /activity/email/{id}/"


class GatedFake(FakeClose):
    """Counts requests as they arrive (on the server's thread) and wakes a waiter at a count."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._arrived = 0
        self._waiter: tuple[int, asyncio.AbstractEventLoop, asyncio.Event] | None = None

    def expect(self, count: int) -> asyncio.Event:
        """An event set once ``count`` more requests have arrived (ask before sending them)."""
        event = asyncio.Event()
        with self._lock:
            self._waiter = (self._arrived + count, asyncio.get_running_loop(), event)
        return event

    def handle(self, request: FakeRequest) -> Outcome:
        with self._lock:
            self._arrived += 1
            waiter = self._waiter
            if waiter is not None and self._arrived >= waiter[0]:
                self._waiter = None
                waiter[1].call_soon_threadsafe(waiter[2].set)
        return super().handle(request)


class ServerThread:
    """Serve a fake on a private event loop in a thread (``with ServerThread(fake) as server``)."""

    def __init__(self, fake: FakeClose) -> None:
        self.fake = fake
        self._started: queue.Queue[FakeServer | BaseException] = queue.Queue()
        self._stop: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(),), name="served-fake", daemon=True
        )

    async def _serve(self) -> None:
        stop = asyncio.Event()
        self._stop = (asyncio.get_running_loop(), stop)
        try:
            async with serve(self.fake) as server:
                self._started.put(server)
                await stop.wait()
        except BaseException as exc:  # hand a startup failure to the test's thread
            self._started.put(exc)
            raise

    def __enter__(self) -> FakeServer:
        self._thread.start()
        started = self._started.get(timeout=BOUND)
        if isinstance(started, BaseException):
            raise started
        return started

    def __exit__(self, *exc_info: object) -> None:
        assert self._stop is not None
        loop, stop = self._stop
        loop.call_soon_threadsafe(stop.set)
        self._thread.join(BOUND + DELAY)  # the server lets delayed handlers finish first
        assert not self._thread.is_alive(), "the served fake did not stop"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[GatedFake, FakeServer]]:
    fake = GatedFake(seed=SEED)
    with ServerThread(fake) as server:
        yield fake, server


@pytest.fixture
def fake(served: tuple[GatedFake, FakeServer]) -> GatedFake:
    served[0].reset()
    return served[0]


@pytest.fixture
def base_url(served: tuple[GatedFake, FakeServer]) -> str:
    return served[1].base_url


@pytest.fixture
def email(fake: GatedFake) -> str:
    lead = fake.add_lead("Acme")["id"]
    return str(fake.add_activity("Email", lead_id=lead, status="draft", subject="Hi")["id"])


def connector_of(close: CloseAsync) -> aiohttp.BaseConnector:
    """The connector of the client's own session (kept: closing the client lets go of it)."""
    transport = close.transport
    assert isinstance(transport, AiohttpTransport)
    assert transport.session is not None, "no request was sent yet"
    connector = transport.session.connector
    assert connector is not None
    return connector


def acquired(connector: aiohttp.BaseConnector) -> int:
    """Connections checked out of the pool (see ``acquired_connections`` in test_aiohttp_transport)."""
    return len(connector._acquired)


async def no_tasks_left() -> None:
    """Wait (bounded) until the loop runs no task but this test; fail naming any left over."""
    current = asyncio.current_task()
    others: list[asyncio.Task[Any]] = []
    for _ in range(200):  # about 2 s: closing sockets takes the loop a few turns
        others = [t for t in asyncio.all_tasks() if t is not current]
        if not others:
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"tasks left pending: {others}")


async def get_many(close: CloseAsync, email: str, count: int = IN_FLIGHT) -> Outcomes:
    return await attempt_all({str(n): partial(close.emails.get, email) for n in range(count)}, tasks=count)


def all_of(outcomes: Outcomes, kind: type) -> bool:
    return len(outcomes) > 0 and all(isinstance(o, kind) for o in outcomes.values())


@pytest.mark.parametrize("where", ["client", "call"])
async def test_timeouts_leave_no_acquired_connection(
    fake: GatedFake, base_url: str, email: str, where: str
) -> None:
    """20 GETs time out (a client's read timeout, or one call's via ``with_options``): each
    raises our timeout error, the pool gets every connection back and still serves."""
    short = Timeout(total=None, read=0.1)
    if where == "client":
        close = CloseAsync(api_key=fake.api_key, base_url=base_url, timeout=short, retry=NO_RETRY)
        caller = close
    else:
        close = CloseAsync(api_key=fake.api_key, base_url=base_url, timeout=BOUND)
        caller = close.with_options(timeout=short, retry=NO_RETRY)
    async with close:
        with anyio.fail_after(BOUND):
            await close.emails.get(email)
            connector = connector_of(close)
            fake.faults.add("delay", group=GET, delay=DELAY, count=IN_FLIGHT)
            timed_out = await get_many(caller, email)
            assert all_of(timed_out, RequestTimeoutError)
            assert all(
                o.may_have_reached_server for o in timed_out.values() if isinstance(o, RequestTimeoutError)
            )
            assert acquired(connector) == 0
            # The healthy round gets a generous timeout: on a loaded machine 20 fresh
            # connections can take longer than the short one, which is not what is tested.
            healthy = await get_many(close.with_options(timeout=Timeout(read=BOUND)), email)
        assert all_of(healthy, Email)
        assert {o.id for o in healthy.values() if isinstance(o, Email)} == {email}
        assert acquired(connector) == 0
    await no_tasks_left()


async def test_timed_out_get_is_retried(fake: GatedFake, base_url: str, email: str) -> None:
    """A GET that timed out twice is repeated (harmless) and returns; nothing stays checked out."""
    events = Events()
    async with CloseAsync(
        api_key=fake.api_key,
        base_url=base_url,
        timeout=Timeout(read=0.4),  # under DELAY, yet roomy for the answer that is not held
        retry=fast_retry(),
        on_event=events,
    ) as close:
        fake.faults.add("delay", group=GET, delay=DELAY, count=2)
        with anyio.fail_after(BOUND):
            assert (await close.emails.get(email)).id == email
        assert acquired(connector_of(close)) == 0
    assert events.retries == 2
    assert all("RequestTimeoutError" in error for error in events.errors)


async def test_cancelling_a_task_group_midway_releases_every_connection(
    fake: GatedFake, base_url: str, email: str
) -> None:
    """Cancel a task group of 20 requests in flight: all end at once, every connection goes
    back (closed, not pooled half-read), the pool serves the next requests, no task is left."""
    finished: list[object] = []
    async with CloseAsync(api_key=fake.api_key, base_url=base_url) as close:
        await close.emails.get(email)
        connector = connector_of(close)
        fake.faults.add("delay", group=GET, delay=DELAY, count=IN_FLIGHT)
        arrived = fake.expect(IN_FLIGHT)

        async def get_one() -> None:
            finished.append(await close.emails.get(email))

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:
                for _ in range(IN_FLIGHT):
                    group.start_soon(get_one)
                await arrived.wait()
                assert acquired(connector) == IN_FLIGHT
                group.cancel_scope.cancel()
            assert finished == []
            assert acquired(connector) == 0
            healthy = await get_many(close, email)
        assert all_of(healthy, Email)
        assert acquired(connector) == 0
    await no_tasks_left()


async def close_mid_flight(
    fake: GatedFake, base_url: str, email: str
) -> tuple[CloseAsync, Outcomes, aiohttp.BaseConnector]:
    """Close a client while 20 of its requests wait for their answers; return how each ended."""
    close = CloseAsync(api_key=fake.api_key, base_url=base_url)
    await close.emails.get(email)
    connector = connector_of(close)
    fake.faults.add("delay", group=GET, delay=DELAY, count=IN_FLIGHT)
    arrived = fake.expect(IN_FLIGHT)
    outcomes: Outcomes = {}

    async def requests() -> None:
        outcomes.update(await get_many(close, email))

    with anyio.fail_after(BOUND):
        async with anyio.create_task_group() as group:
            group.start_soon(requests)
            await arrived.wait()
            await close.aclose()
    return close, outcomes, connector


async def test_closing_the_client_mid_flight_ends_requests_cleanly(
    fake: GatedFake, base_url: str, email: str
) -> None:
    """Requests in flight when the client closes end with ClientClosedError (none waits for
    its answer) and leave no task behind; the client refuses further calls."""
    close, outcomes, connector = await close_mid_flight(fake, base_url, email)
    assert all_of(outcomes, ClientClosedError)
    assert connector.closed
    await no_tasks_left()
    with pytest.raises(ClientClosedError):
        await close.emails.get(email)


async def test_closing_the_client_mid_flight_leaves_nothing_acquired(
    fake: GatedFake, base_url: str, email: str
) -> None:
    """The closed connector has nothing checked out. Today aiohttp's hidden resend of each
    dropped GET asks the closed connector again and strands a placeholder in ``_acquired``."""
    _, outcomes, connector = await close_mid_flight(fake, base_url, email)
    assert all_of(outcomes, ClientClosedError)
    assert acquired(connector) == 0


class FlakyResolver(AbstractResolver):
    """Resolves every name to 127.0.0.1, failing a seeded share of lookups like a DNS outage."""

    def __init__(self, share: float) -> None:
        self.share = share
        self.random = random.Random(SEED)

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        if self.random.random() < self.share:
            raise OSError(socket.EAI_NONAME, f"injected: {host} not resolved")
        address: ResolveResult = {
            "hostname": host,
            "host": "127.0.0.1",
            "port": port,
            "family": socket.AF_INET,
            "proto": 0,
            "flags": socket.AI_NUMERICHOST,
        }
        return [address]

    async def close(self) -> None:
        """Nothing to release."""


async def test_creates_that_never_left_are_retried(fake: GatedFake, base_url: str) -> None:
    """A POST that provably never left (its host name did not resolve) is retried: every
    email is made exactly once. Each request opens a connection, so each looks the name up."""
    lead = fake.add_lead("Acme")["id"]
    subjects = [f"create {n}" for n in range(100)]
    events = Events()
    connector = aiohttp.TCPConnector(resolver=FlakyResolver(0.3), use_dns_cache=False, force_close=True)
    async with (
        aiohttp.ClientSession(connector=connector) as session,
        CloseAsync(
            api_key=fake.api_key,
            base_url=base_url.replace("127.0.0.1", "fake-close.test"),
            session=session,
            retry=fast_retry(),
            on_event=events,
        ) as close,
    ):
        with anyio.fail_after(BOUND):
            outcomes = await create_all(close, lead, subjects)
    assert unknown(outcomes) == set()
    assert stored_subjects(fake, lead) == Counter(subjects)
    events.check_consistent()
    assert events.retries == len(events.errors) > 10
    assert all("ConnectError" in error for error in events.errors)
    assert events.requests == len(subjects) + events.retries
