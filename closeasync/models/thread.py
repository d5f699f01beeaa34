"""The EmailThread activity: a conversation of Emails, with previews, importance and summary."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from ._base import UNSET, Model
from .activity import ActivityBase
from .common import CommentSummary, EmailEnvelope, EmailIdentity
from .email import Email
from .enums import (
    EmailDirection,
    EmailThreadImportanceReason,
    EmailThreadImportanceType,
    MessageStatus,
    SummaryFeedbackRating,
    SummaryStatus,
)

__all__ = [
    "EmailPreview",
    "EmailThread",
    "EmailThreadImportance",
    "EmailThreadSummary",
    "EmailThreadSummaryFeedback",
]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailThreadImportance(Model):
    """Whether Close counts a thread as important, and why."""

    type: EmailThreadImportanceType | str = UNSET
    reason: EmailThreadImportanceReason | str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailPreview(Model):
    """A short view of one Email of a thread (Close's ``EmailPreview``), without the bodies."""

    id: str | None = UNSET
    status: MessageStatus | str = UNSET
    direction: EmailDirection | str = UNSET
    subject: str | None = UNSET
    body_preview: str | None = UNSET
    sender: str | None = UNSET
    to: list[str] = UNSET
    cc: list[str] = UNSET
    bcc: list[str] = UNSET
    envelope: EmailEnvelope | None = UNSET
    has_attachments: bool | None = UNSET
    opens_summary: str | None = UNSET
    send_as_id: str | None = UNSET
    user_id: str | None = UNSET
    date_created: datetime = UNSET
    date_updated: datetime = UNSET
    date_sent: datetime | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailThreadSummaryFeedback(Model):
    """A user's rating of a thread's AI summary."""

    rating: SummaryFeedbackRating | str = UNSET
    detail: str | None = UNSET
    given_at: datetime = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailThreadSummary(Model):
    """The AI summary of a thread; the texts are None until ``status`` is ``success``."""

    status: SummaryStatus | str = UNSET
    summary_text: str | None = UNSET
    summary_html: str | None = UNSET
    generated_at: datetime | None = UNSET
    updated_at: datetime = UNSET
    expired_at: datetime | None = UNSET
    feedback: EmailThreadSummaryFeedback = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailThread(ActivityBase):
    """An EmailThread activity (Close's ``EmailThreadActivity``).

    ``emails`` holds the thread's Email activities, stripped: Close's examples
    leave out the full bodies, and fields left out simply stay unloaded.
    ``latest_emails`` are short previews of the most recent ones.
    """

    TYPE: ClassVar[str] = "EmailThread"

    latest_normalized_subject: str | None = UNSET
    n_emails: int | None = UNSET
    participants: list[EmailIdentity] = UNSET
    emails: list[Email] = UNSET
    latest_emails: list[EmailPreview] = UNSET
    importance: EmailThreadImportance = UNSET
    summary: EmailThreadSummary | None = UNSET
    comment_summary: CommentSummary | None = UNSET
