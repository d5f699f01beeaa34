"""``close.events``: Close's event log (``GET /event/``), and a feed that follows it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import anyio

from .. import errors
from ..listing.changes import OVERLAP, ChangeCursor, ChangeFeed
from ..listing.cursor import aware
from ..listing.fetch import Fetched, PageFetcher
from ..listing.paginator import AsyncPaginator
from ..listing.rules import CursorRule, PageRequest
from ..models.event import Event
from ..models.responses import Structurer
from ..pipeline.requester import Requester
from ..pipeline.routes import ROUTES, Route
from ..pipeline.wire import QueryValue, Response
from ..rules._fields import shown, text_problem
from ..rules.events import MAX_EVENT_LIMIT, event_list_errors
from ._arguments import check_query, fields_param, path_id, sync_scope
from ._base import Resource

__all__ = ["EventsResource"]

_ROUTES = ROUTES["event"]


class EventsResource(Resource):
    """The event log: every change to the organization's objects, for 30 days.

    >>> async def example(close):  # doctest: +SKIP
    ...     async for event in close.events.list(object_type="activity.email", action="updated"):
    ...         print(event.date_updated, event.object_id, event.changed_fields)
    """

    def __init__(self, requester: Requester) -> None:
        super().__init__(requester)
        self._structurer: Structurer[Event] = self._structurer_for(Event, "Event")

    def list(
        self,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        action: str | None = None,
        lead_id: str | None = None,
        user_id: str | None = None,
        request_id: str | None = None,
        date_updated__gt: datetime | None = None,
        date_updated__gte: datetime | None = None,
        date_updated__lt: datetime | None = None,
        date_updated__lte: datetime | None = None,
        fields: Sequence[str] | None = None,
        page_size: int = MAX_EVENT_LIMIT,
    ) -> AsyncPaginator[Event]:
        """List events newest first (by ``date_updated``), lazily, by Close's cursor paging.

        Close accepts only some combinations of the filters (e.g. ``object_type`` with
        ``action`` or ``object_id``, ``lead_id`` alone, ``request_id`` alone; the
        ``date_updated`` bounds go with any); others are refused before sending. Each
        event's ``data``, ``previous_data``, ``changed_fields`` and ``meta`` are exactly
        what Close sent. To follow changes over time, use :meth:`changes`.

        >>> from closeasync import CloseAsync, InvalidRequestError
        >>> close = CloseAsync(api_key="api_example")
        >>> listing = close.events.list(object_type="activity.sms", action="created")
        >>> try:
        ...     close.events.list(object_type="activity.sms")
        ... except InvalidRequestError as refused:
        ...     print(refused.field_errors["object_type"].split(";")[0])
        Close does not support filtering the event log by object_type alone

        Raises:
            InvalidRequestError: a combination Close does not support, a naive datetime,
                or ``page_size`` above 50 (nothing is sent).
        """
        query = self._query(
            {
                "object_type": object_type,
                "object_id": object_id,
                "action": action,
                "lead_id": lead_id,
                "user_id": user_id,
                "request_id": request_id,
            },
            {
                "date_updated__gt": date_updated__gt,
                "date_updated__gte": date_updated__gte,
                "date_updated__lt": date_updated__lt,
                "date_updated__lte": date_updated__lte,
            },
            page_size,
        )
        query["_fields"] = fields_param(fields)
        return self._events(query, page_size)

    def _events(
        self, query: Mapping[str, QueryValue], page_size: int, fetcher: PageFetcher | None = None
    ) -> AsyncPaginator[Event]:
        check_query(query)
        given: dict[str, QueryValue] = {k: v for k, v in query.items() if v is not None}
        if fetcher is None:
            fetcher = self._pages_of(_ROUTES["list"], given, marker="cursor_next")
        else:
            fetcher.query = given
        return AsyncPaginator(fetcher, self._structurer, page_size=page_size, rule=CursorRule)

    async def server_time(self) -> datetime:
        """Close's clock: the ``Date`` of an answer from the event log (one small request).

        A change feed and the export measure Close's 30-day retention, and where a new
        copy starts following changes, by Close's clock rather than this machine's.
        This machine's clock stands in when an answer has no ``Date``.
        """
        fetcher = _DatedFetcher(self._requester, _ROUTES["list"], {}, "cursor_next")
        await fetcher.fetch(PageRequest(0, 1))
        return fetcher.time() or datetime.now(UTC)

    @staticmethod
    def _query(
        filters: Mapping[str, str | None], dates: Mapping[str, datetime | None], page_size: int
    ) -> dict[str, QueryValue]:
        """Check Close's rules for ``GET /event/`` and build its query (no ``_fields``)."""
        query: dict[str, QueryValue] = {}
        problems: dict[str, str] = {}
        for name, value in filters.items():
            if value is None:
                continue
            if not isinstance(value, str) or not value:
                problems[name] = f"must be a non-empty string, got {shown(value)}"
            elif (problem := text_problem(value)) is not None:
                problems[name] = problem
            query[name] = value
        for name, when in dates.items():
            if when is not None:
                query[name] = aware(when, name)
        if not isinstance(page_size, int) or isinstance(page_size, bool):
            problems["_limit"] = f"page_size must be an int, got {page_size!r}"
        else:
            problems.update(event_list_errors(set(query), limit=page_size))
        if problems:
            raise errors.InvalidRequestError(problems)
        return query

    async def get(self, event_id: str) -> Event:
        """Fetch one event by id.

        Raises:
            NotFoundError: no such event (or older than Close keeps).
        """
        ident = path_id(event_id, "event_id")
        return await self._one(self._structurer, _ROUTES["get"], path_params={"id": ident})

    def changes(
        self,
        since: ChangeCursor | datetime | None = None,
        *,
        object_type: str | None = None,
        object_id: str | None = None,
        action: str | None = None,
        lead_id: str | None = None,
        user_id: str | None = None,
        poll: float | None = None,
        overlap: timedelta = OVERLAP,
        clock: Callable[[], datetime] | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> ChangeFeed:
        """Follow the event log: every event after ``since``, oldest first, each exactly once.

        ``since`` is None (every event Close still keeps), a timezone-aware datetime, or
        the :attr:`~closeasync.listing.changes.ChangeFeed.cursor` of an earlier feed.
        Without ``poll`` the feed ends once it has caught up; with ``poll=seconds`` it
        keeps following, scanning again after each pause. ``clock`` overrides Close's
        time (by default the ``Date`` of the event log's answers; for the 30-day retention
        check). See :mod:`closeasync.listing.changes` for how and what it guarantees.

        >>> async def follow(close, saved):  # doctest: +SKIP
        ...     feed = close.events.changes(since=saved, poll=30)
        ...     async for event in feed:
        ...         print(event.action, event.object_type, event.object_id)
        ...         saved = feed.cursor  # persist with saved.to_json()

        Raises:
            InvalidRequestError: a combination of filters Close does not support, a naive
                datetime, a cursor of another feed, or a bad ``poll``.
            EventLogExpiredError: (when iterated) ``since`` is older than Close keeps events.
        """
        filters = self._query(
            {
                "object_type": object_type,
                "object_id": object_id,
                "action": action,
                "lead_id": lead_id,
                "user_id": user_id,
            },
            {},
            MAX_EVENT_LIMIT,
        )
        if poll is not None and (not isinstance(poll, int | float) or isinstance(poll, bool) or not poll > 0):
            raise errors.InvalidRequestError({"poll": f"must be a positive number of seconds, got {poll!r}"})
        scope = sync_scope(_ROUTES["list"], filters)
        cursor = _start(scope, since)
        # The event log's own answers tell Close's time (their Date), for the retention check.
        dated = _DatedFetcher(self._requester, _ROUTES["list"], {}, "cursor_next")

        def list_events(bounds: Mapping[str, QueryValue]) -> AsyncIterator[Event]:
            return self._events({**filters, **bounds}, MAX_EVENT_LIMIT, dated).__aiter__()

        return ChangeFeed(
            list_events,
            filters,
            cursor,
            overlap=overlap,
            poll=poll,
            clock=clock or dated.time,
            sleep=sleep,
        )


class _DatedFetcher(PageFetcher):
    """A page fetcher that keeps the ``Date`` of the last answer (Close's clock)."""

    __slots__ = ("date",)

    def __init__(
        self, requester: Requester, route: Route, query: Mapping[str, QueryValue], marker: str
    ) -> None:
        super().__init__(requester, route, query, marker)
        self.date: str | None = None

    def _read(self, data: Any, response: Response) -> Fetched:
        self.date = response.header("date") or self.date
        return super()._read(data, response)

    def time(self) -> datetime | None:
        """When Close answered last, by its ``Date`` header (None: no answer had one)."""
        if self.date is None:
            return None
        try:
            return parsedate_to_datetime(self.date).astimezone(UTC)
        except (TypeError, ValueError):
            return None


def _start(scope: str, since: ChangeCursor | datetime | None) -> ChangeCursor:
    if since is None:
        return ChangeCursor(scope=scope)
    if isinstance(since, ChangeCursor):
        if since.scope != scope:
            raise errors.InvalidRequestError(
                {"since": f"this cursor belongs to another feed ({since.scope!r}, not {scope!r})"}
            )
        return since
    return ChangeCursor(scope=scope, watermark=aware(since, "since"))
