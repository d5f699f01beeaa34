"""Every resource method sends exactly the request Close documents.

Each case runs twice: at our own transport seam (a recording Transport, on any
aiohttp) and through the real AiohttpTransport with aioresponses intercepting
aiohttp. aioresponses 0.7.x cannot build responses on aiohttp >= 3.14, so that
half is skipped there and runs in ``nox -s tests_aiohttp313`` and ``nox -s floors``
(the whole suite on the oldest aiohttp we allow).
"""

from __future__ import annotations

import base64
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypedDict, Unpack
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import attrs
import orjson
import pytest

from closeasync import CloseAsync
from closeasync.models import SMS, Email, MessageStatus
from tests.conftest import API_KEY, StubTransport, json_response

BASE = "https://api.close.com/api/v1"
BASIC = "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
AIOHTTP_314 = tuple(int(p) for p in aiohttp.__version__.split(".")[:2]) >= (3, 14)
WHEN = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)

EMAIL = {"_type": "Email", "id": "acti_E1", "status": "draft", "lead_id": "lead_1", "subject": "Hi"}
SMS_JSON = {"_type": "SMS", "id": "acti_S1", "status": "draft", "lead_id": "lead_1", "text": "Yo"}
PAGE = {"data": [EMAIL], "has_more": False}


class Credentials(TypedDict, total=False):
    """The credential keywords of :class:`CloseAsync` (tests pass one of them)."""

    api_key: str
    oauth_token: str


@attrs.frozen
class Sent:
    """What reached the wire, decoded for comparison."""

    method: str
    path: str
    query: dict[str, str]
    json: Any
    headers: dict[str, str]


class SeamHarness:
    """Requests captured by a Transport of our own."""

    def __init__(self) -> None:
        self.stub = StubTransport()

    def client(self, **credentials: Unpack[Credentials]) -> CloseAsync:
        chosen: Credentials = credentials or {"api_key": API_KEY}
        return CloseAsync(**chosen, transport=self.stub)

    def respond(self, body: Any) -> None:
        self.stub.handler = lambda request: json_response(body)

    def sent(self) -> list[Sent]:
        out = []
        for request in self.stub.requests:
            parts = urlsplit(request.url)
            out.append(
                Sent(
                    request.method,
                    parts.path,
                    dict(parse_qsl(parts.query)),
                    request.json(),
                    {k.lower(): v for k, v in request.headers},
                )
            )
        return out


class AioresponsesHarness:
    """Requests captured from aiohttp itself by aioresponses."""

    def __init__(self, mocked: Any) -> None:
        self.mocked = mocked

    def client(self, **credentials: Unpack[Credentials]) -> CloseAsync:
        chosen: Credentials = credentials or {"api_key": API_KEY}
        return CloseAsync(**chosen)

    def respond(self, body: Any) -> None:
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.mocked.add(re.compile(r".*"), method, payload=body, repeat=True)

    def sent(self) -> list[Sent]:
        out = []
        for (method, url), calls in self.mocked.requests.items():
            for call in calls:
                data = call.kwargs.get("data")
                headers = call.kwargs.get("headers") or ()
                pairs = headers.items() if hasattr(headers, "items") else headers  # a multidict or pairs
                out.append(
                    Sent(
                        method,
                        url.path,
                        dict(url.query.items()),
                        orjson.loads(data) if data else None,
                        {k.lower(): v for k, v in pairs},
                    )
                )
        return out


