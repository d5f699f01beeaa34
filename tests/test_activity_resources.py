"""``close.notes``, ``close.calls``, ``close.meetings``, ``close.email_threads`` against the
in-process fake: what is refused before anything is sent (the fake counts what reaches it),
unknown names, random input (the SDK's checks and the fake's answers agree), bulk calls.

The round trips, events and the fake's 400s on both backends are in
``tests/contract/test_activity_crud.py``.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeasync import BadRequestError, BulkResult, CloseAsync, InvalidRequestError
from closeasync.fake import FakeClose, FakeRequest, Outcome
from closeasync.models import Attachment, Call, Note, to_dict
from closeasync.params import CallCreateFields, CallUpdateFields, NoteCreateFields, NoteUpdateFields
from closeasync.rules.activity_bodies import (
    CALL_CREATE_FIELDS,
    CALL_UPDATE_FIELDS,
    FIELD_CHECKS,
    MEETING_UPDATE_FIELDS,
    NOTE_CREATE_FIELDS,
    NOTE_UPDATE_FIELDS,
)

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
FILE = "https://app.close.com/go/file/temporary/user_x/token/a.pdf/"


class CountingFake(FakeClose):
    """A fake that counts the requests reaching it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requests: list[FakeRequest] = []

    def handle(self, request: FakeRequest) -> Outcome:
        self.requests.append(request)
        return super().handle(request)


@pytest.fixture
def fake() -> CountingFake:
    return CountingFake(seed=3)


@pytest.fixture
def lead(fake: CountingFake) -> dict[str, Any]:
    return fake.add_lead("Acme")


@pytest.fixture
async def close(fake: CountingFake) -> AsyncIterator[CloseAsync]:
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as client:
        yield client


# -- the names the SDK accepts are those of Close's schemas --------------------------------------

SPECS = Path(__file__).parent / "data" / "openapi"


def schema_names(file: str, schema: str) -> set[str]:
    document = yaml.safe_load((SPECS / file).read_text())
    return set(document["components"]["schemas"][schema]["properties"])


@pytest.mark.parametrize(
    ("typed", "extra", "file", "schema"),
    [
        (NoteCreateFields, {"lead_id"}, "close-activities-notes-api-openapi.yml", "CreateNoteActivity"),
        (NoteUpdateFields, set(), "close-activities-notes-api-openapi.yml", "UpdateNoteActivity"),
        (CallCreateFields, set(), "close-activities-calls-api-openapi.yml", "CreateCallActivity"),
        (CallUpdateFields, set(), "close-activities-calls-api-openapi.yml", "UpdateCallActivity"),
    ],
)
def test_the_typed_fields_are_the_schemas(typed: Any, extra: set[str], file: str, schema: str) -> None:
    assert set(typed.__annotations__) | extra == schema_names(file, schema)


def test_every_accepted_name_has_a_check() -> None:
    names = NOTE_CREATE_FIELDS | NOTE_UPDATE_FIELDS | CALL_CREATE_FIELDS | CALL_UPDATE_FIELDS
    assert names | MEETING_UPDATE_FIELDS <= set(FIELD_CHECKS)
    assert {"user_note_html", "outcome_id"} == MEETING_UPDATE_FIELDS  # the meeting PUT example's keys


# -- refused before sending -------------------------------------------------------------------------

NAIVE = datetime(2026, 1, 5, 9, 0)
Call_ = Callable[[CloseAsync, str], Awaitable[Any]]


