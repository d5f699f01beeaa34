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
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
from ._fields import FILE_URL_PREFIX, Body, Errors
from ._fields import check_datetimes as _check_datetimes
from ._fields import check_str as _check_str
from ._fields import given as _given
from ._fields import unknown_keys as _unknown_keys

__all__ = [
    "SENDING_STATUSES",
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


def sends_message(body: Any) -> bool:
    """Whether a create or update body makes Close send the message (a status of
    :data:`SENDING_STATUSES`): such a request is never repeated once it may have arrived.

    >>> sends_message({"status": "outbox"}), sends_message({"status": "draft"})
    (True, False)
    """
    return isinstance(body, Mapping) and body.get("status") in SENDING_STATUSES


def _known_missing(body: Body, current: Body | None, key: str) -> bool:
    """Whether ``key`` will be empty after this change, as far as we can know.

    The body clearing it (``null``; PUT acts as PATCH) empties it whatever the
    message held; otherwise only a loaded, empty value on the message tells.
    """
    if key in body:
        return not _given(body, key)
    return current is not None and key in current and not _given(current, key)


def _check_status_value(body: Body, errors: Errors, allowed: frozenset[str], *, required: bool) -> None:
    if "status" not in body:
        if required:
            errors["status"] = "is required"
        return
    status = body["status"]
    if not isinstance(status, str) or status not in allowed:  # a list or object is no status
        errors["status"] = f"must be one of {', '.join(sorted(allowed))}; got {status!r}"


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
    if "send_in" in body:
        send_in = body["send_in"]
        if not isinstance(send_in, int) or isinstance(send_in, bool) or not 0 <= send_in < MAX_SEND_IN:
            errors["send_in"] = f"must be a whole number of seconds from 0 to {MAX_SEND_IN - 1}"
        elif status != "outbox":
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


def _check_email_lists(body: Body, errors: Errors) -> None:
    for key in ("to", "cc", "bcc"):
        value = body.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            errors[key] = "must be a list of addresses"
        elif len(value) > MAX_RECIPIENTS:
            errors[key] = f"must have at most {MAX_RECIPIENTS} addresses (got {len(value)})"
        elif not all(isinstance(a, str) and 0 < len(a) <= MAX_ADDRESS for a in value):
            errors[key] = f"addresses must be non-empty strings of at most {MAX_ADDRESS} characters"


def _attachment_problem(item: Any, required: tuple[str, ...], sms: bool) -> str | None:
    if not isinstance(item, Mapping):
        return "must be an object"
    missing = [key for key in required if item.get(key) in (None, "")]
    if missing:
        return f"missing {', '.join(missing)}"
    if not isinstance(item["url"], str):
        return "url must be a string"
    if sms:
        if item["content_type"] not in SMS_CONTENT_TYPES:
            return f"content_type {item['content_type']!r} is not one Close accepts for MMS"
    elif not item["url"].startswith(FILE_URL_PREFIX):
        return f"url must start with {FILE_URL_PREFIX} (upload the file with the Files API first)"
    elif not isinstance(item["size"], int) or isinstance(item["size"], bool) or item["size"] < 0:
        return "size must be a whole number of bytes"
    return None


def _check_attachments(body: Body, errors: Errors, *, sms: bool) -> None:
    value = body.get("attachments")
    if value is None:
        return
    limit = MAX_SMS_ATTACHMENTS if sms else MAX_EMAIL_ATTACHMENTS
    required = ("url", "filename", "content_type") if sms else ("url", "filename", "size")
    if not isinstance(value, list):
        errors["attachments"] = "must be a list"
    elif len(value) > limit:
        errors["attachments"] = f"must have at most {limit} items (got {len(value)})"
    else:
        for index, item in enumerate(value):
            problem = _attachment_problem(item, required, sms)
            if problem:
                errors["attachments"] = f"item {index}: {problem}"
                break


def _check_email_fields(body: Body, errors: Errors) -> None:
    _check_datetimes(body, errors, ("date_scheduled", "followup_date", "activity_at", "date_created"))
    _check_str(body, "subject", errors, MAX_SUBJECT)
    _check_str(body, "body_text", errors, MAX_BODY)
    _check_str(body, "body_html", errors, MAX_BODY)
    _check_str(body, "sender", errors, MAX_ADDRESS)
    _check_email_lists(body, errors)
    _check_attachments(body, errors, sms=False)
    delay = body.get("followup_sequence_delay")
    if delay is not None and (
        not isinstance(delay, int) or isinstance(delay, bool) or delay < MIN_FOLLOWUP_DELAY
    ):
        errors["followup_sequence_delay"] = f"must be at least {MIN_FOLLOWUP_DELAY} seconds (one day)"


def email_create_errors(body: Body) -> Errors:
    """Check a ``POST /activity/email/`` body."""
    errors: Errors = {}
    _unknown_keys(body, EMAIL_CREATE_FIELDS, errors)
    if not _given(body, "lead_id") or not isinstance(body.get("lead_id"), str):
        errors["lead_id"] = "is required"
    _check_status_value(body, errors, STATUSES, required=True)
    status = body.get("status")
    if status in ("inbox", "scheduled", "outbox", "error") and not _given(body, "sender"):
        errors["sender"] = f"is required when status is {status}"
    _check_send_fields(body, errors, status, None)
    _check_email_fields(body, errors)
    return errors


def _update_errors(
    body: Body,
    current: Body | None,
    *,
    allowed: frozenset[str],
    sends_from: str,
    check_fields: Callable[[Body, Errors], None],
) -> Errors:
    """The update rules Email and SMS share; ``sends_from`` is what sending needs set."""
    errors: Errors = {}
    _unknown_keys(body, allowed, errors)
    _check_status_value(body, errors, UPDATE_STATUSES, required=False)
    _check_transition(body, errors, current)
    status = body.get("status")
    if status in ("scheduled", "outbox") and _known_missing(body, current, sends_from):
        errors[sends_from] = f"is required to set status {status} (the message has no {sends_from})"
    _check_send_fields(body, errors, status, current)
    check_fields(body, errors)
    return errors


def email_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/email/{id}/`` body against the email's current state if known."""
    return _update_errors(
        body, current, allowed=EMAIL_UPDATE_FIELDS, sends_from="sender", check_fields=_check_email_fields
    )


def _check_sms_fields(body: Body, errors: Errors) -> None:
    _check_datetimes(body, errors, ("date_scheduled", "activity_at", "date_created"))
    for key in ("text", "local_phone", "remote_phone"):
        _check_str(body, key, errors)
    _check_attachments(body, errors, sms=True)
    for key, allowed in (
        ("direction", enum_values(PhoneDirection)),
        ("source", enum_values(PhoneSource)),
    ):
        value = body.get(key)
        if value is not None and (not isinstance(value, str) or value not in allowed):
            errors[key] = f"must be one of {', '.join(sorted(allowed))}; got {value!r}"


def sms_create_errors(body: Body, *, send_to_inbox: bool = False) -> Errors:
    """Check a ``POST /activity/sms/`` body (and its ``send_to_inbox`` query flag)."""
    errors: Errors = {}
    _unknown_keys(body, SMS_CREATE_FIELDS, errors)
    _check_status_value(body, errors, STATUSES, required=True)
    status = body.get("status")
    if status in ("scheduled", "outbox") and not _given(body, "local_phone"):
        errors["local_phone"] = f"is required when status is {status} (the number that sends it)"
    if send_to_inbox and status != "inbox":
        errors["send_to_inbox"] = "only applies when status is inbox"
    _check_send_fields(body, errors, status, None)
    _check_sms_fields(body, errors)
    return errors


def sms_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/sms/{id}/`` body against the SMS's current state if known."""
    return _update_errors(
        body, current, allowed=SMS_UPDATE_FIELDS, sends_from="local_phone", check_fields=_check_sms_fields
    )
