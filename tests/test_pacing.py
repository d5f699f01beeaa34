"""GroupPacer and RateLimitState on virtual time: an injected clock and sleep, no real waiting.

:class:`VirtualTime` plays the event loop's timer: a sleeping task parks on an event,
and when every task under test is parked, time jumps to the earliest wake-up and
everything due then wakes together. So "all tasks wait for the same moment" is a
plain equality on recorded numbers.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Awaitable, Callable

import anyio
import anyio.lowlevel
import pytest

from closeasync import RateLimitError
from closeasync.pipeline.budget import GroupPacer
from closeasync.pipeline.pacing import RateLimitState
from closeasync.pipeline.ratelimit import RateLimit

GROUP = "GET /activity/email/"
OTHER = "POST /activity/email/"
#: Every test finishes in milliseconds; this only turns a hang into a failure.
LIMIT_S = 5


class VirtualTime:
    """A clock and a sleep for tests: ``sleeps`` records every (start, end)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[tuple[float, float]] = []
        self._timers: list[tuple[float, int, anyio.Event]] = []
        self._seq = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        assert delay > 0, f"slept {delay}"
        end = self.now + delay
        self.sleeps.append((self.now, end))
        event = anyio.Event()
        heapq.heappush(self._timers, (end, self._seq, event))
        self._seq += 1
        await event.wait()

    def ends(self) -> list[float]:
        return [end for _, end in self.sleeps]

    async def run(self, *workers: Callable[[], Awaitable[object]]) -> None:
        """Run ``workers`` concurrently; whenever all of them sleep, jump to the next wake-up."""
        live = len(workers)

        async def run_one(worker: Callable[[], Awaitable[object]]) -> None:
            nonlocal live
            try:
                await worker()
            finally:
                live -= 1

        with anyio.fail_after(LIMIT_S):
            async with anyio.create_task_group() as tg:
                for worker in workers:
                    tg.start_soon(run_one, worker)
                while live:
                    await anyio.lowlevel.checkpoint()  # let every runnable task run up to its next wait
                    if live and len(self._timers) == live:
                        self.now = max(self.now, self._timers[0][0])
                        while self._timers and self._timers[0][0] <= self.now:
                            heapq.heappop(self._timers)[2].set()


def state(vt: VirtualTime, **kwargs: object) -> RateLimitState:
    return RateLimitState(clock=vt.clock, sleep=vt.sleep, **kwargs)  # type: ignore[arg-type]


def header(*, limit: int, remaining: int, reset: float) -> tuple[tuple[str, str], ...]:
    """An answer's headers carrying Close's usual ``RateLimit``."""
    return (("RateLimit", f"limit={limit}, remaining={remaining}, reset={reset:g}"),)


# --- GroupPacer: pure arithmetic on a given "now" -------------------------------------------------


def test_unknown_group_is_unpaced() -> None:
    pacer = GroupPacer(GROUP)
    assert [pacer.reserve(0.0) for _ in range(1000)] == [0.0] * 1000


def test_header_without_reset_does_not_pace() -> None:
    """A count without a window end or a limit says nothing to pace by."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(remaining=0), now=0.0)
    pacer.observe(RateLimit(reset=5), now=0.0)
    assert [pacer.reserve(0.0) for _ in range(100)] == [0.0] * 100


def test_remaining_two_lets_exactly_two_go() -> None:
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=100, remaining=2, reset=10), now=0.0)
    assert pacer.reserve(0.0) == 0.0
    assert pacer.reserve(1.0) == 0.0
    assert pacer.reserve(4.0) == pytest.approx(6.0)  # until the window's end, t=10
    assert pacer.reserve(7.5) == pytest.approx(2.5)  # still the same moment


def test_new_window_refills_to_the_announced_limit() -> None:
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=3, remaining=0, reset=2), now=0.0)
    assert pacer.reserve(0.0) == pytest.approx(2.0)
    assert [pacer.reserve(2.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.reserve(2.0) > 0  # the fourth in the new window waits


def test_window_whose_end_nobody_announced_still_ends() -> None:
    """A refilled window whose responses carried no header (a proxy's 502, a reset
    connection) must not stall the group: after a short guess it refills again."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=2, remaining=0, reset=1), now=0.0)
    went = [t for t in (0.0, 1.0, 1.0, 1.0) if pacer.reserve(t) == 0.0]
    assert went == [1.0, 1.0]
    wait = pacer.reserve(1.0)
    assert 0 < wait <= 1.0
    assert [pacer.reserve(1.0 + wait) for _ in range(3)][:2] == [0.0, 0.0]


