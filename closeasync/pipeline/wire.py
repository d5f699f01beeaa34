"""The sans-I/O core: request and response values, and the pure functions around them.

Nothing here performs I/O, so everything is tested with bytes in and bytes out:
query encoding, the long-URL fallback and error decoding (rate-limit headers are
parsed in :mod:`closeasync.pipeline.ratelimit`).

"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, TypeAlias
from urllib.parse import quote

import attrs
import orjson

from .. import errors
from .ratelimit import Headers, get_header, parse_rate_limit, retry_delay
from .routes import Route

__all__ = [
    "MAX_URL_LENGTH",
    "QueryValue",
    "Request",
    "Response",
    "Timeout",
    "build_request",
    "decode_error",
    "decode_json",
    "encode_query",
]

#: Close's documented limit; longer GETs move their parameters into the body.
MAX_URL_LENGTH = 2000

Scalar: TypeAlias = str | int | float | bool | date | datetime | enum.Enum
QueryValue: TypeAlias = Scalar | Sequence[Scalar] | frozenset[Scalar] | set[Scalar] | None

_SECRET_HEADERS = frozenset({"authorization", "cookie", "proxy-authorization"})


@attrs.frozen
class Timeout:
    """Time limits in seconds (``None`` means no limit).

    ``total`` bounds the whole request, ``connect`` opening the connection, ``read``
    each wait for response data.

    >>> Timeout(total=30)
    Timeout(total=30, connect=10.0, read=None)
    """

    total: float | None = 60.0
    connect: float | None = 10.0
    read: float | None = None


@attrs.define(repr=False)
class Request:
    """One HTTP request, ready to send. Its ``repr`` never shows header values.

    A value: transports and retries pass the same object on, so change a copy
    (``attrs.evolve(request, url=...)``), never the request itself. Not frozen, because
    every call builds one and a frozen attrs class costs a ``setattr`` call per field
    (~2k instructions a request, measured on the single-GET path).
    """

    method: str
    url: str
    headers: Headers = ()
    content: bytes | None = None
    route: Route | None = None
    timeout: Timeout | None = None
    #: Whether this request sends an email or SMS: never repeated once it may have arrived.
    sends: bool = False

    def header(self, name: str) -> str | None:
        """Return a header's value (case-insensitive name), or None."""
        return get_header(self.headers, name)

    def json(self) -> Any:
        """Return the decoded JSON body, or None when there is none."""
        return None if not self.content else orjson.loads(self.content)

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"

    def redacted_headers(self) -> Headers:
        """Return the headers with credentials replaced, for logs and cassettes."""
        return tuple((k, "<redacted>" if k.lower() in _SECRET_HEADERS else v) for k, v in self.headers)


@attrs.define(repr=False)
class Response:
    """One HTTP response, fully read.

    A value, as :class:`Request` is (and not frozen for the same reason): change a copy
    with ``attrs.evolve``.
    """

    status: int
    headers: Headers = ()
    content: bytes = b""
    request: Request | None = None

    def header(self, name: str) -> str | None:
        """Return a header's value (case-insensitive name), or None."""
        return get_header(self.headers, name)

    def __repr__(self) -> str:
        where = f" for {self.request.method} {self.request.url}" if self.request else ""
        return f"<Response {self.status}{where}>"


def _format_scalar(value: Scalar) -> str:
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value)


def format_query_value(name: str, value: QueryValue) -> str | None:
    """Format one parameter the way Close reads it; lists become comma-joined.

    Raises:
        InvalidRequestError: an empty list (it would silently drop the filter).
    """
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Iterable):
        return _format_scalar(value)
    items = [_format_scalar(v) for v in value]
    if isinstance(value, set | frozenset):
        items.sort()
    if not items:
        raise errors.InvalidRequestError({name: "must not be an empty list"})
    return ",".join(items)


def encode_query(params: Mapping[str, QueryValue]) -> str:
    """Encode query parameters; ``None`` values are left out.

    >>> encode_query({"lead_id": "lead_1", "_type__in": ["Email", "SMS"], "x": None})
    'lead_id=lead_1&_type__in=Email,SMS'
    """
    parts = []
    for name, value in params.items():
        text = format_query_value(name, value)
        if text is not None:
            parts.append(f"{quote(name, safe='')}={quote(text, safe=',:')}")
    return "&".join(parts)


