"""What the pipeline does after one attempt: pure decisions, so every one is a table row.

Each table reads as the rules do: a request (method, and whether it sends an email or
SMS), what came back (a status, no answer, or the client closing), and whether an
earlier attempt may have reached Close -> the act. The end-to-end behaviour (events,
errors raised, what was sent) is in ``test_pipeline.py``.
"""

from __future__ import annotations

import pytest

from closeasync.pipeline.outcomes import (
    Outcome,
    outcome_after_status,
    outcome_after_transport_error,
    outcome_when_closed,
)
from closeasync.pipeline.wire import Response
from closeasync.retry import RetryPolicy

#: The bottom of every random draw: the delays are exact (backoff 0, 429 waits as asked).
BOTTOM = RetryPolicy(random=lambda: 0.0)
#: The top: backoffs are their ceilings.
TOP = RetryPolicy(random=lambda: 1.0)
LAST = BOTTOM.max_attempts


def rows(table: str) -> list[list[str]]:
    lines = [line.split() for line in table.strip().splitlines()]
    return [[cell for cell in line if cell != "|"] for line in lines[1:]]  # the first line names columns


def answer(status: int, *headers: tuple[str, str]) -> Response:
    return Response(status, headers, b'{"error": "x"}')


# --- after an answer --------------------------------------------------------------------------------

#: The act after each status on a first attempt when no earlier attempt may have reached
#: Close; the last column: after a 404 when one may have (only a DELETE differs).
STATUS_TABLE = """
method  sends | 200     400     404     409     429    500      503      501      | 404-reached
GET     no    | answer  answer  answer  answer  retry  retry    retry    give_up  | answer
PUT     no    | answer  answer  answer  answer  retry  retry    retry    give_up  | answer
DELETE  no    | answer  answer  answer  answer  retry  retry    retry    give_up  | deleted
POST    no    | answer  answer  answer  answer  retry  unknown  unknown  unknown  | answer
POST    yes   | answer  answer  answer  answer  retry  unknown  unknown  unknown  | answer
PUT     yes   | answer  answer  answer  answer  retry  unknown  unknown  unknown  | answer
"""
STATUSES = (200, 400, 404, 409, 429, 500, 503, 501)


def status_cases() -> list[object]:
    cases: list[object] = []
    for method, sends, *acts, deleted in rows(STATUS_TABLE):
        for reached in (False, True):
            for status, act in zip(STATUSES, acts, strict=True):
                expected = deleted if reached and status == 404 else act
                kind = "sends" if sends == "yes" else "plain"
                ident = f"{method}-{kind}-{status}-{'reached' if reached else 'first'}"
                cases.append(pytest.param(method, sends == "yes", reached, status, expected, id=ident))
    return cases


@pytest.mark.parametrize(("method", "sends", "reached", "status", "expected"), status_cases())
def test_status_table(method: str, sends: bool, reached: bool, status: int, expected: str) -> None:
    outcome = outcome_after_status(
        TOP, method, answer(status), sends=sends, attempt=1, reached_before=reached
    )
    assert outcome.act == expected


@pytest.mark.parametrize(
    ("method", "sends", "reason"),
    [("POST", False, "not-idempotent"), ("PUT", True, "sends")],
)
def test_a_5xx_on_a_write_is_unknown_whatever_the_policy_retries(
    method: str, sends: bool, reason: str
) -> None:
    """Even when the policy retries no status at all, a write that met a 5xx may have happened."""
    never = RetryPolicy(retry_statuses=frozenset(), random=lambda: 0.0)
    for policy, why in ((BOTTOM, reason), (never, "fatal")):
        outcome = outcome_after_status(
            policy, method, answer(503), sends=sends, attempt=1, reached_before=False
        )
        assert outcome == Outcome("unknown", reason=why)
    assert outcome_after_status(never, "GET", answer(503), sends=False, attempt=1, reached_before=False) == (
        Outcome("give_up", reason="fatal")
    )


def test_a_retried_4xx_is_not_unknown_for_a_write() -> None:
    """A status the policy retries that is not a 5xx (409 here) was refused: a write gives up."""
    policy = RetryPolicy(retry_statuses=frozenset({409, 503}), random=lambda: 0.0)
    assert outcome_after_status(
        policy, "POST", answer(409), sends=False, attempt=1, reached_before=False
    ) == (Outcome("give_up", reason="not-idempotent"))
    assert outcome_after_status(policy, "GET", answer(409), sends=False, attempt=1, reached_before=False) == (
        Outcome("retry", 0.0)
    )


