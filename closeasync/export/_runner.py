"""The export loop: walk a sync, save rows and the resume point together, count everything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import attrs

from .. import SyncCursor
from ..models import to_dict
from ._spec import ExportSpec
from ._stores_base import Store
from ._tables import UNTYPED

if TYPE_CHECKING:
    from .. import CloseAsync, RequestEvent

__all__ = ["ExportStats", "run_export"]

#: Save at least this often (rows), whatever the page size.
SAVE_EVERY = 500


@attrs.define
class ExportStats:
    """What an export did so far; pass :meth:`record` as the client's ``on_event``.

    >>> stats = ExportStats()
    >>> stats.items, stats.saved, stats.rate_limit_waits
    (0, 0, 0)
    """

    items: int = 0
    """Items received from Close in this run."""
    saved: int = 0
    """Items saved to the store (the rest of ``items`` is in the batch being written)."""
    pages: int = 0
    by_type: Counter[str] = attrs.Factory(Counter)
    rate_limit_waits: int = 0
    """Waits for Close's rate limit: paced before sending, or after a 429."""
    waited: float = 0.0
    """Seconds spent in those waits."""
    retries: int = 0
    """Attempts repeated after a failure that was not a 429 (5xx, reset, timeout)."""
    resumed_from: SyncCursor | None = None
    """The saved resume point this run started from, if any."""
    finished: bool = False
    started: float = attrs.Factory(time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Items per second so far."""
        seconds = self.seconds
        return self.items / seconds if seconds > 0 else 0.0

    def record(self, event: RequestEvent) -> None:
        """Count the client's waits and retries (``CloseAsync(on_event=stats.record)``)."""
        if event.kind == "wait":
            self.rate_limit_waits += 1
            self.waited += event.delay
        elif event.kind == "retry":
            if event.status == 429:
                self.rate_limit_waits += 1
                self.waited += event.delay
            else:
                self.retries += 1


async def run_export(
    close: CloseAsync,
    spec: ExportSpec,
    store: Store,
    *,
    resume: bool = False,
    stats: ExportStats | None = None,
    on_save: Callable[[ExportStats], None] | None = None,
    save_every: int = SAVE_EVERY,
) -> ExportStats:
    """Export what ``spec`` selects into ``store``; return what was done.

    With ``resume`` the export goes on from the resume point ``store`` saved for the
    same listing, filters and date bounds: an interrupted run is finished without fetching again
    what was saved, and a finished one is followed by what was created since. Rows
    and the resume point are saved together after each page (and at least every
    ``save_every`` rows), before the walk waits for the next one, and once more when the
    run ends for any reason (an error, Ctrl-C, cancellation): nothing is lost or written
    twice, and a run killed outright (``kill -9``) loses at most the page it was reading.
    ``on_save`` is called after each save (to show progress).

    >>> async def example(close):  # doctest: +SKIP
    ...     store = SQLiteStore("close.sqlite")
    ...     stats = await run_export(close, ExportSpec(what="emails"), store, resume=True)
    ...     print(stats.items, dict(stats.by_type))

    Raises:
        InvalidRequestError: a filter Close does not take (before anything is sent).
        StoreError: the store holds another export.
        CloseError: what the client raises when Close cannot be read (after retries).
    """
    stats = stats if stats is not None else ExportStats()
    key = spec.key(close)
    saved = store.saved_cursor(key) if resume else None
    stats.resumed_from = saved
    start: SyncCursor | datetime | None = saved if saved is not None else spec.since
    walk = spec.open(close, start)
    batch: list[dict[str, Any]] = []

    def save() -> None:
        nonlocal batch
        store.save(batch, walk.cursor, key)
        stats.saved += len(batch)
        batch = []
        if on_save is not None:
            on_save(stats)

    try:
        async for item in walk:
            record = to_dict(item)  # exactly what Close sent: no conversion at all
            if "_type" not in record:  # Close sends it with every activity; the table needs it
                record["_type"] = getattr(type(item), "TYPE", None) or UNTYPED
            batch.append(record)
            stats.items += 1
            stats.by_type[str(record["_type"])] += 1
            stats.pages = walk.requests
            # The page is used up and the next item means a request: save before waiting,
            # so a run killed while it waits loses nothing it had received.
            if walk.buffered == 0 or len(batch) >= save_every:
                save()
    except BaseException:
        # The cursor covers exactly the items handed out, all of them in the batch or
        # saved: saving now keeps the work of an interrupted run (Ctrl-C, a lost network).
        if batch:
            save()
        raise
    stats.pages = walk.requests
    save()  # also the final cursor: the walk's top becomes the watermark
    stats.finished = True
    return stats
