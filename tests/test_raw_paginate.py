"""``close.paginate(path)``: any offset-paged list as plain dicts, through the one listing engine."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from closeasync import (
    AsyncPaginator,
    CloseAsync,
    InvalidRequestError,
    RequestEvent,
    ResponseValidationError,
)
from closeasync.fake import FakeClose
from closeasync.models import to_dict
from closeasync.transports import Request
from tests.conftest import API_KEY, StubTransport, json_response
from tests.test_lossless import _assert_no_secret

NOTES = 250


@pytest.fixture
def fake() -> FakeClose:
    return FakeClose(seed=11)


@pytest.fixture
def lead(fake: FakeClose) -> dict[str, Any]:
    """A lead with :data:`NOTES` notes, a second apart, and one call."""
    lead = fake.add_lead("Acme")
    for n in range(NOTES):
        fake.add_activity("Note", lead_id=lead["id"], note=f"note {n}")
        fake.advance(1)
    fake.add_activity("Call", lead_id=lead["id"], duration=5)
    fake.add_activity("Note", lead_id=fake.add_lead("Other")["id"], note="elsewhere")
    return lead


def query_of(request: Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(request.url).query))


async def test_every_item_as_the_plain_dict_close_sent(fake: FakeClose, lead: dict[str, Any]) -> None:
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        listing = close.paginate("/activity/note/", params={"lead_id": lead["id"]}, page_size=40)
        assert isinstance(listing, AsyncPaginator)
        notes = [note async for note in listing]
        every = await close.paginate("activity", params={"lead_id": lead["id"]}).collect()
        typed = await close.activities.list(lead_id=lead["id"]).collect()
    assert len(notes) == NOTES
    assert all(type(note) is dict for note in notes)
    assert [note["note"] for note in notes] == [f"note {n}" for n in reversed(range(NOTES))]
    assert notes == [fake.activities[note["id"]] for note in notes]
    assert every == [to_dict(activity) for activity in typed]
    assert len(every) == NOTES + 1


async def test_pages_limit_and_first(fake: FakeClose, lead: dict[str, Any]) -> None:
    events: list[RequestEvent] = []
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport(), on_event=events.append) as close:
        listing = close.paginate("/activity/note/", params={"lead_id": lead["id"]}, page_size=100)
        pages = [page async for page in listing.pages()]
        assert [(page.skip, len(page), page.has_more) for page in pages] == [
            (0, 100, True),
            (100, 100, True),
            (200, 50, False),
        ]
        assert [item for page in pages for item in page] == await listing.collect()
        assert pages[1].items[0] == pages[1].raw[0]

        events.clear()
        first_45 = (
            await close.paginate("/activity/note/", params={"lead_id": lead["id"]}, page_size=20)
            .limit(45)
            .collect()
        )
        assert len(first_45) == 45
        assert [e.kind for e in events] == ["request", "response"] * 3  # no page past the limit
        assert first_45 == (await listing.collect())[:45]
        first = await close.paginate("/activity/note/", params={"lead_id": lead["id"]}).first()
        assert first == first_45[0]
        assert await close.paginate("/activity/note/", params={"lead_id": "lead_none"}).collect() == []


@pytest.mark.parametrize("page_size", [7, 50, 100])
async def test_prefetch_gives_what_sequential_paging_gives(
    fake: FakeClose, lead: dict[str, Any], page_size: int
) -> None:
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        params = {"lead_id": lead["id"]}
        sequential = await close.paginate("/activity/", params=params, page_size=page_size).collect()
        ahead = close.paginate("/activity/", params=params, page_size=page_size, prefetch=3)
        assert ahead.prefetch == 3
        assert [item async for item in ahead] == sequential
        assert await ahead.collect() == sequential
        async with ahead as items:
            assert [item async for item in items] == sequential
        assert await ahead.limit(33).collect() == sequential[:33]
    assert len(sequential) == NOTES + 1


async def test_nothing_is_sent_until_iterated_and_paging_params_are_refused(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response({"data": [{"id": "x"}], "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as close:
        listing = close.paginate("/opportunity/", params={"lead_id": "lead_1", "status_type": None})
        assert stub.requests == []
        assert await listing.collect() == [{"id": "x"}]
        assert stub.last.url == "https://close.test/api/v1/opportunity/?lead_id=lead_1&_limit=100"
        with pytest.raises(InvalidRequestError, match=r"close\.events\.list"):
            close.paginate("/event/")
        for owned in ("_skip", "_limit"):
            with pytest.raises(InvalidRequestError, match=owned):
                close.paginate("/opportunity/", params={owned: 5})
        for page_size, prefetch in ((0, 0), (-1, 0), (10, -1)):
            with pytest.raises(InvalidRequestError):
                close.paginate("/opportunity/", page_size=page_size, prefetch=prefetch)
    assert len(stub.requests) == 1


async def test_a_path_with_ids_pages_with_its_offsets(stub: StubTransport) -> None:
    def answer(request: Request) -> Any:
        skip = int(query_of(request).get("_skip", 0))
        return json_response({"data": [{"n": skip + i} for i in range(2)], "has_more": skip < 4})

    stub.handler = answer
    events: list[RequestEvent] = []
    async with CloseAsync(
        api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1", on_event=events.append
    ) as close:
        items = await close.paginate("/custom_object/cobj_9Xy/items/", page_size=2, prefetch=2).collect()
    assert [item["n"] for item in items] == [0, 1, 2, 3, 4, 5]
    assert {urlsplit(r.url).path for r in stub.requests} == {"/api/v1/custom_object/cobj_9Xy/items/"}
    assert {e.group for e in events} == {"GET /custom_object/{id}/items/"}


async def test_an_item_that_is_not_an_object_is_a_validation_error(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response({"data": [{"id": "a"}, 5], "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as close:
        seen: list[dict[str, Any]] = []

        async def drain() -> None:
            async for item in close.paginate("/lead/"):
                seen.append(item)

        with pytest.raises(ResponseValidationError, match="item 1 of the listing"):
            await drain()
        assert seen == [{"id": "a"}]
        stub.handler = lambda request: json_response({"data": "nope"})
        with pytest.raises(ResponseValidationError, match="'data' list"):
            await close.paginate("/lead/").collect()


async def test_no_page_or_item_holds_the_key(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response(
        {"data": [{"id": "lead_1", "x": {"y": [1]}}], "has_more": False}
    )
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as close:
        listing = close.paginate("/lead/", params={"query": "acme"})
        pages = [page async for page in listing.pages()]
        items = await listing.collect()
    assert items == [{"id": "lead_1", "x": {"y": [1]}}]
    for root in (*pages, items):
        _assert_no_secret(root, [API_KEY])
