"""Shared rate-limit state: every task of one client paces itself by the same numbers.

Close limits requests per endpoint group (method + route) and per key, and says
how close each response is to the limit (``RateLimit: limit, remaining, reset``).
One :class:`GroupPacer` per group keeps what the latest response said, minus the
requests started since, so concurrent tasks do not overrun the window:

- while the budget lasts, a request takes one unit and goes;
- when it is spent (or a 429 said to stop), every task of the group waits for the
  same moment, the window's end, instead of each one hitting 429 on its own;
- a new window refills the budget to the ``limit`` Close announced;
- when a refilled budget is spent before any response has said when its window
  ends, tasks look again every second (the answers in flight will say), and if a
  whole window's length passes with no news (answers without the header: a
  proxy's 502, a reset connection) the window is taken to have ended, so a group
  never stalls.

Groups Close has said nothing about are not paced at all. Time comes from a
monotonic clock and waits from an injected ``sleep``, so tests drive both.

Each attempt holds a :class:`Turn`: its unit of budget, its place among the requests
in flight and its slot of the concurrency cap (:class:`Slots`). The turn balances
those counters itself, however the attempt ends; nothing outside this module touches
them.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel

from .. import errors
from .ratelimit import Headers, RateLimit, read_rate_limit, shown_seconds

__all__ = ["GroupPacer", "RateLimitState", "Turn", "nap"]

log = logging.getLogger("closeasync")
Sleep = Callable[[float], Awaitable[None]]


_INF = math.inf  # read on every response: a global, not an attribute of math

#: While a wait can be cut short (``stop``), it looks at ``stop`` at least this often (s).
POLL = 0.1


async def nap(sleep: Sleep, seconds: float, stop: Callable[[], bool] | None = None) -> float:
    """Sleep ``seconds``; with ``stop``, in slices of :data:`POLL`, ending once it is true.

    Returns the seconds slept.
    """
    if stop is None:
        await sleep(seconds)
        return seconds
    slept = 0.0
    while slept < seconds and not stop():
        step = min(POLL, seconds - slept)
        await sleep(step)
        slept += step
    return slept


class GroupPacer:
    """The budget of one endpoint group, as far as this client knows it."""

    __slots__ = (
        "blocked_until",
        "group",
        "guessed_end",
        "inflight",
        "limit",
        "period",
        "remaining",
        "window_end",
    )

    def __init__(self, group: str) -> None:
        self.group = group
        self.limit: float | None = None
        self.remaining: float | None = None  # None: unknown, so unpaced
        self.window_end = -math.inf
        self.blocked_until = -math.inf
        self.period: float | None = None  # the longest reset seen: how long a window may last
        self.guessed_end = False  # window_end is a guess no response confirmed
        self.inflight = 0  # requests sent and not yet answered

    def reserve(self, now: float, pace: bool = True) -> float:
        """Take one unit of budget, or return how long to wait before trying again.

        With ``pace=False`` only an explicit stop (a 429) makes anyone wait.
        """
        if now < self.blocked_until:
            return self.blocked_until - now
        if not pace:
            return 0.0
        if now >= self.window_end:
            # A new window: Close's announced budget again (unpaced if it never said),
            # until a response tells us where this window ends.
            self.remaining = self.limit
            self.window_end = math.inf
            self.guessed_end = False
        if self.remaining is None:
            return 0.0
        if self.remaining >= 1:
            self.remaining -= 1
            return 0.0
        step = min(1.0, self.period or 1.0)
        if self.window_end == math.inf:
            # Spent, and no answer has said when this window ends: assume it lasts as long
            # as the longest we have seen, but look again soon for the real end.
            self.window_end = now + (self.period or 1.0)
            self.guessed_end = True
        if self.guessed_end:
            return min(step, self.window_end - now)
        self.blocked_until = max(self.blocked_until, self.window_end)
        return self.blocked_until - now

    def observe(self, info: RateLimit, now: float) -> None:
        """Take in what a response said about the group's limit."""
        self.update(info.limit, info.remaining, info.reset, now)

    def update(self, limit: float | None, remaining: float | None, reset: float | None, now: float) -> None:
        """:meth:`observe` with the numbers themselves (no :class:`RateLimit` made per response).

        Every response with a rate-limit header comes through here: comparisons stand in
        for ``min``/``max`` calls.
        """
        if limit is not None:
            self.limit = limit
        if reset is None or remaining is None:
            return
        end = now + reset
        period = self.period
        if period is None or reset > period:
            self.period = reset  # the longest seen
        # Close counted this request, not the ones still on their way to it.
        left = remaining - self.inflight
        if left < 0.0:
            left = 0.0
        local = self.remaining
        if self.window_end == _INF or self.guessed_end:
            # First news of this window: requests started since took units locally already.
            if local is None or left < local:
                self.remaining = left
            self.window_end = end
            self.guessed_end = False
        elif end > self.window_end + 0.5:
            # Close moved to a window we had not noticed: its count is the truth.
            self.remaining, self.window_end = left, end
        elif local is None or left < local:
            self.remaining = left

    def rejected(self, wait: float, now: float) -> None:
        """A 429: nobody in this group sends before ``wait`` seconds have passed."""
        self.remaining = 0
        self.window_end = now + wait
        self.guessed_end = False
        self.blocked_until = max(self.blocked_until, now + wait)


