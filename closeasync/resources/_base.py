"""What every resource shares: its requester, reading one object, lazy listings over a list route."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..listing.fetch import PageFetcher
from ..listing.paginator import AsyncPaginator
from ..models.responses import Structurer
from ..pipeline.requester import Requester
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue

__all__ = ["Resource"]

T = TypeVar("T")


class Resource:
    """A resource of one client: it reaches Close only through its :class:`Requester`."""

    def __init__(self, requester: Requester) -> None:
        self._requester = requester

    def _structurer_for(self, target: Any, what: str) -> Structurer[Any]:
        """How this resource turns JSON into ``target``."""
        return Structurer(target, what)

    def _pages_of(
        self, route: Route, query: Mapping[str, QueryValue], *, marker: str = "has_more"
    ) -> PageFetcher:
        """The fetcher of pages of ``route`` with the (already checked) ``query``; ``marker``
        is the envelope key saying more pages follow (``cursor_next`` for cursor paging)."""
        return PageFetcher(self._requester, route, query, marker)

    async def _one(
        self,
        structurer: Structurer[T],
        route: Route,
        *,
        path_params: Mapping[str, str] | None = None,
        query: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        sends: bool = False,
    ) -> T:
        """Send one request and structure its body (a misfit reports the real response)."""
        data, response = await self._requester.exchange(
            route, path_params=path_params, query=query, json=json, sends=sends
        )
        return structurer.one(data, response)

    def _listing(
        self,
        structurer: Structurer[T],
        route: Route,
        query: Mapping[str, QueryValue],
        *,
        page_size: int,
        prefetch: int,
    ) -> AsyncPaginator[T]:
        """A lazy paginator over ``route`` with the (already checked) ``query``."""
        return AsyncPaginator(
            self._pages_of(route, query), structurer, page_size=page_size, prefetch=prefetch
        )
