"""Prefetching inside ``async with listing as items``: requests kept in flight while the block runs.

The transports and stores are those of ``test_prefetch.py``; here what differs from the
windowed form is checked: the wire is refilled as soon as an answer arrives, and the
block (not each ``__anext__``) bounds the tasks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import anyio.lowlevel
import orjson
import pytest

from closeasync import AsyncPaginator, ResponseValidationError, ServerError
from closeasync.fake import FakeClose
from closeasync.models import Email
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, StubTransport, json_response
from tests.test_prefetch import (
    BOUND,
    NO_RETRY,
    Gate,
    client,
    emails_fake,
    fake_client,
    offsets,
    other_tasks,
    sequential_ids,
    store_handler,
)


async def listed(listing: AsyncPaginator[Email], into: list[str] | None = None) -> list[str]:
    """The ids of ``async with listing as items`` (appended to ``into`` as they come)."""
    got = [] if into is None else into
    async with listing as items:
        async for email in items:
            got.append(email.id)
    return got


async def fail_in_the_body(listing: AsyncPaginator[Email]) -> None:
    async with listing as items:
        async for email in items:
            raise KeyError(email.id)


@pytest.fixture
def fake() -> FakeClose:
    return emails_fake(257)


class Manual:
    """A transport that answers each request only when the test releases its offset."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.instant_waits = False
        self.waiting: dict[int, anyio.Event] = {}
        self.asked: list[int] = []
        self.arrived = anyio.Event()

    async def send(self, request: Request) -> Response:
        skip = offsets(request)[0]
        self.asked.append(skip)
        self.waiting[skip] = release = anyio.Event()
        self.arrived.set()
        await release.wait()
        answer: Response = await self.inner.send(request)
        return answer

    async def until_asked(self, count: int) -> None:
        while len(self.asked) < count:
            self.arrived = anyio.Event()
            await self.arrived.wait()

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.mark.parametrize("prefetch", [0, 1, 2, 4, 16])
async def test_items_equal_sequential_listing(fake: FakeClose, prefetch: int) -> None:
    expected = await sequential_ids(fake, 20)
    gate = Gate(fake.transport())
    with anyio.fail_after(BOUND):
        async with (
            fake_client(fake, gate) as close,
            close.emails.list(page_size=20, prefetch=prefetch) as items,
        ):
            got = [e.id async for e in items]
    assert got == expected
    assert all(isinstance(e, str) for e in got)
    pages = [skip for skip, _ in gate.sent]
    assert sorted(pages)[:13] == [20 * i for i in range(13)]
    assert len(pages) == len(set(pages))
    assert gate.max_in_flight <= max(1, prefetch)
    assert gate.in_flight == 0


@pytest.mark.parametrize("prefetch", [1, 3, 8])
async def test_limit_asks_for_nothing_beyond_it(fake: FakeClose, prefetch: int) -> None:
    gate = Gate(fake.transport())
    async with fake_client(fake, gate) as close:
        async with close.emails.list(page_size=50, prefetch=prefetch).limit(130) as items:
            got = [e.id async for e in items]
        assert got == (await sequential_ids(fake, 50))[:130]
    assert sorted(gate.sent) == [(0, 50), (50, 50), (100, 30)]


async def test_taking_a_page_sends_the_next_offset_at_once(fake: FakeClose) -> None:
    """Not in windows: once the consumer takes a page, the next offset goes out, whatever
    else is still on the wire."""
    manual = Manual(fake.transport())
    got: list[str] = []
    # No slow start (which sends a group's first request alone): here three pages go at once.
    async with fake_client(fake, manual, pace_rate_limits=False) as close:
        with anyio.fail_after(BOUND):
            async with close.emails.list(page_size=10, prefetch=3) as items, anyio.create_task_group() as tg:

                async def consume() -> None:
                    got.extend([e.id async for e in items])

                tg.start_soon(consume)
                await manual.until_asked(3)
                assert manual.asked == [0, 10, 20]
                manual.waiting[10].set()  # an answer out of order is kept for its turn
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()
                assert manual.asked == [0, 10, 20]  # three pages ahead already: nothing more
                manual.waiting[0].set()
                await manual.until_asked(5)  # page 0 taken, page 10 taken: 30 and 40 go out
                assert manual.asked == [0, 10, 20, 30, 40]
                assert not manual.waiting[20].is_set()  # while 20 is still on the wire
                for skip in range(20, 300, 10):  # then let everything through as it comes
                    while skip not in manual.waiting:
                        await anyio.lowlevel.checkpoint()
                    manual.waiting[skip].set()
                    if skip >= 250:
                        break
    assert got == await sequential_ids(fake, 10)


