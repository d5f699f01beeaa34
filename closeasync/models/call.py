"""The Call activity: a phone call placed or received through Close, or logged."""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .enums import CallDisposition, CallMethod, CallStatus, PhoneDirection, PhoneSource

__all__ = ["Call"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Call(ActivityBase):
    """A Call activity (Close's ``CallActivity``).

    Close's ``CallActivity`` schema lists only the common fields, ``status``,
    ``source``, ``outcome_id`` and the sequence ids; every other field here is
    typed from Close's examples and its Calls page, so their nullability is a
    reading of those. ``cost`` is in US cents, sent as a decimal string.
    ``duration`` and ``voicemail_duration`` are seconds. The transcripts are only
    sent when asked for with ``fields=``.
    """

    TYPE: ClassVar[str] = "Call"

    status: CallStatus | str = UNSET
    source: PhoneSource | str = UNSET
    direction: PhoneDirection | str = UNSET
    call_method: CallMethod | str = UNSET
    disposition: CallDisposition | str | None = UNSET
    duration: int = UNSET
    phone: str | None = UNSET
    local_phone: str | None = UNSET
    local_phone_formatted: str | None = UNSET
    local_country_iso: str | None = UNSET
    remote_phone: str | None = UNSET
    remote_phone_formatted: str | None = UNSET
    remote_country_iso: str | None = UNSET
    note: str | None = UNSET
    note_html: str | None = UNSET
    cost: str | None = UNSET
    outcome_id: str | None = UNSET
    recording_url: str | None = UNSET
    voicemail_url: str | None = UNSET
    voicemail_duration: int | None = UNSET
    recording_transcript: dict[str, Any] | None = UNSET
    voicemail_transcript: dict[str, Any] | None = UNSET
    dialer_id: str | None = UNSET
    dialer_saved_search_id: str | None = UNSET
    sequence_id: str | None = UNSET
    sequence_name: str | None = UNSET
    sequence_subscription_id: str | None = UNSET