class Slots:
    """The cap on requests in flight, shared by every task of one client.

    A free slot is taken without a trip through the event loop. When none is free,
    requests queue, and a slot given back passes straight to the longest-waiting one
    (it never becomes free while anyone is queued), so a newcomer never overtakes the
    queue. anyio's ``CapacityLimiter`` does the same with a token per borrower in a
    set; a counter costs half as much on the path of every request (~2k instructions).
    """

    __slots__ = ("_queue", "free")

    def __init__(self, total: int) -> None:
        self.free = total
        self._queue: deque[anyio.Event] = deque()

    def take_nowait(self) -> bool:
        """Take a slot if one is free (then nobody is queued for it); whether it did."""
        if self.free > 0:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        """Take a slot, queueing for one if need be (a pending cancellation stops it first)."""
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self.take_nowait():
            return
        handed = anyio.Event()
        self._queue.append(handed)
        try:
            await handed.wait()
        except BaseException:
            if handed.is_set():
                self.give()  # handed a slot while being cancelled: pass it on
            else:
                self._queue.remove(handed)
            raise

    def give(self) -> None:
        """Give a slot back: to the longest-waiting request if any, else to the free ones."""
        if self._queue:
            self._queue.popleft().set()
        else:
            self.free += 1

    async def __aenter__(self) -> None:
        await self.take()

    async def __aexit__(self, *exc_info: object) -> None:
        self.give()


class RateLimitState:
    """Every group's pacer, and the cap on requests in flight, for one client."""

    def __init__(
        self,
        *,
        max_concurrency: int | None = None,
        pace: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = anyio.sleep,
    ) -> None:
        #: Every group's pacer so far, by group (:meth:`pacer` makes a missing one).
        self.pacers: dict[str, GroupPacer] = {}
        self.pace = pace
        self._clock = clock
        self._sleep = sleep
        self.max_concurrency = max_concurrency
        #: The cap on requests in flight, None when uncapped.
        self.slots = None if max_concurrency is None else Slots(max_concurrency)

    def pacer(self, group: str) -> GroupPacer:
        """The pacer of ``group`` (created on first use)."""
        found = self.pacers.get(group)
        if found is None:
            found = self.pacers[group] = GroupPacer(group)
        return found

    def turn(self, group: str) -> Turn:
        """A turn for one attempt of a request of ``group`` (use it as ``with``; see :class:`Turn`)."""
        return Turn(self, self.pacers.get(group) or self.pacer(group))  # the call only for a new group

    def observe(self, group: str, info: RateLimit | None) -> None:
        """Take in a rate-limit header read apart from an answer (:meth:`Turn.answered` does both)."""
        if info is not None:
            self.pacer(group).observe(info, self._clock())

    def rejected(self, group: str, wait: float) -> None:
        """Record a 429 that asked for ``wait`` seconds: the whole group waits, not one request."""
        self.pacer(group).rejected(wait, self._clock())


