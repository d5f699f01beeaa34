"""The request pipeline: pacing, the concurrency cap, retries, events.

One call of :meth:`Pipeline.send` may make several attempts. Each takes a
:class:`~closeasync.pipeline.pacing.Turn` (the group's budget, so tasks told to wait all
wait for the same moment, and while nothing is known of it the slow start, which lets the
group's first request go alone; then a slot of the in-flight cap, held only while on the wire),
is sent, and what came back is decided on by :mod:`~closeasync.pipeline.outcomes` (which
asks the :class:`~closeasync.retry.RetryPolicy` whether repeating is harmless) and acted
on. A write that may have been processed is never repeated: it ends in
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
from .outcomes import outcome_after_status, outcome_after_transport_error, outcome_when_closed
from .pacing import RateLimitState, Turn, nap
from .ratelimit import shown_seconds
from .wire import Request, Response, decode_error

__all__ = ["EventHook", "Pipeline", "RequestEvent"]

log = logging.getLogger("closeasync")


@attrs.frozen
class RequestEvent:
    """Something that happened to a request, for metrics: pass ``on_event=`` to the client.

    ``kind`` is ``"request"`` (an attempt starts), ``"response"`` (one arrived),
    ``"retry"`` (a failed attempt will be repeated after ``delay``), ``"wait"``
    (paced by the rate limit for ``delay``) or ``"give_up"`` (the failure is raised).
    A failure with no answer gives ``error`` (the exception's ``repr``, for logs) and
    ``message`` (what it says, for people).
    """

    kind: Literal["request", "response", "retry", "wait", "give_up"]
    method: str
    url: str
    group: str
    attempt: int
    status: int | None = None
    delay: float = 0.0
    error: str | None = None
    message: str | None = None


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

    def _instant(self) -> bool:
        """Whether waits are taken as done at once (a replay transport says so)."""
        return bool(getattr(self.transport, "instant_waits", False))

    async def _wait(self, turn: Turn, request: Request, policy: RetryPolicy, attempt: int) -> None:
        """Wait for the group's budget to allow this attempt (the pacer's slow path), or for
        the first answer of a group in its slow start (reported as a wait too)."""
        try:
            waited = await turn.wait(
                instant=self._instant(), max_wait=policy.max_rate_limit_wait, stop=self._is_closed
            )
        except errors.RateLimitError as exc:  # the pacer refused a wait this long
            exc.method, exc.url = request.method, request.url
            self._emit(request, "give_up", attempt, status=429, error=repr(exc), message=str(exc))
            raise
        if self.closed:  # closed while waiting: send nothing more
            raise self._closed_error(request)
        if waited:
            self._emit(request, "wait", attempt, delay=waited)

    async def _queued(self, turn: Turn, request: Request, policy: RetryPolicy, attempt: int) -> Response:
        """Send once a concurrency slot frees (none was free, or others queue for one)."""
        await turn.queue()  # gives the unit of budget back while queued
        if not turn.take():
            await self._wait(turn, request, policy, attempt)
        if self.closed:  # closed while waiting for a slot
            raise self._closed_error(request)
        return await self.transport.send(request)

    async def _pause(self, delay: float) -> None:
        if delay > 0 and not self._instant():
            await nap(self._sleep, delay, self._is_closed)  # cut short when the client closes

    def _closed_error(self, request: Request) -> errors.ClientClosedError:
        return errors.ClientClosedError(f"the client was closed during {request.method} {request.url}")

    def _retrying(
        self, request: Request, method: str, attempt: int, delay: float, why: int | Exception
    ) -> None:
        """Tell the hooks and the log that a failed attempt (a status, or no answer) is repeated."""
        if isinstance(why, Exception):
            self._emit(request, "retry", attempt, delay=delay, error=repr(why), message=str(why))
        else:
            self._emit(request, "retry", attempt, status=why, delay=delay)
        log.info("%s %s: %s; retry %d in %.2f s", method, request.url, why, attempt, delay)

    async def send(self, request: Request, *, policy: RetryPolicy | None = None) -> Response:
        """Send with pacing and retries; return the final response (maybe an error status).

        Each attempt takes a turn (the budget, then a slot), is sent, and what came back
        is decided on (:mod:`~closeasync.pipeline.outcomes`) and acted on.

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
        reached_before = False  # an earlier attempt may have reached Close
        pause = 0.0  # the backoff the last attempt's failure asked for
        for attempt in range(1, policy.max_attempts + 1):
            if pause:
                await self._pause(pause)
                pause = 0.0
            if self.closed:
                raise self._closed_error(request)
            # Take a turn and send, inline: a coroutine per attempt would cost its creation and
            # a frame on every suspension and resumption (measured on the GET path). Leaving
            # the turn gives back what it holds, however the attempt ends.
            with limits.turn(group) as turn:
                if not turn.take():  # the budget allows it now: no coroutine, no wait
                    await self._wait(turn, request, policy, attempt)
                if self._hooks:
                    self._emit(request, "request", attempt)
                try:
                    if method != "GET" and turn.capped:
                        # A pending cancellation stops a write here, before anything is sent (as
                        # ``async with limiter`` did); this does not yield unless cancelled. A
                        # read skips it (~3 us): its cancellation lands at the transport's first wait.
                        await anyio.lowlevel.checkpoint_if_cancelled()
                    if turn.slot():  # free, and nobody queued: no trip through the event loop
                        response = await self.transport.send(request)
                    else:
                        response = await self._queued(turn, request, policy, attempt)
                except errors.TransportError as exc:  # no answer: decide, and act
                    reached = exc.may_have_reached_server
                    if self.closed:  # no retry, no event: the caller closed the client
                        if outcome_when_closed(policy, method, sends=sends, reached=reached).act == "unknown":
                            raise _unknown_outcome(request, "the client was closed mid-request") from exc
                        raise self._closed_error(request) from exc
                    outcome = outcome_after_transport_error(
                        policy, method, sends=sends, reached=reached, attempt=attempt
                    )
                    if outcome.act == "retry":
                        reached_before |= reached
                        pause = outcome.delay
                        self._retrying(request, method, attempt, pause, exc)
                        continue
                    self._emit(request, "give_up", attempt, error=repr(exc), message=str(exc))
                    if outcome.act == "unknown":
                        raise _unknown_outcome(request, str(exc)) from exc
                    raise
                turn.answered(response.headers, response.status)  # no longer in flight; RateLimit taken in
            # An answer: decide, and act.
            status = response.status
            if self._hooks:
                self._emit(request, "response", attempt, status=status)
            outcome = outcome_after_status(
                policy, method, response, sends=sends, attempt=attempt, reached_before=reached_before
            )
            act = outcome.act
            if act == "answer":
                return response
            if act == "deleted":  # an earlier attempt that got no answer did delete it
                return Response(200, response.headers, b"{}", request)
            if status == 429:
                limits.rejected(group, outcome.delay)  # the whole group waits, not this request only
                if act == "retry":
                    self._emit(request, "retry", attempt, status=429, delay=outcome.delay)
                    log.info("%s %s: rate limited; waiting %.2f s", method, request.url, outcome.delay)
                    continue  # the group's pacer makes the wait
            elif act == "retry":
                reached_before = True
                pause = outcome.delay
                self._retrying(request, method, attempt, pause, status)
                continue
            self._emit(request, "give_up", attempt, status=status)
            if act == "unknown":
                raise _unknown_outcome(request, f"Close answered {status}") from decode_error(response)
            if status == 429:
                raise _rate_limited(response, outcome.delay, outcome.reason, policy)
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
            f"{error.message} (Close asked to wait {shown_seconds(wait)} s, more than max_rate_limit_wait="
            f"{policy.max_rate_limit_wait:g} s)"
        )
        error.args = (error.message,)
    return error
