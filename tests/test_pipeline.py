"""The request pipeline through the public client: retries, rate-limit waits, events, logs.

Close is scripted at our own seam (:class:`ScriptedTransport`). Most tests are about
*decisions*, so the transport says ``instant_waits = True`` (as replay does): nothing
sleeps, and the ``on_event`` hook shows every wait that would have happened. The
tests about closing the client mid-wait use real waits, cut short by the close.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from closeasync import (
    ClientClosedError,
    CloseAsync,
    ConnectError,
    NotFoundError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)
from closeasync.errors import WriteOutcomeUnknownError
from closeasync.pipeline.pacing import RateLimitState
from closeasync.pipeline.routes import ROUTES
from closeasync.pipeline.sender import EventHook, Pipeline, RequestEvent
from closeasync.pipeline.wire import build_request
from closeasync.retry import RetryPolicy
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, NO_RETRY, StubTransport, json_response

BASE = "https://close.test/api/v1"
EMAIL = {"_type": "Email", "id": "acti_1", "lead_id": "lead_1", "status": "draft", "subject": "Hi"}
#: Bounds every test that could hang; nothing here should take more than milliseconds.
LIMIT_S = 5
#: The top of every random draw: delays are the ceilings, so they can be asserted exactly.
TOP = RetryPolicy(random=lambda: 1.0)
#: The bottom: 429 waits are exactly what was asked.
BOTTOM = RetryPolicy(random=lambda: 0.0)


class ScriptedTransport(StubTransport):
    """A StubTransport whose attempts can fail before (or after) reaching "Close".

    ``fail(exc, ...)`` scripts the next attempts: an exception is raised instead of an
    answer (``None`` lets that attempt through). ``attempts`` holds every attempt;
    ``requests`` (as in StubTransport) only those Close received: the ones answered
    and the ones lost after arriving (``may_have_reached_server=True``).
    """

    def __init__(self, *, instant: bool = True) -> None:
        super().__init__()
        self.instant_waits = instant
        self.attempts: list[Request] = []
        self.failures: list[BaseException | None] = []

    def fail(self, *failures: BaseException | None) -> None:
        self.failures.extend(failures)

    async def send(self, request: Request) -> Response:
        self.attempts.append(request)
        failure = self.failures.pop(0) if self.failures else None
        if failure is None:
            return await super().send(request)
        if isinstance(failure, TransportError) and failure.may_have_reached_server:
            self.requests.append(request)  # Close got it; only the answer was lost
        raise failure


class Recorder:
    """An on_event hook that keeps every event."""

    def __init__(self) -> None:
        self.events: list[RequestEvent] = []

    def __call__(self, event: RequestEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[tuple[str, int]]:
        return [(e.kind, e.attempt) for e in self.events]

    def of(self, kind: str) -> list[RequestEvent]:
        return [e for e in self.events if e.kind == kind]


def make_client(
    transport: StubTransport,
    on_event: EventHook | Sequence[EventHook] | None = None,
    *,
    retry: RetryPolicy = TOP,
    **kwargs: Any,
) -> CloseAsync:
    return CloseAsync(
        api_key=API_KEY, transport=transport, base_url=BASE, retry=retry, on_event=on_event, **kwargs
    )


def status(code: int, *headers: tuple[str, str]) -> Response:
    """An error answer the way Close (or a proxy in front of it) sends one."""
    return json_response({"error": f"status {code}"}, code, headers)


def rate_limited(*headers: tuple[str, str]) -> Response:
    return status(429, *headers)


def reset_header(reset: float, remaining: int = 0, limit: int = 10) -> tuple[str, str]:
    return ("RateLimit", f"limit={limit}, remaining={remaining}, reset={reset:g}")


async def create(close: CloseAsync) -> Any:
    return await close.emails.create(lead_id="lead_1", status="draft", subject="Hi")


async def get(close: CloseAsync) -> Any:
    return await close.emails.get("acti_1")


CALLS = {"GET": get, "POST": create}


# --- 429 --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_429_is_retried_for_every_method(method: str) -> None:
    """The server did not act on a 429, so even a create is simply repeated."""
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(("Retry-After", "3")), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=BOTTOM) as close:
            email = await CALLS[method](close)
    assert email.id == "acti_1"
    assert [r.method for r in stub.requests] == [method, method]
    (retry,) = rec.of("retry")
    assert (retry.status, retry.attempt, retry.delay) == (429, 1, 3.0)
    (wait,) = rec.of("wait")  # the wait happens in the group's pacer, before attempt 2
    assert wait.attempt == 2
    assert wait.delay == pytest.approx(3.0, abs=0.05)
    assert rec.of("give_up") == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param((reset_header(1.5), ("Retry-After", "2")), 1.5, id="reset-wins-over-retry-after"),
        pytest.param((("Retry-After", "4"),), 4.0, id="retry-after-only"),
        pytest.param((), 2.0, id="neither-default"),
        pytest.param((("x-rate-limit-reset", "6"),), 6.0, id="legacy-reset-header"),
    ],
)
async def test_429_wait_source(headers: tuple[tuple[str, str], ...], expected: float) -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(*headers), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=BOTTOM) as close:
            await get(close)
    assert [e.delay for e in rec.of("retry")] == [expected]
    assert [e.delay for e in rec.of("wait")] == [pytest.approx(expected, abs=0.05)]


async def test_429_retry_after_as_http_date() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    when = datetime.now(UTC) + timedelta(seconds=30)
    stub.queue(
        rate_limited(("Retry-After", when.strftime("%a, %d %b %Y %H:%M:%S GMT"))), json_response(EMAIL)
    )
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=BOTTOM) as close:
            await get(close)
    (retry,) = rec.of("retry")
    assert 27.0 <= retry.delay <= 30.0


async def test_429_jitter_is_added_to_the_wait() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(("Retry-After", "10")), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=TOP) as close:
            await get(close)
    assert [e.delay for e in rec.of("retry")] == [pytest.approx(11.0)]  # 10 * (1 + 0.1)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_429_asking_too_long_fails_at_once(method: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="closeasync")
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(reset_header(300)), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=RetryPolicy(max_rate_limit_wait=60)) as close:
            with pytest.raises(RateLimitError) as caught:
                await CALLS[method](close)
    assert len(stub.requests) == 1
    assert caught.value.retry_after == 300
    assert "asked to wait 300.0 s" in str(caught.value)
    assert "max_rate_limit_wait=60" in str(caught.value)
    assert rec.kinds() == [("request", 1), ("response", 1), ("give_up", 1)]
    assert "asked to wait 300.0 s" in caplog.text


async def test_429_just_under_the_cap_is_still_retried() -> None:
    """Asked 119.5 s with a 120-s cap: the jitter must not push the wait past the cap
    (the pacer would then refuse a retry the policy allowed)."""
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(("Retry-After", "119.5")), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=TOP) as close:
            await get(close)
    assert len(stub.requests) == 2
    assert [e.delay for e in rec.of("retry")] == [pytest.approx(120.0)]


async def test_429_exhausted_raises_rate_limit_error() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.handler = lambda request: rate_limited(("Retry-After", "1"))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=RetryPolicy(max_attempts=3, random=lambda: 0.0)) as close:
            with pytest.raises(RateLimitError):
                await get(close)
    assert len(stub.requests) == 3
    assert rec.of("give_up")[0].attempt == 3


async def test_429_makes_the_whole_group_wait_together() -> None:
    """Tasks starting while one waits out a 429 wait for the same moment instead of
    meeting 429s of their own (real time, a 50 ms window)."""
    sent_at: list[float] = []
    stub, rec = ScriptedTransport(instant=False), Recorder()

    def answer(request: Request) -> Response:
        sent_at.append(anyio.current_time())
        return rate_limited(reset_header(0.05)) if len(sent_at) == 1 else json_response(EMAIL)

    stub.handler = answer
    retrying = anyio.Event()

    def signal(event: RequestEvent) -> None:
        if event.kind == "retry":
            retrying.set()

    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, [rec, signal], retry=BOTTOM) as close, anyio.create_task_group() as tg:
            tg.start_soon(get, close)
            await retrying.wait()
            for _ in range(4):
                tg.start_soon(get, close)
    assert len(stub.requests) == 6
    assert len(rec.of("retry")) == 1  # nobody else met a 429
    assert sorted(e.attempt for e in rec.of("wait")) == [1, 1, 1, 1, 2]  # everybody waited
    assert all(0 < e.delay <= 0.05 for e in rec.of("wait"))
    rejected_at, *others = sent_at
    assert min(others) >= rejected_at + 0.05  # nobody went before the moment Close named


# --- 5xx --------------------------------------------------------------------------------------------


async def test_5xx_get_is_retried_until_success() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(503), status(502), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            email = await get(close)
    assert email.id == "acti_1"
    assert len(stub.requests) == 3
    retries = rec.of("retry")
    assert [(e.attempt, e.status, e.delay) for e in retries] == [(1, 503, 0.5), (2, 502, 1.0)]


async def test_5xx_retry_after_is_honoured() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(503, ("Retry-After", "3")), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            await get(close)
    assert [e.delay for e in rec.of("retry")] == [3.0]


@pytest.mark.parametrize("attempts", [1, 2, 4])
async def test_5xx_get_exhausted_raises_server_error(attempts: int) -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.handler = lambda request: status(500)
    policy = RetryPolicy(max_attempts=attempts, random=lambda: 1.0)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=policy) as close:
            with pytest.raises(ServerError) as caught:
                await get(close)
    assert caught.value.status == 500
    assert len(stub.requests) == attempts
    assert len(rec.of("retry")) == attempts - 1
    assert [(e.attempt, e.status) for e in rec.of("give_up")] == [(attempts, 500)]


@pytest.mark.parametrize("code", [500, 502, 503, 504])
async def test_5xx_post_is_not_repeated(code: int) -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(code), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            with pytest.raises(WriteOutcomeUnknownError, match="may have been processed") as caught:
                await create(close)
    assert len(stub.requests) == 1
    assert isinstance(caught.value.__cause__, ServerError)
    assert caught.value.__cause__.status == code
    assert caught.value.method == "POST"
    assert caught.value.url == f"{BASE}/activity/email/"
    assert rec.kinds() == [("request", 1), ("response", 1), ("give_up", 1)]


async def test_4xx_is_not_retried() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(404), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            with pytest.raises(NotFoundError):
                await get(close)
    assert len(stub.requests) == 1
    assert rec.of("retry") == []


# --- sending PUTs -----------------------------------------------------------------------------------


async def test_sending_put_on_503_is_not_repeated() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(503), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            with pytest.raises(WriteOutcomeUnknownError) as caught:
                await close.emails.send("acti_1", sender="me@example.com")
    assert len(stub.requests) == 1
    sent = stub.requests[0]
    assert (sent.method, sent.sends, sent.json()["status"]) == ("PUT", True, "outbox")
    assert isinstance(caught.value.__cause__, ServerError)
    assert rec.of("give_up")[0].status == 503


async def test_scheduling_put_on_timeout_is_not_repeated() -> None:
    stub = ScriptedTransport()
    stub.fail(RequestTimeoutError("read timed out", may_have_reached_server=True))
    at = datetime.now(UTC) + timedelta(days=1)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            with pytest.raises(WriteOutcomeUnknownError) as caught:
                await close.emails.schedule("acti_1", at=at, sender="me@example.com")
    assert len(stub.attempts) == 1
    assert stub.attempts[0].sends
    assert isinstance(caught.value.__cause__, RequestTimeoutError)


async def test_non_sending_put_on_503_is_retried() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(503), json_response({**EMAIL, "subject": "New"}))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            email = await close.emails.update("acti_1", subject="New")
    assert email.subject == "New"
    assert [(r.method, r.sends) for r in stub.requests] == [("PUT", False), ("PUT", False)]
    assert len(rec.of("retry")) == 1


async def test_cancel_put_is_retried() -> None:
    """Cancelling (back to draft) sends nothing, so repeating it is harmless."""
    stub = ScriptedTransport()
    stub.queue(status(502), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            await close.emails.cancel("acti_1")
    assert len(stub.requests) == 2


# --- no response ------------------------------------------------------------------------------------


async def test_connect_error_on_post_is_retried_and_creates_once() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.fail(ConnectError("connection refused"), ConnectError("name not resolved"))
    stub.handler = lambda request: json_response(EMAIL)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            email = await create(close)
    assert email.id == "acti_1"
    assert len(stub.attempts) == 3
    assert len(stub.requests) == 1  # exactly one create reached Close
    assert [(e.attempt, e.delay) for e in rec.of("retry")] == [(1, 0.5), (2, 1.0)]
    assert "ConnectError" in (rec.of("retry")[0].error or "")


async def test_sending_post_that_never_left_is_retried() -> None:
    stub = ScriptedTransport()
    stub.fail(ConnectError("connection refused"))
    stub.handler = lambda request: json_response({**EMAIL, "status": "outbox"})
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            await close.emails.create(lead_id="lead_1", status="outbox", sender="me@example.com", subject="x")
    assert len(stub.attempts) == 2
    assert len(stub.requests) == 1
    assert stub.requests[0].sends


async def test_connect_error_exhausted_is_raised_as_is() -> None:
    """A write that never left does not claim it may have been processed."""
    stub = ScriptedTransport()
    stub.fail(*[ConnectError("connection refused")] * 3)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, retry=RetryPolicy(max_attempts=3, random=lambda: 0.0)) as close:
            with pytest.raises(ConnectError):
                await create(close)
    assert len(stub.attempts) == 3
    assert stub.requests == []


@pytest.mark.parametrize(
    "failure",
    [
        TransportError("connection reset mid-response", may_have_reached_server=True),
        RequestTimeoutError("read timed out", may_have_reached_server=True),
    ],
    ids=["reset", "timeout"],
)
async def test_post_that_may_have_arrived_is_not_repeated(failure: TransportError) -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.fail(failure)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            with pytest.raises(WriteOutcomeUnknownError, match="may have been processed") as caught:
                await create(close)
    assert len(stub.attempts) == 1
    assert caught.value.__cause__ is failure
    assert rec.kinds() == [("request", 1), ("give_up", 1)]


@pytest.mark.parametrize(
    "failure",
    [
        TransportError("connection reset mid-response", may_have_reached_server=True),
        RequestTimeoutError("read timed out", may_have_reached_server=True),
        ConnectError("connection refused"),
    ],
    ids=["reset", "timeout", "connect"],
)
async def test_get_without_answer_is_retried(failure: TransportError) -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.fail(failure)
    stub.handler = lambda request: json_response(EMAIL)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            email = await get(close)
    assert email.id == "acti_1"
    assert len(stub.attempts) == 2
    assert rec.kinds() == [("request", 1), ("retry", 1), ("request", 2), ("response", 2)]


async def test_get_timeouts_exhausted_raise_the_timeout() -> None:
    stub = ScriptedTransport()
    stub.fail(*[RequestTimeoutError("timed out", may_have_reached_server=True)] * 2)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, retry=RetryPolicy(max_attempts=2, random=lambda: 0.0)) as close:
            with pytest.raises(RequestTimeoutError):
                await get(close)
            stub.fail(RequestTimeoutError("timed out", may_have_reached_server=True))
            with pytest.raises(TimeoutError):  # a builtin TimeoutError too
                await close.with_options(retry=NO_RETRY).emails.get("acti_1")
    assert len(stub.attempts) == 3


async def test_delete_lost_answer_then_404_is_success() -> None:
    """The first DELETE did its work but its answer was lost; the retry's 404 means "gone"."""
    stub = ScriptedTransport()
    stub.fail(TransportError("connection reset", may_have_reached_server=True))
    stub.queue(status(404))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            await close.emails.delete("acti_1")  # no NotFoundError: it is gone, as asked
    assert [r.method for r in stub.attempts] == ["DELETE", "DELETE"]