async def test_memory_and_the_wire_are_bounded(fake: FakeClose) -> None:
    """At most N pages asked for ahead of the consumer (in flight or waiting)."""
    gate = Gate(fake.transport())
    consumed = most_ahead = 0
    async with fake_client(fake, gate) as close, close.emails.list(page_size=5, prefetch=3) as items:
        async for _ in items:
            consumed += 1
            fetched = sum(limit for _, limit in gate.sent) - sum(
                limit for r in gate.cancelled for _, limit in [offsets(r)]
            )
            most_ahead = max(most_ahead, fetched - consumed)
    assert consumed == 257
    assert gate.max_in_flight == 3
    assert most_ahead <= 5 * 3 + 5  # three pages ahead, and the rest of the one being read


async def test_max_concurrency_caps_the_stream(fake: FakeClose) -> None:
    gate = Gate(fake.transport())
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate, max_concurrency=2) as close:
            got = await listed(close.emails.list(page_size=10, prefetch=8))
    assert len(got) == 257
    assert gate.max_in_flight == 2


async def test_the_end_cancels_requests_beyond_it(fake: FakeClose) -> None:
    gate = Gate(fake.transport(), hold=lambda r: offsets(r)[0] >= 300)
    with anyio.fail_after(BOUND):
        async with fake_client(fake, gate) as close, close.emails.list(page_size=100, prefetch=4) as items:
            got = [e.id async for e in items]
    assert len(got) == 257
    cancelled = [offsets(r) for r in gate.cancelled]  # what was still asked for past the end
    assert (300, 100) in cancelled
    assert all(skip >= 300 for skip, _ in cancelled)
    assert len(cancelled) <= 4
    assert gate.in_flight == 0


async def test_short_and_long_pages_match_sequential_paging() -> None:
    stub = StubTransport()
    stub.handler = store_handler(230, short={60: 7}, long={147: 33})
    gate = Gate(stub)
    with anyio.fail_after(BOUND):
        async with client(gate) as close, close.emails.list(page_size=20, prefetch=4) as items:
            got = [e.id async for e in items]
    assert got == [f"acti_{i}" for i in range(230)]
    sent = gate.sent
    fallback = sent[sent.index((67, 20)) :]  # one page at a time from where the short page ended
    assert [skip for skip, _ in fallback] == [67, 87, 107, 127, 147, 180, 200, 220]


async def test_a_failed_page_raises_after_the_items_before_it() -> None:
    stub = StubTransport()
    store = store_handler(200)
    stub.handler = lambda r: json_response({"error": "boom"}, 503) if offsets(r)[0] == 60 else store(r)
    got: list[str] = []
    async with client(Gate(stub), retry=NO_RETRY) as close:
        with pytest.raises(ServerError):  # as it is, not in an ExceptionGroup
            await listed(close.emails.list(page_size=20, prefetch=4), got)
    assert got == [f"acti_{i}" for i in range(60)]


async def test_a_misfit_item_ends_the_stream_with_its_response() -> None:
    stub = StubTransport()
    store = store_handler(50)

    def misfit(request: Request) -> Response:
        if offsets(request)[0] != 20:
            return store(request)
        items: list[Any] = [{"_type": "Email", "id": f"acti_{i}"} for i in range(20, 40)]
        items[3] = ["not", "an", "object"]  # a malformed field would fail only when read
        return json_response({"data": items, "has_more": True})

    stub.handler = misfit
    got: list[str] = []
    async with client(Gate(stub)) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await listed(close.emails.list(page_size=20, prefetch=3), got)
    assert got == [f"acti_{i}" for i in range(23)]
    assert "item 23 of the listing" in str(caught.value)
    assert caught.value.status == 200


@pytest.mark.parametrize("how", ["break", "error", "cancel"])
async def test_leaving_the_block_leaves_nothing_running(fake: FakeClose, how: str) -> None:
    """Break, an exception in the body, or cancellation: nothing in flight and no task after the block."""
    gate = Gate(fake.transport(), hold=lambda r: offsets(r)[0] == 30)
    before = set(asyncio.all_tasks())
    async with fake_client(fake, gate) as close:
        with anyio.fail_after(BOUND):
            if how == "break":
                async with close.emails.list(page_size=10, prefetch=4) as items:
                    async for _ in items:
                        break
            elif how == "error":
                with pytest.raises(KeyError):
                    await fail_in_the_body(close.emails.list(page_size=10, prefetch=4))
            else:
                with anyio.CancelScope() as scope:
                    async with close.emails.list(page_size=10, prefetch=4) as items:
                        async for email in items:
                            if email.subject == "250":  # a while before the held page's turn
                                await gate.held.wait()
                                scope.cancel()
                                await anyio.lowlevel.checkpoint()
                assert scope.cancelled_caught
        assert gate.in_flight == 0
        assert other_tasks(before) == set()
        sent = len(gate.log)
        for _ in range(5):
            await anyio.lowlevel.checkpoint()
        assert len(gate.log) == sent


