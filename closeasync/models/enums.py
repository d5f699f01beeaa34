"""Enumerations of Close's documented values.

Each is a :class:`enum.StrEnum`, so members compare equal to the plain strings
Close sends (``MessageStatus.SENT == "sent"``) and can be passed anywhere a
string is accepted. Model fields that hold them are typed ``Enum | str``: a value
Close adds later arrives as the plain string instead of breaking a listing.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = [
    "CallDisposition",
    "CallMethod",
    "CallStatus",
    "ConferenceLinkType",
    "CreationSource",
    "CustomActivityStatus",
    "EmailDirection",
    "EmailThreadImportanceReason",
    "EmailThreadImportanceType",
    "LeadMergeStatus",
    "MeetingSource",
    "MeetingStatus",
    "MessageStatus",
    "OpportunityStatusType",
    "OpportunityValuePeriod",
    "OutcomeAutofillConfidence",
    "OutcomeReason",
    "PhoneDirection",
    "PhoneSource",
    "PlaybookReason",
    "ProviderCalendarType",
    "SpeakerSide",
    "SummaryFeedbackRating",
    "SummaryStatus",
]


class MessageStatus(StrEnum):
    """Status of an Email or SMS (Close's ``MessageStatus``)."""

    INBOX = "inbox"
    DRAFT = "draft"
    SCHEDULED = "scheduled"
    OUTBOX = "outbox"
    SENT = "sent"
    ERROR = "error"


class EmailDirection(StrEnum):
    """Direction of an Email (Close's ``CommunicationDirection``)."""

    INCOMING = "incoming"
    OUTGOING = "outgoing"


class PhoneDirection(StrEnum):
    """Direction of an SMS or Call (note: not the Email words)."""

    INBOUND = "inbound"
    OUTBOUND = "outbound"


class PhoneSource(StrEnum):
    """Whether Close's telephony handled an SMS or Call, or it was only logged."""

    CLOSE = "Close.io"
    EXTERNAL = "External"


class CallStatus(StrEnum):
    """Status of a Call."""

    CREATED = "created"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCEL = "cancel"
    NO_ANSWER = "no-answer"
    BUSY = "busy"
    FAILED = "failed"
    TIMEOUT = "timeout"


class CallMethod(StrEnum):
    """How a Call was placed (from Close's Calls page; ``external`` from its examples)."""

    REGULAR = "regular"
    POWER = "power"
    PREDICTIVE = "predictive"
    # Not in the documented list, but Close's own example of a logged call carries it.
    EXTERNAL = "external"


class CallDisposition(StrEnum):
    """How a Call ended (from Close's Calls page)."""

    ANSWERED = "answered"
    NO_ANSWER = "no-answer"
    VM_ANSWER = "vm-answer"
    VM_LEFT = "vm-left"
    BUSY = "busy"
    BLOCKED = "blocked"
    ERROR = "error"
    ABANDONED = "abandoned"


class CreationSource(StrEnum):
    """How an object was created (Close's ``CreationSource``)."""

    UI = "ui"
    API = "api"
    IMPORT = "import"
    CLIPPER = "clipper"
    EMAIL = "email"
    SUGGESTION = "suggestion"
    SEGMENT_INTEGRATION = "segment-integration"
    CUSTOMERIO_INTEGRATION = "customerio-integration"
    CALENDLY_INTEGRATION = "calendly-integration"
    AI = "ai"
    WHATSAPP = "whatsapp"
    WEBFORM = "webform"


class MeetingStatus(StrEnum):
    """Status of a Meeting."""

    UPCOMING = "upcoming"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    CANCELED = "canceled"
    DECLINED_BY_ORG = "declined-by-org"
    DECLINED_BY_LEAD = "declined-by-lead"


class MeetingSource(StrEnum):
    """Where a Meeting came from."""

    CALENDAR = "calendar"
    MANUAL = "manual"


class ConferenceLinkType(StrEnum):
    """Kind of a Meeting's conference link."""

    ZOOM = "ZOOM"
    GOOGLE_MEET = "GOOGLE_MEET"
    GOOGLE_HANGOUTS = "GOOGLE_HANGOUTS"
    MICROSOFT_TEAMS = "MICROSOFT_TEAMS"
    SKYPE = "SKYPE"
    WEBEX = "WEBEX"
    GO_TO_MEETING = "GO_TO_MEETING"


class ProviderCalendarType(StrEnum):
    """Calendar provider of a Meeting."""

    GOOGLE = "google"
    MICROSOFT = "microsoft"


class PlaybookReason(StrEnum):
    """Why a playbook or conversation type was attached."""

    USER_SELECTED = "user-selected"
    AUTODETECTED = "autodetected"


class OutcomeReason(StrEnum):
    """Why an outcome was set."""

    AUTOFILLED = "autofilled"
    USER_SELECTED = "user-selected"
    VOICEMAIL_DROPPED = "voicemail-dropped"


class OutcomeAutofillConfidence(StrEnum):
    """Confidence of an autofilled outcome."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class SpeakerSide(StrEnum):
    """Who spoke in a transcript."""

    CONTACT = "contact"
    CLOSE_USER = "close-user"
    VOICE_AGENT = "voice-agent"


class SummaryStatus(StrEnum):
    """State of an AI summary."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILURE = "failure"
    EXPIRED = "expired"


class SummaryFeedbackRating(StrEnum):
    """A user's rating of an AI summary."""

    POSITIVE = "positive"
    NEGATIVE = "negative"


class CustomActivityStatus(StrEnum):
    """Status of a Custom Activity."""

    DRAFT = "draft"
    PUBLISHED = "published"


class EmailThreadImportanceType(StrEnum):
    """Whether Close counts an EmailThread as important."""

    IMPORTANT = "important"
    NOT_IMPORTANT = "not_important"


class EmailThreadImportanceReason(StrEnum):
    """Why an EmailThread is (not) important.

    One enum for Close's ``ImportantThreadReason`` and ``NotImportantThreadReason``:
    ``manual`` and ``by-default`` appear in both; ``contains-manual-message``,
    ``most-recent-communication``, ``has-response``, ``whitelisted`` and
    ``unset-initial-default`` only for important threads; ``scheduling-emails``,
    ``automated-outbound`` and ``marketing-or-transactional`` only for the others.
    """

    MANUAL = "manual"
    BY_DEFAULT = "by-default"
    CONTAINS_MANUAL_MESSAGE = "contains-manual-message"
    MOST_RECENT_COMMUNICATION = "most-recent-communication"
    HAS_RESPONSE = "has-response"
    WHITELISTED = "whitelisted"
    UNSET_INITIAL_DEFAULT = "unset-initial-default"
    SCHEDULING_EMAILS = "scheduling-emails"
    AUTOMATED_OUTBOUND = "automated-outbound"
    MARKETING_OR_TRANSACTIONAL = "marketing-or-transactional"


class OpportunityStatusType(StrEnum):
    """Kind of an opportunity status."""

    ACTIVE = "active"
    WON = "won"
    LOST = "lost"


class OpportunityValuePeriod(StrEnum):
    """How often an opportunity's value recurs."""

    ONE_TIME = "one_time"
    MONTHLY = "monthly"
    ANNUAL = "annual"


class LeadMergeStatus(StrEnum):
    """Progress of a lead merge."""

    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    ERRORED = "errored"