async def test_delete_404_at_first_is_not_found() -> None:
    stub = ScriptedTransport()
    stub.queue(status(404))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            with pytest.raises(NotFoundError):
                await close.emails.delete("acti_1")


# --- events and logs --------------------------------------------------------------------------------


async def test_events_tell_the_whole_story() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(("Retry-After", "2")), status(503), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            await get(close)
    assert [(e.kind, e.attempt, e.status) for e in rec.events] == [
        ("request", 1, None),
        ("response", 1, 429),
        ("retry", 1, 429),
        ("wait", 2, None),
        ("request", 2, None),
        ("response", 2, 503),
        ("retry", 2, 503),
        ("request", 3, None),
        ("response", 3, 200),
    ]
    assert {(e.method, e.url, e.group) for e in rec.events} == {
        ("GET", f"{BASE}/activity/email/acti_1/", "GET /activity/email/{id}/")
    }


async def test_give_up_event() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.handler = lambda request: status(502)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=RetryPolicy(max_attempts=2, random=lambda: 0.0)) as close:
            with pytest.raises(ServerError):
                await get(close)
    assert rec.kinds() == [
        ("request", 1),
        ("response", 1),
        ("retry", 1),
        ("request", 2),
        ("response", 2),
        ("give_up", 2),
    ]