@pytest.mark.parametrize(
    ("headers", "attempt", "expected"),
    [
        ((), 1, Outcome("retry", 0.5)),  # the backoff's ceiling (TOP draws 1.0)
        ((), 2, Outcome("retry", 1.0)),
        ((("Retry-After", "3"),), 1, Outcome("retry", 3.0)),  # longer than the backoff: honoured
        ((("Retry-After", "300"),), 1, Outcome("retry", 8.0)),  # capped at backoff_max
        ((), LAST, Outcome("give_up", reason="exhausted")),
    ],
)
def test_5xx_on_a_read_backs_off(
    headers: tuple[tuple[str, str], ...], attempt: int, expected: Outcome
) -> None:
    outcome = outcome_after_status(
        TOP, "GET", answer(503, *headers), sends=False, attempt=attempt, reached_before=False
    )
    assert outcome == expected


@pytest.mark.parametrize(
    ("headers", "attempt", "expected"),
    [
        ((("Retry-After", "3"),), 1, Outcome("retry", 3.0)),
        ((("RateLimit", "limit=10, remaining=0, reset=1.5"), ("Retry-After", "2")), 1, Outcome("retry", 1.5)),
        ((), 1, Outcome("retry", 2.0)),  # nothing said: rate_limit_default
        ((("Retry-After", "300"),), 1, Outcome("give_up", 300.0, "wait-too-long")),
        ((("Retry-After", "3"),), LAST, Outcome("give_up", 3.0, "exhausted")),
    ],
)
@pytest.mark.parametrize(("method", "sends"), [("GET", False), ("POST", False), ("PUT", True)])
def test_429_waits_what_close_asked_whatever_the_method(
    method: str, sends: bool, headers: tuple[tuple[str, str], ...], attempt: int, expected: Outcome
) -> None:
    """Close refused before acting: any request is repeated; a give-up carries the wait asked."""
    outcome = outcome_after_status(
        BOTTOM, method, answer(429, *headers), sends=sends, attempt=attempt, reached_before=True
    )
    assert outcome == expected


# --- no answer --------------------------------------------------------------------------------------

#: The act after a transport error: on a first attempt, then on the last one.
TRANSPORT_TABLE = """
method  sends  reached | first    last
GET     no     no      | retry    give_up
GET     no     yes     | retry    give_up
PUT     no     no      | retry    give_up
PUT     no     yes     | retry    give_up
DELETE  no     yes     | retry    give_up
POST    no     no      | retry    give_up
POST    no     yes     | unknown  unknown
POST    yes    no      | retry    give_up
POST    yes    yes     | unknown  unknown
PUT     yes    no      | retry    give_up
PUT     yes    yes     | unknown  unknown
"""


@pytest.mark.parametrize(
    ("method", "sends", "reached", "attempt", "expected"),
    [
        pytest.param(
            method, sends == "yes", reached == "yes", attempt, act, id=f"{method}-{sends}-{reached}-{attempt}"
        )
        for method, sends, reached, first, last in rows(TRANSPORT_TABLE)
        for attempt, act in ((1, first), (LAST, last))
    ],
)
def test_transport_error_table(method: str, sends: bool, reached: bool, attempt: int, expected: str) -> None:
    outcome = outcome_after_transport_error(TOP, method, sends=sends, reached=reached, attempt=attempt)
    assert outcome.act == expected
    if expected == "retry":
        assert outcome.delay == TOP.backoff(attempt)


def test_transport_give_ups_say_why() -> None:
    assert outcome_after_transport_error(BOTTOM, "POST", sends=False, reached=True, attempt=1) == Outcome(
        "unknown", reason="not-idempotent"
    )
    assert outcome_after_transport_error(BOTTOM, "PUT", sends=True, reached=True, attempt=1) == Outcome(
        "unknown", reason="sends"
    )
    assert outcome_after_transport_error(BOTTOM, "GET", sends=False, reached=True, attempt=LAST) == Outcome(
        "give_up", reason="exhausted"
    )


# --- the client closed mid-request ------------------------------------------------------------------

CLOSED_TABLE = """
method  sends | not-reached  reached
GET     no    | closed       closed
PUT     no    | closed       closed
DELETE  no    | closed       closed
POST    no    | closed       unknown
POST    yes   | closed       unknown
PUT     yes   | closed       unknown
"""


@pytest.mark.parametrize(
    ("method", "sends", "reached", "expected"),
    [
        pytest.param(method, sends == "yes", reached, act, id=f"{method}-{sends}-{reached}")
        for method, sends, not_reached, was_reached in rows(CLOSED_TABLE)
        for reached, act in ((False, not_reached), (True, was_reached))
    ],
)
def test_closed_table(method: str, sends: bool, reached: bool, expected: str) -> None:
    """Closing never repeats anything, and does not make a write that may have happened less ambiguous."""
    assert outcome_when_closed(TOP, method, sends=sends, reached=reached).act == expected
