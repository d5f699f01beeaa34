"""The fake's webhooks: ``/webhook/`` subscriptions (the key shown once), and deliveries of
matching events, signed, to a real subscriber on 127.0.0.1, retried with backoff.

In-process, deliveries wait for ``await fake.webhooks.flush()``; the waits between retries
go through ``fake.webhooks.sleep``, which these tests replace with a recorder (no sleeping).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import attrs
import orjson
import pytest
from aiohttp import web

from closeasync import CloseAsync
from closeasync.fake import FakeClose, FakeRequest, FakeResponse
from closeasync.fake.webhooks import Backoff
from closeasync.models import to_dict
from closeasync.webhooks import verify_delivery

BOUND = 10.0
EMAIL_EVENTS = [{"object_type": "activity.email", "action": a} for a in ("created", "updated", "deleted")]


def call(
    fake: FakeClose, method: str, path: str, body: Any = None, *, key: str | None = None
) -> FakeResponse:
    token = base64.b64encode(f"{fake.api_key if key is None else key}:".encode()).decode()
    request = FakeRequest(method, path, body=body, headers={"authorization": f"Basic {token}"})
    return fake.handle(request).response


@attrs.define
class Subscriber:
    """A webhook subscriber on 127.0.0.1 answering from a script of statuses (then 200)."""

    statuses: list[int] = attrs.Factory(list)
    received: list[tuple[bytes, dict[str, str]]] = attrs.Factory(list)
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((await request.read(), dict(request.headers)))
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

    def verified(self, key: str) -> list[dict[str, Any]]:
        """Every body received, verified with ``key``, as ``{subscription_id, event}``."""
        found = [verify_delivery(body, headers, key) for body, headers in self.received]
        return [{"subscription_id": d.subscription_id, "event": to_dict(d.event)} for d in found]


@asynccontextmanager
async def subscriber(statuses: list[int] | None = None) -> AsyncIterator[Subscriber]:
    hook = Subscriber(list(statuses or []))
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        hook.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
        yield hook
    finally:
        await runner.cleanup()


def subscribe(fake: FakeClose, url: str, events: list[dict[str, Any]] = EMAIL_EVENTS) -> dict[str, Any]:
    created = call(fake, "POST", "/webhook/", {"url": url, "events": events})
    assert created.status == 201, created.body
    body: dict[str, Any] = created.body
    return body


class Sleeps:
    """Records the waits instead of waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> FakeClose:
    return FakeClose(seed=5)


# -- subscriptions ----------------------------------------------------------------------------


def test_the_signature_key_is_shown_once(fake: FakeClose) -> None:
    made = subscribe(fake, "https://example.com/hook")
    assert made["id"].startswith("whsub_")
    assert len(made["signature_key"]) == 64
    bytes.fromhex(made["signature_key"])
    assert made["status"] == "active"
    assert made["verify_ssl"] is True
    assert made["events"] == [{**e, "extra_filter": None} for e in EMAIL_EVENTS]
    assert made["date_created"] == made["date_updated"]
    shown = call(fake, "GET", f"/webhook/{made['id']}/").body
    assert shown == {k: v for k, v in made.items() if k != "signature_key"}
    listed = call(fake, "GET", "/webhook/").body
    assert listed == {"data": [shown], "has_more": False}