async def test_several_hooks_and_a_failing_one(caplog: pytest.LogCaptureFixture) -> None:
    """A hook that raises is logged and skipped; the request and the other hooks go on."""
    caplog.set_level(logging.INFO, logger="closeasync")
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(status(503), json_response(EMAIL))

    def broken(event: RequestEvent) -> None:
        raise RuntimeError("metrics backend down")

    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, [broken, rec]) as close:
            email = await get(close)
    assert email.id == "acti_1"
    assert len(rec.events) == 5
    failures = [r for r in caplog.records if "on_event hook failed" in r.getMessage()]
    assert len(failures) == 5
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)
    assert "metrics backend down" in caplog.text


async def test_retries_and_give_ups_are_logged_without_credentials(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="closeasync")
    stub = ScriptedTransport()
    stub.queue(rate_limited(("Retry-After", "1")), status(503), json_response(EMAIL))
    stub.fail(None, None, None, TransportError("reset", may_have_reached_server=True))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            await get(close)
            with pytest.raises(WriteOutcomeUnknownError):
                await create(close)
    authorization = stub.attempts[0].header("authorization")
    assert authorization
    messages = [r.getMessage() for r in caplog.records if r.name == "closeasync"]
    assert any("rate limited; waiting" in m for m in messages)
    assert any("503; retry 2 in 1.00 s" in m for m in messages)
    assert any("POST" in m and "failed" in m and "may have been processed" in m for m in messages)
    assert all(r.levelno >= logging.INFO for r in caplog.records)
    assert API_KEY not in caplog.text
    assert authorization not in caplog.text
    assert authorization.split()[-1] not in caplog.text


