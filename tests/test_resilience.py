"""Resilience end to end: a 429 storm, 5xx bursts and lost answers, never a duplicate write.

Every test runs twice (``target``): in-process (``fake.transport()``) and over real HTTP
(:func:`closeasync.fake.app.serve` on 127.0.0.1, the real aiohttp transport). The fake
counts the requests it is sent, the client's ``on_event`` hook counts what the client
did, and the fake's store and outbox say what happened: each write is there once, or the
caller was told its outcome is unknown. Timeouts, cancellation and the connection pool are
in ``test_resilience_http.py``.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any

import anyio
import attrs
import pytest

from closeasync import CloseAsync, CloseError
from closeasync.errors import WriteOutcomeUnknownError
from closeasync.fake import FakeClose, FakeRequest, Outcome
from closeasync.fake.app import serve
from closeasync.models.email import Email
from closeasync.pipeline.routes import match
from closeasync.pipeline.sender import RequestEvent
from closeasync.retry import RetryPolicy

SEED = 5
SENDER = "me@fake.close.test"
CREATE = "POST /activity/email/"
UPDATE = "PUT /activity/email/{id}/"
DELETE = "DELETE /activity/email/{id}/"
#: A bound on each test's network work, far above what it needs (a hang fails, not stalls).
BOUND = 60.0


class CountingFake(FakeClose):
    """A FakeClose that counts the requests it is sent, by endpoint group."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.received: Counter[str] = Counter()

    def handle(self, request: FakeRequest) -> Outcome:
        found = match(request.method, request.path)
        self.received[found[0].group if found else "unknown"] += 1
        return super().handle(request)


@attrs.frozen
class Target:
    """One way of reaching the fake: in-process, or over HTTP at ``base_url``."""

    name: str
    fake: CountingFake
    base_url: str | None = None

    def client(self, **options: Any) -> CloseAsync:
        """A client of the fake; use ``async with``."""
        if self.base_url is None:
            return CloseAsync(api_key=self.fake.api_key, transport=self.fake.transport(), **options)
        return CloseAsync(api_key=self.fake.api_key, base_url=self.base_url, **options)


@pytest.fixture(params=["inprocess", "http"])
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    fake = CountingFake(seed=SEED)
    if request.param == "inprocess":
        yield Target("inprocess", fake)
        return
    async with serve(fake) as server:
        yield Target("http", fake, server.base_url)


class Events:
    """An ``on_event`` hook that counts what the client did."""

    def __init__(self) -> None:
        self.kinds: Counter[str] = Counter()
        self.statuses: Counter[tuple[str, int | None]] = Counter()
        self.errors: list[str] = []

    def __call__(self, event: RequestEvent) -> None:
        self.kinds[event.kind] += 1
        self.statuses[event.kind, event.status] += 1
        if event.kind in ("retry", "give_up") and event.status is None:
            self.errors.append(event.error or "")

    @property
    def requests(self) -> int:
        return self.kinds["request"]

    @property
    def retries(self) -> int:
        return self.kinds["retry"]

    def answered(self, status: int) -> int:
        """Responses with ``status`` the client received."""
        return self.statuses["response", status]

    def check_consistent(self) -> None:
        """Every attempt ended in a response or in a transport failure (retried or given up)."""
        assert self.requests == self.kinds["response"] + len(self.errors), self.kinds


def fast_retry(max_attempts: int = 12) -> RetryPolicy:
    """The default rules with millisecond backoffs (and seeded jitter), so bursts are quick."""
    return RetryPolicy(
        max_attempts=max_attempts,
        backoff_base=0.002,
        backoff_max=0.02,
        random=random.Random(SEED).random,
    )


async def run_all(jobs: Sequence[Callable[[], Awaitable[None]]], *, tasks: int) -> None:
    """Run ``jobs`` on ``tasks`` concurrent workers; any exception fails the group."""
    queue = deque(jobs)

    async def worker() -> None:
        while queue:
            await queue.popleft()()

    async with anyio.create_task_group() as group:
        for _ in range(tasks):
            group.start_soon(worker)


#: What each call returned, or the closeasync error it raised, by key.
Outcomes = dict[str, object]


