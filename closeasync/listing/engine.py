"""The listing engine: pages in order, by a page rule, one at a time or several ahead.

:class:`PageFlow` drives a rule (:mod:`closeasync.listing.rules`) with a fetcher
(:mod:`closeasync.listing.fetch`) and hands out pages in listing order. Every form of
listing is built on it: iterating a paginator, its ``.pages()``, the ``async with``
stream, and a sync walk.

Asking ahead
------------
With ``depth`` N > 1, while the rule can tell the next request before the answer
(offset paging: the next ``_skip`` if the page comes back full), up to N pages are
asked for ahead of the consumer. Where their requests run is the only difference
between the two ways of prefetching:

- in a task group the caller owns (``group=``: an ``async with listing`` block): each
  request starts as soon as a place in the N frees, so the wire never empties while
  the block runs;
- otherwise inside the call that needs the next page (``async for`` straight over a
  listing): the pages not yet fetched go out together, in a task group opened and
  closed within that call, so nothing runs while the consumer holds an item and an
  abandoned iteration leaves no task behind.

A page fetched ahead waits as bytes and is parsed when its turn comes. When a page
ends the listing, fails, or breaks the rule's arithmetic (an offset page shorter than
asked while more follow), the requests queued after it are cancelled, and the listing
goes on one page at a time from what the rule says. A failed page raises its error
once the pages before it are handed out.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import anyio

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from .fetch import Fetched, PageFetcher
    from .rules import PageRequest, PageRule, Turn

__all__ = ["FlowPage", "PageFlow"]


class FlowPage(NamedTuple):
    """A page handed out: the request that asked for it, its answer, and its items to use."""

    asked: PageRequest
    fetched: Fetched
    items: list[Any]


class _Slot:
    """One page asked for ahead: its request, its outcome once done, and how to cancel it."""

    __slots__ = ("done", "error", "read", "request", "scope", "started", "turn")

    def __init__(self, request: PageRequest) -> None:
        self.request = request
        self.read: Callable[[], Fetched] | None = None  # parses the page that arrived
        self.turn: Turn | None = None  # the rule's reading of it, once parsed in a window
        self.error: Exception | None = None
        self.scope = anyio.CancelScope()
        self.done = anyio.Event()
        self.started = False


class PageFlow:
    """The pages of one listing, in order; see the module documentation.

    Args:
        rule: how the listing goes on from page to page.
        fetcher: how a page is fetched.
        depth: most pages asked for ahead of the consumer (without ``group``, 0 or 1:
            one at a time).
        group: the task group that runs requests asked for ahead (an ``async with``
            block's); without one they run inside :meth:`next`.
    """

    def __init__(
        self, rule: PageRule, fetcher: PageFetcher, *, depth: int = 0, group: TaskGroup | None = None
    ) -> None:
        self._rule = rule
        self._fetcher = fetcher
        self._depth = depth
        self._group = group
        self._next: PageRequest | None = rule.first()  # the next page to hand out
        self._queue: deque[_Slot] = deque()  # asked for ahead, in listing order
        # Asking ahead while the rule's predictions hold: in a block even one page ahead
        # overlaps the consumer's work; without one, a window of one is plain paging.
        self._ahead = depth >= 1 if group is not None else depth > 1
        self.requests = 0
        """How many pages were requested so far."""

    async def next(self) -> FlowPage | None:
        """The next page, or None at the end of the listing.

        Raises:
            Exception: the page's request failed, or the rule refused the page; the
                listing is over (the next call returns None).
        """
        asked = self._next
        if asked is None:
            return None
        if not self._ahead:
            self.requests += 1
            try:
                fetched = await self._fetcher.fetch(asked)
            except Exception:
                self._next = None  # a failed page ends the listing, in every form
                raise
            return self._turn(asked, fetched)
        self._ask()
        slot = self._queue[0]
        if not slot.done.is_set():
            if self._group is None:
                await self._fetch_window()
            # Off the queue only once it is done: a cancelled wait (a per-item timeout)
            # leaves the page where it is, for the next call, not lost.
            await slot.done.wait()
        self._queue.popleft()
        try:
            if slot.error is not None:
                raise slot.error
            if slot.read is None:  # pragma: no cover - only slots after an ending one are cancelled
                raise AssertionError("a page asked for ahead was cancelled before the end of the listing")
            fetched = slot.read()  # in a block, parsed only now, its turn come
        except Exception:
            self._stop()
            raise
        page = self._turn(asked, fetched, slot.turn)
        if self._queue and self._queue[0].request != self._next:
            # The page broke the prediction the queued requests were made on.
            self._stop_asking()
        if self._ahead:
            self._ask()  # its place is free: in a block, the next request goes out now
        return page

    def _turn(self, asked: PageRequest, fetched: Fetched, turn: Turn | None = None) -> FlowPage:
        if turn is None:
            try:
                turn = self._rule.after(asked, fetched)
            except Exception:
                self._stop()
                raise
        self._next = turn.next
        if turn.next is None:
            self._stop_asking()
        return FlowPage(asked, fetched, turn.items)

    # -- asking ahead -----------------------------------------------------------------------

    def _ask(self) -> None:
        """Queue requests until ``depth`` pages are ahead of the consumer (or the rule cannot tell)."""
        queue = self._queue
        if not queue and self._next is not None:
            self._start(_Slot(self._next))
        while self._ahead and queue and len(queue) < self._depth:
            following = self._rule.ahead(queue[-1].request)
            if following is None:
                break
            self._start(_Slot(following))

    def _start(self, slot: _Slot) -> None:
        self._queue.append(slot)
        if self._group is not None:
            slot.started = True
            self._group.start_soon(self._run, slot)

    async def _fetch_window(self) -> None:
        """Run every queued request not yet started, within this call."""
        async with anyio.create_task_group() as group:
            for slot in self._queue:
                if not slot.started:
                    slot.started = True
                    group.start_soon(self._run, slot)

    async def _run(self, slot: _Slot) -> None:
        if slot.scope.cancel_called:  # dropped before its task ran: send nothing
            slot.done.set()
            return
        self.requests += 1
        try:
            with slot.scope:  # cancelled by the flow: of no use any more
                if self._group is not None:
                    slot.read = await self._fetcher.fetch_later(slot.request)
                else:
                    # A window is waited for whole: a page that ends the listing or breaks
                    # the prediction must stop the pages after it at once, so it is read
                    # now (a rule that predicts reads a page without changing its state).
                    fetched = await self._fetcher.fetch(slot.request)
                    slot.turn = self._rule.after(slot.request, fetched)
                    slot.read = lambda: fetched
                    if not self._predicted(slot, slot.turn.next):
                        self._cancel_after(slot)
        except Exception as exc:  # raised in order, once the pages before it are out
            slot.error = exc
        except BaseException:
            # Cancelled from outside (the consumer's own scope, in a window): the page is
            # still wanted, so the next call asks for it again, with a fresh scope.
            slot.started, slot.scope = False, anyio.CancelScope()
            raise
        slot.done.set()
        if slot.error is not None and not slot.scope.cancel_called:
            self._cancel_after(slot)  # the listing ends at this page: the rest is of no use

    def _predicted(self, slot: _Slot, following: PageRequest | None) -> bool:
        """Whether the slot queued after ``slot`` (if any) asked for ``following``."""
        queue = self._queue
        if slot not in queue:
            return True
        index = queue.index(slot) + 1
        return index == len(queue) or (following is not None and queue[index].request == following)

    def _cancel_after(self, slot: _Slot) -> None:
        queue = self._queue
        if slot in queue:
            for later in list(queue)[queue.index(slot) + 1 :]:
                later.scope.cancel()

    def _stop_asking(self) -> None:
        """Nothing queued is of use any more: cancel it, and go on one page at a time."""
        self._ahead = False
        while self._queue:
            self._queue.pop().scope.cancel()

    def _stop(self) -> None:
        """The listing is over."""
        self._next = None
        self._stop_asking()

    def close(self) -> None:
        """End the flow: cancel whatever is still asked for; :meth:`next` returns None."""
        self._stop()
