"""The Email activity: one email message, inbound or outbound, sent or not."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import Attachment, EmailEnvelope, EmailOpen, QuotedHtml, QuotedText
from .enums import EmailDirection, MessageStatus

__all__ = ["Email"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Email(ActivityBase):
    """An Email activity (Close's ``EmailActivity``).

    ``status`` follows Close's rules: only a ``draft`` can be edited; a draft goes to
    ``scheduled`` (with ``date_scheduled``) or ``outbox`` (sent at once, or after
    ``send_in`` seconds) and Close marks it ``sent``; a scheduled or outbox email
    that has not left can be cancelled back to ``draft``.

    >>> email = Email(id="acti_1", status="draft", subject="Hi")
    >>> email.status == MessageStatus.DRAFT
    True
    """

    TYPE: ClassVar[str] = "Email"

    status: MessageStatus | str = UNSET
    direction: EmailDirection | str | None = UNSET
    subject: str | None = UNSET
    body_text: str | None = UNSET
    body_html: str | None = UNSET
    body_preview: str | None = UNSET
    body_text_quoted: list[QuotedText] | None = UNSET
    body_html_quoted: QuotedHtml | list[QuotedHtml] | None = UNSET
    sender: str | None = UNSET
    to: list[str] = UNSET
    cc: list[str] = UNSET
    bcc: list[str] = UNSET
    envelope: EmailEnvelope | None = UNSET
    attachments: list[Attachment] | None = UNSET
    date_scheduled: datetime | None = UNSET
    date_sent: datetime | None = UNSET
    thread_id: str | None = UNSET
    in_reply_to_id: str | None = UNSET
    message_ids: list[str] = UNSET
    references: list[str] = UNSET
    has_reply: bool = UNSET
    opens: list[EmailOpen] | None = UNSET
    opens_summary: str | None = UNSET
    send_attempts: list[dict[str, Any]] | None = UNSET
    need_smtp_credentials: bool = UNSET
    send_as_id: str | None = UNSET
    email_account_id: str | None = UNSET
    template_id: str | None = UNSET
    template_name: str | None = UNSET
    bulk_email_action_id: str | None = UNSET
    followup_sequence_id: str | None = UNSET
    followup_sequence_delay: int | None = UNSET
    followup_sequence_add_cc_bcc: bool | None = UNSET
    sequence_id: str | None = UNSET
    sequence_name: str | None = UNSET
    sequence_subscription_id: str | None = UNSET
    agent_action_reason: str | None = UNSET
    agent_config_id: str | None = UNSET
    ai_draft: dict[str, Any] | None = UNSET
