"""The resources a client exposes: ``close.emails``, ``close.sms``, ``close.activities``, ``close.events``."""

from __future__ import annotations

from .activities import ActivitiesResource
from .emails import EmailsResource
from .events import EventsResource
from .sms import SMSResource

__all__ = ["ActivitiesResource", "EmailsResource", "EventsResource", "SMSResource"]
