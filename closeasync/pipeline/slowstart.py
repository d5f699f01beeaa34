"""Slow start: while a group's budget is unknown, its first request goes alone.

A cold client knows nothing of Close's budgets. Sixty tasks starting at once against a
budget of ten per second would all go, and fifty would come back 429 before the first
answer said ``limit=10``. So, as TCP's slow start does, a group that no answer has told
anything about lets a small first window go (:data:`FIRST_WINDOW` requests) and holds
the rest until one of them is answered:

- an answer with a ``RateLimit`` header, or a 429: the budget is known (or the group is
  stopped), the gate opens and the pacer paces by it;
- an answer without one: this server does not announce budgets here, the gate opens
  and the group is unpaced, as before;
- the request ends with no answer (a transport error, a timeout, a bug): the gate opens
  too. Nothing was learnt, but passing the turn on would send the held requests one
  by one into a server that does not answer, each waiting out its whole timeout;
- the request is cancelled by its caller (which says nothing about the server): its
  place goes to the longest-held request, which goes next as the first did.

A held request that is cancelled leaves the queue, and one handed the place while
being cancelled passes it on: nothing is lost either way. The gate belongs to the
group's :class:`~closeasync.pipeline.budget.GroupPacer`, which opens it on any news and
then forgets it, so a group whose budget is known pays nothing for it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

import anyio
import anyio.lowlevel

__all__ = ["FIRST_WINDOW", "Gate"]

#: How many requests of a group whose budget is unknown go before its first answer.
#: One: Close's budgets are per second and some are small (``limit=16`` was seen on
#: ``/data/search/``); the price is one round trip, once per group per client.
FIRST_WINDOW = 1


class _Held:
    """A request held at the gate: woken by :meth:`Gate.open`, or handed a place (``placed``)."""

    __slots__ = ("event", "placed")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.placed = False


class Gate:
    """The slow start of one endpoint group: the first window goes, the rest wait for news.

    A place in the first window is taken without a trip through the event loop; when
    none is free, requests are held in order, and a place given back (:meth:`pass_on`)
    goes straight to the longest-held one, as the concurrency cap's slots do. Once open,
    the held requests go on first: a newcomer waits until each of them has run (taken its
    unit of budget and its slot), so none is overtaken; then the gate calls ``then``
    (the pacer forgets it).
    """

    __slots__ = ("_drained", "_queue", "_then", "draining", "free", "is_open")

    def __init__(self, window: int = FIRST_WINDOW) -> None:
        if window < 1:
            raise ValueError("a slow start's first window is at least one request")
        self.free = window
        self.is_open = False
        self._queue: deque[_Held] = deque()
        #: Held requests woken by :meth:`open` that have not run yet.
        self.draining = 0
        self._drained: anyio.Event | None = None
        self._then: Callable[[], None] | None = None

    @property
    def held(self) -> int:
        """How many requests wait for the gate (to open, or for a place in the first window)."""
        return len(self._queue)

    def take_nowait(self) -> bool:
        """Take a place in the first window if one is free (then nobody is held); whether it did."""
        if self.free > 0 and not self.is_open:
            self.free -= 1
            return True
        return False

    async def enter(self) -> bool:
        """Wait until this request may go: True when it goes as one of the first window
        (then :meth:`pass_on` or :meth:`open` must follow its end), False when the gate opened.

        A pending cancellation stops it first.
        """
        await anyio.lowlevel.checkpoint_if_cancelled()
        if self.is_open:
            if self.draining:  # those held before go first
                if self._drained is None:
                    self._drained = anyio.Event()
                await self._drained.wait()
            return False
        if self.take_nowait():
            return True
        held = _Held()
        self._queue.append(held)
        try:
            await held.event.wait()
        except BaseException:
            if not held.event.is_set():
                self._queue.remove(held)
            elif not held.placed:
                self._gone_on()
            elif not self.is_open:
                self.pass_on()  # handed a place while being cancelled: the next one goes
            raise
        if held.placed:  # handed a place; moot if the gate opened since (it was not woken by that)
            return not self.is_open
        self._gone_on()
        return False

    def pass_on(self) -> None:
        """One of the first window ended with nothing learnt: its place goes to the next held."""
        if self.is_open:
            return
        if self._queue:
            held = self._queue.popleft()
            held.placed = True
            held.event.set()
        else:
            self.free += 1

    def open(self, then: Callable[[], None] | None = None) -> None:
        """News came: every held request goes on to the pacer, in order, and so will every
        later one; ``then`` is called once the held ones have all run (at once if none is).
        """
        if self.is_open:
            return
        self.is_open = True
        queue, self._queue = self._queue, deque()
        self.draining = len(queue)
        self._then = then
        for held in queue:
            held.event.set()
        if not queue:
            self._drain_done()

    def _gone_on(self) -> None:
        """A held request woken by :meth:`open` has run (or was cancelled meanwhile)."""
        self.draining -= 1
        if self.draining == 0:
            self._drain_done()

    def _drain_done(self) -> None:
        if self._drained is not None:
            self._drained.set()
        then, self._then = self._then, None
        if then is not None:
            then()
