"""The WhatsAppMessage activity: a WhatsApp message logged by an integration."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import Attachment
from .enums import CreationSource, EmailDirection

__all__ = ["WhatsAppMessage"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class WhatsAppMessage(ActivityBase):
    """A WhatsAppMessage activity (Close's ``WhatsAppMessageActivity``).

    Close does not send WhatsApp messages: integrations log them. The body is
    written as WhatsApp Markdown (``message_markdown``); ``message_html`` and
    ``text`` are Close's renderings. ``direction`` uses the Email words
    (``incoming``/``outgoing``). ``response_to_id`` is the Close id of the message
    this one replies to, ``external_whatsapp_message_id`` the id inside WhatsApp.
    """

    TYPE: ClassVar[str] = "WhatsAppMessage"

    direction: EmailDirection | str = UNSET
    source: CreationSource | str = UNSET
    external_whatsapp_message_id: str = UNSET
    message_markdown: str = UNSET
    message_html: str = UNSET
    text: str = UNSET
    attachments: list[Attachment] = UNSET
    local_phone: str = UNSET
    local_phone_formatted: str = UNSET
    remote_phone: str = UNSET
    remote_phone_formatted: str = UNSET
    response_to_id: str | None = UNSET
    integration_link: str | None = UNSET
    integration_name: str | None = UNSET
    sequence_id: str | None = UNSET
    sequence_name: str | None = UNSET
    sequence_subscription_id: str | None = UNSET
