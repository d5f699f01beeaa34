"""Rate limits per endpoint group, and injected faults: statuses, delays, dropped connections."""

from __future__ import annotations

import random
import re
from typing import Any, TypeVar

import pytest

from closeasync import (
    CloseAsync,
    CloseError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    TransportError,
)

from .conftest import SEED, Backend
from .messages import SENDER

GET_EMAIL = "GET /activity/email/{id}/"
CREATE_EMAIL = "POST /activity/email/"


F = TypeVar("F", bound=BaseException)


def _failure(raised: BaseException, kind: type[F]) -> F:
    """The failure a write met: raised as is, or as the cause of an "outcome unknown" error."""
    found = raised if isinstance(raised, kind) else raised.__cause__
    assert isinstance(found, kind), repr(raised)
    return found


def _header(separator: str, limit: int, remaining: int) -> re.Pattern[str]:
    sep = re.escape(separator)
    return re.compile(rf"limit={limit}{sep} remaining={remaining}{sep} reset=(\d+\.\d+)")


@pytest.mark.parametrize("separator", [",", ";"])
async def test_rate_limit_headers_and_429(
    backend: Backend, close: CloseAsync, lead: dict[str, Any], separator: str
) -> None:
    email = await close.emails.create(lead_id=lead["id"], status="draft")
    sms = await close.sms.create(status="draft", lead_id=lead["id"])
    backend.fake.rate_limits.set(GET_EMAIL, budget=3, window=60, separator=separator)
    for remaining in (2, 1, 0):
        raw = await backend.raw("GET", f"/activity/email/{email.id}/")
        assert raw.status == 200
        found = _header(separator, 3, remaining).fullmatch(raw.headers["ratelimit"])
        assert found is not None, raw.headers["ratelimit"]
        assert 0 < float(found.group(1)) <= 60
        assert "retry-after" not in raw.headers
    limited = await backend.raw("GET", f"/activity/email/{email.id}/")
    assert limited.status == 429
    assert _header(separator, 3, 0).fullmatch(limited.headers["ratelimit"])
    assert limited.headers["retry-after"] == "60"
    assert isinstance(limited.body["error"], str)
    with pytest.raises(RateLimitError) as refused:
        await close.emails.get(email.id)
    assert refused.value.status == 429
    assert refused.value.retry_after is not None
    assert 50 < refused.value.retry_after <= 60
    assert refused.value.rate_limit is not None
    assert (refused.value.rate_limit.limit, refused.value.rate_limit.remaining) == (3, 0)
    assert backend.fake.rate_limits.rejected == 2
    for other in (f"/activity/sms/{sms.id}/", "/activity/email/", "/activity/"):  # other groups
        raw = await backend.raw("GET", other)
        assert raw.status == 200
        assert "ratelimit" not in raw.headers
    assert (await close.emails.list().collect())[0].id == email.id


async def test_a_limit_for_every_group(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    backend.fake.rate_limits.set(budget=2, window=60)
    created = await close.emails.create(lead_id=lead["id"], status="draft")  # POST group: 1 of 2
    assert await close.emails.get(created.id) == created  # GET item group: 1 of 2
    await close.emails.get(created.id)
    with pytest.raises(RateLimitError):
        await close.emails.get(created.id)
    await close.emails.create(lead_id=lead["id"], status="draft")  # its own budget
    with pytest.raises(RateLimitError):
        await close.emails.create(lead_id=lead["id"], status="draft")
    assert len(backend.fake.activities) == 2


async def test_status_faults_for_a_count(backend: Backend, close: CloseAsync, lead: dict[str, Any]) -> None:
    email = await close.emails.create(lead_id=lead["id"], status="draft")
    backend.fake.faults.add("status", group=GET_EMAIL, status=503, count=2)
    for _ in range(2):
        with pytest.raises(ServerError) as failed:
            await close.emails.get(email.id)
        assert (failed.value.status, failed.value.body) == (503, {"error": "Injected failure."})
    assert (await close.emails.get(email.id)).id == email.id


async def test_a_status_fault_after_processing_still_writes(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    backend.fake.faults.add("status", group=CREATE_EMAIL, status=500, after=True, count=1)
    with pytest.raises(CloseError) as failed:
        await close.emails.create(lead_id=lead["id"], status="outbox", sender=SENDER, subject="Twice?")
    assert _failure(failed.value, ServerError).status == 500
    (stored,) = backend.fake.activities.values()
    assert stored["subject"] == "Twice?"
    backend.fake.advance(0)
    assert [m.id for m in backend.fake.sent_emails] == [stored["id"]]


async def test_probability_faults_are_reproducible_with_a_seed(backend: Backend, close: CloseAsync) -> None:
    draws = random.Random(SEED)
    expected = ["503" if draws.random() < 0.5 else "ok" for _ in range(16)]
    assert "503" in expected
    assert "ok" in expected

    async def outcomes() -> list[str]:
        seen = []
        for _ in range(16):
            try:
                await close.emails.list().collect()
            except ServerError as exc:
                seen.append(str(exc.status))
            else:
                seen.append("ok")
        return seen

    backend.fake.faults.add("status", group="GET /activity/email/", status=503, probability=0.5)
    assert await outcomes() == expected
    backend.fake.reset()  # reseeds the faults' generator (and removes them)
    assert await outcomes() == ["ok"] * 16
    backend.fake.reset()
    backend.fake.faults.add("status", group="GET /activity/email/", status=503, probability=0.5)
    assert await outcomes() == expected


async def test_a_delay_longer_than_the_timeout_times_out(backend: Backend, lead: dict[str, Any]) -> None:
    async with backend.client() as close:
        email = await close.emails.create(lead_id=lead["id"], status="draft")
    backend.fake.faults.add("delay", group=GET_EMAIL, delay=0.3, count=1)
    async with backend.client(timeout=0.05) as impatient:
        with pytest.raises(RequestTimeoutError) as timed_out:
            await impatient.emails.get(email.id)
        assert timed_out.value.may_have_reached_server is True
        assert (await impatient.emails.get(email.id)).id == email.id  # the fault was used up


async def test_a_drop_before_processing_writes_nothing(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    backend.fake.faults.add("drop", group=CREATE_EMAIL, count=1)
    with pytest.raises(CloseError) as dropped:
        await close.emails.create(lead_id=lead["id"], status="outbox", sender=SENDER)
    failure = _failure(dropped.value, TransportError)
    assert not isinstance(failure, RequestTimeoutError)
    assert failure.may_have_reached_server is True
    backend.fake.advance(60)
    assert backend.fake.activities == {}
    assert backend.fake.sent_emails == []
    assert await close.emails.list().collect() == []


async def test_a_drop_after_processing_wrote_although_the_client_saw_nothing(
    backend: Backend, close: CloseAsync, lead: dict[str, Any]
) -> None:
    backend.fake.faults.add("drop", group=CREATE_EMAIL, after=True, count=1)
    with pytest.raises(CloseError) as dropped:
        await close.emails.create(lead_id=lead["id"], status="outbox", sender=SENDER, subject="Lost answer")
    assert _failure(dropped.value, TransportError).may_have_reached_server is True
    (stored,) = backend.fake.activities.values()
    assert stored["subject"] == "Lost answer"
    listed = await close.emails.list().collect()  # delivers the due send first
    assert [(e.id, e.status) for e in listed] == [(stored["id"], "sent")]
    assert [m.id for m in backend.fake.sent_emails] == [stored["id"]]
    sms = await close.sms.create(status="draft", lead_id=lead["id"])  # other groups were never affected
    assert sms.status == "draft"
