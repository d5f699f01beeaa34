"""Email and SMS side by side: what differs between the two message kinds in the tests."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import attrs

from closeasync import CloseAsync
from closeasync.fake import FakeClose, SentMessage
from closeasync.models._converter import format_datetime

SENDER = "me@fake.close.test"
LOCAL_PHONE = "+16503334444"
REMOTE_PHONE = "+14155550100"
#: When the fake's clock starts (``closeasync.fake.DEFAULT_START``), as Close writes it.
START = "2026-01-05T09:00:00.000000+00:00"


@attrs.frozen
class Kind:
    """One message kind: its resource, route and what sending it needs."""

    name: str  # "email" | "sms"
    type_name: str  # "Email" | "SMS"
    sends_from: str  # the field a send needs: "sender" | "local_phone"
    sends_value: str

    def __str__(self) -> str:
        return self.name

    @property
    def path(self) -> str:
        return f"/activity/{self.name}/"

    def api(self, close: CloseAsync) -> Any:
        """``close.emails`` or ``close.sms`` (typed loosely: the tests call both alike)."""
        return close.emails if self.name == "email" else close.sms

    def sent(self, fake: FakeClose) -> list[SentMessage]:
        """The fake's log of what left."""
        return fake.sent_emails if self.name == "email" else fake.sent_sms

    def fields(self, status: str, *, now: datetime, with_sender: bool = True) -> dict[str, Any]:
        """SDK keyword arguments of a valid create with ``status`` (``date_scheduled`` in 1 h)."""
        if self.name == "email":
            fields: dict[str, Any] = {"subject": f"{status} subject", "to": ["bob@acme.test"]}
            needs_sender = status in ("inbox", "scheduled", "outbox", "error")
        else:
            fields = {"text": f"{status} text", "remote_phone": REMOTE_PHONE}
            needs_sender = status in ("scheduled", "outbox")
        if with_sender and needs_sender:
            fields[self.sends_from] = self.sends_value
        if status == "scheduled":
            fields["date_scheduled"] = now + timedelta(hours=1)
        return fields

    def body(self, lead_id: str, status: str, *, now: datetime, with_sender: bool = True) -> dict[str, Any]:
        """The JSON body of the same create, for a raw client."""
        fields = self.fields(status, now=now, with_sender=with_sender)
        body = {"lead_id": lead_id, "status": status, **fields}
        return {k: format_datetime(v) if isinstance(v, datetime) else v for k, v in body.items()}


EMAIL = Kind("email", "Email", "sender", SENDER)
SMS = Kind("sms", "SMS", "local_phone", LOCAL_PHONE)
KINDS = (EMAIL, SMS)
