"""The Note activity: free-form text, with optional attachments, on a lead."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import Attachment, CommentSummary
from .enums import CreationSource

__all__ = ["Note"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Note(ActivityBase):
    """A Note activity.

    ``note_html`` is the rich text and ``note`` its plain-text rendering;
    ``note_mentions`` holds the ids of the users @-mentioned in it.
    """

    TYPE: ClassVar[str] = "Note"

    title: str | None = UNSET
    note: str = UNSET
    note_html: str = UNSET
    note_mentions: list[str] = UNSET
    attachments: list[Attachment] = UNSET
    pinned: bool = UNSET
    pinned_at: datetime | None = UNSET
    source: CreationSource | str | None = UNSET
    comment_summary: CommentSummary | None = UNSET
