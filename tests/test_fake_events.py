"""The fake's event log: seeding, every activity type's deletion, consolidation, listeners,
paging walks over random histories, reset.

Requests go straight to ``FakeClose.handle`` (the seam every transport uses); the HTTP
surface on both backends is in ``tests/contract/test_event_log.py``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeasync.fake import FakeClose, FakeRequest
from closeasync.fake.demo import load_demo
from closeasync.models._converter import format_datetime, parse_datetime, strict_converter
from closeasync.models.event import Event
from closeasync.models.registry import ACTIVITY_BY_RESOURCE
from closeasync.pipeline.routes import ROUTES
from closeasync.rules.events import ACTIVITY_OBJECT_TYPES

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # the fake clock's start
Obj = dict[str, Any]


def call(
    fake: FakeClose, method: str, path: str, *, query: Mapping[str, str] | None = None, body: Any = None
) -> Any:
    """Send one request with the fake's key; return the JSON body of a 2xx answer."""
    auth = "Basic " + base64.b64encode(f"{fake.api_key}:".encode()).decode()
    outcome = fake.handle(FakeRequest(method, path, dict(query or {}), body, {"authorization": auth}))
    assert outcome.response.status == 200, outcome.response.body
    return outcome.response.body


def stamp(seconds: float) -> str:
    return format_datetime(T0 + timedelta(seconds=seconds))


def draft(fake: FakeClose, lead: Obj, **fields: Any) -> Obj:
    email: Obj = call(
        fake, "POST", "/activity/email/", body={"lead_id": lead["id"], "status": "draft", **fields}
    )
    return email


def edit(fake: FakeClose, email: Obj, **fields: Any) -> Obj:
    edited: Obj = call(fake, "PUT", f"/activity/email/{email['id']}/", body=fields)
    return edited


# -- seeding ---------------------------------------------------------------------------------


def test_seeding_logs_a_created_event_of_no_request() -> None:
    fake = FakeClose(seed=1)
    lead = fake.add_lead("Acme")
    someone = fake.add_user("Some One", "some@fake.close.test")
    note = fake.add_activity("Note", lead_id=lead["id"], user_id=someone["id"], note="hello")
    (event,) = fake.events
    assert event["object_type"] == "activity.note"
    assert (event["action"], event["object_id"], event["lead_id"]) == ("created", note["id"], lead["id"])
    assert event["user_id"] == someone["id"]  # the activity's user: no request made it
    assert (event["request_id"], event["api_key_id"], event["meta"]) == (None, None, {})
    assert event["data"] == call(fake, "GET", f"/activity/note/{note['id']}/")
    assert event["date_created"] == event["date_updated"] == stamp(0)
    strict_converter.structure(event, Event)


def test_the_data_is_a_snapshot() -> None:
    fake = FakeClose(seed=1)
    note = fake.add_activity("Note", lead_id=fake.add_lead("Acme")["id"], note="before", users=[])
    note["note"] = "changed behind the fake's back"
    note["users"].append("user_x")
    (event,) = fake.events
    assert (event["data"]["note"], event["data"]["users"]) == ("before", [])


def test_the_demo_logs_every_activity_and_its_scheduled_sends() -> None:
    fake = FakeClose(seed=5)
    summary = load_demo(fake, leads=8)
    logged = list(fake.events)
    assert len(logged) == summary.activities == len(fake.activities)
    assert {e["object_id"] for e in logged} == set(fake.activities)
    assert {e["action"] for e in logged} == {"created"}
    assert all(e["request_id"] is None and e["user_id"] == e["data"]["user_id"] for e in logged)
    scheduled = {i for i, a in fake.activities.items() if a.get("status") == "scheduled"}
    assert len(scheduled) == 3  # seed 5 has some
    assert fake.advance(timedelta(days=7).total_seconds()) == len(scheduled)
    sends = [e for e in fake.events if e["action"] == "updated"]
    assert {e["object_id"] for e in sends} == scheduled
    assert all(e["data"]["status"] == "sent" and e["previous_data"]["status"] == "scheduled" for e in sends)


# -- every activity type ---------------------------------------------------------------------

DELETABLE = sorted(
    (resource, model.TYPE)
    for resource, model in ACTIVITY_BY_RESOURCE.items()
    if "delete" in ROUTES[resource] and resource not in ("email", "sms", "emailthread")
)


@pytest.mark.parametrize(("resource", "type_name"), DELETABLE)
def test_deleting_any_activity_logs_its_event(resource: str, type_name: str) -> None:
    fake = FakeClose(seed=2)
    activity = fake.add_activity(type_name, lead_id=fake.add_lead("Acme")["id"])
    fake.advance(60)
    call(fake, "DELETE", ROUTES[resource]["delete"].template.replace("{id}", activity["id"]))
    deleted, created = fake.events
    assert deleted["action"] == "deleted"
    assert deleted["object_type"] == created["object_type"] == ACTIVITY_OBJECT_TYPES[type_name]
    assert deleted["object_id"] == activity["id"]
    assert deleted["data"] is None
    assert deleted["meta"]["request_method"] == "DELETE"
    assert deleted["date_updated"] == stamp(60)