class Turn:
    """One attempt's place in its group's budget and in the in-flight cap.

    The pipeline takes one per attempt, as a plain ``with`` (``async with`` would cost a
    coroutine per attempt on the GET path): first a unit of the budget (:meth:`take`, else
    :meth:`wait`), then a slot (:meth:`slot`, else :meth:`queue`), then it says when the
    answer came (:meth:`answered`). Leaving the ``with`` gives back whatever the turn still
    holds, however the attempt ended (a transport error, a cancellation, the client closed
    while queued, a wait refused): the counters are balanced here and nowhere else.
    """

    __slots__ = ("_flying", "_slot", "_state", "pacer")

    def __init__(self, state: RateLimitState, pacer: GroupPacer) -> None:
        self._state = state
        self.pacer = pacer
        self._flying = False  # counted in the pacer's in-flight requests
        self._slot = False  # holding a slot of the cap

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        if self._slot:
            self._slot = False
            self._state.slots.give()  # type: ignore[union-attr]  # held only when capped
        if self._flying:
            self._leave()

    def _leave(self) -> None:
        self._flying = False
        pacer = self.pacer
        if pacer.inflight > 0:
            pacer.inflight -= 1

    def _reserve(self) -> float:
        """Take a unit of the budget now (then counted in flight), or return how long to wait."""
        pacer = self.pacer
        state = self._state
        wait = pacer.reserve(state._clock(), state.pace)
        if wait <= 0:
            pacer.inflight += 1
            self._flying = True
        return wait

    def take(self) -> bool:
        """Take a unit of the group's budget if it allows one now: no coroutine, no wait.

        False means it may not yet (nothing was taken): :meth:`wait` for it.
        """
        return self._reserve() <= 0

    async def wait(
        self, *, instant: bool = False, max_wait: float = math.inf, stop: Callable[[], bool] | None = None
    ) -> float:
        """Wait until the group's budget allows this attempt, and take the unit; the seconds waited.

        Every task told to wait sleeps until the same moment (the window's end, or the
        end of a 429's wait). With ``stop`` (the pipeline passes "is the client closed?")
        the wait is cut short, taking nothing, within :data:`POLL` seconds of it turning
        true. ``instant`` takes waits as done at once (a replay transport).

        Raises:
            RateLimitError: the group is stopped for longer than ``max_wait`` (nothing taken).
        """
        pacer = self.pacer
        waited = 0.0
        for _ in range(10_000):  # bounded: each pass either goes or sleeps a positive time
            if stop is not None and stop():
                return waited
            wait = self._reserve()
            if wait <= 0:
                return waited
            if wait > max_wait:
                raise errors.RateLimitError(
                    f"the rate limit of {pacer.group} is spent for {shown_seconds(wait)} s more, longer than "
                    f"max_rate_limit_wait={max_wait:g} s; nothing was sent",
                    retry_after=wait,
                    status=429,
                    method=pacer.group.partition(" ")[0],
                )
            if waited == 0.0:
                log.debug("waiting %.2f s for the rate limit of %s", wait, pacer.group)
            if instant:
                pacer.blocked_until = -math.inf
                pacer.remaining = None
                pacer.inflight += 1
                self._flying = True
                return waited + wait
            waited += await nap(self._state._sleep, wait, stop)
        return waited

    @property
    def capped(self) -> bool:
        """Whether requests in flight are capped (a slot must be taken)."""
        return self._state.slots is not None

    def slot(self) -> bool:
        """Take a slot of the cap if one is free, without a trip through the event loop.

        True when uncapped. False when none is free, or others queue for one (a newcomer
        never overtakes the queue): :meth:`queue` for one.
        """
        slots = self._state.slots
        if slots is None:
            return True
        self._slot = slots.take_nowait()
        return self._slot

    async def queue(self) -> None:
        """Give back the unit of budget taken, and queue for a slot; then take a unit afresh.

        Queued behind other requests, the unit taken before may be stale when a slot frees
        (the first answers of a cold start tell the budget), so it is given back now and
        taken again (:meth:`take`, else :meth:`wait`) once the slot is held, keeping the
        queue's order. Cancelled while queued, the turn holds nothing.
        """
        if self._flying:
            self._leave()
            pacer = self.pacer
            if pacer.remaining is not None and pacer.limit is not None:
                pacer.remaining = min(pacer.limit, pacer.remaining + 1)
        await self._state.slots.take()  # type: ignore[union-attr]  # queued only when capped
        self._slot = True

    def answered(self, headers: Headers) -> None:
        """The answer came: no longer in flight, and its rate-limit header is taken in.

        One call for both, since every response comes here; the numbers go straight into
        the pacer (see :func:`~closeasync.pipeline.ratelimit.read_rate_limit`).
        """
        if self._flying:
            self._leave()
        found = read_rate_limit(headers)
        if found is not None:
            limit, remaining, reset = found
            self.pacer.update(limit, remaining, reset, self._state._clock())
