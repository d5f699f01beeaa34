"""Deliver the fake's events to webhook subscribers: signed, over HTTP, retried with backoff.

How an event travels:

1. the state calls :meth:`FakeWebhooks.on_event` with each event as it is appended to the
   event log or consolidated (synchronously, inside the request that made it);
2. ``on_event`` queues one delivery per subscription that wants it: the body
   ``{"event": ..., "subscription_id": ...}`` is serialized at once, so it is the event as
   it was then. A consolidated event whose delivery has not been tried yet has its body
   replaced (sent once, in its latest form); one already sent is queued again;
3. the deliveries are POSTed with aiohttp, each attempt signed afresh
   (:func:`closeasync.webhooks.sign`, with the wall-clock time: receivers compare the
   timestamp with theirs, whatever the fake's clock says). A 2xx is delivered; anything
   else (another status, a refused connection, a timeout) is retried after
   :class:`Backoff`'s delays, up to its number of attempts, then given up. A subscription
   deleted or paused meanwhile gets nothing more.

Who runs step 3: in-process, nobody until a test calls ``await fake.webhooks.flush()``,
which performs every queued delivery, retries included, and returns the attempts (the
waits go through :attr:`FakeWebhooks.sleep`: replace it to run retries without waiting).
Served (:mod:`closeasync.fake.app`), a background task started and stopped with the app
(:meth:`FakeWebhooks.serving`) delivers as events come, in order, each failed delivery
retrying in a task of its own so it holds up no other. Delivering needs asyncio (aiohttp).
Every attempt is logged in :attr:`FakeWebhooks.attempts`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
import attrs
import orjson

from ..webhooks import sign
from .subscriptions import Subscriptions

if TYPE_CHECKING:
    from aiohttp import web

    from .state import FakeState

__all__ = ["Backoff", "DeliveryAttempt", "FakeWebhooks"]

USER_AGENT = "closeasync-fake-webhooks"


@attrs.frozen
class Backoff:
    """How often, and how long apart, a delivery is tried: ``first * factor**n``, capped.

    Close retries for up to 72 hours, waiting at most 20 minutes between tries; the fake
    gives up after ``attempts`` tries.
    """

    attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    first: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    factor: float = attrs.field(default=2.0, validator=attrs.validators.ge(1))
    cap: float = attrs.field(default=1200.0, validator=attrs.validators.ge(0))

    def delay(self, failed: int) -> float:
        """The wait after the ``failed``-th failed attempt (1-based).

        >>> [Backoff(first=0.5).delay(n) for n in (1, 2, 3)]
        [0.5, 1.0, 2.0]
        """
        return min(self.cap, self.first * self.factor ** (failed - 1))


@attrs.frozen
class DeliveryAttempt:
    """One POST of an event to a subscriber, and how it went."""

    subscription_id: str
    event_id: str
    url: str
    number: int  #: 1 for the first try
    status: int | None  #: the subscriber's answer; None when there was none
    error: str | None  #: why there was no answer (the exception's type and message)
    retry_in: float | None  #: the wait before the next try; None: delivered, or given up

    @property
    def delivered(self) -> bool:
        """Whether the subscriber answered 2xx."""
        return self.status is not None and 200 <= self.status < 300


@attrs.define
class _Pending:
    subscription_id: str
    event_id: str
    body: bytes


class FakeWebhooks:
    """The fake's webhooks: subscriptions, queued deliveries, and the attempts made.

    Attributes:
        subscriptions: the subscriptions ``/webhook/`` manages.
        backoff: attempts and delays of a failing delivery.
        sleep: awaited with each delay before a retry (default :func:`asyncio.sleep`).
        clock: the Unix time deliveries are signed with (default :func:`time.time`).
        timeout: seconds an attempt may take before it counts as failed.
        attempts: every attempt made, in order.
    """

    def __init__(self, state: FakeState) -> None:
        self._state = state
        self.subscriptions = Subscriptions(state)
        self.backoff = Backoff()
        self.sleep: Callable[[float], Awaitable[object]] = asyncio.sleep
        self.clock: Callable[[], float] = time.time
        self.timeout = 10.0
        self.attempts: list[DeliveryAttempt] = []
        self._queue: deque[_Pending] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._listen()

    def _listen(self) -> None:
        if self.on_event not in self._state.event_listeners:
            self._state.event_listeners.append(self.on_event)

    def reset(self) -> None:
        """Forget subscriptions, queued deliveries and attempts (after the state's reset)."""
        self.subscriptions.reset()
        self._queue.clear()
        self.attempts.clear()
        self._listen()

    @property
    def pending(self) -> int:
        """How many deliveries wait for their first try."""
        return len(self._queue)

    def on_event(self, event: Mapping[str, Any]) -> None:
        """Queue ``event`` for every subscription that wants it (the state calls this)."""
        ident = str(event.get("id"))
        for subscription in self.subscriptions.matching(event):
            # default=str: a value a test stored that JSON cannot hold must not fail the request.
            body = orjson.dumps({"event": event, "subscription_id": subscription.id}, default=str)
            waiting = next(
                (p for p in self._queue if p.subscription_id == subscription.id and p.event_id == ident), None
            )
            if waiting is not None:
                waiting.body = body
            else:
                self._queue.append(_Pending(subscription.id, ident, body))
        if self._queue:
            self._wake()

    def _wake(self) -> None:
        loop, wakeup = self._loop, self._wakeup
        if loop is None or wakeup is None:
            return
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            wakeup.set()
        else:  # an event made from another thread than the server's
            with contextlib.suppress(RuntimeError):  # the loop is closing: nothing to wake
                loop.call_soon_threadsafe(wakeup.set)

    async def flush(self) -> list[DeliveryAttempt]:
        """Perform every queued delivery now, retries included; return the attempts made."""
        made = len(self.attempts)
        async with aiohttp.ClientSession() as session:
            while self._queue:
                await self._deliver(session, self._queue.popleft())
        return self.attempts[made:]

    async def run(self) -> None:
        """Deliver queued events as they come, until cancelled."""
        self._loop, self._wakeup = asyncio.get_running_loop(), asyncio.Event()
        if self._queue:
            self._wakeup.set()
        try:
            async with aiohttp.ClientSession() as session, asyncio.TaskGroup() as retries:
                while True:
                    await self._wakeup.wait()
                    self._wakeup.clear()
                    while self._queue:
                        pending = self._queue.popleft()
                        first = await self._attempt(session, pending, 1)
                        if first is not None and first.retry_in is not None:
                            retries.create_task(self._deliver(session, pending, 2, first.retry_in))
        finally:
            self._loop = self._wakeup = None

    async def serving(self, app: web.Application) -> AsyncIterator[None]:
        """Run :meth:`run` while ``app`` serves (an aiohttp ``cleanup_ctx`` entry)."""
        task = asyncio.create_task(self.run(), name="closeasync-fake-webhooks")
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _deliver(
        self, session: aiohttp.ClientSession, pending: _Pending, number: int = 1, wait: float = 0.0
    ) -> None:
        """Try ``pending`` from attempt ``number`` on (after ``wait``) until delivered or given up."""
        while True:
            if number > 1:
                await self.sleep(wait)
            attempt = await self._attempt(session, pending, number)
            if attempt is None or attempt.retry_in is None:
                return
            number, wait = number + 1, attempt.retry_in

    async def _attempt(
        self, session: aiohttp.ClientSession, pending: _Pending, number: int
    ) -> DeliveryAttempt | None:
        """POST once; None when the subscription is gone or paused (nothing sent)."""
        subscription = self.subscriptions.by_id.get(pending.subscription_id)
        if subscription is None or subscription.status != "active":
            return None
        headers = {
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **sign(pending.body, subscription.signature_key, self.clock()),
        }
        status: int | None = None
        problem: str | None = None
        try:
            async with session.post(
                subscription.url,
                data=pending.body,
                headers=headers,
                ssl=subscription.verify_ssl,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        done = status is not None and 200 <= status < 300
        retry_in = None if done or number >= self.backoff.attempts else self.backoff.delay(number)
        attempt = DeliveryAttempt(
            pending.subscription_id, pending.event_id, subscription.url, number, status, problem, retry_in
        )
        self.attempts.append(attempt)
        return attempt
