"""Slow start through the client: while a group's budget is unknown its first request goes
alone and the others wait for its end (``closeasync/pipeline/slowstart.py``).

Every scenario runs on virtual time (``tests/virtual_clock.py``): the fake's limiter and
the client's pacer read trio's MockClock, so counts are exact and nothing sleeps. A
request that never ends fails the test at the virtual bound instead of hanging it.
"""

from __future__ import annotations

from collections.abc import Callable

import anyio.lowlevel
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeasync import CloseAsync, CloseError, ConnectError, RequestTimeoutError
from closeasync.fake import FakeClose
from closeasync.pipeline.ratelimit import RateLimit
from closeasync.pipeline.routes import ROUTES
from closeasync.pipeline.slowstart import Gate
from closeasync.retry import RetryPolicy
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, json_response
from tests.virtual_clock import BOUND, Events, on_virtual_clock, run_virtual, virtual_rate_limits

GROUP = ROUTES["email"]["get"].group
BASE = "https://close.test/api/v1"
EMAIL = {"_type": "Email", "id": "acti_1", "lead_id": "lead_1", "status": "draft", "subject": "Hi"}
#: 429 waits exactly as asked, backoffs at their floor: every run is the same.
EXACT = RetryPolicy(random=lambda: 0.0)


# --- the gate alone --------------------------------------------------------------------------------


def test_a_place_handed_on_just_before_the_gate_opens_is_not_counted_as_held() -> None:
    """One held request is handed the first place as the gate opens; the other is woken by
    the opening. The gate is forgotten (``then``) once the woken one has run, exactly once.
    (trio runs woken tasks in either order: nothing here depends on it.)"""
    gate = Gate(1)
    went: list[tuple[str, bool]] = []
    forgotten: list[int] = []

    async def held(name: str) -> None:
        went.append((name, await gate.enter()))

    async def main() -> None:
        assert gate.take_nowait()  # the first request
        async with trio.open_nursery() as nursery:
            nursery.start_soon(held, "handed")
            nursery.start_soon(held, "woken")
            await trio.testing.wait_all_tasks_blocked()
            assert gate.held == 2
            gate.pass_on()  # the first request was cancelled: its place goes to "handed" ...
            gate.open(lambda: forgotten.append(gate.draining))  # ... and news came at once
            assert gate.draining == 1  # only "woken" was held when it opened

    run_virtual(main)
    assert sorted(went) == [("handed", False), ("woken", False)]  # the place is moot once open
    assert forgotten == [0]
    assert gate.draining == 0  # "handed" did not count itself as woken


def test_newcomers_go_after_the_requests_held_before_the_gate_opened() -> None:
    gate = Gate(1)
    order: list[str] = []

    async def request(name: str) -> None:
        await gate.enter()
        order.append(name)

    async def main() -> None:
        assert gate.take_nowait()
        async with trio.open_nursery() as nursery:
            for name in ("held 1", "held 2"):
                nursery.start_soon(request, name)
            await trio.testing.wait_all_tasks_blocked()
            gate.open()
            nursery.start_soon(request, "newcomer")  # arrives before the held ones have run

    run_virtual(main)
    assert sorted(order[:2]) == ["held 1", "held 2"]  # in either order: trio may run them so
    assert order[2] == "newcomer"


def test_a_held_request_cancelled_as_the_gate_opens_still_counts_as_gone_on() -> None:
    gate = Gate(1)
    forgotten: list[bool] = []
    scope = trio.CancelScope()

    async def held() -> None:
        with scope:
            await gate.enter()

    async def main() -> None:
        assert gate.take_nowait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(held)
            await trio.testing.wait_all_tasks_blocked()
            gate.open(lambda: forgotten.append(True))
            scope.cancel()

    run_virtual(main)
    assert forgotten == [True]
    assert gate.draining == 0


# --- the cold start of #20: 60 GETs at once against 10 per second -----------------------------------


def cold_start(first_window: int | None, *, max_concurrency: int | None = None) -> tuple[Events, float]:
    """60 concurrent GETs, nothing known yet, the fake allowing 10 per second: what came
    back, and when the last one was done (virtual seconds)."""
    fake = FakeClose(seed=1)
    lead = fake.add_lead("Acme")["id"]
    ids = [fake.add_activity("Email", lead_id=lead, subject=str(i))["id"] for i in range(60)]
    events = Events()

    async def main() -> float:
        virtual_rate_limits(fake).set(budget=10, window=1.0)
        async with CloseAsync(
            api_key=fake.api_key,
            transport=fake.transport(),
            on_event=events,
            retry=EXACT,
            max_concurrency=max_concurrency,
        ) as close:
            on_virtual_clock(close, first_window=first_window)
            with trio.fail_after(BOUND):
                async with trio.open_nursery() as nursery:
                    for ident in ids:
                        nursery.start_soon(close.emails.get, ident)
        return trio.current_time()

    return events, run_virtual(main)


