"""Following Close's event log: every change after a saved point, exactly once, oldest first.

::

    feed = close.events.changes(since=saved)  # None (the whole log), a datetime, or a ChangeCursor
    async for event in feed:
        apply(event)
        save(feed.cursor.to_json())  # after what you did with the event is stored

How (Close's own advice)
------------------------
Close lists events newest first by ``date_updated``, and says its cursors are not for
streaming new events: an event may become visible after later ones, and rapid changes
to one object are *consolidated* into one event that keeps its ``id`` while its
``date_updated`` moves. It recommends scanning the latest five minutes again. So each
scan lists every event with ``date_updated`` at or after the newest one handed out so
far, less an overlap (five minutes by default), and hands out, oldest first, those not
handed out before: an event is known by its ``id`` *and* ``date_updated``, so a
consolidated event comes again (it carries a later change), a repeated one does not.

The cursor
----------
:class:`ChangeCursor` holds the newest ``date_updated`` handed out (the watermark) and
the events handed out within the overlap before it. It changes only when an event is
handed out, so a cursor saved after you stored an event never skips it and never
repeats anything before it. Close keeps events for 30 days: a feed resumed from a
watermark older than that raises :class:`~closeasync.errors.EventLogExpiredError`
rather than skip what can no longer be read.

Guarantee: every event (each version of a consolidated one) whose ``date_updated`` is at
or after the starting point and that became visible within the overlap of its
``date_updated`` is handed out exactly once across a chain of feeds resumed from each
other's cursors. ``poll=`` keeps following: after each scan it waits that long and
scans again, until the loop stops or is cancelled.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import attrs
import orjson

from ..errors import EventLogExpiredError, InvalidRequestError, ResponseValidationError
from ..models._converter import format_datetime, parse_datetime
from ..models._json import to_dict
from ..models.event import Event
from ..pipeline.wire import QueryValue
from .cursor import saved_json

__all__ = ["OVERLAP", "RETENTION", "ChangeCursor", "ChangeFeed"]

#: How far back each scan looks again before the newest event handed out.
OVERLAP = timedelta(minutes=5)
#: How long Close keeps events.
RETENTION = timedelta(days=30)
_VERSION = 1

#: ``list_events(filters)`` iterates every event matching ``filters``, newest first.
ListEvents = Callable[[Mapping[str, QueryValue]], AsyncIterator[Event]]


@attrs.frozen(kw_only=True)
class ChangeCursor:
    """Where a change feed stands: pass it back as ``since=`` to go on exactly there.

    Attributes:
        scope: the filters it belongs to (a cursor cannot resume another feed).
        watermark: the newest ``date_updated`` handed out (or the starting point).
        seen: ``(id, date_updated)`` of the events handed out within the overlap
            before the watermark, which the next scan lists again.

    >>> cursor = ChangeCursor(scope="/event/", watermark=datetime(2026, 1, 5, tzinfo=UTC))
    >>> ChangeCursor.from_json(cursor.to_json()) == cursor
    True
    """

    scope: str
    watermark: datetime | None = None
    seen: tuple[tuple[str, datetime], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (timestamps as ISO 8601 strings)."""
        return {
            "version": _VERSION,
            "scope": self.scope,
            "watermark": None if self.watermark is None else format_datetime(self.watermark),
            "seen": [[ident, format_datetime(when)] for ident, when in self.seen],
        }

    def to_json(self) -> str:
        """The cursor as a JSON string."""
        return orjson.dumps(self.to_dict()).decode()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChangeCursor:
        """Load a cursor saved by :meth:`to_dict`.

        Raises:
            InvalidRequestError: it is not a cursor this version can read.
        """
        refused = InvalidRequestError({"since": "not a ChangeCursor saved by this version of closeasync"})
        if not isinstance(data, Mapping) or data.get("version") != _VERSION:
            raise refused
        scope, watermark, seen = data.get("scope"), data.get("watermark"), data.get("seen", [])
        try:
            if not isinstance(scope, str) or not isinstance(seen, list):
                raise TypeError
            return cls(
                scope=scope,
                watermark=None if watermark is None else parse_datetime(watermark),
                seen=tuple((str(ident), parse_datetime(when)) for ident, when in seen),
            )
        except (TypeError, ValueError):
            raise refused from None

    @classmethod
    def from_json(cls, text: str | bytes) -> ChangeCursor:
        """Load a cursor saved by :meth:`to_json`.

        Raises:
            InvalidRequestError: it is not a cursor this version can read.
        """
        return cls.from_dict(saved_json(text, "ChangeCursor"))


