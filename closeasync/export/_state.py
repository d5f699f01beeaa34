"""An export's resume point: where its creation walk stands, and where its change feed does.

Saved by a store in the same unit as the rows it covers (see :class:`~closeasync.export.Store`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
import orjson

from .. import ChangeCursor, InvalidRequestError, SyncCursor

__all__ = ["Deletion", "ExportState"]

_VERSION = 1


@attrs.frozen
class Deletion:
    """An object Close deleted (or that left the export's filters), to remove from the copy.

    Attributes:
        id: the object's id.
        type: its ``_type`` (``"Email"``...), which names its table; None when unknown.
        deleted_at: when Close recorded the change (ISO 8601), if known.
    """

    id: str
    type: str | None = None
    deleted_at: str | None = None


@attrs.frozen(kw_only=True)
class ExportState:
    """Where an export stands.

    Attributes:
        walk: the sync walk by creation date (a full copy, then what is created since).
        changes: the change feed over Close's event log (edits and deletions); None for a
            copy made before the export followed changes.

    >>> state = ExportState(walk=SyncCursor(scope="/activity/sms/"))
    >>> ExportState.from_json(state.to_json()) == state
    True
    """

    walk: SyncCursor
    changes: ChangeCursor | None = None

    @classmethod
    def of(cls, value: ExportState | SyncCursor) -> ExportState:
        """``value`` as a state (a bare :class:`SyncCursor` is a walk with no change feed)."""
        return value if isinstance(value, ExportState) else cls(walk=value)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": _VERSION,
            "walk": self.walk.to_dict(),
            "changes": None if self.changes is None else self.changes.to_dict(),
        }

    def to_json(self) -> str:
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExportState:
        """Load a state; a bare :class:`SyncCursor` (saved by earlier versions) is read as a walk.

        Raises:
            InvalidRequestError: it is neither.
        """
        if isinstance(data, Mapping) and "walk" in data:
            if data.get("version") != _VERSION:
                raise InvalidRequestError({"since": "an export state saved by another version of closeasync"})
            changes = data.get("changes")
            return cls(
                walk=SyncCursor.from_dict(data["walk"]),
                changes=None if changes is None else ChangeCursor.from_dict(changes),
            )
        return cls(walk=SyncCursor.from_dict(data))

    @classmethod
    def from_json(cls, text: str | bytes) -> ExportState:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise InvalidRequestError({"since": "not an export state: invalid JSON"}) from None
        return cls.from_dict(data)
