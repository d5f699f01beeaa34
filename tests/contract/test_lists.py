"""Per-type lists (``GET /activity/email/``, ``/activity/sms/``): order, paging, projection, filters."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, cast

import pytest

from closeasync import BadRequestError, CloseAsync, InvalidRequestError
from closeasync.models._base import FieldNotLoaded, loaded_fields

from .conftest import Backend, CheckedFake
from .messages import KINDS, Kind

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


async def _make(
    close: CloseAsync, fake: CheckedFake, kind: Kind, lead_id: str, n: int, step: float = 60
) -> list[str]:
    """Create ``n`` drafts ``step`` seconds apart; return their ids, oldest first."""
    ids = []
    for i in range(n):
        message = await kind.api(close).create(
            lead_id=lead_id, status="draft", **kind.fields(f"#{i}", now=T0)
        )
        ids.append(message.id)
        fake.advance(step)
    return ids


@pytest.mark.parametrize("kind", KINDS, ids=str)
async def test_newest_first_and_every_item_once_across_pages(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], kind: Kind
) -> None:
    ids = await _make(close, backend.fake, kind, lead["id"], 7)
    newest_first = ids[::-1]
    pages = [page async for page in kind.api(close).list(page_size=3).pages()]
    assert [(p.skip, len(p), p.has_more) for p in pages] == [(0, 3, True), (3, 3, True), (6, 1, False)]
    assert [item.id for page in pages for item in page] == newest_first
    assert [m.id async for m in kind.api(close).list(page_size=2)] == newest_first
    assert [m.id for m in await kind.api(close).list().limit(4).collect()] == newest_first[:4]
    for skip, expected, more in (
        (0, newest_first[:3], True),
        (3, newest_first[3:6], True),
        (6, newest_first[6:], False),
    ):
        raw = await backend.raw("GET", kind.path, query={"_limit": "3", "_skip": str(skip)})
        assert ([m["id"] for m in raw.body["data"]], raw.body["has_more"]) == (expected, more)


async def test_limit_and_skip_have_maxima(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    rules = backend.fake.list_rules
    await _make(close, backend.fake, KINDS[0], lead["id"], 2)
    ok = await backend.raw("GET", "/activity/email/", query={"_limit": str(rules.max_limit)})
    assert (len(ok.body["data"]), ok.body["has_more"]) == (2, False)
    over = await backend.raw("GET", "/activity/email/", query={"_limit": str(rules.max_limit + 1)})
    assert over.field_errors() == {"_limit": f"Input should be less than or equal to {rules.max_limit}"}
    for bad in ("0", "-1", "ten"):
        assert list((await backend.raw("GET", "/activity/email/", query={"_limit": bad})).field_errors()) == [
            "_limit"
        ]
    deepest = await backend.raw("GET", "/activity/email/", query={"_skip": str(rules.max_skip)})
    assert deepest.body == {"data": [], "has_more": False}
    too_deep = await backend.raw("GET", "/activity/email/", query={"_skip": str(rules.max_skip + 1)})
    assert too_deep.field_errors() == {"_skip": f"Input should be less than or equal to {rules.max_skip}"}
    with pytest.raises(BadRequestError) as refused:
        await close.emails.list(page_size=rules.max_limit + 1).collect()
    assert list(refused.value.field_errors) == ["_limit"]


async def test_fields_projection_gives_partial_models(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    (only,) = await _make(close, backend.fake, KINDS[0], lead["id"], 1)
    (listed,) = await close.emails.list(fields=["id", "subject"]).collect()
    assert (listed.id, listed.subject, loaded_fields(listed)) == (
        only,
        "#0 subject",
        frozenset({"id", "subject"}),
    )
    with pytest.raises(FieldNotLoaded):
        _ = listed.status
    got = await close.emails.get(only, fields=["status", "date_created"])
    assert (got.status, got.date_created, loaded_fields(got)) == (
        "draft",
        T0,
        frozenset({"status", "date_created"}),
    )
    with pytest.raises(FieldNotLoaded):
        _ = got.id
    raw = await backend.raw("GET", "/activity/sms/", query={"_fields": "id,text"})
    assert raw.body == {"data": [], "has_more": False}
    raw = await backend.raw("GET", "/activity/email/", query={"_fields": "id,subject,no_such_field"})
    assert raw.body["data"] == [{"id": only, "subject": "#0 subject"}]


async def test_id_lead_user_and_contact_filters(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    fake = backend.fake
    other_lead, third_lead = fake.add_lead("Other Inc"), fake.add_lead("Third LLC")
    ann = fake.add_user("Ann Other", "ann@fake.close.test")
    bob = fake.add_contact(lead["id"], "Bob", emails=["bob@acme.test"])
    carl = fake.add_contact(other_lead["id"], "Carl", emails=["carl@other.test"])
    made = []
    for lead_id, extra in (
        (lead["id"], {"contact_id": bob["id"]}),
        (lead["id"], {"user_id": ann["id"]}),
        (other_lead["id"], {"contact_id": carl["id"]}),
        (third_lead["id"], {}),
    ):
        made.append((await close.emails.create(lead_id=lead_id, status="draft", **extra)).id)
        fake.advance(60)
    e1, e2, e3, e4 = made

    async def ids(**filters: Any) -> list[str]:
        return [e.id for e in await close.emails.list(**filters).collect()]

    assert await ids(lead_id=lead["id"]) == [e2, e1]
    assert await ids(lead_id=[lead["id"], other_lead["id"]]) == [e3, e2, e1]
    assert await ids(user_id=ann["id"]) == [e2]
    assert await ids(user_id=[fake.me["id"], ann["id"]]) == [e4, e3, e2, e1]
    assert await ids(contact_id=bob["id"]) == [e1]
    assert await ids(contact_id=[bob["id"], carl["id"]]) == [e3, e1]
    assert await ids(id__in=[e1, e4]) == [e4, e1]
    assert await ids(id__in=[e1, e4], lead_id=lead["id"]) == [e1]
    assert await ids(organization_id=fake.state.organization_id) == [e4, e3, e2, e1]
    raw = await backend.raw("GET", "/activity/email/", query={"lead_id": f"{lead['id']},{third_lead['id']}"})
    assert [e["id"] for e in raw.body["data"]] == [e4, e2, e1]


async def test_date_filters_take_dates_and_datetimes(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    a, b, c = await _make(close, backend.fake, KINDS[0], lead["id"], 3, step=3600)  # 09:00, 10:00, 11:00 UTC

    async def ids(client: CloseAsync, **filters: Any) -> list[str]:
        return [e.id for e in await client.emails.list(**filters).collect()]

    ten = T0 + timedelta(hours=1)
    assert await ids(close, date_created__gte=ten) == [c, b]
    assert await ids(close, date_created__gt=ten) == [c]
    assert await ids(close, date_created__lt=ten) == [a]
    assert await ids(close, date_created__lte=ten) == [b, a]
    assert await ids(close, date_created__gte=ten.astimezone(timezone(timedelta(hours=-5)))) == [c, b]
    assert await ids(close, date_created__gte=datetime(2026, 1, 5, 5, 30)) == [c, b, a]  # naive: UTC
    assert await ids(close, date_created__lt=date(2026, 1, 5)) == []
    assert await ids(close, date_created__gte=date(2026, 1, 5), date_created__lt=date(2026, 1, 6)) == [
        c,
        b,
        a,
    ]
    assert await ids(close, activity_at__gt=ten) == [c]
    async with backend.client(tz_offset=-5) as eastern:  # naive and date values are read at UTC-5
        assert await ids(eastern, date_created__gte=datetime(2026, 1, 5, 5, 30)) == [c]
        assert await ids(eastern, date_created__gte=ten) == [c, b]  # an aware one is as given
    async with backend.client(tz_offset=-10) as hawaii:  # 2026-01-05 starts at 10:00 UTC
        assert await ids(hawaii, date_created__gte=date(2026, 1, 5)) == [c, b]
    async with backend.client(tz_offset=2.5) as half:  # 2026-01-05T11:45 at +2:30 is 09:15 UTC
        assert await ids(half, date_created__gt=datetime(2026, 1, 5, 11, 45)) == [c, b]
    raw = await backend.raw(
        "GET", "/activity/email/", query={"date_created__gte": "2026-01-05"}, headers={"x-tz-offset": "-10"}
    )
    assert [e["id"] for e in raw.body["data"]] == [c, b]
    bad = await backend.raw("GET", "/activity/email/", query={"date_created__gt": "last tuesday"})
    assert list(bad.field_errors()) == ["date_created__gt"]


async def test_unknown_parameters_are_refused(backend: Backend, close: CloseAsync) -> None:
    for path in ("/activity/email/", "/activity/sms/", "/activity/"):
        raw = await backend.raw("GET", path, query={"status": "sent", "_limit": "5"})
        assert raw.field_errors() == {"status": "Unknown parameter."}
    with pytest.raises(InvalidRequestError) as refused:
        cast(Any, close.emails).list(status="sent")
    assert list(refused.value.field_errors) == ["status"]
