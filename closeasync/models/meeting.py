"""The Meeting activity: a calendar event or a manually logged meeting, and its parts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from ._base import UNSET, Model
from .activity import ActivityBase
from .common import CommentSummary, PausedSubscription
from .enums import (
    ConferenceLinkType,
    MeetingSource,
    MeetingStatus,
    OutcomeAutofillConfidence,
    OutcomeReason,
    PlaybookReason,
    ProviderCalendarType,
    SpeakerSide,
)

__all__ = [
    "Meeting",
    "MeetingAttendee",
    "MeetingConferenceLink",
    "MeetingIntegration",
    "MeetingIntegrationClient",
    "MeetingSummary",
    "MeetingTranscript",
    "MeetingTranscriptSpeaker",
    "MeetingTranscriptUtterance",
    "MeetingTranscriptWord",
]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingAttendee(Model):
    """One invitee of a Meeting; ``status`` is the calendar's answer (``yes``, ``noreply``...)."""

    email: str | None = UNSET
    name: str | None = UNSET
    contact_id: str | None = UNSET
    user_id: str | None = UNSET
    is_organizer: bool | None = UNSET
    status: str | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingConferenceLink(Model):
    """A video-call link found on a Meeting."""

    type: ConferenceLinkType | str = UNSET
    url: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingSummary(Model):
    """The AI summary of a Meeting, as HTML and as plain text."""

    html: str = UNSET
    text: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingTranscriptWord(Model):
    """One word of an utterance, with its offsets in seconds when known."""

    text: str = UNSET
    start: float | None = UNSET
    end: float | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingTranscriptUtterance(Model):
    """One stretch of speech by one speaker; ``start`` and ``end`` are seconds."""

    speaker_label: str = UNSET
    speaker_side: SpeakerSide | str | None = UNSET
    start: float = UNSET
    end: float = UNSET
    text: str = UNSET
    words: list[MeetingTranscriptWord] = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingTranscriptSpeaker(Model):
    """How long one speaker talked (``talk_time`` in seconds)."""

    speaker_label: str = UNSET
    speaker_side: SpeakerSide | str | None = UNSET
    talk_time: float = UNSET
    talk_percentage: float = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingTranscript(Model):
    """A transcript of a recorded Meeting, with its speakers and AI summary."""

    id: str = UNSET
    has_speaker_labels: bool = UNSET
    speakers: list[MeetingTranscriptSpeaker] = UNSET
    utterances: list[MeetingTranscriptUtterance] = UNSET
    summary_text: str | None = UNSET
    summary_html: str | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Meeting(ActivityBase):
    """A Meeting activity (Close's ``MeetingActivity``).

    Meetings come from a connected calendar (``source="calendar"``) or are logged
    by hand. ``duration`` is the scheduled length and ``actual_duration`` the
    recorded one, both in seconds. ``integrations`` holds what third-party apps
    attached, as free-form objects (Close gives them no schema); ``transcripts``
    is only sent when asked for with ``fields=``.
    """

    TYPE: ClassVar[str] = "Meeting"

    title: str = UNSET
    status: MeetingStatus | str | None = UNSET
    source: MeetingSource | str = UNSET
    starts_at: datetime = UNSET
    ends_at: datetime = UNSET
    duration: int = UNSET
    actual_duration: int | None = UNSET
    location: str = UNSET
    note: str = UNSET
    is_recurring: bool = UNSET
    attendees: list[MeetingAttendee] = UNSET
    conference_links: list[MeetingConferenceLink] = UNSET
    attached_call_ids: list[str] = UNSET
    calendar_event_link: str | None = UNSET
    calendar_event_uids: list[str] = UNSET
    connected_account_id: str | None = UNSET
    provider_calendar_event_id: str | None = UNSET
    provider_calendar_ids: list[str] = UNSET
    provider_calendar_type: ProviderCalendarType | str | None = UNSET
    notetaker_id: str | None = UNSET
    user_note: str | None = UNSET
    user_note_html: str | None = UNSET
    user_note_mentions: list[str] = UNSET
    user_note_date_updated: datetime | None = UNSET
    outcome_id: str | None = UNSET
    outcome_reason: OutcomeReason | str | None = UNSET
    outcome_autofill_confidence: OutcomeAutofillConfidence | str | None = UNSET
    outcome_autofill_reasoning: str | None = UNSET
    playbook_id: str | None = UNSET
    playbook_reason: PlaybookReason | str | None = UNSET
    conversation_type_id: str | None = UNSET
    conversation_type_reason: PlaybookReason | str | None = UNSET
    summary: MeetingSummary | None = UNSET
    transcripts: list[MeetingTranscript | None] = UNSET
    integrations: list[dict[str, Any]] = UNSET
    comment_summary: CommentSummary | None = UNSET
    paused_subscriptions: list[PausedSubscription] = attrs.field(
        default=UNSET, metadata={"wire": "_paused_subscriptions"}
    )


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingIntegrationClient(Model):
    """The OAuth app that attached a :class:`MeetingIntegration`."""

    id: str = UNSET
    name: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class MeetingIntegration(Model):
    """Data a third-party app attached to a Meeting (``POST /activity/meeting/{id}/integration/``).

    Close has no schema for it; the fields follow its example. ``integration_data``
    is the app's own payload (for instance ``note_html``).
    """

    id: str = UNSET
    integration_name: str = UNSET
    integration_data: dict[str, Any] = UNSET
    oauth_client: MeetingIntegrationClient | None = UNSET
