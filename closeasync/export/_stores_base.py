"""What every export store is: the protocols, the one adapter between them, and their errors.

A store is either synchronous (:class:`Store`: SQLite, JSON Lines; a save is a quick local
write, done in the export's own thread) or asynchronous (:class:`AsyncStore`: PostgreSQL,
whose driver is asyncio-native). :func:`async_store` is the one place that tells them apart:
the export runs every store as an :class:`AsyncStore`, a synchronous one wrapped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .. import SyncCursor
from ._state import Deletion, ExportState

__all__ = ["AsyncStore", "Store", "StoreBusyError", "StoreError", "StoreWriteError", "async_store"]


class StoreError(Exception):
    """The output cannot be used as asked (exists without resume, another export's file...)."""


class StoreBusyError(StoreError):
    """Another export is writing to the same output right now."""


class StoreWriteError(StoreError):
    """The output failed while the export wrote to it (a lost database connection, say).

    What was saved before stays saved with its resume point: run the export again with
    ``resume`` (``--since-last``) once the output is back.
    """


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


@runtime_checkable
class AsyncStore(Protocol):
    """A store whose calls are coroutines (see :class:`PostgresStore`); the same contract as
    :class:`Store`, with ``aclose()`` for ``close()``.

    :func:`run_export` lets a ``save`` that has started run to its end even when the run is
    cancelled (by anyio or by asyncio's own ``Task.cancel()``), so it is committed or rolled
    back as a whole, and the rows received before a Ctrl-C are saved. A store called directly
    and cancelled mid-save must leave nothing half done (PostgreSQL's drops its connection).
    A store whose server does the writing calls :func:`handed_over` once its rows are on the
    way: the export then fetches the next page meanwhile (one save at a time still).
    """

    async def saved_state(self, key: str) -> ExportState | None:
        """The resume point saved for ``key`` (None: nothing exported there yet)."""
        ...

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        """Write ``records``, remove ``deletions`` and save ``state`` in one transaction."""
        ...

    async def aclose(self) -> None:
        """Release the output (everything saved is already durable)."""
        ...


class _Awaited:
    """A synchronous store behind the :class:`AsyncStore` calls (run in the caller's thread:
    a save is a local write that a worker thread did not make faster, see DESIGN.md)."""

    __slots__ = ("store",)

    def __init__(self, store: Store) -> None:
        self.store = store

    async def saved_state(self, key: str) -> ExportState | None:
        return self.store.saved_state(key)

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        self.store.save(records, state, key, deletions)

    async def aclose(self) -> None:
        self.store.close()

    def __repr__(self) -> str:
        return f"async_store({self.store!r})"


def async_store(store: Store | AsyncStore) -> AsyncStore:
    """``store`` as an :class:`AsyncStore`: itself if it is one, a synchronous one wrapped.

    An async store is told by its ``aclose`` (a :class:`Store` has ``close``).

    >>> import asyncio, tempfile, os
    >>> from closeasync.export import SQLiteStore
    >>> store = async_store(SQLiteStore(os.path.join(tempfile.mkdtemp(), "close.sqlite")))
    >>> asyncio.run(store.saved_state("sms")) is None
    True
    >>> asyncio.run(store.aclose())
    """
    if isinstance(store, AsyncStore):
        return store
    return _Awaited(store)
