"""Offset listings as async iterators: :class:`AsyncPaginator`, its pages and its stream.

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
While every page so far came back full, the next offsets are known, so up to N pages
are asked for at once (see :mod:`closeasync.listing.engine`):

- ``async for item in listing``: the pages not yet fetched go out together inside the
  ``__anext__`` that needs the next page, so nothing runs while the consumer holds an
  item; breaking out, an exception in the loop body or a cancellation leaves no task
  running and no request in flight, whether or not the iterator is closed;
- ``async with listing as items: async for item in items``: the requests belong to a
  task group that lives as long as the block, and a request goes out as soon as the
  consumer takes a page, so the wire never empties and a high-latency link costs one
  round trip per N pages. Leaving the block by any route cancels what is in flight;
  iterating after it raises :class:`RuntimeError`.

Either way items come out in listing order, exactly those sequential paging gives:
the listing stops at the first page saying ``has_more: false``; a page with fewer (or
more) items than asked while ``has_more`` is true ends prefetching and the rest is
fetched one page at a time from the offset that page reached; a failed page raises its
error once the items before it are out; at most N pages wait ahead of the consumer, as
bytes (memory is bounded). Every request goes through the client's pipeline
(``max_concurrency``, retries, the shared rate-limit pacing).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from ..errors import InvalidRequestError
from ..models._converter import StructureError
from ..rules._fields import shown
from .engine import FlowPage, PageFlow
from .rules import OffsetRule

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.abc import TaskGroup

    from ..models.responses import ResponseInfo, ResponseOrigin, Structurer
    from .fetch import PageFetcher
    from .rules import PageRule

__all__ = ["AsyncPaginator", "ItemStream", "Page"]

T = TypeVar("T")
#: Makes a listing's page rule from its page size and limit (:class:`OffsetRule` by default).
RuleFactory = Callable[[int, "int | None"], "PageRule"]


def _count(value: object, name: str, what: str, least: int) -> int:
    """``value`` checked to be an int of at least ``least``, else InvalidRequestError on ``name``."""
    if not isinstance(value, int) or isinstance(value, bool) or not least <= value < 2**63:
        raise InvalidRequestError({name: f"{what} (below 2**63), got {shown(value)}"})
    return value


class Page(Generic[T]):
    """One page of a listing: the raw JSON items, structured lazily on access.

    Attributes:
        raw: the JSON objects exactly as Close sent them.
        has_more: Close's ``has_more``.
        skip: the ``_skip`` this page was fetched with.
        info: the status, method and URL of the response it came in.
    """

    __slots__ = ("__weakref__", "_structurer", "has_more", "info", "raw", "skip")

    def __init__(
        self,
        raw: list[Any],
        *,
        has_more: bool,
        skip: int,
        structurer: Structurer[T],
        info: ResponseInfo | None = None,
    ):
        self.raw = raw
        self.has_more = has_more
        self.skip = skip
        self.info = info
        self._structurer = structurer

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self) -> Iterator[T]:
        structurer = self._structurer
        hook, target, origin = structurer.hook, structurer.target, structurer.origin(self.info)
        for index, item in enumerate(self.raw):
            try:
                value: T = hook(item, target, origin)
            except StructureError as exc:
                raise structurer.misfit(
                    item, exc, self.info, f"item {self.skip + index} of the listing"
                ) from exc
            yield value

    @property
    def items(self) -> list[T]:
        """Every item of the page, structured (each access structures them again)."""
        return list(self)

    def __repr__(self) -> str:
        return f"<Page skip={self.skip} items={len(self.raw)} has_more={self.has_more}>"


class AsyncPaginator(Generic[T]):
    """A lazy listing: nothing is requested until it is iterated.

    ``prefetch`` (0 or 1: one page at a time) fetches up to that many pages at once;
    see the module documentation for how, and what it guarantees. ``rule`` says how
    pages follow each other: offsets (most lists) or a cursor (the event log, which
    cannot be asked ahead: there ``prefetch`` changes nothing).
    """

    def __init__(
        self,
        fetcher: PageFetcher,
        structurer: Structurer[T],
        *,
        page_size: int = 100,
        max_items: int | None = None,
        prefetch: int = 0,
        rule: RuleFactory = OffsetRule,
    ) -> None:
        _count(page_size, "_limit", "page_size must be a positive int", 1)
        if max_items is not None:
            _count(max_items, "_limit", "limit must be a non-negative int", 0)
        _count(prefetch, "prefetch", "must be a non-negative int", 0)
        self._fetcher = fetcher
        self._structurer = structurer
        self._page_size = page_size
        self._max_items = max_items
        self._prefetch = prefetch
        self._rule = rule
        self._block: _Block[T] | None = None  # while open in ``async with``

    @property
    def prefetch(self) -> int:
        """How many pages are fetched at once (0 or 1: one at a time)."""
        return self._prefetch

    def limit(self, n: int) -> AsyncPaginator[T]:
        """Return a paginator that stops after ``n`` items (and asks for no more)."""
        return AsyncPaginator(
            self._fetcher,
            self._structurer,
            page_size=self._page_size,
            max_items=n,
            prefetch=self._prefetch,
            rule=self._rule,
        )

    def _flow(self, group: TaskGroup | None = None, depth: int | None = None) -> PageFlow:
        rule = self._rule(self._page_size, self._max_items)
        return PageFlow(rule, self._fetcher, depth=self._prefetch if depth is None else depth, group=group)

    def _page(self, page: FlowPage) -> Page[T]:
        return Page(
            page.items,
            has_more=page.fetched.has_more,
            skip=page.asked.position,
            structurer=self._structurer,
            info=page.fetched.info,
        )

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Yield pages until Close says ``has_more: false`` (or the limit is reached)."""
        flow = self._flow()
        try:
            while (page := await flow.next()) is not None:
                if page.items:
                    yield self._page(page)
        finally:
            flow.close()

    async def _items(self) -> AsyncGenerator[T, None]:
        structurer = self._structurer
        flow = self._flow()
        try:
            while (page := await flow.next()) is not None:
                items: list[T] = []
                misfit = structurer.into(items, page.items, page.fetched.info, page.asked.position)
                del page  # not kept alive while the next page is fetched
                items.reverse()
                while items:
                    yield items.pop()  # held by the consumer only, once handed out
                if misfit is not None:
                    raise misfit
        finally:
            flow.close()

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def collect(self) -> list[T]:
        """Fetch every page and return all items (use :meth:`limit` to bound it)."""
        out: list[T] = []
        if self._prefetch > 1:
            # One call that runs to the end: its own block keeps the wire full.
            async with _Block(self._flow, self._structurer, self._prefetch) as items:
                async for item in items:
                    out.append(item)
            return out
        flow = self._flow()
        while (page := await flow.next()) is not None:
            misfit = self._structurer.into(out, page.items, page.fetched.info, page.asked.position)
            if misfit is not None:
                raise misfit
        return out

    async def first(self) -> T | None:
        """Return the first item, or None when the listing is empty."""
        items = await self.limit(1).collect()
        return items[0] if items else None

    # -- the ``async with`` block ----------------------------------------------------------

    async def __aenter__(self) -> ItemStream[T]:
        """Iterate with requests kept in flight for as long as the block runs.

        ``async with listing as items: async for item in items: ...`` keeps up to
        ``prefetch`` (at least 1) requests on the wire continuously. Leaving the block
        cancels what is still in flight.
        """
        if self._block is not None:
            raise RuntimeError("this listing is already open in an 'async with' block")
        block = _Block(self._flow, self._structurer, self._prefetch)
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


