"""Every input rule the SDK checks before sending, through the public API.

Each refusal asserts three things: :class:`InvalidRequestError` is raised, its
``field_errors`` names exactly the Close field at fault (Close's own spelling, as
in its 400 ``field-errors``), and nothing reached the transport. Each row starts
from otherwise valid input, so the named field is the only one in error. Positive
controls check that valid input sends exactly one request with the expected body,
so the rules are not simply refusing everything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from closeasync import AsyncPaginator, CloseAsync, InvalidRequestError
from closeasync.models import SMS, Call, Email
from closeasync.models.common import Attachment
from closeasync.models.enums import MessageStatus
from closeasync.params import EmailCreateFields, SMSCreateFields
from tests.conftest import StubTransport, json_response

BASE = "https://close.test/api/v1"
WHEN = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)
WHEN_WIRE = "2030-01-01T09:00:00.000000+00:00"
NAIVE = datetime(2030, 1, 1, 9, 0)
SENDER = '"Jane Doe" <jane@example.com>'
PHONE = "+16503334444"
FILE_URL = "https://app.close.com/go/file/temporary/user_1/abc/image.jpg/"
EMAIL_ATTACHMENT = {"url": FILE_URL, "filename": "image.jpg", "size": 1108447, "content_type": "image/jpeg"}
SMS_ATTACHMENT = {"url": "https://example.com/media/1.png", "filename": "1.png", "content_type": "image/png"}
MAX_BODY = 1_048_576

Call_ = Callable[[CloseAsync], Awaitable[Any]]
ListCall = Callable[[CloseAsync], AsyncPaginator[Any]]


async def assert_refused(
    close: CloseAsync, stub: StubTransport, call: Call_, field: str
) -> InvalidRequestError:
    """Run ``call``; it must be refused for ``field`` alone, with nothing sent."""
    with pytest.raises(InvalidRequestError) as info:
        await call(close)
    assert set(info.value.field_errors) == {field}, info.value.field_errors
    assert field in str(info.value)
    assert stub.requests == []
    return info.value


def assert_one_request(stub: StubTransport, method: str, path: str) -> dict[str, Any]:
    """Exactly one request was sent, to ``method path``; return its JSON body."""
    assert len(stub.requests) == 1, stub.requests
    request = stub.requests[0]
    assert request.method == method
    assert request.url == BASE + path
    body: dict[str, Any] = request.json()
    return body


# --------------------------------------------------------------------------- email create


def email(**fields: Any) -> dict[str, Any]:
    """Keyword arguments of a valid draft, updated with ``fields``."""
    return {"lead_id": "lead_1", "status": "draft", **fields}


EMAIL_CREATE_REFUSED = [
    pytest.param(email(lead_id=""), "lead_id", id="lead_id-empty"),
    pytest.param(email(lead_id=None), "lead_id", id="lead_id-none"),
    pytest.param(email(lead_id=["lead_1"]), "lead_id", id="lead_id-list"),
    pytest.param(email(status="sending"), "status", id="status-unknown"),
    pytest.param(email(status="Draft"), "status", id="status-wrong-case"),
    pytest.param(email(status=None), "status", id="status-none"),
    pytest.param(email(status="inbox"), "sender", id="sender-required-inbox"),
    pytest.param(email(status="scheduled", date_scheduled=WHEN), "sender", id="sender-required-scheduled"),
    pytest.param(email(status="outbox"), "sender", id="sender-required-outbox"),
    pytest.param(email(status="error"), "sender", id="sender-required-error"),
    pytest.param(email(status="outbox", sender=""), "sender", id="sender-empty-string"),
    pytest.param(email(status=MessageStatus.OUTBOX), "sender", id="sender-required-outbox-enum"),
    pytest.param(email(status="scheduled", sender=SENDER), "date_scheduled", id="date_scheduled-required"),
    pytest.param(
        email(status="scheduled", sender=SENDER, date_scheduled=NAIVE),
        "date_scheduled",
        id="date_scheduled-naive",
    ),
    pytest.param(email(followup_date=NAIVE), "followup_date", id="followup_date-naive"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=60), "send_in", id="send_in-60"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=-1), "send_in", id="send_in-negative"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=1.5), "send_in", id="send_in-float"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=True), "send_in", id="send_in-bool"),
    pytest.param(email(status="outbox", sender=SENDER, send_in="5"), "send_in", id="send_in-string"),
    pytest.param(email(send_in=5), "send_in", id="send_in-with-draft"),
    pytest.param(
        email(status="scheduled", sender=SENDER, date_scheduled=WHEN, send_in=5),
        "send_in",
        id="send_in-with-scheduled",
    ),
    pytest.param(email(subject="s" * 1001), "subject", id="subject-1001"),
    pytest.param(email(subject=42), "subject", id="subject-not-a-string"),
    pytest.param(email(body_text="b" * (MAX_BODY + 1)), "body_text", id="body_text-1048577"),
    pytest.param(email(body_html="b" * (MAX_BODY + 1)), "body_html", id="body_html-1048577"),
    pytest.param(email(to=[f"u{i}@example.com" for i in range(501)]), "to", id="to-501"),
    pytest.param(email(cc=[f"u{i}@example.com" for i in range(501)]), "cc", id="cc-501"),
    pytest.param(email(bcc=[f"u{i}@example.com" for i in range(501)]), "bcc", id="bcc-501"),
    pytest.param(email(to="a@example.com"), "to", id="to-bare-string"),
    pytest.param(email(cc="a@example.com"), "cc", id="cc-bare-string"),
    pytest.param(email(to=["a" * 990 + "@example.com"]), "to", id="to-address-1002-chars"),
    pytest.param(email(bcc=["ok@example.com", "x" * 1001]), "bcc", id="bcc-address-1001-chars"),
    pytest.param(email(cc=[""]), "cc", id="cc-empty-address"),
    pytest.param(email(to=[None]), "to", id="to-none-address"),
    pytest.param(email(sender="s" * 1001), "sender", id="sender-1001-chars"),
    pytest.param(email(followup_sequence_delay=86399), "followup_sequence_delay", id="followup-delay-86399"),
    pytest.param(email(followup_sequence_delay=True), "followup_sequence_delay", id="followup-delay-bool"),
    pytest.param(
        email(followup_sequence_delay=86400.5), "followup_sequence_delay", id="followup-delay-float"
    ),
    pytest.param(
        email(attachments=[{**EMAIL_ATTACHMENT, "url": "https://example.com/image.jpg"}]),
        "attachments",
        id="attachment-url-not-close-file",
    ),
    pytest.param(
        email(attachments=[{**EMAIL_ATTACHMENT, "url": "http://app.close.com/go/file/x/"}]),
        "attachments",
        id="attachment-url-http",
    ),
    pytest.param(
        email(attachments=[{k: v for k, v in EMAIL_ATTACHMENT.items() if k != "filename"}]),
        "attachments",
        id="attachment-missing-filename",
    ),
    pytest.param(
        email(attachments=[{k: v for k, v in EMAIL_ATTACHMENT.items() if k != "size"}]),
        "attachments",
        id="attachment-missing-size",
    ),
    pytest.param(
        email(attachments=[{k: v for k, v in EMAIL_ATTACHMENT.items() if k != "url"}]),
        "attachments",
        id="attachment-missing-url",
    ),
    pytest.param(
        email(attachments=[{**EMAIL_ATTACHMENT, "size": -1}]), "attachments", id="attachment-negative-size"
    ),
    pytest.param(
        email(attachments=[EMAIL_ATTACHMENT, {**EMAIL_ATTACHMENT, "filename": ""}]),
        "attachments",
        id="attachment-second-item-bad",
    ),
    pytest.param(email(attachments=["image.jpg"]), "attachments", id="attachment-not-an-object"),
    pytest.param(email(attachments=[EMAIL_ATTACHMENT] * 1001), "attachments", id="attachments-1001"),
    pytest.param(email(subjet="Hi"), "subjet", id="unknown-keyword"),
    pytest.param(email(direction="outgoing"), "direction", id="response-only-field"),
]


@pytest.mark.parametrize(("kwargs", "field"), EMAIL_CREATE_REFUSED)
async def test_email_create_refused(
    close: CloseAsync, stub: StubTransport, kwargs: dict[str, Any], field: str
) -> None:
    await assert_refused(close, stub, lambda c: c.emails.create(**kwargs), field)


async def test_email_create_unknown_keyword_suggests_the_right_one(
    close: CloseAsync, stub: StubTransport
) -> None:
    err = await assert_refused(close, stub, lambda c: c.emails.create(**email(subjet="Hi")), "subjet")
    assert "did you mean subject" in str(err)
    assert "did you mean subject" in err.field_errors["subjet"]


async def test_email_create_without_lead_id_is_a_python_type_error(
    close: CloseAsync, stub: StubTransport
) -> None:
    with pytest.raises(TypeError, match="lead_id"):
        await close.emails.create(status="draft")  # type: ignore[call-arg]  # lead_id left out on purpose
    assert stub.requests == []


EMAIL_CREATE_ACCEPTED = [
    pytest.param(email(), {}, id="draft-without-sender"),
    pytest.param(email(status="sent"), {}, id="sent-without-sender"),
    pytest.param(email(status=MessageStatus.SENT), {"status": "sent"}, id="status-enum"),
    pytest.param(email(status="inbox", sender=SENDER), {}, id="inbox-with-sender"),
    pytest.param(email(status="error", sender=SENDER), {}, id="error-with-sender"),
    pytest.param(email(status="outbox", sender=SENDER), {}, id="outbox-with-sender"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=0), {}, id="send_in-0"),
    pytest.param(email(status="outbox", sender=SENDER, send_in=59), {}, id="send_in-59"),
    pytest.param(
        email(status="scheduled", sender=SENDER, date_scheduled=WHEN),
        {"date_scheduled": WHEN_WIRE},
        id="scheduled-aware-date",
    ),
    pytest.param(email(subject="s" * 1000), {}, id="subject-1000"),
    pytest.param(email(subject=None), {}, id="subject-none"),
    pytest.param(email(to=[f"u{i}@example.com" for i in range(500)]), {}, id="to-500"),
    pytest.param(email(cc=[], bcc=[]), {}, id="empty-cc-bcc"),
    pytest.param(email(to=("a@example.com",)), {"to": ["a@example.com"]}, id="to-tuple"),
    pytest.param(email(to=["a" * 988 + "@example.com"]), {}, id="to-address-1000-chars"),
    pytest.param(email(followup_sequence_delay=86400), {}, id="followup-delay-86400"),
    pytest.param(email(attachments=[EMAIL_ATTACHMENT]), {}, id="attachment-dict"),
    pytest.param(
        email(attachments=[Attachment(url=FILE_URL, filename="a.txt", size=0)]),
        {"attachments": [{"url": FILE_URL, "filename": "a.txt", "size": 0}]},
        id="attachment-model",
    ),
]


@pytest.mark.parametrize(("kwargs", "wire_overrides"), EMAIL_CREATE_ACCEPTED)
async def test_email_create_accepted(
    close: CloseAsync, stub: StubTransport, kwargs: dict[str, Any], wire_overrides: dict[str, Any]
) -> None:
    await close.emails.create(**kwargs)
    body = assert_one_request(stub, "POST", "/activity/email/")
    assert body == {**kwargs, **wire_overrides}


@pytest.mark.parametrize(
    "field", [pytest.param("body_text", id="body_text"), pytest.param("body_html", id="body_html")]
)
async def test_email_create_body_at_the_limit_is_accepted(
    close: CloseAsync, stub: StubTransport, field: str
) -> None:
    await close.emails.create(**email(**{field: "b" * MAX_BODY}))
    body = assert_one_request(stub, "POST", "/activity/email/")
    assert len(body[field]) == MAX_BODY


async def test_email_create_documented_example(close: CloseAsync, stub: StubTransport) -> None:
    """Close's own create example (from its documentation page) passes every rule."""
    fields: EmailCreateFields = {
        "contact_id": "cont_8NNOJnVwmHQEYuVOgJ4B4zU7g9RUxYH4JnPjza5Vr6t",
        "user_id": "user_N6KhMpzHRCYQHdn4gRNIFNN5JExnsrprKA6ekxM63XA",
        "email_account_id": "emailacct_nuALjWGi09rlr36zXp0ygjja9De0mzPqyqPPVsriTzt",
        "sender": "karan@close.com",
        "to": ["phil+sample@close.com"],
        "cc": [],
        "bcc": [],
        "subject": "Welcome to Close!",
        "body_text": "Hi!",
        "body_html": "Hi!",
        "attachments": [EMAIL_ATTACHMENT],
        "template_id": None,
        "created_by": None,
        "date_created": datetime(2013, 2, 1, 0, 54, 51, 274000, tzinfo=UTC),
    }
    await close.emails.create(lead_id="lead_1", status="draft", **fields)
    body = assert_one_request(stub, "POST", "/activity/email/")
    assert body == {
        "lead_id": "lead_1",
        "status": "draft",
        **fields,
        "date_created": "2013-02-01T00:54:51.274000+00:00",
    }
    assert stub.last.header("content-type") == "application/json"


