"""Edge cases found in review: long reads, ambiguous writes, redaction, redirects, models."""

from __future__ import annotations

import copy
import pickle
from datetime import timedelta
from pathlib import Path

import orjson
import pytest

import closeasync
from closeasync import (
    APIError,
    BadRequestError,
    CloseAsync,
    InvalidRequestError,
    RequestEvent,
    RetryPolicy,
    TransportError,
    WriteOutcomeUnknownError,
)
from closeasync.fake import FakeClose
from closeasync.models import Email, evolve, loaded_fields
from closeasync.models._converter import converter
from closeasync.transports import ReplayTransport, Request, Response
from tests.conftest import API_KEY, StubTransport, json_response

FAST = RetryPolicy(backoff_base=0.001, backoff_max=0.002, random=lambda: 1.0)
EMAIL = {"_type": "Email", "id": "acti_1", "status": "draft"}


class InstantStub(StubTransport):
    instant_waits = True


async def test_a_long_listing_sent_as_post_is_still_a_read_and_is_retried() -> None:
    """Over 2,000 characters a GET travels as POST + override; a 503 is retried like any read."""
    stub = InstantStub()
    stub.queue(json_response({"error": "busy"}, 503), json_response({"data": [EMAIL], "has_more": False}))
    ids = [f"acti_{'x' * 43}{n:03d}" for n in range(60)]
    async with CloseAsync(api_key=API_KEY, transport=stub, retry=FAST) as close:
        emails = await close.emails.list(id__in=ids).collect()
    assert [e.id for e in emails] == ["acti_1"]
    assert [r.method for r in stub.requests] == ["POST", "POST"]
    assert stub.requests[0].header("x-http-method-override") == "GET"


@pytest.mark.parametrize(
    ("status", "policy"),
    [(520, RetryPolicy()), (500, RetryPolicy(retry_statuses=frozenset({502, 503, 504})))],
    ids=["520-not-in-retry-statuses", "500-removed-from-retry-statuses"],
)
async def test_any_5xx_on_a_write_leaves_its_outcome_unknown(status: int, policy: RetryPolicy) -> None:
    """Whatever the policy retries, a write answered 5xx may have been processed."""
    stub = InstantStub()
    stub.queue(json_response({"error": "origin failed"}, status))
    async with CloseAsync(api_key=API_KEY, transport=stub, retry=policy) as close:
        with pytest.raises(WriteOutcomeUnknownError) as info:
            await close.emails.create(lead_id="lead_1", status="draft")
    assert len(stub.requests) == 1
    assert isinstance(info.value.__cause__, APIError)
    assert info.value.__cause__.status == status


async def test_closing_mid_write_still_reports_the_unknown_outcome() -> None:
    """A write that may have reached Close stays ambiguous when the client closes under it."""

    class ClosingStub(StubTransport):
        client: CloseAsync

        async def send(self, request: Request) -> Response:
            self.requests.append(request)
            await self.client.aclose()
            raise TransportError(
                "reset", may_have_reached_server=True, method=request.method, url=request.url
            )

    stub = ClosingStub()
    close = CloseAsync(api_key=API_KEY, transport=stub)
    stub.client = close
    with pytest.raises(WriteOutcomeUnknownError):
        await close.emails.create(lead_id="lead_1", status="outbox", sender="me@example.com")
    assert len(stub.requests) == 1


async def test_a_5xx_waits_for_retry_after_not_for_the_rate_limit_window() -> None:
    """RateLimit's reset is about the window; a 503's backoff is not stretched to it."""
    stub = InstantStub()
    stub.queue(
        json_response({"error": "busy"}, 503, (("RateLimit", "limit=100, remaining=50, reset=7.5"),)),
        json_response(EMAIL),
    )
    events: list[RequestEvent] = []
    async with CloseAsync(api_key=API_KEY, transport=stub, retry=FAST, on_event=events.append) as close:
        await close.emails.get("acti_1")
    (retry,) = [e for e in events if e.kind == "retry"]
    assert retry.delay <= FAST.backoff_max


async def test_echoed_credentials_are_redacted_from_every_part_of_an_error() -> None:
    """Even a body, field errors or a cause that echo the key do not carry it out."""
    stub = StubTransport()
    stub.queue(
        json_response({"errors": [f"bad {API_KEY}"], "field-errors": {"key": API_KEY}}, 400),
        json_response({"error": f"down for {API_KEY}"}, 503),
    )
    async with CloseAsync(api_key=API_KEY, transport=stub, retry=RetryPolicy(max_attempts=1)) as close:
        with pytest.raises(BadRequestError) as bad:
            await close.emails.get("acti_1")
        with pytest.raises(WriteOutcomeUnknownError) as unknown:
            await close.emails.create(lead_id="lead_1", status="draft")
    for error in (bad.value, unknown.value, unknown.value.__cause__):
        assert error is not None
        shown = repr(vars(error)) + repr(error.args) + str(error)
        assert API_KEY not in shown
    assert bad.value.field_errors == {"key": "<redacted>"}


