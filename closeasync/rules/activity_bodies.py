"""Close's input rules for Note, Call and Meeting bodies, as pure functions over JSON.

As with :mod:`closeasync.rules.messages`, the SDK runs them before sending (bad input fails
with :class:`~closeasync.errors.InvalidRequestError` and nothing leaves) and the fake Close
runs the same functions to answer 400. Each returns ``{field: message}`` using Close's
field names (empty when valid).

Where each rule comes from (Close's OpenAPI, ``close-activities-*-api-openapi.yml``):

- ``CreateNoteActivity``/``UpdateNoteActivity``, ``CreateCallActivity``/``UpdateCallActivity``
  forbid keys they do not list (``additionalProperties: false``); calls also take custom
  fields as flat ``custom.<id>`` keys whose value is not an object (``patternProperties``).
- Types and nullability of each field, as those schemas give them: strings, ``pinned`` a
  boolean, ``duration`` an integer of at most 604,800, ``date-time`` values (sent with a
  UTC offset, as everywhere in the SDK), the call ``status``, ``direction`` and ``source``
  enums. A Note needs ``lead_id`` (the one required field of any of these bodies).
- Note attachments: at most 1000, each with ``url`` and ``filename`` (``content_type``
  optional); the url "must begin ``https://app.close.com/go/file/``" (the create's description).
- ``recording_url``: "we require the URL to be secure (i.e. starting with https://)" (the
  call create's description); ``recording_url`` and ``voicemail_url`` are ``format: uri``.
- "Some fields (``status``, ``duration``, ``direction``) cannot be updated for internal calls
  made through Close's VoIP system" (the call update's description): checked when the call is
  known, internal meaning ``source`` ``Close.io`` (Close's telephony handled it).
- Meetings: Close has no create, and its update has no published schema; its description
  names ``user_note_html`` and ``outcome_id``. Those two are what the SDK accepts and the fake
  serves (an inference: other keys are refused rather than guessed at).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..models.enums import CallStatus, PhoneDirection, PhoneSource
from ..params import (
    CallCreateFields,
    CallUpdateFields,
    MeetingUpdateFields,
    NoteCreateFields,
    NoteUpdateFields,
    enum_values,
    field_names,
)
from ._fields import (
    Body,
    Check,
    Errors,
    boolean,
    check_values,
    datetime_problem,
    file_url,
    given,
    integer,
    list_of,
    object_with,
    one_of,
    string,
    url,
)

__all__ = [
    "CALL_CREATE_FIELDS",
    "CALL_UPDATE_FIELDS",
    "CUSTOM_PREFIX",
    "FIELD_CHECKS",
    "MAX_CALL_DURATION",
    "MAX_NOTE_ATTACHMENTS",
    "MEETING_UPDATE_FIELDS",
    "NOTE_CREATE_FIELDS",
    "NOTE_UPDATE_FIELDS",
    "call_create_errors",
    "call_update_errors",
    "meeting_update_errors",
    "note_create_errors",
    "note_update_errors",
]

NOTE_CREATE_FIELDS = field_names(NoteCreateFields) | {"lead_id"}
NOTE_UPDATE_FIELDS = field_names(NoteUpdateFields)
CALL_CREATE_FIELDS = field_names(CallCreateFields)
CALL_UPDATE_FIELDS = field_names(CallUpdateFields)
MEETING_UPDATE_FIELDS = field_names(MeetingUpdateFields)

MAX_NOTE_ATTACHMENTS = 1000
MAX_CALL_DURATION = 604_800  # seconds: a week
#: Custom fields of a call are sent as flat keys: ``custom.cf_...``.
CUSTOM_PREFIX = "custom."
#: The ``source`` of a call made through Close's own VoIP.
INTERNAL_SOURCE = "Close.io"


_STRING = string()
_ATTACHMENT = object_with(
    {"url": file_url, "filename": _STRING, "content_type": _STRING}, required=("url", "filename")
)

#: How each field of these bodies is checked when it holds a value (null is always allowed,
#: except for a Note's ``lead_id``). Every name the bodies accept has an entry.
FIELD_CHECKS: dict[str, Check] = {
    **dict.fromkeys(
        (
            "lead_id",
            "contact_id",
            "user_id",
            "created_by",
            "organization_id",
            "note",
            "note_html",
            "title",
            "phone",
            "outcome_id",
            "conversation_type_id",
            "playbook_id",
            "quality_info",
            "user_note_html",
        ),
        _STRING,
    ),
    "activity_at": datetime_problem,
    "date_created": datetime_problem,
    "pinned": boolean,
    "attachments": list_of(_ATTACHMENT, max_items=MAX_NOTE_ATTACHMENTS),
    "duration": integer(maximum=MAX_CALL_DURATION, what="a whole number of seconds"),
    "status": one_of(enum_values(CallStatus)),
    "direction": one_of(enum_values(PhoneDirection)),
    "source": one_of(enum_values(PhoneSource)),
    "recording_url": url(secure=True),
    "voicemail_url": url(secure=False),
}


def _is_custom(key: Any) -> bool:
    return isinstance(key, str) and key.startswith(CUSTOM_PREFIX) and len(key) > len(CUSTOM_PREFIX)


def _check_body(body: Body, allowed: frozenset[str], *, custom: bool = False) -> Errors:
    """Unknown keys and every value's kind; ``custom``: ``custom.<id>`` keys are allowed."""
    errors: Errors = {}
    for key, value in body.items():
        if custom and _is_custom(key):
            if isinstance(value, Mapping):
                errors[key] = "a custom field's value cannot be an object"
        elif key not in allowed:
            errors[key] = "is not a field Close accepts here"
    check_values(body, FIELD_CHECKS, errors)
    return errors


def note_create_errors(body: Body) -> Errors:
    """Check a ``POST /activity/note/`` body."""
    errors = _check_body(body, NOTE_CREATE_FIELDS)
    if not given(body, "lead_id") and "lead_id" not in errors:
        errors["lead_id"] = "is required"
    return errors


def note_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/note/{id}/`` body (a note's state never forbids a change)."""
    return _check_body(body, NOTE_UPDATE_FIELDS)


def call_create_errors(body: Body) -> Errors:
    """Check a ``POST /activity/call/`` body (logging a call made outside Close)."""
    return _check_body(body, CALL_CREATE_FIELDS, custom=True)


def call_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/call/{id}/`` body, against the call's ``source`` if known."""
    errors = _check_body(body, CALL_UPDATE_FIELDS, custom=True)
    if current is not None and current.get("source") == INTERNAL_SOURCE:
        for key in ("status", "duration"):
            if key in body and key not in errors:
                errors[key] = "cannot be changed on a call made through Close's VoIP (source Close.io)"
    return errors


def meeting_update_errors(body: Body, current: Body | None = None) -> Errors:
    """Check a ``PUT /activity/meeting/{id}/`` body."""
    return _check_body(body, MEETING_UPDATE_FIELDS)
