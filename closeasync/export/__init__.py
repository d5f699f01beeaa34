"""Export emails, SMS or all activities to SQLite, PostgreSQL or JSON Lines, resumably.

This is what ``closeasync export`` runs, and it uses only the public SDK: a sync walk
(:meth:`close.emails.sync() <closeasync.resources.emails.EmailsResource.sync>`), then a
change feed over Close's event log (:meth:`close.events.changes()
<closeasync.resources.events.EventsResource.changes>`), whose cursors are saved in the
same transaction as the rows they cover, so an export stopped at any point (Ctrl-C, a
crash, a lost network) goes on later without losing or repeating a row.

>>> async def nightly(close):  # doctest: +SKIP
...     store = SQLiteStore("close.sqlite")
...     try:
...         stats = await run_export(close, ExportSpec(what="activities"), store, resume=True)
...     finally:
...         store.close()
...     print(f"{stats.items} new activities: {dict(stats.by_type)}")

A resumed export brings the copy up to date: a run that was interrupted is finished
first, activities created since the last run are added, and every edit and deletion the
event log recorded since is applied (edited objects fetched again, deleted ones removed
and recorded). A store keeps an :class:`ExportState` (both cursors) per export.

The SQLite and JSON Lines stores are synchronous (:class:`Store`); :class:`PostgresStore`
(the ``postgres`` extra: asyncpg) is an :class:`AsyncStore`, closed with ``await
store.aclose()``. :func:`run_export` takes either (:func:`async_store` is how), and
fetches the next page while an async store's server writes the last one
(:func:`handed_over`).
"""

from __future__ import annotations

from ._postgres import PostgresStore
from ._progress import Progress, summary
from ._runner import ExportStats, run_export
from ._saves import handed_over
from ._spec import ExportSpec, What
from ._sqlite import SQLiteStore
from ._state import Deletion, ExportState
from ._stores import JsonLinesStore, StreamStore
from ._stores_base import AsyncStore, Store, StoreBusyError, StoreError, StoreWriteError, async_store
from ._tables import table_for

__all__ = [
    "AsyncStore",
    "Deletion",
    "ExportSpec",
    "ExportState",
    "ExportStats",
    "JsonLinesStore",
    "PostgresStore",
    "Progress",
    "SQLiteStore",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreWriteError",
    "StreamStore",
    "What",
    "async_store",
    "handed_over",
    "run_export",
    "summary",
    "table_for",
]
