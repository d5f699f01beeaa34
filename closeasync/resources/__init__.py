"""The API resources a client exposes: ``close.emails``, ``close.sms``, ``close.activities``."""

from __future__ import annotations

from .activities import ActivitiesResource
from .emails import EmailsResource
from .sms import SMSResource

__all__ = ["ActivitiesResource", "EmailsResource", "SMSResource"]
