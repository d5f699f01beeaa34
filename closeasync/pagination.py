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
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any, Generic, TypeVar

from .errors import InvalidRequestError

__all__ = ["AsyncPaginator", "Page"]

T = TypeVar("T")
log = logging.getLogger("closeasync")

#: ``fetch(skip, limit)`` returns one page's raw JSON items and Close's ``has_more``.
FetchPage = Callable[[int, int], Awaitable[tuple[list[Any], bool]]]


class Page(Generic[T]):
    """One page of a listing: the raw JSON items, structured lazily on access.

    Attributes:
        raw: the JSON objects exactly as Close sent them.
        has_more: Close's ``has_more``.
        skip: the ``_skip`` this page was fetched with.
    """

    __slots__ = ("__weakref__", "_structure", "has_more", "raw", "skip")

    def __init__(self, raw: list[Any], *, has_more: bool, skip: int, structure: Callable[[Any], T]):
        self.raw = raw
        self.has_more = has_more
        self.skip = skip
        self._structure = structure

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self) -> Iterator[T]:
        structure = self._structure
        for item in self.raw:
            yield structure(item)

    @property
    def items(self) -> list[T]:
        """Every item of the page, structured (each access structures them again)."""
        return list(self)

    def __repr__(self) -> str:
        return f"<Page skip={self.skip} items={len(self.raw)} has_more={self.has_more}>"


class AsyncPaginator(Generic[T]):
    """A lazy listing: nothing is requested until it is iterated."""

    def __init__(
        self,
        fetch: FetchPage,
        structure: Callable[[Any], T],
        *,
        page_size: int = 100,
        max_items: int | None = None,
    ) -> None:
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 1:
            raise InvalidRequestError({"_limit": f"page_size must be a positive int, got {page_size!r}"})
        if max_items is not None and (not isinstance(max_items, int) or max_items < 0):
            raise InvalidRequestError({"_limit": f"limit must be a non-negative int, got {max_items!r}"})
        self._fetch = fetch
        self._structure = structure
        self._page_size = page_size
        self._max_items = max_items

    def limit(self, n: int) -> AsyncPaginator[T]:
        """Return a paginator that stops after ``n`` items (and asks for no more)."""
        return AsyncPaginator(self._fetch, self._structure, page_size=self._page_size, max_items=n)

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Yield pages until Close says ``has_more: false`` (or the limit is reached)."""
        skip = 0
        remaining = self._max_items
        while remaining is None or remaining > 0:
            size = self._page_size if remaining is None else min(self._page_size, remaining)
            raw, has_more = await self._fetch(skip, size)
            if remaining is not None and len(raw) > remaining:
                raw = raw[:remaining]
            if raw:
                yield Page(raw, has_more=has_more, skip=skip, structure=self._structure)
            if not has_more:
                return
            if not raw:
                # has_more with an empty page would loop forever on the same offset.
                log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", skip)
                return
            skip += len(raw)
            if remaining is not None:
                remaining -= len(raw)

    async def _items(self) -> AsyncGenerator[T, None]:
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                for item in page:
                    yield item

    def __aiter__(self) -> AsyncIterator[T]:
        return self._items()

    async def collect(self) -> list[T]:
        """Fetch every page and return all items (use :meth:`limit` to bound it)."""
        out: list[T] = []
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                out.extend(page)
        return out

    async def first(self) -> T | None:
        """Return the first item, or None when the listing is empty."""
        items = await self.limit(1).collect()
        return items[0] if items else None
