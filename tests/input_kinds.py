"""The parameters of every create, update and list method: each one's kind, a right value, and
strategies of wrong values per kind (for ``tests/test_input_space.py``).

The wrong values are written out here, not derived from ``closeasync/rules/``: the rules are
what is under test. A right value may name an object of the test's fake (:class:`Ref`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import strategies as st

__all__ = ["BAD", "FILE", "GOOD_TIME", "Param", "Ref", "good_value", "params_of"]

FILE = "https://app.close.com/go/file/temporary/user_x/token/a.pdf/"
GOOD_TIME = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


@attrs.frozen
class Ref:
    """An object of the test's fake, by role: ``lead``, ``contact``, ``user``, ``org``, or a resource."""

    role: str


def good_value(value: Any, refs: Mapping[str, str]) -> Any:
    """``value`` with its :class:`Ref` replaced by the fake's ids."""
    return refs.get(value.role, f"{value.role}_1") if isinstance(value, Ref) else value


@attrs.frozen
class Param:
    """One parameter of one method: its kind (a key of :data:`BAD`), a right value, the base
    arguments it goes with, and the other names an error may give it (Close's)."""

    resource: str
    method: str
    name: str
    kind: str
    good: Any
    base: Mapping[str, Any] = attrs.field(factory=dict)
    aliases: frozenset[str] = frozenset()

    @property
    def id(self) -> str:
        return f"{self.resource}.{self.method}.{self.name}"

    @property
    def names(self) -> frozenset[str]:
        return self.aliases | {self.name}

    @property
    def body(self) -> bool:
        """Whether it is a field of the JSON body (the fake sees it as sent)."""
        return self.method in ("create", "update") and self.name not in ("target", "send_to_inbox")

    @property
    def route(self) -> str:
        return {"emails": "email", "sms": "sms", "notes": "note", "calls": "call", "meetings": "meeting"}[
            self.resource
        ]


# -- wrong values, per kind --------------------------------------------------------------------------

#: A string holding a lone surrogate: valid in Python, impossible in UTF-8 (and so in JSON).
SURROGATE = st.builds(
    lambda a, b, s: f"{a}{s}{b}",
    st.text(max_size=3),
    st.text(max_size=3),
    st.sampled_from(["\ud800", "\udfff"]),
)
OBJECT = st.sampled_from([object(), {1, 2}, b"bytes", 1j])
SCALAR = st.one_of(st.integers(), st.floats(), st.booleans())
CONTAINER = st.one_of(
    st.lists(st.text(max_size=4), max_size=3), st.dictionaries(st.text(max_size=4), st.integers(), max_size=2)
)
NOT_STRING = st.one_of(SCALAR, CONTAINER, OBJECT)
STRING = st.one_of(NOT_STRING, SURROGATE)


def _not_a_time(text: str) -> bool:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return True
    return parsed.tzinfo is None or "T" not in text


JUNK_TIME = st.one_of(
    st.sampled_from(["junk", "2026-01-05", "2026-01-05T09:00:00", "2026-13-01T00:00:00+00:00", ""]),
    st.text(max_size=12).filter(_not_a_time),
)
NAIVE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1))
NOT_A_FILTER_TIME = st.one_of(
    st.sampled_from(["junk", "2026-13-01", "yesterday", "", "2026-01-05T25:00"]),
    SCALAR,
    CONTAINER,
    OBJECT,
    SURROGATE,
)


def _enum(*values: str) -> st.SearchStrategy[Any]:
    return st.one_of(st.text(max_size=8).filter(lambda t: t not in values), SCALAR, CONTAINER, OBJECT)


def _longer_than(limit: int) -> st.SearchStrategy[Any]:
    return st.one_of(STRING, st.just("x" * (limit + 1)))


def _attachments(*bad_items: Mapping[str, Any]) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text(max_size=3),
        st.lists(st.one_of(st.text(max_size=3), st.integers()), min_size=1, max_size=2),
        st.sampled_from([[dict(item)] for item in bad_items]),
        SCALAR,
        OBJECT,
    )