# ----------------------------------------------------- email update / send / schedule / cancel


def draft_email(**fields: Any) -> Email:
    return Email(id="acti_1", status="draft", **fields)


EMAIL_UPDATE_REFUSED = [
    # Only drafts can be modified.
    *(
        pytest.param(
            lambda c, s=state: c.emails.update(Email(id="acti_1", status=s), subject="New"),
            "status",
            id=f"update-{state}-model",
        )
        for state in ("sent", "inbox", "error")
    ),
    *(
        pytest.param(
            lambda c, s=state: c.emails.send(Email(id="acti_1", status=s, sender=SENDER)),
            "status",
            id=f"send-{state}-model",
        )
        for state in ("sent", "inbox", "error")
    ),
    pytest.param(
        lambda c: c.emails.cancel(Email(id="acti_1", status=MessageStatus.SENT)),
        "status",
        id="cancel-sent-model",
    ),
    # A scheduled or outbox email can only be cancelled.
    *(
        pytest.param(
            lambda c, s=state: c.emails.update(Email(id="acti_1", status=s), subject="New"),
            "status",
            id=f"update-{state}-model",
        )
        for state in ("scheduled", "outbox")
    ),
    pytest.param(
        lambda c: c.emails.send(Email(id="acti_1", status="scheduled", sender=SENDER)),
        "status",
        id="send-scheduled-model",
    ),
    pytest.param(
        lambda c: c.emails.schedule(Email(id="acti_1", status="outbox", sender=SENDER), at=WHEN),
        "status",
        id="schedule-outbox-model",
    ),
    pytest.param(
        lambda c: c.emails.update(Email(id="acti_1", status="scheduled"), status="draft", subject="New"),
        "status",
        id="cancel-plus-edit-scheduled-model",
    ),
    # Status values an update may never set, even by id.
    pytest.param(lambda c: c.emails.update("acti_1", status="sent"), "status", id="set-sent-by-id"),
    pytest.param(lambda c: c.emails.update("acti_1", status="inbox"), "status", id="set-inbox-by-id"),
    pytest.param(lambda c: c.emails.update(draft_email(), status="error"), "status", id="set-error-on-draft"),
    pytest.param(lambda c: c.emails.update("acti_1", status="bogus"), "status", id="set-unknown-by-id"),
    # Sender needed to send or schedule, when the model shows it has none.
    pytest.param(lambda c: c.emails.send(draft_email(sender=None)), "sender", id="send-draft-without-sender"),
    pytest.param(
        lambda c: c.emails.send(draft_email(sender="")), "sender", id="send-draft-with-empty-sender"
    ),
    pytest.param(
        lambda c: c.emails.schedule(draft_email(sender=None), at=WHEN),
        "sender",
        id="schedule-draft-without-sender",
    ),
    pytest.param(
        lambda c: c.emails.update(draft_email(sender=None), status="outbox"),
        "sender",
        id="update-to-outbox-without-sender",
    ),
    # Times and send_in.
    pytest.param(lambda c: c.emails.schedule("acti_1", at=NAIVE), "date_scheduled", id="schedule-naive-at"),
    pytest.param(
        lambda c: c.emails.update(draft_email(sender=SENDER), status="scheduled"),
        "date_scheduled",
        id="update-to-scheduled-without-date",
    ),
    pytest.param(lambda c: c.emails.send("acti_1", send_in=60), "send_in", id="send-send_in-60"),
    pytest.param(lambda c: c.emails.send("acti_1", send_in=True), "send_in", id="send-send_in-bool"),
    pytest.param(
        lambda c: c.emails.update(draft_email(), send_in=5), "send_in", id="update-send_in-without-outbox"
    ),
    # Field rules apply to updates too.
    pytest.param(
        lambda c: c.emails.update("acti_1", subject="s" * 1001), "subject", id="update-subject-1001"
    ),
    pytest.param(lambda c: c.emails.update("acti_1", to="a@example.com"), "to", id="update-to-bare-string"),
    pytest.param(
        lambda c: c.emails.update("acti_1", followup_sequence_delay=1),
        "followup_sequence_delay",
        id="update-delay",
    ),
    pytest.param(lambda c: c.emails.update("acti_1", subjet="x"), "subjet", id="update-unknown-keyword"),
    pytest.param(
        lambda c: c.emails.update("acti_1", lead_id="lead_2"), "lead_id", id="update-lead_id-not-allowed"
    ),
    # Identity.
    pytest.param(lambda c: c.emails.update("", subject="x"), "id", id="update-empty-id"),
    pytest.param(
        lambda c: c.emails.update(Email(status="draft"), subject="x"), "id", id="update-model-without-id"
    ),
]


