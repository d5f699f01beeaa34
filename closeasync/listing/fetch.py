"""Fetching one page of a list route: the request, and the envelope of its answer.

``PageFetcher`` is how the engine reaches the network: through the resource's
:class:`~closeasync.pipeline.requester.Requester`, so every page gets the client's
pacing, retries and error handling. A page fetched ahead of its turn can wait as bytes
(:meth:`PageFetcher.fetch_later`): parsed, a page is thousands of objects that the
garbage collector would walk over and over while it waits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from ..models.responses import ResponseInfo, response_error
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue, Response

if TYPE_CHECKING:
    from ..pipeline.requester import Requester
    from .rules import PageRequest

__all__ = ["Fetched", "PageFetcher", "read_envelope"]


class Fetched(NamedTuple):
    """One list response: its raw JSON items, what says more follow, and where it came from.

    ``has_more`` is set for offset paging, ``cursor_next`` for cursor paging.
    """

    items: list[Any]
    has_more: bool
    info: ResponseInfo
    cursor_next: str | None = None


def read_envelope(
    data: Any, response: Response, secrets: frozenset[str], marker: str = "has_more"
) -> Fetched:
    """Check a list response's envelope: a ``data`` list and the rule's ``marker``
    (a boolean ``has_more``, or a string or null ``cursor_next``).

    Raises:
        ResponseValidationError: it is not that shape.
    """
    info = ResponseInfo.of(response)
    if isinstance(data, dict):
        items = data.get("data")
        if isinstance(items, list):
            if marker == "has_more":
                has_more = data.get("has_more", False)
                if isinstance(has_more, bool):
                    return Fetched(items, has_more, info)
            else:
                cursor = data.get(marker)
                if cursor is None or isinstance(cursor, str):
                    return Fetched(items, bool(cursor), info, cursor)
    wanted = "a boolean 'has_more'" if marker == "has_more" else f"a string or null {marker!r}"
    raise response_error(
        f"a list response must be an object with a 'data' list and {wanted}",
        response.status,
        response.content,
        info,
        secrets,
    )


class PageFetcher:
    """Fetches pages of one list route with fixed filters: ``await fetcher.fetch(request)``.

    ``path_params`` fill a route whose path holds ids (none for the typed lists).
    """

    __slots__ = ("marker", "path_params", "query", "requester", "route")

    def __init__(
        self,
        requester: Requester,
        route: Route,
        query: Mapping[str, QueryValue],
        marker: str = "has_more",
        *,
        path_params: Mapping[str, str] | None = None,
    ) -> None:
        self.requester = requester
        self.route = route
        self.query = dict(query)
        self.marker = marker
        self.path_params = path_params

    def _query(self, request: PageRequest) -> dict[str, QueryValue]:
        return {**self.query, **request.params, "_limit": request.limit}

    def _read(self, data: Any, response: Response) -> Fetched:
        """Read one answer's envelope (a subclass may note more of the answer first)."""
        return read_envelope(data, response, self.requester.secrets, self.marker)

    async def fetch(self, request: PageRequest) -> Fetched:
        """Fetch and read one page."""
        data, response = await self.requester.exchange(
            self.route, path_params=self.path_params, query=self._query(request)
        )
        return self._read(data, response)

    async def fetch_later(self, request: PageRequest) -> Callable[[], Fetched]:
        """Fetch one page now; read it when the returned function is called."""
        requester = self.requester
        _, response = await requester.exchange(
            self.route, path_params=self.path_params, query=self._query(request), decode=False
        )
        return lambda: self._read(requester.decode(response), response)
