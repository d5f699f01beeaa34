"""The resume point of a sync walk: what :class:`~closeasync.listing.keyset.SyncIterator` delivered.

See :mod:`closeasync.listing.keyset` for the walk and for what the cursor guarantees.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs
import orjson

from ..errors import InvalidRequestError
from ..models._converter import format_datetime, parse_datetime

__all__ = ["SyncCursor", "aware", "saved_json", "start_cursor"]

_VERSION = 1


def aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise InvalidRequestError({name: f"must be a datetime, got {type(value).__name__}"})
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidRequestError({name: "must be timezone-aware (e.g. datetime.now(timezone.utc))"})
    return value


@attrs.frozen(kw_only=True)
class SyncCursor:
    """Where a sync stands: pass it back as ``since=`` to go on exactly where it stopped.

    Persist it with :meth:`to_json` (or :meth:`to_dict`) and load it with
    :meth:`from_json`. See :mod:`closeasync.listing.keyset` for what it guarantees.

    Attributes:
        scope: the route and filters it belongs to (a cursor cannot resume another sync).
        watermark: the newest ``date_created`` every finished walk reached (``None``: the
            whole history is still to come).
        watermark_ids: the ids delivered at exactly ``watermark``.
        top: where the walk in progress began (its newest delivered ``date_created``).
        top_ids: the ids delivered at exactly ``top``.
        position: the oldest ``date_created`` the walk in progress has delivered.
        position_ids: the ids delivered at exactly ``position``.

    >>> from datetime import datetime, timezone
    >>> cursor = SyncCursor(scope="/activity/email/", watermark=datetime(2026, 1, 5, tzinfo=timezone.utc))
    >>> SyncCursor.from_json(cursor.to_json()) == cursor
    True
    >>> cursor.in_progress
    False
    """

    scope: str
    watermark: datetime | None = None
    watermark_ids: tuple[str, ...] = ()
    top: datetime | None = None
    top_ids: tuple[str, ...] = ()
    position: datetime | None = None
    position_ids: tuple[str, ...] = ()

    @property
    def in_progress(self) -> bool:
        """Whether a walk was interrupted (resuming it finishes it before moving the watermark)."""
        return self.position is not None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings)."""

        def when(value: datetime | None) -> str | None:
            return None if value is None else format_datetime(value)

        return {
            "version": _VERSION,
            "scope": self.scope,
            "watermark": when(self.watermark),
            "watermark_ids": list(self.watermark_ids),
            "top": when(self.top),
            "top_ids": list(self.top_ids),
            "position": when(self.position),
            "position_ids": list(self.position_ids),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SyncCursor:
        """Load a cursor saved by :meth:`to_dict`.

        Raises:
            InvalidRequestError: it is not a cursor this version can read.
        """
        problems: dict[str, str] = {}
        if not isinstance(data, Mapping) or data.get("version") != _VERSION:
            raise InvalidRequestError({"since": "not a SyncCursor saved by this version of closeasync"})

        def when(name: str) -> datetime | None:
            value = data.get(name)
            if value is None:
                return None
            try:
                parsed = parse_datetime(value)
            except (TypeError, ValueError):
                problems[name] = "must be an ISO 8601 timestamp"
                return None
            return parsed

        def ids(name: str) -> tuple[str, ...]:
            value = data.get(name, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                problems[name] = "must be a list of ids"
                return ()
            return tuple(value)

        scope = data.get("scope")
        if not isinstance(scope, str):
            problems["scope"] = "must be a string"
        cursor = cls(
            scope=scope if isinstance(scope, str) else "",
            watermark=when("watermark"),
            watermark_ids=ids("watermark_ids"),
            top=when("top"),
            top_ids=ids("top_ids"),
            position=when("position"),
            position_ids=ids("position_ids"),
        )
        if (cursor.top is None) != (cursor.position is None):
            problems["position"] = "top and position are set together"
        if problems:
            raise InvalidRequestError(problems)
        return cursor

    def to_json(self) -> str:
        """The cursor as a JSON string."""
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_json(cls, text: str | bytes) -> SyncCursor:
        """Load a cursor saved by :meth:`to_json`.

        Raises:
            InvalidRequestError: it is not a cursor this version can read.
        """
        return cls.from_dict(saved_json(text, "SyncCursor"))


def saved_json(text: str | bytes, what: str) -> Any:
    """A saved cursor's JSON, parsed (refused as ``since`` when it is not JSON at all)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise InvalidRequestError({"since": f"not a {what}: invalid JSON"}) from None


def start_cursor(scope: str, since: datetime | SyncCursor | None) -> SyncCursor:
    """The cursor a sync starts from.

    Raises:
        InvalidRequestError: a naive datetime, or a cursor of another sync.
    """
    if since is None:
        return SyncCursor(scope=scope)
    if isinstance(since, SyncCursor):
        if since.scope != scope:
            raise InvalidRequestError(
                {"since": f"this cursor belongs to another sync ({since.scope!r}, not {scope!r})"}
            )
        return since
    return SyncCursor(scope=scope, watermark=aware(since, "since"))