@pytest.fixture(params=["seam", pytest.param("aioresponses", marks=pytest.mark.aioresponses)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[SeamHarness | AioresponsesHarness]:
    if request.param == "seam":
        yield SeamHarness()
        return
    if AIOHTTP_314:
        pytest.skip("aioresponses 0.7 cannot build responses on aiohttp >= 3.14; see nox -s tests_aiohttp313")
    # Not in the test extra (it cannot run on the newest aiohttp): the nox sessions on an
    # older aiohttp install it.
    pytest.importorskip("aioresponses", reason="aioresponses is installed by nox -s tests_aiohttp313")
    from aioresponses import aioresponses

    with aioresponses() as mocked:
        yield AioresponsesHarness(mocked)


Call = Callable[[CloseAsync], Awaitable[Any]]


async def _collect(paginator: Any) -> Any:
    return await paginator.collect()


CASES: list[tuple[str, Call, Any, str, str, dict[str, str], Any]] = [
    (
        "emails.get",
        lambda c: c.emails.get("acti_E1"),
        EMAIL,
        "GET",
        "/api/v1/activity/email/acti_E1/",
        {},
        None,
    ),
    (
        "emails.get fields",
        lambda c: c.emails.get("acti_E1", fields=["id", "subject"]),
        EMAIL,
        "GET",
        "/api/v1/activity/email/acti_E1/",
        {"_fields": "id,subject"},
        None,
    ),
    (
        "emails.create",
        lambda c: c.emails.create(
            lead_id="lead_1", status="draft", subject="Hi", body_text="Hello", to=["a@example.com"]
        ),
        EMAIL,
        "POST",
        "/api/v1/activity/email/",
        {},
        {
            "lead_id": "lead_1",
            "status": "draft",
            "subject": "Hi",
            "body_text": "Hello",
            "to": ["a@example.com"],
        },
    ),
    (
        "emails.create scheduled",
        lambda c: c.emails.create(
            lead_id="lead_1", status=MessageStatus.SCHEDULED, sender="me@example.com", date_scheduled=WHEN
        ),
        EMAIL,
        "POST",
        "/api/v1/activity/email/",
        {},
        {
            "lead_id": "lead_1",
            "status": "scheduled",
            "sender": "me@example.com",
            "date_scheduled": "2030-01-02T03:04:05.000000+00:00",
        },
    ),
    (
        "emails.update",
        lambda c: c.emails.update("acti_E1", subject="Hello", body_html=None),
        EMAIL,
        "PUT",
        "/api/v1/activity/email/acti_E1/",
        {},
        {"subject": "Hello", "body_html": None},
    ),
    (
        "emails.send",
        lambda c: c.emails.send("acti_E1", sender='"Me" <me@example.com>'),
        EMAIL,
        "PUT",
        "/api/v1/activity/email/acti_E1/",
        {},
        {"sender": '"Me" <me@example.com>', "status": "outbox"},
    ),
    (
        "emails.send send_in",
        lambda c: c.emails.send(Email(id="acti_E1", status="draft", sender="me@example.com"), send_in=10),
        EMAIL,
        "PUT",
        "/api/v1/activity/email/acti_E1/",
        {},
        {"status": "outbox", "send_in": 10},
    ),
    (
        "emails.schedule",
        lambda c: c.emails.schedule("acti_E1", at=WHEN),
        EMAIL,
        "PUT",
        "/api/v1/activity/email/acti_E1/",
        {},
        {"status": "scheduled", "date_scheduled": "2030-01-02T03:04:05.000000+00:00"},
    ),
    (
        "emails.cancel",
        lambda c: c.emails.cancel("acti_E1"),
        EMAIL,
        "PUT",
        "/api/v1/activity/email/acti_E1/",
        {},
        {"status": "draft"},
    ),
    (
        "emails.delete",
        lambda c: c.emails.delete("acti_E1"),
        {},
        "DELETE",
        "/api/v1/activity/email/acti_E1/",
        {},
        None,
    ),
    (
        "emails.list",
        lambda c: _collect(c.emails.list(lead_id="lead_1", date_created__gt=WHEN, fields=["id"])),
        PAGE,
        "GET",
        "/api/v1/activity/email/",
        {
            "lead_id": "lead_1",
            "date_created__gt": "2030-01-02T03:04:05+00:00",
            "_fields": "id",
            "_limit": "100",
        },
        None,
    ),
    (
        "sms.get",
        lambda c: c.sms.get("acti_S1"),
        SMS_JSON,
        "GET",
        "/api/v1/activity/sms/acti_S1/",
        {},
        None,
    ),
    (
        "sms.create inbox",
        lambda c: c.sms.create(
            status="inbox",
            lead_id="lead_1",
            remote_phone="+14155550100",
            local_phone="+16503334444",
            text="Hi",
            send_to_inbox=True,
        ),
        SMS_JSON,
        "POST",
        "/api/v1/activity/sms/",
        {"send_to_inbox": "true"},
        {
            "status": "inbox",
            "lead_id": "lead_1",
            "remote_phone": "+14155550100",
            "local_phone": "+16503334444",
            "text": "Hi",
        },
    ),
    (
        "sms.update",
        lambda c: c.sms.update("acti_S1", text="Changed"),
        SMS_JSON,
        "PUT",
        "/api/v1/activity/sms/acti_S1/",
        {},
        {"text": "Changed"},
    ),
    (
        "sms.send",
        lambda c: c.sms.send(SMS(id="acti_S1", status="draft"), local_phone="+16503334444", send_in=5),
        SMS_JSON,
        "PUT",
        "/api/v1/activity/sms/acti_S1/",
        {},
        {"local_phone": "+16503334444", "status": "outbox", "send_in": 5},
    ),
    (
        "sms.schedule",
        lambda c: c.sms.schedule("acti_S1", at=WHEN),
        SMS_JSON,
        "PUT",
        "/api/v1/activity/sms/acti_S1/",
        {},
        {"status": "scheduled", "date_scheduled": "2030-01-02T03:04:05.000000+00:00"},
    ),
    (
        "sms.cancel",
        lambda c: c.sms.cancel("acti_S1"),
        SMS_JSON,
        "PUT",
        "/api/v1/activity/sms/acti_S1/",
        {},
        {"status": "draft"},
    ),
    (
        "sms.delete",
        lambda c: c.sms.delete("acti_S1"),
        {},
        "DELETE",
        "/api/v1/activity/sms/acti_S1/",
        {},
        None,
    ),
    (
        "sms.list",
        lambda c: _collect(c.sms.list(user_id=["user_1", "user_2"], page_size=25)),
        {"data": [SMS_JSON], "has_more": False},
        "GET",
        "/api/v1/activity/sms/",
        {"user_id": "user_1,user_2", "_limit": "25"},
        None,
    ),
    (
        "activities.list",
        lambda c: _collect(
            c.activities.list(
                lead_id="lead_1", types=["Email", SMS], order_by="-activity_at", thread_emails="only"
            )
        ),
        {"data": [EMAIL, SMS_JSON], "has_more": False},
        "GET",
        "/api/v1/activity/",
        {
            "lead_id": "lead_1",
            "_type__in": "Email,SMS",
            "thread_emails": "only",
            "_order_by": "-activity_at",
            "_limit": "100",
        },
        None,
    ),
    (
        "activities.list fields",
        lambda c: _collect(c.activities.list(date_created__gte=WHEN.date(), fields=["id"], page_size=10)),
        {"data": [EMAIL], "has_more": False},
        "GET",
        "/api/v1/activity/",
        {"date_created__gte": "2030-01-02", "_fields": "id,_type", "_limit": "10"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "reply", "method", "path", "query", "body"), CASES, ids=[c[0] for c in CASES]
)
async def test_request_shape(
    harness: SeamHarness | AioresponsesHarness,
    name: str,
    call: Call,
    reply: Any,
    method: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> None:
    """The method, path, query, JSON body and auth header are exactly as documented."""
    harness.respond(reply)
    async with harness.client() as close:
        result = await call(close)
    (sent,) = harness.sent()
    assert (sent.method, sent.path, sent.query, sent.json) == (method, path, query, body)
    assert sent.headers["authorization"] == BASIC
    assert sent.headers["accept"] == "application/json"
    assert ("content-type" in sent.headers) == (body is not None)
    if name.endswith(".delete"):
        assert result is None
    elif isinstance(result, list):
        assert [type(r).__name__ for r in result] == [d["_type"] for d in reply["data"]]
    else:
        assert result.id == reply["id"]


async def test_oauth_token_is_sent_as_bearer(harness: SeamHarness | AioresponsesHarness) -> None:
    """oauth_token= authenticates with a Bearer header instead of Basic."""
    harness.respond(EMAIL)
    async with harness.client(oauth_token="tok_abc") as close:
        await close.emails.get("acti_E1")
    assert harness.sent()[-1].headers["authorization"] == "Bearer tok_abc"
