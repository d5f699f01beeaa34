"""The pieces of a listing: a response's items, the structurer, pages, paging one at a time.

See :mod:`closeasync.listing.paginator` for how listings behave; this module holds what the
sequential, windowed (:mod:`closeasync.listing.windows`) and streamed (:mod:`closeasync.listing.stream`)
forms share.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import parse_qs, urlsplit

import orjson

from ..errors import FieldValueError, ResponseValidationError
from ..models._converter import StructureError, converter
from ..pipeline.auth import live_secrets, redact_exception

if TYPE_CHECKING:
    from ..pipeline.wire import Request, Response

__all__ = [
    "FetchPage",
    "Fetched",
    "Page",
    "ResponseInfo",
    "ResponseOrigin",
    "Structurer",
    "origin_of",
    "read_envelope",
    "requested_fields_of",
    "response_error",
    "sequential_pages",
]

T = TypeVar("T")
log = logging.getLogger("closeasync")
_new_origin: Callable[[type[ResponseOrigin], tuple[Any, ...]], ResponseOrigin] = tuple.__new__


class ResponseInfo(NamedTuple):
    """What is known of the response a page came in: enough to report a bad item."""

    status: int
    method: str
    url: str
    #: The ``_fields`` its request asked for (None: every field).
    requested: tuple[str, ...] | None = None

    @classmethod
    def of(cls, response: Response) -> ResponseInfo:
        """The status, method and URL of ``response``, and the fields its request asked for."""
        request = response.request
        if request is None:
            return cls(response.status, "", "")
        return cls(response.status, request.method, request.url, requested_fields_of(request))


def requested_fields_of(request: Request) -> tuple[str, ...] | None:
    """The ``_fields`` a request asked for, in its URL or in a long GET's ``_params`` body."""
    url = request.url
    if "_fields=" in url:
        values = parse_qs(urlsplit(url).query).get("_fields")
        return tuple(",".join(values).split(",")) if values else None
    if request.content and request.method == "POST" and request.header("x-http-method-override") == "GET":
        # The long-URL fallback (closeasync.pipeline.wire.build_request): the query went into the body.
        params = orjson.loads(request.content).get("_params") or {}
        fields = params.get("_fields")
        return tuple(str(fields).split(",")) if fields else None
    return None


class ResponseOrigin(tuple[int, str, str, "tuple[str, ...] | None"]):
    """Where the objects of one response came from, kept by each model built from it.

    A model converts timestamps, enums and nested objects when they are first read
    (see :mod:`closeasync.models._views`); when a value does not convert, this turns the
    failure into a :class:`~closeasync.errors.FieldValueError` that names the
    response. It also tells a partial object (fetched with ``_fields``) from a whole one.

    A tuple ``(status, method, url, requested_fields)`` of plain values, built in one
    call for every object a GET, create or update returns (a class with an ``__init__``
    cost ~2k instructions more per call). It holds no credential, nor anything that
    refers to one: a model is handed to code that dumps or walks objects (debuggers,
    error trackers). The URL is cleaned of them when the origin is made (:func:`origin_of`).
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        return _new_origin, (type(self), tuple(self))

    @property
    def info(self) -> ResponseInfo:
        """The status, method and URL of the response, and the fields asked for."""
        return ResponseInfo(self[0], self[1], self[2], self[3])

    @property
    def requested_fields(self) -> tuple[str, ...] | None:
        """The ``_fields`` the request asked for (None: every field)."""
        return self[3]

    def nested(self) -> ResponseOrigin:
        """The origin of the objects nested in this response's: ``_fields`` picks top-level
        keys only, so a nested object is never partial."""
        return self if self[3] is None else _new_origin(ResponseOrigin, (self[0], self[1], self[2], None))

    def __repr__(self) -> str:
        return f"<ResponseOrigin {self[1]} {self[2]}>"

    def field_error(self, model: str, field: str, message: str, body: bytes) -> Exception:
        """The FieldValueError for ``model.field`` of an object of this response."""
        status, method, url, _ = self
        return FieldValueError(
            message, model=model, field=field, status=status, body=body, method=method, url=url
        )


def origin_of(
    status: int, method: str, url: str, secrets: frozenset[str], requested: tuple[str, ...] | None = None
) -> ResponseOrigin:
    """A :class:`ResponseOrigin`, its URL cleaned of ``secrets`` (should one ever be in it)."""
    for secret in secrets:
        if secret in url:
            url = url.replace(secret, "[redacted]")
    return _new_origin(ResponseOrigin, (status, method, url, requested))


class Fetched(NamedTuple):
    """One list response: its raw JSON items, Close's ``has_more``, and where it came from."""

    items: list[Any]
    has_more: bool
    info: ResponseInfo