# --- options, closing, pacing -----------------------------------------------------------------------


async def test_a_backoff_is_slept_once_before_the_next_attempt_only() -> None:
    """503, 429, 200: the 503's backoff is slept before attempt 2; the 429's wait is the
    group's pacer's, so nothing more is slept before attempt 3 (the same policy, real sleeps)."""
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    stub = ScriptedTransport(instant=False)
    stub.queue(status(503), rate_limited(("Retry-After", "0")), json_response(EMAIL))
    pipeline = Pipeline(stub, policy=TOP, limits=RateLimitState(), sleep=sleep)
    request = build_request(ROUTES["email"]["get"], base_url=BASE, path_params={"id": "acti_1"})
    with anyio.fail_after(LIMIT_S):
        response = await pipeline.send(request)
    assert response.status == 200
    assert len(stub.requests) == 3
    assert sum(slept) == pytest.approx(0.5)  # the 503's backoff (TOP: its ceiling), in slices
    assert len(slept) == 5


async def test_with_options_changes_the_policy_per_call() -> None:
    stub = ScriptedTransport()
    stub.queue(status(503), json_response(EMAIL), status(503), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub) as close:
            strict = close.with_options(retry=NO_RETRY)
            assert strict.retry is NO_RETRY
            assert close.retry is TOP
            with pytest.raises(ServerError):
                await strict.emails.get("acti_1")
            assert len(stub.requests) == 1
            await strict.emails.get("acti_1")  # the next answer is a 200
            await get(close)  # the client itself still retries: 503 then 200
    assert len(stub.requests) == 4


