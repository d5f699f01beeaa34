"""Parts shared by several activity types: attachments, email parts, comments, subscriptions."""

from __future__ import annotations

from datetime import datetime

import attrs

from ._base import UNSET, Model

__all__ = [
    "Attachment",
    "CommentSummary",
    "EmailEnvelope",
    "EmailIdentity",
    "EmailOpen",
    "PausedSubscription",
    "QuotedHtml",
    "QuotedText",
]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Attachment(Model):
    """A file attached to an Email, SMS/MMS, Note or WhatsApp message.

    To attach a file when creating an Email, upload it with Close's Files API and
    use its ``download.url`` (it starts with ``https://app.close.com/go/file/``).
    """

    url: str = UNSET
    filename: str | None = UNSET
    size: int | None = UNSET
    content_type: str | None = UNSET
    content_id: str | None = UNSET
    inline_only: bool | None = UNSET
    thumbnail_url: str | None = UNSET
    media_id: str | None = UNSET  # SMS/MMS attachments only


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailIdentity(Model):
    """A name and address in an email envelope."""

    email: str = UNSET
    name: str | None = UNSET  # the thread schema says string; Close's examples send null


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailEnvelope(Model):
    """The parsed headers of a sent or received email (``from`` is ``from_`` here)."""

    from_: list[EmailIdentity] = attrs.field(default=UNSET, metadata={"wire": "from"})
    sender: list[EmailIdentity] = UNSET
    to: list[EmailIdentity] = UNSET
    cc: list[EmailIdentity] = UNSET
    bcc: list[EmailIdentity] = UNSET
    reply_to: list[EmailIdentity] = UNSET
    date: str | None = UNSET  # RFC 2822, as in the message ("Fri, 08 Feb 2013 05:03:15 +0000")
    subject: str | None = UNSET
    message_id: str | None = UNSET
    in_reply_to: str | None = UNSET
    is_autoreply: bool = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class EmailOpen(Model):
    """One recorded open of a tracked email."""

    opened_at: datetime = UNSET
    opened_by: str | None = UNSET
    ip_address: str | None = UNSET
    user_agent: str | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class QuotedText(Model):
    """A block of an email's plain-text body, marked as quoted (collapsible) or not."""

    expand: bool = UNSET
    text: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class QuotedHtml(Model):
    """The HTML counterpart of :class:`QuotedText`."""

    expand: bool = UNSET
    html: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class CommentSummary(Model):
    """How many comments an activity has, and the comment thread holding them."""

    comment_count: int = UNSET
    thread_id: str = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class PausedSubscription(Model):
    """A sequence subscription Close paused because of an activity.

    Sent as ``_paused_subscriptions`` on Meetings and Lead status changes (Close's
    ``MeetingPausedSubscription`` and ``PausedSubscription``, which are the same shape).
    """

    id: str = UNSET
    contact_id: str | None = UNSET
    contact_name: str | None = UNSET
    sequence_id: str = UNSET
    sequence_name: str = UNSET
    sequence_status: str = UNSET  # no documented set of values
