"""Two rate-limit scenarios of issue #20, for ``bench_ratelimit.py`` (not a benchmark itself).

- **Cold start**: N concurrent GETs from a new client against a budget of B per window,
  nothing known yet. With slow start (now) the first request goes alone and its answer
  tells the budget; before, all N went at once and all but B came back 429. Both run
  here, the old way by giving the client a pacer without slow start
  (``RateLimitState(first_window=None)``). Ideal pacing, for reference: the last of the
  N goes at the start of window ``ceil(N / B)``, i.e. after ``(ceil(N / B) - 1)`` windows.
- **A budget no longer announced**: a storm of S seconds in which every listing request
  is answered 429 with ``RateLimit: limit=L, remaining=0, reset=<the storm's end>`` and
  ``Retry-After``, then normal answers without any ``RateLimit``; a listing of P pages
  starts with the storm. Now the budget lapses once L answers came without the header;
  before (here: ``GroupPacer.silent`` switched off) the client went on at L pages per
  S seconds. For reference, the same storm sending only ``Retry-After`` (nothing learnt).

Both use the fake served on 127.0.0.1 and real time; every run has a time limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import attrs

from closeasync import CloseAsync
from closeasync.fake import FakeClose, FakeRequest, FakeResponse, Outcome
from closeasync.pipeline.budget import GroupPacer
from closeasync.pipeline.pacing import RateLimitState
from closeasync.pipeline.routes import ROUTES, match

GET_GROUP = ROUTES["email"]["get"].group
LIST_GROUP = ROUTES["email"]["list"].group
HEADER = ["scenario", "pacing", "requests", "429s", "429 share", "seconds", "reference s"]
#: Longest a run may take before it fails.
TIME_LIMIT = 120.0


class StormFake(FakeClose):
    """A FakeClose that counts what it answers and can answer every listing request 429
    until ``storm_until`` (``time.monotonic``), with or without a ``RateLimit`` header."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self.received = 0
        self.storm_until = -math.inf
        self.storm_limit = 50
        self.storm_header = True
        self.storm_rejected = 0

    def handle(self, request: FakeRequest) -> Outcome:
        with self._lock:
            self.received += 1
        found = match(request.method, request.path)
        left = self.storm_until - time.monotonic()
        if found is not None and found[0].group == LIST_GROUP and left > 0:
            with self._lock:
                self.storm_rejected += 1
            headers: tuple[tuple[str, str], ...] = (("Retry-After", str(math.ceil(left))),)
            if self.storm_header:
                header = f"limit={self.storm_limit}, remaining=0, reset={left:.3f}"
                headers = (("RateLimit", header), *headers)
            return Outcome(FakeResponse(429, {"error": "API rate limit exceeded"}, headers))
        return super().handle(request)

    def rejected(self) -> int:
        return self.rate_limits.rejected + self.storm_rejected


@attrs.frozen
class ScenarioRun:
    scenario: str
    pacing: str
    requests: int
    rejected: int
    seconds: float
    reference: float

    def row(self) -> list[str]:
        share = self.rejected / self.requests if self.requests else 0.0
        return [
            self.scenario,
            self.pacing,
            str(self.requests),
            str(self.rejected),
            f"{share:.1%}",
            f"{self.seconds:.2f}",
            f"{self.reference:.2f}",
        ]


def without_slow_start(close: CloseAsync) -> None:
    """Give ``close`` a pacer without slow start: a cold start sends everything at once, as before #20."""
    pipeline = close._connection.pipeline
    old = pipeline.limits
    pipeline.limits = RateLimitState(max_concurrency=old.max_concurrency, pace=old.pace, first_window=None)


@contextlib.contextmanager
def without_lapse() -> Iterator[None]:
    """A learnt budget never lapses, as before #20."""
    saved = GroupPacer.silent
    GroupPacer.silent = _never_lapse  # type: ignore[method-assign]  # for this run only
    try:
        yield
    finally:
        GroupPacer.silent = saved  # type: ignore[method-assign]


def _never_lapse(self: GroupPacer) -> None:
    """``GroupPacer.silent`` before #20: answers without the header changed nothing."""


async def cold_start(
    fake: StormFake, base_url: str, email: str, *, tasks: int, budget: int, window: float, slow_start: bool
) -> ScenarioRun:
    """``tasks`` GETs at once from a new client, the fake allowing ``budget`` per ``window``."""
    fake.rate_limits.set(GET_GROUP, budget=budget, window=window)  # a fresh window
    received, rejected = fake.received, fake.rejected()
    async with CloseAsync(api_key=fake.api_key, base_url=base_url) as close:
        if not slow_start:
            without_slow_start(close)
        started = time.perf_counter()
        async with asyncio.timeout(TIME_LIMIT), asyncio.TaskGroup() as group:
            for _ in range(tasks):
                group.create_task(close.emails.get(email))
        elapsed = time.perf_counter() - started
    ideal = (math.ceil(tasks / budget) - 1) * window
    return ScenarioRun(
        f"cold start: {tasks} GETs, {budget} per {window:g} s",
        "slow start (now)" if slow_start else "all at once (before)",
        fake.received - received,
        fake.rejected() - rejected,
        elapsed,
        ideal,
    )


async def storm_listing(
    fake: StormFake, base_url: str, *, pages: int, storm: float, header: bool, lapse: bool
) -> ScenarioRun:
    """A listing of ``pages`` pages starting with a storm of 429s ``storm`` seconds long."""
    fake.rate_limits.clear()  # after the storm: no RateLimit header at all
    received, rejected = fake.received, fake.rejected()
    fake.storm_header = header
    async with CloseAsync(api_key=fake.api_key, base_url=base_url) as close:
        started = time.perf_counter()
        fake.storm_until = time.monotonic() + storm
        with contextlib.nullcontext() if lapse else without_lapse():
            async with asyncio.timeout(TIME_LIMIT):
                seen = sum([1 async for _ in close.emails.list(page_size=1)])
        elapsed = time.perf_counter() - started
    if seen != pages:
        raise RuntimeError(f"the listing gave {seen} emails, not {pages}")
    says = f"RateLimit limit={fake.storm_limit} + Retry-After" if header else "Retry-After only"
    return ScenarioRun(
        f"{storm:g} s storm of 429s ({says}), then {pages} pages",
        ("lapses (now)" if lapse else "kept (before)") if header else "nothing learnt",
        fake.received - received,
        fake.rejected() - rejected,
        elapsed,
        storm,
    )
