"""Concurrent pagination (``list(..., prefetch=N)``) and the errors a misfit response carries.

The listings run against a FakeClose in-process, behind :class:`Gate`: a transport that
counts requests in flight, can hold chosen requests until they are cancelled, and can
hold every request until N are in flight at once (so concurrency is proven by the test
finishing, not by timing). One test runs over real HTTP with the served fake.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.lowlevel
import orjson
import pytest

from closeasync import (
    AsyncPaginator,
    CloseAsync,
    FieldValueError,
    InvalidRequestError,
    ResponseValidationError,
    ServerError,
)
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.models import Email
from closeasync.retry import RetryPolicy
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, StubTransport, json_response

T_TEXT = "2026-11-20T16:55:56.984201+00:00"

NO_RETRY = RetryPolicy(max_attempts=1)
#: Every test is bounded: a hang fails it instead of stalling the suite.
BOUND = 10.0


def offsets(request: Request) -> tuple[int, int]:
    """The ``_skip`` and ``_limit`` of a list request."""
    query = dict(parse_qsl(urlsplit(request.url).query))
    return int(query.get("_skip", 0)), int(query.get("_limit", 0))


class Gate:
    """A transport in front of another that watches, and can hold, requests.

    ``hold(request)`` true: the request waits until cancelled (it never gets an
    answer). ``together``: every request waits until that many are in flight at once.
    """

    def __init__(
        self,
        inner: Any,
        *,
        hold: Callable[[Request], bool] = lambda request: False,
        together: int = 0,
    ) -> None:
        self.instant_waits = False  # True: the pipeline takes rate-limit waits as done at once
        self.inner = inner
        self.hold = hold
        self.together = together
        self.log: list[Request] = []
        self.cancelled: list[Request] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._held: anyio.Event | None = None
        self._crowd: anyio.Event | None = None

    @property
    def held(self) -> anyio.Event:
        """Set once a held request has arrived."""
        if self._held is None:
            self._held = anyio.Event()
        return self._held

    @property
    def sent(self) -> list[tuple[int, int]]:
        return [offsets(r) for r in self.log]

    async def send(self, request: Request) -> Response:
        self.log.append(request)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.together:
                if self._crowd is None:
                    self._crowd = anyio.Event()
                if self.in_flight >= self.together:
                    self._crowd.set()
                await self._crowd.wait()
            if self.hold(request):
                self.held.set()
                await anyio.Event().wait()  # no answer, ever: only cancellation ends this
            await anyio.lowlevel.checkpoint()  # every request yields once, as a real one would
            response: Response = await self.inner.send(request)
            return response
        except anyio.get_cancelled_exc_class():
            self.cancelled.append(request)
            raise
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


def emails_fake(count: int) -> FakeClose:
    """A fake holding ``count`` emails, one second apart (the newest listed first)."""
    fake = FakeClose(seed=3)
    lead = fake.add_lead("Acme")
    start = fake.now
    for i in range(count):
        fake.add_activity(
            "Email", lead_id=lead["id"], date_created=start + timedelta(seconds=i), subject=f"{i}"
        )
    return fake


def client(transport: Any, **options: Any) -> CloseAsync:
    return CloseAsync(api_key=API_KEY, transport=transport, base_url="https://close.test/api/v1", **options)


def fake_client(fake: FakeClose, transport: Any, **options: Any) -> CloseAsync:
    return CloseAsync(api_key=fake.api_key, transport=transport, **options)


@pytest.fixture
def fake() -> FakeClose:
    return emails_fake(257)


async def sequential_ids(fake: FakeClose, page_size: int) -> list[str]:
    async with fake_client(fake, fake.transport()) as close:
        return [e.id async for e in close.emails.list(page_size=page_size)]


# -- what is fetched, and in what order it comes out ----------------------------------------------


@pytest.mark.parametrize("prefetch", [2, 3, 4, 16])
async def test_items_equal_sequential_listing(fake: FakeClose, prefetch: int) -> None:
    """Prefetching yields exactly the sequential listing, in order, and asks for no extra pages."""
    expected = await sequential_ids(fake, 20)
    gate = Gate(fake.transport())
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate) as close:
            got = [e.id async for e in close.emails.list(page_size=20, prefetch=prefetch)]
    assert got == expected
    assert len(got) == 257
    # The 13 pages sequential paging needs, plus at most what one window asks past the end.
    pages = [skip for skip, _ in gate.sent]
    assert pages[:13] == [20 * i for i in range(13)]
    assert len(pages) <= 13 + prefetch - 1
    assert gate.in_flight == 0


async def test_pages_of_a_window_are_in_flight_together(fake: FakeClose) -> None:
    """Every request is held until 4 are in flight at once: only a concurrent listing finishes."""
    gate = Gate(fake.transport())
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate) as close:
            # The group's first answer ends its slow start (until then its first request goes alone).
            await close.emails.list(page_size=1).limit(1).collect()
            gate.log.clear()
            gate.max_in_flight, gate.together = 0, 4
            first = await close.emails.list(page_size=10, prefetch=4).limit(40).collect()
    assert len(first) == 40
    assert sorted(gate.sent) == [(0, 10), (10, 10), (20, 10), (30, 10)]
    assert gate.max_in_flight == 4


async def test_prefetch_of_one_is_sequential(fake: FakeClose) -> None:
    """prefetch=0 (the default) and 1 list one page at a time."""
    for prefetch in (0, 1):
        gate = Gate(fake.transport())
        async with fake_client(fake, gate) as close:
            got = [e.id async for e in close.emails.list(page_size=50, prefetch=prefetch)]
        assert len(got) == 257
        assert gate.max_in_flight == 1


async def test_max_concurrency_caps_prefetch(fake: FakeClose) -> None:
    """Prefetched pages go through the pipeline: max_concurrency bounds them."""
    gate = Gate(fake.transport())
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate, max_concurrency=2) as close:
            got = [e.id async for e in close.emails.list(page_size=10, prefetch=8)]
    assert len(got) == 257
    assert gate.max_in_flight == 2


async def test_prefetched_pages_share_the_rate_limit_pacing() -> None:
    """Pages of the next window wait for the budget the last answers said was spent."""
    stub = StubTransport()
    store = store_handler(100)

    def spent(request: Request) -> Response:
        answer = store(request)
        return Response(
            answer.status, (*answer.headers, ("RateLimit", "limit=8, remaining=0, reset=30")), answer.content
        )

    stub.handler = spent
    gate = Gate(stub)
    gate.instant_waits = True  # the pipeline "waits" without sleeping
    waits: list[float] = []
    with anyio.fail_after(BOUND):
        async with client(
            gate, on_event=lambda e: waits.append(e.delay) if e.kind == "wait" else None
        ) as close:
            got = [e.id async for e in close.emails.list(page_size=10, prefetch=4)]
    assert len(got) == 100
    assert waits  # window 0 had no news; later windows were held back by the shared pacer
    assert all(25 < delay <= 30 for delay in waits)


async def test_limit_asks_for_nothing_beyond_it(fake: FakeClose) -> None:
    """With .limit(n), no page reaches past n, and the last page asks only for what is left."""
    gate = Gate(fake.transport())
    async with fake_client(fake, gate) as close:
        listing = close.emails.list(page_size=50, prefetch=8).limit(130)
        assert listing.prefetch == 8
        got = await listing.collect()
        assert [e.id for e in got] == (await sequential_ids(fake, 50))[:130]
        assert sorted(gate.sent) == [(0, 50), (50, 50), (100, 30)]
        gate.log.clear()
        assert await close.emails.list(prefetch=8).limit(0).collect() == []
        assert gate.log == []
        first = await close.emails.list(prefetch=8).first()
    assert first is not None
    assert gate.sent == [(0, 1)]


async def test_pages_with_prefetch(fake: FakeClose) -> None:
    """pages() with prefetch: the same pages as sequential paging, each with its offset."""
    async with fake_client(fake, fake.transport()) as close:
        plain = [(p.skip, len(p), p.has_more) async for p in close.emails.list(page_size=60).pages()]
        fast = [
            (p.skip, len(p), p.has_more) async for p in close.emails.list(page_size=60, prefetch=3).pages()
        ]
    assert (
        fast == plain == [(0, 60, True), (60, 60, True), (120, 60, True), (180, 60, True), (240, 17, False)]
    )


async def test_the_end_cancels_pages_beyond_it(fake: FakeClose) -> None:
    """A page past the end that would never be answered is cancelled once has_more=false arrives."""
    gate = Gate(fake.transport(), hold=lambda r: offsets(r)[0] >= 300)
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate) as close:
            got = [e.id async for e in close.emails.list(page_size=100, prefetch=4)]
    assert len(got) == 257
    assert [offsets(r) for r in gate.cancelled] == [(300, 100)]
    assert gate.in_flight == 0


# -- pages that break the offset arithmetic -----------------------------------------------------


def store_handler(
    total: int, *, short: dict[int, int] | None = None, long: dict[int, int] | None = None
) -> Callable[[Request], Response]:
    """Answer list requests from ``total`` numbered emails; ``short``/``long``: skip -> items given."""

    def handler(request: Request) -> Response:
        skip, limit = offsets(request)
        size = (short or {}).get(skip, (long or {}).get(skip, limit))
        items = [{"_type": "Email", "id": f"acti_{i}"} for i in range(skip, min(total, skip + size))]
        return json_response({"data": items, "has_more": skip + len(items) < total})

    return handler


async def test_short_page_falls_back_to_sequential() -> None:
    """A short page with has_more: nothing skipped or repeated, and sequential from where it ended."""
    stub = StubTransport()
    stub.handler = store_handler(230, short={60: 7})
    gate = Gate(stub)
    with anyio.fail_after(BOUND):
        async with client(gate) as close:
            got = [e.id async for e in close.emails.list(page_size=20, prefetch=4)]
    assert got == [f"acti_{i}" for i in range(230)]
    sent = gate.sent
    # Window 0 (0-60) and window 1 (80-140) were planned before the short page was seen;
    # from 67 on, one page at a time, each starting where the previous one ended.
    fallback = sent[sent.index((67, 20)) :]
    assert [skip for skip, _ in fallback] == [67, 87, 107, 127, 147, 167, 187, 207, 227]
    assert len(sent) == len(set(sent))


async def test_long_page_is_kept_whole_without_duplicates() -> None:
    """A page with more items than asked: all are kept once, and paging goes on after them."""
    stub = StubTransport()
    stub.handler = store_handler(100, long={20: 35})
    with anyio.fail_after(BOUND):
        async with client(Gate(stub)) as close:
            got = [e.id async for e in close.emails.list(page_size=20, prefetch=3)]
            pages = [(p.skip, len(p)) async for p in close.emails.list(page_size=20, prefetch=3).pages()]
    assert got == [f"acti_{i}" for i in range(100)]
    assert pages == [(0, 20), (20, 35), (55, 20), (75, 20), (95, 5)]


async def test_short_pages_everywhere_match_sequential_paging() -> None:
    """A server that always halves _limit: prefetching gives what sequential paging gives."""
    stub = StubTransport()

    def halving(request: Request) -> Response:
        skip, limit = offsets(request)
        items = [
            {"_type": "Email", "id": f"acti_{i}"} for i in range(skip, min(75, skip + max(1, limit // 2)))
        ]
        return json_response({"data": items, "has_more": skip + len(items) < 75})

    stub.handler = halving
    async with client(stub) as close:
        got = [e.id async for e in close.emails.list(page_size=10, prefetch=5)]
    assert got == [f"acti_{i}" for i in range(75)]


# -- errors -----------------------------------------------------------------------------------------


async def consume_into(out: list[str], listing: AsyncPaginator[Email]) -> None:
    async for email in listing:
        out.append(email.id)


async def test_a_failed_page_raises_after_the_items_before_it() -> None:
    """Items before a failing page are handed out, then its error; nothing after it is listed."""
    stub = StubTransport()
    store = store_handler(200)
    stub.handler = lambda r: json_response({"error": "boom"}, 503) if offsets(r)[0] == 60 else store(r)
    got: list[str] = []
    async with client(Gate(stub), retry=NO_RETRY) as close:
        with pytest.raises(ServerError):
            await consume_into(got, close.emails.list(page_size=20, prefetch=4))
    assert got == [f"acti_{i}" for i in range(60)]


@pytest.mark.parametrize("prefetch", [0, 3])
async def test_a_misfit_item_carries_its_response(prefetch: int) -> None:
    """An item that is not an object ends the listing there: status, method, URL, the item as body."""
    stub = StubTransport()
    store = store_handler(60)

    def handler(request: Request) -> Response:
        if offsets(request)[0] != 20:
            return store(request)
        items: list[Any] = [{"_type": "Email", "id": f"acti_{i}"} for i in range(20, 40)]
        items[5] = ["acti_25", "is not an object"]
        return json_response({"data": items, "has_more": True})

    stub.handler = handler
    got: list[str] = []
    async with client(stub) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await consume_into(got, close.emails.list(page_size=20, prefetch=prefetch))
    assert got == [f"acti_{i}" for i in range(25)]
    error = caught.value
    assert error.status == 200
    assert error.method == "GET"
    assert "_skip=20" in error.url
    assert error.body == b'["acti_25","is not an object"]'
    assert "item 25" in str(error)


@pytest.mark.parametrize("prefetch", [0, 3])
async def test_a_malformed_field_fails_when_read_naming_its_response(prefetch: int) -> None:
    """A timestamp that does not parse leaves the listing whole; reading it says where it came from."""
    stub = StubTransport()
    store = store_handler(60)

    def handler(request: Request) -> Response:
        if offsets(request)[0] != 20:
            return store(request)
        items = [{"_type": "Email", "id": f"acti_{i}", "date_created": T_TEXT} for i in range(20, 40)]
        items[5]["date_created"] = "not a date"
        return json_response({"data": items, "has_more": True})

    stub.handler = handler
    async with client(stub) as close:
        emails = await close.emails.list(page_size=20, prefetch=prefetch).collect()
    assert [e.id for e in emails] == [f"acti_{i}" for i in range(60)]
    assert emails[24].date_created == emails[26].date_created == datetime.fromisoformat(T_TEXT)
    for _ in range(2):  # every read fails the same way: nothing half-converted is kept
        with pytest.raises(FieldValueError) as caught:
            emails[25].date_created  # noqa: B018 - the read is the test
    error = caught.value
    assert isinstance(error, ResponseValidationError)
    assert (error.model, error.field) == ("Email", "date_created")
    assert (error.status, error.method) == (200, "GET")
    assert "_skip=20" in error.url
    assert orjson.loads(error.body) == {"_type": "Email", "id": "acti_25", "date_created": "not a date"}
    assert "Email.date_created" in str(error)
    assert emails[25].id == "acti_25"  # the other fields read as ever
    assert "date_created=<malformed 'not a date'>" in repr(emails[25])


async def test_get_and_envelope_errors_carry_the_response(stub: StubTransport, close: CloseAsync) -> None:
    """A single object and a list envelope that do not fit report the real status, body and URL."""
    stub.handler = lambda r: json_response({"_type": "Email", "id": "acti_1", "date_created": "soon"}, 201)
    email = await close.emails.get("acti_1")
    with pytest.raises(FieldValueError) as caught:
        email.date_created  # noqa: B018 - the read is the test
    assert (caught.value.status, caught.value.method) == (201, "GET")
    assert caught.value.url.endswith("/activity/email/acti_1/")
    assert caught.value.body == b'{"_type":"Email","id":"acti_1","date_created":"soon"}'
    stub.handler = lambda r: json_response(["not", "an", "object"], 201)
    with pytest.raises(ResponseValidationError) as caught_now:
        await close.emails.get("acti_1")
    assert (caught_now.value.status, caught_now.value.body) == (201, b'["not","an","object"]')
    stub.handler = lambda r: json_response({"data": "nope", "has_more": False})
    with pytest.raises(ResponseValidationError) as caught_now:
        await close.activities.list(lead_id="lead_1", prefetch=2).collect()
    assert caught_now.value.status == 200
    assert caught_now.value.body == b'{"data":"nope","has_more":false}'
    assert "/activity/" in caught_now.value.url


async def test_misfit_errors_never_hold_the_key(stub: StubTransport, close: CloseAsync) -> None:
    """A body echoing the API key is scrubbed from the error, as every other error is."""
    stub.handler = lambda r: json_response(
        {"data": [{"_type": "Email", "date_created": API_KEY}, [API_KEY]], "has_more": False}
    )
    with pytest.raises(ResponseValidationError) as caught:
        await close.emails.list().collect()
    assert API_KEY.encode() not in caught.value.body
    assert API_KEY not in str(caught.value)
    first = await close.emails.list().limit(1).collect()
    with pytest.raises(FieldValueError) as field_caught:
        first[0].date_created  # noqa: B018 - the read is the test
    assert API_KEY.encode() not in field_caught.value.body
    assert API_KEY not in str(field_caught.value)
    assert API_KEY not in repr(field_caught.value)


@pytest.mark.parametrize("bad", [-1, True, 1.5, "2"])
async def test_prefetch_must_be_a_non_negative_int(close: CloseAsync, bad: Any) -> None:
    """A bad prefetch is refused when the listing is built, before anything is sent."""
    with pytest.raises(InvalidRequestError) as caught:
        close.emails.list(prefetch=bad)
    assert "prefetch" in caught.value.field_errors


# -- structured concurrency: nothing outlives the consumer ---------------------------------------


def other_tasks(before: set[asyncio.Task[Any]]) -> set[asyncio.Task[Any]]:
    return {t for t in asyncio.all_tasks() if t not in before and not t.done()}


async def test_cancelling_the_consumer_cancels_requests_in_flight(fake: FakeClose) -> None:
    """A consumer cancelled while a prefetched page hangs: that request is cancelled, no task is left."""
    gate = Gate(fake.transport(), hold=lambda r: offsets(r)[0] == 50)
    before = set(asyncio.all_tasks())
    got: list[str] = []
    async with fake_client(fake, gate) as close:
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as tg:

                async def consume() -> None:
                    async for email in close.emails.list(page_size=10, prefetch=4):
                        got.append(email.id)

                tg.start_soon(consume)
                await gate.held.wait()  # the hanging request is on the wire
                tg.cancel_scope.cancel()
        cancelled = {offsets(r) for r in gate.cancelled}
        assert (50, 10) in cancelled  # the hanging one, and any of its window still on the wire
        assert cancelled <= {(40, 10), (50, 10), (60, 10), (70, 10)}
        assert gate.in_flight == 0
        assert other_tasks(before) == set()
        # Window 0 (0-30) arrived and its 40 items were handed out; window 1 (40-70) went out
        # only when item 40 was wanted, and hung there.
        assert len(got) == 40
        requests = len(gate.log)
        await anyio.lowlevel.checkpoint()
        assert len(gate.log) == requests


@pytest.mark.parametrize("how", ["items", "pages"])
async def test_breaking_out_leaves_nothing_running(fake: FakeClose, how: str) -> None:
    """Break out of async for (never closing the iterator): nothing in flight, no task, no more requests."""
    gate = Gate(fake.transport())
    before = set(asyncio.all_tasks())
    async with fake_client(fake, gate) as close:
        listing = close.emails.list(page_size=10, prefetch=4)
        with anyio.fail_after(BOUND):
            if how == "items":
                async for _ in listing:
                    break
            else:
                async for _ in listing.pages():
                    break
        assert gate.in_flight == 0
        assert other_tasks(before) == set()
        sent = len(gate.log)
        assert sent == 4  # one window: the next goes out only when its first page is wanted
        gc.collect()  # finalizing the abandoned generator sends nothing either
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        assert len(gate.log) == sent
        assert gate.in_flight == 0


async def test_memory_is_bounded_by_one_window(fake: FakeClose) -> None:
    """At any item, pages fetched but not yet consumed number at most prefetch."""
    gate = Gate(fake.transport())
    consumed = 0
    most_ahead = 0
    async with fake_client(fake, gate) as close:
        async for _ in close.emails.list(page_size=5, prefetch=3):
            consumed += 1
            fetched_items = sum(limit for _, limit in gate.sent)
            most_ahead = max(most_ahead, fetched_items - consumed)
    assert consumed == 257
    # Right after a window arrives and its first item is taken: the other 14 wait.
    assert most_ahead == 5 * 3 - 1


async def test_an_exception_in_the_loop_body_leaves_nothing_running(fake: FakeClose) -> None:
    """The consumer's own error propagates as is, with nothing left running."""
    gate = Gate(fake.transport())
    before = set(asyncio.all_tasks())
    async with fake_client(fake, gate) as close:

        async def fail_at_first() -> None:
            async for email in close.emails.list(page_size=10, prefetch=4):
                raise KeyError(email.id)

        with pytest.raises(KeyError):
            await fail_at_first()
    assert gate.in_flight == 0
    assert other_tasks(before) == set()


