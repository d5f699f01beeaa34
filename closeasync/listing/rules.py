"""Page rules: given a page and the request that asked for it, the next request or the end.

No I/O: a rule is a small state machine the engine (:mod:`closeasync.listing.engine`)
drives, tested with values alone. Each kind of paging Close has is one rule:

- :class:`OffsetRule`: ``_skip``/``_limit`` and ``has_more`` (most list endpoints);
- :class:`CursorRule`: ``_cursor``/``_limit`` and ``cursor_next`` (the event log);
- ``KeysetRule`` (in :mod:`closeasync.listing.keyset`): ``date_created`` bounds, for a
  sync walk that neither skips nor repeats under a live listing.

What every rule shares, and so lives in the engine: a failed page raises its error
once the items before it are out; the listing ends at the first page that says so.
A rule decides the rest: which items of a page count (a limit cuts a page short), what
comes next, and when a page breaks the rule's own arithmetic.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, NamedTuple, Protocol

from ..pipeline.wire import QueryValue
from .fetch import Fetched

__all__ = ["CursorRule", "OffsetRule", "PageRequest", "PageRule", "Turn"]

log = logging.getLogger("closeasync")


class PageRequest(NamedTuple):
    """One page to ask for.

    Attributes:
        position: how many items of the listing come before this page (``_skip`` for
            offset paging; for the others only a count, for messages and limits).
        limit: the ``_limit`` sent.
        params: the rule's own query parameters for this page (``_skip``, ``_cursor``,
            date bounds), added to the listing's filters.
    """

    position: int
    limit: int
    params: Mapping[str, QueryValue] = {}


class Turn(NamedTuple):
    """What a page gives: the items to hand out, and the next request (None: the end)."""

    items: list[Any]
    next: PageRequest | None


class PageRule(Protocol):
    """How one kind of paging goes on from page to page."""

    #: The envelope key that says whether more pages follow (``has_more`` or ``cursor_next``).
    marker: str

    def first(self) -> PageRequest | None:
        """The first request (None: nothing to ask for, e.g. a limit of 0)."""

    def after(self, asked: PageRequest, page: Fetched) -> Turn:
        """The items of ``page`` to hand out and what to ask for next.

        Raises:
            ResponseValidationError: the page breaks what the rule relies on.
        """

    def ahead(self, asked: PageRequest) -> PageRequest | None:
        """The request after ``asked`` if its page comes back full, or None when that cannot
        be known before the answer (then pages are fetched one at a time).

        A rule that predicts must read a page in :meth:`after` without changing its own
        state: the engine reads pages fetched ahead as they arrive, not in order.
        """


def _offset_params(skip: int) -> Mapping[str, QueryValue]:
    return {"_skip": skip} if skip else {}


class OffsetRule:
    """``_skip``/``_limit`` paging until ``has_more`` is false, at most ``max_items`` items.

    >>> rule = OffsetRule(page_size=2, max_items=3)
    >>> rule.first()
    PageRequest(position=0, limit=2, params={})
    >>> rule.ahead(rule.first())
    PageRequest(position=2, limit=1, params={'_skip': 2})
    """

    __slots__ = ("max_items", "page_size")
    marker = "has_more"

    def __init__(self, page_size: int, max_items: int | None = None) -> None:
        self.page_size = page_size
        self.max_items = max_items

    def _at(self, skip: int) -> PageRequest | None:
        """The request for the page at ``skip``; None once the limit is reached."""
        limit = self.page_size if self.max_items is None else min(self.page_size, self.max_items - skip)
        return PageRequest(skip, limit, _offset_params(skip)) if limit > 0 else None

    def first(self) -> PageRequest | None:
        return self._at(0)

    def ahead(self, asked: PageRequest) -> PageRequest | None:
        return self._at(asked.position + asked.limit)

    def after(self, asked: PageRequest, page: Fetched) -> Turn:
        got = page.items
        items = got
        if self.max_items is not None and len(got) > self.max_items - asked.position:
            items = got[: self.max_items - asked.position]
        if not page.has_more:
            return Turn(items, None)
        if not got:
            # has_more with an empty page would ask for the same offset forever.
            log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", asked.position)
            return Turn(items, None)
        if len(got) != asked.limit:
            # Fewer (or more) items than asked, yet more to come: pages asked for ahead of
            # this one assumed a full page; the engine drops them and goes on from here.
            log.info(
                "closeasync: page at _skip=%d had %d items for _limit=%d with has_more=true; "
                "continuing from there one page at a time",
                asked.position,
                len(got),
                asked.limit,
            )
        return Turn(items, self._at(asked.position + len(got)))


class CursorRule:
    """``_cursor``/``_limit`` paging until ``cursor_next`` is null, at most ``max_items`` items.

    >>> rule = CursorRule(page_size=50)
    >>> rule.first()
    PageRequest(position=0, limit=50, params={})
    """

    __slots__ = ("max_items", "page_size")
    marker = "cursor_next"

    def __init__(self, page_size: int, max_items: int | None = None) -> None:
        self.page_size = page_size
        self.max_items = max_items

    def _size(self, position: int) -> int:
        return self.page_size if self.max_items is None else min(self.page_size, self.max_items - position)

    def first(self) -> PageRequest | None:
        size = self._size(0)
        return PageRequest(0, size) if size > 0 else None

    def ahead(self, asked: PageRequest) -> PageRequest | None:
        return None  # the next cursor comes in the answer

    def after(self, asked: PageRequest, page: Fetched) -> Turn:
        got = page.items
        items = got
        if self.max_items is not None and len(got) > self.max_items - asked.position:
            items = got[: self.max_items - asked.position]
        cursor = page.cursor_next
        if not cursor:
            return Turn(items, None)
        if not got:
            log.warning("closeasync: empty page with a cursor_next after %d items; stopping", asked.position)
            return Turn(items, None)
        position = asked.position + len(got)
        size = self._size(position)
        return Turn(items, PageRequest(position, size, {"_cursor": cursor}) if size > 0 else None)
