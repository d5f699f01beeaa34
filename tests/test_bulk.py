"""Bulk helpers: get_many and create_many, bounded, with results and failures per item."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import anyio
import pytest

from closeasync import (
    BulkResult,
    CloseAsync,
    InvalidRequestError,
    NotFoundError,
    RequestTimeoutError,
    ServerError,
    WriteOutcomeUnknownError,
)
from closeasync.fake import FakeClose
from closeasync.models import SMS, Email
from closeasync.retry import RetryPolicy
from closeasync.transports import Request
from tests.conftest import API_KEY, StubTransport
from tests.test_prefetch import Gate, other_tasks

BOUND = 10.0
NO_RETRY = RetryPolicy(max_attempts=1)
SENDER = "me@fake.close.test"


def fake_with_emails(count: int) -> tuple[FakeClose, str, list[str]]:
    fake = FakeClose(seed=21)
    lead = fake.add_lead("Acme")["id"]
    ids = [fake.add_activity("Email", lead_id=lead, subject=f"s{i}")["id"] for i in range(count)]
    return fake, lead, ids


def connect(fake: FakeClose, transport: Any, **options: Any) -> CloseAsync:
    return CloseAsync(api_key=fake.api_key, transport=transport, **options)


def kinds(gate: Gate) -> Counter[str]:
    """Requests by kind: list lookups, single GETs, creates."""

    def kind(request: Request) -> str:
        path = request.url.split("?")[0]
        if request.method == "POST" and request.header("x-http-method-override") == "GET":
            return "lookup"
        if request.method == "GET":
            return "lookup" if path.endswith(("/email/", "/sms/")) else "get"
        return request.method

    return Counter(kind(r) for r in gate.log)


# -- get_many --------------------------------------------------------------------------------------


async def test_get_many_in_input_order_with_errors_per_id() -> None:
    """Found ids in input order; a missing id fails with Close's own 404, the rest succeed."""
    fake, _, ids = fake_with_emails(5)
    wanted = [ids[3], "acti_missing", ids[0], ids[3], ids[1]]
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        with anyio.fail_after(BOUND):
            result = await close.emails.get_many(wanted)
    assert [key for key, _ in result] == [ids[3], "acti_missing", ids[0], ids[1]]  # repeats once
    assert list(result.ok) == [ids[3], ids[0], ids[1]]
    assert all(isinstance(e, Email) and e.id == key for key, e in result.ok.items())
    assert result.ok[ids[0]].subject == "s0"
    assert list(result.errors) == ["acti_missing"]
    assert isinstance(result.errors["acti_missing"], NotFoundError)
    assert not result.all_ok
    # One lookup for the batch, and a GET only for the id the lookup did not return.
    assert kinds(gate) == {"lookup": 1, "get": 1}


async def test_get_many_batches_and_bounds_concurrency() -> None:
    """250 ids: three lookups of at most 100, never more than `concurrency` in flight."""
    fake, _, ids = fake_with_emails(250)
    gate = Gate(fake.transport(), together=2)  # every request waits until 2 are in flight
    # No slow start (which sends a group's first request alone): this transport answers none alone.
    async with connect(fake, gate, pace_rate_limits=False) as close:
        with anyio.fail_after(BOUND):
            result = await close.emails.get_many(reversed(ids), concurrency=2)
    assert list(result.ok) == ids[::-1]
    assert kinds(gate) == {"lookup": 3}
    assert gate.max_in_flight == 2


async def test_get_many_partial_fields() -> None:
    """fields= asks for those fields (and the id, to match the results)."""
    fake, _, ids = fake_with_emails(3)
    async with connect(fake, fake.transport()) as close:
        result = await close.emails.get_many(ids, fields=["subject"])
    assert [(e.id, e.subject) for e in result.ok.values()] == [(ids[0], "s0"), (ids[1], "s1"), (ids[2], "s2")]
    assert not hasattr(result.ok[ids[0]], "lead_id")  # not loaded


