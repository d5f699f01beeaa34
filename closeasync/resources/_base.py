"""What every resource shares: reading one object, and lazy listings over a list route."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from ..listing.paginator import AsyncPaginator, Fetched, Structurer, read_envelope
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue

if TYPE_CHECKING:
    from ..client import CloseAsync

__all__ = ["ListFetcher", "Resource"]

T = TypeVar("T")


class ListFetcher:
    """Fetches pages of one list route with fixed filters: ``await fetch(skip, limit)``.

    ``extra`` adds parameters to one request (the date bounds a sync walks by).
    """

    __slots__ = ("client", "query", "route")

    def __init__(self, client: CloseAsync, route: Route, query: Mapping[str, QueryValue]) -> None:
        self.client = client
        self.route = route
        self.query = dict(query)

    async def __call__(self, skip: int, limit: int, extra: Mapping[str, QueryValue] | None = None) -> Fetched:
        query = {**self.query, **(extra or {}), "_skip": skip or None, "_limit": limit}
        data, response = await self.client._exchange(self.route, query=query)
        return read_envelope(data, response, self.client._core.secrets)

    async def later(self, skip: int, limit: int) -> Callable[[], Fetched]:
        """Fetch a page now, decode it when the returned function is called.

        Prefetched pages wait as bytes: parsed, a page is thousands of objects that
        the garbage collector would walk over and over while it waits its turn.
        """
        query = {**self.query, "_skip": skip or None, "_limit": limit}
        client = self.client
        _, response = await client._exchange(self.route, query=query, decode=False)
        return lambda: read_envelope(client._decode(response), response, client._core.secrets)


class Resource:
    """A resource of one client."""

    def __init__(self, client: CloseAsync) -> None:
        self._client = client

    def _structurer_for(self, target: Any, what: str) -> Structurer[Any]:
        """How this resource turns JSON into ``target``."""
        return Structurer(target, what)

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
        data, response = await self._client._exchange(
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
        fetch = ListFetcher(self._client, route, query)
        return AsyncPaginator(fetch, structurer, page_size=page_size, prefetch=prefetch)
