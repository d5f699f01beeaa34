"""Virtual time for whole-client rate-limit tests: trio's MockClock, read by the pacer and the fake.

Under ``trio.run(..., clock=MockClock(autojump_threshold=0))`` time jumps to the next
deadline whenever every task waits, so a one-second window costs no real time and what
happens in it is exact. The client's waits (``anyio.sleep``) follow that clock already;
its pacer reads ``time.monotonic`` unless told otherwise, so :func:`on_virtual_clock`
gives it trio's clock (the one private reach into the client, as the pacer's clock is no
option of the client), and :func:`virtual_rate_limits` does the same for the fake's
limiter. A deadlock fails fast: the test's bound is then the only deadline, and the
clock jumps to it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import TypeVar

import trio
import trio.testing

from closeasync import CloseAsync, RequestEvent
from closeasync.fake import FakeClose, RateLimits
from closeasync.pipeline.pacing import RateLimitState
from closeasync.pipeline.slowstart import FIRST_WINDOW

T = TypeVar("T")
#: Virtual seconds any scenario may take; reaching it means something never ended.
BOUND = 600.0


def run_virtual(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main`` under trio on a clock that jumps whenever every task waits."""
    return trio.run(main, clock=trio.testing.MockClock(autojump_threshold=0))


def on_virtual_clock(close: CloseAsync, *, first_window: int | None = FIRST_WINDOW) -> RateLimitState:
    """Give ``close`` a fresh pacer on trio's clock (call it inside :func:`run_virtual`)."""
    pipeline = close._connection.pipeline
    old = pipeline.limits
    pipeline.limits = RateLimitState(
        max_concurrency=old.max_concurrency, pace=old.pace, clock=trio.current_time, first_window=first_window
    )
    return pipeline.limits


def virtual_rate_limits(fake: FakeClose) -> RateLimits:
    """Give ``fake`` a rate limiter counting windows on trio's clock."""
    fake.rate_limits = RateLimits(clock=trio.current_time)
    return fake.rate_limits


class Events:
    """An ``on_event`` hook that counts what the client reports."""

    def __init__(self) -> None:
        self.statuses: Counter[int | None] = Counter()
        self.waits: list[RequestEvent] = []
        self.events: list[RequestEvent] = []

    def __call__(self, event: RequestEvent) -> None:
        self.events.append(event)
        if event.kind == "response":
            self.statuses[event.status] += 1
        elif event.kind == "wait":
            self.waits.append(event)

    @property
    def responses(self) -> int:
        return sum(self.statuses.values())