@pytest.mark.parametrize(
    "answer",
    [
        status(503, ("Retry-After", "30")),
        rate_limited(("Retry-After", "30")),
        rate_limited(reset_header(0.05)),
    ],
    ids=["backoff", "rate-limit", "rate-limit-short"],
)
async def test_closing_during_a_retry_wait_ends_the_request(answer: Response) -> None:
    """The waiting request ends promptly with ClientClosedError and sends nothing more."""
    stub, rec = ScriptedTransport(instant=False), Recorder()
    stub.queue(answer)
    stub.handler = lambda request: json_response(EMAIL)
    retrying = anyio.Event()
    rec_and_signal: list[Any] = [rec, lambda e: retrying.set() if e.kind == "retry" else None]
    policy = RetryPolicy(backoff_max=60, random=lambda: 0.0)
    outcome: list[BaseException] = []
    close = make_client(stub, rec_and_signal, retry=policy)

    async def call() -> None:
        try:
            await get(close)
        except ClientClosedError as exc:
            outcome.append(exc)

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            await retrying.wait()
            await close.aclose()
    assert len(outcome) == 1
    assert "closed" in str(outcome[0])
    assert len(stub.attempts) == 1  # nothing was sent after the close
    assert stub.closed


async def test_closing_while_waiting_for_a_slot_sends_nothing() -> None:
    """With max_concurrency=1, a request queued behind another ends when the client closes."""
    release, first_sent = anyio.Event(), anyio.Event()
    sent: list[Request] = []

    class Slow(StubTransport):
        async def send(self, request: Request) -> Response:
            sent.append(request)
            first_sent.set()
            await release.wait()
            return json_response(EMAIL)

    close = CloseAsync(api_key=API_KEY, transport=Slow(), base_url=BASE, max_concurrency=1)
    errors: list[BaseException] = []

    async def call() -> None:
        try:
            await get(close)
        except ClientClosedError as exc:
            errors.append(exc)

    with anyio.fail_after(LIMIT_S):
        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            tg.start_soon(call)
            await first_sent.wait()
            await close.aclose()
            release.set()
    assert len(sent) == 1
    assert len(errors) == 1


