"""What a response's objects become: the structurer, and the origin each model keeps.

A resource (one object) and the listing engine (pages of them) both turn JSON into
models through a :class:`Structurer`. Each model keeps a :class:`ResponseOrigin`
(status, method, cleaned URL, the ``_fields`` asked for): a field that does not
convert when first read raises :class:`~closeasync.errors.FieldValueError` naming the
response, and a partial object (fetched with ``_fields``) is told from a whole one.

An answer that is not what was asked for becomes
:class:`~closeasync.errors.ResponseValidationError` instead of a model that would be
silently wrong: for a get, create or update (:meth:`Structurer.one`) an empty answer, a
list or list envelope, an object without ``id`` (unless ``_fields`` left it out) or of
another ``_type``; in a listing, an item that is not a JSON object (only what costs
nothing is checked there: a page's items are structured by the thousand).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar
from urllib.parse import parse_qs, urlsplit

import orjson

from ..errors import FieldValueError, ResponseValidationError
from ..pipeline.auth import live_secrets, redact_exception
from ._converter import StructureError, converter
from .registry import ACTIVITY_TYPES

if TYPE_CHECKING:
    from ..pipeline.wire import Request, Response

__all__ = [
    "ResponseInfo",
    "ResponseOrigin",
    "Structurer",
    "origin_of",
    "requested_fields_of",
    "response_error",
]

T = TypeVar("T")
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


def response_error(
    message: str,
    status: int,
    body: bytes,
    info: ResponseInfo | None,
    secrets: frozenset[str],
    cause: BaseException | None = None,
) -> ResponseValidationError:
    """A :class:`ResponseValidationError` saying what is known of the response, credentials
    removed from it and from ``cause`` (chained to it) and everything chained to that."""
    method, url = (info.method, info.url) if info is not None else ("", "")
    error = ResponseValidationError(message, status=status, body=body, method=method, url=url)
    if cause is not None:
        error.__cause__ = cause
    redact_exception(error, secrets)  # as the client does for every error it raises
    return error


def _json_kind(value: Any) -> str:
    """The JSON name of a parsed value's type (for a message that must not show the value)."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    return "null" if value is None else type(value).__name__


class Structurer(Generic[T]):
    """Turns Close's JSON into one model type (or the activity union).

    A misfit becomes :class:`~closeasync.errors.ResponseValidationError` carrying
    what is known: the response's status, method and URL, and as ``body`` the
    response's bytes (a single object) or the JSON of the one item that did not fit
    (an item of a page).
    """

    __slots__ = ("hook", "tag", "target", "what")

    def __init__(self, target: Any, what: str) -> None:
        self.target = target
        self.what = what
        #: The ``_type`` an object of ``target`` carries (None: a union, or a model without one).
        self.tag: str | None = getattr(target, "TYPE", None) if isinstance(target, type) else None
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
        """Structure a whole response body: one object of the target model.

        Raises:
            ResponseValidationError: it is not one such object (see
                :class:`~closeasync.errors.ResponseValidationError` for what is checked).
        """
        # Built here, not by a method: this runs for every single object fetched.
        request = response.request
        requested = None if request is None else requested_fields_of(request)
        if request is not None:
            origin = origin_of(response.status, request.method, request.url, live_secrets(), requested)
        else:
            origin = _new_origin(ResponseOrigin, (response.status, "", "", None))
        tag = self.tag
        if (
            data.__class__ is not dict
            or (ident := data.get("id")).__class__ is not str
            or not ident
            or (tag is not None and data.get("_type", tag) != tag)
        ):
            # Off the usual path: an answer Close does not give, or one asked without its id.
            problem = self._problem(data, response, requested)
            if problem is not None:
                raise response_error(problem, response.status, response.content, origin.info, self.secrets)
        try:
            value: T = self.hook(data, self.target, origin)
        except StructureError as exc:
            error = response_error(
                f"{self.what} response does not fit its model: {exc}",
                response.status,
                response.content,
                origin.info,
                self.secrets,
            )
        else:
            return value
        raise error  # out of the except block: nothing chained (its message may quote a value)

    def _problem(self, data: Any, response: Response, requested: tuple[str, ...] | None) -> str | None:
        """What makes ``data`` not one object of the target model (None: nothing does).

        Lenient where Close may change (see :class:`~closeasync.errors.ResponseValidationError`):
        an object without ``_type`` is fine, and so is one without ``id`` when ``fields=[...]``
        left it out. The message never quotes the body.
        """
        expected = f"expected one {self.what} object"
        if response.status == 204 or not response.content or response.content.isspace():
            return f"{expected}, got an empty answer"
        if data.__class__ is not dict:
            return f"{expected}, got a JSON {_json_kind(data)}"
        if "id" not in data and data.get("data").__class__ is list:
            return f'{expected}, got a list envelope ({{"data": [...]}})'
        tag, found = self.tag, data.get("_type")
        if tag is not None and found is not None and found != tag:
            # A type this version knows is named; anything else would quote the body.
            shown = repr(found) if found.__class__ is str and found in ACTIVITY_TYPES else "another"
            return f"{expected}, got an object of _type {shown}"
        if requested is not None and "id" not in requested:
            return None  # fields=[...] left the id out
        ident = data.get("id")
        if ident is None or ident == "":
            return f"{expected}, got an object without an id"
        if ident.__class__ is not str:
            return f"{expected}, got an object whose id is a JSON {_json_kind(ident)}, not a string"
        return None

    def misfit(
        self, item: Any, exc: Exception, info: ResponseInfo | None, where: str
    ) -> ResponseValidationError:
        """The error for one ``item`` of a page that did not fit (``where``: which item)."""
        try:
            body = orjson.dumps(item)
        except TypeError:  # pragma: no cover - the item came from JSON
            body = b""
        return response_error(
            f"{self.what} {where} does not fit its model: {exc}",
            info.status if info else 0,
            body,
            info,
            self.secrets,
            exc,
        )

    def into(self, out: list[T], raw: list[Any], info: ResponseInfo | None, skip: int) -> Exception | None:
        """Append every item of ``raw`` to ``out``; return the misfit error where one stops it.

        ``skip`` is the position of ``raw[0]`` in the listing (for the error's message).
        """
        hook, target, origin = self.hook, self.target, self.origin(info)
        structured: list[T] = []
        append = structured.append
        try:
            for item in raw:
                append(hook(item, target, origin))
        except StructureError as exc:
            # Each item is structured once: the ones before the misfit are kept.
            index = len(structured)
            out.extend(structured)
            return self.misfit(raw[index], exc, info, f"item {skip + index} of the listing")
        out.extend(structured)
        return None