async def test_a_failed_lookup_fails_its_ids_only() -> None:
    """A lookup batch that fails gives its error to each of its ids; other batches succeed."""
    fake, _, ids = fake_with_emails(150)
    fake.faults.add("status", group="GET /activity/email/", status=503, count=1)
    async with connect(fake, fake.transport(), retry=NO_RETRY) as close:
        result = await close.emails.get_many(ids, concurrency=1)
    assert list(result.errors) == ids[:100]
    assert all(isinstance(e, ServerError) for e in result.errors.values())
    assert list(result.ok) == ids[100:]


async def test_get_many_of_nothing_sends_nothing() -> None:
    fake, _, _ = fake_with_emails(1)
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        result = await close.emails.get_many([])
        created = await close.emails.create_many([])
    assert (len(result), len(created), gate.log) == (0, 0, [])
    assert result.all_ok


@pytest.mark.parametrize(
    "ids", ["acti_1", ["acti_1", ""], ["acti_1", None], ["acti_1", " acti_2"], ["acti_1", "a,b"]]
)
async def test_get_many_refuses_bad_ids_before_sending(ids: Any) -> None:
    fake, _, _ = fake_with_emails(1)
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        with pytest.raises(InvalidRequestError):
            await close.emails.get_many(ids)
        with pytest.raises(InvalidRequestError):
            await close.emails.get_many(["acti_1"], concurrency=0)
    assert gate.log == []


async def test_sms_get_many() -> None:
    fake = FakeClose(seed=2)
    lead = fake.add_lead("Acme")["id"]
    ids = [fake.add_activity("SMS", lead_id=lead, text=f"t{i}")["id"] for i in range(3)]
    email = fake.add_activity("Email", lead_id=lead)["id"]
    async with connect(fake, fake.transport()) as close:
        result = await close.sms.get_many([*ids, email])
    assert [s.text for s in result.ok.values()] == ["t0", "t1", "t2"]
    assert all(isinstance(s, SMS) for s in result.ok.values())
    assert isinstance(result.errors[email], NotFoundError)  # an email is not an SMS


# -- create_many -----------------------------------------------------------------------------------


async def test_create_many_checks_every_item_before_sending_it() -> None:
    """Invalid items fail with their own error and send nothing; valid ones are created, in order."""
    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")["id"]
    items: list[Any] = [
        {"lead_id": lead, "status": "draft", "subject": "one"},
        {"lead_id": lead, "status": "inbox", "subject": "no sender"},  # inbox needs a sender
        {"lead_id": lead, "status": "draft", "subjekt": "typo"},
        {"status": "draft", "subject": "no lead"},
        "not a mapping",
        {"lead_id": lead, "status": "draft", "subject": "two"},
    ]
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        result = await close.emails.create_many(items)
    assert list(result.ok) == [0, 5]
    assert [e.subject for e in result.ok.values()] == ["one", "two"]
    invalid = {i: e for i, e in result.errors.items() if isinstance(e, InvalidRequestError)}
    assert list(invalid) == [1, 2, 4]
    assert "sender" in invalid[1].field_errors
    assert "subjekt" in invalid[2].field_errors
    assert isinstance(result.errors[3], TypeError)
    assert [r.method for r in gate.log] == ["POST", "POST"]
    assert sorted(str(a.get("subject")) for a in fake.activities.values()) == ["one", "two"]


async def test_create_many_never_repeats_a_create_that_may_have_arrived() -> None:
    """A create whose answer is lost fails as unknown and is not repeated; the others go on."""
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Acme")["id"]
    fake.faults.add("drop", group="POST /activity/email/", after=True, count=1)
    items = [
        {"lead_id": lead, "status": "outbox", "sender": SENDER, "to": ["a@b.c"], "subject": f"m{i}"}
        for i in range(4)
    ]
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        result = await close.emails.create_many(items, concurrency=1)
    assert list(result.errors) == [0]
    assert isinstance(result.errors[0], WriteOutcomeUnknownError)
    assert list(result.ok) == [1, 2, 3]
    assert [r.method for r in gate.log] == ["POST"] * 4  # one attempt each
    fake.advance(1)
    assert sorted(m.message["subject"] for m in fake.sent_emails) == ["m0", "m1", "m2", "m3"]  # m0 did arrive


