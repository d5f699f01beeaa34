"""The export loop: walk a sync, save rows and the resume point together, count everything."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from .. import ChangeCursor, ChangeFeed, SyncCursor, SyncIterator
from ..models import Event, to_dict
from ._changes import Walked, changes_of
from ._saves import Saves
from ._spec import ExportSpec
from ._state import ExportState
from ._stores_base import AsyncStore, Store, async_store
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
    walked: bool = False
    """The walk by creation date is done (what follows is the change feed)."""
    events: int = 0
    """Events of the event log read by the change feed."""
    updated: int = 0
    """Rows written because the event log said their object changed (new or edited)."""
    deleted: int = 0
    """Objects removed from the copy (deleted in Close, or no longer matching the filters)."""
    changes_from_now: bool = False
    """The copy had no change feed yet (made by an earlier version): changes are followed
    from this run on, and edits made before it to rows already copied are not known."""
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
    store: Store | AsyncStore,
    *,
    resume: bool = False,
    stats: ExportStats | None = None,
    on_save: Callable[[ExportStats], None] | None = None,
    save_every: int = SAVE_EVERY,
    changes: bool = True,
    poll: float | None = None,
    clock: Callable[[], datetime] | None = None,
) -> ExportStats:
    """Export what ``spec`` selects into ``store`` and keep it equal to Close; return what was done.

    ``store`` is a :class:`Store` (SQLite, JSON Lines) or an :class:`AsyncStore`
    (PostgreSQL); the caller opens it and closes it.

    A first run (or one without ``resume``) walks everything by creation date. With
    ``resume`` the export goes on from the state ``store`` saved for the same listing,
    filters and date bounds: an interrupted walk is finished without fetching again what
    was saved, then what was created since is added, and (``changes``) every edit and
    deletion Close's event log recorded since the last run is applied: edited objects
    are fetched again and replaced, deleted ones leave the copy (see
    :mod:`closeasync.export._changes`). A copy's change feed starts when its first walk
    starts, so nothing changed during the walk is missed. ``poll=seconds`` keeps
    following changes until cancelled.

    Rows, deletions and the state are saved together after each page of the walk (and at
    least every ``save_every`` rows), after each scan of the event log, and once more when
    the run ends for any reason (an error, Ctrl-C, cancellation): nothing is lost or
    written twice, and a run killed outright (``kill -9``) loses at most the page it was
    reading and the one being saved (the next run fetches them again). A save is made while
    the next page is fetched, one at a time and in order (see :mod:`closeasync.export._saves`).
    A run with nothing new writes nothing. ``on_save`` is called after each save.
    ``clock`` overrides the time on Close's side (by default read from the ``Date`` of
    Close's answers), for where a new change feed starts and for the 30-day retention.

    >>> async def example(close):  # doctest: +SKIP
    ...     store = SQLiteStore("close.sqlite")
    ...     stats = await run_export(close, ExportSpec(what="emails"), store, resume=True)
    ...     print(stats.items, stats.updated, stats.deleted)

    Raises:
        InvalidRequestError: a filter Close does not take (before anything is sent).
        StoreError: the store holds another export.
        EventLogExpiredError: the last run is older than Close keeps events (walk again
            without ``resume``).
        CloseError: what the client raises when Close cannot be read (after retries).
    """
    stats = stats if stats is not None else ExportStats()
    key = spec.key(close)
    output = async_store(store)
    previous = await output.saved_state(key)
    saved = previous if resume else None
    # Close's clock as the walk starts: what existed then the walk lists, so its creation
    # events need no fetch (as for sync(), an object Close's list index shows late is the
    # walk's own limit: see closeasync.listing.keyset).
    started = (clock() if clock is not None else await close.events.server_time()) if changes else None
    stats.resumed_from = saved.walk if saved is not None else None
    feed: ChangeFeed | None = None
    if changes:
        since: ChangeCursor | datetime
        if previous is not None and previous.changes is not None:
            # Resumed, or walked again from scratch over a copy: either way what changed since
            # the last run (deletions too, which a walk cannot see) is applied from there.
            since = previous.changes
        else:
            # A new copy follows changes from the moment its walk starts, by Close's clock
            # (less the overlap the feed rescans); a copy made before the export followed
            # changes, from now on.
            assert started is not None
            since = started - ChangeFeed.DEFAULT_OVERLAP  # the feed's own overlap
            stats.changes_from_now = saved is not None
        feed = close.events.changes(since=since, poll=poll, clock=clock)
    kept_changes = previous.changes if previous is not None else None  # without a feed, as it was
    start: SyncCursor | datetime | None = saved.walk if saved is not None else spec.since
    walk = spec.open(close, start)
    saves = Saves(
        output,
        key,
        stats,
        lambda: ExportState(walk=walk.cursor, changes=feed.cursor if feed is not None else kept_changes),
        saved,
        on_save,
    )
    try:
        await _walk(walk, stats, saves, save_every)
        stats.walked = True
        if feed is not None:
            walked = (saved.walk.watermark if saved is not None else None, started, walk.cursor.watermark)
            await _follow(close, spec, feed, stats, saves, save_every, walked)
            if _aged(saves.last, feed.cursor):
                await saves.save([])  # nothing changed, but the copy is a day further: keep it within 30 days
    except BaseException as interrupted:
        await saves.unwind(interrupted)  # nothing is left writing once the run has ended
        raise
    await saves.wait()
    stats.finished = True
    return stats


async def _walk(walk: SyncIterator[Any], stats: ExportStats, saves: Saves, save_every: int) -> None:
    """The walk by creation date: every item handed out is saved with the cursor covering it."""
    batch: list[dict[str, Any]] = []
    try:
        async for item in walk:
            record = to_dict(item)  # exactly what Close sent: no conversion at all
            if "_type" not in record:  # Close sends it with every activity; the table needs it
                record["_type"] = getattr(type(item), "TYPE", None) or UNTYPED
            batch.append(record)
            stats.items += 1
            stats.by_type[str(record["_type"])] += 1
            stats.pages = walk.requests
            # The page is used up and the next item means a request: the save begins before
            # it (and is made while it is on the wire), so a run killed while it waits loses
            # at most what the store had not committed, which its resume point never covers.
            if walk.buffered == 0 or len(batch) >= save_every:
                # Taken out first: a save cancelled once it has ended must not be made again
                # below, and one that failed is not tried again (its rows are fetched again).
                saving, batch = batch, []
                await saves.save(saving)
    except BaseException as interrupted:
        # The cursor covers exactly the items handed out, all of them in the batch or
        # saved: saving now keeps the work of an interrupted run (Ctrl-C, a lost network).
        await saves.unwind(interrupted, batch or None)  # None: nothing left to save
        raise
    stats.pages = walk.requests
    await saves.save(batch)  # also the final cursor: the walk's top becomes the watermark
    await saves.wait()


async def _follow(
    close: CloseAsync,
    spec: ExportSpec,
    feed: ChangeFeed,
    stats: ExportStats,
    saves: Saves,
    save_every: int,
    walked: Walked,
) -> None:
    """Apply the event log's changes, a scan at a time: each batch with the feed's cursor."""
    events: list[Event] = []

    async def apply() -> None:
        nonlocal events
        found = await changes_of(close, spec, events, walked)
        stats.events += len(events)
        stats.updated += len(found.upserts)
        stats.deleted += len(found.deletions)
        await saves.save(found.upserts, found.deletions)
        # Saved before reading on: a failure stops a --follow at once (the next save may be
        # far off), and a scan's requests have little to overlap with.
        await saves.wait()
        events = []

    async for event in feed:
        events.append(event)
        if feed.buffered == 0 or len(events) >= save_every:
            await apply()
    if events:  # pragma: no cover - the loop applies at the end of every scan
        await apply()


#: A run that found no change saves its place in the event log once it is this far ahead
#: of the saved one (a quiet copy stays within Close's 30 days; a run right after another
#: still writes nothing).
KEEP_FRESH = timedelta(days=1)


def _aged(saved: ExportState | None, now: ChangeCursor) -> bool:
    before = saved.changes.watermark if saved is not None and saved.changes is not None else None
    return before is not None and now.watermark is not None and now.watermark - before > KEEP_FRESH
