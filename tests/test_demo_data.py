"""The demo organization: every object fits the models strictly, and the data is reproducible."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.fake.demo import DemoSummary, load_demo
from closeasync.fake.handlers.activities import threads
from closeasync.models import ACTIVITY_TYPES, ActivityBase, Email, EmailThread
from closeasync.models._converter import parse_datetime, strict_converter

from .conftest import ACTIVITY_UNION

#: Every type the demo makes (all modelled activity types but the views and merges).
DEMO_TYPES = set(ACTIVITY_TYPES) - {"EmailThread", "LeadMerge"}


@pytest.fixture(scope="module")
def demo() -> tuple[FakeClose, DemoSummary]:
    fake = FakeClose(seed=1)
    return fake, load_demo(fake)


def _snapshot(fake: FakeClose) -> dict[str, Any]:
    state = fake.state
    return {
        "users": state.users,
        "leads": state.leads,
        "contacts": state.contacts,
        "activities": state.activities,
        "pending": state.pending,
    }


def test_every_demo_activity_structures_strictly(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    for activity in fake.activities.values():
        model = strict_converter.structure(activity, ACTIVITY_UNION)
        assert isinstance(model, ActivityBase)
        assert activity["_type"] == model.TYPE


def test_the_summary_counts_what_was_stored(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, summary = demo
    assert summary.counts == Counter(a["_type"] for a in fake.activities.values())
    assert set(summary.counts) == DEMO_TYPES
    assert summary.leads == len(fake.state.leads) == summary.counts["Created"] == 300
    assert summary.contacts == len(fake.state.contacts)
    assert summary.leads <= summary.contacts <= 3 * summary.leads
    assert summary.users == len(fake.state.users) > 1
    assert summary.activities == len(fake.activities)
    names = [lead["display_name"] for lead in fake.state.leads.values()]
    assert len(set(names)) == len(names)
    assert summary.describe().startswith(f"300 leads, {summary.contacts} contacts, {summary.users} users, ")


def test_same_seed_same_data_and_other_seeds_differ() -> None:
    first, second, other = FakeClose(seed=5), FakeClose(seed=5), FakeClose(seed=6)
    assert load_demo(first, leads=40) == load_demo(second, leads=40)
    assert _snapshot(first) == _snapshot(second)
    load_demo(other, leads=40)
    assert _snapshot(other)["activities"] != _snapshot(first)["activities"]
    names = [lead["display_name"] for lead in first.state.leads.values()]
    assert names != [lead["display_name"] for lead in other.state.leads.values()]


def test_the_global_random_is_left_alone() -> None:
    random.seed(1234)
    before = random.getstate()
    load_demo(FakeClose(seed=2), leads=10)
    assert random.getstate() == before


def test_activities_happen_in_the_90_days_before_the_clock(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    now = fake.now
    for activity in fake.activities.values():
        created = parse_datetime(activity["date_created"])
        assert now - timedelta(days=90) <= created <= now, activity["id"]
        assert activity["lead_id"] in fake.state.leads
    for lead in fake.state.leads.values():
        assert now - timedelta(days=90) <= parse_datetime(lead["date_created"]) <= now


def test_contacts_have_addresses_and_e164_phones(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    for contact in fake.state.contacts.values():
        assert contact["emails"]
        assert contact["phones"]
        for email in contact["emails"]:
            assert re.fullmatch(r"[a-z0-9.]+@[a-z0-9]+\.example", email["email"]), email
        for phone in contact["phones"]:
            assert re.fullmatch(r"\+1[2-9]\d\d5550[1]\d\d", phone["phone"]), phone


def test_email_threads_are_replies_to_each_other(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    emails = {a["id"]: a for a in fake.activities.values() if a["_type"] == "Email"}
    threads = Counter(e["thread_id"] for e in emails.values())
    assert set(threads.values()) <= {2, 3, 4, 5}
    assert {e["status"] for e in emails.values()} == {"inbox", "sent", "draft", "scheduled"}
    replies = [e for e in emails.values() if e["in_reply_to_id"]]
    assert replies
    for reply in replies:
        parent = emails[reply["in_reply_to_id"]]
        assert reply["thread_id"] == parent["thread_id"]
        assert reply["subject"] == "Re: " + parent["subject"].removeprefix("Re: ")
        assert parent["date_created"] < reply["date_created"]
        if reply["status"] in ("sent", "inbox"):  # a draft is no reply yet
            assert parent["has_reply"] is True
            assert reply["envelope"]["in_reply_to"] == parent["message_ids"][0]
            assert reply["references"][-1] == parent["message_ids"][0]
    bodies = {e["body_text"] for e in emails.values()}
    assert len(bodies) > len(emails) * 0.9  # varied, not a handful of templates
    assert all(e["body_html"].startswith("<p>") for e in emails.values())


def test_scheduled_messages_are_sent_when_the_clock_gets_there() -> None:
    fake = FakeClose(seed=1)
    load_demo(fake, leads=200)
    scheduled = [a for a in fake.activities.values() if a.get("status") == "scheduled"]
    assert {a["_type"] for a in scheduled} == {"Email", "SMS"}
    assert set(fake.state.pending) == {a["id"] for a in scheduled}
    assert fake.advance(3 * 3600) == 0  # nothing is due within hours: the demo's own sends are alone
    assert fake.advance(6 * 86400) == len(scheduled)
    assert len(fake.sent_emails) + len(fake.sent_sms) == len(scheduled)


def test_sms_include_both_directions_and_mms(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    texts = [a for a in fake.activities.values() if a["_type"] == "SMS"]
    assert {t["direction"] for t in texts} == {"inbound", "outbound"}
    mms = [t for t in texts if t["attachments"]]
    assert mms
    for mms_text in mms:
        for attachment in mms_text["attachments"]:
            assert attachment["url"].startswith(f"https://app.close.com/go/sms/{mms_text['id']}/media/")


async def test_the_sdk_lists_demo_data_newest_first() -> None:
    fake = FakeClose(seed=3)
    summary = load_demo(fake, leads=20)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        emails = await close.emails.list().collect()
        lead_id = next(iter(fake.state.leads))
        timeline = await close.activities.list(lead_id=lead_id).collect()
    assert len(emails) == summary.counts["Email"]
    assert all(isinstance(e, Email) for e in emails)
    created = [e.date_created for e in emails]
    assert created == sorted(created, reverse=True)
    assert len(timeline) == sum(1 for a in fake.activities.values() if a["lead_id"] == lead_id)


def test_negative_lead_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="leads"):
        load_demo(FakeClose(), leads=-1)
    assert load_demo(FakeClose(), leads=0).activities == 0


async def test_demo_messages_have_the_fields_of_api_created_ones(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, _ = demo
    other = FakeClose(seed=9)
    lead = other.add_lead("Acme")
    async with CloseAsync(api_key=other.api_key, transport=other.transport()) as close:
        await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
        await close.sms.create(status="draft", lead_id=lead["id"], text="Hi")
    keys = {a["_type"]: set(a) for a in other.activities.values()}
    for activity in fake.activities.values():
        if activity["_type"] in keys:
            assert set(activity) - {"body_text_quoted"} == keys[activity["_type"]], activity["id"]


def test_demo_email_threads_structure_strictly(demo: tuple[FakeClose, DemoSummary]) -> None:
    fake, summary = demo
    views = threads(fake.state)
    assert sum(view["n_emails"] for view in views.values()) == summary.counts["Email"]
    for view in views.values():
        assert isinstance(strict_converter.structure(view, ACTIVITY_UNION), EmailThread)
