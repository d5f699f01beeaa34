"""What Email and SMS resources share beyond every activity resource's calls
(:mod:`~closeasync.resources._crud`): the status rules of an update, and the
send/schedule/cancel helpers."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, TypeVar

from ..models._base import UNSET
from ..models.email import Email
from ..models.sms import SMS
from ..rules.messages import sends_message
from ._crud import LOOKUP_BATCH, CreatableResource, Prepared

__all__ = ["LOOKUP_BATCH", "MessageResource", "Prepared"]

M = TypeVar("M", Email, SMS)


class MessageResource(CreatableResource[M]):
    """The calls common to :class:`EmailsResource` and :class:`SMSResource`."""

    #: What the status rules need to know of a message in hand.
    _state_fields = ("status", "sender", "local_phone", "date_scheduled")

    def _sends(self, body: Mapping[str, Any]) -> bool:
        """Whether this body makes Close send the message (so it must never be repeated)."""
        return sends_message(body)

    async def _schedule(self, target: str | M, at: datetime, extra: Mapping[str, Any]) -> M:
        fields = {k: v for k, v in extra.items() if v is not UNSET}
        return await self._update(target, {**fields, "status": "scheduled", "date_scheduled": at})

    async def cancel(self, target: str | M) -> M:
        """Cancel a scheduled or outbox message that has not left; it becomes a draft again."""
        return await self._update(target, {"status": "draft"})

    def _send_fields(self, send_in: int, extra: Mapping[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in extra.items() if v is not UNSET}
        fields["status"] = "outbox"
        if send_in is not UNSET:
            fields["send_in"] = send_in
        return fields