def test_observe_keeps_the_smaller_count_within_a_window() -> None:
    """Requests started since a response took units locally: a stale, larger count
    from a slower response does not give them back."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=10, remaining=5, reset=10), now=0.0)
    for _ in range(4):
        assert pacer.reserve(0.5) == 0.0
    pacer.observe(RateLimit(limit=10, remaining=4, reset=9.5), now=0.5)  # answers the first of them
    assert pacer.reserve(0.6) == 0.0
    assert pacer.reserve(0.6) > 0


def test_observe_of_a_later_window_is_the_truth() -> None:
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=10, remaining=0, reset=2), now=0.0)
    pacer.observe(RateLimit(limit=10, remaining=3, reset=10), now=1.0)  # Close moved on
    assert [pacer.reserve(1.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.reserve(1.0) == pytest.approx(10.0)


def test_rejected_blocks_even_unpaced() -> None:
    pacer = GroupPacer(GROUP)
    pacer.rejected(5.0, now=10.0)
    assert pacer.reserve(12.0, pace=False) == pytest.approx(3.0)
    assert pacer.reserve(15.0, pace=False) == 0.0


# --- Turn.wait on virtual time ---------------------------------------------------------------------


async def test_unknown_groups_never_sleep() -> None:
    """Without slow start (``first_window=None``), a group nobody told anything goes unpaced."""
    vt = VirtualTime()
    limits = state(vt, first_window=None)
    waited: list[float] = []

    async def one() -> None:
        waited.append(await limits.turn(GROUP).wait())

    await vt.run(*[one] * 50)
    assert waited == [0.0] * 50
    assert vt.sleeps == []


async def test_third_request_waits_for_the_window_end() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=50, remaining=2, reset=10))
    waited: list[float] = []

    async def three() -> None:
        for _ in range(3):
            waited.append(await limits.turn(GROUP).wait())

    await vt.run(three)
    assert waited == [0.0, 0.0, 10.0]
    assert vt.sleeps == [(0.0, 10.0)]


class Server:
    """Close's side of the rate limit: windows of ``period`` seconds, ``limit`` each."""

    def __init__(self, vt: VirtualTime, limit: int, period: float, used_now: int) -> None:
        self.vt, self.limit, self.period = vt, limit, period
        self.arrivals: list[float] = []
        self.used = Counter({0: used_now})

    def window(self, t: float) -> int:
        return math.floor(t / self.period)

    def arrive(self) -> RateLimit:
        t = self.vt.now
        self.arrivals.append(t)
        self.used[self.window(t)] += 1
        end = (self.window(t) + 1) * self.period
        return RateLimit(limit=self.limit, remaining=self.limit - self.used[self.window(t)], reset=end - t)


@pytest.mark.parametrize("latency", [0.0, 0.3, 2.5], ids=["instant", "fast", "slow"])
async def test_concurrent_tasks_wait_together_and_never_overrun(latency: float) -> None:
    """20 tasks on a budget of 5 per 10 s, 2 left now: each wave goes at the same moment
    and no window of Close's sees more than its limit."""
    vt = VirtualTime()
    limits = state(vt)
    server = Server(vt, limit=5, period=10.0, used_now=3)
    limits.observe(GROUP, RateLimit(limit=5, remaining=2, reset=10))  # what the last response said

    async def request() -> None:
        with limits.turn(GROUP) as turn:
            await turn.wait()
            info = server.arrive()
            if latency:
                await vt.sleep(latency)
        limits.observe(GROUP, info)  # the answer is in: no longer in flight, its header taken in

    await vt.run(*[request] * 20)
    per_window = Counter(server.window(t) for t in server.arrivals)
    assert sum(per_window.values()) == 20
    assert per_window[0] == 2
    assert all(used <= 5 for used in per_window.values()), per_window
    if latency == 0.0:
        # Each wave wakes at the same moment: the window's end.
        assert sorted(Counter(server.arrivals).items()) == [
            (0.0, 2),
            (10.0, 5),
            (20.0, 5),
            (30.0, 5),
            (40.0, 3),
        ]
        first_wave = [end for start, end in vt.sleeps if start == 0.0]
        assert first_wave == [10.0] * 18


