"""When to repeat a request, and how long to wait first: a small, pure policy.

Close has no idempotency keys, so a request is repeated only when repeating it is
harmless:

- **429** always: the server refused before acting. Wait what it asked (the
  ``RateLimit`` header's ``reset``, else ``Retry-After``, else a default), plus a
  little jitter; if it asks for longer than ``max_rate_limit_wait``, fail at once
  with a :class:`~closeasync.errors.RateLimitError` saying how long.
- **5xx and timeouts** only for GET, PUT and DELETE, with capped exponential
  backoff and full jitter, and never for a request that *sends* (a PUT moving an
  email or SMS to ``outbox``/``scheduled``): sending twice is the one thing a sync
  job must never do.
- **Connection failures** for any method, but only when the request provably
  never left (connection refused, name not resolved). After that, a write that
  failed raises :class:`~closeasync.errors.WriteOutcomeUnknownError`: the caller
  checks (by listing, say) instead of guessing.

``RetryPolicy(max_attempts=1)`` disables retries. What a failure that is not repeated
means for a write is decided beside the policy, in :mod:`closeasync.pipeline.outcomes`.

>>> policy = RetryPolicy()
>>> policy.decide_status("GET", sends=False, status=503, attempt=1, retry_after=None).retry
True
>>> policy.decide_status("POST", sends=False, status=503, attempt=1, retry_after=None).retry
False
"""

from __future__ import annotations

import random
from collections.abc import Callable

import attrs

__all__ = ["Decision", "RetryPolicy"]

_IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})


@attrs.frozen
class Decision:
    """What to do after a failed attempt.

    ``retry`` with ``delay`` seconds to wait first; otherwise ``reason`` says why not
    (``"exhausted"``, ``"not-idempotent"``, ``"sends"``, ``"wait-too-long"``, ``"fatal"``).
    """

    retry: bool
    delay: float = 0.0
    reason: str = ""


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How a client repeats failed requests.

    Args:
        max_attempts: attempts in all, the first included (1 disables retries).
        backoff_base: first backoff ceiling in seconds for 5xx/timeouts (doubling).
        backoff_max: the ceiling's cap.
        rate_limit_default: wait after a 429 that says nothing about when to retry.
        max_rate_limit_wait: longest wait a 429 may ask for; longer fails at once.
        rate_limit_jitter: extra random wait after a 429, as a fraction of it (never past
            ``max_rate_limit_wait``).
        retry_statuses: statuses (besides 429) worth retrying for idempotent requests.
        random: the random source (seed it for reproducible waits in tests).
    """

    max_attempts: int = 6
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    rate_limit_default: float = 2.0
    max_rate_limit_wait: float = 120.0
    rate_limit_jitter: float = 0.1
    retry_statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    random: Callable[[], float] = attrs.field(default=random.random, repr=False)

    def __attrs_post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        waits = (
            self.backoff_base,
            self.backoff_max,
            self.rate_limit_default,
            self.max_rate_limit_wait,
            self.rate_limit_jitter,
        )
        if not all(w >= 0 for w in waits):  # NaN fails this too
            raise ValueError("waits and the jitter cannot be negative (or NaN)")

    def backoff(self, attempt: int) -> float:
        """Full-jitter exponential backoff after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return float(ceiling * self.random())

    @staticmethod
    def repeatable(method: str, *, sends: bool) -> bool:
        """Whether repeating this request after it may have reached Close is harmless."""
        return method.upper() in _IDEMPOTENT and not sends

    def decide_rate_limited(self, *, attempt: int, asked: float | None) -> Decision:
        """After a 429: wait what Close asked (capped), whatever the method."""
        wait = self.rate_limit_default if asked is None else asked
        if wait > self.max_rate_limit_wait:
            return Decision(False, wait, "wait-too-long")
        if attempt >= self.max_attempts:
            return Decision(False, wait, "exhausted")
        # The jitter never takes the wait past the cap: the pacer refuses longer waits.
        jittered = wait * (1 + self.rate_limit_jitter * self.random())
        return Decision(True, min(jittered, self.max_rate_limit_wait))

    def decide_status(
        self, method: str, *, sends: bool, status: int, attempt: int, retry_after: float | None
    ) -> Decision:
        """After a 5xx (or another retryable status): only idempotent, non-sending requests."""
        if status not in self.retry_statuses:
            return Decision(False, reason="fatal")
        if not self.repeatable(method, sends=sends):
            return Decision(False, reason="sends" if sends else "not-idempotent")
        if attempt >= self.max_attempts:
            return Decision(False, reason="exhausted")
        backoff = self.backoff(attempt)
        return Decision(True, max(backoff, min(retry_after or 0.0, self.backoff_max)))

    def decide_transport(self, method: str, *, sends: bool, reached: bool, attempt: int) -> Decision:
        """After no response: retry if it never left, or if repeating it is harmless."""
        if attempt >= self.max_attempts:
            return Decision(False, reason="exhausted")
        if reached and not self.repeatable(method, sends=sends):
            return Decision(False, reason="sends" if sends else "not-idempotent")
        return Decision(True, self.backoff(attempt))
