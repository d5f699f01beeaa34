"""Export emails, SMS or all activities to SQLite or JSON Lines, resumably.

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
"""

from __future__ import annotations

from ._progress import Progress, summary
from ._runner import ExportStats, run_export
from ._spec import ExportSpec, What
from ._sqlite import SQLiteStore
from ._state import Deletion, ExportState
from ._stores import JsonLinesStore, StreamStore
from ._stores_base import Store, StoreBusyError, StoreError
from ._tables import table_for

__all__ = [
    "Deletion",
    "ExportSpec",
    "ExportState",
    "ExportStats",
    "JsonLinesStore",
    "Progress",
    "SQLiteStore",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StreamStore",
    "What",
    "run_export",
    "summary",
    "table_for",
]
