"""Typed attrs models of Close's activities.

One model class a module (``email``, ``call``...; shared pieces in ``common``, enums
in ``enums``), the :data:`Activity` union in ``registry``, and the machinery that turns
Close's JSON into models and back, each module importing only those below it:

- ``_base``: :class:`Model`, what every model keeps (the JSON as sent, its origin,
  what :func:`evolve` changed) and the errors reading a field raises
  (:class:`FieldNotLoaded`; ``field_error`` makes the ``FieldValueError``);
- ``_values``: one JSON value to one attribute value and back (timestamps, enums,
  nested models), for the views and the converter alike;
- ``_views``: a model as a view over its JSON object, its converting fields lazy;
- ``_converter``: the one cattrs converter, which structures every model class with
  its view (or all at once, for the strict converter) and unstructures them back;
- ``_json``: :func:`to_dict`, :func:`to_json`, :func:`extra_fields`.

Importing this package builds the converter (``_json`` needs it), which gives every
model class its lazy fields: a model made by hand converts the JSON it is given.
"""

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
from .registry import ACTIVITY_OBJECT_TYPES, ACTIVITY_TYPES, Activity, activity_class
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
    "ACTIVITY_OBJECT_TYPES",
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