async def test_tasks_told_to_wait_wake_at_the_same_moment() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=20, remaining=0, reset=7.5))
    went: list[float] = []

    async def request() -> None:
        await limits.turn(GROUP).wait()
        went.append(vt.now)

    await vt.run(*[request] * 20)
    assert went == [7.5] * 20
    assert vt.ends() == [7.5] * 20


async def test_429_stops_its_group_only() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.rejected(GROUP, 5.0)
    went: dict[str, list[float]] = {GROUP: [], OTHER: []}

    def request(group: str) -> Callable[[], Awaitable[None]]:
        async def go() -> None:
            with limits.turn(group) as turn:
                await turn.wait()
                went[group].append(vt.now)
                turn.answered(())  # the other group's first answer opens its slow start

        return go

    await vt.run(*[request(GROUP)] * 10, *[request(OTHER)] * 10)
    assert went[OTHER] == [0.0] * 10
    assert went[GROUP] == [5.0] * 10
    assert vt.sleeps == [(0.0, 5.0)] * 10


async def test_new_window_refills_through_the_state() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=4, remaining=0, reset=3))
    went: list[float] = []

    async def request() -> None:
        with limits.turn(GROUP) as turn:
            await turn.wait()
            went.append(vt.now)
        limits.observe(GROUP, RateLimit(limit=4, remaining=4 - went.count(vt.now), reset=3.0))

    await vt.run(*[request] * 6)
    assert went == [3.0] * 4 + [6.0] * 2


async def test_window_end_never_announced_does_not_stall() -> None:
    """Answers without the header (a proxy's 502s) after a refill: the group goes on at
    the announced limit per window of the longest length seen, polling for news each second."""
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=2, remaining=0, reset=5))
    went: list[float] = []

    async def request() -> None:
        await limits.turn(GROUP).wait()
        went.append(vt.now)  # and no RateLimit header comes back

    await vt.run(*[request] * 6)
    assert went == [5.0, 5.0, 10.0, 10.0, 15.0, 15.0]
    assert max(end - start for start, end in vt.sleeps) <= 5.0
    assert all(end - start <= 1.0 for start, end in vt.sleeps if start >= 5.0)  # looked each second


async def test_news_during_a_guessed_window_sets_the_real_end() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=2, remaining=0, reset=10))
    went: list[float] = []

    async def request() -> None:
        await limits.turn(GROUP).wait()
        went.append(vt.now)

    async def late_answer() -> None:
        await vt.sleep(12.5)  # an answer to a request of the window that began at 10
        limits.observe(GROUP, RateLimit(limit=2, remaining=0, reset=3.5))

    await vt.run(*[request] * 4, late_answer)
    assert went == [10.0, 10.0, 16.0, 16.0]  # the real end, not the guessed 20


async def test_pace_false_ignores_budgets_but_honours_a_429() -> None:
    vt = VirtualTime()
    limits = state(vt, pace=False)
    limits.observe(GROUP, RateLimit(limit=1, remaining=0, reset=60))
    waited: list[float] = []

    async def request() -> None:
        waited.append(await limits.turn(GROUP).wait())

    await vt.run(*[request] * 5)
    assert waited == [0.0] * 5
    assert vt.sleeps == []

    limits.rejected(GROUP, 5.0)
    await vt.run(*[request] * 3)
    assert waited[5:] == [5.0] * 3
    assert vt.ends() == [5.0] * 3


