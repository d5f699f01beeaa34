"""Status-change activities: a lead or an opportunity moved from one status to another."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from ._base import UNSET
from .activity import ActivityBase
from .common import PausedSubscription
from .enums import OpportunityStatusType, OpportunityValuePeriod

__all__ = ["LeadStatusChange", "OpportunityStatusChange"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class LeadStatusChange(ActivityBase):
    """A LeadStatusChange activity (Close's ``LeadStatusChangeActivity``).

    Creating or deleting one only edits the activity feed (to import history from
    another system); it never changes the lead's status.
    """

    TYPE: ClassVar[str] = "LeadStatusChange"

    old_status_id: str = UNSET
    old_status_label: str = UNSET
    new_status_id: str = UNSET
    new_status_label: str = UNSET
    paused_subscriptions: list[PausedSubscription] = attrs.field(
        default=UNSET, metadata={"wire": "_paused_subscriptions"}
    )


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class OpportunityStatusChange(ActivityBase):
    """An OpportunityStatusChange activity (Close's ``OpportunityStatusChangeActivity``).

    Like :class:`LeadStatusChange`, creating one only logs history. The
    ``opportunity_*`` fields describe the opportunity the status belongs to.
    """

    TYPE: ClassVar[str] = "OpportunityStatusChange"

    opportunity_id: str | None = UNSET
    old_status_id: str = UNSET
    old_status_label: str = UNSET
    old_status_type: OpportunityStatusType | str = UNSET
    old_pipeline_id: str = UNSET
    old_pipeline_name: str = UNSET
    new_status_id: str = UNSET
    new_status_label: str = UNSET
    new_status_type: OpportunityStatusType | str = UNSET
    new_pipeline_id: str = UNSET
    new_pipeline_name: str = UNSET
    opportunity_value: int | None = UNSET
    opportunity_value_currency: str | None = UNSET
    opportunity_value_formatted: str | None = UNSET
    opportunity_value_period: OpportunityValuePeriod | str | None = UNSET
    opportunity_confidence: int | None = UNSET
    opportunity_date_won: datetime | None = UNSET
