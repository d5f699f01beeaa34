"""The clock, reset and seeded ids; and one whole scenario run on both backends, compared."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeasync import APIError, CloseAsync
from closeasync.models._converter import unstructure

from .conftest import Backend, CheckedFake, assert_faithful, make_fake, open_backend
from .messages import LOCAL_PHONE, REMOTE_PHONE, SENDER

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LONG_ID = re.compile(r"(acti|lead|cont|user|orga)_[0-9A-Za-z]{43}")
SHORT_ID = re.compile(r"media_[0-9A-Za-z]{22}")
#: The first ids of a fake seeded with conftest.SEED (7): the same on every backend and run.
SEEDED = {
    "organization": "orga_k9E4xm3v2q45qP7dCWzoY2Rh87jObADnx33cGqjAsiN",
    "me": "user_HfzwSJhY7pK9u2FLzSjHAzsQWtF3HEZOhnF1sa73L8f",
    "lead": "lead_oS4rySORhpmSX9aeeuAg0pmzXGvCF3TMSNoo6D34cal",
    "first activity": "acti_3096m1SC9flm7QZst56lgPa1Ww9x1wYRHgmaLxMkdOZ",
    "its thread": "acti_QNOJewm11hgGXrWZXmdeccCTQtEN5EUMKtbMkNYooWI",
}


async def test_ids_are_seeded_and_in_close_format(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    fake = backend.fake
    email = await close.emails.create(lead_id=lead["id"], status="draft")
    mms = await close.sms.create(
        status="inbox",
        lead_id=lead["id"],
        remote_phone=REMOTE_PHONE,
        attachments=[{"url": "https://example.test/a.png", "filename": "a.png", "content_type": "image/png"}],
    )
    assert {
        "organization": fake.state.organization_id,
        "me": fake.me["id"],
        "lead": lead["id"],
        "first activity": email.id,
        "its thread": email.thread_id,
    } == SEEDED
    contact = fake.add_contact(lead["id"], "Bob")
    for ident in (*fake.activities, lead["id"], contact["id"], fake.me["id"], fake.state.organization_id):
        assert LONG_ID.fullmatch(ident), ident
    (attachment,) = mms.attachments
    assert attachment.media_id is not None
    assert SHORT_ID.fullmatch(attachment.media_id)
    assert attachment.url == f"https://app.close.com/go/sms/{mms.id}/media/{attachment.media_id}/"


async def test_the_clock_moves_only_when_advanced(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    fake = backend.fake
    assert fake.now == T0
    first = await close.emails.create(lead_id=lead["id"], status="draft")
    assert fake.now == T0
    assert fake.advance(90.5) == 0
    assert fake.now == T0 + timedelta(seconds=90.5)
    second = await close.sms.create(status="outbox", lead_id=lead["id"], local_phone=LOCAL_PHONE, send_in=5)
    assert (first.date_created, second.date_created) == (T0, T0 + timedelta(seconds=90.5))
    with pytest.raises(ValueError, match="forward"):
        fake.advance(-1)
    assert fake.advance(5) == 1
    assert fake.sent_sms[0].sent_at == T0 + timedelta(seconds=95.5)


async def test_reset_empties_the_org_and_replays_the_same_ids(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    fake = backend.fake

    async def populate() -> list[str]:
        fresh = fake.add_lead("Acme Corp")
        email = await close.emails.create(lead_id=fresh["id"], status="outbox", sender=SENDER)
        sms = await close.sms.create(status="outbox", lead_id=fresh["id"], local_phone=LOCAL_PHONE)
        fake.advance(30)
        return [fresh["id"], email.id, sms.id]

    fake.reset()
    before = await populate()
    fake.rate_limits.set(budget=1, window=60)
    fake.faults.add("status", status=500, count=5)
    assert (len(fake.activities), len(fake.sent_emails), len(fake.sent_sms)) == (2, 1, 1)
    fake.reset()
    assert (fake.activities, fake.state.leads, fake.state.sent, fake.now) == ({}, {}, [], T0)
    assert list(fake.state.users) == [SEEDED["me"]]
    assert fake.state.organization_id == SEEDED["organization"]
    assert await close.emails.list().collect() == []  # no limit, no fault left
    assert await populate() == before
    assert before[0] == lead["id"] == SEEDED["lead"]


Step = Callable[[], Awaitable[Any]]


async def _outcome(step: Step) -> Any:
    """A step's result as plain data, or the error Close answered with."""
    try:
        result = await step()
    except APIError as exc:
        return {"error": type(exc).__name__, "status": exc.status, "body": exc.body}
    if isinstance(result, list):
        return [unstructure(item) for item in result]
    return None if result is None else unstructure(result)


