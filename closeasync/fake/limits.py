"""Rate limits and injected faults, per endpoint group (method + route).

Rate limits count requests in fixed windows measured on a real monotonic clock
(not the fake's frozen one: a client waiting out a 429 really waits), and answer
every response of a limited group with ``RateLimit: limit=, remaining=, reset=``
(comma or semicolon form) and exceeded requests with 429 and ``Retry-After``.

Faults are chosen per request: an error status, a delay, or a dropped connection,
each for the next ``count`` requests of a group or with a ``probability`` drawn
from a seeded generator, so a failing run can be replayed exactly.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from typing import Literal

import attrs

from ._http import FakeResponse

__all__ = ["Fault", "Faults", "RateLimits"]

ANY_GROUP = "*"


def _group_key(group: str | None) -> str:
    return ANY_GROUP if group is None else group


@attrs.define
class _Window:
    budget: int
    seconds: float
    separator: str
    started: float = -math.inf
    used: int = 0


class RateLimits:
    """Request budgets per endpoint group (``"GET /activity/email/"``), or for every group."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rules: dict[str, tuple[int, float, str]] = {}
        self._windows: dict[str, _Window] = {}
        self.rejected = 0

    def set(self, group: str | None = None, *, budget: int, window: float, separator: str = ",") -> None:
        """Allow ``budget`` requests per ``window`` seconds to ``group`` (None: each group).

        ``separator`` picks the header form: ``","`` (documented) or ``";"`` (seen live).
        """
        if budget < 1 or window <= 0 or separator not in (",", ";"):
            raise ValueError("budget >= 1, window > 0 and separator ',' or ';' are required")
        self._rules[_group_key(group)] = (budget, window, separator)
        self._windows.clear()

    def clear(self) -> None:
        """Remove every limit."""
        self._rules.clear()
        self._windows.clear()
        self.rejected = 0

    def check(self, group: str) -> tuple[FakeResponse | None, tuple[tuple[str, str], ...]]:
        """Count one request: return a 429 if over budget, and the headers to send either way."""
        rule = self._rules.get(group) or self._rules.get(ANY_GROUP)
        if rule is None:
            return None, ()
        budget, seconds, separator = rule
        window = self._windows.setdefault(group, _Window(budget, seconds, separator))
        now = self._clock()
        if now - window.started >= window.seconds:
            window.started, window.used = now, 0
        reset = max(0.0, window.started + window.seconds - now)
        sep = f"{separator} "
        if window.used >= window.budget:
            self.rejected += 1
            header = f"limit={budget}{sep}remaining=0{sep}reset={reset:.3f}"
            body = {"error": f"API rate limit exceeded for {group}; retry in {reset:.1f} s"}
            headers = (("RateLimit", header), ("Retry-After", str(max(1, math.ceil(reset)))))
            return FakeResponse(429, body, headers), headers
        window.used += 1
        header = f"limit={budget}{sep}remaining={budget - window.used}{sep}reset={reset:.3f}"
        return None, (("RateLimit", header),)


@attrs.define
class Fault:
    """One kind of failure for one group (``None``: every group).

    ``kind`` is ``"status"`` (answer ``status`` instead), ``"delay"`` (wait ``delay``
    seconds first) or ``"drop"`` (close the connection without an answer). With
    ``after=True`` the request is processed first, so the write happened but its
    answer is lost: the case a client must never repeat blindly. ``retry_after``
    (seconds) makes a ``"status"`` fault say when to come back, as Close's 429 does:
    ``RateLimit: ...reset=`` (exact) and ``Retry-After`` (rounded up). ``skip`` lets
    that many matching requests through untouched first (fail the 5th page, say).
    """

    kind: Literal["status", "delay", "drop"]
    group: str | None = None
    status: int = 503
    delay: float = 0.0
    after: bool = False
    count: int | None = None
    probability: float | None = None
    retry_after: float | None = None
    skip: int = 0


@attrs.frozen
class Chosen:
    """What the faults decided for one request."""

    status: int | None = None
    status_after: bool = False
    retry_after: float | None = None
    delay: float = 0.0
    drop: Literal["before", "after"] | None = None


class Faults:
    """The active faults, drawn with a seeded generator."""

    def __init__(self, seed: int = 0) -> None:
        self._random = random.Random(seed)
        self._faults: list[Fault] = []
        #: Called by :meth:`clear`: the served fake uses it to let requests held by a delay go.
        self.on_clear: list[Callable[[], None]] = []

    def add(
        self,
        kind: Literal["status", "delay", "drop"],
        *,
        group: str | None = None,
        status: int = 503,
        delay: float = 0.0,
        after: bool = False,
        count: int | None = None,
        probability: float | None = None,
        retry_after: float | None = None,
        skip: int = 0,
    ) -> Fault:
        """Inject a fault for the next ``count`` requests or with ``probability`` (exactly one).

        ``skip`` lets that many matching requests pass first.
        """
        if (count is None) == (probability is None):
            raise ValueError("give exactly one of count= or probability=")
        if retry_after is not None and (kind != "status" or retry_after < 0):
            raise ValueError("retry_after= goes with a kind='status' fault, and is 0 or more")
        if skip < 0:
            raise ValueError("skip= is 0 or more")
        fault = Fault(kind, group, status, delay, after, count, probability, retry_after, skip)
        self._faults.append(fault)
        return fault

    def clear(self, seed: int | None = None) -> None:
        """Remove every fault (and reseed, if asked); answers held back by a delay go at once."""
        self._faults.clear()
        for callback in self.on_clear:
            callback()
        if seed is not None:
            self._random.seed(seed)

    def choose(self, group: str) -> Chosen:
        """Decide the faults of one request of ``group``."""
        status: int | None = None
        status_after = False
        retry_after: float | None = None
        delay = 0.0
        drop: Literal["before", "after"] | None = None
        for fault in list(self._faults):
            if fault.group not in (None, group):
                continue
            if fault.skip > 0:
                fault.skip -= 1
                continue
            if fault.count is not None:
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.remove(fault)
            elif self._random.random() >= (fault.probability or 0.0):
                continue
            if fault.kind == "delay":
                delay += fault.delay
            elif fault.kind == "status" and status is None:
                status, status_after, retry_after = fault.status, fault.after, fault.retry_after
            elif fault.kind == "drop" and drop is None:
                drop = "after" if fault.after else "before"
        return Chosen(status, status_after, retry_after, delay, drop)