@pytest.mark.parametrize("max_concurrency", [None, 25, 4], ids=["default-cap", "cap-25", "cap-4"])
def test_a_cold_start_meets_at_most_a_fifth_of_429s_and_is_no_slower(max_concurrency: int | None) -> None:
    events, finished = cold_start(1, max_concurrency=max_concurrency)
    assert events.statuses[200] == 60
    assert events.statuses[429] * 5 <= events.responses  # at most 20% of what the server saw
    assert events.statuses[429] == 0  # in fact none: the first answer told the budget
    _, before = cold_start(None, max_concurrency=max_concurrency)  # every request at once, as before
    assert finished <= before


def test_without_slow_start_the_same_cold_start_is_answered_429_nearly_half_the_time() -> None:
    """The scenario of the issue, as it was: what the test above guards against."""
    events, _ = cold_start(None)
    assert events.statuses[200] == 60
    assert events.statuses[429] == 50  # 10 fit the first window; 50 of 110 requests were refused


# --- every way the first request can end ------------------------------------------------------------


class FirstHeld:
    """A transport whose first request waits until the test says how it ends; every other
    request is answered at once. It records, at each arrival, how many were in it."""

    def __init__(self) -> None:
        self.arrivals: list[tuple[int, bool]] = []  # (in flight then, the first still in)
        self.in_flight = 0
        self.first_in = False
        self.first_arrived = trio.Event()
        self.release = trio.Event()
        self.end: Callable[[], Response] = lambda: json_response(EMAIL)

    async def send(self, request: Request) -> Response:
        self.in_flight += 1
        first = not self.arrivals
        self.arrivals.append((self.in_flight, self.first_in))
        try:
            if first:
                self.first_in = True
                self.first_arrived.set()
                try:
                    await self.release.wait()
                finally:
                    self.first_in = False
                response = self.end()
            else:
                await anyio.lowlevel.checkpoint()
                response = json_response(EMAIL, headers=(("RateLimit", "limit=100, remaining=90, reset=1"),))
            return Response(response.status, response.headers, response.content, request)
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        pass


def raising(error: BaseException) -> Callable[[], Response]:
    def end() -> Response:
        raise error

    return end


#: How the first request ends: answered (each way), failed (each way), or cancelled.
ENDS: dict[str, Callable[[], Response] | None] = {
    "ok with RateLimit": lambda: json_response(
        EMAIL, headers=(("RateLimit", "limit=20, remaining=3, reset=1"),)
    ),
    "ok without": lambda: json_response(EMAIL),
    "429 with RateLimit": lambda: json_response(
        {"error": "slow down"}, 429, (("RateLimit", "limit=20, remaining=0, reset=2"), ("Retry-After", "2"))
    ),
    "429 Retry-After only": lambda: json_response({"error": "slow down"}, 429, (("Retry-After", "3"),)),
    "503 without": lambda: json_response({"error": "unavailable"}, 503),
    "connection refused": raising(ConnectError("connection refused")),
    "timed out": raising(RequestTimeoutError("read timed out", may_have_reached_server=True)),
    "a bug": raising(RuntimeError("a bug in a transport")),
    "cancelled": None,  # its caller cancels it
}


class Ended:
    """What :func:`first_request_ends` saw."""

    def __init__(self, transport: FirstHeld) -> None:
        self.transport = transport
        self.results: dict[int, str] = {}
        self.gate: tuple[int, int] | None = None  # the gate's (free places, held) if still closed
        self.inflight = self.free_slots = self.cap = -1


