"""Offset pagination (``_skip``/``_limit``/``has_more``) as async iterators.

A list method returns an :class:`AsyncPaginator` without sending anything. Iterate
it for items, call :meth:`~AsyncPaginator.pages` for pages, bound it with
:meth:`~AsyncPaginator.limit` and gather with :meth:`~AsyncPaginator.collect`::

    async for email in close.emails.list(lead_id="lead_1"):
        ...
    async for page in close.emails.list(lead_id="lead_1").pages():
        print(page.skip, len(page), page.has_more)
    first_50 = await close.emails.list(lead_id="lead_1").limit(50).collect()

Fetching loops (never recurses) and holds one page at a time, so memory stays flat
however long the listing; items are structured one at a time as they are reached.

Prefetching (``list(..., prefetch=N)``)
---------------------------------------
While every page so far came back full, the next offsets are known
(``_skip = page_index * page_size``), so N pages can be asked for at once. The
paginator works in *windows* of up to N pages, fetched concurrently in an anyio task
group, and hands out their items in order. Iterating items is pipelined: while the
items of one window are structured, the requests of the next window are on the
wire, so a high-latency link costs one round trip per N pages, not one per page.

To keep requests on the wire while the consumer works too, open the listing as a
block: ``async with close.emails.list(prefetch=N) as emails: async for email in
emails`` (see :mod:`closeasync.listing.stream`): up to N requests stay in flight as long as
the block runs, with no pause between windows.

All of it is structured concurrency: every request is started and finished (or
cancelled) inside the ``__anext__`` call that needs it, and nothing runs while the
consumer holds an item. Breaking out of ``async for``, an exception in the loop
body, or cancelling the consumer therefore leaves no task running and no request
in flight, whether or not the iterator is ever closed. The price is that the items
of one window are handed out once the next window has arrived, and that at most
two windows are held (one being read, one on the wire): memory is bounded by 2N
pages.

The listing stops at the first page that says ``has_more: false``; pages of the
same window beyond it are cancelled if still in flight, and discarded. A page that
comes back with fewer (or more) items than asked while ``has_more`` is true breaks
the offset arithmetic: the items up to it are kept, the rest of the window is
discarded, and the listing continues sequentially from the offset that page
reached, so no item is skipped or repeated relative to plain paging. A page that
fails raises its error once the items before it have been handed out. Requests go
through the client's pipeline, so ``max_concurrency``, retries and the shared
rate-limit pacing apply to each of them.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Generic, TypeVar

from ..errors import InvalidRequestError
from .pages import (
    Fetched,
    FetchPage,
    Page,
    ResponseInfo,
    Structurer,
    read_envelope,
    response_error,
    sequential_pages,
)
from .stream import ItemStream, StreamBlock
from .windows import Windows

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "AsyncPaginator",
    "Fetched",
    "ItemStream",
    "Page",
    "ResponseInfo",
    "Structurer",
    "read_envelope",
    "response_error",
]

T = TypeVar("T")


class AsyncPaginator(Generic[T]):
    """A lazy listing: nothing is requested until it is iterated.

    ``prefetch`` (0 or 1: one page at a time) fetches up to that many pages at once;
    see the module documentation for how, and what it guarantees.
    """

    def __init__(
        self,
        fetch: FetchPage,
        structurer: Structurer[T],
        *,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
    ) -> None:
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
            raise InvalidRequestError({"_limit": f"page_size must be a positive int, got {page_size!r}"})
        if max_items is not None and (not isinstance(max_items, int) or max_items < 0):
            raise InvalidRequestError({"_limit": f"limit must be a non-negative int, got {max_items!r}"})
        if not isinstance(prefetch, int) or isinstance(prefetch, bool) or prefetch < 0:
            raise InvalidRequestError({"prefetch": f"must be a non-negative int, got {prefetch!r}"})
        self._fetch = fetch
        self._structurer = structurer
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch
        self._block: StreamBlock[T] | None = None  # while open in an ``async with`` block

    async def __aenter__(self) -> ItemStream[T]:
        """Iterate with requests kept in flight for as long as the block runs.

        ``async with listing as items: async for item in items: ...`` keeps up to
        ``prefetch`` (at least 1) requests on the wire continuously, where iterating the
        listing directly fetches in windows (see :mod:`closeasync.listing.stream`). Leaving the
        block cancels what is still in flight.
        """
        if self._block is not None:
            raise RuntimeError("this listing is already open in an 'async with' block")
        block = self._stream_block()
        items = await block.__aenter__()
        self._block = block
        return items

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        block, self._block = self._block, None
        if block is None:  # pragma: no cover - only after __aenter__
            return None
        return await block.__aexit__(exc_type, exc, tb)

    def _stream_block(self) -> StreamBlock[T]:
        return StreamBlock(
            self._fetch,
            self._structurer,
            page_size=self._page_size,
            max_items=self._max_items,
            depth=self._prefetch,
        )

    @property
    def prefetch(self) -> int:
        """How many pages are fetched at once (0 or 1: one at a time)."""
        return self._prefetch

    def limit(self, n: int) -> AsyncPaginator[T]:
        """Return a paginator that stops after ``n`` items (and asks for no more)."""
        return AsyncPaginator(
            self._fetch, self._structurer, page_size=self._page_size, max_items=n, prefetch=self._prefetch
        )

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Yield pages until Close says ``has_more: false`` (or the limit is reached)."""
        source = self._windows().pages() if self._prefetch > 1 else self._sequential(0, self._max_items)
        async with aclosing(source) as pages:
            async for page in pages:
                yield page

    def _sequential(self, skip: int, remaining: int | None) -> AsyncGenerator[Page[T], None]:
        return sequential_pages(self._fetch, self._structurer, self._page_size, skip, remaining)

    def _windows(self) -> Windows[T]:
        return Windows(
            self._fetch,
            self._structurer,
            page_size=self._page_size,
            max_items=self._max_items,
            prefetch=self._prefetch,
        )

    # -- consuming ------------------------------------------------------------------------

    async def _items(self) -> AsyncGenerator[T, None]:
        structurer = self._structurer
        async with aclosing(self._sequential(0, self._max_items)) as pages:
            async for page in pages:
                # The pages never leave this generator: their items can be adopted.
                items: list[T] = []
                misfit = structurer.into(items, page.raw, page.info, page.skip, adopt=True)
                del page  # not kept alive while the next page is fetched
                items.reverse()
                while items:
                    yield items.pop()  # held by the consumer only, once handed out
                if misfit is not None:
                    raise misfit

    def __aiter__(self) -> AsyncIterator[T]:
        return self._windows().items() if self._prefetch > 1 else self._items()

    async def collect(self) -> list[T]:
        """Fetch every page and return all items (use :meth:`limit` to bound it)."""
        out: list[T] = []
        if self._prefetch > 1:
            # One call that runs to the end: its own block can keep the wire full.
            async with self._stream_block() as items:
                async for item in items:
                    out.append(item)
            return out
        async with aclosing(self._sequential(0, self._max_items)) as pages:
            async for page in pages:
                misfit = self._structurer.into(out, page.raw, page.info, page.skip, adopt=True)
                if misfit is not None:
                    raise misfit
        return out

    async def first(self) -> T | None:
        """Return the first item, or None when the listing is empty."""
        items = await self.limit(1).collect()
        return items[0] if items else None