def refusals() -> list[Any]:
    def case(name: str, field: str, call: Call_) -> Any:
        return pytest.param(call, field, id=name)

    return [
        case("note-empty-lead", "lead_id", lambda c, lead: c.notes.create(lead_id="")),
        case("note-lead-not-str", "lead_id", lambda c, lead: c.notes.create(lead_id=5)),  # type: ignore[arg-type]
        case("note-pinned", "pinned", lambda c, lead: c.notes.create(lead_id=lead, pinned="yes")),  # type: ignore[arg-type]
        case("note-title", "title", lambda c, lead: c.notes.create(lead_id=lead, title=5)),  # type: ignore[arg-type]
        case("note-naive", "activity_at", lambda c, lead: c.notes.create(lead_id=lead, activity_at=NAIVE)),
        case(
            "note-attachment-not-uploaded",
            "attachments",
            lambda c, lead: c.notes.create(
                lead_id=lead, attachments=[{"url": "https://x.test/a", "filename": "a"}]
            ),
        ),
        case(
            "note-attachment-model-no-filename",
            "attachments",
            lambda c, lead: c.notes.create(lead_id=lead, attachments=[Attachment(url=FILE)]),
        ),
        case(
            "note-too-many-attachments",
            "attachments",
            lambda c, lead: c.notes.create(lead_id=lead, attachments=[{"url": FILE, "filename": "a"}] * 1001),
        ),
        case("note-update-pinned", "pinned", lambda c, lead: c.notes.update("acti_1", pinned=1)),  # type: ignore[arg-type]
        case("note-update-naive", "activity_at", lambda c, lead: c.notes.update("acti_1", activity_at=NAIVE)),
        case("call-duration-long", "duration", lambda c, lead: c.calls.create(duration=604_801)),
        case("call-duration-float", "duration", lambda c, lead: c.calls.create(duration=1.5)),  # type: ignore[arg-type]
        case("call-status", "status", lambda c, lead: c.calls.create(status="done")),
        case("call-direction", "direction", lambda c, lead: c.calls.create(direction="incoming")),
        case("call-source", "source", lambda c, lead: c.calls.create(source="Phone")),
        case(
            "call-recording-http",
            "recording_url",
            lambda c, lead: c.calls.create(recording_url="http://x.test/a"),
        ),
        case(
            "call-voicemail-relative", "voicemail_url", lambda c, lead: c.calls.create(voicemail_url="/a.mp3")
        ),
        case("call-phone", "phone", lambda c, lead: c.calls.create(phone=16505551234)),  # type: ignore[arg-type]
        case("call-update-status", "status", lambda c, lead: c.calls.update("acti_1", status="over")),
        case("meeting-note", "user_note_html", lambda c, lead: c.meetings.update("acti_1", user_note_html=5)),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("call", "field"), refusals())
async def test_refused_before_sending(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any], call: Call_, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        await call(close, lead["id"])
    assert field in refused.value.field_errors
    assert fake.requests == []


@pytest.mark.parametrize("resource", ["notes", "calls", "meetings"])
async def test_an_empty_update_is_refused(fake: CountingFake, close: CloseAsync, resource: str) -> None:
    with pytest.raises(InvalidRequestError, match="nothing to update"):
        await getattr(close, resource).update("acti_1")
    assert fake.requests == []


@pytest.mark.parametrize(
    ("call", "field", "hint"),
    [
        (lambda c, lead: c.notes.create(lead_id=lead, titel="x"), "titel", "did you mean title?"),
        (lambda c, lead: c.notes.update("acti_1", pined=True), "pined", "did you mean pinned?"),
        (lambda c, lead: c.notes.update("acti_1", user_id=None), "user_id", "is not a field of a note"),
        (lambda c, lead: c.calls.create(durration=5), "durration", "did you mean duration or direction?"),
        (
            lambda c, lead: c.calls.update("acti_1", note_htm="x"),
            "note_htm",
            "did you mean note_html or note?",
        ),
        (lambda c, lead: c.calls.update("acti_1", direction="inbound"), "direction", "not a field of a call"),
        (lambda c, lead: c.meetings.update("acti_1", outcome="x"), "outcome", "did you mean outcome_id?"),
        (lambda c, lead: c.notes.list(lead="x"), "lead", "did you mean lead_id?"),
        (lambda c, lead: c.email_threads.list(leadid="x"), "leadid", "did you mean lead_id?"),
        (lambda c, lead: c.calls.sync(date_created__gte=T0), "date_created__gte", "use since= and until="),
    ],
)
async def test_unknown_names_are_refused_with_a_suggestion(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any], call: Any, field: str, hint: str
) -> None:

    async def attempt() -> None:
        result = call(close, lead["id"])  # a list or sync refuses when made, the others when awaited
        if inspect.isawaitable(result):
            await result

    with pytest.raises(InvalidRequestError) as refused:
        await attempt()
    assert hint in refused.value.field_errors[field]
    assert fake.requests == []


