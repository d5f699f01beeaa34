"""An entry of Close's event log (``GET /event/``): what changed, when, and by whom."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import attrs

from ._base import UNSET, Model

__all__ = ["Event"]


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class Event(Model):
    """One event of the event log; not an activity.

    ``object_type`` and ``object_id`` name the object that changed (for instance
    ``note`` / ``acti_...``) and ``action`` what happened to it (``created``,
    ``updated``, ``deleted``, ``merged``...). ``data`` is the object after the
    change as the API would return it (None for deletions); for updates,
    ``changed_fields`` lists the fields that changed and ``previous_data`` their
    old values. Close leaves ``data`` and ``previous_data`` out for non-admins on
    events older than an hour. Close has no schema for events: the fields follow
    its example and documentation. Its timestamps carry no offset and are read as UTC.
    """

    id: str = UNSET
    organization_id: str = UNSET
    date_created: datetime = UNSET
    date_updated: datetime = UNSET
    object_type: str = UNSET
    object_id: str = UNSET
    lead_id: str | None = UNSET
    action: str = UNSET
    changed_fields: list[str] = UNSET
    data: dict[str, Any] | None = UNSET
    previous_data: dict[str, Any] = UNSET
    meta: dict[str, Any] = UNSET
    user_id: str | None = UNSET
    request_id: str | None = UNSET
    api_key_id: str | None = UNSET
