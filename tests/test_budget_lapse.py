"""A learnt budget lapses when the server stops announcing it (``GroupPacer.silent``).

The rule: once ``limit`` answers in a row (a window's worth) came from Close without a
``RateLimit`` header, the group is unpaced again; a 5xx without it (a proxy's) does not
count. First on the pacer's arithmetic, then through the client against the fake on
virtual time (``tests/virtual_clock.py``), counting the waits the client reports
(``on_event``) rather than measuring time.
"""

from __future__ import annotations

import pytest
import trio

from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.pipeline.budget import GroupPacer
from closeasync.pipeline.pacing import RateLimitState
from closeasync.pipeline.ratelimit import RateLimit
from closeasync.pipeline.routes import ROUTES
from closeasync.retry import RetryPolicy
from tests.virtual_clock import BOUND, Events, on_virtual_clock, run_virtual, virtual_rate_limits

GROUP = ROUTES["email"]["get"].group
#: 429 waits exactly as asked, backoffs at their floor: every run is the same.
EXACT = RetryPolicy(random=lambda: 0.0)


# --- the pacer's arithmetic --------------------------------------------------------------------------


def test_fewer_answers_without_it_than_the_budget_change_nothing() -> None:
    """A header missing now and then: the budget Close announced still holds."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=3, remaining=0, reset=5), now=0.0)
    pacer.silent()
    pacer.silent()
    assert pacer.reserve(4.9) == pytest.approx(0.1)  # still waiting for the window's end
    assert [pacer.reserve(5.0) for _ in range(4)] == [0.0, 0.0, 0.0, pytest.approx(1.0)]


def test_a_budgets_worth_of_answers_without_it_lets_the_budget_lapse() -> None:
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=3, remaining=0, reset=5), now=0.0)
    for _ in range(3):
        pacer.silent()
    assert (pacer.limit, pacer.remaining, pacer.period) == (None, None, None)
    assert [pacer.reserve(0.0) for _ in range(100)] == [0.0] * 100  # unpaced, as never told


def test_each_announcement_starts_the_count_again() -> None:
    """Waves a window apart, the first answer of each lacking the header (a 404 from an
    edge, say): the others announce, so the budget holds however long this goes on."""
    pacer = GroupPacer(GROUP)
    for wave in range(50):
        pacer.silent()
        pacer.silent()
        pacer.observe(RateLimit(limit=3, remaining=0, reset=1), now=float(wave))
    assert pacer.limit == 3


def test_a_429_is_news_too() -> None:
    """Even one that only says ``Retry-After``: the count starts again after it."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=3, remaining=3, reset=1), now=0.0)
    pacer.silent()
    pacer.silent()
    pacer.rejected(0.2, now=1.0)
    pacer.silent()
    pacer.silent()
    assert pacer.limit == 3
    pacer.silent()
    assert pacer.limit is None


def test_a_429s_wait_outlives_the_lapse() -> None:
    """What lapses is the budget; a 429's explicit "not before" still holds."""
    pacer = GroupPacer(GROUP)
    pacer.observe(RateLimit(limit=2, remaining=0, reset=1), now=0.0)
    pacer.rejected(10.0, now=0.0)
    pacer.silent()
    pacer.silent()
    assert pacer.limit is None
    assert pacer.reserve(3.0) == pytest.approx(7.0)
    assert [pacer.reserve(10.0) for _ in range(60)] == [0.0] * 60


def test_only_closes_own_answers_count() -> None:
    """Through a turn: a 5xx without the header (a proxy's) leaves the count alone, and so
    does a 429 that only says ``Retry-After`` (Close is limiting)."""
    limits = RateLimitState(first_window=None)
    limits.observe(GROUP, RateLimit(limit=2, remaining=2, reset=1))
    for status in (502, 429, 503, 429, 504, 500):
        with limits.turn(GROUP) as turn:
            turn.answered((), status)
    assert limits.pacer(GROUP).limit == 2
    for status in (200, 404):
        with limits.turn(GROUP) as turn:
            turn.answered((), status)
    assert limits.pacer(GROUP).limit is None


# --- through the client --------------------------------------------------------------------------------


def after_one_429(count: int, *, concurrency: int) -> Events:
    """One 429 that announces ``limit=100, reset=2`` (as Close's does), then answers that
    carry no ``RateLimit`` at all; then ``count`` more GETs by ``concurrency`` tasks."""
    fake = FakeClose(seed=3)
    lead = fake.add_lead("Acme")["id"]
    ident = fake.add_activity("Email", lead_id=lead, subject="x")["id"]
    fake.faults.add("status", group=GROUP, status=429, retry_after=2.0, count=1)
    events = Events()

    async def main() -> None:
        left = count

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                await close.emails.get(ident)

        async with CloseAsync(
            api_key=fake.api_key, transport=fake.transport(), on_event=events, retry=EXACT
        ) as close:
            on_virtual_clock(close, first_window=None)  # every task at once, as before slow start
            with trio.fail_after(BOUND):
                await close.emails.get(ident)  # the 429, then its retry after 2 s
                async with trio.open_nursery() as nursery:
                    for _ in range(concurrency):
                        nursery.start_soon(worker)

    run_virtual(main)
    return events


@pytest.mark.parametrize("concurrency", [1, 20])
def test_a_budget_no_longer_announced_stops_pacing(concurrency: int) -> None:
    """1,000 GETs after the 429: once its ``limit=100`` answers came without the header,
    nothing is paced (a task may have been told to wait just before). As before, they
    would have waited at every 100th GET (the test below)."""
    events = after_one_429(1000, concurrency=concurrency)
    assert events.statuses == {429: 1, 200: 1001}
    retry, *paced = events.waits
    assert retry.attempt == 2  # the 429's own wait
    assert len(paced) < concurrency


def test_without_the_lapse_the_old_budget_kept_pacing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The behaviour the issue reported, for contrast: the test above guards against it."""
    monkeypatch.setattr(GroupPacer, "silent", lambda self: None)
    events = after_one_429(1000, concurrency=1)
    assert len(events.waits) >= 1 + 9  # 100 per 2 s, long after the server stopped saying so


def test_a_budget_still_announced_does_not_lapse_when_some_answers_lack_it() -> None:
    """A third of the answers are 503s without the header (a proxy in front): Close's
    other answers keep announcing, so the group stays paced and meets no 429."""
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Acme")["id"]
    ids = [fake.add_activity("Email", lead_id=lead, subject=str(i))["id"] for i in range(40)]
    fake.faults.add("status", group=GROUP, status=503, probability=0.33)
    events = Events()

    async def main() -> None:
        virtual_rate_limits(fake).set(budget=5, window=1.0)
        async with CloseAsync(
            api_key=fake.api_key, transport=fake.transport(), on_event=events, retry=EXACT
        ) as close:
            on_virtual_clock(close)
            with trio.fail_after(BOUND):
                async with trio.open_nursery() as nursery:
                    for ident in ids:
                        nursery.start_soon(close.emails.get, ident)

    run_virtual(main)
    assert events.statuses[503] > 5
    assert events.statuses[200] == 40
    assert events.statuses[429] == 0
    assert events.waits  # paced all along
