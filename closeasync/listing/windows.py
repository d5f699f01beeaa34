"""Prefetching in windows, for iterating a listing directly (``async for``).

See :mod:`closeasync.listing.paginator` for what it guarantees: each window of up to N pages
is fetched in a task group inside the ``__anext__`` that needs it, so nothing runs
while the consumer holds an item.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Generic, TypeVar

import anyio
import anyio.lowlevel

from .pages import Fetched, FetchPage, Page, Structurer, sequential_pages

__all__ = ["Windows"]

T = TypeVar("T")
log = logging.getLogger("closeasync")

#: Items structured between two pauses while the next window is in flight.
_SLICE = 16
#: Pauses before structuring starts, so the next window's requests are sent first.
_STARTUP_CHECKPOINTS = 8


class _Slot:
    """One page of a prefetch window: its offsets, its outcome, and how to cancel it."""

    __slots__ = ("error", "limit", "result", "scope", "skip")

    def __init__(self, skip: int, limit: int) -> None:
        self.skip = skip
        self.limit = limit
        self.result: Fetched | None = None
        self.error: Exception | None = None
        self.scope = anyio.CancelScope()

    def ends_window(self) -> bool:
        """Whether the pages after this one are of no use (the end, a failure, broken offsets)."""
        result = self.result
        return result is None or not result.has_more or len(result.items) != self.limit


class _Settled(Generic[T]):
    """What a finished window gave: its pages in order, and how the listing goes on."""

    __slots__ = ("error", "pages", "remaining", "resume_at", "sequential")

    def __init__(self) -> None:
        self.pages: list[Page[T]] = []
        self.error: Exception | None = None
        self.resume_at: int | None = None  # None: the listing is over
        self.sequential = False  # offsets broke: go on one page at a time
        self.remaining: int | None = None


class Windows(Generic[T]):
    """The windowed walk of one listing: :meth:`pages` and :meth:`items`."""

    def __init__(
        self,
        fetch: FetchPage,
        structurer: Structurer[T],
        *,
        page_size: int,
        max_items: int | None,
        prefetch: int,
    ) -> None:
        self._fetch = fetch
        self._structurer = structurer
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch

    def _sequential(self, skip: int, remaining: int | None) -> AsyncGenerator[Page[T], None]:
        return sequential_pages(self._fetch, self._structurer, self._page_size, skip, remaining)

    def _plan(self, skip: int, remaining: int | None) -> list[_Slot]:
        """The next window: up to ``prefetch`` pages from ``skip``, never past the limit."""
        slots: list[_Slot] = []
        while len(slots) < self._prefetch and (remaining is None or remaining > 0):
            size = self._page_size if remaining is None else min(self._page_size, remaining)
            slots.append(_Slot(skip, size))
            skip += size
            if remaining is not None:
                remaining -= size
        return slots

    async def _run(self, slot: _Slot, window: list[_Slot]) -> None:
        """Fetch one page of ``window``; when it ends the window, cancel the pages after it."""
        with slot.scope:
            try:
                slot.result = await self._fetch(slot.skip, slot.limit)
            except Exception as exc:  # reported in order, once the pages before it are out
                slot.error = exc
        if slot.ends_window() and not slot.scope.cancel_called:
            for later in window[window.index(slot) + 1 :]:
                later.scope.cancel()

    def _settle(self, window: list[_Slot], remaining: int | None) -> _Settled[T]:
        """Read a finished window in order: its pages, and where the listing goes on."""
        settled: _Settled[T] = _Settled()
        settled.remaining = remaining
        if not window:  # nothing was left to ask for
            return settled
        for slot in window:
            if slot.error is not None:
                settled.error = slot.error
                return settled
            got = slot.result
            if got is None:  # pragma: no cover - only slots after an ending one are cancelled
                raise AssertionError("a prefetched page was cancelled before the end of the listing")
            raw = got.items
            if remaining is not None and len(raw) > remaining:
                raw = raw[:remaining]
            if raw:
                page = Page(
                    raw, has_more=got.has_more, skip=slot.skip, structurer=self._structurer, info=got.info
                )
                settled.pages.append(page)
            if not got.has_more:
                return settled
            if not raw:
                log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", slot.skip)
                return settled
            if remaining is not None:
                remaining -= len(raw)
                settled.remaining = remaining
                if remaining <= 0:
                    return settled
            if len(got.items) != slot.limit:
                # Fewer (or more) items than asked, yet more to come: the offsets computed for
                # the rest of the window are wrong. Go on one page at a time from here.
                log.info(
                    "closeasync: page at _skip=%d had %d items for _limit=%d with has_more=true; "
                    "continuing without prefetch",
                    slot.skip,
                    len(got.items),
                    slot.limit,
                )
                settled.resume_at = slot.skip + len(got.items)
                settled.sequential = True
                return settled
        last = window[-1]
        settled.resume_at = last.skip + last.limit
        return settled

    async def _fetch_window(self, window: list[_Slot]) -> list[_Slot]:
        async with anyio.create_task_group() as tg:
            for slot in window:
                tg.start_soon(self._run, slot, window)
        return window

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Pages, a window at a time (every yield happens outside the task group)."""
        remaining = self._max_items
        window = await self._fetch_window(self._plan(0, remaining))
        while True:
            settled = self._settle(window, remaining)
            remaining = settled.remaining
            pages = settled.pages[::-1]
            settled.pages = []
            while pages:
                yield pages.pop()  # held by the consumer only, once handed out
            if settled.error is not None:
                raise settled.error
            if settled.resume_at is None:
                return
            if settled.sequential:
                async with aclosing(self._sequential(settled.resume_at, remaining)) as rest:
                    async for page in rest:
                        yield page
                return
            window = await self._fetch_window(self._plan(settled.resume_at, remaining))

    async def _structure_between(self, pages: list[Page[T]], out: list[T]) -> Exception | None:
        """Structure ``pages`` into ``out`` in short slices, letting other tasks run in between.

        The next window's requests are in flight meanwhile: each pause lets them go
        out, and lets their answers be read and decoded as they come in.
        """
        structurer = self._structurer
        for _ in range(_STARTUP_CHECKPOINTS):  # a request takes a few turns to reach the wire
            await anyio.lowlevel.checkpoint()
        for page in pages:
            raw = page.raw
            for start in range(0, len(raw), _SLICE):
                misfit = structurer.into(
                    out, raw[start : start + _SLICE], page.info, page.skip + start, adopt=True
                )
                if misfit is not None:
                    return misfit
                await anyio.lowlevel.checkpoint()
        return None

    async def items(self) -> AsyncGenerator[T, None]:
        """Items, pipelined: a window's items are structured while the next window is fetched."""
        structurer = self._structurer
        remaining = self._max_items
        window = await self._fetch_window(self._plan(0, remaining))
        while True:
            settled = self._settle(window, remaining)
            remaining = settled.remaining
            upcoming: list[_Slot] = []
            if settled.resume_at is not None and not settled.sequential and settled.error is None:
                upcoming = self._plan(settled.resume_at, remaining)
            items: list[T] = []
            misfit: Exception | None = None
            if upcoming:
                async with anyio.create_task_group() as tg:
                    for slot in upcoming:
                        tg.start_soon(self._run, slot, upcoming)
                    misfit = await self._structure_between(settled.pages, items)
                    if misfit is not None:
                        tg.cancel_scope.cancel()  # the listing ends at the misfit
            else:
                for page in settled.pages:
                    misfit = structurer.into(items, page.raw, page.info, page.skip, adopt=True)
                    if misfit is not None:
                        break
            settled.pages = []
            items.reverse()
            while items:
                yield items.pop()  # held by the consumer only, once handed out
            if misfit is not None:
                raise misfit
            if settled.error is not None:
                raise settled.error
            if settled.resume_at is None:
                return
            if settled.sequential:
                async with aclosing(self._sequential(settled.resume_at, remaining)) as rest:
                    async for page in rest:
                        for item in page:
                            yield item
                return
            window = upcoming
