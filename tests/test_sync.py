"""Deep and incremental sync: keyset walks by date_created, cursors, exactly-once delivery.

The fake's history is changed between pages (activities added, some deleted) by
:class:`Between`, a transport that runs a callback after each list response. Plain
offset paging is run under the same changes to show what goes wrong without the sync.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import pytest

from closeasync import (
    BadRequestError,
    CloseAsync,
    InvalidRequestError,
    ResponseValidationError,
    SyncCursor,
    SyncIterator,
)
from closeasync.fake import FakeClose, ListRules
from closeasync.models import SMS, Call, Email, UnknownActivity
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, StubTransport, json_response

BOUND = 20.0
T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class Between:
    """Forward to the fake's transport; after each list response, call ``after(pages_so_far)``."""

    def __init__(self, inner: Any, after: Callable[[int], None] = lambda n: None) -> None:
        self.inner = inner
        self.after = after
        self.pages = 0
        self.queries: list[dict[str, str]] = []

    async def send(self, request: Request) -> Response:
        response: Response = await self.inner.send(request)
        if request.method == "GET" and request.url.split("?")[0].endswith(("/email/", "/sms/", "/activity/")):
            self.pages += 1
            self.queries.append(dict(parse_qsl(urlsplit(request.url).query)))
            self.after(self.pages)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def history(count: int, *, seed: int = 7, step: float = 1.0, **fake_options: Any) -> tuple[FakeClose, str]:
    """A fake with ``count`` emails created ``step`` seconds apart from T0; returns it and the lead id."""
    fake = FakeClose(seed=seed, **fake_options)
    lead = fake.add_lead("Acme")["id"]
    for i in range(count):
        fake.add_activity(
            "Email", lead_id=lead, date_created=T0 + timedelta(seconds=i * step), subject=f"e{i}"
        )
    return fake, lead


def newest_first(fake: FakeClose, kind: str = "Email") -> list[str]:
    """The ids the fake holds of ``kind``, in Close's listing order."""
    items = [a for a in fake.activities.values() if a["_type"] == kind]
    items.sort(key=lambda a: (a["date_created"], a["id"]), reverse=True)
    return [a["id"] for a in items]


def connect(fake: FakeClose, transport: Any = None) -> CloseAsync:
    return CloseAsync(api_key=fake.api_key, transport=transport or fake.transport())


async def drain(sync: SyncIterator[Any]) -> list[str]:
    with anyio.fail_after(BOUND):
        return [item.id async for item in sync]


# -- a whole walk --------------------------------------------------------------------------------


async def test_walks_the_whole_history_newest_first() -> None:
    """Every email once, in listing order; the watermark ends at the newest one."""
    fake, _ = history(95)
    transport = Between(fake.transport())
    async with connect(fake, transport) as close:
        sync = close.emails.sync(page_size=10)
        assert sync.cursor == SyncCursor(scope="/activity/email/")
        got = await drain(sync)
    assert got == newest_first(fake)
    cursor = sync.cursor
    assert cursor.watermark == T0 + timedelta(seconds=94)
    assert cursor.watermark_ids == (got[0],)
    assert not cursor.in_progress
    # No offsets: each page starts one item before the next one (the overlap check).
    assert all(int(q.get("_skip", 0)) <= 1 for q in transport.queries)
    assert transport.pages == sync.requests <= 12


async def test_buffered_says_when_the_next_item_needs_a_request() -> None:
    """``buffered`` reaches 0 exactly when a page is used up: the moment to save the cursor."""
    fake, _ = history(25)
    transport = Between(fake.transport())
    async with connect(fake, transport) as close:
        sync = close.emails.sync(page_size=10)
        assert sync.buffered == 0
        requests_when_empty: list[int] = []
        async for _ in sync:
            assert transport.pages == sync.requests  # handing out buffered items sends nothing
            if sync.buffered == 0:
                requests_when_empty.append(sync.requests)
    # Each page but the first repeats the last item of the one before (the overlap check),
    # so 25 items take 3 pages of 10; each ran dry once, before the next request.
    assert requests_when_empty == [1, 2, 3]


