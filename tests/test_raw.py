"""``close.get/post/put/delete(path)``: any endpoint as plain JSON, through the typed calls' pipeline.

Against the in-process fake for what Close answers, a scripted transport for retries,
pacing groups and the wire, and the fake served over real HTTP once.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from closeasync import (
    AuthenticationError,
    CloseAsync,
    InvalidRequestError,
    NotFoundError,
    RateLimitError,
    RequestEvent,
    RetryPolicy,
    ServerError,
    TransportError,
    WriteOutcomeUnknownError,
)
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.models import to_dict
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, StubTransport, json_response

BASE = "https://close.test/api/v1"
#: Retries without waiting between attempts.
FAST = RetryPolicy(backoff_base=0.0)


#: No answer: the connection reset after the request went out.
LOST = TransportError("connection reset", may_have_reached_server=True)


def lost(request: Request) -> Response:
    raise LOST


def script(*steps: Response | Exception) -> Callable[[Request], Response]:
    """A handler answering (or failing) with ``steps`` in turn."""
    pending = list(steps)

    def handle(request: Request) -> Response:
        step = pending.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    return handle


def client(stub: StubTransport, **options: Any) -> CloseAsync:
    return CloseAsync(api_key=API_KEY, transport=stub, base_url=BASE, **{"retry": FAST, **options})


# -- against the fake -------------------------------------------------------------------------


@pytest.fixture
def fake() -> FakeClose:
    return FakeClose(seed=7)


async def test_get_a_list_is_what_the_typed_listing_holds(fake: FakeClose) -> None:
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        for subject in ("one", "two", "three"):
            await close.emails.create(lead_id=lead["id"], status="draft", subject=subject)
            fake.advance(1)
        raw = await close.get("/activity/email/", params={"lead_id": lead["id"]})
        typed = await close.emails.list(lead_id=lead["id"]).collect()
    assert raw["data"] == [to_dict(email) for email in typed]
    assert raw["has_more"] is False
    assert [item["subject"] for item in raw["data"]] == ["three", "two", "one"]


async def test_post_put_get_delete_round_trip(fake: FakeClose) -> None:
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        created = await close.post(
            "activity/email/", json={"lead_id": lead["id"], "status": "draft", "subject": "Hi"}
        )
        assert created["_type"] == "Email"
        assert fake.activities[created["id"]]["subject"] == "Hi"
        assert (await close.emails.get(created["id"])).subject == "Hi"

        updated = await close.put(f"/activity/email/{created['id']}/", json={"subject": "Hello"})
        assert updated["subject"] == "Hello"
        got = await close.get(f"activity/email/{created['id']}")  # no slashes at either end
        assert got == to_dict(await close.emails.get(created["id"]))

        assert await close.delete(f"/activity/email/{created['id']}/") == {}
        assert created["id"] not in fake.activities
        with pytest.raises(NotFoundError):
            await close.get(f"/activity/email/{created['id']}/")


async def test_close_rules_come_back_as_typed_errors(fake: FakeClose) -> None:
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        with pytest.raises(NotFoundError):
            await close.get("/no_such_endpoint/")
    async with CloseAsync(api_key="api_wrong", transport=fake.transport()) as close:
        with pytest.raises(AuthenticationError):
            await close.get("/activity/email/")


async def test_a_long_get_moves_its_query_into_the_body(fake: FakeClose) -> None:
    lead = fake.add_lead("Acme")
    wanted = fake.add_activity("Email", lead_id=lead["id"], subject="x")
    ids = [wanted["id"], *(f"acti_{n:043d}" for n in range(60))]
    events: list[RequestEvent] = []
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport(), on_event=events.append) as close:
        raw = await close.get("/activity/email/", params={"id__in": ids})
    assert [item["id"] for item in raw["data"]] == [wanted["id"]]
    assert events[0].method == "POST"  # the documented fallback, still a read
    assert events[0].group == "GET /activity/email/"


# -- the wire, retries and pacing groups (a scripted transport) -----------------------------


async def test_params_are_encoded_as_the_typed_calls_encode_them(stub: StubTransport) -> None:
    class Kind(enum.Enum):
        EMAIL = "Email"

    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    stub.handler = lambda request: json_response({"data": [], "has_more": False})
    async with client(stub) as close:
        await close.emails.list(lead_id=["lead_1", "lead_2"], date_created__gte=when).collect()
        typed = stub.last.url
        await close.get(
            "/activity/email/",
            params={
                "lead_id": ["lead_1", "lead_2"],
                "date_created__gte": when,
                "skip_me": None,
                "_limit": 100,
            },
        )
        assert stub.last.url == typed
        await close.get("/activity/", params={"_type": Kind.EMAIL, "thread_emails": True})
        assert stub.last.url == f"{BASE}/activity/?_type=Email&thread_emails=true"


async def test_json_values_are_formatted_and_a_naive_datetime_is_refused(stub: StubTransport) -> None:
    async with client(stub) as close:
        when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        await close.post("/lead/", json={"name": "Acme", "date": when, "tags": ("a", "b")})
        assert orjson.loads(stub.last.content or b"") == {
            "name": "Acme",
            "date": "2026-01-02T03:04:05.000000+00:00",
            "tags": ["a", "b"],
        }
        with pytest.raises(InvalidRequestError, match="date"):
            await close.put("/lead/lead_1/", json={"date": datetime(2026, 1, 2)})
        with pytest.raises(TypeError):
            await close.post("/lead/", json={"tags": {1, 2}})
    assert len(stub.requests) == 1


async def test_a_post_whose_answer_is_lost_is_not_repeated(stub: StubTransport) -> None:
    stub.handler = lost
    async with client(stub) as close:
        with pytest.raises(WriteOutcomeUnknownError):
            await close.post("/lead/", json={"name": "Acme"})
    assert len(stub.requests) == 1


async def test_a_post_answered_5xx_is_not_repeated(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response({"error": "oops"}, 503)
    async with client(stub) as close:
        with pytest.raises(WriteOutcomeUnknownError):
            await close.post("activity/note/", json={"lead_id": "lead_1", "note": "hi"})
    assert len(stub.requests) == 1


async def test_a_get_is_repeated(stub: StubTransport) -> None:
    stub.handler = script(json_response({"error": "busy"}, 503), LOST, json_response({"id": "lead_1"}))
    async with client(stub) as close:
        assert await close.get("/lead/lead_1/") == {"id": "lead_1"}
    assert len(stub.requests) == 3


async def test_a_view_keeps_its_own_retry_policy(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response({"error": "busy"}, 503)
    async with client(stub) as close:
        with pytest.raises(ServerError, match="busy"):
            await close.with_options(retry=RetryPolicy(max_attempts=1)).get("/lead/")
    assert len(stub.requests) == 1


@pytest.mark.parametrize("status", ["outbox", "scheduled"])
@pytest.mark.parametrize("kind", ["email", "sms"])
async def test_a_put_that_sends_is_never_repeated(stub: StubTransport, kind: str, status: str) -> None:
    stub.handler = lost
    async with client(stub) as close:
        with pytest.raises(WriteOutcomeUnknownError):
            await close.put(f"/activity/{kind}/acti_1/", json={"status": status})
    assert len(stub.requests) == 1
    assert stub.last.sends


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/activity/email/acti_1/", {"status": "draft"}),
        ("/activity/email/acti_1/", {"subject": "x"}),
        ("/lead/lead_1/", {"status": "outbox"}),  # not a message: nothing is sent
    ],
)
async def test_a_put_that_does_not_send_is_repeated(stub: StubTransport, path: str, body: Any) -> None:
    stub.queue(json_response({}, 502), json_response({"id": "repeated"}))
    async with client(stub) as close:
        assert await close.put(path, json=body) == {"id": "repeated"}  # the repeat's answer
    assert len(stub.requests) == 2
    assert not stub.last.sends


async def test_a_post_creating_a_sending_message_is_marked_as_sending(stub: StubTransport) -> None:
    async with client(stub) as close:
        await close.post("/activity/sms/", json={"status": "outbox", "local_phone": "+1"})
        assert stub.last.sends
        await close.post("/activity/sms/", json={"status": "draft"})
        assert not stub.last.sends


async def test_a_delete_is_repeated_and_a_404_after_a_lost_answer_is_done(stub: StubTransport) -> None:
    stub.handler = script(LOST, json_response({"error": "Not found"}, 404))
    async with client(stub) as close:
        assert await close.delete("/lead/lead_1/") == {}
    assert len(stub.requests) == 2


async def test_a_raw_call_shares_its_pacing_group_with_the_typed_one(stub: StubTransport) -> None:
    events: list[RequestEvent] = []
    stub.handler = lambda request: json_response({"_type": "Email", "id": "acti_1"})
    async with client(stub, on_event=events.append) as close:
        await close.get("/activity/email/acti_1/")
        await close.emails.get("acti_1")
        await close.get("activity/email/acti_2")
        await close.get("/lead/lead_abc123/")
        await close.get("lead/lead_XYZ789")
        await close.put("/lead/lead_abc123/", json={})
        await close.get("/activity/status_change/lead/")
        await close.get("/custom_field/lead/cf_1AbC/")
        await close.get("/bulk_action/email/bulk_9/items/")
    groups = [event.group for event in events if event.kind == "request"]
    assert groups == [
        "GET /activity/email/{id}/",
        "GET /activity/email/{id}/",
        "GET /activity/email/{id}/",
        "GET /lead/{id}/",
        "GET /lead/{id}/",
        "PUT /lead/{id}/",
        "GET /activity/status_change/lead/",
        "GET /custom_field/lead/{id}/",
        "GET /bulk_action/email/{id}/items/",
    ]
    assert [request.url for request in stub.requests][-1] == f"{BASE}/bulk_action/email/bulk_9/items/"


async def test_a_spent_budget_holds_the_typed_call_of_the_same_group(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response(
        {"_type": "Email", "id": "acti_1"}, headers=(("RateLimit", "limit=10, remaining=0, reset=30"),)
    )
    async with client(stub, retry=RetryPolicy(max_rate_limit_wait=1)) as close:
        await close.get("/activity/email/acti_1/")
        with pytest.raises(RateLimitError, match="nothing was sent"):
            await close.emails.get("acti_2")
        with pytest.raises(RateLimitError):
            await close.get("/activity/email/acti_3/")
        await close.get("/activity/email/")  # another group: not held
    assert len(stub.requests) == 2


# -- credentials ------------------------------------------------------------------------------


async def test_the_key_is_in_no_error(stub: StubTransport) -> None:
    stub.handler = lambda request: json_response(
        {"error": f"bad key {API_KEY}", "field-errors": {"k": API_KEY}}, 401
    )
    async with client(stub) as close:
        with pytest.raises(AuthenticationError) as caught:
            await close.get("/lead/")
        with pytest.raises(InvalidRequestError) as refused:
            await close.get(f"/lead/{API_KEY}/../x/")
        with pytest.raises(InvalidRequestError) as refused_param:
            await close.get("/lead/", params={API_KEY: []})
        stub.handler = lost
        with pytest.raises(WriteOutcomeUnknownError) as unknown:
            await close.post("/lead/", json={"name": API_KEY})
    for error in (caught.value, refused.value, refused_param.value, unknown.value):
        text = f"{error!s} {error!r} {vars(error)!r} {error.args!r}"
        assert API_KEY not in text, text
    assert "Authorization" not in repr(stub.requests[0])


async def test_a_closed_client_sends_nothing(stub: StubTransport) -> None:
    close = client(stub)
    await close.aclose()
    with pytest.raises(Exception, match="closed"):
        await close.get("/lead/")
    assert stub.requests == []


# -- over real HTTP ---------------------------------------------------------------------------


async def test_raw_calls_over_http() -> None:
    fake = FakeClose(seed=3)
    lead = fake.add_lead("Acme")
    for _ in range(7):
        fake.add_activity("Note", lead_id=lead["id"], note="n")
        fake.advance(1)
    async with serve(fake) as server, CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
        created = await close.post(
            "/activity/email/", json={"lead_id": lead["id"], "status": "draft", "subject": "Hi"}
        )
        path = f"/activity/email/{created['id']}/"
        assert (await close.put(path, json={"subject": "Yo"}))["subject"] == "Yo"
        assert (await close.get(path))["subject"] == "Yo"
        notes = await close.paginate("activity/note", params={"lead_id": lead["id"]}, page_size=3).collect()
        many = await close.get("/activity/note/", params={"id__in": [n["id"] for n in notes] * 40})
        assert await close.delete(path) == {}
        with pytest.raises(NotFoundError):
            await close.get(path)
        with pytest.raises(InvalidRequestError):
            await close.get("//127.0.0.1/api/v1/activity/")
    assert len(notes) == 7
    assert {n["id"] for n in many["data"]} == {n["id"] for n in notes}


def test_nothing_is_sent_before_awaiting() -> None:
    stub = StubTransport()

    async def main() -> None:
        async with client(stub) as close:
            call = close.get("/lead/")
            assert stub.requests == []
            await call

    asyncio.run(main())
    assert len(stub.requests) == 1
