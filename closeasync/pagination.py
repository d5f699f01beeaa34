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
emails`` (see :mod:`closeasync._stream`): up to N requests stay in flight as long as
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

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar

import anyio
import anyio.lowlevel
import orjson

from ._auth import redact_exception
from ._serde import StructureError, converter
from ._stream import ItemStream
from .errors import InvalidRequestError, ResponseValidationError

if TYPE_CHECKING:
    from types import TracebackType

    from anyio.abc import TaskGroup

    from ._wire import Response

__all__ = [
    "AsyncPaginator",
    "Fetched",
    "ItemStream",
    "Page",
    "ResponseInfo",
    "Structurer",
    "read_envelope",
]

T = TypeVar("T")
log = logging.getLogger("closeasync")

#: Items structured between two pauses while the next window is in flight.
_SLICE = 16
#: Pauses before structuring starts, so the next window's requests are sent first.
_STARTUP_CHECKPOINTS = 8


class ResponseInfo(NamedTuple):
    """What is known of the response a page came in: enough to report a bad item."""

    status: int
    method: str
    url: str

    @classmethod
    def of(cls, response: Response) -> ResponseInfo:
        """The status, method and URL of ``response``."""
        request = response.request
        return cls(response.status, request.method if request else "", request.url if request else "")


class Fetched(NamedTuple):
    """One list response: its raw JSON items, Close's ``has_more``, and where it came from."""

    items: list[Any]
    has_more: bool
    info: ResponseInfo


#: ``fetch(skip, limit)`` returns one page of a listing.
FetchPage = Callable[[int, int], Awaitable[Fetched]]


def response_error(
    message: str, status: int, body: bytes, info: ResponseInfo | None, secrets: frozenset[str]
) -> ResponseValidationError:
    """A :class:`ResponseValidationError` saying what is known of the response, credentials removed."""
    method, url = (info.method, info.url) if info is not None else ("", "")
    error = ResponseValidationError(message, status=status, body=body, method=method, url=url)
    if secrets:
        redact_exception(error, secrets)  # as the client does for every error it raises
    return error


def read_envelope(data: Any, response: Response, secrets: frozenset[str] = frozenset()) -> Fetched:
    """Check a list response's envelope and return its items and ``has_more``.

    Raises:
        ResponseValidationError: not an object with a ``data`` list and a boolean ``has_more``.
    """
    info = ResponseInfo.of(response)
    if isinstance(data, dict):
        items = data.get("data")
        has_more = data.get("has_more", False)
        if isinstance(items, list) and isinstance(has_more, bool):
            return Fetched(items, has_more, info)
    raise response_error(
        "a list response must be an object with a 'data' list and a boolean 'has_more'",
        response.status,
        response.content,
        info,
        secrets,
    )


