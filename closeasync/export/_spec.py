"""What an export reads: one listing (emails, SMS or all activities) and its filters."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import attrs

from .. import InvalidRequestError, SyncCursor, SyncIterator
from ..models import ACTIVITY_OBJECT_TYPES, Event

if TYPE_CHECKING:
    from .. import CloseAsync

__all__ = ["ExportSpec", "What", "timestamp"]

What: TypeAlias = Literal["emails", "sms", "activities"]


def _one_or_many(ids: Sequence[str]) -> str | list[str]:
    return ids[0] if len(ids) == 1 else list(ids)


def _normalized(values: Sequence[str]) -> tuple[str, ...]:
    """Sorted and without repeats: ``--lead b --lead a`` is the same export as ``--lead a --lead b``."""
    return tuple(sorted(set(values)))


def timestamp(value: object) -> datetime | None:
    """A timestamp as Close writes it (naive ones are UTC), or None if it is not one."""
    if not isinstance(value, str):
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _type_matches(record: Mapping[str, Any], types: Sequence[str]) -> bool:
    """Whether ``record`` is of one of the ``types`` filters (Close's names, ``Custom``, or a
    custom activity type id)."""
    tag = record.get("_type")
    if tag in types:
        return True
    if tag == "CustomActivity":
        return "Custom" in types or record.get("custom_activity_type_id") in types
    return False


@attrs.frozen(kw_only=True)
class ExportSpec:
    """Which activities to export, by the filters Close's listings take.

    ``since`` (inclusive) and ``until`` (exclusive) bound ``date_created``; both must
    be timezone-aware. ``types`` (``"Email"``, ``"Call"``...) is for ``activities``
    only, and like ``user_ids`` needs exactly one lead there (Close's rule).

    >>> ExportSpec(what="emails", lead_ids=("lead_1",)).describe()
    'emails of lead lead_1'
    """

    what: What
    lead_ids: tuple[str, ...] = attrs.field(default=(), converter=_normalized)
    user_ids: tuple[str, ...] = attrs.field(default=(), converter=_normalized)
    types: tuple[str, ...] = attrs.field(default=(), converter=_normalized)
    since: datetime | None = None
    until: datetime | None = None
    page_size: int = 100

    def open(self, close: CloseAsync, since: SyncCursor | datetime | None) -> SyncIterator[Any]:
        """The sync walk of this export, from ``since`` (nothing is sent until it is iterated).

        Raises:
            InvalidRequestError: a filter Close does not take for this listing.
        """
        empty = {
            name: "an id or type cannot be empty"
            for name, values in (
                ("lead_id", self.lead_ids),
                ("user_id", self.user_ids),
                ("types", self.types),
            )
            if any(not value.strip() for value in values)
        }
        if empty:
            raise InvalidRequestError(empty)
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidRequestError({"until": "must be after since"})
        if self.what == "activities":
            filters: dict[str, Any] = {}
            if len(self.lead_ids) == 1:
                filters["lead_id"] = self.lead_ids[0]
            elif self.lead_ids:
                filters["lead_id__in"] = list(self.lead_ids)
            if len(self.user_ids) == 1:
                filters["user_id"] = self.user_ids[0]
            elif self.user_ids:
                filters["user_id__in"] = list(self.user_ids)
            return close.activities.sync(
                since, until=self.until, types=list(self.types) or None, page_size=self.page_size, **filters
            )
        if self.types:
            raise InvalidRequestError({"types": f"only an activities export takes types, not {self.what}"})
        resource = close.emails if self.what == "emails" else close.sms
        message_filters: dict[str, Any] = {}
        if self.lead_ids:
            message_filters["lead_id"] = _one_or_many(self.lead_ids)
        if self.user_ids:
            message_filters["user_id"] = _one_or_many(self.user_ids)
        sync: SyncIterator[Any] = resource.sync(
            since, until=self.until, page_size=self.page_size, **message_filters
        )
        return sync

    def key(self, close: CloseAsync) -> str:
        """The name its resume point is saved under: the route, the filters and the date bounds.

        An export bounded by dates is another export than the unbounded one (it has its own
        resume point), so running one never moves the other's.

        Raises:
            InvalidRequestError: a filter Close does not take for this listing.
        """
        key = self.open(close, None).cursor.scope
        bounds = [
            f"{name}={value.isoformat()}"
            for name, value in (("since", self.since), ("until", self.until))
            if value
        ]
        return " ".join([key, *bounds])

    def object_types(self) -> frozenset[str]:
        """The event log's ``object_type`` of what this export copies (``activity.email``...)."""
        if self.what == "emails":
            return frozenset({ACTIVITY_OBJECT_TYPES["Email"]})
        if self.what == "sms":
            return frozenset({ACTIVITY_OBJECT_TYPES["SMS"]})
        if not self.types:
            return frozenset(ACTIVITY_OBJECT_TYPES.values())
        tags = {"CustomActivity" if t == "Custom" or t.startswith("actitype_") else t for t in self.types}
        return frozenset(ACTIVITY_OBJECT_TYPES[t] for t in tags if t in ACTIVITY_OBJECT_TYPES)

    def may_concern(self, event: Event) -> bool:
        """Whether an event may change this export's copy: its type, and for a lead filter its
        lead, unless the change may have moved the object between leads (an edit of its
        ``lead_id``, or Close left out what changed)."""
        if event.object_type not in self.object_types():
            return False
        if not self.lead_ids or event.lead_id is None or event.lead_id in self.lead_ids:
            return True
        changed = event.changed_fields
        moved = not isinstance(changed, list) or not changed or "lead_id" in changed
        return event.action == "updated" and moved  # it may have left one of our leads

    def may_have_left(self, record: Mapping[str, Any]) -> bool:
        """Whether an object that does not match may have been in the copy before a change:
        its lead and user can change, its type and ``date_created`` never do."""
        if self.types and not _type_matches(record, self.types):
            return False
        when = timestamp(record.get("date_created"))
        if self.since is not None and (when is None or when < self.since):
            return False
        return not (self.until is not None and (when is None or when >= self.until))

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether an object as Close sent it belongs in this export (its filters and dates)."""
        if self.lead_ids and record.get("lead_id") not in self.lead_ids:
            return False
        if self.user_ids and record.get("user_id") not in self.user_ids:
            return False
        if self.types and not _type_matches(record, self.types):
            return False
        if self.since is not None or self.until is not None:
            created = record.get("date_created")
            when = timestamp(created)
            if when is None:
                return False
            if (self.since is not None and when < self.since) or (
                self.until is not None and when >= self.until
            ):
                return False
        return True

    def describe(self) -> str:
        """The export in a few words, for messages."""
        parts: list[str] = [self.what]
        if self.types:
            parts.append(f"({', '.join(self.types)})")
        if self.lead_ids:
            parts.append(f"of lead{'s' if len(self.lead_ids) > 1 else ''} {', '.join(self.lead_ids)}")
        if self.user_ids:
            parts.append(f"by user{'s' if len(self.user_ids) > 1 else ''} {', '.join(self.user_ids)}")
        if self.since is not None:
            parts.append(f"created from {self.since.isoformat()}")
        if self.until is not None:
            parts.append(f"before {self.until.isoformat()}")
        return " ".join(parts)
