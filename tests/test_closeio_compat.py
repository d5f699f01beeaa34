"""The official sync client (``closeio`` on PyPI, ``closeio_api``) against the served fake.

``closeio_api.API(base_url + "/", api_key=api_key)`` (the call ``closeasync serve --help``
gives, :data:`closeasync.cli._serve.CLOSEIO_CALL`) talks plain ``requests`` to the fake
served on 127.0.0.1 by :func:`closeasync.fake.app.serve`. Each closeio call runs in a worker
thread (:func:`asyncio.to_thread`) so the event loop keeps serving; no request is in
flight between calls, so the test may touch the fake (``advance``, ``add_lead``) there.

closeio sleeps before it retries a 429 or a 503 (``time.sleep`` in its module): the
tests that reach those paths record the sleeps instead of taking them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from types import SimpleNamespace
from typing import Any, cast

import closeio_api
import pytest
from closeio_api import API, APIError, ValidationError

from closeasync import CloseAsync, NotFoundError
from closeasync.cli import main
from closeasync.cli._serve import CLOSEIO_CALL
from closeasync.fake import FakeClose
from closeasync.fake.app import FakeServer, serve
from closeasync.models._converter import format_datetime

SENDER = "Fake User <me@fake.close.test>"
LOCAL_PHONE = "+16503334444"
REMOTE_PHONE = "+14155550100"
#: A bound on every closeio request, so a hang fails the test instead of the suite.
TIMEOUT = 5.0


@pytest.fixture
async def server() -> AsyncIterator[FakeServer]:
    async with serve(FakeClose(seed=3)) as running:
        yield running


def make_api(server: FakeServer, api_key: str, *, max_retries: int = 1, call: str = CLOSEIO_CALL) -> API:
    """closeio pointed at the served fake by ``call``: by default the very text the help gives.

    (Its ``Client`` only knows Close's own URLs; ``API`` appends each endpoint to base_url as
    it is, so the root needs its trailing slash.)
    """
    api = eval(call, {"closeio_api": closeio_api}, {"base_url": server.base_url, "api_key": api_key})
    assert isinstance(api, API)
    api.max_retries = max_retries
    # requests honours HTTP(S)_PROXY from the environment; loopback must not go through one.
    api.session.trust_env = False
    return api


@pytest.fixture
def closeio(server: FakeServer) -> Iterator[API]:
    api = make_api(server, server.fake.api_key)
    yield api
    api.session.close()


async def call(method: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run one closeio call in a worker thread, so the event loop keeps serving the fake."""
    result = await asyncio.to_thread(method, *args, timeout=TIMEOUT, **kwargs)
    assert isinstance(result, dict)
    return cast(dict[str, Any], result)


def ids(page: dict[str, Any]) -> list[str]:
    return [item["id"] for item in page["data"]]


