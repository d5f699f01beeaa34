"""Prefetching that keeps pages in flight while the consumer works: ``async with`` a listing.

::

    async with close.emails.list(page_size=100, prefetch=10) as emails:
        async for email in emails:
            ...

Iterating a listing directly (``async for email in close.emails.list(prefetch=10)``)
fetches in windows and runs nothing while the consumer holds an item (see
:mod:`closeasync.listing.paginator`), so each window starts with every request of it on
the wire and the pipeline empties at the end of every window. Here the requests
belong to a task group that lives as long as the ``async with`` block, and
``prefetch`` pages are always asked for ahead of the consumer: as soon as it takes
one, the next offset goes out, so the wire never empties and a high-latency link
costs one round trip per ``prefetch`` pages with no pause between windows.

A page that has arrived waits as bytes and is parsed when the consumer reaches it.
Parsed, a page of 100 activities is thousands of dicts and lists; held while they
wait their turn, the garbage collector walks all of them on every full collection
(a quarter of the listing's time with 20 pages ahead, measured).

What it guarantees, like the windowed form:

- items come out in listing order, exactly the items sequential paging gives;
- the listing stops at the first page saying ``has_more: false``; requests beyond it
  (at most ``prefetch - 1``) are cancelled and their answers discarded; a page with
  fewer (or more) items than asked while ``has_more`` is true ends prefetching, and
  the rest is fetched one page at a time from the offset that page reached;
- a failed page raises its error once the items before it are out;
- at most ``prefetch`` pages are asked for ahead of the consumer, in flight or
  waiting as bytes (memory is bounded);
- every request goes through the client's pipeline (``max_concurrency``, retries,
  the shared rate-limit pacing);
- leaving the block by any route (the end, ``break``, an exception, cancellation)
  cancels whatever is still in flight and leaves no task running. Iterating after
  the block raises :class:`RuntimeError`.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import anyio

from ..models._converter import StructureError

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.abc import TaskGroup

    from .pages import Fetched, FetchPage, ResponseInfo, ResponseOrigin, Structurer

#: ``await later(skip, limit)`` fetches a page; calling what it returns parses it.
DeferredFetch = Callable[[int, int], Awaitable[Callable[[], "Fetched"]]]

__all__ = ["ItemStream", "StreamBlock"]

T = TypeVar("T")
log = logging.getLogger("closeasync")


class _Request:
    """One page asked for: its offsets, its outcome once done, and how to cancel it."""

    __slots__ = ("done", "error", "limit", "read", "scope", "skip")

    def __init__(self, skip: int, limit: int) -> None:
        self.skip = skip
        self.limit = limit
        self.read: Callable[[], Fetched] | None = None  # decodes the page that arrived
        self.error: Exception | None = None
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()


class ItemStream(Generic[T]):
    """The items of a listing, fetched ahead by the tasks of an ``async with`` block.

    Made by ``async with paginator as items``; see the module documentation.
    """

    def __init__(
        self,
        fetch: FetchPage,
        structurer: Structurer[T],
        *,
        page_size: int,
        max_items: int | None,
        depth: int,
        group: TaskGroup,
    ) -> None:
        self._fetch = fetch
        # Fetch now, parse when handed out (a plain fetch parses at once).
        later: DeferredFetch | None = getattr(fetch, "later", None)
        self._later: DeferredFetch = later if later is not None else self._parsed_at_once
        self._structurer = structurer
        self._page_size = page_size
        self._depth = max(1, depth)
        self._group = group
        self._queue: deque[_Request] = deque()  # asked for and not handed out, in listing order
        self._next_skip = 0
        self._unasked = max_items  # items not asked for yet (None: no limit)
        self._left = max_items  # items not handed out yet
        self._ahead = True  # offsets are computable: keep asking ahead
        self._sequential_at: int | None = None  # offsets broke: go on from here, one page at a time
        self._over = False
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
            if not await self._next_page():
                raise StopAsyncIteration
        index = self._index
        self._index = index + 1
        item = self._raw[index]
        structurer = self._structurer
        try:
            value: T = structurer.hook(item, structurer.target, self._origin, True)  # adopt: ours alone
        except StructureError as exc:
            self._finish()  # the listing ends at the misfit
            where = f"item {self._skip + index} of the listing"
            raise structurer.misfit(item, exc, self._info, where) from exc
        return value

    # -- asking ahead ---------------------------------------------------------------------

    def _ask(self) -> None:
        """Ask for pages until ``depth`` are ahead of the consumer (or the listing's end)."""
        while self._ahead and len(self._queue) < self._depth and (self._unasked is None or self._unasked > 0):
            size = self._page_size if self._unasked is None else min(self._page_size, self._unasked)
            request = _Request(self._next_skip, size)
            self._next_skip += size
            if self._unasked is not None:
                self._unasked -= size
            self._queue.append(request)
            self._group.start_soon(self._run, request)

    async def _run(self, request: _Request) -> None:
        with request.scope:
            try:
                request.read = await self._later(request.skip, request.limit)
            except Exception as exc:  # reported in order, once the pages before it are out
                request.error = exc
        request.done.set()

    async def _parsed_at_once(self, skip: int, limit: int) -> Callable[[], Fetched]:
        result = await self._fetch(skip, limit)
        return lambda: result

    def _stop_asking(self) -> None:
        """Nothing still queued is of use (the end, a failure, broken offsets): cancel it."""
        self._ahead = False
        while self._queue:
            self._queue.pop().scope.cancel()

    # -- handing out ----------------------------------------------------------------------

    async def _next_page(self) -> bool:
        """Load the next page into ``_raw``; False when the listing is over."""
        if self._closed:
            raise RuntimeError("iterate a prefetching listing inside its 'async with' block")
        if self._over or self._left == 0:
            return False
        self._raw = []
        if self._sequential_at is not None:
            return await self._sequential_page()
        self._ask()
        if not self._queue:
            self._over = True
            return False
        request = self._queue[0]
        # Off the queue only once it is done: a cancelled wait (a per-item timeout) must
        # leave the page where it is, for the next __anext__, not lose it.
        await request.done.wait()
        self._queue.popleft()
        try:
            if request.error is not None:
                raise request.error
            if request.read is None:  # pragma: no cover - only requests after an ending one are cancelled
                raise AssertionError("a prefetched page was cancelled before the end of the listing")
            result = request.read()  # parsed only now, its turn come
        except Exception:
            self._finish()
            raise
        self._take(result, request.skip)
        if not result.has_more:
            self._over = True
            self._stop_asking()
        elif not result.items:
            self._empty_page(request.skip)
        elif len(result.items) != request.limit:
            # Fewer (or more) items than asked, yet more to come: the offsets asked for
            # after it are wrong. Go on one page at a time from where it ended.
            self._sequential_at = request.skip + len(result.items)
            self._stop_asking()
        else:
            self._ask()  # its place is free: the next offset goes out now
        return True

    async def _sequential_page(self) -> bool:
        skip = self._sequential_at
        assert skip is not None
        size = self._page_size if self._left is None else min(self._page_size, self._left)
        try:
            result = await self._fetch(skip, size)
        except Exception:
            self._finish()  # a failed page ends the listing, as in every other form
            raise
        self._take(result, skip)
        if not result.has_more:
            self._over = True
        elif not result.items:
            self._empty_page(skip)
        else:
            self._sequential_at = skip + len(result.items)
        return True

    def _take(self, result: Fetched, skip: int) -> None:
        raw = result.items
        if self._left is not None:
            if len(raw) > self._left:
                raw = raw[: self._left]
            self._left -= len(raw)
        self._raw, self._index, self._info, self._skip = raw, 0, result.info, skip
        self._origin = self._structurer.origin(result.info)

    def _empty_page(self, skip: int) -> None:
        # has_more with an empty page would ask for the same offset forever.
        log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", skip)
        self._finish()

    def _finish(self) -> None:
        """The listing is over: cancel what is still on the wire, hand out nothing more."""
        self._over = True
        self._raw, self._index = [], 0
        self._stop_asking()

    def close(self) -> None:
        """End the stream (the block is over): nothing more is asked for or handed out."""
        self._finish()
        self._closed = True
        self._raw, self._index = [], 0  # so the next __anext__ says why it gives nothing


class StreamBlock(Generic[T]):
    """``async with`` it: an :class:`ItemStream` whose requests run in this block's task group."""

    def __init__(
        self,
        fetch: FetchPage,
        structurer: Structurer[T],
        *,
        page_size: int,
        max_items: int | None,
        depth: int,
    ) -> None:
        self._args = (fetch, structurer, page_size, max_items, depth)
        self._group: TaskGroup | None = None
        self._stream: ItemStream[T] | None = None

    async def __aenter__(self) -> ItemStream[T]:
        fetch, structurer, page_size, max_items, depth = self._args
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self._stream = ItemStream(
            fetch, structurer, page_size=page_size, max_items=max_items, depth=depth, group=group
        )
        return self._stream

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool | None:
        group, stream = self._group, self._stream
        self._group = self._stream = None
        if group is None or stream is None:  # pragma: no cover - only after __aenter__
            return None
        stream.close()
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            return await group.__aexit__(exc_type, exc, tb)  # anyio sorts out whose cancellation it is
        group.cancel_scope.cancel()  # whatever is still in flight is of no use now
        await group.__aexit__(None, None, None)
        return None  # the block's own error, if any, goes on as it was (not in an ExceptionGroup)
