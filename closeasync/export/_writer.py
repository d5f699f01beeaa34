"""Saving in a worker thread, so the next page is fetched and parsed while this one is written.

Writing a page of ~6 KiB emails into SQLite takes about as long as fetching and parsing
it (measured in ``benchmarks/bench_export.py``); done one after the other, an export ran
at a quarter of the speed of the listing it copies. One thread writes, one batch at a
time, in the order given: each batch is saved with its resume point in one transaction,
so what is on disk is always a prefix of the walk and its cursor, as before.

A batch is handed over only once the one before is stored (:meth:`BackgroundWriter.wait`):
at most one is being written while the walk goes on, memory stays bounded, and the
export learns of each save (and of a failed one) in its own thread, in order.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

import anyio
import anyio.to_thread

from ..sync import SyncCursor
from ._stores_base import Store

__all__ = ["BackgroundWriter"]

_Batch = tuple[Sequence[dict[str, Any]], SyncCursor]


class BackgroundWriter:
    """Save batches with ``store.save`` in one worker thread, one at a time (see the module docs)."""

    def __init__(self, store: Store, key: str) -> None:
        self._store = store
        self._key = key
        self._queue: queue.Queue[_Batch | None] = queue.Queue(maxsize=1)
        self._idle = threading.Event()
        self._idle.set()
        self._failure: BaseException | None = None
        #: Rows stored so far (up to date after :meth:`wait`).
        self.saved = 0
        self._thread = threading.Thread(target=self._run, name="closeasync-export-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (batch := self._queue.get()) is not None:
            records, cursor = batch
            try:
                self._store.save(records, cursor, self._key)
                self.saved += len(records)
            except BaseException as exc:  # raised in the export's thread by wait()
                self._failure = exc
            finally:
                self._idle.set()

    @property
    def failed(self) -> bool:
        """Whether a save failed (nothing more is written)."""
        return self._failure is not None

    async def wait(self) -> None:
        """Return once the batch being written, if any, is stored.

        Raises:
            Exception: what its save raised.
        """
        if not self._idle.is_set():
            await anyio.to_thread.run_sync(self._idle.wait)
        if self._failure is not None:
            raise self._failure

    def start(self, records: Sequence[dict[str, Any]], cursor: SyncCursor) -> None:
        """Start writing a batch and its resume point (after :meth:`wait`: the writer is idle)."""
        if not self._idle.is_set() or self._failure is not None:
            raise RuntimeError("start() before wait(), or after a failed save")
        self._idle.clear()
        self._queue.put_nowait((records, cursor))

    async def finish(self) -> None:
        """Wait for the batch being written, then stop the thread. Not cancellable.

        Raises:
            Exception: what its save raised.
        """
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(self._idle.wait)
            self._queue.put_nowait(None)
            await anyio.to_thread.run_sync(self._thread.join)
        if self._failure is not None:
            raise self._failure
