"""Typed attrs models of Close's activities."""

from __future__ import annotations

from ._base import UNSET, FieldNotLoaded, Model, evolve, is_loaded, loaded_fields
from ._json import extra_fields, to_dict, to_json
from .activity import ActivityBase, UnknownActivity
from .call import Call
from .common import (
    Attachment,
    CommentSummary,
    EmailEnvelope,
    EmailIdentity,
    EmailOpen,
    PausedSubscription,
    QuotedHtml,
    QuotedText,
)
from .created import Created
from .custom import CustomActivity
from .email import Email
from .enums import (
    CallDisposition,
    CallMethod,
    CallStatus,
    ConferenceLinkType,
    CreationSource,
    CustomActivityStatus,
    EmailDirection,
    EmailThreadImportanceReason,
    EmailThreadImportanceType,
    LeadMergeStatus,
    MeetingSource,
    MeetingStatus,
    MessageStatus,
    OpportunityStatusType,
    OpportunityValuePeriod,
    OutcomeAutofillConfidence,
    OutcomeReason,
    PhoneDirection,
    PhoneSource,
    PlaybookReason,
    ProviderCalendarType,
    SpeakerSide,
    SummaryFeedbackRating,
    SummaryStatus,
)
from .event import Event
from .form_submission import FormSubmission
from .lead_merge import LeadMerge
from .meeting import (
    Meeting,
    MeetingAttendee,
    MeetingConferenceLink,
    MeetingIntegration,
    MeetingIntegrationClient,
    MeetingSummary,
    MeetingTranscript,
    MeetingTranscriptSpeaker,
    MeetingTranscriptUtterance,
    MeetingTranscriptWord,
)
from .note import Note
from .registry import ACTIVITY_TYPES, Activity, activity_class
from .sms import SMS
from .status_change import LeadStatusChange, OpportunityStatusChange
from .task_completed import TaskCompleted
from .thread import (
    EmailPreview,
    EmailThread,
    EmailThreadImportance,
    EmailThreadSummary,
    EmailThreadSummaryFeedback,
)
from .whatsapp import WhatsAppMessage

__all__ = [
    "ACTIVITY_TYPES",
    "SMS",
    "UNSET",
    "Activity",
    "ActivityBase",
    "Attachment",
    "Call",
    "CallDisposition",
    "CallMethod",
    "CallStatus",
    "CommentSummary",
    "ConferenceLinkType",
    "Created",
    "CreationSource",
    "CustomActivity",
    "CustomActivityStatus",
    "Email",
    "EmailDirection",
    "EmailEnvelope",
    "EmailIdentity",
    "EmailOpen",
    "EmailPreview",
    "EmailThread",
    "EmailThreadImportance",
    "EmailThreadImportanceReason",
    "EmailThreadImportanceType",
    "EmailThreadSummary",
    "EmailThreadSummaryFeedback",
    "Event",
    "FieldNotLoaded",
    "FormSubmission",
    "LeadMerge",
    "LeadMergeStatus",
    "LeadStatusChange",
    "Meeting",
    "MeetingAttendee",
    "MeetingConferenceLink",
    "MeetingIntegration",
    "MeetingIntegrationClient",
    "MeetingSource",
    "MeetingStatus",
    "MeetingSummary",
    "MeetingTranscript",
    "MeetingTranscriptSpeaker",
    "MeetingTranscriptUtterance",
    "MeetingTranscriptWord",
    "MessageStatus",
    "Model",
    "Note",
    "OpportunityStatusChange",
    "OpportunityStatusType",
    "OpportunityValuePeriod",
    "OutcomeAutofillConfidence",
    "OutcomeReason",
    "PausedSubscription",
    "PhoneDirection",
    "PhoneSource",
    "PlaybookReason",
    "ProviderCalendarType",
    "QuotedHtml",
    "QuotedText",
    "SpeakerSide",
    "SummaryFeedbackRating",
    "SummaryStatus",
    "TaskCompleted",
    "UnknownActivity",
    "WhatsAppMessage",
    "activity_class",
    "evolve",
    "extra_fields",
    "is_loaded",
    "loaded_fields",
    "to_dict",
    "to_json",
]

# The converter gives every model its lazy-field descriptors when it is built, so a model
# made by hand converts its JSON even in a program that imported only closeasync.models
# (``import closeasync`` no longer imports the client, which used to build it first).
from . import _converter as _converter
