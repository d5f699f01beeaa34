"""The keyword arguments of list, create and update methods, as typed dictionaries.

They give editors and type checkers the exact names Close accepts, and the SDK
refuses any other name at run time (a misspelt filter would otherwise be dropped
silently and list everything). Field limits are those of Close's OpenAPI.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeAlias, TypedDict

from .models.common import Attachment
from .models.enums import CallStatus, MessageStatus, PhoneDirection, PhoneSource

__all__ = [
    "ActivityFilters",
    "CallCreateFields",
    "CallUpdateFields",
    "EmailCreateFields",
    "EmailUpdateFields",
    "MeetingUpdateFields",
    "NoteCreateFields",
    "NoteUpdateFields",
    "SMSCreateFields",
    "SMSUpdateFields",
]

Ids: TypeAlias = str | Sequence[str]
When: TypeAlias = date | datetime
AttachmentInput: TypeAlias = Attachment | Mapping[str, Any]


class ActivityFilters(TypedDict, total=False):
    """Filters every activity list endpoint takes (Close's ``ActivityFilters``).

    Id filters take one id or a list (sent comma-joined). Date filters take a
    ``date`` or a ``datetime``; Close reads a naive datetime in the client's
    ``tz_offset`` (UTC by default) and an aware one as given.
    """

    lead_id: Ids
    contact_id: Ids
    user_id: Ids
    organization_id: str
    id__in: Ids
    date_created__gt: When
    date_created__gte: When
    date_created__lt: When
    date_created__lte: When
    activity_at__gt: When
    activity_at__gte: When
    activity_at__lt: When
    activity_at__lte: When


class _EmailFields(TypedDict, total=False):
    """Fields an Email create or update may set (``None`` clears a field).

    ``subject`` at most 1000 characters; ``body_text``/``body_html`` at most 1,048,576;
    ``to``/``cc``/``bcc`` at most 500 addresses; ``followup_sequence_delay`` at least
    86400 seconds; attachment URLs come from Close's Files API
    (``https://app.close.com/go/file/...``). ``date_scheduled`` must be timezone-aware.
    """

    subject: str | None
    body_text: str | None
    body_html: str | None
    sender: str | None
    to: Sequence[str] | None
    cc: Sequence[str] | None
    bcc: Sequence[str] | None
    attachments: Sequence[AttachmentInput] | None
    contact_id: str | None
    user_id: str | None
    template_id: str | None
    in_reply_to_id: str | None
    email_account_id: str | None
    followup_date: datetime | None
    followup_sequence_id: str | None
    followup_sequence_delay: int | None
    followup_sequence_add_cc_bcc: bool | None
    opens: Sequence[Mapping[str, Any]] | None
    activity_at: datetime | None
    date_scheduled: datetime | None
    send_in: int


class EmailUpdateFields(_EmailFields, total=False):
    """Fields an Email update may set; see :class:`_EmailFields` for the limits."""

    status: MessageStatus | str


class EmailCreateFields(_EmailFields, total=False):
    """Fields an Email create may set besides ``lead_id`` and ``status``."""

    organization_id: str | None
    created_by: str | None
    date_created: datetime | None


class _SMSFields(TypedDict, total=False):
    """Fields an SMS create or update may set (``None`` clears a field).

    At most 10 attachments, each with a ``content_type`` Close accepts for MMS.
    """

    text: str | None
    local_phone: str | None
    remote_phone: str | None
    lead_id: str | None
    contact_id: str | None
    user_id: str | None
    template_id: str | None
    attachments: Sequence[AttachmentInput] | None
    activity_at: datetime | None
    date_scheduled: datetime | None
    send_in: int


class SMSUpdateFields(_SMSFields, total=False):
    """Fields an SMS update may set."""

    status: MessageStatus | str


class SMSCreateFields(_SMSFields, total=False):
    """Fields an SMS create may set besides ``status``."""

    organization_id: str | None
    created_by: str | None
    date_created: datetime | None
    direction: PhoneDirection | str | None
    source: PhoneSource | str | None


class NoteUpdateFields(TypedDict, total=False):
    """Fields a Note create or update may set (Close's ``UpdateNoteActivity``; ``None`` clears one).

    ``note_html`` (rich text, ``<body>...</body>``) and ``note`` (plain text): setting one
    overwrites the other, and ``note_html`` wins if both are given. At most 1000
    attachments, each with ``url`` (from Close's Files API,
    ``https://app.close.com/go/file/...``) and ``filename``, and maybe ``content_type``.
    ``pinned`` pins or unpins the note. Datetimes must be timezone-aware.
    """

    note: str | None
    note_html: str | None
    title: str | None
    pinned: bool | None
    attachments: Sequence[AttachmentInput] | None
    contact_id: str | None
    activity_at: datetime | None


class NoteCreateFields(NoteUpdateFields, total=False):
    """Fields a Note create may set besides ``lead_id`` (Close's ``CreateNoteActivity``)."""

    user_id: str | None
    created_by: str | None
    organization_id: str | None
    date_created: datetime | None


class CallUpdateFields(TypedDict, total=False):
    """Fields a Call update may set (Close's ``UpdateCallActivity``; ``None`` clears one).

    ``duration`` is seconds, at most 604,800 (a week); ``recording_url`` must be
    ``https://``; ``phone`` is E.164 (``+16505551234``). ``note_html`` and ``note``
    overwrite each other as on a Note. Close refuses changes to ``status`` and
    ``duration`` of a call made through its own VoIP (``source="Close.io"``), and
    clearing or changing its ``recording_url``/``voicemail_url`` deletes the recording.
    """

    lead_id: str | None
    contact_id: str | None
    user_id: str | None
    status: CallStatus | str | None
    duration: int | None
    phone: str | None
    note: str | None
    note_html: str | None
    outcome_id: str | None
    recording_url: str | None
    voicemail_url: str | None
    conversation_type_id: str | None
    playbook_id: str | None
    quality_info: str | None
    activity_at: datetime | None


class CallCreateFields(CallUpdateFields, total=False):
    """Fields a Call create (logging a call made outside Close) may set (``CreateCallActivity``).

    ``status`` defaults to ``completed``; ``direction`` is ``inbound`` or ``outbound``.
    """

    direction: PhoneDirection | str | None
    source: PhoneSource | str | None
    created_by: str | None
    organization_id: str | None
    date_created: datetime | None


class MeetingUpdateFields(TypedDict, total=False):
    """Fields a Meeting update may set: the two Close documents (it publishes no schema).

    Meetings come from calendars; Close has no create, and documents its update as
    "most commonly" setting ``user_note_html`` (rich text) or ``outcome_id``.
    """

    user_note_html: str | None
    outcome_id: str | None


def field_names(*typed: type[Any]) -> frozenset[str]:
    """The keys of one or more TypedDicts (their bases' keys included)."""
    names: set[str] = set()
    for cls in typed:
        for base in reversed(cls.__mro__):
            names.update(getattr(base, "__annotations__", {}))
    return frozenset(names)


def enum_values(enum_cls: type[enum.Enum]) -> frozenset[str]:
    """The wire values of an enum."""
    return frozenset(str(member.value) for member in enum_cls)