class Structurer(Generic[T]):
    """Turns Close's JSON into one model type (or the activity union).

    A misfit becomes :class:`~closeasync.errors.ResponseValidationError` carrying
    what is known: the response's status, method and URL, and as ``body`` the
    response's bytes (a single object) or the JSON of the one item that did not fit
    (an item of a page).
    """

    __slots__ = ("hook", "secrets", "target", "what")

    def __init__(self, target: Any, what: str, *, secrets: frozenset[str] = frozenset()) -> None:
        self.target = target
        self.what = what
        self.secrets = secrets  # kept out of every error (see closeasync.errors)
        self.hook: Callable[[Any, Any], Any] = converter.get_structure_hook(target)

    def __repr__(self) -> str:
        return f"<Structurer {self.what}>"

    def one(self, data: Any, response: Response) -> T:
        """Structure a whole response body.

        Raises:
            ResponseValidationError: it does not fit the model.
        """
        try:
            value: T = self.hook(data, self.target)
        except StructureError as exc:
            raise response_error(
                f"{self.what} response does not fit its model: {exc}",
                response.status,
                response.content,
                ResponseInfo.of(response),
                self.secrets,
            ) from exc
        return value

    def misfit(
        self, item: Any, exc: Exception, info: ResponseInfo | None, where: str
    ) -> ResponseValidationError:
        """The error for one ``item`` of a page that did not fit (``where``: which item)."""
        try:
            body = orjson.dumps(item)
        except TypeError:  # pragma: no cover - the item came from JSON
            body = b""
        error = response_error(
            f"{self.what} {where} does not fit its model: {exc}",
            info.status if info else 0,
            body,
            info,
            self.secrets,
        )
        error.__cause__ = exc
        return error

    def into(self, out: list[T], raw: list[Any], info: ResponseInfo | None, skip: int) -> Exception | None:
        """Append every item of ``raw`` to ``out``; return the misfit error where one stops it."""
        hook, target = self.hook, self.target
        try:
            out.extend([hook(item, target) for item in raw])
        except StructureError:
            for index, item in enumerate(raw):
                try:
                    out.append(hook(item, target))
                except StructureError as exc:
                    return self.misfit(item, exc, info, f"item {skip + index} of the listing")
        return None


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
        hook, target = structurer.hook, structurer.target
        for index, item in enumerate(self.raw):
            try:
                value: T = hook(item, target)
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
        self._group: TaskGroup | None = None  # while open in an ``async with`` block
        self._stream: ItemStream[T] | None = None

    async def __aenter__(self) -> ItemStream[T]:
        """Iterate with requests kept in flight for as long as the block runs.

        ``async with listing as items: async for item in items: ...`` keeps up to
        ``prefetch`` (at least 1) requests on the wire continuously, where iterating the
        listing directly fetches in windows (see :mod:`closeasync._stream`). Leaving the
        block cancels what is still in flight.
        """
        if self._group is not None:
            raise RuntimeError("this listing is already open in an 'async with' block")
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        self._stream = ItemStream(
            self._fetch,
            self._structurer,
            page_size=self._page_size,
            max_items=self._max_items,
            depth=self._prefetch,
            group=group,
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
        source = self._window_pages() if self._prefetch > 1 else self._sequential(0, self._max_items)
        async with aclosing(source) as pages:
            async for page in pages:
                yield page

    async def _sequential(self, skip: int, remaining: int | None) -> AsyncGenerator[Page[T], None]:
        """Pages one request at a time, from ``skip`` on, at most ``remaining`` items."""
        while remaining is None or remaining > 0:
            size = self._page_size if remaining is None else min(self._page_size, remaining)
            got = await self._fetch(skip, size)
            raw = got.items
            if remaining is not None and len(raw) > remaining:
                raw = raw[:remaining]
            if raw:
                yield Page(raw, has_more=got.has_more, skip=skip, structurer=self._structurer, info=got.info)
            if not got.has_more:
                return
            if not raw:
                # has_more with an empty page would loop forever on the same offset.
                log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", skip)
                return
            skip += len(raw)
            if remaining is not None:
                remaining -= len(raw)

    # -- prefetching ----------------------------------------------------------------------

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

    async def _window_pages(self) -> AsyncGenerator[Page[T], None]:
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
                misfit = structurer.into(out, raw[start : start + _SLICE], page.info, page.skip + start)
                if misfit is not None:
                    return misfit
                await anyio.lowlevel.checkpoint()
        return None

    async def _window_items(self) -> AsyncGenerator[T, None]:
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
                    misfit = structurer.into(items, page.raw, page.info, page.skip)
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

    # -- consuming ------------------------------------------------------------------------

    async def _items(self) -> AsyncGenerator[T, None]:
        async with aclosing(self._sequential(0, self._max_items)) as pages:
            async for page in pages:
                for item in page:
                    yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._window_items() if self._prefetch > 1 else self._items()

    async def collect(self) -> list[T]:
        """Fetch every page and return all items (use :meth:`limit` to bound it)."""
        out: list[T] = []
        if self._prefetch > 1:
            async with aclosing(self._window_items()) as items:
                async for item in items:
                    out.append(item)
            return out
        async with aclosing(self._sequential(0, self._max_items)) as pages:
            async for page in pages:
                out.extend(page)
        return out

    async def first(self) -> T | None:
        """Return the first item, or None when the listing is empty."""
        items = await self.limit(1).collect()
        return items[0] if items else None