async def test_cancelling_a_request_queued_for_a_slot_keeps_the_count_in_flight() -> None:
    """The queued request gave its rate-limit turn back while it waited: cancelled there, it
    must not give it back a second time (that would hide the request still on the wire)."""
    release, first_sent = anyio.Event(), anyio.Event()

    class Slow(StubTransport):
        async def send(self, request: Request) -> Response:
            first_sent.set()
            await release.wait()
            return json_response(EMAIL)

    queued = anyio.CancelScope()

    async def queued_get(close: CloseAsync) -> None:
        with queued:
            await close.emails.get("acti_queued")

    with anyio.fail_after(LIMIT_S):
        async with CloseAsync(api_key=API_KEY, transport=Slow(), base_url=BASE, max_concurrency=1) as close:
            pacer = close._connection.pipeline.limits.pacer(ROUTES["email"]["get"].group)
            async with anyio.create_task_group() as tg:
                tg.start_soon(close.emails.get, "acti_first")
                await first_sent.wait()
                tg.start_soon(queued_get, close)
                for _ in range(5):  # it is now queued for the one slot
                    await anyio.lowlevel.checkpoint()
                queued.cancel()
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()
                assert pacer.inflight == 1  # acti_first, still on the wire
                release.set()
            assert queued.cancelled_caught
            assert pacer.inflight == 0


