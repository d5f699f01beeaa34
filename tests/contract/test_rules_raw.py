"""Every input rule of ``closeasync/_rules.py``, met by a raw client: 400 in Close's shape.

The SDK refuses these bodies before sending (it runs the same rule functions), so a
raw client is how the fake's own answer is seen: ``{"errors": [...], "field-errors":
{field: message}}`` naming exactly the offending field, and nothing stored or changed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs
import pytest

from closeasync.fake import DEFAULT_START
from closeasync.rules.messages import (
    MAX_BODY,
    MAX_EMAIL_ATTACHMENTS,
    MAX_RECIPIENTS,
    MAX_SMS_ATTACHMENTS,
    MAX_SUBJECT,
    email_create_errors,
    email_update_errors,
    sms_create_errors,
    sms_update_errors,
)

from .conftest import Backend
from .messages import EMAIL, LOCAL_PHONE, SENDER, SMS, Kind

LATER = "2026-01-05T10:00:00.000000+00:00"
FILE = "https://app.close.com/go/file/temporary/user_x/token/a.pdf/"
GOOD_ATTACHMENT = {"url": FILE, "filename": "a.pdf", "size": 10}
MMS = {"url": "https://example.test/a.png", "filename": "a.png", "content_type": "image/png"}
#: Placeholders replaced by the test's own objects.
LEAD, OTHER_CONTACT = "<lead>", "<contact of another lead>"


@attrs.frozen
class Case:
    """One rule: a body (over a valid base) and the one field Close must name."""

    name: str
    kind: Kind
    body: Mapping[str, Any]
    field: str
    setup: str | None = None  # an update of a message created with this status; None: a create
    drop: tuple[str, ...] = ()
    query: Mapping[str, str] = attrs.field(factory=dict)
    local: bool = True  # False: a reference check only the server can make


def create(kind: Kind, name: str, body: Mapping[str, Any], field: str, **kw: Any) -> Case:
    return Case(f"{kind}-create-{name}", kind, body, field, **kw)


def update(kind: Kind, setup: str, name: str, body: Mapping[str, Any], field: str, **kw: Any) -> Case:
    return Case(f"{kind}-update-{setup}-{name}", kind, body, field, setup=setup, **kw)


E, S = EMAIL, SMS
CASES = [
    create(E, "unknown-key", {"bogus": 1}, "bogus"),
    create(E, "no-lead", {}, "lead_id", drop=("lead_id",)),
    create(E, "lead-not-str", {"lead_id": 123}, "lead_id"),
    create(E, "no-status", {}, "status", drop=("status",)),
    create(E, "bad-status", {"status": "pending"}, "status"),
    *(create(E, f"{st}-needs-sender", {"status": st}, "sender") for st in ("inbox", "outbox", "error")),
    create(E, "scheduled-needs-sender", {"status": "scheduled", "date_scheduled": LATER}, "sender"),
    create(E, "scheduled-needs-date", {"status": "scheduled", "sender": SENDER}, "date_scheduled"),
    *(
        create(E, f"send-in-{v!r}", {"status": "outbox", "sender": SENDER, "send_in": v}, "send_in")
        for v in (60, -1, "5", True, 1.5)
    ),
    create(E, "send-in-needs-outbox", {"send_in": 5}, "send_in"),
    create(E, "subject-too-long", {"subject": "x" * (MAX_SUBJECT + 1)}, "subject"),
    create(E, "subject-not-str", {"subject": 5}, "subject"),
    create(E, "body-text-too-long", {"body_text": "x" * (MAX_BODY + 1)}, "body_text"),
    create(E, "body-html-too-long", {"body_html": "x" * (MAX_BODY + 1)}, "body_html"),
    create(E, "body-text-not-str", {"body_text": ["x"]}, "body_text"),
    create(E, "sender-too-long", {"sender": "x" * 1001}, "sender"),
    create(E, "sender-not-str", {"sender": 42}, "sender"),
    create(E, "to-not-list", {"to": "bob@acme.test"}, "to"),
    create(E, "cc-too-many", {"cc": ["a@b.test"] * (MAX_RECIPIENTS + 1)}, "cc"),
    create(E, "bcc-empty-address", {"bcc": [""]}, "bcc"),
    create(E, "to-address-too-long", {"to": ["x" * 1001]}, "to"),
    create(E, "to-not-str", {"to": [1]}, "to"),
    create(E, "attachments-not-list", {"attachments": GOOD_ATTACHMENT}, "attachments"),
    create(E, "attachments-too-many", {"attachments": [GOOD_ATTACHMENT] * 1001}, "attachments"),
    create(E, "attachment-not-object", {"attachments": ["a.pdf"]}, "attachments"),
    create(E, "attachment-no-size", {"attachments": [{"url": FILE, "filename": "a"}]}, "attachments"),
    create(E, "attachment-url-not-str", {"attachments": [{**GOOD_ATTACHMENT, "url": 5}]}, "attachments"),
    create(
        E, "attachment-not-uploaded", {"attachments": [{**GOOD_ATTACHMENT, "url": MMS["url"]}]}, "attachments"
    ),
    *(
        create(E, f"attachment-size-{v!r}", {"attachments": [{**GOOD_ATTACHMENT, "size": v}]}, "attachments")
        for v in ("10", -1, True)
    ),
    *(
        create(E, f"followup-delay-{v!r}", {"followup_sequence_delay": v}, "followup_sequence_delay")
        for v in (86_399, True, "1d")
    ),
    create(E, "unknown-lead", {"lead_id": "lead_nope"}, "lead_id", local=False),
    create(E, "unknown-contact", {"contact_id": "cont_nope"}, "contact_id", local=False),
    create(E, "contact-of-another-lead", {"contact_id": OTHER_CONTACT}, "contact_id", local=False),
    create(E, "unknown-user", {"user_id": "user_nope"}, "user_id", local=False),
    create(E, "unknown-reply-to", {"in_reply_to_id": "acti_nope"}, "in_reply_to_id", local=False),
    update(E, "draft", "lead-not-updatable", {"lead_id": LEAD}, "lead_id"),
    *(update(E, "draft", f"to-{st}", {"status": st}, "status") for st in ("sent", "inbox", "error", "bogus")),
    update(E, "sent", "edit", {"subject": "x"}, "status"),
    update(E, "inbox", "to-draft", {"status": "draft"}, "status"),
    update(E, "scheduled", "edit", {"subject": "x"}, "status"),
    update(E, "scheduled", "cancel-and-edit", {"status": "draft", "subject": "x"}, "status"),
    update(E, "scheduled", "to-outbox", {"status": "outbox"}, "status"),
    update(E, "draft", "send-without-sender", {"status": "outbox"}, "sender"),
    update(E, "draft", "send-clearing-sender", {"status": "outbox", "sender": None}, "sender"),
    update(E, "draft", "schedule-without-date", {"status": "scheduled", "sender": SENDER}, "date_scheduled"),
    update(
        E,
        "draft",
        "schedule-clearing-date",
        {"status": "scheduled", "sender": SENDER, "date_scheduled": None},
        "date_scheduled",
    ),
    update(E, "draft", "send-in-without-outbox", {"send_in": 5}, "send_in"),
    update(E, "draft", "send-in-too-long", {"status": "outbox", "sender": SENDER, "send_in": 60}, "send_in"),
    update(E, "draft", "subject-too-long", {"subject": "x" * (MAX_SUBJECT + 1)}, "subject"),
    update(E, "draft", "to-not-list", {"to": "bob@acme.test"}, "to"),
    update(E, "draft", "followup-delay", {"followup_sequence_delay": 60}, "followup_sequence_delay"),
    update(E, "draft", "attachments-too-many", {"attachments": [GOOD_ATTACHMENT] * 1001}, "attachments"),
    update(E, "draft", "unknown-contact", {"contact_id": "cont_nope"}, "contact_id", local=False),
    update(E, "draft", "unknown-user", {"user_id": "user_nope"}, "user_id", local=False),
    create(S, "unknown-key", {"subject": "hi"}, "subject"),
    create(S, "no-status", {}, "status", drop=("status",)),
    create(S, "bad-status", {"status": "queued"}, "status"),
    create(S, "outbox-needs-local-phone", {"status": "outbox"}, "local_phone"),
    create(S, "scheduled-needs-local-phone", {"status": "scheduled", "date_scheduled": LATER}, "local_phone"),
    create(S, "scheduled-needs-date", {"status": "scheduled", "local_phone": LOCAL_PHONE}, "date_scheduled"),
    create(S, "send-in-too-long", {"status": "outbox", "local_phone": LOCAL_PHONE, "send_in": 60}, "send_in"),
    create(S, "send-in-needs-outbox", {"send_in": 5}, "send_in"),
    create(S, "send-to-inbox-needs-inbox", {}, "send_to_inbox", query={"send_to_inbox": "true"}),
    *(create(S, f"{key}-not-str", {key: 5}, key) for key in ("text", "local_phone", "remote_phone")),
    create(S, "attachments-not-list", {"attachments": MMS}, "attachments"),
    create(S, "attachments-too-many", {"attachments": [MMS] * (MAX_SMS_ATTACHMENTS + 1)}, "attachments"),
    create(S, "attachment-bad-type", {"attachments": [{**MMS, "content_type": "image/webp"}]}, "attachments"),
    create(S, "attachment-no-type", {"attachments": [{**MMS, "content_type": None}]}, "attachments"),
    create(S, "bad-direction", {"direction": "incoming"}, "direction"),
    create(S, "bad-source", {"source": "Phone"}, "source"),
    create(S, "unknown-lead", {"lead_id": "lead_nope"}, "lead_id", local=False),
    create(S, "unknown-contact", {"contact_id": "cont_nope"}, "contact_id", local=False),
    update(S, "draft", "direction-not-updatable", {"direction": "inbound"}, "direction"),
    update(S, "draft", "to-sent", {"status": "sent"}, "status"),
    update(S, "sent", "edit", {"text": "x"}, "status"),
    update(S, "inbox", "edit", {"text": "x"}, "status"),
    update(S, "scheduled", "edit", {"text": "x"}, "status"),
    update(S, "draft", "send-without-local-phone", {"status": "outbox"}, "local_phone"),
    update(
        S,
        "draft",
        "schedule-without-date",
        {"status": "scheduled", "local_phone": LOCAL_PHONE},
        "date_scheduled",
    ),
    update(S, "draft", "text-not-str", {"text": 5}, "text"),
    update(
        S, "draft", "attachment-bad-type", {"attachments": [{**MMS, "content_type": "x/y"}]}, "attachments"
    ),
]
assert len({case.name for case in CASES}) == len(CASES)
assert MAX_EMAIL_ATTACHMENTS == 1000

Rule = Callable[..., dict[str, str]]
RULES: dict[tuple[str, bool], Rule] = {
    ("email", False): email_create_errors,
    ("email", True): email_update_errors,
    ("sms", False): sms_create_errors,
    ("sms", True): sms_update_errors,
}


def _resolve(body: Mapping[str, Any], lead_id: str, other_contact: str) -> dict[str, Any]:
    swap = {LEAD: lead_id, OTHER_CONTACT: other_contact}
    return {k: swap.get(v, v) if isinstance(v, str) else v for k, v in body.items()}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
async def test_each_rule_is_a_400_naming_its_field(
    backend: Backend, lead: dict[str, Any], case: Case
) -> None:
    fake, kind = backend.fake, case.kind
    other_lead = fake.add_lead("Other Inc")
    other_contact = fake.add_contact(other_lead["id"], "Olga")["id"]
    if case.setup is None:
        base: dict[str, Any] = {"lead_id": lead["id"], "status": "draft"}
        target, method, current = kind.path, "POST", None
    else:
        setup = kind.body(lead["id"], case.setup, now=DEFAULT_START, with_sender=case.setup != "draft")
        made = await backend.raw("POST", kind.path, json=setup)
        assert made.status == 200, made.body
        base, current = {}, made.body
        target, method = f"{kind.path}{current['id']}/", "PUT"
    body = {
        k: v
        for k, v in {**base, **_resolve(case.body, lead["id"], other_contact)}.items()
        if k not in case.drop
    }
    before = {k: dict(v) for k, v in fake.activities.items()}
    raw = await backend.raw(method, target, query=case.query, json=body)
    assert raw.field_errors().keys() == {case.field}, raw.body
    assert isinstance(raw.field_errors()[case.field], str)
    assert fake.activities == before
    assert fake.sent_emails == fake.sent_sms == []
    if case.local:  # the SDK runs the same rule, so it would have refused before sending
        rule = RULES[(kind.name, case.setup is not None)]
        local = rule(body, current) if case.setup else rule(body, **_flags(case.query))
        assert case.field in local


def _flags(query: Mapping[str, str]) -> dict[str, bool]:
    return {"send_to_inbox": True} if query.get("send_to_inbox") == "true" else {}


async def test_a_body_that_is_not_an_object_is_a_400(backend: Backend) -> None:
    for method, path in (("POST", "/activity/email/"), ("POST", "/activity/sms/")):
        raw = await backend.raw(method, path, json=["status", "draft"])
        assert raw.field_errors() == {}
        assert raw.body["errors"] == ["The request body must be a JSON object."]


async def test_the_largest_valid_email_is_accepted(backend: Backend, lead: dict[str, Any]) -> None:
    body = {
        "lead_id": lead["id"],
        "status": "draft",
        "subject": "s" * MAX_SUBJECT,
        "body_text": "t" * MAX_BODY,
        "body_html": "h" * MAX_BODY,
        "to": ["a@b.test"] * MAX_RECIPIENTS,
    }
    raw = await backend.raw("POST", "/activity/email/", json=body)
    assert raw.status == 200
    assert (len(raw.body["body_text"]), len(raw.body["body_html"]), len(raw.body["to"])) == (
        MAX_BODY,
        MAX_BODY,
        MAX_RECIPIENTS,
    )
