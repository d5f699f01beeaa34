"""What to do after one attempt: pure decisions the pipeline acts on.

The :class:`~closeasync.retry.RetryPolicy` says whether repeating a request is
harmless and how long to wait first. These functions add what a failure *means*
for a write, the rules no policy setting may change:

- a 5xx on a write that is not repeated leaves its outcome unknown (Close may have
  processed it before failing), whatever the policy retries;
- a DELETE answered 404 after an earlier attempt that may have reached Close is
  done: that attempt deleted it;
- a write that may have reached Close when the client closed mid-request has an
  unknown outcome too: closing does not make it less ambiguous.

No I/O and no pipeline state: each function maps its arguments (and the policy's
random source, for the jitter) to an :class:`Outcome`, so the tests are a table.
"""

from __future__ import annotations

from typing import Literal

import attrs

from ..retry import RetryPolicy
from .ratelimit import parse_retry_after, retry_delay
from .wire import Response

__all__ = [
    "Outcome",
    "outcome_after_status",
    "outcome_after_transport_error",
    "outcome_when_closed",
]

Act = Literal["answer", "deleted", "retry", "give_up", "unknown", "closed"]


@attrs.frozen
class Outcome:
    """What the pipeline does next.

    ``act`` is one of:

    - ``"answer"``: the response is the result (a success, or an error its caller raises);
    - ``"deleted"``: a DELETE is done although this attempt was answered 404;
    - ``"retry"``: repeat after ``delay`` seconds (after a 429, the group's pacer waits them);
    - ``"give_up"``: the failure stands, as it is (``reason`` says why it was not repeated;
      after a 429, ``delay`` is the wait Close asked for);
    - ``"unknown"``: a write may have been processed: raise ``WriteOutcomeUnknownError``;
    - ``"closed"``: the client was closed: raise ``ClientClosedError``.
    """

    act: Act
    delay: float = 0.0
    reason: str = ""


#: The usual outcome, one shared value (made on every response).
_ANSWER = Outcome("answer")
_DELETED = Outcome("deleted")
_CLOSED = Outcome("closed")


def outcome_after_status(
    policy: RetryPolicy, method: str, response: Response, *, sends: bool, attempt: int, reached_before: bool
) -> Outcome:
    """After an answer: repeat, accept it, or what its failure means.

    ``method`` is the request's own (a long GET sent as a POST is a GET);
    ``reached_before``: an earlier attempt of this request may have reached Close.
    The headers are read only when the status calls for a wait.
    """
    status = response.status
    if status == 429:  # refused before acting: any method is repeated, after what Close asked
        decision = policy.decide_rate_limited(attempt=attempt, asked=retry_delay(response))
        return Outcome("retry" if decision.retry else "give_up", decision.delay, decision.reason)
    if status >= 500 or status in policy.retry_statuses:
        # Only Retry-After matters here: RateLimit's reset is about the window, not the fault.
        retry_after = parse_retry_after(response.header("retry-after"))
        decision = policy.decide_status(
            method, sends=sends, status=status, attempt=attempt, retry_after=retry_after
        )
        if decision.retry:
            return Outcome("retry", decision.delay)
        if status >= 500 and not policy.repeatable(method, sends=sends):
            # Whatever the policy retries, a 5xx on a write leaves its outcome unknown.
            return Outcome("unknown", reason=decision.reason)
        return Outcome("give_up", reason=decision.reason)
    if status == 404 and reached_before and method == "DELETE":
        return _DELETED  # an earlier attempt that got no answer did delete it
    return _ANSWER


def outcome_after_transport_error(
    policy: RetryPolicy, method: str, *, sends: bool, reached: bool, attempt: int
) -> Outcome:
    """After no answer (``reached``: the request may have reached Close before it failed)."""
    decision = policy.decide_transport(method, sends=sends, reached=reached, attempt=attempt)
    if decision.retry:
        return Outcome("retry", decision.delay)
    if reached and not policy.repeatable(method, sends=sends):
        return Outcome("unknown", reason=decision.reason)
    return Outcome("give_up", reason=decision.reason)


def outcome_when_closed(policy: RetryPolicy, method: str, *, sends: bool, reached: bool) -> Outcome:
    """The client was closed while an attempt was on its way: nothing more is sent.

    Closing does not make a write that may have happened any less ambiguous.
    """
    if reached and not policy.repeatable(method, sends=sends):
        return Outcome("unknown", reason="closed")
    return _CLOSED