async def test_wait_longer_than_max_wait_raises_and_nothing_waits() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.rejected(GROUP, 30.0)
    with pytest.raises(RateLimitError, match="max_rate_limit_wait=10") as caught:
        await limits.turn(GROUP).wait(max_wait=10.0)
    assert caught.value.retry_after == pytest.approx(30.0)
    assert caught.value.status == 429
    assert caught.value.method == "GET"
    assert vt.sleeps == []
    # A wait within the cap is still fine.
    waited: list[float] = []

    async def request() -> None:
        waited.append(await limits.turn(GROUP).wait(max_wait=30.0))

    await vt.run(request)
    assert waited == [30.0]


async def test_budget_wait_longer_than_max_wait_raises() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.observe(GROUP, RateLimit(limit=10, remaining=0, reset=45))
    with pytest.raises(RateLimitError) as caught:
        await limits.turn(GROUP).wait(max_wait=20.0)
    assert caught.value.retry_after == pytest.approx(45.0)
    assert vt.sleeps == []


async def test_instant_returns_without_sleeping() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.rejected(GROUP, 12.0)
    with anyio.fail_after(LIMIT_S):
        assert await limits.turn(GROUP).wait(instant=True) == pytest.approx(12.0)
        assert await limits.turn(GROUP).wait(instant=True) == 0.0
    assert vt.sleeps == []


async def test_stop_ends_a_wait_early() -> None:
    """With ``stop`` (the pipeline passes "is the client closed?") a wait is cut short."""
    vt = VirtualTime()
    limits = state(vt)
    limits.rejected(GROUP, 30.0)
    stopped = False
    waited: list[float] = []

    async def request() -> None:
        waited.append(await limits.turn(GROUP).wait(stop=lambda: stopped))

    async def closer() -> None:
        nonlocal stopped
        await vt.sleep(2.0)
        stopped = True

    await vt.run(request, closer)
    assert len(waited) == 1
    assert 2.0 <= waited[0] < 2.5  # noticed within one poll interval, not after 30 s
    assert vt.now < 2.5


# --- the concurrency cap -----------------------------------------------------------------------


def test_slots_only_when_capped() -> None:
    assert RateLimitState().slots is None


async def test_limiter_caps_work_in_flight() -> None:
    limits = RateLimitState(max_concurrency=3)
    limiter = limits.slots
    assert limiter is not None
    in_flight = peak = done = 0

    async def hold() -> None:
        nonlocal in_flight, peak, done
        assert limiter is not None
        async with limiter:
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            in_flight -= 1
            done += 1

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tg:
            for _ in range(10):
                tg.start_soon(hold)
    assert done == 10
    assert peak == 3


async def test_requests_in_flight_are_taken_off_what_an_answer_says_is_left() -> None:
    """Close's ``remaining`` counts only what reached it: requests still on their way are
    taken off too, so a cold start does not overrun the window (here without slow start,
    which would send only one before the first answer)."""
    vt = VirtualTime()
    limits = state(vt, first_window=None)
    turns = [limits.turn(GROUP) for _ in range(5)]
    for turn in turns:  # five go out before any answer: nothing is known yet
        assert await turn.wait() == 0.0
    turns[0].answered(header(limit=5, remaining=4, reset=10))  # Close has seen 1 of a budget of 5
    pacer = limits.pacer(GROUP)
    assert pacer.inflight == 4
    assert pacer.remaining == 0  # the 4 in flight will use what is left


async def test_more_in_flight_than_is_left_leaves_nothing_not_a_debt() -> None:
    """An answer leaving fewer units than requests in flight spends the budget, no further:
    the next window's first answer is then taken as it is."""
    vt = VirtualTime()
    limits = state(vt, first_window=None)
    turns = [limits.turn(GROUP) for _ in range(6)]
    for turn in turns:
        assert await turn.wait() == 0.0
    turns[0].answered(header(limit=10, remaining=2, reset=10))  # 5 still in flight
    pacer = limits.pacer(GROUP)
    assert pacer.remaining == 0
    for turn in turns[1:-1]:
        turn.answered(())
    turns[-1].answered(header(limit=10, remaining=3, reset=9))  # the same window
    assert pacer.remaining == 0  # what Close said is left was taken locally already
    assert not limits.turn(GROUP).take()
    vt.now = 10.0
    assert limits.turn(GROUP).take()  # the next window: the announced limit again
    assert pacer.remaining == 9


