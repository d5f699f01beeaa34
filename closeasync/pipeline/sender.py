"""The request pipeline: pacing, the concurrency cap, retries, events.

One call of :meth:`Pipeline.send` may make several attempts. Each waits its turn
with the group's pacer (so tasks told to wait all wait for the same moment), holds
a slot of the in-flight cap only while on the wire, and after a failure asks the
:class:`~closeasync.retry.RetryPolicy` whether repeating is harmless. A write that
may have been processed is never repeated: it ends in
:class:`~closeasync.errors.WriteOutcomeUnknownError`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import anyio
import anyio.lowlevel
import attrs

from .. import errors
from ..retry import RetryPolicy
from ..transports.base import Transport
from .pacing import RateLimitState, Slots, nap
from .ratelimit import parse_retry_after, retry_delay
from .wire import Request, Response, decode_error

__all__ = ["EventHook", "Pipeline", "RequestEvent"]

log = logging.getLogger("closeasync")


@attrs.frozen
class RequestEvent:
    """Something that happened to a request, for metrics: pass ``on_event=`` to the client.

    ``kind`` is ``"request"`` (an attempt starts), ``"response"`` (one arrived),
    ``"retry"`` (a failed attempt will be repeated after ``delay``), ``"wait"``
    (paced by the rate limit for ``delay``) or ``"give_up"`` (the failure is raised).
    """

    kind: Literal["request", "response", "retry", "wait", "give_up"]
    method: str
    url: str
    group: str
    attempt: int
    status: int | None = None
    delay: float = 0.0
    error: str | None = None


EventHook = Callable[[RequestEvent], None]
Sleep = Callable[[float], Awaitable[None]]


class Pipeline:
    """Sends one request through pacing and retries (shared by a client and its views)."""

    def __init__(
        self,
        transport: Transport,
        *,
        policy: RetryPolicy,
        limits: RateLimitState,
        hooks: Sequence[EventHook] = (),
        sleep: Sleep = anyio.sleep,
    ) -> None:
        self.transport = transport
        self.policy = policy
        self.limits = limits
        self._hooks = tuple(hooks)
        self._sleep = sleep
        #: Set when the client closes: nothing more is sent, waits are cut short.
        self.closed = False

    def _is_closed(self) -> bool:
        return self.closed

    def _emit(self, request: Request, kind: str, attempt: int, **extra: object) -> None:
        if not self._hooks:
            return
        group = request.route.group if request.route else request.method
        event = RequestEvent(kind, request.method, request.url, group, attempt, **extra)  # type: ignore[arg-type]
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:  # a metrics bug must not break requests
                log.exception("closeasync on_event hook failed")

    async def _queued(
        self, request: Request, slots: Slots, group: str, policy: RetryPolicy, attempt: int
    ) -> Response:
        """Send once a concurrency slot frees (none was free, or others queue for one).

        Queued behind other requests, the rate-limit turn taken before may be stale when a
        slot frees (the first answers of a cold start tell the budget), so it is given back
        and taken afresh, holding the slot (the queue's order is kept).
        """
        self.limits.give_back(group)
        try:
            await slots.take()
        except BaseException:  # cancelled while queued: the caller's ``finish`` balances this
            self.limits.hold(group)
            raise
        try:
            await self._turn_again(request, group, policy, attempt)
            if self.closed:  # closed while waiting for a slot
                raise self._closed_error(request)
            return await self.transport.send(request)
        finally:
            slots.give()

    def _instant(self) -> bool:
        """Whether waits are taken as done at once (a replay transport says so)."""
        return bool(getattr(self.transport, "instant_waits", False))

    async def _wait_turn(self, request: Request, group: str, policy: RetryPolicy, attempt: int) -> float:
        """Wait for the rate limit of ``group`` to allow one more request; the seconds waited."""
        try:
            waited = await self.limits.wait_turn(
                group, instant=self._instant(), max_wait=policy.max_rate_limit_wait, stop=self._is_closed
            )
        except errors.RateLimitError as exc:  # the pacer refused a wait this long
            exc.method, exc.url = request.method, request.url
            self._emit(request, "give_up", attempt, status=429, error=repr(exc))
            raise
        if self.closed:  # closed while waiting: send nothing more
            raise self._closed_error(request)
        return waited

    async def _turn_again(self, request: Request, group: str, policy: RetryPolicy, attempt: int) -> None:
        """Take a fresh turn after queueing for a slot (the one taken before was given back)."""
        try:
            if self.limits.take_turn(group):
                return
            waited = await self._wait_turn(request, group, policy, attempt)
        except BaseException:
            self.limits.hold(group)  # the caller's ``finish`` balances a turn it no longer has
            raise
        if waited and self._hooks:
            self._emit(request, "wait", attempt, delay=waited)

    async def _pause(self, delay: float) -> None:
        if delay > 0 and not self._instant():
            await nap(self._sleep, delay, self._is_closed)  # cut short when the client closes

    def _closed_error(self, request: Request) -> errors.ClientClosedError:
        return errors.ClientClosedError(f"the client was closed during {request.method} {request.url}")

    async def send(self, request: Request, *, policy: RetryPolicy | None = None) -> Response:
        """Send with pacing and retries; return the final response (maybe an error status).

        Raises:
            WriteOutcomeUnknownError: a write failed after it may have reached Close.
            TransportError: no response, and repeating was not allowed or did not help.
            RateLimitError: Close asked to wait longer than the policy allows.
            ClientClosedError: the client was closed meanwhile.
        """
        policy = policy or self.policy
        route = request.route
        group = route.group if route else request.method
        # A long GET travels as a POST with x-http-method-override; it is still a read.
        method = route.method if route else request.method
        sends = request.sends
        limits = self.limits
        pacer = limits.pacers.get(group) or limits.pacer(group)  # the call only for a new group
        reached_before = False
        for attempt in range(1, policy.max_attempts + 1):
            if self.closed:
                raise self._closed_error(request)
            if limits.take(pacer):  # the budget allows it now: no coroutine, no wait
                waited = 0.0
            else:
                waited = await self._wait_turn(request, group, policy, attempt)
            if self._hooks:
                if waited:
                    self._emit(request, "wait", attempt, delay=waited)
                self._emit(request, "request", attempt)
            # The attempt itself, inline: a coroutine per attempt would cost its creation and
            # a frame on every suspension and resumption (measured on the GET path).
            try:
                try:
                    slots = limits.slots
                    if slots is None:
                        response = await self.transport.send(request)
                    else:
                        if method != "GET":
                            # A pending cancellation stops a write here, before anything is sent
                            # (as ``async with limiter`` did); this does not yield unless cancelled.
                            # A read skips it (~3 us): its cancellation lands at the transport's
                            # first wait.
                            await anyio.lowlevel.checkpoint_if_cancelled()
                        # The common case, a free slot and nobody queued, takes it without a trip
                        # through the event loop (waiting always yields once, ~20-40 us a call):
                        # Slots.take_nowait, inline.
                        if slots.free > 0:
                            slots.free -= 1
                            try:
                                response = await self.transport.send(request)
                            finally:
                                slots.give()
                        else:
                            response = await self._queued(request, slots, group, policy, attempt)
                except BaseException:
                    limits.finish(pacer)  # failed or cancelled: no longer in flight
                    raise
            except errors.TransportError as exc:
                reached = exc.may_have_reached_server
                if self.closed:
                    # Closing does not make a write that may have happened any less ambiguous.
                    if reached and not policy.repeatable(method, sends=sends):
                        raise _unknown_outcome(request, "the client was closed mid-request") from exc
                    raise self._closed_error(request) from exc
                decision = policy.decide_transport(method, sends=sends, reached=reached, attempt=attempt)
                if decision.retry:
                    reached_before |= reached
                    self._emit(request, "retry", attempt, delay=decision.delay, error=repr(exc))
                    log.info(
                        "%s %s: %s; retry %d in %.2f s", method, request.url, exc, attempt, decision.delay
                    )
                    await self._pause(decision.delay)
                    continue
                self._emit(request, "give_up", attempt, error=repr(exc))
                if reached and not policy.repeatable(method, sends=sends):
                    raise _unknown_outcome(request, str(exc)) from exc
                raise
            limits.answered(pacer, response.headers)  # no longer in flight; its RateLimit taken in
            if self._hooks:
                self._emit(request, "response", attempt, status=response.status)
            status = response.status
            if status == 429:
                asked = retry_delay(response)
                decision = policy.decide_rate_limited(attempt=attempt, asked=asked)
                self.limits.rejected(group, decision.delay)
                if decision.retry:
                    self._emit(request, "retry", attempt, status=429, delay=decision.delay)
                    log.info("%s %s: rate limited; waiting %.2f s", method, request.url, decision.delay)
                    continue
                self._emit(request, "give_up", attempt, status=429)
                raise _rate_limited(response, decision.delay, decision.reason, policy)
            if status >= 500 or status in policy.retry_statuses:
                # Only Retry-After matters here: RateLimit's reset is about the window, not the fault.
                retry_after = parse_retry_after(response.header("retry-after"))
                decision = policy.decide_status(
                    method, sends=sends, status=status, attempt=attempt, retry_after=retry_after
                )
                if decision.retry:
                    reached_before = True
                    self._emit(request, "retry", attempt, status=status, delay=decision.delay)
                    log.info(
                        "%s %s: %d; retry %d in %.2f s", method, request.url, status, attempt, decision.delay
                    )
                    await self._pause(decision.delay)
                    continue
                self._emit(request, "give_up", attempt, status=status)
                if status >= 500 and not policy.repeatable(method, sends=sends):
                    # Whatever the policy retries, a 5xx on a write leaves its outcome unknown.
                    raise _unknown_outcome(request, f"Close answered {status}") from decode_error(response)
                return response
            if reached_before and method == "DELETE" and status == 404:
                # An earlier attempt that got no answer did delete it.
                return Response(200, response.headers, b"{}", request)
            return response
        raise AssertionError("unreachable: the last attempt always returns or raises")  # pragma: no cover


def _unknown_outcome(request: Request, what: str) -> errors.WriteOutcomeUnknownError:
    return errors.WriteOutcomeUnknownError(
        f"{request.method} {request.url} may have been processed by Close ({what}); it was not repeated "
        "because that could duplicate it. Check (e.g. list recent activities) before trying again.",
        method=request.method,
        url=request.url,
    )


def _rate_limited(response: Response, wait: float, reason: str, policy: RetryPolicy) -> errors.APIError:
    error = decode_error(response)
    if reason == "wait-too-long":
        error.message = (
            f"{error.message} (Close asked to wait {wait:.1f} s, more than max_rate_limit_wait="
            f"{policy.max_rate_limit_wait:g} s)"
        )
        error.args = (error.message,)
    return error