class ChangeFeed:
    """The events after a saved point, oldest first, each once; :attr:`cursor` says where it stands.

    Made by ``close.events.changes()``. Nothing is requested until it is iterated, and
    nothing runs between events (it can be abandoned at any point).
    """

    #: How far back each scan looks again, unless ``overlap=`` says otherwise.
    DEFAULT_OVERLAP = OVERLAP

    def __init__(
        self,
        list_events: ListEvents,
        filters: Mapping[str, QueryValue],
        cursor: ChangeCursor,
        *,
        overlap: timedelta = OVERLAP,
        poll: float | None = None,
        clock: Callable[[], datetime | None] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._list_events = list_events
        self._scanned_at: datetime | None = None  # Close's clock at the last scan (None: unknown)
        self._filters = dict(filters)
        self._scope = cursor.scope
        self._overlap = overlap
        self._poll = poll
        #: Close's clock (None when unknown: the retention is then checked by this machine's).
        self._clock: Callable[[], datetime | None] = clock or (lambda: None)
        self._sleep = sleep
        self._watermark = cursor.watermark
        self._seen: dict[tuple[str, datetime], None] = dict.fromkeys(cursor.seen)
        self._buffer: list[Event] = []  # the current scan's events to hand out, newest last
        self.scans = 0
        """How many scans of the event log were made so far."""

    @property
    def cursor(self) -> ChangeCursor:
        """Where the feed stands: every event handed out so far is behind it."""
        watermark = self._watermark
        if watermark is None:
            return ChangeCursor(scope=self._scope)
        keep_from = watermark - self._overlap
        seen = tuple(sorted((k for k in self._seen if k[1] >= keep_from), key=lambda k: (k[1], k[0])))
        return ChangeCursor(scope=self._scope, watermark=watermark, seen=seen)

    @property
    def buffered(self) -> int:
        """Events already fetched and not handed out: at 0, the next one needs a scan (save now)."""
        return len(self._buffer)

    def __aiter__(self) -> ChangeFeed:
        return self

    async def __anext__(self) -> Event:
        while not self._buffer:
            self._caught_up()
            if self.scans and self._poll is None:
                raise StopAsyncIteration
            if self.scans:
                await self._sleep(self._poll or 0.0)
            await self._scan()
        event = self._buffer.pop()
        key = (event.id, event.date_updated)
        self._seen[key] = None
        if self._watermark is None or event.date_updated > self._watermark:
            self._watermark = event.date_updated
        return event

    async def _scan(self) -> None:
        """List the events since the watermark less the overlap; keep the new ones, newest last.

        The retention is checked once the answers are in: they tell Close's time.
        """
        filters = dict(self._filters)
        if self._watermark is not None:
            filters["date_updated__gte"] = self._watermark - self._overlap
        fresh: dict[tuple[str, datetime], Event] = {}
        async for event in self._list_events(filters):
            if not isinstance(event.date_updated, datetime) or not isinstance(event.id, str):
                raise ResponseValidationError(
                    "an event of the log has no id or date_updated; the feed cannot place it",
                    status=200,
                    body=orjson.dumps(to_dict(event)),
                )
            key = (event.id, event.date_updated)
            if key not in self._seen:
                fresh[key] = event  # once per scan too: a page boundary may repeat one
        self._check_retention()
        self._scanned_at = self._clock()
        self.scans += 1
        order = sorted(fresh, key=lambda k: (k[1], k[0]), reverse=True)
        self._buffer = [fresh[key] for key in order]
        self._prune()

    def _caught_up(self) -> None:
        """Every event of the last scan is handed out: the feed stands at that scan, less the
        overlap, even if it found nothing (a quiet feed would otherwise age past the retention).
        Only by Close's clock, never this machine's."""
        scanned = self._scanned_at
        if scanned is None:
            return
        self._scanned_at = None
        floor = scanned - self._overlap
        if self._watermark is None or floor > self._watermark:
            self._watermark = floor

    def _prune(self) -> None:
        """Forget events handed out before the overlap: no scan lists them again."""
        if self._watermark is None or not self._seen:
            return
        keep_from = self._watermark - self._overlap
        stale = [key for key in self._seen if key[1] < keep_from]
        for key in stale:
            del self._seen[key]

    def _check_retention(self) -> None:
        if self._watermark is None:
            return
        oldest = (self._clock() or datetime.now(UTC)) - RETENTION
        if self._watermark < oldest:
            raise EventLogExpiredError(
                f"the change feed stood at {format_datetime(self._watermark)}, but Close keeps events for "
                f"{RETENTION.days} days (back to {format_datetime(oldest)}): the changes in between can no "
                "longer be read; make the copy again (a full export into a new file)",
                since=self._watermark,
                oldest=oldest,
            )
