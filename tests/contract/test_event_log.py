"""The fake's event log over its HTTP surface (``GET /event/``, ``GET /event/{id}/``).

Each test runs on both backends (in-process and served on 127.0.0.1, reached with raw
aiohttp requests), and every event answered is structured by the strict converter as an
``Event`` (the contract checker). Changes are made through the SDK; ``close.events`` is
not used: the event log is read raw.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from closeasync import CloseAsync
from closeasync.rules.events import SUPPORTED_COMBINATIONS

from .conftest import OAUTH_TOKEN, Backend
from .messages import KINDS, START, Kind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the fake clock's start
REQUEST_ID = re.compile(r"req_[0-9A-Za-z]{22}")
EVENT_ID = re.compile(r"ev_[0-9A-Za-z]{22}")
Obj = dict[str, Any]


async def events(backend: Backend, **query: str) -> list[Obj]:
    """Every event matching ``query``, newest first, walking all pages."""
    found: list[Obj] = []
    params = dict(query)
    while True:
        page = await backend.raw("GET", "/event/", query=params)
        assert page.status == 200, page.body
        found.extend(page.body["data"])
        if page.body["cursor_next"] is None:
            return found
        params = {**query, "_cursor": page.body["cursor_next"]}


async def raw_get(backend: Backend, path: str) -> Obj:
    reply = await backend.raw("GET", path)
    assert reply.status == 200, reply.body
    body: Obj = reply.body
    return body


@pytest.fixture(params=KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    value: Kind = request.param
    return value


async def test_create_update_delete_each_make_their_event(
    backend: Backend, close: CloseAsync, lead: Obj, kind: Kind
) -> None:
    fake = backend.fake
    api = kind.api(close)
    draft = await api.create(lead_id=lead["id"], status="draft", **kind.fields("draft", now=T0))
    as_created = await raw_get(backend, f"{kind.path}{draft.id}/")
    fake.advance(60)  # past the consolidation window: the update is an event of its own
    edit = {"subject": "Changed"} if kind.name == "email" else {"text": "Changed"}
    await api.update(draft, **edit)
    as_updated = await raw_get(backend, f"{kind.path}{draft.id}/")
    fake.advance(60)
    await api.delete(draft)

    listed = await events(backend, object_type=f"activity.{kind.name}", object_id=draft.id)
    assert [e["action"] for e in listed] == ["deleted", "updated", "created"]
    deleted, updated, created = listed
    key_id = fake.api_key_id(fake.api_key)
    assert key_id is not None
    assert key_id.startswith("api_")
    assert fake.api_key not in key_id
    for event in listed:
        assert EVENT_ID.fullmatch(event["id"])
        assert REQUEST_ID.fullmatch(event["request_id"])
        assert event["object_type"] == f"activity.{kind.name}"
        assert event["object_id"] == draft.id
        assert event["lead_id"] == lead["id"]
        assert event["organization_id"] == fake.state.organization_id
        assert event["user_id"] == fake.me["id"]
        assert event["api_key_id"] == key_id
        assert event["date_created"] == event["date_updated"]
    assert len({e["request_id"] for e in listed}) == 3  # one request each
    assert len({e["id"] for e in listed}) == 3

    item_path = f"/api/v1/activity/{kind.name}/{draft.id}/"
    assert created["meta"] == {"request_method": "POST", "request_path": f"/api/v1{kind.path}"}
    assert created["changed_fields"] == []
    assert created["previous_data"] == {}
    assert created["data"] == as_created
    assert created["date_created"] == START

    field = next(iter(edit))
    assert updated["meta"] == {"request_method": "PUT", "request_path": item_path}
    assert updated["changed_fields"] == sorted(updated["changed_fields"])
    assert {field, "date_updated"} <= set(updated["changed_fields"])
    assert set(updated["changed_fields"]) == {k for k in as_updated if as_updated[k] != as_created.get(k)}
    assert updated["previous_data"] == {k: as_created[k] for k in updated["changed_fields"]}
    assert updated["data"] == as_updated
    assert updated["date_updated"] == (T0 + timedelta(seconds=60)).isoformat(timespec="microseconds")

    # Close: data is null for delete events.
    assert deleted["meta"] == {"request_method": "DELETE", "request_path": item_path}
    assert (deleted["data"], deleted["previous_data"], deleted["changed_fields"]) == (None, {}, [])

    got = await raw_get(backend, f"/event/{updated['id']}/")
    assert got == updated


async def test_an_oauth_request_has_no_api_key_id(backend: Backend, lead: Obj) -> None:
    async with backend.client(oauth_token=OAUTH_TOKEN) as close:
        await close.emails.create(lead_id=lead["id"], status="draft")
    (event,) = await events(backend, lead_id=lead["id"])
    assert event["api_key_id"] is None
    assert event["user_id"] == backend.fake.me["id"]
    assert REQUEST_ID.fullmatch(event["request_id"])


async def test_one_request_id_for_every_event_of_a_request(
    backend: Backend, close: CloseAsync, lead: Obj
) -> None:
    first = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
    reply = await close.emails.create(lead_id=lead["id"], status="draft", in_reply_to_id=first.id)
    await close.emails.create(lead_id=lead["id"], status="draft", in_reply_to_id=reply.id)
    await close.emails.get(first.id)  # a read makes no event
    assert len(await events(backend)) == 3
    deleted = await backend.raw("DELETE", f"/activity/emailthread/{first.thread_id}/")
    assert deleted.status == 200

    gone = await events(backend, object_type="activity.email", action="deleted")
    assert len(gone) == 3
    (request_id,) = {e["request_id"] for e in gone}
    assert REQUEST_ID.fullmatch(request_id)
    assert {e["meta"]["request_path"] for e in gone} == {f"/api/v1/activity/emailthread/{first.thread_id}/"}
    assert await events(backend, request_id=request_id) == gone
    created = await events(backend, object_type="activity.email", action="created")
    assert len({e["request_id"] for e in created}) == 3


async def test_the_clock_sends_a_scheduled_message_as_an_event_of_no_request(
    backend: Backend, close: CloseAsync, lead: Obj, kind: Kind
) -> None:
    fields = kind.fields("scheduled", now=T0)
    message = await kind.api(close).create(lead_id=lead["id"], status="scheduled", **fields)
    backend.fake.advance(7200)
    assert backend.fake.advance(0) == 0  # sent once, by the first advance
    updated = await events(backend, object_type=f"activity.{kind.name}", action="updated")
    (sent,) = updated
    assert sent["object_id"] == message.id
    assert (sent["request_id"], sent["user_id"], sent["api_key_id"], sent["meta"]) == (None, None, None, {})
    assert sent["previous_data"]["status"] == "scheduled"
    assert sent["data"]["status"] == "sent"
    assert {"status", "date_sent", "date_updated"} <= set(sent["changed_fields"])
    due = (T0 + timedelta(hours=1)).isoformat(timespec="microseconds")  # when it became due
    assert sent["date_created"] == sent["date_updated"] == sent["data"]["date_sent"] == due


async def test_the_outbox_is_sent_on_the_next_request(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    email = await close.emails.create(
        lead_id=lead["id"], status="outbox", subject="Now", to=["bob@acme.test"], sender="me@fake.close.test"
    )
    listed = await events(backend, object_type="activity.email", object_id=email.id)  # delivers first
    assert [e["action"] for e in listed] == ["updated", "created"]
    assert listed[0]["request_id"] is None
    assert listed[0]["previous_data"]["status"] == "outbox"


async def _mixed_history(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    """Events of two leads, two users, three actions and several types, over a few minutes."""
    fake = backend.fake
    other_lead = fake.add_lead("Globex")
    other_user = fake.add_user("Other Person", "other@fake.close.test")
    for index, target in enumerate((lead, other_lead, lead)):
        email = await close.emails.create(lead_id=target["id"], status="draft", subject=f"S{index}")
        fake.advance(30)
        await close.emails.update(email, subject=f"T{index}")
        sms = await close.sms.create(lead_id=target["id"], status="draft", text="hi")
        fake.advance(30)
        await close.sms.delete(sms)
    note = fake.add_activity("Note", lead_id=other_lead["id"], user_id=other_user["id"], note="seeded")
    fake.advance(30)
    assert (await backend.raw("DELETE", f"/activity/note/{note['id']}/")).status == 200


def _value(name: str, sample: Obj) -> str:
    value = sample[name]
    assert isinstance(value, str)
    return value


def _label(names: Iterable[str]) -> str:
    return "+".join(sorted(names)) or "none"


COMBINATIONS = sorted(SUPPORTED_COMBINATIONS, key=_label)


@pytest.mark.parametrize("combination", COMBINATIONS, ids=[_label(c) for c in COMBINATIONS])
async def test_each_supported_combination_filters(
    backend: Backend, close: CloseAsync, lead: Obj, combination: frozenset[str]
) -> None:
    await _mixed_history(backend, close, lead)
    everything = await events(backend)
    assert everything == list(backend.fake.events)
    samples = [e for e in everything if all(e.get(name) is not None for name in combination)]
    for sample in (samples[0], samples[len(samples) // 2], samples[-1]):
        query = {name: _value(name, sample) for name in combination}
        expected = [e for e in everything if all(e[k] == v for k, v in query.items())]
        assert sample in expected
        assert await events(backend, **query, _limit="2") == expected


@pytest.mark.parametrize(
    "names",
    [
        {"object_type"},
        {"object_id"},
        {"action"},
        {"object_type", "object_id", "lead_id"},
        {"request_id", "lead_id"},
        {"request_id", "object_type"},
        {"lead_id", "action"},
        {"object_type", "object_id", "action", "lead_id", "user_id", "request_id"},
    ],
    ids=_label,
)
async def test_unsupported_combinations_are_refused(backend: Backend, names: set[str]) -> None:
    reply = await backend.raw("GET", "/event/", query=dict.fromkeys(names, "x"))
    problems = reply.field_errors()
    assert min(names) in problems
    assert "does not support" in problems[min(names)]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"_limit": "51"}, "_limit"),
        ({"_limit": "0"}, "_limit"),
        ({"_limit": "ten"}, "_limit"),
        ({"_skip": "10"}, "_skip"),
        ({"_skip": "x"}, "_skip"),
        ({"_cursor": "not-a-cursor"}, "_cursor"),
        ({"lead_id": "lead_x", "date_updated__gte": "yesterday"}, "date_updated__gte"),
        ({"colour": "blue"}, "colour"),
    ],
)
async def test_bad_paging_and_values_are_refused(backend: Backend, query: dict[str, str], field: str) -> None:
    reply = await backend.raw("GET", "/event/", query=query)
    assert field in reply.field_errors()


async def test_fifty_is_the_default_and_the_largest_page(backend: Backend, lead: Obj) -> None:
    for index in range(60):
        backend.fake.add_activity("Note", lead_id=lead["id"], note=str(index))
    assert len((await raw_get(backend, "/event/"))["data"]) == 50
    page = (await backend.raw("GET", "/event/", query={"_limit": "50"})).body
    assert len(page["data"]) == 50
    assert page["cursor_next"] is not None
    assert len(await events(backend)) == 60


async def test_date_bounds(backend: Backend, lead: Obj) -> None:
    fake = backend.fake
    for minute in range(5):
        fake.add_activity("Note", lead_id=lead["id"], note=str(minute))
        fake.advance(60)
    at = [T0 + timedelta(minutes=m) for m in range(5)]  # one event at each

    async def notes(**bounds: str) -> list[str]:
        return [e["data"]["note"] for e in await events(backend, lead_id=lead["id"], **bounds)]

    assert await notes(date_updated__gt=at[2].isoformat()) == ["4", "3"]
    assert await notes(date_updated__gte=at[2].isoformat()) == ["4", "3", "2"]
    assert await notes(date_updated__lt=at[2].isoformat()) == ["1", "0"]
    assert await notes(date_updated__lte=at[2].isoformat()) == ["2", "1", "0"]
    both = {"date_updated__gte": at[1].isoformat(), "date_updated__lt": at[3].isoformat()}
    assert await notes(**both) == ["2", "1"]
    # Without an offset a bound is UTC, whatever X-TZ-Offset says elsewhere.
    naive = at[2].replace(tzinfo=None).isoformat()
    assert await notes(date_updated__gte=naive) == ["4", "3", "2"]
    in_paris = at[2].astimezone(ZoneInfo("Europe/Paris")).isoformat()
    assert await notes(date_updated__gte=in_paris) == ["4", "3", "2"]


async def test_cursors_walk_both_ways(backend: Backend, lead: Obj) -> None:
    for index in range(7):
        backend.fake.add_activity("Note", lead_id=lead["id"], note=str(index))  # same instant
    first = (await backend.raw("GET", "/event/", query={"_limit": "3"})).body
    assert first["cursor_previous"] is None
    second = (
        await backend.raw("GET", "/event/", query={"_limit": "3", "_cursor": first["cursor_next"]})
    ).body
    third = (
        await backend.raw("GET", "/event/", query={"_limit": "3", "_cursor": second["cursor_next"]})
    ).body
    notes = [[e["data"]["note"] for e in page["data"]] for page in (first, second, third)]
    assert notes == [["6", "5", "4"], ["3", "2", "1"], ["0"]]  # ties: the latest change first
    assert third["cursor_next"] is None
    back = await backend.raw("GET", "/event/", query={"_limit": "3", "_cursor": third["cursor_previous"]})
    assert back.body["data"] == second["data"]
    back = await backend.raw("GET", "/event/", query={"_limit": "3", "_cursor": back.body["cursor_previous"]})
    assert back.body["data"] == first["data"]
    assert back.body["cursor_previous"] is None


async def test_fields_projection(backend: Backend, lead: Obj) -> None:
    backend.fake.add_activity("Note", lead_id=lead["id"], note="x")
    page = (await backend.raw("GET", "/event/", query={"_fields": "id,action,nothing"})).body
    (event,) = page["data"]
    assert set(event) == {"id", "action"}
    one = await backend.raw("GET", f"/event/{event['id']}/", query={"_fields": "object_type"})
    assert one.body == {"object_type": "activity.note"}


async def test_an_unknown_event_is_404(backend: Backend) -> None:
    reply = await backend.raw("GET", "/event/ev_0000000000000000000000/")
    assert reply.status == 404
    assert reply.body == {"error": "Event not found"}


async def test_events_are_kept_30_days(backend: Backend, lead: Obj) -> None:
    fake = backend.fake
    old = fake.add_activity("Note", lead_id=lead["id"], note="old")
    (event,) = await events(backend)
    fake.advance(timedelta(days=30).total_seconds())
    assert [e["id"] for e in await events(backend)] == [event["id"]]  # 30 days old: still kept
    fake.advance(timedelta(days=1).total_seconds())
    fresh = fake.add_activity("Note", lead_id=lead["id"], note="fresh")
    assert [e["object_id"] for e in await events(backend)] == [fresh["id"]]
    assert (await backend.raw("GET", f"/event/{event['id']}/")).status == 404
    assert old["id"] in fake.activities  # only its event expired


async def test_reset_empties_the_log(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    await close.emails.create(lead_id=lead["id"], status="draft")
    assert len(await events(backend)) == 1
    backend.fake.reset()
    page = await raw_get(backend, "/event/")
    assert page == {"data": [], "cursor_next": None, "cursor_previous": None}