@pytest.mark.parametrize(("call", "field"), EMAIL_UPDATE_REFUSED)
async def test_email_update_refused(close: CloseAsync, stub: StubTransport, call: Call_, field: str) -> None:
    await assert_refused(close, stub, call, field)


@pytest.mark.parametrize(
    "target", [pytest.param("acti_1", id="by-id"), pytest.param(draft_email(), id="draft-model")]
)
async def test_email_update_without_fields_is_refused(
    close: CloseAsync, stub: StubTransport, target: str | Email
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        await close.emails.update(target)
    assert info.value.errors
    assert stub.requests == []


EMAIL_UPDATE_ACCEPTED = [
    *(
        pytest.param(
            lambda c, s=state: c.emails.cancel(Email(id="acti_1", status=s)),
            {"status": "draft"},
            id=f"cancel-{state}-model",
        )
        for state in ("scheduled", "outbox")
    ),
    pytest.param(lambda c: c.emails.cancel("acti_1"), {"status": "draft"}, id="cancel-by-id"),
    pytest.param(
        lambda c: c.emails.send("acti_1"), {"status": "outbox"}, id="send-by-id-sender-left-to-server"
    ),
    pytest.param(
        lambda c: c.emails.send(Email(id="acti_1", status="draft")),
        {"status": "outbox"},
        id="send-model-sender-not-loaded",
    ),
    pytest.param(
        lambda c: c.emails.send(draft_email(sender=SENDER), send_in=59),
        {"status": "outbox", "send_in": 59},
        id="send-draft-with-sender-send_in-59",
    ),
    pytest.param(
        lambda c: c.emails.send(draft_email(sender=None), sender=SENDER),
        {"sender": SENDER, "status": "outbox"},
        id="send-draft-giving-sender",
    ),
    pytest.param(
        lambda c: c.emails.schedule(draft_email(sender=SENDER), at=WHEN),
        {"status": "scheduled", "date_scheduled": WHEN_WIRE},
        id="schedule-draft-with-sender",
    ),
    pytest.param(
        lambda c: c.emails.schedule("acti_1", at=WHEN, sender=SENDER),
        {"sender": SENDER, "status": "scheduled", "date_scheduled": WHEN_WIRE},
        id="schedule-by-id-with-sender",
    ),
    pytest.param(
        lambda c: c.emails.update(draft_email(), subject="New", body_text=None),
        {"subject": "New", "body_text": None},
        id="edit-draft-model-none-clears",
    ),
    pytest.param(
        lambda c: c.emails.update(Email(id="acti_1", subject="Old"), subject="New"),
        {"subject": "New"},
        id="edit-model-status-not-loaded",
    ),
    pytest.param(
        lambda c: c.emails.update("acti_1", subject="s" * 1000),
        {"subject": "s" * 1000},
        id="edit-by-id-subject-1000",
    ),
]


@pytest.mark.parametrize(("call", "expected_body"), EMAIL_UPDATE_ACCEPTED)
async def test_email_update_accepted(
    close: CloseAsync, stub: StubTransport, call: Call_, expected_body: dict[str, Any]
) -> None:
    await call(close)
    assert assert_one_request(stub, "PUT", "/activity/email/acti_1/") == expected_body


async def test_email_send_clearing_the_sender_is_refused(close: CloseAsync, stub: StubTransport) -> None:
    await assert_refused(
        close, stub, lambda c: c.emails.send(draft_email(sender=SENDER), sender=None), "sender"
    )


async def test_email_send_by_id_with_null_sender_is_refused(close: CloseAsync, stub: StubTransport) -> None:
    await assert_refused(close, stub, lambda c: c.emails.send("acti_1", sender=None), "sender")


async def test_email_schedule_clearing_the_date_is_refused(close: CloseAsync, stub: StubTransport) -> None:
    target = draft_email(sender=SENDER, date_scheduled=WHEN)
    await assert_refused(
        close,
        stub,
        lambda c: c.emails.update(target, status="scheduled", date_scheduled=None),
        "date_scheduled",
    )


# --------------------------------------------------------------------------- SMS create


def sms(**fields: Any) -> dict[str, Any]:
    """Keyword arguments of a valid draft SMS, updated with ``fields``."""
    return {"status": "draft", "lead_id": "lead_1", "text": "Hi", **fields}


SMS_CREATE_REFUSED = [
    pytest.param(sms(status="queued"), "status", id="status-unknown"),
    pytest.param(sms(status=None), "status", id="status-none"),
    pytest.param(sms(status="outbox"), "local_phone", id="local_phone-required-outbox"),
    pytest.param(
        sms(status="scheduled", date_scheduled=WHEN), "local_phone", id="local_phone-required-scheduled"
    ),
    pytest.param(sms(status="outbox", local_phone=""), "local_phone", id="local_phone-empty"),
    pytest.param(sms(status="scheduled", local_phone=PHONE), "date_scheduled", id="date_scheduled-required"),
    pytest.param(
        sms(status="scheduled", local_phone=PHONE, date_scheduled=NAIVE),
        "date_scheduled",
        id="date_scheduled-naive",
    ),
    pytest.param(sms(status="outbox", local_phone=PHONE, send_in=60), "send_in", id="send_in-60"),
    pytest.param(sms(send_in=1), "send_in", id="send_in-with-draft"),
    pytest.param(sms(attachments=[SMS_ATTACHMENT] * 11), "attachments", id="attachments-11"),
    pytest.param(
        sms(attachments=[{**SMS_ATTACHMENT, "content_type": "application/zip"}]),
        "attachments",
        id="attachment-content_type-zip",
    ),
    pytest.param(
        sms(attachments=[{**SMS_ATTACHMENT, "content_type": "IMAGE/PNG"}]),
        "attachments",
        id="attachment-content_type-wrong-case",
    ),
    pytest.param(
        sms(attachments=[{k: v for k, v in SMS_ATTACHMENT.items() if k != "url"}]),
        "attachments",
        id="attachment-missing-url",
    ),
    pytest.param(
        sms(attachments=[{k: v for k, v in SMS_ATTACHMENT.items() if k != "content_type"}]),
        "attachments",
        id="attachment-missing-content_type",
    ),
    pytest.param(
        sms(attachments=[{k: v for k, v in SMS_ATTACHMENT.items() if k != "filename"}]),
        "attachments",
        id="attachment-missing-filename",
    ),
    pytest.param(sms(attachments=SMS_ATTACHMENT), "attachments", id="attachments-not-a-list"),
    pytest.param(sms(direction="incoming"), "direction", id="direction-email-word-incoming"),
    pytest.param(sms(direction="outgoing"), "direction", id="direction-email-word-outgoing"),
    pytest.param(sms(source="Zapier"), "source", id="source-unknown"),
    pytest.param(sms(source="close.io"), "source", id="source-wrong-case"),
    pytest.param(sms(text=123), "text", id="text-not-a-string"),
    pytest.param(sms(remote_phone=16503334444), "remote_phone", id="remote_phone-not-a-string"),
    pytest.param(sms(local_number=PHONE), "local_number", id="unknown-keyword"),
    pytest.param(sms(send_to_inbox=True), "send_to_inbox", id="send_to_inbox-with-draft"),
    pytest.param(sms(status="sent", send_to_inbox=True), "send_to_inbox", id="send_to_inbox-with-sent"),
    pytest.param(
        sms(status="outbox", local_phone=PHONE, send_to_inbox=True),
        "send_to_inbox",
        id="send_to_inbox-with-outbox",
    ),
]


@pytest.mark.parametrize(("kwargs", "field"), SMS_CREATE_REFUSED)
async def test_sms_create_refused(
    close: CloseAsync, stub: StubTransport, kwargs: dict[str, Any], field: str
) -> None:
    await assert_refused(close, stub, lambda c: c.sms.create(**kwargs), field)


async def test_sms_create_unknown_keyword_suggests_the_right_one(
    close: CloseAsync, stub: StubTransport
) -> None:
    err = await assert_refused(close, stub, lambda c: c.sms.create(**sms(local_phon=PHONE)), "local_phon")
    assert "did you mean local_phone" in str(err)


SMS_CREATE_ACCEPTED = [
    pytest.param(sms(), {}, id="draft"),
    pytest.param({"status": "draft"}, {}, id="status-only"),
    pytest.param(sms(status="sent"), {}, id="sent-without-local_phone"),
    pytest.param(sms(status="inbox", remote_phone="+14155550100"), {}, id="inbox-without-local_phone"),
    pytest.param(sms(status="outbox", local_phone=PHONE), {}, id="outbox-with-local_phone"),
    pytest.param(sms(status="outbox", local_phone=PHONE, send_in=59), {}, id="outbox-send_in-59"),
    pytest.param(
        sms(status="scheduled", local_phone=PHONE, date_scheduled=WHEN),
        {"date_scheduled": WHEN_WIRE},
        id="scheduled",
    ),
    pytest.param(sms(attachments=[SMS_ATTACHMENT] * 10), {}, id="attachments-10"),
    pytest.param(
        sms(attachments=[{**SMS_ATTACHMENT, "content_type": "video/H264"}]), {}, id="attachment-video-H264"
    ),
    pytest.param(sms(direction="inbound", source="External"), {}, id="direction-and-source"),
]


@pytest.mark.parametrize(("kwargs", "wire_overrides"), SMS_CREATE_ACCEPTED)
async def test_sms_create_accepted(
    close: CloseAsync, stub: StubTransport, kwargs: dict[str, Any], wire_overrides: dict[str, Any]
) -> None:
    await close.sms.create(**kwargs)
    body = assert_one_request(stub, "POST", "/activity/sms/")
    assert body == {**kwargs, **wire_overrides}


async def test_sms_send_to_inbox_with_inbox_is_sent_as_query(close: CloseAsync, stub: StubTransport) -> None:
    fields: SMSCreateFields = {
        "contact_id": "cont_1",
        "direction": "inbound",
        "lead_id": "lead_1",
        "local_phone": "+14154445555",
        "remote_phone": "+18183334444",
        "source": "External",
        "text": "Hello",
    }
    await close.sms.create(status="inbox", send_to_inbox=True, **fields)
    assert len(stub.requests) == 1
    request = stub.last
    assert request.method == "POST"
    assert request.url == f"{BASE}/activity/sms/?send_to_inbox=true"
    assert request.json() == {"status": "inbox", **fields}
    assert "send_to_inbox" not in request.json()


async def test_sms_without_send_to_inbox_has_no_query(close: CloseAsync, stub: StubTransport) -> None:
    await close.sms.create(status="inbox", text="Hi")
    assert stub.last.url == f"{BASE}/activity/sms/"


# ----------------------------------------------------- SMS update / send / schedule / cancel


def draft_sms(**fields: Any) -> SMS:
    return SMS(id="acti_1", status="draft", **fields)


SMS_UPDATE_REFUSED = [
    *(
        pytest.param(
            lambda c, s=state: c.sms.update(SMS(id="acti_1", status=s), text="New"),
            "status",
            id=f"update-{state}-model",
        )
        for state in ("sent", "inbox", "error", "scheduled", "outbox")
    ),
    pytest.param(
        lambda c: c.sms.send(SMS(id="acti_1", status="sent", local_phone=PHONE)),
        "status",
        id="send-sent-model",
    ),
    pytest.param(lambda c: c.sms.update("acti_1", status="sent"), "status", id="set-sent-by-id"),
    pytest.param(
        lambda c: c.sms.send(draft_sms(local_phone=None)), "local_phone", id="send-without-local_phone"
    ),
    pytest.param(
        lambda c: c.sms.schedule(draft_sms(local_phone=None), at=WHEN),
        "local_phone",
        id="schedule-without-local_phone",
    ),
    pytest.param(
        lambda c: c.sms.schedule(draft_sms(local_phone=PHONE), at=NAIVE),
        "date_scheduled",
        id="schedule-naive-at",
    ),
    pytest.param(lambda c: c.sms.send("acti_1", send_in=60), "send_in", id="send-send_in-60"),
    pytest.param(
        lambda c: c.sms.update("acti_1", attachments=[SMS_ATTACHMENT] * 11),
        "attachments",
        id="update-attachments-11",
    ),
    pytest.param(
        lambda c: c.sms.update("acti_1", direction="inbound"), "direction", id="update-direction-not-allowed"
    ),
    pytest.param(lambda c: c.sms.update("acti_1", txt="x"), "txt", id="update-unknown-keyword"),
]


@pytest.mark.parametrize(("call", "field"), SMS_UPDATE_REFUSED)
async def test_sms_update_refused(close: CloseAsync, stub: StubTransport, call: Call_, field: str) -> None:
    await assert_refused(close, stub, call, field)


async def test_sms_update_without_fields_is_refused(close: CloseAsync, stub: StubTransport) -> None:
    with pytest.raises(InvalidRequestError):
        await close.sms.update(draft_sms())
    assert stub.requests == []


SMS_UPDATE_ACCEPTED = [
    pytest.param(
        lambda c: c.sms.cancel(SMS(id="acti_1", status="scheduled")), {"status": "draft"}, id="cancel"
    ),
    pytest.param(lambda c: c.sms.send("acti_1"), {"status": "outbox"}, id="send-by-id-left-to-server"),
    pytest.param(
        lambda c: c.sms.send(draft_sms(local_phone=None), local_phone=PHONE),
        {"local_phone": PHONE, "status": "outbox"},
        id="send-giving-local_phone",
    ),
    pytest.param(
        lambda c: c.sms.schedule(draft_sms(local_phone=PHONE), at=WHEN),
        {"status": "scheduled", "date_scheduled": WHEN_WIRE},
        id="schedule-draft",
    ),
    pytest.param(lambda c: c.sms.update(draft_sms(), text="New"), {"text": "New"}, id="edit-draft"),
]


@pytest.mark.parametrize(("call", "expected_body"), SMS_UPDATE_ACCEPTED)
async def test_sms_update_accepted(
    close: CloseAsync, stub: StubTransport, call: Call_, expected_body: dict[str, Any]
) -> None:
    await call(close)
    assert assert_one_request(stub, "PUT", "/activity/sms/acti_1/") == expected_body


async def test_sms_send_clearing_local_phone_is_refused(close: CloseAsync, stub: StubTransport) -> None:
    await assert_refused(
        close, stub, lambda c: c.sms.send(draft_sms(local_phone=PHONE), local_phone=None), "local_phone"
    )


# --------------------------------------------------------------------------- lists

LIST_REFUSED_AT_CALL = [
    # Unknown filter names (a typo would otherwise list everything).
    pytest.param(
        lambda c: c.emails.list(date_created_gt=WHEN), "date_created_gt", id="emails-unknown-filter"
    ),
    pytest.param(lambda c: c.sms.list(lead="lead_1"), "lead", id="sms-unknown-filter"),
    pytest.param(
        lambda c: c.activities.list(date_created_gt=WHEN), "date_created_gt", id="activities-unknown-filter"
    ),
    # page_size is Close's _limit.
    pytest.param(lambda c: c.emails.list(page_size=0), "_limit", id="emails-page_size-0"),
    pytest.param(lambda c: c.sms.list(page_size=-1), "_limit", id="sms-page_size-negative"),
    pytest.param(lambda c: c.activities.list(page_size=0), "_limit", id="activities-page_size-0"),
    pytest.param(lambda c: c.emails.list(page_size=True), "_limit", id="emails-page_size-bool"),
    pytest.param(lambda c: c.emails.list(page_size=10.0), "_limit", id="emails-page_size-float"),
    pytest.param(lambda c: c.emails.list().limit(-1), "_limit", id="emails-limit-negative"),
    # fields is Close's _fields.
    pytest.param(lambda c: c.emails.list(fields="id"), "_fields", id="emails-fields-string"),
    pytest.param(lambda c: c.sms.list(fields="id,text"), "_fields", id="sms-fields-string"),
    pytest.param(lambda c: c.activities.list(fields="id"), "_fields", id="activities-fields-string"),
    pytest.param(lambda c: c.emails.list(fields=[]), "_fields", id="emails-fields-empty"),
    pytest.param(lambda c: c.emails.list(fields=["id", ""]), "_fields", id="emails-fields-empty-name"),
    # GET /activity/ filters that need a single lead_id.
    pytest.param(lambda c: c.activities.list(types=["Email"]), "types", id="activities-types-without-lead"),
    pytest.param(
        lambda c: c.activities.list(user_id="user_1"), "user_id", id="activities-user_id-without-lead"
    ),
    pytest.param(
        lambda c: c.activities.list(contact_id="cont_1"),
        "contact_id",
        id="activities-contact_id-without-lead",
    ),
    pytest.param(
        lambda c: c.activities.list(user_id__in=["user_1"]),
        "user_id__in",
        id="activities-user_id__in-without-lead",
    ),
    pytest.param(
        lambda c: c.activities.list(contact_id__in=["cont_1"]),
        "contact_id__in",
        id="activities-contact_id__in-without-lead",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id=["lead_1", "lead_2"], types=["Email"]),
        "types",
        id="activities-types-with-several-leads",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id__in=["lead_1"], user_id="user_1"),
        "user_id",
        id="activities-user_id-with-lead_id__in",
    ),
    pytest.param(
        lambda c: c.activities.list(order_by="-activity_at"),
        "_order_by",
        id="activities-order-by-activity-no-lead",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id="lead_1", activity_at__gt=WHEN),
        "activity_at__gt",
        id="activities-activity_at__gt-without-order",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id="lead_1", order_by="date_created", activity_at__lte=WHEN),
        "activity_at__lte",
        id="activities-activity_at__lte-with-date_created-order",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id="lead_1", thread_emails="yes"),
        "thread_emails",
        id="activities-thread_emails-unknown",
    ),
]


