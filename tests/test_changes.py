"""``close.events``: the event log by cursor paging, and the change feed that follows it.

A scripted event log (:class:`StubLog`) answers ``GET /event/`` as Close documents it:
newest first by ``date_updated``, cursor paging, ``date_updated__gte``; events may become
visible late (within the overlap) and be consolidated (same id, later ``date_updated``).
The property test runs random histories with feeds killed and resumed from their saved
cursors between changes, and checks what Close promises the feed can deliver.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from closeasync import (
    ChangeCursor,
    CloseAsync,
    EventLogExpiredError,
    InvalidRequestError,
    ResponseValidationError,
)
from closeasync.models import Event, to_dict
from closeasync.models._converter import format_datetime
from closeasync.rules.events import SUPPORTED_COMBINATIONS
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, StubTransport, json_response

START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class StubLog:
    """An event log: events by id, each visible from some moment; a clock."""

    def __init__(self) -> None:
        self.now = START
        self.events: dict[str, dict[str, Any]] = {}
        self.visible_from: dict[str, datetime] = {}
        self.requests: list[dict[str, str]] = []

    def add(self, ident: str, *, late: timedelta = timedelta(), action: str = "created") -> None:
        stamp = format_datetime(self.now)
        self.events[ident] = {
            "id": ident,
            "object_type": "activity.note",
            "object_id": f"acti_{ident}",
            "action": action,
            "date_created": stamp,
            "date_updated": stamp,
            "changed_fields": [],
            "previous_data": {},
            "data": {"id": f"acti_{ident}", "note": ident, "unknown_key": {"kept": True}},
            "meta": {"request_method": "POST"},
        }
        self.visible_from[ident] = self.now + late

    def consolidate(self, ident: str) -> None:
        """A later change merged into the event: same id, ``date_updated`` moves to now."""
        event = self.events[ident]
        event["date_updated"] = format_datetime(self.now)
        event["action"] = "updated"
        self.visible_from[ident] = min(self.visible_from[ident], self.now)

    def handle(self, request: Request) -> Response:
        query = dict(parse_qsl(urlsplit(request.url).query))
        self.requests.append(query)
        assert "_skip" not in query
        if request.url.split("?")[0].endswith("/event/"):
            lower = query.get("date_updated__gte", "")
            listed = [
                e
                for i, e in self.events.items()
                if self.visible_from[i] <= self.now and e.get("date_updated", "") >= lower
            ]
            listed.sort(key=lambda e: (e.get("date_updated", ""), e["id"]), reverse=True)
            start, limit = int(query.get("_cursor", "0")), int(query["_limit"])
            page = listed[start : start + limit]
            more = start + limit < len(listed)
            return json_response(
                {"data": page, "cursor_next": str(start + limit) if more else None, "cursor_previous": None}
            )
        ident = request.url.rstrip("/").rsplit("/", 1)[-1]
        if ident in self.events:
            return json_response(self.events[ident])
        return json_response({"error": "Not found"}, 404)


def client(log: StubLog) -> CloseAsync:
    stub = StubTransport()
    stub.handler = log.handle
    return CloseAsync(api_key=API_KEY, transport=stub)


# -- close.events.list / get -----------------------------------------------------------------------


async def test_list_pages_by_cursor_newest_first_exactly_as_sent() -> None:
    log = StubLog()
    for n in range(120):
        log.add(f"ev_{n:03}")
        log.now += timedelta(seconds=1)
    async with client(log) as close:
        events = await close.events.list().collect()
        pages = [len(page) async for page in close.events.list(page_size=50).pages()]
        first = await close.events.list().limit(3).collect()
    assert [e.id for e in events] == [f"ev_{n:03}" for n in reversed(range(120))]
    assert pages == [50, 50, 20]
    assert [e.id for e in first] == ["ev_119", "ev_118", "ev_117"]
    assert to_dict(events[0]) == log.events["ev_119"]  # data, meta... as Close sent them
    assert events[0].data == log.events["ev_119"]["data"]
    cursors = [q.get("_cursor") for q in log.requests[:3]]
    assert cursors == [None, "50", "100"]
    assert [q["_limit"] for q in log.requests] == ["50"] * 6 + ["3"]  # a limit asks for no more


async def test_get_one_event() -> None:
    log = StubLog()
    log.add("ev_1")
    async with client(log) as close:
        event = await close.events.get("ev_1")
    assert isinstance(event, Event)
    assert event.object_id == "acti_ev_1"


COMBINATIONS: list[list[str]] = sorted(sorted(combo) for combo in SUPPORTED_COMBINATIONS)


@pytest.mark.parametrize("combo", COMBINATIONS)
async def test_every_supported_combination_is_sent(combo: list[str]) -> None:
    log = StubLog()
    async with client(log) as close:
        filters = {name: f"x_{name}" for name in combo}
        await close.events.list(**filters, date_updated__gte=START).collect()  # type: ignore[arg-type]
    sent = log.requests[-1]
    assert {k: v for k, v in sent.items() if not k.startswith("_") and k != "date_updated__gte"} == filters
    assert sent["date_updated__gte"].startswith("2026-03-01T12:00:00")


@pytest.mark.parametrize(
    "filters",
    [{"object_type": "activity.sms"}, {"action": "created"}, {"object_id": "x", "lead_id": "y"}],
)
async def test_an_unsupported_combination_is_refused_before_sending(filters: dict[str, str]) -> None:
    log = StubLog()
    async with client(log) as close:
        with pytest.raises(InvalidRequestError) as refused:
            close.events.list(**filters)  # type: ignore[arg-type]
    assert "does not support" in str(refused.value)
    assert log.requests == []


async def test_bad_page_size_and_naive_dates_are_refused() -> None:
    async with client(StubLog()) as close:
        with pytest.raises(InvalidRequestError, match="_limit"):
            close.events.list(page_size=100)
        with pytest.raises(InvalidRequestError, match="date_updated__gt"):
            close.events.list(date_updated__gt=datetime(2026, 1, 1))
        with pytest.raises(InvalidRequestError, match="poll"):
            close.events.changes(poll=0)


# -- the change feed -------------------------------------------------------------------------------


async def feed_all(
    close: CloseAsync, since: ChangeCursor | None, log: StubLog
) -> tuple[list[Event], ChangeCursor]:
    feed = close.events.changes(since=since, clock=lambda: log.now)
    got = [event async for event in feed]
    return got, feed.cursor


async def test_feed_hands_out_oldest_first_then_only_what_is_new() -> None:
    log = StubLog()
    for n in range(70):
        log.add(f"ev_{n:03}")
        log.now += timedelta(seconds=10)
    async with client(log) as close:
        first, cursor = await feed_all(close, None, log)
        again, same = await feed_all(close, cursor, log)
        log.add("ev_new")
        log.consolidate("ev_069")  # a later change merged into an event already handed out
        log.now += timedelta(seconds=1)
        news, _ = await feed_all(close, ChangeCursor.from_json(same.to_json()), log)
    assert [e.id for e in first] == [f"ev_{n:03}" for n in range(70)]
    assert again == []
    assert [(e.id, e.action) for e in news] == [("ev_069", "updated"), ("ev_new", "created")] or [
        (e.id, e.action) for e in news
    ] == [("ev_new", "created"), ("ev_069", "updated")]
    assert [e.date_updated for e in news] == sorted(e.date_updated for e in news)


async def test_feed_rescans_only_the_overlap() -> None:
    log = StubLog()
    log.add("ev_old")
    log.now += timedelta(hours=1)
    async with client(log) as close:
        _, cursor = await feed_all(close, None, log)
        log.requests.clear()
        await feed_all(close, cursor, log)
    # The first feed scanned at 13:00 and handed out everything: it stands at 12:55 (the scan
    # less the overlap, by Close's clock), and the next scan looks back one overlap more.
    assert cursor.watermark == START + timedelta(minutes=55)
    assert log.requests[0]["date_updated__gte"].startswith("2026-03-01T12:50:00")


async def test_a_quiet_feed_keeps_up_with_close_s_clock() -> None:
    """A feed that finds nothing still moves on, so a quiet copy does not age past the log."""
    log = StubLog()
    log.add("ev_1")
    async with client(log) as close:
        _, cursor = await feed_all(close, None, log)
        for _ in range(40):  # forty quiet days, a run each
            log.now += timedelta(days=1)
            _, cursor = await feed_all(close, cursor, log)
    assert cursor.watermark == log.now - timedelta(minutes=5)


async def test_a_resume_point_older_than_the_log_keeps_is_reported() -> None:
    log = StubLog()
    log.add("ev_1")
    async with client(log) as close:
        _, cursor = await feed_all(close, None, log)
        log.now += timedelta(days=31)
        feed = close.events.changes(since=cursor, clock=lambda: log.now)
        with pytest.raises(EventLogExpiredError) as expired:
            await feed.__anext__()
    assert expired.value.since == START
    assert expired.value.oldest == log.now - timedelta(days=30)
    assert "full export into a new file" in str(expired.value)


async def test_a_cursor_of_another_feed_is_refused() -> None:
    async with client(StubLog()) as close:
        cursor = close.events.changes(lead_id="lead_1").cursor
        with pytest.raises(InvalidRequestError, match="another feed"):
            close.events.changes(since=cursor, user_id="user_1")
        with pytest.raises(InvalidRequestError, match="ChangeCursor"):
            ChangeCursor.from_json('{"version": 9}')


async def test_an_event_without_date_updated_stops_the_feed() -> None:
    log = StubLog()
    log.add("ev_1")
    del log.events["ev_1"]["date_updated"]
    async with client(log) as close:
        with pytest.raises(ResponseValidationError, match="date_updated"):
            await feed_all(close, None, log)


async def test_polling_keeps_following_until_stopped() -> None:
    log = StubLog()
    log.add("ev_1")
    naps: list[float] = []

    async def nap(seconds: float) -> None:  # the clock moves, a change happens, no real wait
        naps.append(seconds)
        log.now += timedelta(seconds=seconds)
        log.add(f"ev_{len(naps) + 1}")

    async with client(log) as close:
        feed = close.events.changes(poll=30, clock=lambda: log.now, sleep=nap)
        got = []
        with anyio.fail_after(5):
            async for event in feed:
                got.append(event.id)
                if len(got) == 4:
                    break
    assert got == ["ev_1", "ev_2", "ev_3", "ev_4"]
    assert naps == [30, 30, 30]


# Steps of a history: ("new", late seconds), ("merge", which), ("tick", seconds), ("run", stop after).
STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("new"), st.integers(0, 240)),
        st.tuples(st.just("merge"), st.integers(0, 1000)),
        st.tuples(st.just("tick"), st.integers(0, 400)),
        st.tuples(st.just("run"), st.integers(0, 60)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=STEPS)
# An event visible only 200 s late, after a later one was handed out: only the overlap finds it.
@example(steps=[("new", 200), ("tick", 10), ("new", 0), ("tick", 5), ("run", 0), ("tick", 200)])
# A consolidation of an event already handed out, then a kill mid-run.
@example(steps=[("new", 0), ("new", 0), ("run", 1), ("tick", 3), ("merge", 0), ("run", 1)])
def test_resumed_feeds_deliver_every_visible_version_exactly_once(steps: list[tuple[str, int]]) -> None:
    """Whatever the history and wherever each run stops (its cursor saved after every event),
    no version of an event comes twice, each run goes oldest first, and once everything is
    visible a last run leaves nothing undelivered (late visibility stays within the overlap)."""

    async def scenario() -> None:
        log = StubLog()
        delivered: list[tuple[str, datetime]] = []
        cursor: ChangeCursor | None = None
        async with client(log) as close:

            async def run(stop_after: int | None) -> None:
                nonlocal cursor
                feed = close.events.changes(since=cursor, clock=lambda: log.now)
                got: list[datetime] = []
                async for event in feed:
                    delivered.append((event.id, event.date_updated))
                    got.append(event.date_updated)
                    cursor = ChangeCursor.from_json(feed.cursor.to_json())  # saved, as a store would
                    if stop_after is not None and len(got) >= stop_after:
                        break  # killed here
                if stop_after is None or len(got) < stop_after:
                    cursor = feed.cursor
                assert got == sorted(got)

            for kind, value in steps:
                if kind == "new":
                    log.add(f"ev_{len(log.events)}", late=timedelta(seconds=value))
                elif kind == "merge" and log.events:
                    log.consolidate(sorted(log.events)[value % len(log.events)])
                elif kind == "tick":
                    log.now += timedelta(seconds=value)
                elif kind == "run":
                    await run(value or None)
            log.now += timedelta(seconds=241)  # everything is visible now
            await run(None)
        assert len(delivered) == len(set(delivered)), "a version was delivered twice"
        final = {(e["id"], datetime.fromisoformat(e["date_updated"])) for e in log.events.values()}
        assert final <= set(delivered), "a latest version was never delivered"

    anyio.run(scenario)