class _Block(Generic[T]):
    """``async with`` it: an :class:`ItemStream` whose requests run in this block's task group."""

    def __init__(
        self, flow: Callable[[TaskGroup, int], PageFlow], structurer: Structurer[T], prefetch: int
    ) -> None:
        self._make_flow = flow
        self._structurer = structurer
        self._depth = max(1, prefetch)
        self._open: tuple[TaskGroup, ItemStream[T]] | None = None

    async def __aenter__(self) -> ItemStream[T]:
        group = anyio.create_task_group()
        await group.__aenter__()
        stream = ItemStream(self._make_flow(group, self._depth), self._structurer)
        self._open = (group, stream)
        return stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        if self._open is None:  # pragma: no cover - only after __aenter__
            return None
        (group, stream), self._open = self._open, None
        stream.close()
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            return await group.__aexit__(exc_type, exc, tb)  # anyio sorts out whose cancellation it is
        group.cancel_scope.cancel()  # whatever is still in flight is of no use now
        await group.__aexit__(None, None, None)
        return None  # the block's own error, if any, goes on as it was (not in an ExceptionGroup)


class ItemStream(Generic[T]):
    """The items of a listing, fetched ahead by the tasks of an ``async with`` block.

    Made by ``async with paginator as items``; see the module documentation.
    """

    def __init__(self, flow: PageFlow, structurer: Structurer[T]) -> None:
        self._flow = flow
        self._structurer = structurer
        self._closed = False
        self._raw: list[Any] = []  # the page being handed out, as JSON
        self._index = 0
        self._info: ResponseInfo | None = None
        self._origin: ResponseOrigin | None = None  # kept by each model, for FieldValueError
        self._skip = 0

    def __aiter__(self) -> ItemStream[T]:
        return self

    async def __anext__(self) -> T:
        while self._index >= len(self._raw):  # the page is used up: the next one, in order
            if self._closed:
                raise RuntimeError("iterate a prefetching listing inside its 'async with' block")
            page = await self._flow.next()
            if page is None:
                raise StopAsyncIteration
            info = page.fetched.info
            self._raw, self._index, self._info, self._skip = page.items, 0, info, page.asked.position
            self._origin = self._structurer.origin(info)
        index = self._index
        self._index = index + 1
        item = self._raw[index]
        structurer = self._structurer
        try:
            value: T = structurer.hook(item, structurer.target, self._origin)
        except StructureError as exc:
            self._flow.close()  # the listing ends at the misfit
            self._raw, self._index = [], 0
            raise structurer.misfit(
                item, exc, self._info, f"item {self._skip + index} of the listing"
            ) from exc
        return value

    def close(self) -> None:
        """End the stream (the block is over): nothing more is asked for or handed out."""
        self._flow.close()
        self._closed = True
        self._raw, self._index = [], 0  # so the next __anext__ says why it gives nothing
