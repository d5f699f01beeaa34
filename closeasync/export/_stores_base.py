"""What every export store is: the protocol, and its errors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from .. import SyncCursor
from ._state import Deletion, ExportState

__all__ = ["Store", "StoreBusyError", "StoreError"]


class StoreError(Exception):
    """The output cannot be used as asked (exists without resume, another export's file...)."""


class StoreBusyError(StoreError):
    """Another export is writing to the same output right now."""


class Store(Protocol):
    """What an export writes to (see :class:`SQLiteStore` and :class:`JsonLinesStore`).

    ``key`` names one export (its listing, filters and date bounds): a store may hold
    the resume points of several, and each resumes only its own.
    """

    def saved_state(self, key: str) -> ExportState | None:
        """The resume point saved for ``key`` (None: nothing exported there yet)."""
        ...

    def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        """Write ``records`` (upsert by ``id``), remove ``deletions``, and save ``state``,
        as one unit (a bare :class:`SyncCursor` is a state without a change feed)."""
        ...

    def close(self) -> None:
        """Release the output (everything saved is already durable)."""
        ...