def build_request(
    route: Route,
    *,
    base_url: str,
    path_params: Mapping[str, str] | None = None,
    query: Mapping[str, QueryValue] | None = None,
    json: Any = None,
    headers: Headers = (),
    timeout: Timeout | None = None,
    sends: bool = False,
) -> Request:
    """Build the request for ``route``.

    A GET whose URL would exceed :data:`MAX_URL_LENGTH` becomes Close's documented
    fallback: a POST with ``x-http-method-override: GET`` and the parameters as a
    JSON object under ``_params``.
    """
    base = base_url.rstrip("/") + route.fill(path_params or {})
    encoded = encode_query(query) if query else ""
    url = f"{base}?{encoded}" if encoded else base
    method = route.method
    body = None if json is None else orjson.dumps(json)
    if method == "GET" and len(url) > MAX_URL_LENGTH:
        params = {k: format_query_value(k, v) for k, v in (query or {}).items()}
        body = orjson.dumps({"_params": {k: v for k, v in params.items() if v is not None}})
        method, url = "POST", base
        headers = (*headers, ("x-http-method-override", "GET"))
    if body is not None:
        headers = (*headers, ("content-type", "application/json"))
    return Request(method, url, headers, body, route, timeout, sends)


def decode_json(response: Response) -> Any:
    """Decode a successful response's JSON body (an empty body is ``{}``).

    Raises:
        ResponseValidationError: the body is not JSON. Its message says where parsing
            stopped, never what the body says (``body`` holds the bytes), and nothing is
            chained to it: the parser's error keeps the whole body.
    """
    content = response.content
    if not content or content.isspace():  # no copy of a large body
        return {}
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError as exc:
        where = str(exc)  # orjson's message: what it expected, and the position
    req = response.request
    kind = response.header("content-type")
    what = f"{len(content)} bytes" + (f" of {kind}" if kind else "")
    raise errors.ResponseValidationError(
        f"expected a JSON body, got {what} that are not JSON: {where}",
        status=response.status,
        body=content,
        method=req.method if req else "",
        url=req.url if req else "",
    )


def _snippet(content: bytes, limit: int = 200) -> str:
    text = " ".join(content.decode("utf-8", "replace").split())
    return text if len(text) <= limit else text[:limit] + "..."


def _error_body(content: bytes) -> Any:
    if not content.strip():
        return None
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return content.decode("utf-8", "replace")


def _as_list(value: Any) -> list[Any]:
    """Close's ``errors`` is a list of messages; tolerate a lone string or nothing."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str) and value else []


def _error_message(body: Any, status: int) -> str:
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        parts = [str(e) for e in _as_list(body.get("errors")) if e]
        field_errors = body.get("field-errors")
        if isinstance(field_errors, dict):
            parts += [f"{field}: {msg}" for field, msg in field_errors.items()]
        if parts:
            return "; ".join(parts)
    elif isinstance(body, str) and body.strip():
        return f"HTTP {status}: {_snippet(body.encode())}"
    return f"HTTP {status}"


_STATUS_ERRORS: dict[int, type[errors.APIError]] = {
    401: errors.AuthenticationError,
    402: errors.PaymentRequiredError,
    403: errors.PermissionDeniedError,
    404: errors.NotFoundError,
    405: errors.MethodNotAllowedError,
    415: errors.UnsupportedMediaTypeError,
}
_REQUEST_ID_HEADERS = ("x-request-id", "x-close-request-id", "request-id")


def decode_error(response: Response) -> errors.APIError:
    """Turn an error response into the matching :class:`~closeasync.errors.APIError`.

    Works for every body: Close's JSON shapes, an HTML page from a proxy, nothing.
    """
    body = _error_body(response.content)
    request_id = next(filter(None, (response.header(h) for h in _REQUEST_ID_HEADERS)), None)
    req = response.request
    common: dict[str, Any] = {
        "status": response.status,
        "body": body,
        "request_id": request_id,
        "method": req.method if req else "",
        "url": req.url if req else "",
    }
    message = _error_message(body, response.status)
    status = response.status
    if status == 400:
        as_dict = body if isinstance(body, dict) else {}
        raw_fields = as_dict.get("field-errors")
        return errors.BadRequestError(
            message,
            errors=[str(e) for e in _as_list(as_dict.get("errors"))],
            field_errors=raw_fields if isinstance(raw_fields, dict) else {},
            **common,
        )
    if status == 429:
        return errors.RateLimitError(
            message,
            retry_after=retry_delay(response),
            rate_limit=parse_rate_limit(response.headers),
            **common,
        )
    if status >= 500:
        return errors.ServerError(message, **common)
    return _STATUS_ERRORS.get(status, errors.APIError)(message, **common)
