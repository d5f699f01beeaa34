"""Shared rate-limit state: every task of one client paces itself by the same numbers.

Close limits requests per endpoint group (method + route) and per key, and says
how close each response is to the limit (``RateLimit: limit, remaining, reset``).
One :class:`GroupPacer` per group keeps what the latest response said, minus the
requests started since, so concurrent tasks do not overrun the window:

- while the budget lasts, a request takes one unit and goes;
- when it is spent (or a 429 said to stop), every task of the group waits for the
  same moment, the window's end, instead of each one hitting 429 on its own;
- a new window refills the budget to the ``limit`` Close announced.

Groups Close has said nothing about are not paced at all. Time comes from a
monotonic clock and waits from an injected ``sleep``, so tests drive both.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable, Callable

import anyio

from . import errors
from ._ratelimit_headers import RateLimit

__all__ = ["GroupPacer", "RateLimitState"]

log = logging.getLogger("closeasync")
Sleep = Callable[[float], Awaitable[None]]


class GroupPacer:
    """The budget of one endpoint group, as far as this client knows it."""

    __slots__ = ("blocked_until", "group", "limit", "remaining", "window_end")

    def __init__(self, group: str) -> None:
        self.group = group
        self.limit: float | None = None
        self.remaining: float | None = None  # None: unknown, so unpaced
        self.window_end = -math.inf
        self.blocked_until = -math.inf

    def reserve(self, now: float, *, pace: bool = True) -> float:
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
        if self.remaining is None:
            return 0.0
        if self.remaining >= 1:
            self.remaining -= 1
            return 0.0
        wait_until = self.window_end if self.window_end != math.inf else now + 1.0
        self.blocked_until = max(self.blocked_until, wait_until)
        return self.blocked_until - now

    def observe(self, info: RateLimit, now: float) -> None:
        """Take in what a response said about the group's limit."""
        if info.limit is not None:
            self.limit = info.limit
        if info.reset is None or info.remaining is None:
            return
        end = now + info.reset
        if self.window_end == math.inf:
            # First news of this window: requests started since took units locally already.
            local = self.remaining
            self.remaining = info.remaining if local is None else min(local, info.remaining)
            self.window_end = end
        elif end > self.window_end + 0.5:
            # Close moved to a window we had not noticed: its count is the truth.
            self.remaining, self.window_end = info.remaining, end
        else:
            local = self.remaining
            self.remaining = info.remaining if local is None else min(local, info.remaining)

    def rejected(self, wait: float, now: float) -> None:
        """A 429: nobody in this group sends before ``wait`` seconds have passed."""
        self.remaining = 0
        self.window_end = now + wait
        self.blocked_until = max(self.blocked_until, now + wait)


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
        self._groups: dict[str, GroupPacer] = {}
        self.pace = pace
        self._clock = clock
        self._sleep = sleep
        self.max_concurrency = max_concurrency
        self._limiter: anyio.CapacityLimiter | None = None

    def pacer(self, group: str) -> GroupPacer:
        """The pacer of ``group`` (created on first use)."""
        found = self._groups.get(group)
        if found is None:
            found = self._groups[group] = GroupPacer(group)
        return found

    def limiter(self) -> anyio.CapacityLimiter | None:
        """The in-flight cap (created lazily: anyio primitives need a running loop)."""
        if self._limiter is None and self.max_concurrency is not None:
            self._limiter = anyio.CapacityLimiter(self.max_concurrency)
        return self._limiter

    async def wait_turn(self, group: str, *, instant: bool = False, max_wait: float = math.inf) -> float:
        """Wait until ``group`` may send one more request; return the seconds waited.

        Raises:
            RateLimitError: the group is stopped for longer than ``max_wait``.
        """
        pacer = self.pacer(group)
        waited = 0.0
        for _ in range(10_000):  # bounded: each pass either goes or sleeps a positive time
            wait = pacer.reserve(self._clock(), pace=self.pace)
            if wait <= 0:
                return waited
            if wait > max_wait:
                raise errors.RateLimitError(
                    f"the rate limit of {group} is spent for {wait:.1f} s more, longer than "
                    f"max_rate_limit_wait={max_wait:g} s; nothing was sent",
                    retry_after=wait,
                    status=429,
                    method=group.partition(" ")[0],
                )
            if waited == 0.0:
                log.debug("waiting %.2f s for the rate limit of %s", wait, group)
            waited += wait
            if instant:
                pacer.blocked_until = -math.inf
                pacer.remaining = None
                return waited
            await self._sleep(wait)
        return waited

    def observe(self, group: str, info: RateLimit | None) -> None:
        """Record a response's rate-limit header."""
        if info is not None:
            self.pacer(group).observe(info, self._clock())

    def rejected(self, group: str, wait: float) -> None:
        """Record a 429 that asked for ``wait`` seconds."""
        self.pacer(group).rejected(wait, self._clock())
