"""Email and SMS lifecycles through the SDK: statuses, drafts, sending, cancelling, deleting.

Each test runs for both kinds (Email, SMS) and both backends (in-process, HTTP).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeasync import BadRequestError, CloseAsync, InvalidRequestError, NotFoundError

from .conftest import Backend
from .messages import KINDS, Kind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the fake clock's start
#: The field each kind edits as a draft.
EDIT = {"email": "subject", "sms": "text"}
DIRECTION = {
    "email": {"inbox": "incoming", "default": "outgoing"},
    "sms": {"inbox": "inbound", "default": "outbound"},
}


@pytest.fixture(params=KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> Kind:
    """Email or SMS."""
    value: Kind = request.param
    return value


async def _create(close: CloseAsync, kind: Kind, lead: dict[str, Any], status: str, **extra: Any) -> Any:
    fields = {**kind.fields(status, now=T0), **extra}
    return await kind.api(close).create(lead_id=lead["id"], status=status, **fields)


@pytest.mark.parametrize(
    ("status", "final"),
    [
        ("inbox", "inbox"),
        ("draft", "draft"),
        ("scheduled", "scheduled"),
        ("outbox", "sent"),
        ("sent", "sent"),
        ("error", "error"),
    ],
)
async def test_create_with_each_status(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind, status: str, final: str
) -> None:
    created = await _create(close, kind, lead, status)
    assert created.status == status
    assert created.lead_id == lead["id"]
    assert created.date_created == T0
    fetched = await kind.api(close).get(created.id)
    assert fetched.status == final
    assert fetched.direction == DIRECTION[kind.name].get(status, DIRECTION[kind.name]["default"])
    assert fetched.date_sent == (T0 if final in ("inbox", "sent") else None)
    assert fetched.date_scheduled == (T0 + timedelta(hours=1) if status == "scheduled" else None)
    sent = kind.sent(backend.fake)
    assert [m.id for m in sent] == ([created.id] if status == "outbox" else [])
    assert list(backend.fake.activities) == [created.id]


async def test_only_drafts_are_editable(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api, field = kind.api(close), EDIT[kind.name]
    draft = await _create(close, kind, lead, "draft")
    backend.fake.advance(5)
    edited = await api.update(draft, **{field: "edited"})
    assert (edited.status, getattr(edited, field), edited.date_updated) == (
        "draft",
        "edited",
        T0 + timedelta(seconds=5),
    )
    for status in ("sent", "inbox"):
        message = await _create(close, kind, lead, status)
        with pytest.raises(BadRequestError) as refused:
            await api.update(message.id, **{field: "changed"})
        assert refused.value.status == 400
        assert list(refused.value.field_errors) == ["status"]
        with pytest.raises(InvalidRequestError) as local:  # with the model, the SDK knows
            await api.update(message, **{field: "changed"})
        assert list(local.value.field_errors) == ["status"]
        raw = await backend.raw("PUT", f"{kind.path}{message.id}/", json={field: "changed"})
        assert list(raw.field_errors()) == ["status"]
        assert getattr(await api.get(message.id), field) == f"{status} {field}"


async def test_sending_needs_a_sender(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api = kind.api(close)
    draft = await _create(close, kind, lead, "draft")
    with pytest.raises(BadRequestError) as refused:
        await api.send(draft.id)
    assert list(refused.value.field_errors) == [kind.sends_from]
    with pytest.raises(InvalidRequestError) as local:
        await api.send(draft)
    assert list(local.value.field_errors) == [kind.sends_from]
    raw = await backend.raw("PUT", f"{kind.path}{draft.id}/", json={"status": "outbox"})
    assert list(raw.field_errors()) == [kind.sends_from]
    assert kind.sent(backend.fake) == []
    queued = await api.send(draft, **{kind.sends_from: kind.sends_value})
    assert (queued.status, getattr(queued, kind.sends_from)) == ("outbox", kind.sends_value)
    assert backend.fake.advance(0) == 1
    assert [m.id for m in kind.sent(backend.fake)] == [draft.id]
    assert (await api.get(draft.id)).status == "sent"


async def test_scheduling_needs_a_date_and_sends_when_due(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api, fake = kind.api(close), backend.fake
    draft = await _create(close, kind, lead, "draft")
    raw = await backend.raw(
        "PUT", f"{kind.path}{draft.id}/", json={"status": "scheduled", kind.sends_from: kind.sends_value}
    )
    assert list(raw.field_errors()) == ["date_scheduled"]
    with pytest.raises(InvalidRequestError) as local:
        await api.update(draft.id, status="scheduled")
    assert "date_scheduled" in local.value.field_errors
    at = T0 + timedelta(hours=1)
    scheduled = await api.schedule(draft, at=at, **{kind.sends_from: kind.sends_value})
    assert (scheduled.status, scheduled.date_scheduled, scheduled.date_sent) == ("scheduled", at, None)
    assert fake.advance(3599) == 0
    assert (await api.get(draft.id)).status == "scheduled"
    assert kind.sent(fake) == []
    assert fake.advance(1) == 1
    sent = await api.get(draft.id)
    assert (sent.status, sent.date_sent, sent.activity_at, sent.date_scheduled) == ("sent", at, at, None)
    fake.advance(3600)
    assert [(m.id, m.sent_at) for m in kind.sent(fake)] == [(draft.id, at)]


async def test_send_in_delays_the_send_in_fake_time(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api, fake = kind.api(close), backend.fake
    draft = await _create(close, kind, lead, "draft")
    queued = await api.send(draft, send_in=30, **{kind.sends_from: kind.sends_value})
    assert queued.status == "outbox"
    fake.advance(29)
    assert (await api.get(draft.id)).status == "outbox"
    assert kind.sent(fake) == []
    fake.advance(1)
    sent = await api.get(draft.id)
    assert (sent.status, sent.date_sent, sent.activity_at) == (
        "sent",
        T0 + timedelta(seconds=30),
        sent.date_sent,
    )
    fake.advance(120)
    await api.list().collect()
    assert [m.id for m in kind.sent(fake)] == [draft.id]
    assert kind.sent(fake)[0].message["status"] == "sent"


async def test_outbox_create_with_send_in(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    created = await _create(close, kind, lead, "outbox", send_in=10)
    assert created.status == "outbox"
    assert backend.fake.advance(9) == 0
    assert backend.fake.advance(1) == 1
    assert [(m.id, m.sent_at) for m in kind.sent(backend.fake)] == [(created.id, T0 + timedelta(seconds=10))]


@pytest.mark.parametrize("pending", ["outbox", "scheduled"])
async def test_cancel_returns_to_draft_and_nothing_is_sent(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind, pending: str
) -> None:
    api, fake = kind.api(close), backend.fake
    draft = await _create(close, kind, lead, "draft")
    sender = {kind.sends_from: kind.sends_value}
    if pending == "outbox":
        queued = await api.send(draft, send_in=30, **sender)
    else:
        queued = await api.schedule(draft, at=T0 + timedelta(minutes=5), **sender)
    assert queued.status == pending
    with pytest.raises(BadRequestError) as refused:  # pending: it can only be cancelled
        await api.update(draft.id, **{EDIT[kind.name]: "late edit"})
    assert list(refused.value.field_errors) == ["status"]
    cancelled = await api.cancel(queued)
    assert (cancelled.status, cancelled.date_scheduled) == ("draft", None)
    fake.advance(3600)
    assert (await api.get(draft.id)).status == "draft"
    assert kind.sent(fake) == []


async def test_a_sent_message_cannot_be_cancelled(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api = kind.api(close)
    sent = await _create(close, kind, lead, "outbox")
    backend.fake.advance(0)
    with pytest.raises(BadRequestError) as refused:
        await api.cancel(sent.id)
    assert list(refused.value.field_errors) == ["status"]
    assert [m.id for m in kind.sent(backend.fake)] == [sent.id]


async def test_delete_then_get_is_not_found(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    api, fake = kind.api(close), backend.fake
    pending = await _create(close, kind, lead, "outbox", send_in=30)
    assert await api.delete(pending) is None
    fake.advance(60)
    assert kind.sent(fake) == []
    with pytest.raises(NotFoundError) as missing:
        await api.get(pending.id)
    assert missing.value.status == 404
    raw = await backend.raw("GET", f"{kind.path}{pending.id}/")
    assert (raw.status, raw.body) == (404, {"error": f"{kind.type_name} not found"})
    deleted = await backend.raw("DELETE", f"{kind.path}{pending.id}/")
    assert (deleted.status, deleted.body) == (404, {"error": f"{kind.type_name} not found"})
    assert fake.activities == {}


async def test_unknown_ids_are_not_found(backend: Backend, close: CloseAsync, kind: Kind) -> None:
    api, unknown = kind.api(close), "acti_" + "0" * 43
    calls: tuple[Callable[[], Awaitable[Any]], ...] = (
        lambda: api.get(unknown),
        lambda: api.delete(unknown),
        lambda: api.update(unknown, **{EDIT[kind.name]: "x"}),
    )
    for call in calls:
        with pytest.raises(NotFoundError) as missing:
            await call()
        assert (missing.value.status, missing.value.body) == (404, {"error": f"{kind.type_name} not found"})