def test_update_and_delete(fake: FakeClose) -> None:
    made = subscribe(fake, "https://example.com/hook")
    path = f"/webhook/{made['id']}/"
    fake.advance(60)
    events = [{"object_type": "activity.sms", "action": "created"}]
    changed = call(fake, "PUT", path, {"status": "paused", "events": events, "verify_ssl": False})
    assert changed.status == 200
    assert "signature_key" not in changed.body
    assert changed.body["status"] == "paused"
    assert changed.body["verify_ssl"] is False
    assert changed.body["events"] == [{**events[0], "extra_filter": None}]
    assert changed.body["date_updated"] > changed.body["date_created"]
    assert call(fake, "PUT", path, {"url": "https://example.com/other"}).body["url"].endswith("other")
    assert call(fake, "DELETE", path).body == {}
    assert call(fake, "GET", path).status == 404
    assert call(fake, "DELETE", path).status == 404
    assert call(fake, "PUT", path, {"status": "active"}).status == 404
    assert call(fake, "GET", "/webhook/").body == {"data": [], "has_more": False}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"events": EMAIL_EVENTS}, "url"),
        ({"url": "ftp://example.com", "events": EMAIL_EVENTS}, "url"),
        ({"url": "https://example.com"}, "events"),
        ({"url": "https://example.com", "events": []}, "events"),
        ({"url": "https://example.com", "events": [{"object_type": "lead"}]}, "events"),
        ({"url": "https://example.com", "events": [{"action": "created"}]}, "events"),
        ({"url": "https://example.com", "events": ["lead.created"]}, "events"),
        ({"url": "https://example.com", "events": [{**EMAIL_EVENTS[0], "extra": 1}]}, "events"),
        ({"url": "https://example.com", "events": [{**EMAIL_EVENTS[0], "extra_filter": {"x": 1}}]}, "events"),
        ({"url": "https://example.com", "events": EMAIL_EVENTS, "verify_ssl": "no"}, "verify_ssl"),
        ({"url": "https://example.com", "events": EMAIL_EVENTS, "status": "paused"}, "status"),
    ],
)
def test_a_bad_subscription_is_refused(fake: FakeClose, body: dict[str, Any], field: str) -> None:
    refused = call(fake, "POST", "/webhook/", body)
    assert refused.status == 400
    assert field in refused.body["field-errors"]
    assert call(fake, "GET", "/webhook/").body["data"] == []


def test_a_bad_update_is_refused(fake: FakeClose) -> None:
    path = f"/webhook/{subscribe(fake, 'https://example.com/h')['id']}/"
    assert call(fake, "PUT", path, {"status": "sleeping"}).status == 400
    assert call(fake, "PUT", path, {"events": []}).status == 400
    assert call(fake, "PUT", path, [1]).status == 400
    assert call(fake, "POST", "/webhook/", "a string").status == 400


def test_forty_subscriptions_at_most_and_a_key_is_needed(fake: FakeClose) -> None:
    for n in range(40):
        subscribe(fake, f"https://example.com/{n}")
    assert call(fake, "POST", "/webhook/", {"url": "https://x.com", "events": EMAIL_EVENTS}).status == 400
    assert call(fake, "GET", "/webhook/", key="api_wrong").status == 401


def test_the_same_seed_gives_the_same_subscriptions_and_keys() -> None:
    one, two = FakeClose(seed=3), FakeClose(seed=3)
    assert subscribe(one, "https://a.test/") == subscribe(two, "https://a.test/")
    one.reset()
    again = subscribe(one, "https://a.test/")
    assert again == subscribe(FakeClose(seed=3), "https://a.test/")
    assert subscribe(FakeClose(seed=4), "https://a.test/")["signature_key"] != again["signature_key"]


# -- deliveries -------------------------------------------------------------------------------


async def email_changes(fake: FakeClose) -> list[str]:
    """Create, edit and delete an email through the SDK; the event ids, in order."""
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
        await close.emails.update(draft, subject="Hello")
        await close.emails.delete(draft)
    return [e["id"] for e in reversed(list(fake.events)) if e["object_type"] == "activity.email"]


async def test_matching_events_are_delivered_signed_on_flush(fake: FakeClose) -> None:
    async with subscriber() as hook:
        made = subscribe(fake, hook.url)
        ids = await email_changes(fake)
        assert hook.received == []  # nothing leaves before the flush
        assert fake.webhooks.pending == 3
        with anyio.fail_after(BOUND):
            attempts = await fake.webhooks.flush()
    assert [(a.number, a.status, a.retry_in, a.delivered) for a in attempts] == [(1, 200, None, True)] * 3
    got = hook.verified(made["signature_key"])
    assert [g["event"]["id"] for g in got] == ids
    assert [g["event"]["action"] for g in got] == ["created", "updated", "deleted"]
    assert {g["subscription_id"] for g in got} == {made["id"]}
    assert [g["event"] for g in got] == [fake.events.get(i) for i in ids]
    assert fake.webhooks.pending == 0
    assert all(h["Content-Type"] == "application/json" for _, h in hook.received)