async def test_an_internal_call_by_id_is_left_to_close(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    internal = fake.add_activity("Call", lead_id=lead["id"], source="Close.io", status="completed")
    with pytest.raises(BadRequestError) as refused:  # by id: the SDK cannot know, Close says no
        await close.calls.update(internal["id"], duration=5)
    assert refused.value.field_errors.keys() == {"duration"}
    assert len(fake.requests) == 1


# -- random input: the SDK's checks and the fake's answers agree -------------------------------------

TEXT = st.text(max_size=20)
TIMES = st.one_of(
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),  # naive: refused
    st.sampled_from(["2026-01-05", "yesterday", "2026-01-05T09:00:00+00:00"]),
)
ANY_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 700_000), TEXT, TIMES, st.lists(TEXT, max_size=2)
)
ATTACHMENTS = st.lists(
    st.fixed_dictionaries(
        {
            "url": st.sampled_from([FILE, "https://x.test/a.pdf", 5]),
            "filename": st.sampled_from(["a.pdf", "", None]),
        },
        optional={"content_type": st.sampled_from(["application/pdf", None, 3])},
    ),
    max_size=2,
)


def _values(names: frozenset[str], typed: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Random values for some of ``names``: mostly of the right kind, now and then not."""
    right: dict[str, st.SearchStrategy[Any]] = {
        "pinned": st.booleans(),
        "attachments": ATTACHMENTS,
        "activity_at": TIMES,
        "date_created": TIMES,
        "duration": st.integers(-5, 700_000),
        "status": st.sampled_from(["completed", "busy", "over", None]),
        "direction": st.sampled_from(["inbound", "outbound", "incoming"]),
        "source": st.sampled_from(["External", "Close.io", "Phone"]),
        "recording_url": st.sampled_from(["https://x.test/a.mp3", "http://x.test/a.mp3", "nope"]),
        "voicemail_url": st.sampled_from(["https://x.test/v.mp3", "ftp://x.test/v", "v.mp3"]),
    }
    skip = {"lead_id", "contact_id", "user_id", "created_by", "organization_id"}  # references: fixed
    keys = sorted(n for n in names if n not in skip and n in typed)
    strategies = {k: st.one_of(right.get(k, TEXT), ANY_VALUE) for k in keys}
    return st.fixed_dictionaries({}, optional=strategies)


async def _agree(resource: str, fields: dict[str, Any]) -> None:
    fake = CountingFake(seed=5)
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        api = getattr(close, resource)
        try:
            made = await api.create(lead_id=lead["id"], **fields)
        except InvalidRequestError:
            assert fake.requests == []  # refused: nothing left
            return
        # Accepted by the SDK: the fake (running the same rules) accepted it too.
        assert len(fake.requests) == 1
        assert to_dict(made) == fake.activities[made.id] == to_dict(await api.get(made.id))
        again = {k: v for k, v in fields.items() if k in UPDATE_NAMES[resource]}
        if not again:
            return
        try:
            changed = await api.update(made, **again)
        except InvalidRequestError:  # only a rule about the object in hand (an internal call's status)
            assert resource == "calls"
            assert made.source == "Close.io"
            assert len(fake.requests) == 2
            return
        assert to_dict(changed) == fake.activities[made.id]


UPDATE_NAMES = {"notes": NoteUpdateFields.__annotations__, "calls": CallUpdateFields.__annotations__}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_values(NOTE_CREATE_FIELDS, NoteCreateFields.__annotations__))
def test_random_notes_are_refused_locally_or_accepted(fields: dict[str, Any]) -> None:
    anyio.run(_agree, "notes", fields)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fields=_values(CALL_CREATE_FIELDS, CallCreateFields.__annotations__))
def test_random_calls_are_refused_locally_or_accepted(fields: dict[str, Any]) -> None:
    anyio.run(_agree, "calls", fields)


# -- bulk, sync ---------------------------------------------------------------------------------------


async def test_create_many_and_get_many_of_notes(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    items = [
        {"lead_id": lead["id"], "note": "one"},
        {"lead_id": lead["id"], "pinned": "yes"},  # refused before sending
        {"lead_id": lead["id"], "titel": "x"},  # an unknown name: refused before sending
        {"note": "no lead"},  # a missing argument: TypeError, as create() would raise
        {"lead_id": lead["id"], "note": "two"},
    ]
    made: BulkResult[int, Note] = await close.notes.create_many(items)
    assert sorted(made.ok) == [0, 4]
    assert isinstance(made.errors[1], InvalidRequestError)
    assert "did you mean title" in str(made.errors[2])
    assert isinstance(made.errors[3], TypeError)
    assert len(fake.requests) == 2
    ids = [made.ok[0].id, "acti_missing", made.ok[4].id]
    got = await close.notes.get_many(ids, fields=["note"])
    assert [got.ok[i].note for i in (ids[0], ids[2])] == ["one", "two"]
    assert type(got.errors["acti_missing"]).__name__ == "NotFoundError"


async def test_calls_sync_walks_every_call_once(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    made: list[Call] = []
    for index in range(5):
        made.append(await close.calls.create(lead_id=lead["id"], duration=index))
        fake.advance(1 if index % 2 else 0)  # some share a date_created
    walk = close.calls.sync(since=T0, page_size=2)
    seen = [c.id async for c in walk]
    assert sorted(seen) == sorted(c.id for c in made)
    assert len(seen) == 5
    newer = await close.calls.create(lead_id=lead["id"], duration=9)
    again = close.calls.sync(walk.cursor, page_size=2)
    assert [c.id async for c in again] == [newer.id]


async def test_email_threads_sync_and_get_many(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    first = await close.emails.create(lead_id=lead["id"], status="draft", subject="A")
    fake.advance(5)
    await close.emails.create(lead_id=lead["id"], status="draft", subject="Re: A", in_reply_to_id=first.id)
    other = await close.emails.create(lead_id=lead["id"], status="draft", subject="B")
    assert first.thread_id is not None
    assert other.thread_id is not None
    threads = [t async for t in close.email_threads.sync(page_size=2)]
    assert {t.id for t in threads} == {first.thread_id, other.thread_id}
    got = await close.email_threads.get_many([first.thread_id, other.thread_id])
    assert got.ok[first.thread_id].n_emails == 2


async def test_meetings_list_filters_by_activity_date(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    early = fake.add_activity(
        "Meeting", lead_id=lead["id"], activity_at=T0 - timedelta(days=2), title="Early"
    )
    late = fake.add_activity("Meeting", lead_id=lead["id"], activity_at=T0 + timedelta(days=2), title="Late")
    found = [m.id async for m in close.meetings.list(activity_at__gt=T0)]
    assert found == [late["id"]]
    found = [m.id async for m in close.meetings.list(activity_at__lt=T0, fields=["id", "title"])]
    assert found == [early["id"]]


async def test_a_seeded_note_with_few_fields_can_be_updated(
    fake: CountingFake, close: CloseAsync, lead: dict[str, Any]
) -> None:
    seeded = fake.add_activity("Note", lead_id=lead["id"], note="hello")  # no pinned, no html
    fake.advance(5)
    note = await close.notes.update(seeded["id"], pinned=True)
    assert (note.pinned, note.pinned_at, note.note) == (True, T0 + timedelta(seconds=5), "hello")
    newest = await close.events.list(object_type="activity.note", object_id=note.id).limit(1).collect()
    assert newest[0].action == "updated"
    assert {"pinned", "pinned_at", "date_updated"} <= set(newest[0].changed_fields)
