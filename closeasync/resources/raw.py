"""Any endpoint, as plain JSON: ``close.get/post/put/delete(path)`` and ``close.paginate(path)``.

The typed resources cover what closeasync models; these calls reach the rest of Close's
API (leads, contacts, opportunities, ...) through the same :class:`Requester`, so a raw
call gets what a typed one gets: the credentials, its endpoint group's share of the
rate-limit pacing, ``max_concurrency``, retries that never repeat a write which may have
arrived, typed errors cleaned of the credentials, the long-GET fallback::

    lead = await close.get("/lead/lead_abc/", params={"_fields": ["id", "display_name"]})
    async for lead in close.paginate("/lead/", params={"query": "acme"}):
        ...

Paths
-----
A path is relative to the client's ``base_url`` (``"/lead/"`` and ``"lead/"`` are the
same; a missing trailing slash is added, as every Close endpoint ends in one). Each
segment is percent-decoded once, checked and encoded again. Refused before anything is
sent (:class:`~closeasync.errors.InvalidRequestError`), so the credentials never go to
another host or path: an absolute URL or anything with a scheme (``https:``,
``mailto:``), a ``//host`` path, a backslash, a ``.`` or ``..`` segment (``%2e%2e``
too), an empty segment, an encoded ``/``, whitespace or control characters, a query or
fragment (pass ``params=``), an empty path.

Writes
------
A POST is never repeated once it may have reached Close (its outcome is then unknown:
:class:`~closeasync.errors.WriteOutcomeUnknownError`). A PUT is repeated after a 5xx or
a lost answer like the resources' updates, except one that sends: a create or update of
an email or SMS whose body sets ``status`` to ``outbox`` or ``scheduled``
(:func:`~closeasync.rules.messages.sends_message`), recognised by route and body as
``close.emails`` does.

Endpoint groups
---------------
Close rate-limits per endpoint group. A path of a known route
(:data:`~closeasync.pipeline.routes.ROUTES`) takes that route, so
``close.get("/activity/email/acti_1/")`` is paced with ``close.emails.get("acti_1")``.
Any other path becomes a route of its own: its words stay in the template and every
other segment is a parameter (an id), so one endpoint is one group whatever the ids:
``GET /lead/lead_abc/`` and ``GET /lead/lead_xyz/`` are both ``GET /lead/{id}/``. A
word is lowercase ASCII letters, ``_`` and ``-`` (``status_change``, ``bulk_action``);
Close's ids hold digits or capitals (``lead_`` + 43 base62 characters).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote

from .. import errors
from ..listing.fetch import PageFetcher
from ..listing.paginator import AsyncPaginator
from ..models._converter import StructureError
from ..models.responses import ResponseInfo, ResponseOrigin, Structurer
from ..pipeline.auth import redact_exception
from ..pipeline.routes import ROUTES, Route, match
from ..pipeline.wire import QueryValue
from ..rules.messages import sends_message
from ._arguments import check_query, to_wire_json
from ._base import Resource

__all__ = ["RawResource", "resolve"]

Params = Mapping[str, QueryValue]

#: A scheme at the start (RFC 3986): ``https:``, ``mailto:``; a relative path cannot start so.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
#: A segment kept in an unknown route's template (and so its group); any other is an id.
_WORD = re.compile(r"[a-z][a-z_\-]*")
#: Where a create or update may send an email or SMS (with a sending status).
_SENDING_ROUTES = frozenset(
    ROUTES[kind][action] for kind in ("email", "sms") for action in ("create", "update")
)
#: The paginator's own parameters.
_PAGING = ("_skip", "_limit")
_EXAMPLE = "a path relative to the base URL, such as '/lead/'"


def _refused(problem: str) -> errors.InvalidRequestError:
    return errors.InvalidRequestError({"path": problem})


def _segments(path: object) -> list[str]:
    """The decoded segments of a relative path, each checked.

    Raises:
        InvalidRequestError: it is not a plain path under the base URL (see the module).
    """
    if not isinstance(path, str):
        raise _refused(f"must be {_EXAMPLE}, got {type(path).__name__}")
    if _SCHEME.match(path) or path.startswith("//") or "\\" in path:
        # Not echoed: a URL may hold a user name and password.
        raise _refused(f"must be {_EXAMPLE}, not a URL (the client only calls its base URL)")
    if "?" in path or "#" in path:
        raise _refused("must not hold a query or fragment: pass the query as params=")
    body = path.removeprefix("/").removesuffix("/")
    if not body:
        raise _refused(f"must be {_EXAMPLE}, got {path!r}")
    segments = []
    for raw in body.split("/"):
        if not raw:
            raise _refused(f"must not hold an empty segment ('//'), got {path!r}")
        try:
            segment = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise _refused(f"must be UTF-8 once percent-decoded, got {path!r}") from None
        if segment in (".", ".."):
            raise _refused(
                f"must not hold a '.' or '..' segment (it must stay under the base URL), got {path!r}"
            )
        if "/" in segment or "\\" in segment:
            raise _refused(f"must not hold an encoded '/' or '\\', got {path!r}")
        if not segment.isprintable() or any(ch.isspace() for ch in segment):
            raise _refused(f"must not hold whitespace or control characters, got {path!r}")
        segments.append(segment)
    return segments


@functools.lru_cache(maxsize=512)
def _route(method: str, template: str) -> Route:
    """One route per unknown endpoint (its regex compiled once)."""
    return Route(method, template)


def resolve(method: str, path: object) -> tuple[Route, dict[str, str]]:
    """The route of ``method path`` and its path parameters (see the module: known routes
    first, else one whose template keeps the words and makes every other segment an id).

    >>> resolve("GET", "activity/email/acti_1")[0].group
    'GET /activity/email/{id}/'
    >>> route, params = resolve("PUT", "/lead/lead_abc123/")
    >>> route.group, params
    ('PUT /lead/{id}/', {'id': 'lead_abc123'})

    Raises:
        InvalidRequestError: the path is refused.
    """
    segments = _segments(path)
    found = match(method, "/" + "".join(segment + "/" for segment in segments))
    if found is not None:
        return found
    pieces: list[str] = []
    params: dict[str, str] = {}
    for segment in segments:
        if _WORD.fullmatch(segment):
            pieces.append(segment)
        else:
            name = f"id{len(params) + 1}" if params else "id"
            params[name] = segment
            pieces.append("{" + name + "}")
    return _route(method, "/" + "".join(piece + "/" for piece in pieces)), params


def _as_object(data: Any, target: Any = None, origin: Any = None) -> dict[str, Any]:
    if type(data) is not dict:
        raise StructureError(f"expected a JSON object, got {type(data).__name__}")
    return data


class _Objects(Structurer[dict[str, Any]]):
    """Hands each item of a page out as the JSON object Close sent: no model, no origin."""

    __slots__ = ()

    def __init__(self) -> None:  # no converter hook: the item is the value
        self.target = dict
        self.what = "JSON object"
        self.hook = _as_object

    def origin(self, info: ResponseInfo | None) -> ResponseOrigin | None:
        """None: a plain dict keeps no origin."""
        return None


_OBJECTS = _Objects()


class RawResource(Resource):
    """Calls any endpoint with plain JSON in and out (``close.get`` and the others delegate here)."""

    def _query(self, params: Params | None) -> dict[str, QueryValue] | None:
        if params is None:
            return None
        if not isinstance(params, Mapping):
            raise errors.InvalidRequestError({"params": f"must be a mapping, got {type(params).__name__}"})
        bad = [repr(key) for key in params if not isinstance(key, str) or not key]
        if bad:
            raise errors.InvalidRequestError(
                {"params": f"names must be non-empty strings, got {', '.join(bad)}"}
            )
        query: dict[str, QueryValue] = {key: value for key, value in params.items() if value is not None}
        check_query(query)
        return query

    def _checked(self, method: str, path: object, params: Params | None) -> tuple[Route, dict[str, str], Any]:
        try:
            route, path_params = resolve(method, path)
            return route, path_params, self._query(params)
        except errors.CloseError as exc:
            redact_exception(exc, self._requester.secrets)  # a path or value may hold a key
            raise

    async def request(self, method: str, path: str, *, params: Params | None = None, json: Any = None) -> Any:
        """Send ``method path`` with ``params`` and a ``json`` body; return the decoded JSON answer.

        Raises:
            InvalidRequestError: the path, a parameter or a naive datetime is refused
                (nothing was sent).
            APIError: Close answered with an error status.
            WriteOutcomeUnknownError: a write failed after it may have been processed.
            TransportError: no answer came.
            TypeError: ``json`` holds a value JSON cannot encode.
        """
        route, path_params, query = self._checked(method, path, params)
        body = None if json is None else to_wire_json(json)
        sends = route in _SENDING_ROUTES and sends_message(body)
        data, _ = await self._requester.exchange(
            route, path_params=path_params, query=query, json=body, sends=sends
        )
        return data

    def paginate(
        self, path: str, *, params: Params | None = None, page_size: int = 100, prefetch: int = 0
    ) -> AsyncPaginator[dict[str, Any]]:
        """A lazy listing of ``GET path`` by ``_skip``/``_limit``/``has_more``, each item the
        JSON object Close sent.

        Offset paging only: an answer without ``has_more`` is the last page. The event log
        (``/event/``, paged by cursor) is refused: ``close.events.list()`` follows its cursor.

        Raises:
            InvalidRequestError: the path or a parameter is refused, ``params`` sets
                ``_skip`` or ``_limit`` (the listing's own: use ``page_size`` and ``.limit()``),
                or the path is the event log's.
        """
        route, path_params, query = self._checked("GET", path, params)
        if route == ROUTES["event"]["list"]:
            raise errors.InvalidRequestError(
                {"path": "the event log pages by cursor, not offset: use close.events.list()"}
            )
        owned = [name for name in _PAGING if name in (query or {})]
        if owned:
            problem = "is set by the listing: use page_size= and .limit(n)"
            raise errors.InvalidRequestError(dict.fromkeys(owned, problem))
        fetcher = PageFetcher(self._requester, route, query or {}, path_params=path_params)
        return AsyncPaginator(fetcher, _OBJECTS, page_size=page_size, prefetch=prefetch)
