"""RetryPolicy: a pure object, so every decision is a table row (no I/O, no clock)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from closeasync.retry import Decision, RetryPolicy


def always(value: float) -> RetryPolicy:
    """A policy whose random source always returns ``value`` (0.0 or 1.0: the extremes)."""
    return RetryPolicy(random=lambda: value)


# --- 429: always retried, the wait Close asked for ------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "rand", "expected"),
    [
        (None, 0.0, 2.0),  # nothing said: rate_limit_default
        (None, 1.0, 2.2),  # ...plus at most 10 % jitter
        (5.0, 0.0, 5.0),  # exactly what was asked when the jitter draws 0
        (5.0, 1.0, 5.5),  # asked * (1 + rate_limit_jitter) at the top of the draw
        (0.0, 1.0, 0.0),  # "go now" stays "go now"
        (120.0, 0.0, 120.0),  # the cap itself is still allowed
    ],
)
def test_rate_limited_waits_what_was_asked(asked: float | None, rand: float, expected: float) -> None:
    """A 429 is retried after what Close asked (or the default), jittered upwards only."""
    decision = always(rand).decide_rate_limited(attempt=1, asked=asked)
    assert decision.retry
    assert decision.delay == pytest.approx(expected)
    assert decision.reason == ""


@pytest.mark.parametrize("rand", [0.0, 0.25, 0.5, 0.999, 1.0])
def test_rate_limited_jitter_is_bounded(rand: float) -> None:
    """The jitter never shortens the wait and never adds more than rate_limit_jitter of it."""
    policy = RetryPolicy(rate_limit_jitter=0.2, random=lambda: rand)
    delay = policy.decide_rate_limited(attempt=2, asked=10.0).delay
    assert 10.0 <= delay <= 12.0
    assert delay == pytest.approx(10.0 * (1 + 0.2 * rand))


def test_rate_limited_default_is_configurable() -> None:
    policy = RetryPolicy(rate_limit_default=7.0, random=lambda: 0.0)
    assert policy.decide_rate_limited(attempt=1, asked=None) == Decision(True, 7.0)


@pytest.mark.parametrize("attempt", [1, 3, 6])
def test_rate_limited_too_long_fails_at_once(attempt: int) -> None:
    """Asking for more than max_rate_limit_wait is not retried, whatever the attempt."""
    decision = always(0.0).decide_rate_limited(attempt=attempt, asked=120.5)
    assert decision == Decision(False, 120.5, "wait-too-long")


def test_rate_limited_default_beyond_the_cap_is_too_long() -> None:
    policy = RetryPolicy(rate_limit_default=30.0, max_rate_limit_wait=10.0)
    assert policy.decide_rate_limited(attempt=1, asked=None) == Decision(False, 30.0, "wait-too-long")


def test_rate_limited_jitter_never_exceeds_the_cap() -> None:
    """Asking for just under the cap is retried, and the jittered wait stays within the cap.

    (The pipeline waits through the group's pacer, which refuses waits longer than the
    cap: a jittered wait above it would turn an allowed retry into a RateLimitError.)
    """
    policy = RetryPolicy(max_rate_limit_wait=10.0, rate_limit_jitter=0.5, random=lambda: 1.0)
    decision = policy.decide_rate_limited(attempt=1, asked=9.0)
    assert decision.retry
    assert 9.0 <= decision.delay <= 10.0


@pytest.mark.parametrize(("attempt", "retry"), [(1, True), (5, True), (6, False), (7, False)])
def test_rate_limited_exhausted_at_max_attempts(attempt: int, retry: bool) -> None:
    decision = always(0.0).decide_rate_limited(attempt=attempt, asked=1.0)
    assert decision.retry is retry
    assert decision.reason == ("" if retry else "exhausted")


# --- 5xx: only idempotent requests that do not send ----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "get", "HEAD", "OPTIONS"])
@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_status_idempotent_methods_are_retried(method: str, status: int) -> None:
    decision = always(1.0).decide_status(method, sends=False, status=status, attempt=1, retry_after=None)
    assert decision == Decision(True, 0.5)  # the first backoff ceiling, at the top of the draw


@pytest.mark.parametrize("status", [500, 502, 503, 504])
@pytest.mark.parametrize("attempt", [1, 6])
def test_status_post_is_never_retried(status: int, attempt: int) -> None:
    decision = always(0.0).decide_status("POST", sends=False, status=status, attempt=attempt, retry_after=1)
    assert decision == Decision(False, reason="not-idempotent")


@pytest.mark.parametrize("method", ["PUT", "POST", "GET"])
def test_status_sending_request_is_never_retried(method: str) -> None:
    """A request that sends an email or SMS is not repeated once Close may have acted."""
    decision = always(0.0).decide_status(method, sends=True, status=503, attempt=1, retry_after=None)
    assert decision == Decision(False, reason="sends")


@pytest.mark.parametrize("status", [400, 401, 402, 403, 404, 405, 409, 415, 422, 501, 505])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_status_other_errors_are_fatal(status: int, method: str) -> None:
    decision = always(0.0).decide_status(method, sends=False, status=status, attempt=1, retry_after=None)
    assert decision == Decision(False, reason="fatal")


def test_status_retry_statuses_are_configurable() -> None:
    policy = RetryPolicy(retry_statuses=frozenset({409}), random=lambda: 1.0)
    assert policy.decide_status("GET", sends=False, status=409, attempt=1, retry_after=None).retry
    assert policy.decide_status("GET", sends=False, status=503, attempt=1, retry_after=None).reason == "fatal"


@pytest.mark.parametrize(
    ("retry_after", "rand", "expected"),
    [
        (None, 0.0, 0.0),  # no Retry-After: pure backoff (full jitter may draw 0)
        (3.0, 0.0, 3.0),  # honoured when longer than the backoff
        (0.1, 1.0, 0.5),  # a shorter Retry-After does not shorten the backoff
        (30.0, 0.0, 8.0),  # capped at backoff_max
        (0.0, 0.0, 0.0),
    ],
)
def test_status_retry_after_is_honoured_but_capped(
    retry_after: float | None, rand: float, expected: float
) -> None:
    decision = always(rand).decide_status("GET", sends=False, status=503, attempt=1, retry_after=retry_after)
    assert decision == Decision(True, expected)


@pytest.mark.parametrize(("attempt", "retry"), [(5, True), (6, False), (9, False)])
def test_status_exhausted_at_max_attempts(attempt: int, retry: bool) -> None:
    decision = always(0.0).decide_status("GET", sends=False, status=500, attempt=attempt, retry_after=None)
    assert decision.retry is retry
    assert decision.reason == ("" if retry else "exhausted")


# --- no response: never left, or harmless to repeat ----------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST"])
@pytest.mark.parametrize("sends", [False, True])
def test_transport_never_left_is_retried_for_any_method(method: str, sends: bool) -> None:
    """A connection that was never made sent nothing: even a sending POST may be repeated."""
    decision = always(1.0).decide_transport(method, sends=sends, reached=False, attempt=2)
    assert decision == Decision(True, 1.0)  # backoff ceiling of attempt 2: 0.5 * 2


@pytest.mark.parametrize(
    ("method", "sends", "reason"),
    [
        ("GET", False, ""),
        ("PUT", False, ""),
        ("DELETE", False, ""),
        ("POST", False, "not-idempotent"),
        ("PUT", True, "sends"),
        ("POST", True, "sends"),
    ],
)
def test_transport_reached_only_harmless_requests(method: str, sends: bool, reason: str) -> None:
    decision = always(0.0).decide_transport(method, sends=sends, reached=True, attempt=1)
    assert decision.retry is (reason == "")
    assert decision.reason == reason


@pytest.mark.parametrize("reached", [False, True])
def test_transport_exhausted_at_max_attempts(reached: bool) -> None:
    decision = always(0.0).decide_transport("GET", sends=False, reached=reached, attempt=6)
    assert decision == Decision(False, reason="exhausted")


# --- backoff ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attempt", "ceiling"),
    [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (6, 8.0), (20, 8.0)],
)
def test_backoff_ceiling_doubles_up_to_the_cap(attempt: int, ceiling: float) -> None:
    """With the top draw the delay is exactly min(backoff_max, backoff_base * 2**(attempt-1))."""
    assert always(1.0).backoff(attempt) == pytest.approx(ceiling)
    assert always(0.0).backoff(attempt) == 0.0


@pytest.mark.parametrize("attempt", range(1, 12))
def test_backoff_full_jitter_stays_in_range(attempt: int) -> None:
    draws = iter([i / 50 for i in range(50)])
    policy = RetryPolicy(backoff_base=0.25, backoff_max=3.0, random=lambda: next(draws))
    ceiling = min(3.0, 0.25 * 2 ** (attempt - 1))
    delays = [policy.backoff(attempt) for _ in range(50)]
    assert all(0.0 <= d <= ceiling for d in delays)
    assert max(delays) == pytest.approx(ceiling * 49 / 50)


def test_backoff_with_the_real_random_source() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=4.0)
    for attempt in range(1, 8):
        assert 0.0 <= policy.backoff(attempt) <= min(4.0, 2 ** (attempt - 1))


# --- max_attempts=1 and invalid arguments ----------------------------------------------------------


def test_max_attempts_one_disables_every_retry() -> None:
    policy = RetryPolicy(max_attempts=1, random=lambda: 0.0)
    assert policy.decide_rate_limited(attempt=1, asked=None) == Decision(False, 2.0, "exhausted")
    assert policy.decide_rate_limited(attempt=1, asked=0.0) == Decision(False, 0.0, "exhausted")
    for method in ("GET", "PUT", "DELETE"):
        assert not policy.decide_status(method, sends=False, status=503, attempt=1, retry_after=None).retry
        for reached in (False, True):
            assert not policy.decide_transport(method, sends=False, reached=reached, attempt=1).retry
    assert not policy.decide_transport("POST", sends=False, reached=False, attempt=1).retry


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"max_attempts": -1},
        {"backoff_base": -0.1},
        {"backoff_max": -1.0},
        {"rate_limit_default": -2.0},
        {"max_rate_limit_wait": -1.0},
        {"rate_limit_jitter": -0.5},
        {"backoff_base": math.nan},
        {"rate_limit_jitter": math.nan},
    ],
    ids=lambda kwargs: "-".join(f"{k}={v}" for k, v in kwargs.items()),
)
def test_invalid_arguments_raise_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"max_attempts|negative"):
        RetryPolicy(**kwargs)


def test_policy_is_frozen_and_comparable() -> None:
    """A policy is a value: equal settings compare equal, and it cannot be changed in place."""
    assert RetryPolicy(max_attempts=3) == RetryPolicy(max_attempts=3)
    with pytest.raises(AttributeError):
        RetryPolicy().max_attempts = 2  # type: ignore[misc]


@pytest.mark.parametrize(
    ("method", "sends", "repeatable"),
    [
        ("GET", False, True),
        ("put", False, True),
        ("DELETE", False, True),
        ("POST", False, False),
        ("PUT", True, False),
        ("GET", True, False),
    ],
)
def test_repeatable(method: str, sends: bool, repeatable: bool) -> None:
    assert RetryPolicy.repeatable(method, sends=sends) is repeatable
