"""``close.notes``, ``close.calls``, ``close.meetings`` and ``close.email_threads`` end to end.

Each test runs on both backends (in-process, and served over HTTP on 127.0.0.1), and every
answer the fake gives is judged against Close's OpenAPI schemas and the strict converter
(the contract checker). The rules a raw client meets (400 in Close's field-errors shape,
nothing changed) are at the end; the SDK refusing the same input before sending is in
``tests/test_activity_resources.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
import pytest

from closeasync import CloseAsync, InvalidRequestError, NotFoundError
from closeasync.models import Call, Event, Meeting, Note, to_dict
from closeasync.rules.activity_bodies import (
    MAX_CALL_DURATION,
    MAX_NOTE_ATTACHMENTS,
    call_create_errors,
    call_update_errors,
    meeting_update_errors,
    note_create_errors,
    note_update_errors,
)
from tests.spec_examples import iter_openapi_examples

from .conftest import Backend

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the fake clock's start
Obj = dict[str, Any]
FILE = "https://app.close.com/go/file/temporary/user_x/3HV4BNwDyBLdfrPbFZF78s/picture.gif/"
ATTACHMENT = {"url": FILE, "filename": "picture.gif", "content_type": "image/gif"}
MENTION = '<span data-type="mention" data-id="{}" class="mention">@Fake User</span>'


async def history(close: CloseAsync, object_type: str, object_id: str) -> list[Event]:
    """The object's events, oldest first (object_type + object_id is a supported filter)."""
    found = await close.events.list(object_type=object_type, object_id=object_id).collect()
    return found[::-1]


def seed_meeting(backend: Backend, lead: Obj) -> Obj:
    """A meeting as Close's GET example shows it, on ``lead`` (the API cannot create one)."""
    example = next(
        e.body
        for e in iter_openapi_examples()
        if e.method == "GET" and e.path == "/activity/meeting/{id}/" and e.kind == "response"
    )
    mine = {"id", "organization_id", "lead_id", "user_id", "user_name", "users", "created_by"}
    mine |= {"created_by_name", "updated_by", "updated_by_name", "_type", "contact_id"}
    fields = {k: v for k, v in example.items() if k not in mine}
    fields["attendees"] = [{**a, "user_id": None, "contact_id": None} for a in fields["attendees"]]
    return backend.fake.add_activity("Meeting", lead_id=lead["id"], **fields)


# -- notes --------------------------------------------------------------------------------------