async def test_deep_history_past_the_skip_cap() -> None:
    """Close caps _skip: offset paging fails past it, the sync walks on by date."""
    fake, _ = history(130, list_rules=ListRules(max_skip=40, max_limit=20))
    async with connect(fake) as close:
        with pytest.raises(BadRequestError) as caught:
            await close.emails.list(page_size=20).collect()
        assert "_skip" in caught.value.field_errors
        got = await drain(close.emails.sync(page_size=20))
    assert got == newest_first(fake)


async def test_an_empty_history_keeps_the_cursor() -> None:
    """Nothing to list: the walk ends at once and the cursor is unchanged."""
    fake = FakeClose(seed=1)
    async with connect(fake) as close:
        start = SyncCursor(scope="/activity/email/", watermark=T0, watermark_ids=("acti_x",))
        sync = close.emails.sync(since=start)
        assert await drain(sync) == []
        assert sync.cursor == start
        assert await drain(sync) == []  # a finished sync stays finished


# -- a live history ------------------------------------------------------------------------------


async def test_new_activities_during_the_walk_come_exactly_once() -> None:
    """Emails created between pages: not repeated in this walk, delivered by the next one."""
    fake, lead = history(60)
    added: list[str] = []

    def create_some(page: int) -> None:
        if page <= 4:
            fake.clock.advance(1)  # created now: newer than everything listed so far
            for _ in range(3):
                added.append(fake.add_activity("Email", lead_id=lead, date_created=fake.now)["id"])

    before = newest_first(fake)
    async with connect(fake, Between(fake.transport(), create_some)) as close:
        first = close.emails.sync(page_size=10)
        walked = await drain(first)
        assert walked == before
        second = close.emails.sync(since=first.cursor, page_size=10)
        rest = await drain(second)
        assert sorted(rest) == sorted(added)
        assert await drain(close.emails.sync(since=second.cursor)) == []
    everything = Counter(walked + rest)
    assert set(everything) == set(newest_first(fake))
    assert max(everything.values()) == 1


async def test_offset_paging_repeats_items_when_new_ones_arrive() -> None:
    """The problem the sync solves: with offsets, new activities push listed ones onto later pages."""
    fake, lead = history(40)

    def create_one(page: int) -> None:
        fake.clock.advance(1)
        fake.add_activity("Email", lead_id=lead, date_created=fake.now)

    async with connect(fake, Between(fake.transport(), create_one)) as close:
        listed = [e.id async for e in close.emails.list(page_size=10)]
    assert len(listed) > len(set(listed))


async def test_deletions_during_the_walk_skip_nothing() -> None:
    """Emails deleted between pages (listed or not): every survivor comes exactly once."""
    fake, _ = history(80)
    order = newest_first(fake)
    deleted: set[str] = set()

    def delete_some(page: int) -> None:
        # Delete two already-listed emails and one not yet reached, after each of the first pages.
        if page > 6:
            return
        for ident in (order[(page - 1) * 10], order[(page - 1) * 10 + 3], order[-page]):
            if fake.activities.pop(ident, None) is not None:
                deleted.add(ident)

    async with connect(fake, Between(fake.transport(), delete_some)) as close:
        got = await drain(close.emails.sync(page_size=10))
    assert len(got) == len(set(got))
    survivors = [i for i in order if i not in deleted]
    assert [i for i in got if i not in deleted] == survivors


async def test_offset_paging_skips_items_when_listed_ones_are_deleted() -> None:
    """The reviewer's finding: deleting listed items shifts offsets, and plain paging skips survivors."""
    fake, _ = history(40)
    order = newest_first(fake)

    def delete_listed(page: int) -> None:
        for ident in order[(page - 1) * 10 : (page - 1) * 10 + 3]:
            fake.activities.pop(ident, None)

    async with connect(fake, Between(fake.transport(), delete_listed)) as close:
        listed = [e.id async for e in close.emails.list(page_size=10)]
    survivors = set(newest_first(fake))
    assert not survivors <= set(listed)


