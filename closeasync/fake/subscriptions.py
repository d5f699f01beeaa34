"""The fake's webhook subscriptions: what each one asks for, where it goes, and its key.

Ids come from the state's seeded id source (``whsub_...``) and signature keys from their
own generator seeded the same way (32 bytes, as 64 hex digits), so two fakes built with the
same seed and the same calls hold the same subscriptions and keys. A subscription wants an
event when it is ``active`` and one of its entries names the event's ``object_type`` and
``action`` (both: see :mod:`closeasync.rules.webhooks`).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from typing import Any

import attrs

from ..models._converter import format_datetime
from .state import FakeState

__all__ = ["Subscription", "Subscriptions"]


@attrs.define
class Subscription:
    """One webhook subscription, as Close shows it (``signature_key`` only once)."""

    id: str
    url: str
    events: list[dict[str, Any]]
    verify_ssl: bool
    status: str
    date_created: str
    date_updated: str
    signature_key: str = attrs.field(repr=False)

    def to_json(self, *, with_key: bool = False) -> dict[str, Any]:
        """The JSON object Close answers with (the key only in the answer to the create)."""
        shown: dict[str, Any] = {
            "id": self.id,
            "url": self.url,
            "events": [dict(entry) for entry in self.events],
            "status": self.status,
            "verify_ssl": self.verify_ssl,
            "date_created": self.date_created,
            "date_updated": self.date_updated,
        }
        if with_key:
            shown["signature_key"] = self.signature_key
        return shown

    def wants(self, event: Mapping[str, Any]) -> bool:
        """Whether ``event`` is one this subscription asks for (and it is active)."""
        if self.status != "active":
            return False
        kind, action = event.get("object_type"), event.get("action")
        return any(e["object_type"] == kind and e["action"] == action for e in self.events)


def _entries(events: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"object_type": e["object_type"], "action": e["action"], "extra_filter": e.get("extra_filter")}
        for e in events
    ]


class Subscriptions:
    """The organization's subscriptions, in the order they were made."""

    def __init__(self, state: FakeState) -> None:
        self._state = state
        self.reset()

    def reset(self) -> None:
        """Forget every subscription; keys start over from the seed."""
        self.by_id: dict[str, Subscription] = {}
        self._keys = random.Random(f"closeasync-fake-webhook-keys-{self._state.seed}")

    def __len__(self) -> int:
        return len(self.by_id)

    def all(self) -> list[Subscription]:
        """Every subscription, oldest first."""
        return list(self.by_id.values())

    def create(self, body: Mapping[str, Any]) -> Subscription:
        """Store a subscription from a valid ``POST /webhook/`` body."""
        stamp = format_datetime(self._state.now())
        made = Subscription(
            id=self._state.ids.new("whsub"),
            url=body["url"],
            events=_entries(body["events"]),
            verify_ssl=body.get("verify_ssl", True),
            status="active",
            date_created=stamp,
            date_updated=stamp,
            signature_key=self._keys.randbytes(32).hex(),
        )
        self.by_id[made.id] = made
        return made

    def update(self, subscription: Subscription, body: Mapping[str, Any]) -> Subscription:
        """Apply a valid ``PUT /webhook/{id}/`` body."""
        if "url" in body:
            subscription.url = body["url"]
        if "events" in body:
            subscription.events = _entries(body["events"])
        if "verify_ssl" in body:
            subscription.verify_ssl = body["verify_ssl"]
        if "status" in body:
            subscription.status = body["status"]
        subscription.date_updated = format_datetime(self._state.now())
        return subscription

    def delete(self, ident: str) -> Subscription | None:
        """Remove a subscription; return it (None if there was none)."""
        return self.by_id.pop(ident, None)

    def matching(self, event: Mapping[str, Any]) -> list[Subscription]:
        """The subscriptions that want ``event``, oldest first."""
        return [s for s in self.by_id.values() if s.wants(event)]
