"""Offset pagination: items, pages, limits, has_more, and memory that stays flat."""

from __future__ import annotations

import gc
import weakref
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from closeasync import CloseAsync, InvalidRequestError, ResponseValidationError
from closeasync.fake import FakeClose
from closeasync.models import Email, UnknownActivity
from closeasync.transports import Request, Response
from tests.conftest import StubTransport, json_response


def serve_emails(stub: StubTransport, total: int, *, short_pages: bool = False) -> None:
    """Answer list requests from a store of ``total`` emails, honouring _skip/_limit."""

    def handler(request: Request) -> Response:
        query = dict(parse_qsl(urlsplit(request.url).query))
        skip, limit = int(query.get("_skip", 0)), int(query["_limit"])
        if short_pages:  # a server may return fewer than _limit items and still have more
            limit = max(1, limit // 2)
        items = [{"_type": "Email", "id": f"acti_{i}"} for i in range(skip, min(total, skip + limit))]
        return json_response({"data": items, "has_more": skip + len(items) < total})

    stub.handler = handler


def sent_offsets(stub: StubTransport) -> list[tuple[int, int]]:
    out = []
    for request in stub.requests:
        query = dict(parse_qsl(urlsplit(request.url).query))
        out.append((int(query.get("_skip", 0)), int(query["_limit"])))
    return out


async def test_items_across_pages_in_order(stub: StubTransport, close: CloseAsync) -> None:
    """Iteration walks every page with _skip advancing and stops at has_more=false."""
    serve_emails(stub, 25)
    ids = [email.id async for email in close.emails.list(page_size=10)]
    assert ids == [f"acti_{i}" for i in range(25)]
    assert sent_offsets(stub) == [(0, 10), (10, 10), (20, 10)]


async def test_short_pages_advance_by_items_received(stub: StubTransport, close: CloseAsync) -> None:
    """_skip advances by what arrived, not by page_size, so nothing is skipped."""
    serve_emails(stub, 12, short_pages=True)
    ids = [email.id async for email in close.emails.list(page_size=10)]
    assert ids == [f"acti_{i}" for i in range(12)]


async def test_pages_expose_raw_and_has_more(stub: StubTransport, close: CloseAsync) -> None:
    """pages() yields Page objects with raw JSON, skip and has_more."""
    serve_emails(stub, 5)
    pages = [page async for page in close.emails.list(page_size=2).pages()]
    assert [(p.skip, len(p), p.has_more) for p in pages] == [(0, 2, True), (2, 2, True), (4, 1, False)]
    assert pages[0].raw == [{"_type": "Email", "id": "acti_0"}, {"_type": "Email", "id": "acti_1"}]
    assert [e.id for e in pages[2].items] == ["acti_4"]
    assert all(isinstance(e, Email) for e in pages[1])


async def test_limit_asks_for_no_more_than_needed(stub: StubTransport, close: CloseAsync) -> None:
    """limit(n) shrinks the last page's _limit and stops after n items."""
    serve_emails(stub, 1000)
    first = await close.emails.list(page_size=100).limit(150).collect()
    assert len(first) == 150
    assert sent_offsets(stub) == [(0, 100), (100, 50)]


async def test_limit_zero_and_first(stub: StubTransport, close: CloseAsync) -> None:
    """limit(0) sends nothing; first() fetches one item, or None when empty."""
    serve_emails(stub, 3)
    assert await close.emails.list().limit(0).collect() == []
    assert stub.requests == []
    first = await close.emails.list().first()
    assert first is not None
    assert first.id == "acti_0"
    assert sent_offsets(stub) == [(0, 1)]
    serve_emails(stub, 0)
    assert await close.emails.list().first() is None


async def test_nothing_is_sent_until_iterated(stub: StubTransport, close: CloseAsync) -> None:
    """list() is lazy: building a paginator sends no request."""
    close.emails.list(lead_id="lead_1")
    assert stub.requests == []


async def test_empty_page_with_has_more_stops(stub: StubTransport, close: CloseAsync) -> None:
    """A server saying has_more with no items cannot make the loop spin forever."""
    stub.handler = lambda r: json_response({"data": [], "has_more": True})
    assert await close.emails.list().collect() == []
    assert len(stub.requests) == 1


@pytest.mark.parametrize(
    "body",
    [{"data": {}, "has_more": False}, {"has_more": False}, [], {"data": [], "has_more": "no"}],
    ids=["data-not-list", "no-data", "not-object", "has_more-not-bool"],
)
async def test_malformed_envelope_is_a_typed_error(
    stub: StubTransport, close: CloseAsync, body: object
) -> None:
    """A list response without Close's envelope raises ResponseValidationError."""
    stub.handler = lambda r: json_response(body)
    with pytest.raises(ResponseValidationError):
        await close.emails.list().collect()


async def test_unknown_activity_types_do_not_break_iteration(stub: StubTransport, close: CloseAsync) -> None:
    """An activity type we do not model arrives as UnknownActivity, with its raw JSON."""
    future = {"_type": "HologramCall", "id": "acti_h", "lead_id": "lead_1", "depth": 3}
    stub.handler = lambda r: json_response(
        {"data": [future, {"_type": "Email", "id": "acti_e", "status": "teleported"}], "has_more": False}
    )
    activities = await close.activities.list(lead_id="lead_1").collect()
    unknown, email = activities
    assert isinstance(unknown, UnknownActivity)
    assert (unknown.type, unknown.id, unknown.raw) == ("HologramCall", "acti_h", future)
    assert isinstance(email, Email)
    assert email.status == "teleported"  # an unknown status stays a plain string


async def test_pages_are_not_retained(stub: StubTransport, close: CloseAsync) -> None:
    """Streaming holds one page at a time: earlier pages are garbage once passed."""
    serve_emails(stub, 50)
    refs: list[weakref.ref[object]] = []
    async for page in close.emails.list(page_size=10).pages():
        refs.append(weakref.ref(page))
        del page
        gc.collect()
        assert sum(ref() is not None for ref in refs) <= 1
    assert len(refs) == 5


@pytest.mark.parametrize(
    "page_size", [10**5000, -(10**5000), "x" * 10_000], ids=["huge", "-huge", "long-str"]
)
async def test_an_absurd_page_size_is_refused_in_a_short_message(page_size: Any) -> None:
    """``repr`` of a 5,000-digit int raises ValueError; the message names it in a few words."""
    async with CloseAsync(api_key="api_x", transport=FakeClose().transport()) as close:
        with pytest.raises(InvalidRequestError) as caught:
            close.emails.list(page_size=page_size)
    assert len(str(caught.value)) <= 130