async def test_create_many_keeps_at_most_concurrency_in_flight() -> None:
    """40 creates with concurrency=3: never more than 3 in flight, all created once."""
    fake = FakeClose(seed=6)
    lead = fake.add_lead("Acme")["id"]
    gate = Gate(fake.transport(), together=3)
    # No slow start (which sends a group's first request alone): this transport answers none alone.
    async with connect(fake, gate, pace_rate_limits=False) as close:
        with anyio.fail_after(BOUND):
            result = await close.emails.create_many(
                [{"lead_id": lead, "status": "draft", "subject": str(i)} for i in range(40)], concurrency=3
            )
    assert result.all_ok
    assert len(result) == 40
    assert [e.subject for e in result.ok.values()] == [str(i) for i in range(40)]
    assert gate.max_in_flight == 3
    assert len(fake.activities) == 40


async def test_sms_create_many() -> None:
    fake = FakeClose(seed=8)
    lead = fake.add_lead("Acme")["id"]
    items = [
        {"status": "draft", "lead_id": lead, "text": "hello", "remote_phone": "+14155550100"},
        {"status": "draft", "lead_id": lead, "text": "hi", "send_to_inbox": True},  # inbox only
        {"status": "outbox", "lead_id": lead, "text": "go", "remote_phone": "+14155550100"},  # no local_phone
        {"status": "inbox", "lead_id": lead, "text": "in", "send_to_inbox": True},
    ]
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        result = await close.sms.create_many(items)
    assert list(result.ok) == [0, 3]
    assert all(isinstance(s, SMS) for s in result.ok.values())
    invalid = {i: e for i, e in result.errors.items() if isinstance(e, InvalidRequestError)}
    assert "send_to_inbox" in invalid[1].field_errors
    assert "local_phone" in invalid[2].field_errors
    assert [r.url.endswith("?send_to_inbox=true") for r in gate.log] == [False, True]


async def test_cancelling_a_bulk_call_leaves_nothing_running() -> None:
    """Cancelled mid-way: in-flight requests are cancelled, no task is left."""
    fake, _, ids = fake_with_emails(3)
    gate = Gate(fake.transport(), hold=lambda r: r.method == "GET")
    before = set(asyncio.all_tasks())
    async with connect(fake, gate) as close:
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as tg:
                tg.start_soon(close.emails.get_many, ids)
                await gate.held.wait()
                tg.cancel_scope.cancel()
    assert gate.in_flight == 0
    assert len(gate.cancelled) == 1
    assert other_tasks(before) == set()


# -- BulkResult -----------------------------------------------------------------------------------------


def test_bulk_result() -> None:
    """Outcomes in input order; raise_errors groups the failures."""
    boom = ValueError("boom")
    result: BulkResult[int, str] = BulkResult([0, 1, 2], ["a", boom, "c"])
    assert list(result) == [(0, "a"), (1, boom), (2, "c")]
    assert result.ok == {0: "a", 2: "c"}
    assert result.errors == {1: boom}
    assert repr(result) == "<BulkResult ok=2 errors=1>"
    with pytest.raises(ExceptionGroup) as caught:
        result.raise_errors()
    assert caught.value.exceptions == (boom,)
    BulkResult(["x"], [None]).raise_errors()  # None is a result, not a failure
    with pytest.raises(ValueError, match="one outcome per key"):
        BulkResult([1], [])