async def test_a_slot_handed_to_a_request_cancelled_meanwhile_goes_to_the_next() -> None:
    """The one slot frees just as the request queued first is cancelled: the slot it was
    handed passes on to the request queued after it, instead of being lost."""
    release, first_sent = anyio.Event(), anyio.Event()
    sent: list[str] = []

    class Slow(StubTransport):
        async def send(self, request: Request) -> Response:
            sent.append(request.url.rsplit("/", 2)[-2])
            first_sent.set()
            if len(sent) == 1:
                await release.wait()
            return json_response(EMAIL)

    cancelled = anyio.CancelScope()

    async def fetch(close: CloseAsync, name: str, scope: anyio.CancelScope | None = None) -> None:
        with scope or anyio.CancelScope():
            await close.emails.get(name)

    with anyio.fail_after(LIMIT_S):
        async with CloseAsync(api_key=API_KEY, transport=Slow(), base_url=BASE, max_concurrency=1) as close:
            async with anyio.create_task_group() as tg:
                tg.start_soon(fetch, close, "acti_first")
                await first_sent.wait()
                tg.start_soon(fetch, close, "acti_cancelled", cancelled)
                for _ in range(5):  # it is now queued for the one slot
                    await anyio.lowlevel.checkpoint()
                tg.start_soon(fetch, close, "acti_next")
                for _ in range(5):  # and this one behind it
                    await anyio.lowlevel.checkpoint()
                release.set()  # the first answer frees the slot for acti_cancelled ...
                cancelled.cancel()  # ... which is cancelled before it can use it
            assert cancelled.cancelled_caught
            assert sent == ["acti_first", "acti_next"]
            await close.emails.get("acti_last")  # and the slot came back afterwards
    assert sent == ["acti_first", "acti_next", "acti_last"]


async def test_rate_limit_header_feeds_the_pacer() -> None:
    """After ``remaining=0, reset=5`` the next request of that group waits ~5 s; others don't."""
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(json_response(EMAIL, headers=(reset_header(5, remaining=0, limit=40),)))
    stub.handler = lambda request: json_response({"data": [], "has_more": False})
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            await get(close)
            assert rec.of("wait") == []
            await close.emails.list(lead_id="lead_1").collect()  # another group: no wait
            assert rec.of("wait") == []
            stub.handler = lambda request: json_response(EMAIL)
            await close.emails.get("acti_2")  # the same group: waits for the window's end
    (wait,) = rec.of("wait")
    assert wait.group == "GET /activity/email/{id}/"
    assert wait.delay == pytest.approx(5.0, abs=0.05)
    assert wait.attempt == 1


@pytest.mark.parametrize(
    "headers",
    [
        (("RateLimit", "limit=40, remaining=0, reset=5"),),  # as documented: read by the shortcut
        (("ratelimit", "limit=40; remaining=0; reset=5"),),  # as seen live: the shortcut too
        (("RateLimit", " LIMIT = 40 ,remaining=0,  reset=5 "),),  # the usual form, loosely written
        (("RateLimit", "remaining=0, reset=5, limit=40"),),  # another order: the general parser
        (("x-rate-limit-limit", "40"), ("x-rate-limit-remaining", "0"), ("x-rate-limit-reset", "5")),
    ],
    ids=["documented", "semicolons", "loose", "reordered", "legacy-headers"],
)
async def test_every_rate_limit_form_feeds_the_pacer(headers: tuple[tuple[str, str], ...]) -> None:
    """Whichever form the header takes, ``remaining=0, reset=5`` holds the group's next request ~5 s."""
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(json_response(EMAIL, headers=headers))
    stub.handler = lambda request: json_response(EMAIL)
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            await get(close)
            assert rec.of("wait") == []
            await get(close)
    (wait,) = rec.of("wait")
    assert wait.delay == pytest.approx(5.0, abs=0.05)


async def test_pace_rate_limits_false_does_not_wait_on_the_header() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.handler = lambda request: json_response(EMAIL, headers=(reset_header(5, remaining=0),))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, pace_rate_limits=False) as close:
            for _ in range(3):
                await get(close)
    assert rec.of("wait") == []


async def test_pacer_budget_wait_beyond_the_cap_fails_without_sending() -> None:
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(json_response(EMAIL, headers=(reset_header(500, remaining=0),)))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec) as close:
            await get(close)
            with pytest.raises(RateLimitError, match="nothing was sent") as caught:
                await get(close)
    assert caught.value.retry_after == pytest.approx(500, abs=1)
    assert len(stub.requests) == 1


async def test_max_concurrency_caps_requests_in_flight() -> None:
    in_flight = peak = 0

    class Counting(StubTransport):
        async def send(self, request: Request) -> Response:
            nonlocal in_flight, peak
            in_flight += 1
            peak = max(peak, in_flight)
            for _ in range(3):
                await anyio.lowlevel.checkpoint()
            in_flight -= 1
            return json_response(EMAIL)

    with anyio.fail_after(LIMIT_S):
        client = CloseAsync(api_key=API_KEY, transport=Counting(), base_url=BASE, max_concurrency=3)
        async with client as close, anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(get, close)
    assert peak == 3


