"""The LeadMerge activity: the record of one lead being merged into another."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .enums import LeadMergeStatus

__all__ = ["LeadMerge"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class LeadMerge(ActivityBase):
    """A LeadMerge activity (Close's ``LeadMergeActivity``); read-only.

    The source lead is merged into the destination lead; ``merge_status`` follows
    the merge, and ``error_message`` says why it failed when it did.
    """

    TYPE: ClassVar[str] = "LeadMerge"

    source_lead_id: str = UNSET
    source_display_name: str | None = UNSET
    destination_lead_id: str = UNSET
    destination_display_name: str | None = UNSET
    merge_status: LeadMergeStatus | str = UNSET
    error_message: str | None = UNSET
