"""The fake's state: one Close organization in memory, with a seeded id source and a clock.

Everything a handler reads or writes lives here, so ``reset()`` really resets, and
two fakes built with the same seed and the same calls hold identical data.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from ..models._converter import format_datetime
from ._clock import FakeClock
from ._ids import IdFactory
from .events import DEFAULT_CONSOLIDATION, EventLog, Listener

__all__ = ["FakeState", "SentMessage"]


@attrs.frozen
class SentMessage:
    """One Email or SMS that left the fake: what was sent and when."""

    id: str
    kind: str  # "Email" or "SMS"
    sent_at: datetime
    message: dict[str, Any]  # the object as it was when sent


class FakeState:
    """The store: users, leads, contacts, activities, pending sends, the sent log and the event log.

    Handlers that change an activity tell ``events`` (:class:`~closeasync.fake.events.EventLog`)
    after storing the change.
    """

    def __init__(
        self,
        *,
        seed: int,
        clock: FakeClock,
        user_name: str,
        user_email: str,
        consolidate_within: timedelta = DEFAULT_CONSOLIDATION,
    ) -> None:
        self.seed = seed
        self.clock = clock
        self._user_name = user_name
        self._user_email = user_email
        self.events = EventLog(seed=seed, clock=clock, consolidate_within=consolidate_within)
        self.reset()

    @property
    def event_listeners(self) -> list[Listener]:
        """Called with each event dict as it is appended or consolidated (after the change is stored).

        The list itself (append to it, remove from it); it survives :meth:`reset`. A listener
        must not change the dict it is given (the log keeps it) and should not raise.
        """
        return self.events.listeners

    def reset(self) -> None:
        """Forget everything but the organization's first user (the API key's owner) and the listeners."""
        self.ids = IdFactory(self.seed)
        self.clock.reset()
        self.organization_id = self.ids.new("orga")
        self.users: dict[str, dict[str, Any]] = {}
        self.leads: dict[str, dict[str, Any]] = {}
        self.contacts: dict[str, dict[str, Any]] = {}
        self.activities: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, datetime] = {}  # activity id -> when it is due to be sent
        self.sent: list[SentMessage] = []
        self.events.reset(self.organization_id)
        self.me = self.add_user(self._user_name, self._user_email)

    def now(self) -> datetime:
        """The fake's current time."""
        return self.clock.now()

    def add_user(self, name: str, email: str) -> dict[str, Any]:
        """Add a user of the organization."""
        first, _, last = name.partition(" ")
        user = {
            "id": self.ids.new("user"),
            "name": name,
            "first_name": first,
            "last_name": last,
            "email": email,
        }
        self.users[user["id"]] = user
        return user

    def add_lead(self, name: str) -> dict[str, Any]:
        """Add a lead (a company) to the organization."""
        stamp = format_datetime(self.now())
        lead = {
            "id": self.ids.new("lead"),
            "display_name": name,
            "organization_id": self.organization_id,
            "date_created": stamp,
        }
        self.leads[lead["id"]] = lead
        return lead

    def add_contact(
        self, lead_id: str, name: str, *, emails: Sequence[str] = (), phones: Sequence[str] = ()
    ) -> dict[str, Any]:
        """Add a contact (a person) to a lead."""
        if lead_id not in self.leads:
            raise KeyError(f"no lead {lead_id}")
        contact: dict[str, Any] = {
            "id": self.ids.new("cont"),
            "lead_id": lead_id,
            "name": name,
            "emails": [{"email": e, "type": "office"} for e in emails],
            "phones": [{"phone": p, "type": "office"} for p in phones],
        }
        self.contacts[contact["id"]] = contact
        return contact

    def user_for(self, user_id: str | None) -> dict[str, Any]:
        """The user an activity belongs to (the key's owner unless another is named)."""
        return self.users.get(user_id or "", self.me)

    def of_type(self, *types: str) -> Iterator[dict[str, Any]]:
        """Stored activities of the given ``_type`` values (all when none are given)."""
        wanted = set(types)
        return (a for a in self.activities.values() if not wanted or a["_type"] in wanted)

    def record_sent(self, message: dict[str, Any], *, at: datetime | None = None) -> None:
        """Log a message as having left (now, or ``at``), with a snapshot of what was sent."""
        when = self.now() if at is None else at
        self.sent.append(SentMessage(message["id"], message["_type"], when, dict(message)))