async def test_retries_back_off_and_deliver_once(fake: FakeClose) -> None:
    sleeps = Sleeps()
    fake.webhooks.sleep = sleeps
    fake.webhooks.backoff = Backoff(attempts=5, first=0.25, factor=3)
    async with subscriber([500, 500]) as hook:
        made = subscribe(fake, hook.url, [EMAIL_EVENTS[0]])
        await email_changes(fake)
        with anyio.fail_after(BOUND):
            attempts = await fake.webhooks.flush()
    assert [(a.number, a.status, a.retry_in) for a in attempts] == [
        (1, 500, 0.25),
        (2, 500, 0.75),
        (3, 200, None),
    ]
    assert sleeps.waits == [0.25, 0.75]
    assert [a.delivered for a in attempts].count(True) == 1
    assert len({body for body, _ in hook.received}) == 1  # the same delivery, tried three times
    assert len(hook.verified(made["signature_key"])) == 3  # each attempt signed (afresh)


async def test_a_delivery_is_given_up_after_the_last_attempt(fake: FakeClose) -> None:
    sleeps = Sleeps()
    fake.webhooks.sleep = sleeps
    fake.webhooks.backoff = Backoff(attempts=3, first=1, factor=2, cap=1.5)
    async with subscriber([503] * 10) as hook:
        subscribe(fake, hook.url, [EMAIL_EVENTS[0]])
        await email_changes(fake)
        with anyio.fail_after(BOUND):
            attempts = await fake.webhooks.flush()
    assert [(a.status, a.retry_in) for a in attempts] == [(503, 1), (503, 1.5), (503, None)]
    assert sleeps.waits == [1, 1.5]
    assert len(hook.received) == 3
    assert fake.webhooks.pending == 0


async def test_no_answer_is_a_failure_too(fake: FakeClose) -> None:
    fake.webhooks.sleep = Sleeps()
    fake.webhooks.backoff = Backoff(attempts=2)
    async with subscriber() as hook:
        url = hook.url
    subscribe(fake, url, [EMAIL_EVENTS[0]])  # nobody listens there any more
    await email_changes(fake)
    with anyio.fail_after(BOUND):
        attempts = await fake.webhooks.flush()
    assert [(a.status, a.delivered, a.retry_in) for a in attempts] == [
        (None, False, 1.0),
        (None, False, None),
    ]
    assert all(a.error and a.error.startswith("Client") for a in attempts)


async def test_only_active_subscriptions_that_ask_get_events(fake: FakeClose) -> None:
    async with subscriber() as wanted, subscriber() as sms_only, subscriber() as paused, subscriber() as gone:
        subscribe(fake, wanted.url, [EMAIL_EVENTS[2]])
        subscribe(fake, sms_only.url, [{"object_type": "activity.sms", "action": "created"}])
        pause = subscribe(fake, paused.url)
        call(fake, "PUT", f"/webhook/{pause['id']}/", {"status": "paused"})
        deleted = subscribe(fake, gone.url)
        await email_changes(fake)
        call(fake, "DELETE", f"/webhook/{deleted['id']}/")  # after its deliveries were queued
        with anyio.fail_after(BOUND):
            await fake.webhooks.flush()
    assert [orjson_event(b)["action"] for b, _ in wanted.received] == ["deleted"]
    assert sms_only.received == paused.received == gone.received == []


def orjson_event(body: bytes) -> dict[str, Any]:
    event: dict[str, Any] = orjson.loads(body)["event"]
    return event


async def test_a_consolidated_event_not_yet_sent_is_sent_once_in_its_latest_form(fake: FakeClose) -> None:
    lead = fake.add_lead("Acme")
    async with subscriber() as hook, CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        made = subscribe(fake, hook.url, [EMAIL_EVENTS[1]])
        draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="1")
        await close.emails.update(draft, subject="2")
        await close.emails.update(draft, subject="3")  # within the window: the same event
        with anyio.fail_after(BOUND):
            await fake.webhooks.flush()
        await close.emails.update(draft, subject="4")  # the event is sent: it goes again
        with anyio.fail_after(BOUND):
            await fake.webhooks.flush()
    got = [g["event"] for g in hook.verified(made["signature_key"])]
    assert [e["data"]["subject"] for e in got] == ["3", "4"]
    assert got[0]["id"] == got[1]["id"]
    assert got[1] == fake.events.get(got[1]["id"])


async def test_reset_forgets_subscriptions_and_deliveries(fake: FakeClose) -> None:
    subscribe(fake, "http://127.0.0.1:9/never")
    await email_changes(fake)
    assert fake.webhooks.pending == 3
    fake.reset()
    assert fake.webhooks.pending == 0
    assert call(fake, "GET", "/webhook/").body["data"] == []
    assert await fake.webhooks.flush() == []
