"""Shared rate-limit state: every task of one client paces itself by the same numbers.

Close limits requests per endpoint group (method + route) and per key. Each group has
a :class:`~closeasync.pipeline.budget.GroupPacer` (its budget, as the answers told it)
and, until its first answer, a :class:`~closeasync.pipeline.slowstart.Gate` (its slow
start: the first request goes alone). :class:`RateLimitState` holds them for one
client, with the cap on requests in flight (:class:`Slots`). Time comes from a
monotonic clock and waits from an injected ``sleep``, so tests drive both.

Each attempt holds a :class:`Turn`: its place at the gate, its unit of budget, its place
among the requests in flight and its slot of the concurrency cap. The turn balances
those counters itself, however the attempt ends; nothing outside this module and the
two above touches them.
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
from .budget import GroupPacer
from .ratelimit import Headers, RateLimit, read_rate_limit, shown_seconds
from .slowstart import FIRST_WINDOW, Gate

__all__ = ["RateLimitState", "Turn", "nap"]

log = logging.getLogger("closeasync")
Sleep = Callable[[float], Awaitable[None]]


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
        first_window: int | None = FIRST_WINDOW,
    ) -> None:
        #: Every group's pacer so far, by group (:meth:`pacer` makes a missing one).
        self.pacers: dict[str, GroupPacer] = {}
        self.pace = pace
        #: Requests of a group whose budget is unknown that go before its first answer
        #: (see :mod:`~closeasync.pipeline.slowstart`). None: no slow start, as with
        #: ``pace=False``, which sends regardless. The concurrency cap applies either way.
        self.first_window = first_window if pace else None
        self._clock = clock
        self._sleep = sleep
        self.max_concurrency = max_concurrency
        #: The cap on requests in flight, None when uncapped.
        self.slots = None if max_concurrency is None else Slots(max_concurrency)

    def pacer(self, group: str) -> GroupPacer:
        """The pacer of ``group`` (created on first use)."""
        found = self.pacers.get(group)
        if found is None:
            window = self.first_window
            found = self.pacers[group] = GroupPacer(group, None if window is None else Gate(window))
        return found

    def turn(self, group: str) -> Turn:
        """A turn for one attempt of a request of ``group`` (use it as ``with``; see :class:`Turn`)."""
        return Turn(self, self.pacers.get(group) or self.pacer(group))  # the call only for a new group

    def observe(self, group: str, info: RateLimit | None) -> None:
        """Take in a rate-limit header read apart from an answer (:meth:`Turn.answered` does both).

        A budget told this way (a known budget, before any request) opens the group's
        slow start: its requests are paced by it from the first.
        """
        if info is not None:
            self.pacer(group).observe(info, self._clock())

    def rejected(self, group: str, wait: float) -> None:
        """Record a 429 that asked for ``wait`` seconds: the whole group waits, not one request."""
        self.pacer(group).rejected(wait, self._clock())


class Turn:
    """One attempt's place in its group's budget and in the in-flight cap.

    The pipeline takes one per attempt, as a plain ``with`` (``async with`` would cost a
    coroutine per attempt on the GET path): first a unit of the budget (:meth:`take`, else
    :meth:`wait`, which also waits at the group's slow start), then a slot (:meth:`slot`,
    else :meth:`queue`), then it says when the answer came (:meth:`answered`). Leaving the
    ``with`` gives back whatever the turn still holds, however the attempt ended (a transport
    error, a cancellation, the client closed while queued, a wait refused): the counters are
    balanced here and nowhere else, the slow start's first place included.
    """

    __slots__ = ("_first", "_flying", "_slot", "_state", "pacer")

    def __init__(self, state: RateLimitState, pacer: GroupPacer) -> None:
        self._state = state
        self.pacer = pacer
        self._flying = False  # counted in the pacer's in-flight requests
        self._slot = False  # holding a slot of the cap
        self._first = False  # holding a place in the slow start's first window

    def __enter__(self) -> Turn:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: object, traceback: object) -> None:
        if self._slot:
            self._slot = False
            self._state.slots.give()  # type: ignore[union-attr]  # held only when capped
        if self._flying:
            self._leave()
        if self._first:
            self._first_ended(kind)

    def _first_ended(self, kind: type[BaseException] | None) -> None:
        """A request of the slow start's first window ended without an answer.

        Ended by an error (a transport error, a timeout, the client closed, a bug), it
        opens the gate: see :mod:`~closeasync.pipeline.slowstart` for why. Cancelled by its
        caller (asyncio's and trio's cancellations are not ``Exception``s), or left
        without a word, it says nothing about the server: its place goes to the next
        held request.
        """
        self._first = False
        gate = self.pacer.gate
        if gate is None:
            return
        if kind is not None and issubclass(kind, Exception):
            self.pacer.open_gate()
        else:
            gate.pass_on()

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

        In a group's slow start, the first request takes its place here too; the others
        are held. False means it may not yet (nothing was taken): :meth:`wait` for it.
        """
        gate = self.pacer.gate
        if gate is not None and not self._first:
            if not gate.take_nowait():
                return False
            self._first = True
        return self._reserve() <= 0

    async def wait(
        self, *, instant: bool = False, max_wait: float = math.inf, stop: Callable[[], bool] | None = None
    ) -> float:
        """Wait until the group's budget allows this attempt, and take the unit; the seconds waited.

        Every task told to wait sleeps until the same moment (the window's end, or the
        end of a 429's wait). In the group's slow start it first waits for the end of the
        first request (or goes as the first). With ``stop`` (the pipeline passes "is the
        client closed?") the wait is cut short, taking nothing, within :data:`POLL` seconds
        of it turning true. ``instant`` takes waits as done at once (a replay transport).

        Raises:
            RateLimitError: the group is stopped for longer than ``max_wait`` (nothing taken).
        """
        pacer = self.pacer
        waited = 0.0
        gate = pacer.gate
        if gate is not None and not self._first and not (stop is not None and stop()):
            # Held until the first request ends, as it does whatever happens to it (an answer,
            # an error, its timeout, a cancellation): no poll of ``stop`` meanwhile; a client
            # closed while held is noticed below, once the gate has let this one on.
            clock = self._state._clock
            started = clock()
            self._first = await gate.enter()
            if not instant:  # as for any wait: a replay takes none
                waited = clock() - started
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

    def answered(self, headers: Headers, status: int = 200) -> None:
        """The answer came: no longer in flight, and its rate-limit header is taken in.

        One call for both, since every response comes here; the numbers go straight into
        the pacer (see :func:`~closeasync.pipeline.ratelimit.read_rate_limit`). Without
        the header, Close's own answer (not a 5xx, not a 429) counts towards a learnt
        budget's lapse.
        """
        if self._flying:
            self._leave()
        pacer = self.pacer
        found = read_rate_limit(headers)
        if found is not None:
            limit, remaining, reset = found
            pacer.update(limit, remaining, reset, self._state._clock())  # opens a slow start
        elif pacer.limit is not None and status < 500 and status != 429:
            pacer.silent()  # a learnt budget lapses once no longer announced (a 429 is news)
        if self._first:
            # Any answer is news: without the header, this server does not announce budgets.
            self._first = False
            pacer.open_gate()
