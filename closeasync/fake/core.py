"""``FakeClose``: an in-memory Close organization that behaves like Close."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from email.utils import format_datetime as format_http_date
from typing import Any

import attrs

from ..models._converter import format_datetime
from ._clock import DEFAULT_START, FakeClock
from ._http import FakeRequest
from ._ids import IdFactory
from ._objects import base_fields
from .events import DEFAULT_CONSOLIDATION, EventLog
from .handlers.listing import ListRules
from .handlers.messages import deliver_due
from .limits import Faults, RateLimits
from .router import Outcome, route_request
from .state import FakeState, SentMessage
from .transport import FakeTransport
from .webhooks import FakeWebhooks

__all__ = ["DEFAULT_API_KEY", "FakeClose"]

#: The key a FakeClose accepts unless given others (not a real Close key).
DEFAULT_API_KEY = "api_fake_0000000000000000000000"


class FakeClose:
    """A stateful emulator of the Close API for tests and demos.

    >>> import asyncio
    >>> from closeasync import CloseAsync
    >>> fake = FakeClose(seed=1)
    >>> lead = fake.add_lead("Acme")
    >>> async def main() -> str:
    ...     async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
    ...         draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
    ...         await close.emails.send(draft, sender="me@example.com")
    ...     fake.advance(1)
    ...     return fake.sent_emails[0].message["status"]
    >>> asyncio.run(main())
    'sent'

    Args:
        api_keys: keys accepted as HTTP Basic usernames.
        oauth_tokens: tokens accepted as Bearer credentials.
        seed: seeds the ids (and the demo data), so runs are reproducible.
        start: where the clock starts.
        realtime: let the clock follow wall time (for a served demo) instead of
            moving only with :meth:`advance`.
        list_rules: ``_limit``/``_skip`` caps of list endpoints.
        consolidate_within: consecutive updates of one activity this close together share one
            event of the event log, as Close consolidates them (``timedelta(0)``: never).
    """

    def __init__(
        self,
        *,
        api_keys: Iterable[str] = (DEFAULT_API_KEY,),
        oauth_tokens: Iterable[str] = (),
        seed: int = 0,
        start: datetime = DEFAULT_START,
        realtime: bool = False,
        list_rules: ListRules | None = None,
        root: str = "/api/v1",
        consolidate_within: timedelta = DEFAULT_CONSOLIDATION,
    ) -> None:
        self._api_keys = tuple(api_keys)
        # Each key's id (Close's api_key_id): seeded by the key, never showing it.
        self._api_key_ids = {key: IdFactory(f"api-key/{key}").new("api") for key in self._api_keys}
        self.credentials = frozenset((*self._api_keys, *oauth_tokens))
        self.root = root.rstrip("/")
        self.list_rules = list_rules or ListRules()
        self.clock = FakeClock(start, realtime=realtime)
        self.state = FakeState(
            seed=seed,
            clock=self.clock,
            user_name="Fake User",
            user_email="me@fake.close.test",
            consolidate_within=consolidate_within,
        )
        self.rate_limits = RateLimits()
        self.faults = Faults(seed)
        #: Webhook subscriptions and their deliveries (``await fake.webhooks.flush()`` sends them).
        self.webhooks = FakeWebhooks(self.state)

    def __repr__(self) -> str:
        stored = len(self.state.activities)
        return f"<FakeClose seed={self.state.seed} activities={stored} now={self.now.isoformat()}>"

    @property
    def api_key(self) -> str:
        """A key this fake accepts."""
        return self._api_keys[0] if self._api_keys else ""

    def api_key_id(self, credential: str | None) -> str | None:
        """The id of an API key this fake accepts (None for an OAuth token or anything else)."""
        return self._api_key_ids.get(credential or "")

    @property
    def now(self) -> datetime:
        """The fake's current time."""
        return self.clock.now()

    def advance(self, seconds: float) -> int:
        """Move the clock forward and send what became due; return how many were sent."""
        self.clock.advance(seconds)
        return deliver_due(self.state)

    def reset(self) -> None:
        """Empty the organization (back to its first user), the clock, limits, faults and webhooks."""
        self.state.reset()
        self.rate_limits.clear()
        self.faults.clear(seed=self.state.seed)
        self.webhooks.reset()

    # -- the organization ---------------------------------------------------------------

    @property
    def me(self) -> dict[str, Any]:
        """The user the API key belongs to."""
        return self.state.me

    def add_user(self, name: str, email: str) -> dict[str, Any]:
        """Add a user to the organization."""
        return self.state.add_user(name, email)

    def add_lead(self, name: str) -> dict[str, Any]:
        """Add a lead (company)."""
        return self.state.add_lead(name)

    def add_contact(
        self, lead_id: str, name: str, *, emails: Iterable[str] = (), phones: Iterable[str] = ()
    ) -> dict[str, Any]:
        """Add a contact to a lead."""
        return self.state.add_contact(lead_id, name, emails=list(emails), phones=list(phones))

    def add_activity(self, type_name: str, *, lead_id: str, **fields: Any) -> dict[str, Any]:
        """Store an activity of any ``_type`` as given (the base fields are filled in).

        Datetimes among ``fields`` are stored in Close's format. The event log gets a
        ``created`` event made by no request (its ``user_id`` is the activity's).
        """
        user = self.state.user_for(fields.get("user_id"))
        obj = base_fields(
            kind=type_name,
            ident=fields.pop("id", None) or self.state.ids.new("acti"),
            org=self.state.organization_id,
            user=user,
            now=self.now,
            lead_id=lead_id,
        )
        obj.update({k: format_datetime(v) if isinstance(v, datetime) else v for k, v in fields.items()})
        self.state.activities[obj["id"]] = obj
        self.state.events.created(obj, actor=obj.get("user_id"))
        return obj

    @property
    def activities(self) -> dict[str, dict[str, Any]]:
        """Every stored activity by id (the live store: change it to set up a test)."""
        return self.state.activities

    @property
    def events(self) -> EventLog:
        """The event log (iterate it for every event kept, newest first; ``listeners`` to follow it)."""
        return self.state.events

    @property
    def sent_emails(self) -> list[SentMessage]:
        """Emails that left, in order (one entry per send: a duplicate shows twice)."""
        return [m for m in self.state.sent if m.kind == "Email"]

    @property
    def sent_sms(self) -> list[SentMessage]:
        """SMS that left, in order."""
        return [m for m in self.state.sent if m.kind == "SMS"]

    # -- serving --------------------------------------------------------------------------

    def handle(self, request: FakeRequest) -> Outcome:
        """Answer one request (the seam every way of reaching the fake goes through).

        Every answer carries a ``Date`` by the fake's clock, as Close's carry its own: a
        client reading Close's time (the change feed's retention check) reads the fake's.
        """
        outcome = route_request(self, request)
        dated = outcome.response.with_headers(("date", format_http_date(self.now, usegmt=True)))
        return attrs.evolve(outcome, response=dated)

    def transport(self) -> FakeTransport:
        """An in-process transport to this fake: ``CloseAsync(transport=fake.transport())``."""
        return FakeTransport(self)