# -- consolidation and listeners ------------------------------------------------------------


def test_updates_close_together_share_one_event() -> None:
    fake = FakeClose(seed=1)  # consolidates within 5 seconds by default
    seen: list[Obj] = []
    fake.state.event_listeners.append(seen.append)
    email = draft(fake, fake.add_lead("Acme"), subject="A", body_text="one")
    fake.advance(1)
    edit(fake, email, subject="B")
    first_update = dict(seen[-1])
    fake.advance(2)
    edit(fake, email, subject="C", body_text="two")

    updated, created = fake.events
    assert created["action"] == "created"
    assert [e["id"] for e in seen] == [created["id"], updated["id"], updated["id"]]
    assert seen[-1] is updated  # the listener is handed the merged event
    assert seen[1] == first_update  # ... as a new dict: the one handed before is unchanged
    assert updated["date_created"] == stamp(1)
    assert updated["date_updated"] == stamp(3)
    assert set(updated["changed_fields"]) == set(first_update["changed_fields"]) | {
        "body_text",
        "body_preview",
    }
    assert updated["changed_fields"] == sorted(updated["changed_fields"])
    assert updated["previous_data"]["subject"] == "A"  # the oldest value
    assert updated["previous_data"]["body_text"] == "one"
    assert updated["previous_data"]["date_updated"] == stamp(0)
    assert updated["data"] == call(fake, "GET", f"/activity/email/{email['id']}/")
    assert updated["request_id"] != first_update["request_id"]  # the latest request's

    fake.advance(6)  # past the window since the event's date_updated: a new event
    edit(fake, email, subject="D")
    latest = next(iter(fake.events))
    assert latest["id"] != updated["id"]
    assert latest["previous_data"]["subject"] == "C"
    assert len(list(fake.events)) == 3


def test_consolidation_can_be_turned_off() -> None:
    fake = FakeClose(seed=1, consolidate_within=timedelta(0))
    email = draft(fake, fake.add_lead("Acme"), subject="A")
    fake.advance(1)
    edit(fake, email, subject="B")
    edit(fake, email, body_text="x")  # the same instant
    assert [e["action"] for e in fake.events] == ["updated", "updated", "created"]
    with pytest.raises(ValueError, match="negative"):
        FakeClose(consolidate_within=timedelta(seconds=-1))


def test_a_send_a_moment_after_its_request_keeps_the_request() -> None:
    fake = FakeClose(seed=1)
    email = draft(fake, fake.add_lead("Acme"), subject="A", to=["bob@acme.test"])
    fake.advance(1)
    edit(fake, email, status="outbox", sender="me@fake.close.test")
    fake.advance(1)  # the clock sends it
    updated, _ = fake.events
    assert updated["previous_data"]["status"] == "draft"
    assert updated["data"]["status"] == "sent"
    assert updated["request_id"] is not None
    assert updated["meta"]["request_method"] == "PUT"
    # Sent when it became due, the moment of the edit merged into the same event: its
    # date_updated still moves on (by a microsecond), so a feed tells the two versions apart.
    assert updated["date_updated"] == stamp(1.000001)


def test_a_consolidated_event_moves_on_while_the_clock_stands() -> None:
    """Close's clock moves between two changes; the fake's stands still until advanced. A
    feed knows an event by id and date_updated: a merge that kept date_updated would look
    like the event it had already handed out, and its change would never reach a copy. An
    object's events are stamped in the order they happened, a microsecond apart at least."""
    fake = FakeClose(seed=1)
    email = draft(fake, fake.add_lead("Acme"), subject="A")
    edit(fake, email, subject="B")
    first, created = fake.events
    edit(fake, email, subject="C")
    merged, _ = fake.events
    assert merged["id"] == first["id"]
    assert merged["data"]["subject"] == "C"
    assert (created["date_updated"], first["date_updated"], merged["date_updated"]) == (
        stamp(0),
        stamp(0.000001),
        stamp(0.000002),
    )
    call(fake, "DELETE", f"/activity/email/{email['id']}/")
    deleted = next(iter(fake.events))
    assert deleted["action"] == "deleted"
    assert deleted["date_updated"] == stamp(0.000003)  # after the update it follows
    fake.advance(1)
    draft(fake, fake.add_lead("Other"), subject="D")
    assert next(iter(fake.events))["date_updated"] == stamp(1)  # another object: the clock's time