def test_answered_ends_the_flight_and_takes_in_the_header_as_observe_does() -> None:
    """What the pipeline calls for every response: the turn's end and observe() in one call."""
    vt = VirtualTime()
    limits, twin = state(vt, first_window=None), state(vt, first_window=None)
    for each in (limits, twin):
        turns = [each.turn(GROUP) for _ in range(3)]
        assert all(turn.take() for turn in turns)
        if each is limits:
            turns[0].answered((("Date", "x"), ("ratelimit", "limit=5; remaining=3; reset=10")))
        else:
            with turns[0]:
                pass
            twin.observe(GROUP, RateLimit(limit=5, remaining=3, reset=10))
    pacer, expected = limits.pacer(GROUP), twin.pacer(GROUP)
    assert pacer.inflight == expected.inflight == 2
    assert (pacer.limit, pacer.remaining, pacer.window_end) == (expected.limit, expected.remaining, 10.0)
    assert pacer.remaining == 1  # 3 left, 2 still on their way


def test_answered_without_a_rate_limit_header_changes_only_the_flight() -> None:
    """Close often sends no RateLimit: the group stays as it was (unpaced if never told)."""
    vt = VirtualTime()
    limits = state(vt)
    with limits.turn(GROUP) as turn:
        assert turn.take()
        pacer = limits.pacer(GROUP)
        assert pacer.inflight == 1
        turn.answered((("Content-Type", "application/json"), ("X-Frame-Options", "DENY")))
        assert pacer.inflight == 0
        turn.answered(())  # a turn leaves the flight once
    assert pacer.inflight == 0  # and leaving the ``with`` does not count it again
    assert (pacer.limit, pacer.remaining, pacer.period) == (None, None, None)


def test_take_goes_at_once_only_while_the_budget_lasts() -> None:
    """The pipeline's no-wait path: it takes a unit as wait() would, or takes nothing."""
    vt = VirtualTime()
    limits = state(vt)
    with limits.turn(GROUP) as turn:
        assert turn.take()  # unknown groups are not paced
    limits.observe(GROUP, RateLimit(limit=2, remaining=1, reset=5))
    assert limits.turn(GROUP).take()
    assert limits.pacer(GROUP).inflight == 1
    assert not limits.turn(GROUP).take()  # spent: the caller must wait()
    assert limits.pacer(GROUP).inflight == 1  # and nothing was taken
    vt.now = 5.0
    assert limits.turn(GROUP).take()  # a new window


# --- Turn: every way out of an attempt leaves the counters balanced --------------------------------


def test_a_turn_left_without_an_answer_gives_back_its_flight_and_its_slot() -> None:
    """A transport error (or anything raised mid-attempt) ends the turn as an answer would."""
    limits = RateLimitState(max_concurrency=2)
    pacer, slots = limits.pacer(GROUP), limits.slots
    assert slots is not None
    held: list[tuple[int, int]] = []

    def attempt() -> None:
        with limits.turn(GROUP) as turn:
            assert turn.capped
            assert turn.take()
            assert turn.slot()
            held.append((pacer.inflight, slots.free))
            raise ConnectionError("reset")

    with pytest.raises(ConnectionError):
        attempt()
    assert held == [(1, 1)]
    assert (pacer.inflight, slots.free) == (0, 2)


def test_an_uncapped_turn_needs_no_slot() -> None:
    limits = RateLimitState()
    with limits.turn(GROUP) as turn:
        assert not turn.capped
        assert turn.take()
        assert turn.slot()
        turn.answered(())
    assert limits.pacer(GROUP).inflight == 0


def test_a_newcomer_does_not_take_a_slot_others_queue_for() -> None:
    limits = RateLimitState(max_concurrency=1)
    first, newcomer = limits.turn(GROUP), limits.turn(GROUP)
    assert first.slot()
    assert not newcomer.slot()  # none free: the newcomer must queue()
    with first:
        pass
    assert newcomer.slot()  # given back when the first left its turn