# -- activities created at the same instant -------------------------------------------------------


def tied_history(seed: int = 11) -> tuple[FakeClose, str]:
    """Emails in groups that share a date_created, larger than a page: 5, 25, 1, 12, 7 at 5 instants."""
    fake = FakeClose(seed=seed)
    lead = fake.add_lead("Acme")["id"]
    for second, size in enumerate((5, 25, 1, 12, 7)):
        for _ in range(size):
            fake.add_activity("Email", lead_id=lead, date_created=T0 + timedelta(seconds=second))
    return fake, lead


async def test_groups_at_one_instant_larger_than_a_page() -> None:
    """Ties span pages: the walk reads inside the group by offset, with an overlap check."""
    fake, _ = tied_history()
    transport = Between(fake.transport())
    async with connect(fake, transport) as close:
        got = await drain(close.emails.sync(page_size=6))
    assert got == newest_first(fake)
    assert max(int(q.get("_skip", 0)) for q in transport.queries) < 25  # only within a group


async def test_a_group_changing_while_read_is_read_again(caplog: pytest.LogCaptureFixture) -> None:
    """Deleting from, and adding to, the group being read: it is read again; each one once."""
    fake, lead = tied_history()
    group = T0 + timedelta(seconds=1)
    in_group = [
        i
        for i in newest_first(fake)
        if fake.activities[i]["date_created"] == group.isoformat(timespec="microseconds")
    ]
    assert len(in_group) == 25
    deleted: set[str] = set()

    def churn(page: int) -> None:
        inside = transport.queries[-1].get("date_created__lte") == group.isoformat()
        if inside and not deleted:  # reading the group of 25: drop two listed, backdate one into it
            for ident in in_group[:2]:
                fake.activities.pop(ident)
                deleted.add(ident)
            fake.add_activity("Email", lead_id=lead, date_created=group)

    caplog.set_level("INFO", logger="closeasync")
    transport = Between(fake.transport(), churn)
    async with connect(fake, transport) as close:
        got = await drain(close.emails.sync(page_size=6))
    assert len(got) == len(set(got))
    assert set(got) - deleted == set(newest_first(fake))
    assert deleted
    assert any("changed while read" in r.getMessage() for r in caplog.records)


# -- cursors ----------------------------------------------------------------------------------------


async def test_resuming_after_every_item_delivers_each_once() -> None:
    """Stop after each item and resume from the saved JSON: the concatenation is the whole walk."""
    fake, _ = tied_history(seed=12)
    got: list[str] = []
    saved: str | None = None
    async with connect(fake) as close:
        with anyio.fail_after(BOUND):
            for _ in range(200):
                sync = close.emails.sync(since=SyncCursor.from_json(saved) if saved else None, page_size=4)
                item = await anext(aiter(sync), None)
                if item is None:
                    break
                got.append(item.id)
                saved = sync.cursor.to_json()
                assert sync.cursor.in_progress
    assert got == newest_first(fake)
    assert saved is not None
    final = SyncCursor.from_json(saved)
    assert final.position is not None


async def test_an_interrupted_walk_finishes_before_the_watermark_moves() -> None:
    """Resuming a walk in progress finishes it; a later sync lists only what is new."""
    fake, lead = history(30)
    async with connect(fake) as close:
        sync = close.emails.sync(page_size=8)
        first = [(await anext(sync)).id for _ in range(12)]
        cursor = sync.cursor
        assert cursor.in_progress
        assert cursor.watermark is None
        assert cursor.top == T0 + timedelta(seconds=29)
        fake.clock.advance(3600)
        late = fake.add_activity("Email", lead_id=lead, date_created=fake.now)["id"]
        resumed = close.emails.sync(since=cursor, page_size=8)
        rest = await drain(resumed)
        assert first + rest == [i for i in newest_first(fake) if i != late]
        assert resumed.cursor.watermark == T0 + timedelta(seconds=29)
        assert await drain(close.emails.sync(since=resumed.cursor)) == [late]


