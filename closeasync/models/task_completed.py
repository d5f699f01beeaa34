"""The TaskCompleted activity: the record of a task being marked done."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import CommentSummary

__all__ = ["TaskCompleted"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class TaskCompleted(ActivityBase):
    """A TaskCompleted activity (Close's ``TaskCompletedActivity``); read-only.

    Close's schema has no ``contact_id`` for it and its example sends none, so
    that field is normally unloaded.
    """

    TYPE: ClassVar[str] = "TaskCompleted"

    task_id: str | None = UNSET
    task_text: str | None = UNSET
    task_assigned_to: str | None = UNSET
    task_assigned_to_name: str | None = UNSET
    comment_summary: CommentSummary | None = UNSET
    sequence_id: str | None = UNSET
    sequence_name: str | None = UNSET
    sequence_subscription_id: str | None = UNSET
