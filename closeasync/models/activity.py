"""Fields every activity has, and the fallback for activity types we do not know."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import attrs

from ._base import UNSET, Model

__all__ = ["ActivityBase", "UnknownActivity"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class ActivityBase(Model):
    """Fields shared by every activity type (Close's ``ActivityBase``).

    ``TYPE`` is the ``_type`` Close tags the activity with. ``activity_at`` is when
    the activity happened (for an outgoing email, when it was sent), ``date_created``
    when it was created or synced into Close.
    """

    TYPE: ClassVar[str]

    id: str = UNSET
    organization_id: str = UNSET
    lead_id: str | None = UNSET
    contact_id: str | None = UNSET
    user_id: str | None = UNSET
    user_name: str | None = UNSET
    users: list[str] = UNSET
    created_by: str | None = UNSET
    created_by_name: str | None = UNSET
    updated_by: str | None = UNSET
    updated_by_name: str | None = UNSET
    date_created: datetime = UNSET
    date_updated: datetime = UNSET
    activity_at: datetime | None = UNSET


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class UnknownActivity(Model):
    """An activity whose ``_type`` this version of closeasync does not model.

    Listing never fails on a new activity type: it arrives as this, with the whole
    JSON object in ``raw`` (and unstructured back to exactly that) and the common
    identifiers lifted out for convenience when present.
    """

    type: str | None = UNSET
    id: str | None = UNSET
    lead_id: str | None = UNSET
    raw: dict[str, Any] = UNSET
