"""The export's saves: one at a time, in order, each made while the walk goes on fetching.

A save is one transaction of the store (rows, deletions and the resume point covering
them). :class:`Saves` starts a save and lets the walk go on, so the next page is
requested, received and read while the store writes the last one: on a store that works
elsewhere (a PostgreSQL server, its own process) the two overlap instead of taking turns.
A local store (SQLite, JSON Lines, written in this thread) gains nothing and loses nothing.

What keeps the copy right:

- At most one save is in flight, and the next one begins only once it has committed:
  a resume point is never saved before the rows it passes over.
- Once a save has failed, no other is made: a later one would move the resume point
  past rows that never reached the copy. The failure is raised as soon as the export
  learns of it: at once for a save that ended before the walk went on (a local store's),
  else by the next :meth:`Saves.save` or :meth:`Saves.wait` (the follow loop waits for
  each save before it scans again).
- A save that has begun runs to its end even when the export is being cancelled
  (:func:`to_the_end`), and is counted (``stats.saved``, ``on_save``, in the export's own
  task) only once it has. Rows received when a cancellation comes are saved too, also
  when it comes while the save before is ending.
- :meth:`Saves.unwind` runs while the export ends on an exception, so nothing is left
  writing after it (the caller closes the store then). A save failing meanwhile does not
  hide a cancellation: that goes on, the failure its cause, so ``asyncio.timeout`` still
  raises ``TimeoutError`` and Ctrl-C still ends the command as interrupted; any other
  exception gives way to the store's failure.

When the walk goes on matters: all of it shares one event loop, and a store on a server
needs the loop for each round trip before its rows are on the wire (PostgreSQL's
``BEGIN``, the ids check, the ``COPY`` request). Let loose at once, the walk would take
the loop to read the next page while those round trips waited, and the server would sit
idle, then work while the walk waits for it: the two take turns again (measured: wall
time = client + server). So :meth:`Saves.save` returns when the store says its rows
are handed over (:func:`handed_over`) or the save has ended, whichever comes first: a
store that never says it (SQLite, which saves in this thread) is waited for in full.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import anyio

from ._state import Deletion, ExportState
from ._stores_base import AsyncStore, StoreWriteError

if TYPE_CHECKING:
    from ._runner import ExportStats

__all__ = ["Saves", "handed_over", "to_the_end"]

#: Set while an export's save is being made: the event :func:`handed_over` sets.
_HANDED_OVER: ContextVar[asyncio.Event | None] = ContextVar("closeasync_handed_over", default=None)


def handed_over() -> None:
    """Called by an :class:`AsyncStore`'s ``save`` once what is left is its server's work
    (the rows are going on the wire): :func:`run_export` then fetches the next page while
    the server writes this one, instead of taking turns with it.

    Only a hint, and a no-op outside an export's save: the save is still one transaction,
    committed before the next one begins and before the export ends, and counted then. A
    store that never calls it (a local one, whose work is this process's) is awaited in full.

    >>> handed_over()  # outside an export: nothing happens

    >>> class WarehouseStore:  # doctest: +SKIP
    ...     async def save(self, records, state, key, deletions=()):
    ...         rows = encode(records)  # this process's work: the export waits for it
    ...         async with self.db.transaction():
    ...             handed_over()  # the rest is the server's: the export reads on meanwhile
    ...             await self.db.copy_rows(rows)
    ...             await self.db.save_state(key, state.to_json())
    """
    event = _HANDED_OVER.get()
    if event is not None:
        event.set()


class Saves:
    """Rows and deletions saved with the state ``state_now()`` gives when they are handed over."""

    def __init__(
        self,
        output: AsyncStore,
        key: str,
        stats: ExportStats,
        state_now: Callable[[], ExportState],
        last: ExportState | None,
        on_save: Callable[[ExportStats], None] | None,
    ) -> None:
        self._output = output
        self._key = key
        self._stats = stats
        self._state_now = state_now
        self._on_save = on_save
        #: The state of the last save begun (or the saved one the run started from).
        self.last = last
        self._pending: tuple[asyncio.Future[None], int] | None = None  # the save in flight, its rows
        self._broken = False

    async def save(self, records: list[dict[str, Any]], deletions: list[Deletion] | None = None) -> None:
        """Begin saving ``records`` and ``deletions`` with the state as it is now (after the
        save before has committed); nothing at all when nothing changed. Returns once the
        store has handed them over, or the save has ended (its failure raised then).

        Raises:
            StoreWriteError: this or an earlier save failed.
        """
        state = self._state_now()  # now: the walk moves on while the save is being made
        if not records and not deletions and state == self.last:
            return  # nothing new: the copy and its state stay as they are
        try:
            await self.wait()
        except BaseException as interrupted:
            if self._broken:
                raise
            # Cancelled while the save before ended: these rows were received, and are saved
            # (whole, and counted) before the cancellation goes on, as if it had come later.
            await self.unwind(interrupted, records, deletions)
            raise
        if self._broken:
            raise StoreWriteError("an earlier save of this export failed: nothing more is saved")
        self.last = state
        await self._hand_over(self._output.save(records, state, self._key, deletions or ()), len(records))

    async def wait(self) -> None:
        """Until the save in flight has ended, counted; its failure (or a cancellation that
        came meanwhile, once the save is counted) is raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            await self._settle(*pending)

    async def unwind(
        self,
        interrupted: BaseException,
        records: list[dict[str, Any]] | None = None,
        deletions: list[Deletion] | None = None,
    ) -> None:
        """While ``interrupted`` ends the export: save ``records`` and ``deletions``, if
        given (received, not saved yet), and wait for the save in flight. If a save fails
        meanwhile, a cancellation still goes on, the failure as its cause (``asyncio.timeout``
        still raises ``TimeoutError``, Ctrl-C still exits 130); anything else gives way to the
        store's failure."""
        try:
            if records is not None:
                await self.save(records, deletions)
            await self.wait()
        except BaseException as error:
            if error is not interrupted and isinstance(interrupted, anyio.get_cancelled_exc_class()):
                raise interrupted from error
            raise

    async def _hand_over(self, write: Coroutine[Any, Any, None], rows: int) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): saved before going on, as one step
            await self._settle(write, rows)
            return
        event = asyncio.Event()
        token = _HANDED_OVER.set(event)
        try:
            pending = asyncio.ensure_future(write)  # the task takes the event along
        finally:
            _HANDED_OVER.reset(token)
        self._pending = (pending, rows)
        told = asyncio.ensure_future(event.wait())
        try:
            await asyncio.wait((pending, told), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError as cancelled:
            # Cancelled while the save is being made: as when cancelled inside it, the save
            # goes on to its end and is counted, then the cancellation goes on.
            await self.unwind(cancelled)
            raise
        finally:
            told.cancel()
        if pending.done():  # ended (a local store, or failed early): counted, or raised, now
            await self.wait()

    async def _settle(self, save: Coroutine[Any, Any, None] | asyncio.Future[None], rows: int) -> None:
        """Await ``save`` to its end, then count it (in the export's own task)."""
        try:
            cancelled = await to_the_end(save)
        except BaseException:
            self._broken = True
            raise
        self._stats.saved += rows
        if self._on_save is not None:
            self._on_save(self._stats)
        if cancelled is not None:
            raise cancelled  # now that the save is done and counted


async def to_the_end(save: Coroutine[Any, Any, None] | asyncio.Future[None]) -> BaseException | None:
    """Run ``save`` to its end even if this task is cancelled meanwhile; return the
    cancellation that came meanwhile (for the caller to raise once the save is counted).

    An anyio shield holds off anyio's cancel scopes, not asyncio's own ``Task.cancel()``
    (what ``asyncio.run`` does on Ctrl-C, and ``asyncio.timeout``/``wait_for``): cancelled
    that way, an awaited save would stop inside its transaction, rolled back after the
    caller may have been told it was kept. On asyncio the save therefore runs as a task of
    its own, awaited through ``asyncio.shield`` until it is done.
    """
    cancelled: asyncio.CancelledError | None = None
    with anyio.CancelScope(shield=True):
        if not isinstance(save, asyncio.Future):
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # not asyncio (trio): the shield is enough
                await save
                return None
        task = asyncio.ensure_future(save)
        while not task.done():
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError as exc:
                if task.cancelled():
                    raise  # the save itself was cancelled, not this task
                cancelled = exc  # this task was: the save goes on to its end first
            except BaseException as error:
                if cancelled is None:
                    raise
                raise cancelled from error  # the save failed: nothing to count
        if cancelled is not None:
            if not task.cancelled() and task.exception() is not None:
                raise cancelled from task.exception()
            return cancelled
        task.result()  # its failure, also when it ended before it was awaited
    return None