async def test_new_activities_at_the_watermark_instant_are_not_lost() -> None:
    """An email later found at exactly the watermark's instant is delivered; the known one is not."""
    fake, lead = history(5)
    async with connect(fake) as close:
        sync = close.emails.sync()
        await drain(sync)
        same_instant = fake.add_activity("Email", lead_id=lead, date_created=T0 + timedelta(seconds=4))["id"]
        again = close.emails.sync(since=sync.cursor)
        assert await drain(again) == [same_instant]
        assert set(again.cursor.watermark_ids) == {same_instant, *sync.cursor.watermark_ids}


async def test_since_and_until_bound_the_walk() -> None:
    """since: created at or after it; until: created before it."""
    fake, _ = history(20)
    order = newest_first(fake)  # e19 .. e0
    async with connect(fake) as close:
        since = await drain(close.emails.sync(since=T0 + timedelta(seconds=15)))
        until = await drain(close.emails.sync(until=T0 + timedelta(seconds=3)))
        both = await drain(
            close.emails.sync(since=T0 + timedelta(seconds=5), until=T0 + timedelta(seconds=8))
        )
    assert since == order[:5]
    assert until == order[-3:]
    assert both == order[12:15]


def test_cursor_round_trips_and_refuses_garbage() -> None:
    """to_json/from_json keep every field; anything else is refused with a clear error."""
    cursor = SyncCursor(
        scope="/activity/sms/?lead_id=lead_1",
        watermark=T0,
        watermark_ids=("acti_1",),
        top=T0 + timedelta(hours=1),
        top_ids=("acti_3", "acti_4"),
        position=T0 + timedelta(minutes=5),
        position_ids=("acti_2",),
    )
    assert SyncCursor.from_json(cursor.to_json()) == cursor
    assert SyncCursor.from_dict(cursor.to_dict()) == cursor
    for bad in ('{"version": 99}', "[]", "not json", '{"version": 1, "scope": 3, "watermark": "x"}'):
        with pytest.raises(InvalidRequestError):
            SyncCursor.from_json(bad)
    with pytest.raises(InvalidRequestError):
        SyncCursor.from_dict({**cursor.to_dict(), "position": None})


async def test_a_cursor_only_resumes_its_own_sync() -> None:
    """A cursor remembers its route and filters; another sync refuses it."""
    fake, lead = history(3)
    async with connect(fake) as close:
        sync = close.emails.sync(lead_id=lead)
        await drain(sync)
        with pytest.raises(InvalidRequestError) as caught:
            close.sms.sync(since=sync.cursor, lead_id=lead)
        assert "since" in caught.value.field_errors
        with pytest.raises(InvalidRequestError):
            close.emails.sync(since=sync.cursor)  # without the lead filter
        assert await drain(close.emails.sync(since=sync.cursor, lead_id=lead, fields=["subject"])) == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"date_created__gt": T0}, "date_created__gt"),
        ({"activity_at__lt": T0}, "activity_at__lt"),
        ({"since": datetime(2025, 1, 1)}, "since"),  # naive
        ({"until": datetime(2025, 1, 1)}, "until"),
        ({"page_size": 1}, "_limit"),
        ({"lead_ids": "lead_1"}, "lead_ids"),
    ],
)
async def test_bad_arguments_are_refused_up_front(kwargs: dict[str, Any], field: str) -> None:
    """Refused when the sync is built, before anything is sent."""
    stub = StubTransport()
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(InvalidRequestError) as caught:
            close.emails.sync(**kwargs)
        assert field in caught.value.field_errors
    assert stub.requests == []


# -- other resources, partial fields, and servers that break the rules ------------------------------


