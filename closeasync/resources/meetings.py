"""``close.meetings``: Meeting activities (synced from calendars; Close has no create)."""

from __future__ import annotations

from typing import Unpack

from ..models.meeting import Meeting
from ..params import MeetingUpdateFields
from ..pipeline.routes import ROUTES
from ..rules.activity_bodies import meeting_update_errors
from ._arguments import check_keys
from ._crud import ActivityResource

__all__ = ["MeetingsResource"]

_UPDATE_NAMES = MeetingUpdateFields.__annotations__


class MeetingsResource(ActivityResource[Meeting]):
    """Meeting activities: Close makes them from connected calendars, so there is no create.

    >>> async def example(close):  # doctest: +SKIP
    ...     meeting = await close.meetings.get("acti_1", fields=["id", "title", "transcripts"])
    ...     return await close.meetings.update(meeting.id, user_note_html="<body><p>Next: pricing</p></body>")
    """

    _model = Meeting
    _routes = ROUTES["meeting"]
    _update_rule = staticmethod(meeting_update_errors)

    async def update(self, meeting: str | Meeting, /, **fields: Unpack[MeetingUpdateFields]) -> Meeting:
        """Set a meeting's ``user_note_html`` or ``outcome_id`` (only the given fields change).

        Raises:
            InvalidRequestError: the change breaks one of Close's rules (nothing was sent).
        """
        check_keys(fields, _UPDATE_NAMES, "field of a meeting update")
        return await self._update(meeting, fields)
