"""End to end over real HTTP: the served fake delivers, in the background, exactly the events
the SDK's changes made to a receiver subscribed with ``POST /webhook/``, and the receiver
verifies each one."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import anyio
from aiohttp import web

from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.fake.webhooks import Backoff
from closeasync.models import to_dict
from closeasync.webhooks import WebhookDelivery, webhook_handler
from tests.test_fake_webhooks import call

BOUND = 10.0
EVENTS = [{"object_type": "activity.email", "action": a} for a in ("created", "updated", "deleted")]


@asynccontextmanager
async def site(app: web.Application) -> AsyncIterator[str]:
    """Serve ``app`` on 127.0.0.1; yield its root URL."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


class Receiver:
    """Collects verified deliveries; ``done`` is set once ``expected`` have arrived."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.got: list[WebhookDelivery] = []
        self.done = anyio.Event()
        self.signature_key = ""  # known once subscribed; the handler reads it per request

    async def deliver(self, delivery: WebhookDelivery) -> None:
        self.got.append(delivery)
        if len(self.got) >= self.expected:
            self.done.set()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        return await webhook_handler(self.signature_key, self.deliver)(request)


async def test_the_served_fake_delivers_the_sdks_changes_to_a_receiver() -> None:
    fake = FakeClose(seed=21)
    lead = fake.add_lead("Acme")
    receiver = Receiver(expected=3)
    app = web.Application()
    app.router.add_post("/close", receiver.handle)
    async with serve(fake) as server, site(app) as root:
        token = base64.b64encode(f"{fake.api_key}:".encode()).decode()  # the key as Basic username
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{server.base_url}/webhook/",
                json={"url": f"{root}/close", "events": EVENTS},
                headers={"authorization": f"Basic {token}"},
            ) as answer,
        ):
            assert answer.status == 201
            subscription: dict[str, Any] = await answer.json()
        receiver.signature_key = subscription["signature_key"]

        async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
            draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
            await close.emails.update(draft, subject="Hello")
            await close.emails.delete(draft)

        with anyio.fail_after(BOUND):
            await receiver.done.wait()
    # The server has stopped (and its deliveries with it): what arrived is all that will.

    logged = [e for e in reversed(list(fake.events)) if e["object_id"] == draft.id]
    assert [e["action"] for e in logged] == ["created", "updated", "deleted"]
    assert [to_dict(d.event) for d in receiver.got] == logged  # exactly those, in order, as logged
    assert {d.subscription_id for d in receiver.got} == {subscription["id"]}
    assert [(a.number, a.status) for a in fake.webhooks.attempts] == [(1, 200)] * 3
    assert fake.webhooks.pending == 0


class Subscriber:
    """Answers from a script of statuses (then 200); ``arrived`` is set at ``expected`` requests."""

    def __init__(self, statuses: list[int], expected: int) -> None:
        self.statuses = statuses
        self.expected = expected
        self.bodies: list[bytes] = []
        self.arrived = anyio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        if len(self.bodies) >= self.expected:
            self.arrived.set()
        return web.Response(status=self.statuses.pop(0) if self.statuses else 200)


async def test_served_a_failing_subscriber_is_retried_and_holds_up_no_other() -> None:
    """The retry waits on a gate the test opens: meanwhile the healthy subscriber gets all."""
    fake = FakeClose(seed=22)
    lead = fake.add_lead("Acme")
    gate = anyio.Event()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await gate.wait()

    fake.webhooks.sleep = sleep
    fake.webhooks.backoff = Backoff(attempts=4, first=2, factor=5)
    failing, healthy = Subscriber([500, 502], expected=3), Subscriber([], expected=3)
    app = web.Application()
    app.router.add_post("/failing", failing.handle)
    app.router.add_post("/healthy", healthy.handle)
    async with serve(fake) as server, site(app) as root:
        for name, events in (("failing", EVENTS[:1]), ("healthy", EVENTS)):
            created = call(fake, "POST", "/webhook/", {"url": f"{root}/{name}", "events": events})
            assert created.status == 201
        async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
            draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
            await close.emails.update(draft, subject="Hello")
            await close.emails.delete(draft)
        with anyio.fail_after(BOUND):
            await healthy.arrived.wait()  # all three, while the failing one waits to retry
            assert len(failing.bodies) == 1
            gate.set()
            await failing.arrived.wait()
    assert waits == [2, 10]
    tried = [(a.url.rsplit("/", 1)[1], a.number, a.status) for a in fake.webhooks.attempts]
    assert [t for t in tried if t[0] == "failing"] == [
        ("failing", 1, 500),
        ("failing", 2, 502),
        ("failing", 3, 200),
    ]
    assert [t for t in tried if t[0] == "healthy"] == [("healthy", 1, 200)] * 3
    assert len(set(failing.bodies)) == 1