def first_request_ends(
    end: str, *, held: int, cancel_held: frozenset[int] = frozenset(), max_concurrency: int | None = None
) -> Ended:
    """Request 0 goes first and ends as ``end`` says; ``held`` others wait meanwhile, and
    those in ``cancel_held`` are cancelled at the very moment the first one ends. Then the
    counters are read, and one more request must go through."""
    transport = FirstHeld()
    ending = ENDS[end]
    if ending is not None:
        transport.end = ending
    seen = Ended(transport)
    results = seen.results
    close = CloseAsync(
        api_key=API_KEY, transport=transport, base_url=BASE, retry=EXACT, max_concurrency=max_concurrency
    )

    async def get(index: int, scope: trio.CancelScope) -> None:
        with scope:
            try:
                await close.emails.get(f"acti_{index}")
                results[index] = "ok"
            except (CloseError, RuntimeError) as exc:
                results[index] = type(exc).__name__
        if scope.cancelled_caught:
            results[index] = "cancelled"

    async def main() -> None:
        limits = on_virtual_clock(close)
        scopes = [trio.CancelScope() for _ in range(held + 1)]
        with trio.fail_after(BOUND):
            async with close:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(get, 0, scopes[0])
                    await transport.first_arrived.wait()
                    for index in range(1, held + 1):
                        nursery.start_soon(get, index, scopes[index])
                    await trio.testing.wait_all_tasks_blocked()
                    assert len(transport.arrivals) == 1  # everybody else is held
                    # In one step: the first request ends, and the chosen held ones are cancelled.
                    if ending is None:
                        scopes[0].cancel()
                    else:
                        transport.release.set()
                    for index in cancel_held:
                        scopes[index].cancel()
                pacer, slots = limits.pacers[GROUP], limits.slots
                assert slots is not None
                seen.inflight, seen.free_slots = pacer.inflight, slots.free
                seen.cap = limits.max_concurrency or 0
                seen.gate = None if pacer.gate is None else (pacer.gate.free, pacer.gate.held)
                transport.release.set()
                await close.emails.get("acti_after")  # nothing was lost: one more goes through
                results[-1] = "after: ok"

    run_virtual(main)
    return seen


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    end=st.sampled_from(sorted(ENDS)),
    held=st.integers(1, 6),
    cancel_mask=st.integers(0, 63),
    max_concurrency=st.sampled_from([None, 1, 2]),
)
def test_whatever_ends_the_first_request_the_held_ones_go_on(
    end: str, held: int, cancel_mask: int, max_concurrency: int | None
) -> None:
    cancel_held = frozenset(i for i in range(1, held + 1) if cancel_mask >> (i - 1) & 1)
    seen = first_request_ends(end, held=held, cancel_held=cancel_held, max_concurrency=max_concurrency)
    results, transport = seen.results, seen.transport
    # Every request ended: none was left waiting for a gate that never opened.
    assert sorted(results) == list(range(-1, held + 1))
    for index in range(1, held + 1):
        assert results[index] == ("cancelled" if index in cancel_held else "ok"), results
    expected_first = {"cancelled": "cancelled", "a bug": "RuntimeError"}.get(end, "ok")  # GETs are retried
    assert results[0] == expected_first
    # Nobody was sent while the first request was out.
    assert [in_flight for in_flight, first_in in transport.arrivals if first_in] == []
    survivors = held - len(cancel_held)
    if end == "cancelled" and survivors >= 2:
        # Its place went to one held request, alone until it was answered: the next one
        # arrived after that answer.
        assert [in_flight for in_flight, _ in transport.arrivals[1:3]] == [1, 1]
    assert seen.inflight == 0
    assert seen.free_slots == seen.cap  # every slot came back
    if end == "cancelled" and cancel_held == set(range(1, held + 1)):
        assert seen.gate == (1, 0)  # nothing was learnt; the first place came back for the next one
    else:
        assert seen.gate is None  # opened, and forgotten once the held ones went on


def test_a_cancelled_first_request_hands_its_place_to_the_next_which_goes_alone() -> None:
    seen = first_request_ends("cancelled", held=5)
    assert seen.results == {-1: "after: ok", 0: "cancelled", **dict.fromkeys(range(1, 6), "ok")}
    first, second, *rest = seen.transport.arrivals
    assert first == (1, False)
    assert second == (1, False)  # the next one went alone: still nothing known ...
    assert [in_flight for in_flight, _ in rest[:4]] == [1, 2, 3, 4]  # ... the others after its answer
    assert len(rest) == 5  # the four others, and the one after


def test_a_first_request_that_fails_lets_the_held_ones_go_together() -> None:
    """No answer taught anything, but the held requests are not sent one by one into a
    server that does not answer: the gate opens for all of them (and the retry)."""
    seen = first_request_ends("connection refused", held=5)
    assert set(seen.results.values()) == {"ok", "after: ok"}
    assert max(in_flight for in_flight, _ in seen.transport.arrivals) >= 5  # together, not in turn


# --- when slow start does not hold anyone -----------------------------------------------------------


def concurrent_gets(close: CloseAsync, transport: FirstHeld, count: int) -> None:
    async def main() -> None:
        transport.release.set()  # nothing is held by the transport here
        with trio.fail_after(BOUND):
            async with close, trio.open_nursery() as nursery:
                for index in range(count):
                    nursery.start_soon(close.emails.get, f"acti_{index}")

    run_virtual(main)


def test_pace_rate_limits_false_has_no_slow_start() -> None:
    """``pace_rate_limits=False`` sends regardless: all go at once, as before."""
    transport = FirstHeld()
    close = CloseAsync(api_key=API_KEY, transport=transport, base_url=BASE, pace_rate_limits=False)
    concurrent_gets(close, transport, 8)
    assert [in_flight for in_flight, _ in transport.arrivals] == list(range(1, 9))


def test_a_budget_told_before_the_first_request_ends_the_slow_start() -> None:
    """A known budget (given to the pacer) paces from the first request: the 5 it allows go together."""
    transport = FirstHeld()
    close = CloseAsync(api_key=API_KEY, transport=transport, base_url=BASE)

    async def main() -> None:
        limits = on_virtual_clock(close)
        limits.observe(GROUP, RateLimit(limit=5, remaining=5, reset=1))
        transport.release.set()
        with trio.fail_after(BOUND):
            async with close, trio.open_nursery() as nursery:
                for index in range(8):
                    nursery.start_soon(close.emails.get, f"acti_{index}")

    run_virtual(main)
    assert [in_flight for in_flight, _ in transport.arrivals][:5] == [1, 2, 3, 4, 5]
    assert len(transport.arrivals) == 8