@pytest.mark.parametrize("status", [204, 302, 304])
async def test_only_2xx_is_success(status: int) -> None:
    """A redirect is not a success (it is not followed); an empty 204 is."""
    stub = StubTransport()
    stub.queue(Response(status, (("location", "https://elsewhere.example/"),), b""))
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        if status == 204:
            await close.emails.delete("acti_1")
        else:
            with pytest.raises(APIError) as info:
                await close.emails.delete("acti_1")
            assert info.value.status == status


async def test_a_draft_edit_keeps_its_scheduled_date_in_the_fake() -> None:
    """PUT acts as PATCH: editing a draft's subject leaves its date_scheduled alone."""
    fake = FakeClose(seed=2)
    lead = fake.add_lead("Acme")
    when = fake.now + timedelta(hours=2)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        draft = await close.emails.create(
            lead_id=lead["id"], status="draft", sender="me@example.com", date_scheduled=when
        )
        draft = await close.emails.update(draft, subject="Edited")
        assert draft.date_scheduled == when
        scheduled = await close.emails.update(draft, status="scheduled")  # its own date will do
        assert scheduled.status == "scheduled"


@pytest.mark.parametrize(
    "value", ["2030-01-01T10:00:00", "tomorrow", "2030-01-01"], ids=["naive", "words", "date-only"]
)
async def test_times_without_an_offset_are_refused_by_the_sdk_and_the_fake(value: str) -> None:
    """A time given as a string must be ISO 8601 with an offset, for both (shared rules)."""
    fake = FakeClose(seed=3)
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        with pytest.raises(InvalidRequestError) as sdk:
            await close.emails.create(
                lead_id=lead["id"],
                status="scheduled",
                sender="me@example.com",
                date_scheduled=value,  # type: ignore[arg-type]  # a str on purpose
            )
    assert set(sdk.value.field_errors) == {"date_scheduled"}
    body = {"lead_id": lead["id"], "status": "scheduled", "sender": "me@example.com", "date_scheduled": value}
    from closeasync.fake import FakeRequest

    answer = fake.handle(
        FakeRequest("POST", "/activity/email/", {}, body, {"authorization": _basic(fake.api_key)})
    ).response
    assert answer.status == 400
    assert set(answer.body["field-errors"]) == {"date_scheduled"}


def _basic(key: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def test_models_pickle_copy_and_evolve_with_absent_fields() -> None:
    """Partial models survive pickle and (deep)copy, and evolve keeps absent fields absent."""
    email = converter.structure({"_type": "Email", "id": "acti_1", "to": ["a@example.com"]}, Email)
    for twin in (pickle.loads(pickle.dumps(email)), copy.copy(email), copy.deepcopy(email)):
        assert twin == email
        assert loaded_fields(twin) == {"id", "to"}
    changed = evolve(email, subject="Hi")
    assert changed.subject == "Hi"
    assert loaded_fields(changed) == {"id", "to", "subject"}
    assert loaded_fields(email) == {"id", "to"}
    with pytest.raises(TypeError, match="subjekt"):
        evolve(email, subjekt="x")


async def test_a_failure_in_the_block_is_not_hidden_by_closing(tmp_path: Path) -> None:
    """Closing a cassette with unplayed interactions must not replace the block's own error."""
    path = tmp_path / "c.json"
    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")
    from closeasync.transports import RecordingTransport

    async with CloseAsync(
        api_key=fake.api_key, transport=RecordingTransport(fake.transport(), path)
    ) as close:
        await close.emails.create(lead_id=lead["id"], status="draft")
        await close.emails.create(lead_id=lead["id"], status="draft")

    async def fails_part_way() -> None:
        replay = ReplayTransport(path, allow_unused=False)
        async with CloseAsync(api_key=fake.api_key, transport=replay) as close:
            await close.emails.create(lead_id=lead["id"], status="draft")
            raise KeyError("the test's own failure")

    with pytest.raises(KeyError, match="own failure"):
        await fails_part_way()
    assert orjson.loads(path.read_bytes())["version"] == 1


def test_public_names() -> None:
    """What the README and DESIGN call public is importable from the top level."""
    for name in (
        "RetryPolicy",
        "WriteOutcomeUnknownError",
        "RequestEvent",
        "CassetteError",
        "FieldNotLoaded",
    ):
        assert name in closeasync.__all__
        assert hasattr(closeasync, name)