# -- over HTTP ------------------------------------------------------------------------------------------


async def test_prefetch_over_http(fake: FakeClose) -> None:
    """Against the served fake on 127.0.0.1: the same emails as sequential, pages asked for together."""
    expected = await sequential_ids(fake, 25)
    fake.faults.add("delay", delay=0.1, probability=1.0)  # server latency, so the requests overlap
    in_flight = 0
    most = 0

    def on_event(event: Any) -> None:
        nonlocal in_flight, most
        if event.kind == "request":
            in_flight += 1
            most = max(most, in_flight)
        elif event.kind == "response":
            in_flight -= 1

    with anyio.fail_after(BOUND * 3):
        async with (
            serve(fake) as server,
            CloseAsync(api_key=fake.api_key, base_url=server.base_url, on_event=on_event) as close,
        ):
            got = [e.id async for e in close.emails.list(page_size=25, prefetch=4)]
            assert await close.emails.list(page_size=25, prefetch=4).limit(60).collect() != []
    assert got == expected
    assert most == 4


async def test_typed_items(fake: FakeClose) -> None:
    """Prefetched items are the same typed models as sequential ones."""
    async with fake_client(fake, fake.transport()) as close:
        items = await close.emails.list(page_size=100, prefetch=2).limit(150).collect()
    assert all(isinstance(e, Email) for e in items)
    assert [e.subject for e in items[:3]] == ["256", "255", "254"]
