"""Email and SMS: create, read, update, delete, and the sending that follows Close's rules.

A message put in the ``outbox`` is due at once (or after ``send_in`` seconds); a
``scheduled`` one at its ``date_scheduled``. :func:`deliver_due` turns every due
message into ``sent`` (with ``date_sent`` and ``activity_at``) and logs it in the
sent list, exactly once; the router calls it before each request and
``FakeClose.advance`` after moving the clock.

Each change is logged in the event log once stored (``state.events``): created, updated
(the clock's sends too, at the moment they became due and by no request), deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from ...models._converter import format_datetime, parse_datetime
from ...rules.messages import email_create_errors, email_update_errors, sms_create_errors, sms_update_errors
from .._http import FakeRequest, FakeResponse, error, field_errors, ok
from .._objects import base_fields, email_object, refresh_phones, sms_attachment, sms_object, stamp_sent
from ..state import FakeState
from .listing import project

__all__ = ["bad_body", "create", "delete", "deliver_due", "get", "not_found", "reference_errors", "update"]

_TYPES = {"email": "Email", "sms": "SMS"}
#: Fields Close's objects never hold null: a null in a body leaves them as they are.
_NEVER_NULL = frozenset(
    {"organization_id", "date_created", "followup_sequence_add_cc_bcc", "direction", "source"}
)
#: The list fields of each kind: never null on the object (an email's, as its create fills them).
_LISTS = {"email": ("to", "cc", "bcc", "attachments"), "sms": ()}


def _ignored(key: str, value: object) -> bool:
    """Whether Close ignores this value of a body: a null for a field never null."""
    return value is None and key in _NEVER_NULL


def not_found(kind: str) -> FakeResponse:
    return error(404, f"{kind} not found")


def _lookup(state: FakeState, kind: str, ident: str) -> dict[str, Any] | None:
    found = state.activities.get(ident)
    return found if found is not None and found["_type"] == _TYPES[kind] else None


def reference_errors(state: FakeState, body: Mapping[str, Any]) -> dict[str, str]:
    """Ids in the body must name existing objects, as Close checks."""
    problems = {}
    if body.get("lead_id") and body["lead_id"] not in state.leads:
        problems["lead_id"] = "Object does not exist."
    contact = state.contacts.get(body.get("contact_id") or "")
    if body.get("contact_id") and contact is None:
        problems["contact_id"] = "Object does not exist."
    elif contact is not None and body.get("lead_id") and contact["lead_id"] != body["lead_id"]:
        problems["contact_id"] = "Contact does not belong to this lead."
    if body.get("user_id") and body["user_id"] not in state.users:
        problems["user_id"] = "Object does not exist."
    if body.get("in_reply_to_id") and body["in_reply_to_id"] not in state.activities:
        problems["in_reply_to_id"] = "Object does not exist."
    return problems


def bad_body(body: Any) -> FakeResponse | None:
    if not isinstance(body, dict):
        return field_errors({}, ["The request body must be a JSON object."])
    return None


def _schedule_send(state: FakeState, message: dict[str, Any], send_in: Any) -> None:
    """Queue a message Close will send: outbox now (+ send_in), scheduled at its date."""
    if message["status"] == "outbox":
        state.pending[message["id"]] = state.now() + timedelta(seconds=send_in or 0)
    elif message["status"] == "scheduled":
        state.pending[message["id"]] = parse_datetime(message["date_scheduled"])
    else:
        state.pending.pop(message["id"], None)


def create(state: FakeState, kind: str, request: FakeRequest) -> FakeResponse:
    """``POST /activity/email/`` and ``POST /activity/sms/``."""
    body = request.body
    if (bad := bad_body(body)) is not None:
        return bad
    send_to_inbox = request.query.get("send_to_inbox", "false").lower() == "true"
    problems = (
        email_create_errors(body) if kind == "email" else sms_create_errors(body, send_to_inbox=send_to_inbox)
    )
    problems = problems or reference_errors(state, body)
    if problems:
        return field_errors(problems)
    body = {k: v for k, v in body.items() if not _ignored(k, v)}
    user = state.user_for(body.get("user_id"))
    ident = state.ids.new("acti")
    base = base_fields(
        kind=_TYPES[kind],
        ident=ident,
        org=state.organization_id,
        user=user,
        now=state.now(),
        lead_id=body.get("lead_id"),
    )
    if kind == "email":
        parent = state.activities.get(body.get("in_reply_to_id") or "")
        thread_id = parent["thread_id"] if parent and parent.get("thread_id") else state.ids.new("acti")
        message = email_object(base, body, thread_id)
    else:
        message = sms_object(base, body, lambda: state.ids.new("media"))
    state.activities[ident] = message
    _schedule_send(state, message, body.get("send_in"))
    state.events.created(message)
    return ok(message)


def get(state: FakeState, kind: str, ident: str, request: FakeRequest) -> FakeResponse:
    """``GET /activity/email/{id}/`` (with ``_fields``)."""
    message = _lookup(state, kind, ident)
    if message is None:
        return not_found(_TYPES[kind])
    return project(message, request.query)


def update(state: FakeState, kind: str, ident: str, request: FakeRequest) -> FakeResponse:
    """``PUT``: edit a draft, send or schedule it, or cancel a pending one (PUT acts as PATCH)."""
    message = _lookup(state, kind, ident)
    if message is None:
        return not_found(_TYPES[kind])
    body = request.body
    if (bad := bad_body(body)) is not None:
        return bad
    rule: Callable[..., dict[str, str]] = email_update_errors if kind == "email" else sms_update_errors
    problems = rule(body, message) or reference_errors(state, body)
    if problems:
        return field_errors(problems)
    before = dict(message)  # top-level values are replaced below, never changed in place
    changes = {
        k: v for k, v in body.items() if k not in ("send_in", "followup_date", "opens") and not _ignored(k, v)
    }
    for key in _LISTS[kind]:
        if key in changes and changes[key] is None:  # null clears a list: Close shows it empty
            changes[key] = []
    if kind == "sms" and "attachments" in changes:
        changes["attachments"] = [
            sms_attachment(ident, a, state.ids.new("media")) for a in changes["attachments"] or []
        ]
    message.update(changes)
    if kind == "sms":
        refresh_phones(message)
    else:
        message["body_preview"] = " ".join((message.get("body_text") or "").split())[:200]
    user = state.user_for(None)
    message.update(
        date_updated=format_datetime(state.now()), updated_by=user["id"], updated_by_name=user["name"]
    )
    if body.get("status") == "draft":  # cancelled (or kept) as a draft: nothing is scheduled
        message["date_scheduled"] = body.get("date_scheduled")
    _schedule_send(state, message, body.get("send_in"))
    state.events.updated(before, message)
    return ok(message)


def delete(state: FakeState, kind: str, ident: str) -> FakeResponse:
    """``DELETE``: remove it (a pending send is dropped too). Answers 200 ``{}``."""
    message = _lookup(state, kind, ident)
    if message is None:
        return not_found(_TYPES[kind])
    del state.activities[ident]
    state.pending.pop(ident, None)
    state.events.deleted(message)
    return ok({})


def deliver_due(state: FakeState) -> int:
    """Send every message whose time has come; return how many left."""
    now = state.now()
    due = sorted((when, ident) for ident, when in state.pending.items() if when <= now)
    for when, ident in due:
        del state.pending[ident]
        message = state.activities.get(ident)
        if message is None or message["status"] not in ("outbox", "scheduled"):
            continue
        # Stamped when it became due: Close would have sent it then, however far the clock jumped.
        before = dict(message)
        stamp_sent(message, when, f"<{ident}@fake.close.test>")
        state.record_sent(message, at=when)
        state.events.updated(before, message, at=when)  # the clock's doing: no request, no user
    return len(due)