#: ``fetch(skip, limit)`` returns one page of a listing.
FetchPage = Callable[[int, int], Awaitable[Fetched]]


def response_error(
    message: str, status: int, body: bytes, info: ResponseInfo | None, secrets: frozenset[str]
) -> ResponseValidationError:
    """A :class:`ResponseValidationError` saying what is known of the response, credentials removed."""
    method, url = (info.method, info.url) if info is not None else ("", "")
    error = ResponseValidationError(message, status=status, body=body, method=method, url=url)
    if secrets:
        redact_exception(error, secrets)  # as the client does for every error it raises
    return error


def read_envelope(data: Any, response: Response, secrets: frozenset[str] = frozenset()) -> Fetched:
    """Check a list response's envelope and return its items and ``has_more``.

    Raises:
        ResponseValidationError: not an object with a ``data`` list and a boolean ``has_more``.
    """
    info = ResponseInfo.of(response)
    if isinstance(data, dict):
        items = data.get("data")
        has_more = data.get("has_more", False)
        if isinstance(items, list) and isinstance(has_more, bool):
            return Fetched(items, has_more, info)
    raise response_error(
        "a list response must be an object with a 'data' list and a boolean 'has_more'",
        response.status,
        response.content,
        info,
        secrets,
    )


class Structurer(Generic[T]):
    """Turns Close's JSON into one model type (or the activity union).

    A misfit becomes :class:`~closeasync.errors.ResponseValidationError` carrying
    what is known: the response's status, method and URL, and as ``body`` the
    response's bytes (a single object) or the JSON of the one item that did not fit
    (an item of a page).
    """

    __slots__ = ("hook", "target", "what")

    def __init__(self, target: Any, what: str) -> None:
        self.target = target
        self.what = what
        #: ``hook(data, target, origin)``: every model hook takes the origin third.
        self.hook: Callable[..., Any] = converter.get_structure_hook(target)

    def __repr__(self) -> str:
        return f"<Structurer {self.what}>"

    @property
    def secrets(self) -> frozenset[str]:
        """What every error leaves out: the live credentials (a page keeps this object, and no
        object handed out keeps a credential)."""
        return live_secrets()

    def origin(self, info: ResponseInfo | None) -> ResponseOrigin | None:
        """What the models of one response keep to report a misfit field."""
        return None if info is None else origin_of(*info[:3], live_secrets(), info.requested)

    def one(self, data: Any, response: Response) -> T:
        """Structure a whole response body.

        Raises:
            ResponseValidationError: it does not fit the model.
        """
        # Built here, not by a method: this runs for every single object fetched.
        request = response.request
        if request is not None:
            origin = origin_of(
                response.status, request.method, request.url, live_secrets(), requested_fields_of(request)
            )
        else:
            origin = _new_origin(ResponseOrigin, (response.status, "", "", None))
        try:
            value: T = self.hook(data, self.target, origin, True)  # adopt: parsed for this call
        except StructureError as exc:
            raise response_error(
                f"{self.what} response does not fit its model: {exc}",
                response.status,
                response.content,
                origin.info,
                self.secrets,
            ) from exc
        return value

    def misfit(
        self, item: Any, exc: Exception, info: ResponseInfo | None, where: str
    ) -> ResponseValidationError:
        """The error for one ``item`` of a page that did not fit (``where``: which item)."""
        try:
            body = orjson.dumps(item)
        except TypeError:  # pragma: no cover - the item came from JSON
            body = b""
        error = response_error(
            f"{self.what} {where} does not fit its model: {exc}",
            info.status if info else 0,
            body,
            info,
            self.secrets,
        )
        error.__cause__ = exc
        return error

    def into(
        self, out: list[T], raw: list[Any], info: ResponseInfo | None, skip: int, *, adopt: bool = False
    ) -> Exception | None:
        """Append every item of ``raw`` to ``out``; return the misfit error where one stops it.

        ``adopt`` marks JSON nobody else sees. Since views became lossless (#16) it changes
        nothing: a view keeps each item as what Close sent and copies its keys (see
        :mod:`closeasync.models._views`); the flag goes with the listing engine's redesign (#17).
        """
        hook, target, origin = self.hook, self.target, self.origin(info)
        structured: list[T] = []
        append = structured.append
        try:
            for item in raw:
                append(hook(item, target, origin, adopt))
        except StructureError as exc:
            # Each item is structured once (an adopted dict is not to be structured twice).
            index = len(structured)
            out.extend(structured)
            return self.misfit(raw[index], exc, info, f"item {skip + index} of the listing")
        out.extend(structured)
        return None


