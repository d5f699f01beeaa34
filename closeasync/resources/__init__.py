"""The resources a client exposes: ``close.emails``, ``close.sms``, ``close.notes``, ``close.calls``,
``close.meetings``, ``close.email_threads``, ``close.activities``, ``close.events``."""

from __future__ import annotations

from .activities import ActivitiesResource
from .calls import CallsResource
from .email_threads import EmailThreadsResource
from .emails import EmailsResource
from .events import EventsResource
from .meetings import MeetingsResource
from .notes import NotesResource
from .sms import SMSResource

__all__ = [
    "ActivitiesResource",
    "CallsResource",
    "EmailThreadsResource",
    "EmailsResource",
    "EventsResource",
    "MeetingsResource",
    "NotesResource",
    "SMSResource",
]
