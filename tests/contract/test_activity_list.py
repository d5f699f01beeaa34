"""``GET /activity/``: single-lead filters, ordering rules, ``thread_emails``, long URLs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from closeasync import CloseAsync, InvalidRequestError
from closeasync.models import SMS, Email, EmailThread, Note, is_loaded

from .conftest import Backend, CheckedFake
from .messages import REMOTE_PHONE, SENDER

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
SINGLE_LEAD_ONLY = ("user_id", "user_id__in", "contact_id", "contact_id__in", "_type", "_type__in")


async def _org(close: CloseAsync, fake: CheckedFake, lead: dict[str, Any]) -> dict[str, Any]:
    """A small organization: a two-email thread, a lone email, an SMS and a Note, a minute apart."""
    other = fake.add_lead("Other Inc")
    ann = fake.add_user("Ann Other", "ann@fake.close.test")
    bob = fake.add_contact(lead["id"], "Bob", emails=["bob@acme.test"])
    first = await close.emails.create(
        lead_id=lead["id"],
        status="sent",
        sender=SENDER,
        subject="Pricing",
        body_text="Our prices",
        contact_id=bob["id"],
    )
    fake.advance(60)
    reply = await close.emails.create(
        lead_id=lead["id"],
        status="inbox",
        sender="bob@acme.test",
        subject="Re: Pricing",
        in_reply_to_id=first.id,
    )
    fake.advance(60)
    lone = await close.emails.create(lead_id=other["id"], status="draft", subject="Hello", user_id=ann["id"])
    fake.advance(60)
    sms = await close.sms.create(
        status="inbox", lead_id=lead["id"], remote_phone=REMOTE_PHONE, text="Call me"
    )
    fake.advance(60)
    # Logged earlier than it was created: activity_at order differs from date_created order.
    note = fake.add_activity(
        "Note",
        lead_id=lead["id"],
        activity_at=T0 - timedelta(days=1),
        title=None,
        note="met at the fair",
        note_html="<body><p>met at the fair</p></body>",
        note_mentions=[],
        attachments=[],
        pinned=False,
        pinned_at=None,
        source="api",
    )
    return {
        "other": other,
        "ann": ann,
        "bob": bob,
        "first": first,
        "reply": reply,
        "lone": lone,
        "sms": sms,
        "note": note,
    }


@pytest.mark.parametrize("name", SINGLE_LEAD_ONLY)
async def test_single_lead_filters_need_one_lead_id(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], name: str
) -> None:
    org = await _org(close, backend.fake, lead)
    value = {"user": backend.fake.me["id"], "cont": org["bob"]["id"], "_typ": "Email"}[name[:4]]
    for extra in ({}, {"lead_id": f"{lead['id']},{org['other']['id']}"}):
        raw = await backend.raw("GET", "/activity/", query={name: value, **extra})
        assert list(raw.field_errors()) == [name]
    raw = await backend.raw("GET", "/activity/", query={name: value, "lead_id": lead["id"]})
    expected = {
        "user": [org["note"]["id"], org["sms"].id, org["reply"].id, org["first"].id],
        "cont": [org["first"].id],
        "_typ": [org["reply"].id, org["first"].id],
    }[name[:4]]
    assert [a["id"] for a in raw.body["data"]] == expected


async def test_the_sdk_refuses_single_lead_filters_without_one_lead(
    close: CloseAsync, lead: dict[str, Any]
) -> None:
    refusals: dict[str, Callable[[], object]] = {
        "user_id": lambda: close.activities.list(user_id="user_1"),
        "contact_id": lambda: close.activities.list(contact_id="cont_1", lead_id=[lead["id"], "lead_2"]),
        "types": lambda: close.activities.list(types=["Email"]),
        "user_id__in": lambda: close.activities.list(user_id__in=["user_1"]),
        "contact_id__in": lambda: close.activities.list(contact_id__in=["cont_1"]),
        "_order_by": lambda: close.activities.list(order_by="-activity_at"),
        "activity_at__gt": lambda: close.activities.list(activity_at__gt=T0),
    }
    for field, build in refusals.items():
        with pytest.raises(InvalidRequestError) as refused:
            build()
        assert list(refused.value.field_errors) == [field]
    items = await close.activities.list(lead_id=lead["id"], types=[Email, "SMS"], user_id="user_1").collect()
    assert items == []


async def test_order_by_rules(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    org = await _org(close, backend.fake, lead)
    by_activity = await close.activities.list(lead_id=lead["id"], order_by="-activity_at").collect()
    assert [a.id for a in by_activity] == [org["sms"].id, org["reply"].id, org["first"].id, org["note"]["id"]]
    assert isinstance(by_activity[-1], Note)
    by_created = await close.activities.list(lead_id=lead["id"]).collect()
    assert [a.id for a in by_created] == [org["note"]["id"], org["sms"].id, org["reply"].id, org["first"].id]
    ascending = await close.activities.list(order_by="date_created").collect()
    assert [a.id for a in ascending] == [
        org["first"].id,
        org["reply"].id,
        org["lone"].id,
        org["sms"].id,
        org["note"]["id"],
    ]
    since = await close.activities.list(
        lead_id=lead["id"], order_by="-activity_at", activity_at__gte=T0 + timedelta(minutes=1)
    ).collect()
    assert [a.id for a in since] == [org["sms"].id, org["reply"].id]
    refused = {
        "_order_by": {"_order_by": "-activity_at"},
        "activity_at__gt": {"activity_at__gt": "2026-01-05"},
        "date_created__gt": {
            "lead_id": lead["id"],
            "_order_by": "-activity_at",
            "date_created__gt": "2026-01-05",
        },
    }
    for field, query in refused.items():
        assert list((await backend.raw("GET", "/activity/", query=query)).field_errors()) == [field]
    bogus = await backend.raw("GET", "/activity/", query={"_order_by": "subject"})
    assert list(bogus.field_errors()) == ["_order_by"]


async def test_thread_emails(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    org = await _org(close, backend.fake, lead)
    plain = await close.activities.list().collect()
    assert [type(a).__name__ for a in plain] == ["Note", "SMS", "Email", "Email", "Email"]
    threaded = await close.activities.list(thread_emails=True).collect()
    kinds = sorted(type(a).__name__ for a in threaded)
    assert kinds == ["Email", "Email", "Email", "EmailThread", "EmailThread", "Note", "SMS"]
    for email in (a for a in threaded if isinstance(a, Email)):
        assert email.body_preview is not None
        assert not is_loaded(email, "body_text")  # stripped down: no bodies ...
        assert email.body_text is None  # ... which read as empty (Close left them out)
    only = await close.activities.list(thread_emails="only").collect()
    assert not any(isinstance(a, Email) for a in only)
    assert sorted(type(a).__name__ for a in only) == ["EmailThread", "EmailThread", "Note", "SMS"]
    threads = {t.id: t for t in only if isinstance(t, EmailThread)}
    pricing = threads[org["first"].thread_id]
    assert (pricing.n_emails, pricing.latest_normalized_subject) == (2, "Pricing")
    assert [e.id for e in pricing.emails] == [org["first"].id, org["reply"].id]
    assert org["reply"].thread_id == org["first"].thread_id != org["lone"].thread_id
    assert [
        t.id
        for t in await close.activities.list(
            thread_emails="only", lead_id=lead["id"], types=["EmailThread"]
        ).collect()
    ] == [pricing.id]
    bad = await backend.raw("GET", "/activity/", query={"thread_emails": "yes"})
    assert list(bad.field_errors()) == ["thread_emails"]
    assert isinstance(next(a for a in plain if a.id == org["sms"].id), SMS)


async def test_long_urls_use_the_method_override(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    fake = backend.fake
    ids = []
    for i in range(85):
        ids.append((await close.emails.create(lead_id=lead["id"], status="draft", subject=f"#{i}")).id)
        fake.advance(1)
    wanted = ids[::-1][:80]  # the newest 80, newest first
    seen = len(fake.checker.exchanges)
    long = [e.id for e in await close.emails.list(id__in=wanted, page_size=30).collect()]
    overridden = fake.checker.exchanges[seen:]
    assert [(x.request.method, x.request.headers.get("x-http-method-override")) for x in overridden] == [
        ("POST", "GET")
    ] * 3
    assert sum(len(x.request.body["_params"]["id__in"]) for x in overridden) > 3 * 2000
    pieces = []
    for start in range(0, 80, 10):
        pieces += [e.id for e in await close.emails.list(id__in=wanted[start : start + 10]).collect()]
    assert long == wanted == pieces
    everything = [a.id for a in await close.activities.list(id__in=wanted).collect()]
    assert everything == wanted


async def test_raw_method_override(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
    override = {"x-http-method-override": "GET"}
    params = {"_params": {"lead_id": lead["id"], "_fields": "id,subject"}}
    raw = await backend.raw("POST", "/activity/", json=params, headers=override)
    assert (raw.status, raw.body) == (200, {"data": [{"id": draft.id, "subject": "Hi"}], "has_more": False})
    for method, headers, body in (
        ("POST", {"x-http-method-override": "PUT"}, params),
        ("PUT", override, params),
        ("POST", override, {"lead_id": lead["id"]}),
    ):
        refused = await backend.raw(method, "/activity/", json=body, headers=headers)
        assert refused.field_errors() == {}
        assert len(refused.body["errors"]) == 1
    assert list(backend.fake.activities) == [draft.id]