class Page(Generic[T]):
    """One page of a listing: the raw JSON items, structured lazily on access.

    Attributes:
        raw: the JSON objects exactly as Close sent them.
        has_more: Close's ``has_more``.
        skip: the ``_skip`` this page was fetched with.
        info: the status, method and URL of the response it came in.
    """

    __slots__ = ("__weakref__", "_structurer", "has_more", "info", "raw", "skip")

    def __init__(
        self,
        raw: list[Any],
        *,
        has_more: bool,
        skip: int,
        structurer: Structurer[T],
        info: ResponseInfo | None = None,
    ):
        self.raw = raw
        self.has_more = has_more
        self.skip = skip
        self.info = info
        self._structurer = structurer

    def __len__(self) -> int:
        return len(self.raw)

    def __iter__(self) -> Iterator[T]:
        structurer = self._structurer
        hook, target, origin = structurer.hook, structurer.target, structurer.origin(self.info)
        for index, item in enumerate(self.raw):
            try:
                value: T = hook(item, target, origin)
            except StructureError as exc:
                raise structurer.misfit(
                    item, exc, self.info, f"item {self.skip + index} of the listing"
                ) from exc
            yield value

    @property
    def items(self) -> list[T]:
        """Every item of the page, structured (each access structures them again)."""
        return list(self)

    def __repr__(self) -> str:
        return f"<Page skip={self.skip} items={len(self.raw)} has_more={self.has_more}>"


async def sequential_pages(
    fetch: FetchPage, structurer: Structurer[T], page_size: int, skip: int, remaining: int | None
) -> AsyncGenerator[Page[T], None]:
    """Pages one request at a time, from ``skip`` on, at most ``remaining`` items."""
    while remaining is None or remaining > 0:
        size = page_size if remaining is None else min(page_size, remaining)
        got = await fetch(skip, size)
        raw = got.items
        if remaining is not None and len(raw) > remaining:
            raw = raw[:remaining]
        if raw:
            yield Page(raw, has_more=got.has_more, skip=skip, structurer=structurer, info=got.info)
        if not got.has_more:
            return
        if not raw:
            # has_more with an empty page would loop forever on the same offset.
            log.warning("closeasync: empty page with has_more=true at _skip=%d; stopping", skip)
            return
        skip += len(raw)
        if remaining is not None:
            remaining -= len(raw)
        # Let this page go before the next one is read and parsed: held across the
        # ``await`` it would double the listing's peak memory.
        del got, raw
