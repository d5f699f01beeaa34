"""The CustomActivity: an instance of a custom activity type, with its custom fields."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import CommentSummary
from .enums import CreationSource, CustomActivityStatus

__all__ = ["CustomActivity"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class CustomActivity(ActivityBase):
    """A Custom Activity instance (Close's ``CustomActivity``).

    Close sends each custom field as a flat ``custom.<field id>`` key; they are
    gathered in ``custom``, keyed by field id (``cf_...``), and sent back flat.
    A field without a value is left out rather than sent as null. A ``draft``
    may lack required fields; ``published`` ones are validated.

    >>> from closeasync.models._converter import structure
    >>> activity = structure({"_type": "CustomActivity", "custom.cf_1": "Yes"}, CustomActivity)
    >>> activity.custom
    {'cf_1': 'Yes'}
    """

    TYPE: ClassVar[str] = "CustomActivity"
    __wire_prefixes__: ClassVar[tuple[tuple[str, str], ...]] = (("custom.", "custom"),)

    custom_activity_type_id: str = UNSET
    status: CustomActivityStatus | str = UNSET
    custom: dict[str, Any] = UNSET
    source: CreationSource | str | None = UNSET
    pinned: bool = UNSET
    pinned_at: datetime | None = UNSET
    last_published_at: datetime | None = UNSET
    mentions: list[str] = UNSET
    mentions_updated_at: datetime | None = UNSET
    comment_summary: CommentSummary | None = UNSET