async def test_a_note_round_trip(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    fake = backend.fake
    contact = fake.add_contact(lead["id"], "Bruce Wayne")
    html = f"<body><p>Call back {MENTION.format(fake.me['id'])}</p><p>Tuesday &amp; after</p></body>"
    note = await close.notes.create(
        lead_id=lead["id"], note_html=html, title="Next", contact_id=contact["id"], attachments=[ATTACHMENT]
    )
    assert isinstance(note, Note)
    assert (note.note_html, note.note, note.title) == (html, "Call back @Fake User\nTuesday & after", "Next")
    assert note.note_mentions == [fake.me["id"]]
    assert (note.source, note.pinned, note.pinned_at, note.date_created) == ("api", False, None, T0)
    (attachment,) = note.attachments
    assert attachment.filename == "picture.gif"
    assert attachment.url.startswith("https://app.close.com/go/file/persisted/")
    assert attachment.thumbnail_url == attachment.url + "thumbnail/"
    fetched = await close.notes.get(note.id)
    assert to_dict(fetched) == to_dict(note) == fake.activities[note.id]  # lossless both ways

    fake.advance(60)
    pinned = await close.notes.update(note, note="plain words\nsecond line", pinned=True)
    assert pinned.note_html == "<body><p>plain words</p><p>second line</p></body>"  # rewritten
    assert (pinned.pinned, pinned.pinned_at, pinned.date_updated) == (
        True,
        T0 + timedelta(minutes=1),
        T0 + timedelta(minutes=1),
    )
    assert pinned.note_mentions == []
    assert pinned.attachments == note.attachments  # left alone: PUT acts as PATCH
    both = await close.notes.update(note.id, note="ignored", note_html="<body><p>wins</p></body>")
    assert (both.note, both.note_html) == ("wins", "<body><p>wins</p></body>")
    kept = await close.notes.update(note.id, attachments=[*to_dict(fetched)["attachments"], ATTACHMENT])
    assert kept.attachments[0] == attachment
    assert len(kept.attachments) == 2
    assert to_dict(await close.notes.get(note.id)) == to_dict(kept)

    await close.notes.delete(kept)
    with pytest.raises(NotFoundError):
        await close.notes.get(note.id)
    events = await history(close, "activity.note", note.id)
    assert [e.action for e in events] == ["created", "updated", "deleted"]  # the updates consolidated
    assert events[0].data == to_dict(note)
    assert events[1].data == to_dict(kept)
    assert events[1].previous_data["note"] == note.note
    assert {"note", "note_html", "pinned", "pinned_at", "attachments"} <= set(events[1].changed_fields)
    assert events[2].data is None
    assert all(e.meta["request_path"].startswith("/api/v1/activity/note/") for e in events)


async def test_notes_list_with_filters_and_fields(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    fake = backend.fake
    other = fake.add_lead("Globex")
    someone = fake.add_user("Some One", "some@fake.close.test")
    made = []
    for index, (target, user) in enumerate([(lead, None), (other, None), (lead, someone["id"])]):
        made.append(await close.notes.create(lead_id=target["id"], note=f"n{index}", user_id=user))
        fake.advance(60)
    on_lead = [n.id async for n in close.notes.list(lead_id=lead["id"])]
    assert on_lead == [made[2].id, made[0].id]  # newest first
    by_user = [n.id async for n in close.notes.list(user_id=someone["id"])]
    assert by_user == [made[2].id]
    since = [n.id async for n in close.notes.list(date_created__gte=T0 + timedelta(seconds=30))]
    assert since == [made[2].id, made[1].id]
    partial = await close.notes.list(id__in=[made[1].id], fields=["id", "note"]).collect()
    assert [to_dict(n) for n in partial] == [{"id": made[1].id, "note": "n1"}]
    with pytest.raises(AttributeError, match="note_html"):
        _ = partial[0].note_html
    got = await close.notes.get(made[0].id, fields=["id", "title"])
    assert to_dict(got) == {"id": made[0].id, "title": None}
    synced = close.notes.sync(lead_id=lead["id"], page_size=2)
    assert [n.id async for n in synced] == [made[2].id, made[0].id]


# -- calls --------------------------------------------------------------------------------------


async def test_a_logged_call_round_trip(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    fake = backend.fake
    call = await close.calls.create(
        lead_id=lead["id"],
        direction="outbound",
        duration=153,
        phone="+16505551234",
        note="call notes go here",
    )
    assert isinstance(call, Call)
    assert (call.status, call.source, call.call_method, call.direction) == (
        "completed",
        "External",
        "external",
        "outbound",
    )
    assert (call.duration, call.note_html, call.cost) == (153, "<body><p>call notes go here</p></body>", "0")
    assert (call.remote_phone, call.remote_phone_formatted) == ("+16505551234", "+1 650-555-1234")
    assert to_dict(await close.calls.get(call.id)) == to_dict(call) == fake.activities[call.id]

    fake.advance(10)
    updated = await close.calls.update(
        call,
        note_html="<body><p>This is some new call note.</p></body>",
        outcome_id="outcome_1",
        status="busy",
    )
    assert (updated.note, updated.outcome_id, updated.status) == (
        "This is some new call note.",
        "outcome_1",
        "busy",
    )
    assert to_dict(await close.calls.get(call.id)) == to_dict(updated)
    listed = await close.calls.list(lead_id=lead["id"], fields=["id", "status"]).collect()
    assert [to_dict(c) for c in listed] == [{"id": call.id, "status": "busy"}]

    await close.calls.delete(call.id)
    events = await history(close, "activity.call", call.id)
    assert [e.action for e in events] == ["created", "updated", "deleted"]
    assert events[1].previous_data["outcome_id"] is None
    assert events[1].data == to_dict(updated)


async def test_an_internal_call_keeps_its_status_and_duration(
    backend: Backend, close: CloseAsync, lead: Obj
) -> None:
    made = await backend.raw("POST", "/activity/call/", json={"lead_id": lead["id"], "source": "Close.io"})
    assert made.status == 200, made.body
    call = await close.calls.get(made.body["id"])
    for change in ({"status": "busy"}, {"duration": 5}):
        with pytest.raises(InvalidRequestError) as refused:  # the model says it is internal
            await close.calls.update(call, **change)
        assert set(refused.value.field_errors) == set(change)
        raw = await backend.raw("PUT", f"/activity/call/{call.id}/", json=change)
        assert raw.field_errors().keys() == change.keys()
    changed = await close.calls.update(call, note="allowed")
    assert changed.note == "allowed"


# -- meetings -----------------------------------------------------------------------------------


async def test_a_meeting_update_and_delete(backend: Backend, close: CloseAsync, lead: Obj) -> None:
    fake = backend.fake
    seeded = seed_meeting(backend, lead)
    meeting = await close.meetings.get(seeded["id"])
    assert isinstance(meeting, Meeting)
    assert to_dict(meeting) == seeded
    assert not hasattr(close.meetings, "create")  # Close makes meetings from calendars
    fake.advance(30)
    html = f"<body><ul><li>Pricing</li><li>Ask {MENTION.format(fake.me['id'])}</li></ul></body>"
    updated = await close.meetings.update(
        meeting, user_note_html=html, outcome_id="outcome_031uY9IKV1JxfNKM9n2qCw"
    )
    assert (updated.user_note, updated.user_note_mentions) == ("Pricing\nAsk @Fake User", [fake.me["id"]])
    assert updated.user_note_date_updated == updated.date_updated == T0 + timedelta(seconds=30)
    assert updated.outcome_id == "outcome_031uY9IKV1JxfNKM9n2qCw"
    assert to_dict(await close.meetings.get(meeting.id)) == to_dict(updated)
    assert [m.id async for m in close.meetings.list(lead_id=lead["id"])] == [meeting.id]
    with pytest.raises(InvalidRequestError, match="did you mean user_note_html"):
        await close.meetings.update(meeting, user_note="x")  # type: ignore[call-arg]
    raw = await backend.raw("PUT", f"/activity/meeting/{meeting.id}/", json={"title": "Renamed"})
    assert raw.field_errors().keys() == {"title"}
    no_create = await backend.raw("POST", "/activity/meeting/", json={"lead_id": lead["id"]})
    assert (no_create.status, no_create.headers["allow"]) == (405, "GET")  # Close has no meeting create

    await close.meetings.delete(updated)
    events = await history(close, "activity.meeting", meeting.id)
    assert [e.action for e in events] == ["created", "updated", "deleted"]
    assert events[0].request_id is None  # seeded: no request made it
    assert set(events[1].changed_fields) >= {"user_note", "user_note_html", "outcome_id", "date_updated"}


# -- email threads ------------------------------------------------------------------------------


async def test_email_threads_list_get_and_delete_with_their_emails(
    backend: Backend, close: CloseAsync, lead: Obj
) -> None:
    fake = backend.fake
    first = await close.emails.create(lead_id=lead["id"], status="draft", subject="Pricing", body_text="a")
    fake.advance(60)
    reply = await close.emails.create(
        lead_id=lead["id"], status="draft", subject="Re: Pricing", in_reply_to_id=first.id
    )
    fake.advance(60)
    alone = await close.emails.create(lead_id=lead["id"], status="draft", subject="Other")
    threads = await close.email_threads.list(lead_id=lead["id"]).collect()
    assert [t.id for t in threads] == [alone.thread_id, first.thread_id]  # newest first
    thread = threads[1]
    assert (thread.n_emails, thread.latest_normalized_subject) == (2, "Pricing")
    assert [e.id for e in thread.emails] == [first.id, reply.id]
    assert "body_text" not in to_dict(thread)["emails"][0]  # stripped: no bodies in a thread
    assert first.thread_id is not None
    got = await close.email_threads.get(first.thread_id)
    assert to_dict(got) == to_dict(thread)
    partial = await close.email_threads.get(thread, fields=["id", "n_emails"])
    assert to_dict(partial) == {"id": thread.id, "n_emails": 2}
    assert not hasattr(close.email_threads, "update")

    await close.email_threads.delete(thread)
    for email in (first, reply):
        with pytest.raises(NotFoundError):
            await close.emails.get(email.id)
    assert [t.id async for t in close.email_threads.list()] == [alone.thread_id]
    for email in (first, reply):  # a thread is its emails: their deletions are the events
        events = await history(close, "activity.email", email.id)
        assert [e.action for e in events] == ["created", "deleted"]
    with pytest.raises(NotFoundError):
        await close.email_threads.delete(thread.id)


# -- the rules a raw client meets ----------------------------------------------------------------


@attrs.frozen
class Case:
    """A body over a valid base, the one field Close must name, and the rule that names it."""

    name: str
    kind: str  # "note" | "call" | "meeting"
    body: Mapping[str, Any]
    field: str
    update: bool = False
    drop: tuple[str, ...] = ()


def note(name: str, body: Mapping[str, Any], field: str, **kw: Any) -> Case:
    return Case(f"note-{name}", "note", body, field, **kw)


def call(name: str, body: Mapping[str, Any], field: str, **kw: Any) -> Case:
    return Case(f"call-{name}", "call", body, field, **kw)


TOO_MANY = [ATTACHMENT] * (MAX_NOTE_ATTACHMENTS + 1)
CASES = [
    note("unknown-key", {"body": "x"}, "body"),
    note("no-lead", {}, "lead_id", drop=("lead_id",)),
    note("null-lead", {"lead_id": None}, "lead_id"),
    note("lead-not-str", {"lead_id": 5}, "lead_id"),
    note("note-not-str", {"note": ["x"]}, "note"),
    note("html-not-str", {"note_html": 5}, "note_html"),
    note("title-not-str", {"title": 5}, "title"),
    note("pinned-not-bool", {"pinned": "yes"}, "pinned"),
    note("naive-activity-at", {"activity_at": "2026-01-05T09:00:00"}, "activity_at"),
    note("date-only", {"date_created": "2026-01-05"}, "date_created"),
    note("attachments-not-list", {"attachments": ATTACHMENT}, "attachments"),
    note("too-many-attachments", {"attachments": TOO_MANY}, "attachments"),
    note("attachment-no-filename", {"attachments": [{"url": FILE}]}, "attachments"),
    note(
        "attachment-not-uploaded",
        {"attachments": [{**ATTACHMENT, "url": "https://x.test/a.gif"}]},
        "attachments",
    ),
    note("attachment-type-not-str", {"attachments": [{**ATTACHMENT, "content_type": 1}]}, "attachments"),
    note("update-unknown-key", {"user_id": None}, "user_id", update=True),  # create-only
    note("update-pinned-not-bool", {"pinned": 1}, "pinned", update=True),
    call("unknown-key", {"disposition": "answered"}, "disposition"),
    call("bad-status", {"status": "done"}, "status"),
    call("bad-direction", {"direction": "incoming"}, "direction"),
    call("bad-source", {"source": "Phone"}, "source"),
    call("duration-too-long", {"duration": MAX_CALL_DURATION + 1}, "duration"),
    call("duration-not-int", {"duration": "60"}, "duration"),
    call("duration-bool", {"duration": True}, "duration"),
    call("recording-not-https", {"recording_url": "http://x.test/a.mp3"}, "recording_url"),
    call("voicemail-not-url", {"voicemail_url": "not a url"}, "voicemail_url"),
    call("custom-object", {"custom.cf_1": {"a": 1}}, "custom.cf_1"),
    call("update-direction", {"direction": "inbound"}, "direction", update=True),  # create-only
    call("update-bad-status", {"status": "nope"}, "status", update=True),
    Case("meeting-unknown-key", "meeting", {"title": "x"}, "title", update=True),
    Case("meeting-html-not-str", "meeting", {"user_note_html": 1}, "user_note_html", update=True),
]
assert len({case.name for case in CASES}) == len(CASES)
RULES: dict[tuple[str, bool], Callable[..., dict[str, str]]] = {
    ("note", False): note_create_errors,
    ("note", True): note_update_errors,
    ("call", False): call_create_errors,
    ("call", True): call_update_errors,
    ("meeting", True): meeting_update_errors,
}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_each_rule_is_a_400_naming_its_field(backend: Backend, lead: Obj, case: Case) -> None:
    fake = backend.fake
    path = f"/activity/{case.kind}/"
    current: Obj | None = None
    if case.kind == "meeting":
        current = seed_meeting(backend, lead)
    elif case.update:
        made = await backend.raw("POST", path, json={"lead_id": lead["id"]})
        assert made.status == 200, made.body
        current = made.body
    base = {} if case.update else {"lead_id": lead["id"]}
    body = {k: v for k, v in {**base, **case.body}.items() if k not in case.drop}
    before = {k: dict(v) for k, v in fake.activities.items()}
    events = len(fake.events)
    if current is None:
        raw = await backend.raw("POST", path, json=body)
    else:
        raw = await backend.raw("PUT", f"{path}{current['id']}/", json=body)
    assert raw.field_errors().keys() == {case.field}, raw.body
    assert fake.activities == before
    assert len(fake.events) == events
    rule = RULES[(case.kind, case.update)]
    local = rule(body, current) if case.update else rule(body)
    assert case.field in local  # the SDK runs the same rule before sending


@pytest.mark.parametrize("path", ["/activity/note/", "/activity/call/"])
async def test_references_are_checked(backend: Backend, lead: Obj, path: str) -> None:
    other = backend.fake.add_contact(backend.fake.add_lead("Globex")["id"], "Olga")
    for body, field in (
        ({"lead_id": "lead_nope"}, "lead_id"),
        ({"lead_id": lead["id"], "contact_id": other["id"]}, "contact_id"),
        ({"lead_id": lead["id"], "user_id": "user_nope"}, "user_id"),
    ):
        raw = await backend.raw("POST", path, json=body)
        assert raw.field_errors().keys() == {field}
    raw = await backend.raw("POST", path, json=["lead_id"])
    assert raw.body["errors"] == ["The request body must be a JSON object."]
