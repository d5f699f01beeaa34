"""Deep and incremental sync: walk a listing by ``date_created`` instead of deep ``_skip``.

::

    sync = close.emails.sync(since=saved)  # None (all history), a datetime, or a SyncCursor
    async for email in sync:
        store(email)
        save(sync.cursor.to_json())  # persist after each item (or batch) you have stored

Why not ``_skip``
-----------------
Close lists newest first and caps ``_skip``, so offset paging cannot reach deep into a
long history; and offsets shift under a live listing: an activity created while paging
pushes every later item one place down (it is seen twice), one deleted pulls them up
(one is never seen).

The walk (keyset pagination on ``date_created``)
------------------------------------------------
A sync is a walk down the listing's own newest-first order, each page asked for by
time instead of by offset: the first page is the newest (``date_created__lt=until``
if given), every later one is ``date_created__lte=`` the oldest timestamp reached so
far. An activity's ``date_created`` never changes, so an activity created or deleted
elsewhere moves nothing: a new one lands above the walk (it is left to the next walk),
a deleted one is simply not listed. ``_skip`` is used only inside a group of
activities created at the very same instant, and there as an overlap: the page
starts one item early and that item must be the last one already passed; if it is
not (the group changed), the group is read again from its start and what was
already delivered is recognised by id. No deep ``_skip`` is ever sent.

The cursor
----------
:class:`SyncCursor` records what was delivered: ``watermark`` (every walk before this
one is complete up to it, with the ids delivered at exactly that instant), and for a
walk in progress where it began (``top``) and how far down it got (``position``,
with the ids delivered there). It changes only when an item is handed to you, so a
cursor saved after you stored an item never skips it and never repeats anything
delivered before it. A finished walk moves the watermark to its ``top``; the next sync
from that cursor lists ``date_created__gte=watermark`` and leaves out the ids already
delivered at that instant.

Guarantee: every activity matching the filters whose ``date_created`` is at or after
the starting point is delivered exactly once across a chain of syncs (each resumed
from the cursor of the one before, interrupted or not), including activities
created or deleted while a walk runs (a deleted one may be delivered if it was
listed before it was deleted). Not covered: an activity created with a
``date_created`` older than the walk has already passed (an import that backdates
it); and changes to activities already delivered (a sync follows creation, not
updates). For live data, ``until=now - a minute`` leaves a margin for writes still
settling on Close's side.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import orjson

from ..errors import InvalidRequestError, ResponseValidationError
from ..models._converter import StructureError, parse_datetime
from ..models.activity import ActivityBase
from ..models.responses import response_error
from ..pipeline.auth import live_secrets
from ..pipeline.wire import QueryValue
from .cursor import SyncCursor, aware
from .engine import PageFlow
from .rules import PageRequest, Turn

if TYPE_CHECKING:
    from ..models.responses import ResponseInfo, ResponseOrigin, Structurer
    from .fetch import Fetched, PageFetcher

__all__ = ["KeysetRule", "SyncIterator"]

T = TypeVar("T")
log = logging.getLogger("closeasync")

#: How often the group of activities at one instant may be found changed before giving up.
MAX_RESTARTS = 8

#: An item of the walk: its ``date_created``, its id, and the JSON object as Close sent it.
Keyed = tuple[datetime, str, Any]


def _error(message: str, info: ResponseInfo | None, body: bytes = b"") -> ResponseValidationError:
    return response_error(message, info.status if info else 0, body, info, live_secrets())


class KeysetRule:
    """The page rule of a sync walk: newest first by ``date_created``, bounded by dates.

    Where the reading is: the last item passed, and how many items of its instant were
    passed, in the server's order. Items are passed in the order they are handed out, so
    the next request, made once a page is used up, can be worked out when it arrives.
    """

    marker = "has_more"

    def __init__(self, cursor: SyncCursor, until: datetime | None, page_size: int) -> None:
        self._watermark = cursor.watermark
        self._until = until
        self._page_size = page_size
        self._scan_at = cursor.position
        self._scan_passed = len(cursor.position_ids)
        self._scan_last = cursor.position_ids[-1] if cursor.position_ids else None
        self._restarts = 0
        self._overlap = True
        self._expect: str | None = None  # the id the next page must start with (the overlap)

    def first(self) -> PageRequest:
        return self._request()

    def ahead(self, asked: PageRequest) -> PageRequest | None:
        return None  # the next bound comes from the answer

    def _request(self) -> PageRequest:
        params: dict[str, QueryValue] = {}
        if self._watermark is not None:
            params["date_created__gte"] = self._watermark
        self._expect = None
        skip = 0
        if self._scan_at is None:
            if self._until is not None:
                params["date_created__lt"] = self._until
        else:
            params["date_created__lte"] = self._scan_at
            if self._scan_passed and self._overlap and self._scan_last is not None:
                skip, self._expect = self._scan_passed - 1, self._scan_last
            else:
                skip = self._scan_passed
        if skip:
            params["_skip"] = skip
        return PageRequest(skip, self._page_size, params)

    def after(self, asked: PageRequest, page: Fetched) -> Turn:
        items = [self._key(raw, page.info) for raw in page.items]
        self._check_order(items, page.info)
        self._overlap = True
        if self._expect is not None:
            if not items or items[0][0] != self._scan_at or items[0][1] != self._expect:
                self._restart(page.info)
                return Turn([], self._request())
            items = items[1:]  # the item passed last time: already counted
            if not items and page.has_more:
                self._overlap = False  # a page of one: the next one starts right after it
        elif not items and page.has_more:
            raise _error("an empty page said has_more=true; the sync cannot go on", page.info)
        for when, ident, _ in items:
            if when == self._scan_at:
                self._scan_passed += 1
            else:
                self._scan_at, self._scan_passed, self._restarts = when, 1, 0
            self._scan_last = ident
        return Turn(items, self._request() if page.has_more else None)

    def _restart(self, info: ResponseInfo) -> None:
        """The group at the reading's instant changed under it: read that group again.

        The ones already passed are recognised by id: at this instant that is the
        position's ids (delivered) and the watermark's (delivered by an earlier walk).
        """
        self._restarts += 1
        if self._restarts > MAX_RESTARTS:
            raise _error(
                f"the activities created at {self._scan_at} kept changing order while being read "
                f"({MAX_RESTARTS} times); the sync cannot tell which it has seen",
                info,
            )
        log.info(
            "closeasync sync: the activities at %s changed while read; reading them again", self._scan_at
        )
        self._scan_passed, self._scan_last = 0, None

    @staticmethod
    def _key(raw: Any, info: ResponseInfo) -> Keyed:
        ident = raw.get("id") if isinstance(raw, dict) else None
        stamp = raw.get("date_created") if isinstance(raw, dict) else None
        if isinstance(ident, str) and isinstance(stamp, str):
            try:
                return parse_datetime(stamp), ident, raw
            except ValueError:
                pass
        raise _error(
            "a synced item needs a string 'id' and an ISO 8601 'date_created'", info, orjson.dumps(raw)
        )

    def _check_order(self, items: list[Keyed], info: ResponseInfo) -> None:
        """The walk relies on newest-first order and on the date bounds being honoured."""
        upper = self._scan_at
        previous = None
        for when, _, _ in items:
            if (
                (previous is not None and when > previous)
                or (upper is not None and when > upper)
                or (upper is None and self._until is not None and when >= self._until)
                or (self._watermark is not None and when < self._watermark)
            ):
                raise _error(
                    "a page of the sync is not newest first by date_created within the bounds asked for", info
                )
            previous = when


class SyncIterator(Generic[T]):
    """The items of one sync walk, newest first; :attr:`cursor` says where it stands.

    Made by ``close.emails.sync()``, ``close.sms.sync()`` and ``close.activities.sync()``.
    Nothing is requested until it is iterated, and nothing runs between items (it
    can be abandoned at any point). Iterate it once.
    """

    def __init__(
        self,
        fetcher: PageFetcher,
        structurer: Structurer[T],
        *,
        cursor: SyncCursor,
        until: datetime | None = None,
        page_size: int = 100,
    ) -> None:
        if not isinstance(page_size, int) or isinstance(page_size, bool) or page_size < 2:
            raise InvalidRequestError(
                {"_limit": f"page_size must be an int of at least 2, got {page_size!r}"}
            )
        self._structurer = structurer
        self._flow = PageFlow(
            KeysetRule(cursor, None if until is None else aware(until, "until"), page_size), fetcher
        )
        self._scope = cursor.scope
        # What was delivered (the cursor).
        self._watermark = cursor.watermark
        self._watermark_ids = list(cursor.watermark_ids)
        self._watermark_set = set(cursor.watermark_ids)
        self._top = cursor.top
        self._top_ids = list(cursor.top_ids)
        self._position = cursor.position
        self._position_ids = list(cursor.position_ids)
        self._position_set = set(cursor.position_ids)
        self._buffer: list[Keyed] = []
        self._index = 0
        self._info: ResponseInfo | None = None
        self._origin: ResponseOrigin | None = None  # kept by each model, for FieldValueError
        self._finished = False

    @property
    def requests(self) -> int:
        """How many pages were requested so far."""
        return self._flow.requests

    @property
    def cursor(self) -> SyncCursor:
        """Where the sync stands now: every item handed out so far is behind it.

        That includes the item your loop is working on: save the cursor once you have
        stored the items (as :func:`closeasync.export.run_export` does), not when
        storing one failed, or a resume would start after it.
        """
        return SyncCursor(
            scope=self._scope,
            watermark=self._watermark,
            watermark_ids=tuple(self._watermark_ids),
            top=self._top,
            top_ids=tuple(self._top_ids),
            position=self._position,
            position_ids=tuple(self._position_ids),
        )

    @property
    def watermark(self) -> datetime | None:
        """Shorthand for ``cursor.watermark``."""
        return self._watermark

    @property
    def buffered(self) -> int:
        """Items already fetched and not handed out yet: at 0, the next item needs a request.

        The moment to save your work and the :attr:`cursor`, so that a run killed while
        waiting for the network loses nothing it had received.
        """
        return len(self._buffer) - self._index

    def __aiter__(self) -> SyncIterator[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            if self._index < len(self._buffer):
                when, ident, raw = self._buffer[self._index]
                self._index += 1
                if self._still_to_deliver(when, ident):
                    return self._deliver(when, ident, raw)
                continue
            self._buffer, self._index = [], 0
            if self._finished:
                raise StopAsyncIteration
            page = await self._flow.next()
            if page is None:
                self._finish()
                raise StopAsyncIteration
            self._info = page.fetched.info
            self._origin = self._structurer.origin(self._info)
            self._buffer = page.items

    def _still_to_deliver(self, when: datetime, ident: str) -> bool:
        """Whether an item passed now was not delivered before (by this walk or an earlier one)."""
        if when == self._position and ident in self._position_set:
            return False
        return not (when == self._watermark and ident in self._watermark_set)

    def _deliver(self, when: datetime, ident: str, raw: Any) -> T:
        structurer = self._structurer
        try:
            value: T = structurer.hook(raw, structurer.target, self._origin)
        except StructureError as exc:
            raise structurer.misfit(raw, exc, self._info, ident) from exc
        if isinstance(value, ActivityBase):
            # The walk parsed date_created already: the view gets that datetime. (Not in
            # the JSON itself: an UnknownActivity keeps its raw object as it came.)
            value.__dict__["date_created"] = when
        if self._top is None:
            self._top, self._top_ids = when, []
        if when == self._top:
            self._top_ids.append(ident)
        if when != self._position:
            self._position, self._position_ids, self._position_set = when, [], set()
        self._position_ids.append(ident)
        self._position_set.add(ident)
        return value

    def _finish(self) -> None:
        """The walk reached its end: its top becomes the watermark."""
        if self._top is not None:
            if self._top == self._watermark:
                self._watermark_ids += [i for i in self._top_ids if i not in self._watermark_set]
            else:
                self._watermark, self._watermark_ids = self._top, list(self._top_ids)
            self._watermark_set = set(self._watermark_ids)
        self._top, self._top_ids = None, []
        self._position, self._position_ids, self._position_set = None, [], set()
        self._finished = True