async def test_iterating_after_the_block_is_refused(fake: FakeClose) -> None:
    async with fake_client(fake, fake.transport()) as close:
        listing = close.emails.list(page_size=10, prefetch=2)
        async with listing as items:
            first = await items.__anext__()
        assert isinstance(first, Email)
        with pytest.raises(RuntimeError, match="inside its 'async with' block"):
            await items.__anext__()
        async with listing as again:  # the listing itself can be opened again
            assert len([e async for e in again]) == 257
        with pytest.raises(RuntimeError, match="already open"):
            async with listing, listing:
                pass


async def test_collect_with_prefetch_keeps_the_wire_full_and_can_run_twice_at_once(fake: FakeClose) -> None:
    """collect() runs to the end in one call, so it prefetches like the block form; each call has its own."""
    gate = Gate(fake.transport())
    async with fake_client(fake, gate) as close:
        listing = close.emails.list(page_size=10, prefetch=4)
        results: list[list[str]] = []

        async def collect() -> None:
            results.append([e.id for e in await listing.collect()])

        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as tg:
                tg.start_soon(collect)
                tg.start_soon(collect)
        expected = await sequential_ids(fake, 10)
    assert results == [expected, expected]
    assert gate.max_in_flight <= 8
    assert gate.in_flight == 0


async def test_a_page_that_is_not_json_fails_in_its_turn_without_the_key() -> None:
    """Pages wait as bytes and are parsed in their turn: a bad one raises there, scrubbed."""
    stub = StubTransport()
    store = store_handler(200)

    def broken(request: Request) -> Response:
        if offsets(request)[0] == 40:
            return Response(200, (("content-type", "application/json"),), f"oops {API_KEY}".encode())
        return store(request)

    stub.handler = broken
    got: list[str] = []
    async with client(Gate(stub)) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await listed(close.emails.list(page_size=20, prefetch=4), got)
        with pytest.raises(ResponseValidationError):
            await close.emails.list(page_size=20, prefetch=4).collect()
    assert got == [f"acti_{i}" for i in range(40)]
    assert API_KEY not in str(caught.value)
    assert API_KEY.encode() not in caught.value.body


async def test_a_cancelled_wait_for_a_page_loses_no_page(fake: FakeClose) -> None:
    """A per-item timeout that fires while a page is awaited: that page comes next, not lost."""
    manual = Manual(fake.transport())
    got: list[str] = []
    timeouts = 0
    async with fake_client(fake, manual) as close:
        with anyio.fail_after(BOUND):
            async with close.emails.list(page_size=10, prefetch=3) as items:
                iterator = items.__aiter__()
                while True:
                    with anyio.move_on_after(0) as scope:  # gives up at its first wait
                        try:
                            got.append((await iterator.__anext__()).id)
                            continue  # a buffered item: no wait, nothing to give up
                        except StopAsyncIteration:
                            break
                    assert scope.cancelled_caught
                    timeouts += 1
                    for release in list(manual.waiting.values()):  # now let the pages come
                        release.set()
                    try:
                        got.append((await iterator.__anext__()).id)
                    except StopAsyncIteration:
                        break
    # A timeout each time the next page was not in yet: at least once per 3 pages (releasing
    # what waits lets up to 3 pages in at once).
    assert timeouts >= 26 // 3
    assert got == await sequential_ids(fake, 10)


async def test_after_a_misfit_or_a_failed_page_nothing_more_is_handed_out() -> None:
    """Catching the error and iterating on gives nothing more, whatever the form."""
    stub = StubTransport()
    store = store_handler(60)

    def answer(request: Request) -> Response:
        skip, limit = offsets(request)
        if skip == 0:  # a short page: the rest of the listing goes one page at a time
            return json_response({"data": orjson.loads(store(request).content)["data"][:7], "has_more": True})
        if skip == 7:
            items: list[Any] = [{"_type": "Email", "id": f"acti_{i}"} for i in range(7, 7 + limit)]
            items[2] = "not an object"
            return json_response({"data": items, "has_more": True})
        return store(request)

    stub.handler = answer
    got: list[str] = []
    async with (
        client(Gate(stub), retry=NO_RETRY) as close,
        close.emails.list(page_size=10, prefetch=3) as items,
    ):
        for _ in range(3):
            try:
                async for email in items:
                    got.append(email.id)
            except ResponseValidationError:
                got.append("misfit")
    assert got == [*(f"acti_{i}" for i in range(9)), "misfit"]
    failing = StubTransport()
    failing.handler = lambda r: (
        json_response({"data": orjson.loads(store(r).content)["data"][:7], "has_more": True})
        if offsets(r)[0] == 0
        else json_response({"error": "boom"}, 503)
    )
    errors = 0
    async with client(failing, retry=NO_RETRY) as close, close.emails.list(page_size=10, prefetch=3) as items:
        for _ in range(3):
            try:
                got = [e.id async for e in items]
            except ServerError:
                errors += 1
    assert errors == 1  # the failed page is not asked for again on every __anext__
    assert [offsets(r)[0] for r in failing.requests].count(7) == 1