@pytest.mark.parametrize(("call", "field"), LIST_REFUSED_AT_CALL)
async def test_list_refused_when_called(
    close: CloseAsync, stub: StubTransport, call: ListCall, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        call(close)  # list() is a plain def: the error must come before any iteration
    assert set(info.value.field_errors) == {field}, info.value.field_errors
    assert stub.requests == []


async def test_list_unknown_filter_suggests_the_right_one(close: CloseAsync) -> None:
    with pytest.raises(InvalidRequestError) as info:
        close.emails.list(date_created_gt=WHEN)  # type: ignore[call-arg]  # misspelt filter on purpose
    assert "did you mean date_created__gt" in str(info.value)


# Empty id lists are refused by the query encoder, which runs only when the first page
# is requested: list() itself returns a paginator without complaint.
LIST_EMPTY_ID_LISTS = [
    pytest.param(lambda c: c.emails.list(id__in=[]), "id__in", id="emails-id__in-empty"),
    pytest.param(lambda c: c.sms.list(lead_id=[]), "lead_id", id="sms-lead_id-empty"),
    pytest.param(lambda c: c.activities.list(id__in=[]), "id__in", id="activities-id__in-empty"),
    pytest.param(
        lambda c: c.activities.list(lead_id="lead_1", user_id__in=[]),
        "user_id__in",
        id="activities-user_id__in-empty",
    ),
    pytest.param(
        lambda c: c.activities.list(lead_id="lead_1", types=[]), "types", id="activities-types-empty"
    ),
]


@pytest.mark.parametrize(("call", "field"), LIST_EMPTY_ID_LISTS)
async def test_list_empty_id_list_refused_when_called(
    close: CloseAsync, stub: StubTransport, call: ListCall, field: str
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        call(close)
    assert set(info.value.field_errors) == {field}
    assert stub.requests == []


async def test_activities_date_created_filter_with_activity_at_order_is_refused(
    close: CloseAsync, stub: StubTransport
) -> None:
    with pytest.raises(InvalidRequestError) as info:
        close.activities.list(lead_id="lead_1", order_by="-activity_at", date_created__gt=WHEN)
    assert set(info.value.field_errors) == {"date_created__gt"}
    assert stub.requests == []


EMPTY_PAGE = {"data": [], "has_more": False}


@pytest.mark.parametrize(
    ("call", "path", "query"),
    [
        pytest.param(lambda c: c.emails.list(), "/activity/email/", "_limit=100", id="emails-no-filters"),
        pytest.param(
            lambda c: c.emails.list(
                lead_id="lead_1", date_created__gt=WHEN, fields=["id", "subject"], page_size=50
            ),
            "/activity/email/",
            "lead_id=lead_1&date_created__gt=2030-01-01T09:00:00%2B00:00&_fields=id,subject&_limit=50",
            id="emails-filters",
        ),
        pytest.param(
            lambda c: c.sms.list(id__in=["acti_1", "acti_2"], user_id="user_1"),
            "/activity/sms/",
            "id__in=acti_1,acti_2&user_id=user_1&_limit=100",
            id="sms-id-list-and-user-without-lead",
        ),
        pytest.param(
            lambda c: c.activities.list(
                lead_id="lead_1",
                types=["Email", Call],
                user_id__in=["user_1"],
                order_by="-activity_at",
                activity_at__gt=WHEN,
                thread_emails="only",
            ),
            "/activity/",
            "lead_id=lead_1&activity_at__gt=2030-01-01T09:00:00%2B00:00&_type__in=Email,Call"
            "&user_id__in=user_1&thread_emails=only&_order_by=-activity_at&_limit=100",
            id="activities-single-lead-filters",
        ),
        pytest.param(
            lambda c: c.activities.list(fields=["id"]),
            "/activity/",
            "_fields=id,_type&_limit=100",
            id="activities-fields-always-ask-type",
        ),
    ],
)
async def test_list_accepted_sends_one_request(
    close: CloseAsync, stub: StubTransport, call: ListCall, path: str, query: str
) -> None:
    stub.queue(json_response(EMPTY_PAGE))
    paginator = call(close)
    assert stub.requests == []  # lazy: nothing until iterated
    assert await paginator.collect() == []
    assert len(stub.requests) == 1
    assert stub.last.method == "GET"
    assert stub.last.url == f"{BASE}{path}?{query}"