async def test_slots_are_handed_out_in_the_order_requests_queued() -> None:
    """A free slot goes to the longest-waiting request, not to a newcomer that finds it free."""
    order: list[str] = []
    gates: dict[str, anyio.Event] = {}

    class Gated(StubTransport):
        async def send(self, request: Request) -> Response:
            name = request.url.rsplit("/", 2)[-2]
            order.append(name)
            gates[name] = gate = anyio.Event()
            await gate.wait()
            return json_response(EMAIL)

    close = CloseAsync(api_key=API_KEY, transport=Gated(), base_url=BASE, max_concurrency=1)

    async def fetch(name: str) -> None:
        await close.emails.get(name)

    with anyio.fail_after(LIMIT_S):
        async with close, anyio.create_task_group() as tg:
            tg.start_soon(fetch, "acti_first")
            while "acti_first" not in gates:
                await anyio.lowlevel.checkpoint()
            tg.start_soon(fetch, "acti_queued")
            for _ in range(5):  # acti_queued is now waiting for the slot
                await anyio.lowlevel.checkpoint()
            gates["acti_first"].set()
            # The slot is free for a moment: a newcomer must still go after acti_queued.
            tg.start_soon(fetch, "acti_newcomer")
            while "acti_queued" not in gates:
                await anyio.lowlevel.checkpoint()
            gates["acti_queued"].set()
            while "acti_newcomer" not in gates:
                await anyio.lowlevel.checkpoint()
            gates["acti_newcomer"].set()
    assert order == ["acti_first", "acti_queued", "acti_newcomer"]


async def test_a_cancelled_caller_sends_nothing_even_with_a_free_slot() -> None:
    stub = ScriptedTransport()
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, max_concurrency=2) as close:
            with anyio.CancelScope() as scope:
                scope.cancel()
                await create(close)
            assert scope.cancelled_caught
            assert stub.attempts == []
            await get(close)  # the cap is intact: both slots are free again
            async with anyio.create_task_group() as tg:
                tg.start_soon(get, close)
                tg.start_soon(get, close)
    assert len(stub.attempts) == 3


async def test_a_request_cancelled_while_queued_for_a_slot_leaves_the_cap_intact() -> None:
    release, first_sent = anyio.Event(), anyio.Event()
    sent: list[Request] = []

    class Slow(StubTransport):
        async def send(self, request: Request) -> Response:
            sent.append(request)
            first_sent.set()
            await release.wait()
            return json_response(EMAIL)

    queued = anyio.CancelScope()
    outcome: list[str] = []

    async def queued_get(close: CloseAsync) -> None:
        with queued:
            await get(close)
            outcome.append("sent")
        outcome.append("cancelled" if queued.cancelled_caught else "done")

    with anyio.fail_after(LIMIT_S):
        async with CloseAsync(api_key=API_KEY, transport=Slow(), base_url=BASE, max_concurrency=1) as close:
            async with anyio.create_task_group() as tg:
                tg.start_soon(get, close)
                await first_sent.wait()
                tg.start_soon(queued_get, close)
                for _ in range(5):  # it is now waiting for the one slot
                    await anyio.lowlevel.checkpoint()
                queued.cancel()
                for _ in range(5):
                    await anyio.lowlevel.checkpoint()
                release.set()
            assert outcome == ["cancelled"]
            assert len(sent) == 1
            await get(close)  # the one slot came back
    assert len(sent) == 2


async def test_an_absurd_reset_makes_a_short_message() -> None:
    """``reset=1e300`` is refused at once, in a message of ordinary length."""
    stub, rec = ScriptedTransport(), Recorder()
    stub.queue(rate_limited(reset_header(1e300)), json_response(EMAIL))
    with anyio.fail_after(LIMIT_S):
        async with make_client(stub, rec, retry=RetryPolicy(max_rate_limit_wait=60)) as close:
            with pytest.raises(RateLimitError) as caught:
                await close.emails.get("acti_1")
    assert "asked to wait 1e+300 s" in str(caught.value)
    assert len(str(caught.value)) < 300