def test_a_no_op_update_logs_nothing() -> None:
    fake = FakeClose(seed=1)
    email = draft(fake, fake.add_lead("Acme"), subject="A")
    edit(fake, email, subject="A")  # nothing changes, not even date_updated (the clock stands)
    assert [e["action"] for e in fake.events] == ["created"]


def test_listeners_run_after_the_change_is_stored() -> None:
    fake = FakeClose(seed=1)
    stored: list[tuple[str, Any]] = []

    def listener(event: Obj) -> None:
        now_stored = fake.activities.get(event["object_id"])
        stored.append((event["action"], None if now_stored is None else now_stored["subject"]))

    fake.state.event_listeners.append(listener)
    email = draft(fake, fake.add_lead("Acme"), subject="A")
    fake.advance(10)
    edit(fake, email, subject="B")
    call(fake, "DELETE", f"/activity/email/{email['id']}/")
    assert stored == [
        ("created", "A"),
        ("updated", "B"),
        ("deleted", None),
    ]
    fake.state.event_listeners.remove(listener)
    fake.add_activity("Note", lead_id=email["lead_id"])
    assert len(stored) == 3


def test_reset_clears_the_log_but_keeps_listeners() -> None:
    fake = FakeClose(seed=9)
    seen: list[Obj] = []
    fake.state.event_listeners.append(seen.append)
    lead = fake.add_lead("Acme")
    fake.add_activity("Note", lead_id=lead["id"])
    first_id = seen[0]["id"]
    fake.reset()
    assert list(fake.events) == []
    assert call(fake, "GET", "/event/") == {"data": [], "cursor_next": None, "cursor_previous": None}
    fake.add_activity("Note", lead_id=fake.add_lead("Acme")["id"])
    assert [e["id"] for e in seen] == [first_id, first_id]  # ids start again from the seed


def test_retention_counts_from_the_last_update() -> None:
    fake = FakeClose(seed=1)
    email = draft(fake, fake.add_lead("Acme"), subject="A")
    fake.advance(timedelta(days=20).total_seconds())
    edit(fake, email, subject="B")
    fake.advance(timedelta(days=15).total_seconds())
    assert [e["action"] for e in call(fake, "GET", "/event/")["data"]] == ["updated"]


# -- paging over random histories ------------------------------------------------------------

Step = tuple[str, int, int]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["email", "edit", "delete", "note", "tick"]), st.integers(0, 99), st.integers(0, 7)
    ),
    max_size=40,
)


def _play(fake: FakeClose, steps: list[Step]) -> list[str]:
    leads = [fake.add_lead("Acme")["id"], fake.add_lead("Globex")["id"]]
    for action, pick, seconds in steps:
        emails = sorted(i for i, a in fake.activities.items() if a["_type"] == "Email")
        if action == "email":
            draft(fake, {"id": leads[pick % 2]}, subject=str(pick))
        elif action == "note":
            fake.add_activity("Note", lead_id=leads[pick % 2], note=str(pick))
        elif action == "edit" and emails:
            edit(fake, {"id": emails[pick % len(emails)]}, subject=f"edit {pick}")
        elif action == "delete" and emails:
            call(fake, "DELETE", f"/activity/email/{emails[pick % len(emails)]}/")
        fake.advance(seconds)
    return leads


def _walk(fake: FakeClose, query: dict[str, str], cursor_key: str, first: Obj) -> list[Obj]:
    pages = [first]
    while pages[-1][cursor_key] is not None:
        assert len(pages) <= len(fake.events) + 1, "the cursor does not move on"
        pages.append(call(fake, "GET", "/event/", query={**query, "_cursor": pages[-1][cursor_key]}))
    return pages


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=STEPS, size=st.integers(1, 50), by_lead=st.booleans())
def test_walking_the_pages_lists_every_event_once_in_order(
    steps: list[Step], size: int, by_lead: bool
) -> None:
    fake = FakeClose(seed=3)
    leads = _play(fake, steps)
    query = {"_limit": str(size), **({"lead_id": leads[0]} if by_lead else {})}
    pages = _walk(fake, query, "cursor_next", call(fake, "GET", "/event/", query=query))
    walked = [event for page in pages for event in page["data"]]

    expected = [e for e in fake.events if not by_lead or e["lead_id"] == leads[0]]
    assert [e["id"] for e in walked] == [e["id"] for e in expected]
    assert len({e["id"] for e in walked}) == len(walked)
    stamps = [parse_datetime(e["date_updated"]) for e in walked]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert all(0 < len(page["data"]) <= size for page in pages if walked)
    assert all(len(page["data"]) == size for page in pages[:-1])

    # Back from the last page by cursor_previous: the same pages, in reverse.
    back = _walk(fake, query, "cursor_previous", pages[-1])
    assert [p["data"] for p in back] == [p["data"] for p in reversed(pages)]
