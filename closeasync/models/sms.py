"""The SMS activity: a text message (an MMS is an SMS with attachments)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import Attachment
from .enums import MessageStatus, PhoneDirection, PhoneSource

__all__ = ["SMS"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class SMS(ActivityBase):
    """An SMS activity (Close's ``SMSActivity``); the status rules are the Email ones.

    ``direction`` is ``inbound``/``outbound`` (not the Email words) and ``cost`` is a
    string, as Close sends it.
    """

    TYPE: ClassVar[str] = "SMS"

    status: MessageStatus | str = UNSET
    direction: PhoneDirection | str = UNSET
    source: PhoneSource | str = UNSET
    text: str | None = UNSET
    local_phone: str | None = UNSET
    local_phone_formatted: str | None = UNSET
    local_country_iso: str | None = UNSET
    remote_phone: str | None = UNSET
    remote_phone_formatted: str | None = UNSET
    remote_country_iso: str | None = UNSET
    attachments: list[Attachment] = UNSET
    date_scheduled: datetime | None = UNSET
    date_sent: datetime | None = UNSET
    template_id: str | None = UNSET
    cost: str | None = UNSET
    error_message: str | None = UNSET
    sequence_id: str | None = UNSET
    sequence_name: str | None = UNSET
    sequence_subscription_id: str | None = UNSET
    agent_action_reason: str | None = UNSET
    agent_config_id: str | None = UNSET