async def attempt_all(calls: Mapping[str, Callable[[], Awaitable[object]]], *, tasks: int = 20) -> Outcomes:
    """Run every call on ``tasks`` workers; record its result or the CloseError it raised."""
    outcomes: Outcomes = {}

    def job(key: str, call: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        async def attempt() -> None:
            try:
                outcomes[key] = await call()
            except CloseError as exc:
                outcomes[key] = exc

        return attempt

    await run_all([job(k, c) for k, c in calls.items()], tasks=tasks)
    return outcomes


async def create_all(close: CloseAsync, lead: str, subjects: Sequence[str]) -> Outcomes:
    """Create one draft per subject (20 at a time): each gives an Email or an error."""
    return await attempt_all(
        {s: partial(close.emails.create, lead_id=lead, status="draft", subject=s) for s in subjects}
    )


def stored_subjects(fake: FakeClose, lead: str) -> Counter[str]:
    """How many times each subject is in the fake's store, for one lead's emails."""
    return Counter(
        a["subject"] for a in fake.activities.values() if a["_type"] == "Email" and a["lead_id"] == lead
    )


def unknown(outcomes: Outcomes) -> set[str]:
    """The keys whose write may have been processed, checking that the rest made an Email."""
    others = {k: o for k, o in outcomes.items() if not isinstance(o, Email | WriteOutcomeUnknownError)}
    assert not others, others
    return {k for k, o in outcomes.items() if isinstance(o, WriteOutcomeUnknownError)}


# -- a 429 storm ----------------------------------------------------------------------------

STORM_GETS = 10_000
STORM_CREATES = 1_000
STORM_TASKS = 50
#: (budget, window) of every endpoint group: 1,500 requests/s in-process and 600/s over HTTP.
#: Unlimited, this mix runs at ~5,000/s in-process and ~1,800/s over HTTP on 2 cores (about a
#: third of it per GET group), so the limit binds in both. Budgets are at least the 50 tasks:
#: below that, a window's budget can be spent before any of its answers says when it ends,
#: and the pacer then waits in steps of a whole second, however short the window.
STORM_LIMITS = {"inprocess": (75, 0.05), "http": (60, 0.1)}


async def test_429_storm(target: Target, record_property: Callable[[str, object], None]) -> None:
    """10,000 GETs over three endpoint groups and 1,000 creates on 50 tasks, one client with
    the default policy and pacing: nothing raised, every email made exactly once (and each
    outbox one sent once), and 429s are a sliver of the requests."""
    fake = target.fake
    reader = fake.add_lead("Reader")["id"]
    writer = fake.add_lead("Writer")["id"]
    email = fake.add_activity("Email", lead_id=reader, status="draft", subject="Read me")["id"]
    sms = fake.add_activity("SMS", lead_id=reader, status="draft", text="Read me")["id"]
    budget, window = STORM_LIMITS[target.name]
    fake.rate_limits.set(budget=budget, window=window)
    done: Counter[str] = Counter()

    async def read(close: CloseAsync, n: int) -> None:
        if n % 3 == 0:
            assert (await close.emails.get(email)).id == email
        elif n % 3 == 1:
            assert (await close.sms.get(sms)).id == sms
        else:
            assert [s.id for s in await close.sms.list(lead_id=reader).collect()] == [sms]
        done["get"] += 1

    subjects = [f"storm-{n:04d}" for n in range(STORM_CREATES)]
    outbox = {s for n, s in enumerate(subjects) if n % 10 == 0}

    async def create(close: CloseAsync, subject: str) -> None:
        if subject in outbox:
            made = await close.emails.create(lead_id=writer, status="outbox", sender=SENDER, subject=subject)
        else:
            made = await close.emails.create(lead_id=writer, status="draft", subject=subject)
        assert made.subject == subject
        done["create"] += 1

    events = Events()
    async with target.client(on_event=events) as close:
        jobs: list[Callable[[], Awaitable[None]]] = [
            *(partial(read, close, n) for n in range(STORM_GETS)),
            *(partial(create, close, s) for s in subjects),
        ]
        random.Random(SEED).shuffle(jobs)
        started = anyio.current_time()
        with anyio.fail_after(BOUND):
            await run_all(jobs, tasks=STORM_TASKS)
        elapsed = anyio.current_time() - started

    assert done == {"get": STORM_GETS, "create": STORM_CREATES}
    assert stored_subjects(fake, writer) == Counter(subjects)  # each exactly once
    fake.advance(1)
    assert Counter(m.message["subject"] for m in fake.sent_emails) == Counter(outbox)

    rejected = fake.rate_limits.rejected
    summary = f"{target.name}: {events.requests} requests, {rejected} 429s, {elapsed:.2f} s, {events.kinds}"
    record_property("storm", summary)
    print("429 storm", summary)  # shown with -s or -rP
    events.check_consistent()
    assert events.errors == []  # no transport failure
    assert events.kinds["give_up"] == 0
    assert events.answered(429) == rejected  # every 429 the fake gave, the client saw
    assert events.retries == events.statuses["retry", 429] == rejected  # and retried only those
    assert events.requests == STORM_GETS + STORM_CREATES + rejected == fake.received.total()
    assert events.kinds["wait"] > 0  # the limit bound: the client held requests back
    assert rejected < 0.05 * events.requests


# -- 5xx bursts -----------------------------------------------------------------------------


def populate(fake: FakeClose) -> tuple[str, list[str]]:
    """A lead with 30 emails and 30 SMS (seeded ids: the same in every fake of the same seed)."""
    lead = fake.add_lead("Acme")["id"]
    ids = []
    for n in range(30):
        fake.clock.advance(1)
        ids.append(fake.add_activity("Email", lead_id=lead, status="draft", subject=f"email {n}")["id"])
        ids.append(fake.add_activity("SMS", lead_id=lead, status="draft", text=f"sms {n}")["id"])
    return lead, ids


async def read_everything(close: CloseAsync, lead: str, ids: Sequence[str]) -> dict[str, object]:
    """Get every email and SMS one by one (on 10 tasks), and list them in pages of 7."""
    got: dict[str, object] = {}

    def job(n: int, ident: str) -> Callable[[], Awaitable[None]]:
        async def get() -> None:
            got[ident] = await (close.emails.get(ident) if n % 2 == 0 else close.sms.get(ident))

        return get

    await run_all([job(n, i) for n, i in enumerate(ids)], tasks=10)
    got["emails listed"] = await close.emails.list(lead_id=lead, page_size=7).collect()
    got["sms listed"] = await close.sms.list(lead_id=lead, page_size=7).collect()
    return got


async def test_5xx_burst_gets_recover(target: Target) -> None:
    """With 30% of answers a 503, every GET still returns what a healthy Close returns."""
    clean = FakeClose(seed=SEED)
    lead, ids = populate(clean)
    assert populate(target.fake) == (lead, ids)
    target.fake.faults.add("status", status=503, probability=0.3)
    events = Events()
    with anyio.fail_after(BOUND):
        async with CloseAsync(api_key=clean.api_key, transport=clean.transport()) as close:
            expected = await read_everything(close, lead, ids)
        async with target.client(retry=fast_retry(), on_event=events) as close:
            assert await read_everything(close, lead, ids) == expected
    events.check_consistent()
    assert events.answered(503) > 0.2 * events.requests
    assert events.retries == events.statuses["retry", 503] == events.answered(503)
    assert events.kinds["give_up"] == 0
    assert events.requests == len(ids) + 2 * 5 + events.answered(503)  # 5 pages each listing


async def test_5xx_to_creates_is_never_repeated(target: Target) -> None:
    """A POST answered 503 is not repeated (it may have been processed): the caller is told so."""
    fake = target.fake
    lead = fake.add_lead("Acme")["id"]
    fake.faults.add("status", group=CREATE, status=503, probability=0.15)  # refused
    fake.faults.add("status", group=CREATE, status=503, after=True, probability=0.15)  # done, then 503
    subjects = [f"create {n}" for n in range(100)]
    events = Events()
    async with target.client(retry=fast_retry(), on_event=events) as close:
        with anyio.fail_after(BOUND):
            outcomes = await create_all(close, lead, subjects)
    stored = stored_subjects(fake, lead)
    assert max(stored.values()) == 1
    lost = unknown(outcomes)
    assert set(subjects) - lost <= set(stored) <= set(subjects)
    assert lost & set(stored), "some 503s came after the email was made"
    assert lost - set(stored), "some 503s came before"
    for subject in lost:
        error = outcomes[subject]
        assert isinstance(error, WriteOutcomeUnknownError)
        assert error.method == "POST"
        assert "may have been processed" in str(error)
    events.check_consistent()
    assert events.requests == len(subjects) == fake.received[CREATE]  # nothing sent twice
    assert events.retries == 0


# -- lost answers: the connection drops -----------------------------------------------------


async def test_lost_answers_to_creates_raise_outcome_unknown(target: Target) -> None:
    """A create whose connection dropped after Close made the email raises
    WriteOutcomeUnknownError, is not repeated, and the email is there exactly once."""
    fake = target.fake
    lead = fake.add_lead("Acme")["id"]
    fake.faults.add("drop", after=True, probability=0.2)
    subjects = [f"create {n}" for n in range(200)]
    events = Events()
    async with target.client(on_event=events) as close:  # the default policy
        with anyio.fail_after(BOUND):
            outcomes = await create_all(close, lead, subjects)
    stored = stored_subjects(fake, lead)
    assert stored == Counter(subjects)  # every write happened, once
    lost = unknown(outcomes)
    assert 20 < len(lost) < 60
    assert lost <= set(stored)  # the answer was lost, not the write
    events.check_consistent()
    assert events.requests == len(subjects) == fake.received[CREATE]
    assert events.retries == 0
    assert len(events.errors) == events.kinds["give_up"] == len(lost)


async def test_creates_dropped_before_processing_are_recovered_by_checking(target: Target) -> None:
    """A drop before processing looks the same on the wire as one after, so the create raises
    WriteOutcomeUnknownError too (and was not made); listing and creating what is missing,
    as the error says, ends with every email exactly once. GETs under drops just retry."""
    fake = target.fake
    lead = fake.add_lead("Acme")["id"]
    fake.faults.add("drop", probability=0.2)
    subjects = [f"create {n}" for n in range(100)]
    async with target.client(retry=fast_retry()) as close:
        with anyio.fail_after(BOUND):
            outcomes = await create_all(close, lead, subjects)
            lost = unknown(outcomes)
            assert lost
            assert not lost & set(stored_subjects(fake, lead))
            missing = set(subjects)
            for _ in range(10):  # bounded: each round makes ~80% of what is missing
                listed = {e.subject for e in await close.emails.list(lead_id=lead).collect()}
                missing -= listed
                if not missing:
                    break
                await create_all(close, lead, sorted(missing))
    assert not missing
    assert stored_subjects(fake, lead) == Counter(subjects)


async def test_lost_answer_to_a_send_is_never_repeated(
    target: Target, request: pytest.FixtureRequest
) -> None:
    """A sending PUT whose answer was lost raises WriteOutcomeUnknownError, is never sent
    again, and the outbox shows each email once."""
    fake = target.fake
    lead = fake.add_lead("Acme")["id"]
    drafts = [
        fake.add_activity("Email", lead_id=lead, status="draft", subject=f"send {n}", to=["ann@example.com"])[
            "id"
        ]
        for n in range(40)
    ]
    fake.faults.add("drop", group=UPDATE, after=True, probability=0.3)
    events = Events()
    async with target.client(on_event=events) as close:
        with anyio.fail_after(BOUND):
            outcomes = await attempt_all({d: partial(close.emails.send, d, sender=SENDER) for d in drafts})
    assert fake.received[UPDATE] == len(drafts) == events.requests  # no send was asked twice
    events.check_consistent()
    assert 0 < len(unknown(outcomes)) < len(drafts)
    assert all(o.status == "outbox" for o in outcomes.values() if isinstance(o, Email))
    fake.advance(60)
    assert Counter(m.message["id"] for m in fake.sent_emails) == Counter(drafts)


async def test_lost_answer_to_a_delete_still_succeeds(target: Target, request: pytest.FixtureRequest) -> None:
    """A DELETE whose answer was lost is repeated (harmless); its 404 then means it worked."""
    fake = target.fake
    lead = fake.add_lead("Acme")["id"]
    drafts = [fake.add_activity("Email", lead_id=lead, status="draft")["id"] for _ in range(40)]
    fake.faults.add("drop", group=DELETE, after=True, probability=0.3)
    events = Events()
    async with target.client(retry=fast_retry(), on_event=events) as close:
        with anyio.fail_after(BOUND):
            outcomes = await attempt_all({d: partial(close.emails.delete, d) for d in drafts})
    assert fake.received[DELETE] == events.requests  # every repeat was the policy's
    events.check_consistent()
    assert outcomes == dict.fromkeys(drafts)
    assert not set(drafts) & set(fake.activities)
    assert events.retries == len(events.errors) > 0