async def test_a_turn_queued_for_a_slot_gives_its_unit_back_and_takes_one_afresh() -> None:
    """While queued, the unit taken before is back in the budget; once the slot comes, the
    turn takes a unit again, paced by what the answers meanwhile said."""
    vt = VirtualTime()
    limits = state(vt, max_concurrency=1)
    limits.observe(GROUP, RateLimit(limit=5, remaining=2, reset=10))
    pacer, slots = limits.pacer(GROUP), limits.slots
    assert slots is not None
    holder, queued = limits.turn(GROUP), limits.turn(GROUP)
    assert holder.take()
    assert holder.slot()
    assert queued.take()
    assert not queued.slot()
    assert (pacer.remaining, pacer.inflight) == (0, 2)
    took_again: list[bool] = []

    async def wait_for_a_slot() -> None:
        with queued:
            await queued.queue()
            took_again.append(queued.take())

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_for_a_slot)
            await anyio.lowlevel.checkpoint()
            assert (pacer.remaining, pacer.inflight) == (1, 1)  # given back while queued
            with holder:
                holder.answered(header(limit=5, remaining=0, reset=10))  # the budget is spent
            # leaving the turn passed its slot to the queued one
    assert took_again == [False]  # spent: the queued turn must wait like any other
    assert (pacer.inflight, slots.free) == (0, 1)


async def test_a_turn_cancelled_while_queued_holds_nothing() -> None:
    limits = RateLimitState(max_concurrency=1, first_window=None)  # two turns before any answer
    pacer, slots = limits.pacer(GROUP), limits.slots
    assert slots is not None
    holder = limits.turn(GROUP)
    assert holder.take()
    assert holder.slot()
    scope = anyio.CancelScope()

    async def queue_for_a_slot() -> None:
        with scope, limits.turn(GROUP) as queued:
            assert queued.take()
            assert not queued.slot()
            await queued.queue()

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(queue_for_a_slot)
            await anyio.lowlevel.checkpoint()
            assert pacer.inflight == 1  # queued: its unit given back
            scope.cancel()
    assert scope.cancelled_caught
    assert pacer.inflight == 1  # only the holder, still on the wire
    with holder:
        pass
    assert (pacer.inflight, slots.free) == (0, 1)


async def test_a_wait_cut_short_or_refused_takes_nothing() -> None:
    vt = VirtualTime()
    limits = state(vt)
    limits.rejected(GROUP, 30.0)
    pacer = limits.pacer(GROUP)
    with limits.turn(GROUP) as turn:
        assert not turn.take()
        assert await turn.wait(stop=lambda: True) == 0.0  # the client closed
    with pytest.raises(RateLimitError), limits.turn(GROUP) as turn:
        await turn.wait(max_wait=10.0)
    assert pacer.inflight == 0
    with limits.turn(GROUP) as turn:
        assert await turn.wait(instant=True) == pytest.approx(30.0)
        assert pacer.inflight == 1
    assert pacer.inflight == 0


async def test_requests_queued_for_a_slot_take_their_turn_when_they_get_one() -> None:
    """A cold start: twelve gets at once, four slots, a budget of four per 0.2 s.

    Before any answer nobody knows the budget, so every task may take a turn; those that
    then queue for a concurrency slot take a fresh turn when they get one, paced by what
    the first answers said, instead of going on and being answered 429.
    """
    from closeasync import CloseAsync, RequestEvent
    from closeasync.fake import FakeClose

    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")
    ids = [fake.add_activity("Email", lead_id=lead["id"], subject=str(i))["id"] for i in range(12)]
    fake.rate_limits.set(budget=4, window=0.2)
    statuses: Counter[int | None] = Counter()
    waits: list[float] = []

    def record(event: RequestEvent) -> None:
        if event.kind == "response":
            statuses[event.status] += 1
        elif event.kind == "wait":
            waits.append(event.delay)

    async with CloseAsync(
        api_key=fake.api_key, transport=fake.transport(), max_concurrency=4, on_event=record
    ) as close:
        with anyio.fail_after(10):
            async with anyio.create_task_group() as group:
                for ident in ids:
                    group.start_soon(close.emails.get, ident)
    assert statuses == Counter({200: 12})  # no 429: the budget was never overrun
    assert fake.rate_limits.rejected == 0
    assert len(waits) >= 8  # the eight beyond the first window's budget waited for the next