async def test_the_call_serve_help_gives_drives_closeio_against_the_fake(
    server: FakeServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--help"]) == 0
    given = [
        line.split("#")[0].strip() for line in capsys.readouterr().out.splitlines() if "closeio_api." in line
    ]
    assert given == [CLOSEIO_CALL]  # the help shows it once, as the tests run it
    lead = server.fake.add_lead("Acme")["id"]
    email = server.fake.add_activity("Email", lead_id=lead, subject="Hello")
    api = make_api(server, server.fake.api_key, call=given[0])
    try:
        listed = await call(api.get, "activity/email", params={"lead_id": lead})
    finally:
        api.session.close()
    assert ids(listed) == [email["id"]]  # answered by the fake, not by api.close.com


async def test_email_lifecycle(server: FakeServer, closeio: API) -> None:
    fake = server.fake
    lead = fake.add_lead("Acme")["id"]
    other_lead = fake.add_lead("Globex")["id"]

    draft = await call(
        closeio.post,
        "activity/email",
        {"lead_id": lead, "status": "draft", "subject": "Hello", "to": ["ann@example.com"]},
    )
    assert draft["id"].startswith("acti_")
    assert (draft["_type"], draft["status"], draft["lead_id"]) == ("Email", "draft", lead)
    assert await call(closeio.get, f"activity/email/{draft['id']}") == draft

    fake.advance(60)
    updated = await call(closeio.put, f"activity/email/{draft['id']}", {"subject": "Hello again"})
    assert updated["subject"] == "Hello again"
    assert updated["date_updated"] != draft["date_updated"]
    assert (await call(closeio.get, f"activity/email/{draft['id']}"))["subject"] == "Hello again"

    outbox = await call(closeio.put, f"activity/email/{draft['id']}", {"status": "outbox", "sender": SENDER})
    assert outbox["status"] == "outbox"
    sent = await call(closeio.get, f"activity/email/{draft['id']}")  # delivered before answering
    assert sent["status"] == "sent"
    assert sent["date_sent"] is not None
    assert [m.message["id"] for m in fake.sent_emails] == [draft["id"]]

    newer = []
    for subject in ("Second", "Third"):
        fake.advance(60)
        newer.append(
            await call(
                closeio.post, "activity/email", {"lead_id": lead, "status": "draft", "subject": subject}
            )
        )
    await call(
        closeio.post, "activity/email", {"lead_id": other_lead, "status": "draft", "subject": "Elsewhere"}
    )

    first = await call(closeio.get, "activity/email", params={"lead_id": lead, "_limit": 2})
    second = await call(closeio.get, "activity/email", params={"lead_id": lead, "_limit": 2, "_skip": 2})
    assert first["has_more"] is True
    assert second["has_more"] is False
    # Newest first by date_created, and only the filtered lead's.
    assert ids(first) + ids(second) == [newer[1]["id"], newer[0]["id"], draft["id"]]
    assert second["data"] == [sent]

    # Our async client over the same socket sees the very objects closeio wrote.
    async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
        email = await close.emails.get(draft["id"])
        assert (email.subject, email.status, email.lead_id, email.sender) == (
            "Hello again",
            "sent",
            lead,
            SENDER,
        )
        assert email.date_sent is not None
        assert format_datetime(email.date_sent) == sent["date_sent"]
        listed = await close.emails.list(lead_id=lead).collect()
        assert [e.id for e in listed] == ids(first) + ids(second)
        assert [e.subject for e in listed] == ["Third", "Second", "Hello again"]

    assert await call(closeio.delete, f"activity/email/{draft['id']}") == {}
    with pytest.raises(APIError) as raised:
        await call(closeio.get, f"activity/email/{draft['id']}")
    assert not isinstance(raised.value, ValidationError)
    assert raised.value.response.status_code == 404
    assert raised.value.response.json() == {"error": "Email not found"}

    async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
        with pytest.raises(NotFoundError):
            await close.emails.get(draft["id"])
        assert [e.id for e in await close.emails.list(lead_id=lead).collect()] == ids(first)


async def test_sms_lifecycle(server: FakeServer, closeio: API) -> None:
    fake = server.fake
    lead = fake.add_lead("Acme")["id"]
    phones = {"local_phone": LOCAL_PHONE, "remote_phone": REMOTE_PHONE}

    inbound = await call(
        closeio.post,
        "activity/sms",
        {"lead_id": lead, "status": "inbox", "text": "Are we still on?", **phones},
        params={"send_to_inbox": "true"},
    )
    assert (inbound["_type"], inbound["status"], inbound["direction"]) == ("SMS", "inbox", "inbound")

    fake.advance(60)
    draft = await call(
        closeio.post, "activity/sms", {"lead_id": lead, "status": "draft", "text": "Yes", **phones}
    )
    assert draft["status"] == "draft"
    assert await call(closeio.get, f"activity/sms/{draft['id']}") == draft
    updated = await call(closeio.put, f"activity/sms/{draft['id']}", {"text": "Yes, 3pm"})
    assert updated["text"] == "Yes, 3pm"

    outbox = await call(closeio.put, f"activity/sms/{draft['id']}", {"status": "outbox"})
    assert outbox["status"] == "outbox"
    sent = await call(closeio.get, f"activity/sms/{draft['id']}")
    assert sent["status"] == "sent"
    assert [m.message["id"] for m in fake.sent_sms] == [draft["id"]]

    first = await call(closeio.get, "activity/sms", params={"lead_id": lead, "_limit": 1})
    second = await call(closeio.get, "activity/sms", params={"lead_id": lead, "_limit": 1, "_skip": 1})
    assert (first["has_more"], second["has_more"]) == (True, False)
    assert first["data"] == [sent]
    assert second["data"] == [inbound]

    async with CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
        ours = await close.sms.get(inbound["id"])
        assert (ours.text, ours.status, ours.direction, ours.remote_phone) == (
            "Are we still on?",
            "inbox",
            "inbound",
            REMOTE_PHONE,
        )
        assert [s.id for s in await close.sms.list(lead_id=lead).collect()] == [draft["id"], inbound["id"]]

    assert await call(closeio.delete, f"activity/sms/{draft['id']}") == {}
    with pytest.raises(APIError) as raised:
        await call(closeio.get, f"activity/sms/{draft['id']}")
    assert raised.value.response.status_code == 404
    remaining = await call(closeio.get, "activity/sms", params={"lead_id": lead})
    assert (ids(remaining), remaining["has_more"]) == ([inbound["id"]], False)


async def test_validation_errors_are_closeio_validation_errors(server: FakeServer, closeio: API) -> None:
    lead = server.fake.add_lead("Acme")["id"]
    with pytest.raises(ValidationError) as raised:
        await call(closeio.post, "activity/email", {"lead_id": lead, "status": "outbox", "subject": "Hi"})
    assert raised.value.response.status_code == 400
    assert "sender" in raised.value.field_errors
    assert raised.value.errors == []
    assert server.fake.sent_emails == []

    sms = await call(
        closeio.post,
        "activity/sms",
        {"lead_id": lead, "status": "inbox", "text": "Hi", "remote_phone": REMOTE_PHONE},
    )
    with pytest.raises(ValidationError) as raised:  # only drafts can be edited
        await call(closeio.put, f"activity/sms/{sms['id']}", {"text": "Edited"})
    assert "status" in raised.value.field_errors

    with pytest.raises(ValidationError) as raised:
        await call(closeio.get, "activity/email", params={"lead_id": lead, "_limit": 1000})
    assert "_limit" in raised.value.field_errors


async def test_wrong_key_is_a_401(server: FakeServer) -> None:
    api = make_api(server, "api_not_a_key_of_this_fake")
    try:
        with pytest.raises(APIError) as raised:
            await call(api.get, "activity/email")
    finally:
        api.session.close()
    assert not isinstance(raised.value, ValidationError)
    assert raised.value.response.status_code == 401


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """closeio's retry sleeps, recorded instead of slept (only closeio's module sees this)."""
    taken: list[float] = []
    monkeypatch.setattr(closeio_api, "time", SimpleNamespace(sleep=taken.append))
    return taken


@pytest.mark.parametrize(("separator", "expected"), [(",", 29.0), (";", 30.0)])
async def test_rate_limit_is_honoured(
    server: FakeServer, sleeps: list[float], separator: str, expected: float
) -> None:
    # closeio reads `reset` with the regex `limit=(\d+), remaining=(\d+), reset=(\d+)`: the comma
    # form's "reset=29.99x" gives the whole seconds (29); the semicolon form does not match, so
    # it falls back to Retry-After (rounded up: 30).
    server.fake.rate_limits.set("GET /activity/email/", budget=1, window=30, separator=separator)
    api = make_api(server, server.fake.api_key, max_retries=2)
    try:
        await call(api.get, "activity/email")
        with pytest.raises(APIError) as raised:
            await call(api.get, "activity/email")
    finally:
        api.session.close()
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "30"
    assert sleeps == [expected, expected]  # one sleep per attempt, then it gives up
    assert server.fake.rate_limits.rejected == 2


async def test_503_after_processing_repeats_a_post(server: FakeServer, sleeps: list[float]) -> None:
    """closeio retries a 503 whatever the method: a create whose answer was lost is made twice."""
    fake = server.fake
    lead = fake.add_lead("Acme")["id"]
    fake.faults.add("status", group="POST /activity/email/", status=503, after=True, count=1)
    api = make_api(server, fake.api_key, max_retries=2)
    try:
        email = await call(
            api.post,
            "activity/email",
            {"lead_id": lead, "status": "outbox", "sender": SENDER, "subject": "Hi"},
        )
    finally:
        api.session.close()
    assert len(sleeps) == 1
    assert 2 <= sleeps[0] <= 4
    assert email["status"] == "outbox"
    fake.advance(1)
    assert [m.message["subject"] for m in fake.sent_emails] == ["Hi", "Hi"]