async def scenario(close: CloseAsync, fake: CheckedFake) -> list[Any]:
    """A day at the office, recorded step by step as unstructured data."""
    lead = fake.add_lead("Acme Corp")
    bob = fake.add_contact(lead["id"], "Bob", emails=["bob@acme.test"], phones=[REMOTE_PHONE])
    results: list[Any] = []

    async def step(call: Step) -> Any:
        results.append(await _outcome(call))
        return results[-1]

    draft = await step(lambda: close.emails.create(lead_id=lead["id"], status="draft", contact_id=bob["id"]))
    fake.advance(60)
    await step(
        lambda: close.emails.update(
            draft["id"], subject="Proposal", body_text="See attached.", to=["bob@acme.test"]
        )
    )
    await step(lambda: close.emails.send(draft["id"], sender=SENDER, send_in=20))
    sms = await step(
        lambda: close.sms.create(
            status="draft", lead_id=lead["id"], text="On my way", remote_phone=REMOTE_PHONE
        )
    )
    await step(lambda: close.sms.schedule(sms["id"], at=T0 + timedelta(hours=2), local_phone=LOCAL_PHONE))
    fake.advance(10)
    await step(lambda: close.emails.get(draft["id"]))
    fake.advance(10)
    await step(lambda: close.emails.get(draft["id"]))
    await step(
        lambda: close.emails.create(
            lead_id=lead["id"],
            status="inbox",
            sender="bob@acme.test",
            subject="Re: Proposal",
            in_reply_to_id=draft["id"],
        )
    )
    await step(lambda: close.emails.update(draft["id"], subject="Too late"))
    await step(lambda: close.sms.cancel(sms["id"]))
    await step(lambda: close.sms.send(sms["id"], local_phone=LOCAL_PHONE))
    fake.advance(7200)
    await step(lambda: close.activities.list(thread_emails=True).collect())
    await step(lambda: close.activities.list(lead_id=lead["id"], order_by="-activity_at").collect())
    await step(lambda: close.emails.list(fields=["id", "status", "date_sent"], page_size=1).collect())
    await step(lambda: close.emails.get("acti_" + "0" * 43))
    fake.faults.add("status", group="DELETE /activity/sms/{id}/", status=503, count=1)
    await step(lambda: close.sms.delete(sms["id"]))
    await step(lambda: close.sms.delete(sms["id"]))
    await step(lambda: close.sms.get(sms["id"]))
    sent = [(m.id, m.kind, m.sent_at.isoformat(), m.message) for m in fake.state.sent]
    results.append({"sent": sent, "store": fake.activities, "now": fake.now.isoformat()})
    return results


async def test_the_same_scenario_gives_the_same_results_on_both_backends() -> None:
    outcomes = {}
    for name in ("inprocess", "http"):
        fake = make_fake()
        async with open_backend(name, fake) as backend, backend.client() as close:
            outcomes[name] = await scenario(close, fake)
        assert_faithful(fake)
    assert outcomes["inprocess"] == outcomes["http"]
    steps = outcomes["http"]
    assert [s.get("status") if s and "error" in s else "ok" for s in steps[:-1]] == [
        *["ok"] * 8,
        400,
        *["ok"] * 5,
        404,
        503,
        "ok",
        404,
    ]
    final = steps[-1]
    assert [(kind, at) for _, kind, at, _ in final["sent"]] == [
        ("Email", "2026-01-05T09:01:20+00:00"),
        ("SMS", "2026-01-05T09:01:20+00:00"),
    ]
    assert sorted(a["_type"] for a in final["store"].values()) == ["Email", "Email"]