@pytest.mark.parametrize("bad", [None, 5, "acti_1"])
async def test_get_many_and_create_many_refuse_what_is_not_a_list(bad: Any) -> None:
    """A wrong kind of argument is an InvalidRequestError naming it, and nothing is sent."""
    stub = StubTransport()
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        with pytest.raises(InvalidRequestError) as ids:
            await close.emails.get_many(bad)
        with pytest.raises(InvalidRequestError) as items:
            await close.sms.create_many(bad)
    assert "ids" in ids.value.field_errors
    assert "items" in items.value.field_errors
    assert stub.requests == []


# -- stopping a create_many early ----------------------------------------------------------------------


class LostAnswers:
    """Close gets every POST; the answers to those whose subject is in ``lost`` never come back."""

    def __init__(self, fake: FakeClose, lost: set[str]) -> None:
        self.inner = fake.transport()
        self.lost = lost
        self.arrived: list[str] = []
        self.all_lost = anyio.Event()

    async def send(self, request: Request) -> Any:
        response = await self.inner.send(request)  # Close has it now
        subject = (request.json() or {}).get("subject") if request.method == "POST" else None
        self.arrived.append(str(subject))
        if subject in self.lost:
            if sum(s in self.lost for s in self.arrived) == len(self.lost):
                self.all_lost.set()
            await anyio.Event().wait()  # the answer is lost: only cancellation ends this
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


def six_drafts(lead: str) -> list[dict[str, Any]]:
    return [{"lead_id": lead, "status": "draft", "subject": f"m{i}"} for i in range(6)]


async def test_create_many_stop_after_reports_every_item() -> None:
    """Two creates whose answers are lost hold both slots until stop_after: they are
    "outcome unknown" (and were created), the two behind them "not sent" (and were not)."""
    fake = FakeClose(seed=9)
    lead = fake.add_lead("Acme")["id"]
    transport = LostAnswers(fake, {"m2", "m3"})
    async with connect(fake, transport, retry=NO_RETRY) as close:
        with anyio.fail_after(BOUND):
            result = await close.emails.create_many(six_drafts(lead), concurrency=2, stop_after=1.0)
    assert list(result.ok) == [0, 1]
    assert list(result.unknown) == [2, 3]
    assert all(isinstance(result.errors[i], WriteOutcomeUnknownError) for i in (2, 3))
    for i in (4, 5):
        error = result.errors[i]
        assert isinstance(error, RequestTimeoutError)
        assert not error.may_have_reached_server
        assert "nothing was sent" in str(error)
    assert sorted(a["subject"] for a in fake.activities.values()) == ["m0", "m1", "m2", "m3"]
    assert transport.arrived == ["m0", "m1", "m2", "m3"]  # nothing after stop_after


async def test_cancelled_create_many_names_the_items_whose_outcome_is_unknown() -> None:
    """Cancelled from outside it can return nothing: the cancellation carries a note."""
    fake = FakeClose(seed=10)
    lead = fake.add_lead("Acme")["id"]
    transport = LostAnswers(fake, {"m1", "m2"})
    notes: list[str] = []

    async def create_all(close: CloseAsync) -> None:
        try:
            await close.emails.create_many(six_drafts(lead), concurrency=2)
        except BaseException as exc:
            notes.extend(getattr(exc, "__notes__", []))
            raise

    async with connect(fake, transport, retry=NO_RETRY) as close:
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as tg:
                tg.start_soon(create_all, close)
                await transport.all_lost.wait()
                tg.cancel_scope.cancel()
    assert notes == [
        "cancelled with 5 of 6 items unfinished: 3 not sent, 2 being sent "
        "(outcome unknown: check before repeating them): [1, 2]"
    ]


@pytest.mark.parametrize("stop_after", [-1, "5", True, float("nan")])
async def test_create_many_refuses_a_bad_stop_after_before_sending(stop_after: Any) -> None:
    fake = FakeClose(seed=11)
    lead = fake.add_lead("Acme")["id"]
    gate = Gate(fake.transport())
    async with connect(fake, gate) as close:
        with pytest.raises(InvalidRequestError, match="stop_after"):
            await close.emails.create_many(six_drafts(lead), stop_after=stop_after)
    assert gate.log == []