BAD: dict[str, st.SearchStrategy[Any]] = {
    "id": STRING,
    "required_id": st.one_of(STRING, st.just(""), st.none()),
    "subject": _longer_than(1000),
    "body": _longer_than(1_048_576),
    "address": _longer_than(1000),
    "datetime": st.one_of(NAIVE, st.dates(), JUNK_TIME, SCALAR, CONTAINER, OBJECT, SURROGATE),
    "bool": st.one_of(st.integers(), st.text(max_size=5), st.floats(), CONTAINER, OBJECT),
    "followup_delay": st.one_of(
        st.integers(max_value=86_399),
        st.integers(min_value=2**64),
        st.booleans(),
        st.text(max_size=5),
        st.floats(),
    ),
    "send_in": st.one_of(
        st.integers(max_value=-1), st.integers(min_value=60), st.booleans(), st.text(max_size=3)
    ),
    "duration": st.one_of(
        st.integers(min_value=604_801), st.booleans(), st.text(max_size=3), st.floats(), OBJECT
    ),
    "message_status": st.one_of(_enum("inbox", "draft", "scheduled", "outbox", "sent", "error"), st.none()),
    "update_status": st.one_of(_enum("draft", "scheduled", "outbox"), st.none()),
    "call_status": _enum("completed", "no-answer", "busy", "error", "cancel", "in-progress", "ringing"),
    "direction": _enum("inbound", "outbound"),
    "source": _enum("Close.io", "External"),
    "addresses": st.one_of(
        st.text(max_size=5),
        st.lists(st.one_of(NOT_STRING, SURROGATE, st.just("")), min_size=1, max_size=3),
        st.just(["a@example.com"] * 501),
        st.dictionaries(st.text(max_size=3), st.text(max_size=3), min_size=1, max_size=1),
        SCALAR,
        OBJECT,
    ),
    "email_attachments": _attachments(
        {"url": FILE},
        {"url": "https://x.test/a.pdf", "filename": "a.pdf", "size": 1},
        {"url": FILE, "filename": "a.pdf", "size": -1},
        {"url": FILE, "filename": 5, "size": 1},
        {"url": FILE, "filename": "a.pdf", "size": "1"},
        {"url": FILE, "filename": "a.pdf", "size": 1, "inline_only": "yes"},
        {"url": FILE, "filename": "a.pdf", "size": 1, "content_type": ["application/pdf"]},
        {"url": FILE, "filename": "a\ud800.pdf", "size": 1},
    ),
    "sms_attachments": _attachments(
        {"url": FILE, "filename": "a.png", "content_type": ["image/png"]},
        {"url": FILE, "filename": "a.png", "content_type": "text/x-bogus"},
        {"url": FILE, "content_type": "image/png"},
        {"url": 5, "filename": "a.png", "content_type": "image/png"},
        {"url": FILE, "filename": {"a": 1}, "content_type": "image/png"},
    ),
    "note_attachments": _attachments(
        {"url": "https://x.test/a.pdf", "filename": "a.pdf"},
        {"url": FILE},
        {"url": FILE, "filename": "a.pdf", "content_type": 5},
        {"url": FILE, "filename": ["a.pdf"]},
    ),
    "opens": st.one_of(
        st.text(max_size=3),
        st.lists(st.text(max_size=3), min_size=1, max_size=2),
        st.sampled_from([[{}], [{"opened_at": "junk"}], [{"opened_at": 5}], [5]]),
        SCALAR,
        OBJECT,
    ),
    "secure_url": st.one_of(
        st.sampled_from(["http://x.test/a.mp3", "nope", "https://", "https://x.test/\ud800"]),
        SCALAR,
        CONTAINER,
    ),
    "url": st.one_of(
        st.sampled_from(["nope", "x.test/a.mp3", "https://x.test/a b"]), SCALAR, CONTAINER, SURROGATE
    ),
    "filter_ids": st.one_of(
        SCALAR,
        st.just([]),
        st.lists(SCALAR, min_size=1, max_size=2),
        st.sampled_from(["", " lead_1", "lead_1,lead_2", "lead_1,"]),
        SURROGATE,
        st.lists(SURROGATE, min_size=1, max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
        OBJECT,
    ),
    "filter_id": st.one_of(SCALAR, st.just(["orga_1"]), st.sampled_from(["", "a,b"]), SURROGATE, OBJECT),
    "filter_time": NOT_A_FILTER_TIME,
    "fields": st.one_of(
        st.text(max_size=5),
        st.just([]),
        st.lists(SCALAR, min_size=1, max_size=2),
        st.sampled_from([["id,subject"], [""], ["id", None]]),
        st.lists(SURROGATE, min_size=1, max_size=2),
        st.integers(),
        OBJECT,
    ),
    "page_size": st.one_of(
        st.integers(max_value=0), st.text(max_size=3), st.floats(), st.booleans(), st.none()
    ),
    "event_page_size": st.one_of(
        st.integers(max_value=0), st.integers(min_value=51), st.text(max_size=3), st.floats(), st.booleans()
    ),
    "prefetch": st.one_of(
        st.integers(max_value=-1), st.text(max_size=3), st.floats(), st.booleans(), st.none()
    ),
    "types": st.one_of(
        st.integers(),
        st.lists(st.integers(), min_size=1, max_size=2),
        st.sampled_from(
            [[None], [], "Bogus", "Email,SMS", "CustomActivity", "", ["email"], {"Email": 1}, [int]]
        ),
        st.lists(SURROGATE, min_size=1, max_size=1),
        OBJECT,
    ),
    "thread_emails": st.one_of(
        st.integers(), st.sampled_from(["yes", "false", "True", "", "ONLY"]), CONTAINER, OBJECT
    ),
    "order_by": st.one_of(
        st.text(max_size=8).filter(
            lambda t: t not in ("date_created", "-date_created", "activity_at", "-activity_at")
        ),
        SCALAR,
        CONTAINER,
        OBJECT,
    ),
    "event_filter": st.one_of(SCALAR, st.just(""), SURROGATE, CONTAINER, OBJECT),
    "event_time": st.one_of(NAIVE, st.text(max_size=10), SCALAR, CONTAINER, st.dates()),
    "target": st.one_of(
        st.sampled_from(["", "  ", ".", ".."]), SURROGATE, SCALAR, st.none(), CONTAINER, OBJECT
    ),
    "send_to_inbox": st.one_of(st.integers(), st.text(max_size=3), st.none(), CONTAINER, OBJECT),
}


# -- the parameters ----------------------------------------------------------------------------------

T = GOOD_TIME
LEAD, CONTACT, USER, ORG = Ref("lead"), Ref("contact"), Ref("user"), Ref("org")
SENDER = "Me <me@example.com>"
PHONE = "+16503334444"
#: name: (kind, right value) of the fields every email body takes.
EMAIL: dict[str, tuple[str, Any]] = {
    "subject": ("subject", "Hi"),
    "body_text": ("body", "Hello"),
    "body_html": ("body", "<p>Hello</p>"),
    "sender": ("address", SENDER),
    "to": ("addresses", ["ann@example.com"]),
    "cc": ("addresses", ["bob@example.com"]),
    "bcc": ("addresses", ["cid@example.com"]),
    "attachments": ("email_attachments", [{"url": FILE, "filename": "a.pdf", "size": 10}]),
    "contact_id": ("id", CONTACT),
    "user_id": ("id", USER),
    "template_id": ("id", "tmpl_1"),
    "in_reply_to_id": ("id", Ref("emails")),
    "email_account_id": ("id", "emailacct_1"),
    "followup_date": ("datetime", T),
    "followup_sequence_id": ("id", "seq_1"),
    "followup_sequence_delay": ("followup_delay", 86_400),
    "followup_sequence_add_cc_bcc": ("bool", True),
    "opens": ("opens", [{"opened_at": T}]),
    "activity_at": ("datetime", T),
    "date_scheduled": ("datetime", T),
    "send_in": ("send_in", 5),
}
EMAIL_CREATE = {
    **EMAIL,
    "lead_id": ("required_id", LEAD),
    "status": ("message_status", "draft"),
    "organization_id": ("id", ORG),
    "created_by": ("id", USER),
    "date_created": ("datetime", T),
}
EMAIL_UPDATE = {**EMAIL, "status": ("update_status", "draft")}
SMS: dict[str, tuple[str, Any]] = {
    "text": ("id", "Hi"),
    "local_phone": ("id", PHONE),
    "remote_phone": ("id", "+14155550100"),
    "lead_id": ("id", LEAD),
    "contact_id": ("id", CONTACT),
    "user_id": ("id", USER),
    "template_id": ("id", "tmpl_1"),
    "attachments": ("sms_attachments", [{"url": FILE, "filename": "a.png", "content_type": "image/png"}]),
    "activity_at": ("datetime", T),
    "date_scheduled": ("datetime", T),
    "send_in": ("send_in", 5),
}
SMS_CREATE = {
    **SMS,
    "status": ("message_status", "draft"),
    "send_to_inbox": ("send_to_inbox", True),
    "organization_id": ("id", ORG),
    "created_by": ("id", USER),
    "date_created": ("datetime", T),
    "direction": ("direction", "inbound"),
    "source": ("source", "External"),
}
SMS_UPDATE = {**SMS, "status": ("update_status", "draft")}
NOTE: dict[str, tuple[str, Any]] = {
    "note": ("id", "Call back"),
    "note_html": ("id", "<body><p>Call back</p></body>"),
    "title": ("id", "Next"),
    "pinned": ("bool", True),
    "attachments": ("note_attachments", [{"url": FILE, "filename": "a.pdf"}]),
    "contact_id": ("id", CONTACT),
    "activity_at": ("datetime", T),
}
NOTE_CREATE = {
    **NOTE,
    "lead_id": ("required_id", LEAD),
    "user_id": ("id", USER),
    "created_by": ("id", USER),
    "organization_id": ("id", ORG),
    "date_created": ("datetime", T),
}
CALL: dict[str, tuple[str, Any]] = {
    "lead_id": ("id", LEAD),
    "contact_id": ("id", CONTACT),
    "user_id": ("id", USER),
    "status": ("call_status", "completed"),
    "duration": ("duration", 10),
    "phone": ("id", "+16505551234"),
    "note": ("id", "Wants a demo"),
    "note_html": ("id", "<body><p>Wants a demo</p></body>"),
    "outcome_id": ("id", "outcome_1"),
    "recording_url": ("secure_url", "https://x.test/r.mp3"),
    "voicemail_url": ("url", "https://x.test/v.mp3"),
    "conversation_type_id": ("id", "ct_1"),
    "playbook_id": ("id", "pb_1"),
    "quality_info": ("id", "good"),
    "activity_at": ("datetime", T),
}
CALL_CREATE = {
    **CALL,
    "direction": ("direction", "inbound"),
    "source": ("source", "External"),
    "created_by": ("id", USER),
    "organization_id": ("id", ORG),
    "date_created": ("datetime", T),
}
MEETING = {"user_note_html": ("id", "<body><p>Pricing</p></body>"), "outcome_id": ("id", "outcome_1")}
FILTERS: dict[str, tuple[str, Any]] = {
    "lead_id": ("filter_ids", "lead_1"),
    "contact_id": ("filter_ids", ["cont_1", "cont_2"]),
    "user_id": ("filter_ids", "user_1"),
    "organization_id": ("filter_id", "orga_1"),
    "id__in": ("filter_ids", ("acti_1", "acti_2")),
    **{
        f"{f}__{op}": ("filter_time", T)
        for f in ("date_created", "activity_at")
        for op in ("gt", "gte", "lt", "lte")
    },
    "fields": ("fields", ["id", "date_created"]),
    "page_size": ("page_size", 10),
    "prefetch": ("prefetch", 2),
}
ACTIVITIES = {
    **FILTERS,
    "date_created__gt": ("filter_time", "2026-01-05"),  # an ISO string is a date filter too
    "types": ("types", "Email"),
    "user_id__in": ("filter_ids", ["user_1"]),
    "contact_id__in": ("filter_ids", ["cont_1"]),
    "lead_id__in": ("filter_ids", ["lead_1", "lead_2"]),
    "thread_emails": ("thread_emails", "only"),
    "order_by": ("order_by", "-date_created"),
}
EVENTS = {
    "object_type": ("event_filter", "activity.email"),
    "object_id": ("event_filter", "acti_1"),
    "action": ("event_filter", "created"),
    "lead_id": ("event_filter", "lead_1"),
    "user_id": ("event_filter", "user_1"),
    "request_id": ("event_filter", "req_1"),
    **{f"date_updated__{op}": ("event_time", T) for op in ("gt", "gte", "lt", "lte")},
    "fields": ("fields", ["id"]),
    "page_size": ("event_page_size", 10),
}
#: The other arguments some parameters need to be accepted (Close's combinations).
NEEDS: dict[str, Mapping[str, Any]] = {
    "emails.send_in": {"status": "outbox", "sender": SENDER},
    "sms.send_in": {"status": "outbox", "local_phone": PHONE},
    "sms.send_to_inbox": {"status": "inbox"},
    "events.object_type": {"action": "created"},
    "events.object_id": {"object_type": "activity.email"},
    "events.action": {"object_type": "activity.email"},
    **{f"activities.activity_at__{op}": {"order_by": "-activity_at"} for op in ("gt", "gte", "lt", "lte")},
}
#: A field each update target is tried with.
TARGET_FIELD = {
    "emails": {"subject": "x"},
    "sms": {"text": "x"},
    "notes": {"note": "x"},
    "calls": {"note": "x"},
    "meetings": {"outcome_id": "outcome_1"},
}
ALIASES = {
    "page_size": frozenset({"_limit"}),
    "fields": frozenset({"_fields"}),
    "order_by": frozenset({"_order_by"}),
    "target": frozenset({"id"}),
}


def params_of() -> list[Param]:
    """Every parameter of every create, update and list method."""
    tables: list[tuple[str, str, Mapping[str, tuple[str, Any]], Mapping[str, Any]]] = [
        ("emails", "create", EMAIL_CREATE, {"lead_id": LEAD, "status": "draft"}),
        ("emails", "update", EMAIL_UPDATE, {}),
        ("sms", "create", SMS_CREATE, {"status": "draft", "lead_id": LEAD}),
        ("sms", "update", SMS_UPDATE, {}),
        ("notes", "create", NOTE_CREATE, {"lead_id": LEAD}),
        ("notes", "update", NOTE, {}),
        ("calls", "create", CALL_CREATE, {"lead_id": LEAD}),
        ("calls", "update", CALL, {}),
        ("meetings", "update", MEETING, {}),
        ("activities", "list", ACTIVITIES, {"lead_id": "lead_1"}),
        ("events", "list", EVENTS, {}),
        *((resource, "list", FILTERS, {}) for resource in ("emails", "sms", "notes", "calls", "meetings")),
    ]
    params = []
    for resource, method, table, base in tables:
        for name, (kind, good) in table.items():
            extra = NEEDS.get(f"{resource}.{name}", {})
            params.append(
                Param(resource, method, name, kind, good, {**base, **extra}, ALIASES.get(name, frozenset()))
            )
        if method == "update":
            params.append(
                Param(
                    resource,
                    method,
                    "target",
                    "target",
                    Ref(resource),
                    TARGET_FIELD[resource],
                    ALIASES["target"],
                )
            )
    return params
