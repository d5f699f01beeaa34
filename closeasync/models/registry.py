"""The ``Activity`` union: every activity type, told apart by Close's ``_type``.

Only tables of model classes: the converter (:mod:`closeasync.models._converter`)
reads them to dispatch on ``_type``; nothing here converts anything.
"""

from __future__ import annotations

from typing import TypeAlias

from .activity import ActivityBase, UnknownActivity
from .call import Call
from .created import Created
from .custom import CustomActivity
from .email import Email
from .form_submission import FormSubmission
from .lead_merge import LeadMerge
from .meeting import Meeting
from .note import Note
from .sms import SMS
from .status_change import LeadStatusChange, OpportunityStatusChange
from .task_completed import TaskCompleted
from .thread import EmailThread
from .whatsapp import WhatsAppMessage

__all__ = [
    "ACTIVITY_BY_RESOURCE",
    "ACTIVITY_OBJECT_TYPES",
    "ACTIVITY_TYPES",
    "Activity",
    "activity_class",
]

#: Any activity Close can return from ``GET /activity/``.
Activity: TypeAlias = (
    Call
    | Created
    | CustomActivity
    | Email
    | EmailThread
    | FormSubmission
    | LeadMerge
    | LeadStatusChange
    | Meeting
    | Note
    | OpportunityStatusChange
    | SMS
    | TaskCompleted
    | WhatsAppMessage
    | UnknownActivity
)

#: ``_type`` value -> model class, for every type this version models.
ACTIVITY_TYPES: dict[str, type[ActivityBase]] = {
    cls.TYPE: cls
    for cls in (
        Call,
        Created,
        CustomActivity,
        Email,
        EmailThread,
        FormSubmission,
        LeadMerge,
        LeadStatusChange,
        Meeting,
        Note,
        OpportunityStatusChange,
        SMS,
        TaskCompleted,
        WhatsAppMessage,
    )
}

#: Resource name in the route table (``closeasync.pipeline.routes.ROUTES``) -> model class.
ACTIVITY_BY_RESOURCE: dict[str, type[ActivityBase]] = {
    "call": Call,
    "created": Created,
    "custom": CustomActivity,
    "email": Email,
    "emailthread": EmailThread,
    "form_submission": FormSubmission,
    "lead_merge": LeadMerge,
    "lead_status_change": LeadStatusChange,
    "meeting": Meeting,
    "note": Note,
    "opportunity_status_change": OpportunityStatusChange,
    "sms": SMS,
    "task_completed": TaskCompleted,
    "whatsapp_message": WhatsAppMessage,
}


def activity_class(type_name: str) -> type[ActivityBase] | None:
    """Return the model class for a ``_type`` value, or None if it is not modelled."""
    return ACTIVITY_TYPES.get(type_name)


#: The event log's ``object_type`` of each activity ``_type`` (``activity.`` and the type in
#: snake case, as Close's list of event types names them; ``CLOSE_API_NOTES.md`` section 8).
ACTIVITY_OBJECT_TYPES: dict[str, str] = {
    "Call": "activity.call",
    "Created": "activity.created",
    "CustomActivity": "activity.custom_activity",
    "Email": "activity.email",
    "EmailThread": "activity.email_thread",
    "FormSubmission": "activity.form_submission",
    "LeadMerge": "activity.lead_merge",
    "LeadStatusChange": "activity.lead_status_change",
    "Meeting": "activity.meeting",
    "Note": "activity.note",
    "OpportunityStatusChange": "activity.opportunity_status_change",
    "SMS": "activity.sms",
    "TaskCompleted": "activity.task_completed",
    "WhatsAppMessage": "activity.whatsapp_message",
}
