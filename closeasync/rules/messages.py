"""Close's input rules for Email and SMS, as pure functions over JSON bodies.

The SDK runs them before sending, so bad input fails with
:class:`~closeasync.errors.InvalidRequestError` and nothing leaves; the fake Close
runs the same functions to answer 400, so a raw HTTP client meets them too. Each
returns ``{field: message}`` using Close's own field names (empty when valid).

The status rules (Close's docs): only a draft can be modified; a draft may become
``scheduled`` (needs ``date_scheduled``) or ``outbox`` (sent now, or after
``send_in`` < 60 seconds), both needing a sender; a scheduled or outbox message
that has not left can only be cancelled back to ``draft``. When the current state
of the message is unknown (an update by id), those rules are left to the server.

The kind of value each field holds is a table (:data:`EMAIL_FIELDS`, :data:`SMS_FIELDS`)
of the checks in :mod:`closeasync.rules._fields`, from Close's schemas
(``CreateEmailActivity``, ``UpdateSMSActivity``...): a wrong kind is refused by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.enums import MessageStatus, PhoneDirection, PhoneSource
from ..params import (
    EmailCreateFields,
    EmailUpdateFields,
    SMSCreateFields,
    SMSUpdateFields,
    enum_values,
    field_names,
)
from ._fields import (
    Body,
    Check,
    Checks,
    Errors,
    boolean,
    check_values,
    datetime_problem,
    file_url,
    integer,
    list_of,
    object_with,
    one_of,
    shown,
    string,
)
from ._fields import given as _given
from ._fields import unknown_keys as _unknown_keys

__all__ = [
    "EMAIL_FIELDS",
    "SENDING_STATUSES",
    "SMS_FIELDS",
    "email_create_errors",
    "email_update_errors",
    "sends_message",
    "sms_create_errors",
    "sms_update_errors",
]

STATUSES = enum_values(MessageStatus)
#: What an update may set ``status`` to: edit a draft, send it, schedule it, or cancel.
UPDATE_STATUSES = frozenset({"draft", "scheduled", "outbox"})
#: The statuses that make Close send a message (a request setting one is never repeated).
SENDING_STATUSES = frozenset({"outbox", "scheduled"})
#: A status a create may give, and one an update may set (a list or object is no status).
_STATUS: Check = one_of(STATUSES)
_UPDATE_STATUS: Check = one_of(UPDATE_STATUSES)
EMAIL_CREATE_FIELDS = field_names(EmailCreateFields) | {"lead_id", "status"}
EMAIL_UPDATE_FIELDS = field_names(EmailUpdateFields)
SMS_CREATE_FIELDS = field_names(SMSCreateFields) | {"status"}
SMS_UPDATE_FIELDS = field_names(SMSUpdateFields)

MAX_SUBJECT = 1000
MAX_BODY = 1_048_576
MAX_RECIPIENTS = 500
MAX_ADDRESS = 1000
MAX_EMAIL_ATTACHMENTS = 1000
MAX_SMS_ATTACHMENTS = 10
MIN_FOLLOWUP_DELAY = 86_400
MAX_SEND_IN = 60  # exclusive
SMS_CONTENT_TYPES = frozenset(
    [
        "application/pdf",
        "application/vcard",
        "audio/3gpp",
        "audio/3gpp2",
        "audio/L24",
        "audio/ac3",
        "audio/amr",
        "audio/amr-nb",
        "audio/basic",
        "audio/mp4",
        "audio/mpeg",
        "audio/ogg",
        "audio/vnd.rn-realaudio",
        "audio/vnd.wave",
        "audio/webm",
        "image/bmp",
        "image/gif",
        "image/jpeg",
        "image/jpg",
        "image/png",
        "image/tiff",
        "text/calendar",
        "text/csv",
        "text/directory",
        "text/richtext",
        "text/rtf",
        "text/vcard",
        "text/x-vcard",
        "video/3gpp",
        "video/3gpp-tt",
        "video/3gpp2",
        "video/H261",
        "video/H263",
        "video/H263-1998",
        "video/H263-2000",
        "video/H264",
        "video/mp4",
        "video/mpeg",
        "video/quicktime",
        "video/webm",
    ]
)


def _mms_type(value: Any) -> str | None:
    if isinstance(value, str) and value in SMS_CONTENT_TYPES:
        return None
    return f"{shown(value)} is not one Close accepts for MMS"


_ID = string()
_DATETIME: Check = datetime_problem
_ADDRESSES = list_of(string(MAX_ADDRESS, min_length=1), max_items=MAX_RECIPIENTS, what="a list of addresses")
_EMAIL_ATTACHMENT = object_with(
    {
        "url": file_url,
        "filename": _ID,
        "size": integer(0, what="a whole number of bytes"),
        "content_type": _ID,
        "content_id": _ID,
        "inline_only": boolean,
    },
    required=("url", "filename", "size"),
)
_SMS_ATTACHMENT = object_with(
    {"url": string(), "filename": _ID, "content_type": _mms_type},
    required=("url", "filename", "content_type"),
)
_OPEN = object_with({"opened_at": _DATETIME}, required=("opened_at",))
_SEND_IN = integer(0, MAX_SEND_IN - 1, what="a whole number of seconds")

#: The kind of value of each field of an Email body (null is allowed wherever Close's
#: schemas allow it: every field but ``status``; ``lead_id`` is required on a create).
EMAIL_FIELDS: Checks = {
    **dict.fromkeys(
        (
            "lead_id",
            "contact_id",
            "user_id",
            "template_id",
            "in_reply_to_id",
            "email_account_id",
            "followup_sequence_id",
            "organization_id",
            "created_by",
        ),
        _ID,
    ),
    **dict.fromkeys(("date_scheduled", "followup_date", "activity_at", "date_created"), _DATETIME),
    "status": _STATUS,
    "subject": string(MAX_SUBJECT),
    "body_text": string(MAX_BODY),
    "body_html": string(MAX_BODY),
    "sender": string(MAX_ADDRESS),
    **dict.fromkeys(("to", "cc", "bcc"), _ADDRESSES),
    "attachments": list_of(_EMAIL_ATTACHMENT, max_items=MAX_EMAIL_ATTACHMENTS),
    "followup_sequence_delay": integer(MIN_FOLLOWUP_DELAY, what="a number of seconds (a day or more)"),
    "followup_sequence_add_cc_bcc": boolean,
    "opens": list_of(_OPEN, what="a list of opens"),
    "send_in": _SEND_IN,
}
#: The kind of value of each field of an SMS body.
SMS_FIELDS: Checks = {
    **dict.fromkeys(
        ("lead_id", "contact_id", "user_id", "template_id", "organization_id", "created_by"), _ID
    ),
    **dict.fromkeys(("text", "local_phone", "remote_phone"), _ID),
    **dict.fromkeys(("date_scheduled", "activity_at", "date_created"), _DATETIME),
    "status": _STATUS,
    "attachments": list_of(_SMS_ATTACHMENT, max_items=MAX_SMS_ATTACHMENTS),
    "direction": one_of(enum_values(PhoneDirection)),
    "source": one_of(enum_values(PhoneSource)),
    "send_in": _SEND_IN,
}


def sends_message(body: Any) -> bool:
    """Whether a create or update body makes Close send the message (a status of
    :data:`SENDING_STATUSES`): such a request is never repeated once it may have arrived.

    >>> sends_message({"status": "outbox"}), sends_message({"status": "draft"})
    (True, False)
    """
    if not isinstance(body, Mapping):
        return False
    status = body.get("status")
    return isinstance(status, str) and status in SENDING_STATUSES


def _known_missing(body: Body, current: Body | None, key: str) -> bool:
    """Whether ``key`` will be empty after this change, as far as we can know.

    The body clearing it (``null``; PUT acts as PATCH) empties it whatever the
    message held; otherwise only a loaded, empty value on the message tells.
    """
    if key in body:
        return not _given(body, key)
    return current is not None and key in current and not _given(current, key)


def _check_status_value(body: Body, errors: Errors, allowed: Check, *, required: bool) -> None:
    if "status" not in body:
        if required:
            errors["status"] = "is required"
        return
    problem = allowed(body["status"])
    if problem is not None:
        errors["status"] = problem


def _check_send_fields(body: Body, errors: Errors, status: Any, current: Body | None) -> None:
    """``date_scheduled`` for scheduled, ``send_in`` (0-59 s) only for outbox."""
    # Close asks for the date with the status change; a date the message already holds will do,
    # unless this same change clears it.
    if (
        status == "scheduled"
        and not _given(body, "date_scheduled")
        and ("date_scheduled" in body or not _given(current or {}, "date_scheduled"))
    ):
        errors["date_scheduled"] = "is required when status is scheduled"
    if body.get("send_in") is not None and "send_in" not in errors and status != "outbox":
        errors["send_in"] = "only applies when status is outbox"


def _check_transition(body: Body, errors: Errors, current: Body | None) -> None:
    """The draft-only rule, when the current status is known."""
    state = current.get("status") if current is not None else None
    if state is None or state == "draft":
        return
    if state in ("scheduled", "outbox"):
        if body.get("status") != "draft" or set(body) - {"status"}:
            errors["status"] = f"a {state} message can only be cancelled (status='draft') and nothing else"
    else:
        errors["status"] = f"only drafts can be modified; this message is {state!r}"


def email_create_errors(body: Body) -> Errors:
    """Check a ``POST /activity/email/`` body."""
    errors: Errors = {}
    _unknown_keys(body, EMAIL_CREATE_FIELDS, errors)
    _check_status_value(body, errors, _STATUS, required=True)
    check_values(body, EMAIL_FIELDS, errors)
    if not _given(body, "lead_id") and "lead_id" not in errors:
        errors["lead_id"] = "is required"
    status = body.get("status") if "status" not in errors else None
    if status in ("inbox", "scheduled", "outbox", "error") and not _given(body, "sender"):
        errors.setdefault("sender", f"is required when status is {status}")
    _check_send_fields(body, errors, status, None)
    return errors


def _update_errors(
    body: Body,
    current: Body | None,
    *,
    allowed: frozenset[str],
    sends_from: str,
    checks: Checks,
) -> Errors:
    """The update rules Email and SMS share; ``sends_from`` is what sending needs set."""
    errors: Errors = {}
    _unknown_keys(body, allowed, errors)
    _check_status_value(body, errors, _UPDATE_STATUS, required=False)
    _check_transition(body, errors, current)
    check_values(body, checks, errors)
    status = body.get("status") if "status" not in errors else None
    if status in ("scheduled", "outbox") and _known_missing(body, current, sends_from):
        errors.setdefault(sends_from, f"is required to set status {status} (the message has no {sends_from})")
    _check_send_fields(body, errors, status, current)
    return errors


def email_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/email/{id}/`` body against the email's current state if known."""
    return _update_errors(
        body, current, allowed=EMAIL_UPDATE_FIELDS, sends_from="sender", checks=EMAIL_FIELDS
    )


def sms_create_errors(body: Body, *, send_to_inbox: Any = False) -> Errors:
    """Check a ``POST /activity/sms/`` body (and its ``send_to_inbox`` query flag)."""
    errors: Errors = {}
    _unknown_keys(body, SMS_CREATE_FIELDS, errors)
    _check_status_value(body, errors, _STATUS, required=True)
    check_values(body, SMS_FIELDS, errors)
    status = body.get("status") if "status" not in errors else None
    if status in ("scheduled", "outbox") and not _given(body, "local_phone"):
        errors.setdefault("local_phone", f"is required when status is {status} (the number that sends it)")
    if not isinstance(send_to_inbox, bool):
        errors["send_to_inbox"] = f"must be true or false, got {type(send_to_inbox).__name__}"
    elif send_to_inbox and status != "inbox":
        errors["send_to_inbox"] = "only applies when status is inbox"
    _check_send_fields(body, errors, status, None)
    return errors


def sms_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/sms/{id}/`` body against the SMS's current state if known."""
    return _update_errors(
        body, current, allowed=SMS_UPDATE_FIELDS, sends_from="local_phone", checks=SMS_FIELDS
    )