async def test_sms_and_activities_sync() -> None:
    """close.sms.sync and close.activities.sync (with its filters) walk the same way."""
    fake, lead = history(12)
    for i in range(9):
        fake.add_activity("SMS", lead_id=lead, date_created=T0 + timedelta(seconds=i, milliseconds=500))
        fake.add_activity("Call", lead_id=lead, date_created=T0 + timedelta(seconds=i, milliseconds=700))
    async with connect(fake) as close:
        sms = close.sms.sync(page_size=4)
        assert await drain(sms) == newest_first(fake, "SMS")
        everything = close.activities.sync(lead_id=lead, page_size=5)
        with anyio.fail_after(BOUND):
            kinds = Counter([type(a).__name__ async for a in everything])
        calls = close.activities.sync(lead_id=lead, types=[Call, "SMS"], fields=["duration"], page_size=5)
        with anyio.fail_after(BOUND):
            picked = [a async for a in calls]
        with pytest.raises(InvalidRequestError):
            close.activities.sync(types=["Call"])  # types need a single lead, as in list()
    assert kinds == {"Email": 12, "SMS": 9, "Call": 9}
    assert {type(a) for a in picked} == {Call, SMS}
    assert len(picked) == 18
    assert all(isinstance(a, Call | SMS) and isinstance(a.date_created, datetime) for a in picked)
    assert not any(isinstance(a, Email) for a in picked)


async def test_a_server_ignoring_the_order_is_an_error() -> None:
    """Oldest first (or filters ignored) would break the walk: refuse it loudly."""
    stub = StubTransport()
    items = [
        {"_type": "Email", "id": f"acti_{i}", "date_created": (T0 + timedelta(seconds=i)).isoformat()}
        for i in range(3)
    ]
    stub.handler = lambda r: json_response({"data": items, "has_more": True})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await drain(close.emails.sync())
    assert "newest first" in str(caught.value)
    assert caught.value.method == "GET"


async def test_items_without_date_created_are_an_error() -> None:
    """The walk needs each item's id and date_created."""
    stub = StubTransport()
    stub.handler = lambda r: json_response({"data": [{"_type": "Email", "id": "acti_1"}], "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await drain(close.emails.sync())
    assert b"acti_1" in caught.value.body


async def test_an_unstable_order_inside_a_group_gives_up() -> None:
    """A group at one instant whose order changes on every read cannot be walked: say so."""
    stub = StubTransport()
    stamp = T0.isoformat()
    calls = 0

    def shuffled(request: Request) -> Response:
        nonlocal calls
        calls += 1
        ids = [f"acti_{(calls * 7 + i) % 50}" for i in range(5)]
        return json_response(
            {"data": [{"_type": "Email", "id": i, "date_created": stamp} for i in ids], "has_more": True}
        )

    stub.handler = shuffled
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(ResponseValidationError) as caught:
            await drain(close.emails.sync(page_size=5))
    assert "kept changing" in str(caught.value)
    assert calls < 30


async def test_synced_items_carry_the_timestamp_the_walk_parsed() -> None:
    """date_created arrives as the walk read it (naive means UTC); other fields are as sent."""
    stub = StubTransport()
    items = [
        {"_type": "Email", "id": "acti_2", "date_created": "2025-06-01T12:00:01", "subject": "b"},
        {"_type": "Email", "id": "acti_1", "date_created": "2025-06-01T12:00:00+00:00", "subject": "a"},
    ]
    stub.handler = lambda r: json_response({"data": items, "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        got = [email async for email in close.emails.sync()]
    assert [(e.id, e.date_created, e.subject) for e in got] == [
        ("acti_2", T0 + timedelta(seconds=1), "b"),
        ("acti_1", T0, "a"),
    ]
    assert all(e.date_created.tzinfo is not None for e in got)


async def test_a_synced_unknown_type_keeps_its_json_as_it_came() -> None:
    stub = StubTransport()
    item = {
        "_type": "BrandNew",
        "id": "acti_n",
        "date_created": "2025-06-01T12:00:00.5Z",
        "lead_id": "lead_1",
    }
    stub.handler = lambda r: json_response({"data": [item], "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        got = [activity async for activity in close.activities.sync(lead_id="lead")]
    assert len(got) == 1
    assert isinstance(got[0], UnknownActivity)
    assert got[0].raw == item  # the timestamp as Close wrote it, not the walk's datetime
