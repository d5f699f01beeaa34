"""The aiohttp receiver on a real server (127.0.0.1): a verified delivery is handed over
before the 200; anything refused is answered 400/401 and handed over to nobody."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiohttp
import anyio
import orjson
import pytest
from aiohttp import web

from closeasync.errors import ConfigurationError
from closeasync.models import to_dict
from closeasync.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WebhookDelivery,
    sign,
    webhook_handler,
)

KEY = "c0ffee" * 8
OTHER_KEY = "0badf00d" * 8
BOUND = 10.0
EVENT = {
    "id": "ev_1",
    "object_type": "activity.email",
    "action": "created",
    "object_id": "acti_1",
    "data": {"id": "acti_1", "subject": "Hi", "unknown_to_the_sdk": [1, 2]},
}
BODY = orjson.dumps({"event": EVENT, "subscription_id": "whsub_1"})


@asynccontextmanager
async def receiver(handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> AsyncIterator[str]:
    """Serve ``handler`` at ``/close`` (any method) on 127.0.0.1; yield the URL."""
    app = web.Application()
    app.router.add_route("*", "/close", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/close"
    finally:
        await runner.cleanup()


async def post(url: str, body: bytes, headers: dict[str, str], method: str = "POST") -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body, headers=headers) as response,
    ):
        return response.status, await response.text()


def signed(body: bytes = BODY, key: str = KEY, at: float | None = None) -> dict[str, str]:
    return {"content-type": "application/json", **sign(body, key, time.time() if at is None else at)}


async def test_a_verified_delivery_reaches_the_queue_before_the_200() -> None:
    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    async with receiver(webhook_handler(KEY, queue)) as url:
        with anyio.fail_after(BOUND):
            status, _ = await post(url, BODY, signed())
    assert status == 200
    assert queue.qsize() == 1  # already there when the 200 came back
    delivery = queue.get_nowait()
    assert delivery.subscription_id == "whsub_1"
    assert to_dict(delivery.event) == EVENT
    assert delivery.event.data == EVENT["data"]


async def test_a_callback_is_awaited_with_each_delivery() -> None:
    got: list[WebhookDelivery] = []

    async def deliver(delivery: WebhookDelivery) -> None:
        await asyncio.sleep(0)
        got.append(delivery)

    async with receiver(webhook_handler(KEY, deliver)) as url:
        with anyio.fail_after(BOUND):
            assert (await post(url, BODY, signed()))[0] == 200
            assert (await post(url, BODY, signed()))[0] == 200
    assert [d.event.id for d in got] == ["ev_1", "ev_1"]


@pytest.mark.parametrize(
    ("name", "body", "headers", "status"),
    [
        ("no signature", BODY, {TIMESTAMP_HEADER: "1767603600"}, 400),
        ("no headers", BODY, {}, 400),
        ("hash not hex", BODY, {**signed(), SIGNATURE_HEADER: "zz" * 32}, 400),
        ("timestamp not a time", BODY, {**signed(), TIMESTAMP_HEADER: "yesterday"}, 400),
        ("wrong key", BODY, signed(key=OTHER_KEY), 401),
        ("tampered body", BODY.replace(b"Hi", b"Yo"), signed(), 401),
        ("an hour old", BODY, signed(at=time.time() - 3600), 401),
        ("an hour ahead", BODY, signed(at=time.time() + 3600), 401),
        ("signed non-JSON", b"nope", signed(b"nope"), 400),
        ("signed without an event", b'{"x": 1}', signed(b'{"x": 1}'), 400),
    ],
)
async def test_a_refused_request_is_answered_and_delivers_nothing(
    name: str, body: bytes, headers: dict[str, str], status: int
) -> None:
    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    called: list[WebhookDelivery] = []

    async def deliver(delivery: WebhookDelivery) -> None:
        called.append(delivery)

    async with receiver(webhook_handler(KEY, queue)) as url, receiver(webhook_handler(KEY, deliver)) as url2:
        with anyio.fail_after(BOUND):
            answered, text = await post(url, body, headers)
            answered2, _ = await post(url2, body, headers)
    assert (answered, answered2) == (status, status), name
    assert queue.empty()
    assert called == []
    assert KEY not in text.lower()
    assert OTHER_KEY not in text.lower()


async def test_only_post_is_accepted() -> None:
    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    async with receiver(webhook_handler(KEY, queue)) as url:
        with anyio.fail_after(BOUND):
            status, _ = await post(url, BODY, signed(), method="PUT")
    assert status == 405
    assert queue.empty()


async def test_a_failing_callback_is_a_500_so_close_retries() -> None:
    async def deliver(delivery: WebhookDelivery) -> None:
        raise RuntimeError("the database is down")

    async with receiver(webhook_handler(KEY, deliver)) as url:
        with anyio.fail_after(BOUND):
            status, _ = await post(url, BODY, signed())
    assert status == 500


async def test_the_tolerance_and_clock_are_the_receivers() -> None:
    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    at = 1_767_603_600
    handler = webhook_handler(KEY, queue, tolerance=10, clock=lambda: at + 11)
    async with receiver(handler) as url:
        with anyio.fail_after(BOUND):
            assert (await post(url, BODY, signed(at=at)))[0] == 401
            assert (await post(url, BODY, signed(at=at + 5)))[0] == 200
    assert queue.qsize() == 1


def test_a_bad_key_fails_when_the_handler_is_made() -> None:
    queue: asyncio.Queue[WebhookDelivery] = asyncio.Queue()
    with pytest.raises(ConfigurationError) as caught:
        webhook_handler("not-a-hex-key-at-all", queue)
    assert "not-a-hex-key-at-all" not in str(caught.value)
    with pytest.raises(ValueError, match="tolerance"):
        webhook_handler(KEY, queue, tolerance=-5)
