"""Export emails, SMS or all activities to SQLite or JSON Lines, resumably.

This is what ``closeasync export`` runs, and it uses only the public SDK: a sync walk
(:meth:`close.emails.sync() <closeasync.resources.emails.EmailsResource.sync>`) whose
cursor is saved in the same transaction as the rows it covers, so an export stopped at
any point (Ctrl-C, a crash, a lost network) goes on later without losing or repeating
a row.

>>> async def nightly(close):  # doctest: +SKIP
...     store = SQLiteStore("close.sqlite")
...     try:
...         stats = await run_export(close, ExportSpec(what="activities"), store, resume=True)
...     finally:
...         store.close()
...     print(f"{stats.items} new activities: {dict(stats.by_type)}")

A resumed export follows *creation*: activities created since the last run are added
(and a run that was interrupted is finished first). Changes to activities already
exported (a draft sent later, say) are picked up by a full export without resume:
rows are upserted by id, so it replaces them in place.
"""

from __future__ import annotations

from ._progress import Progress, summary
from ._runner import ExportStats, run_export
from ._spec import ExportSpec, What
from ._sqlite import SQLiteStore
from ._stores import JsonLinesStore, StreamStore
from ._stores_base import Store, StoreBusyError, StoreError
from ._tables import table_for

__all__ = [
    "ExportSpec",
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
