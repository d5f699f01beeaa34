"""The fake's own request and response values, independent of any transport."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import orjson

__all__ = [
    "MAX_BODY_BYTES",
    "FakeRequest",
    "FakeResponse",
    "error",
    "field_errors",
    "not_allowed",
    "ok",
    "too_large",
]


#: The largest request body the fake reads (a maximal valid email is a few MiB); larger is 413.
MAX_BODY_BYTES = 32 * 2**20


@attrs.frozen
class FakeRequest:
    """A request as the fake sees it: the path is relative to the API root (``/activity/``)."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict)
    body: Any = None
    headers: Mapping[str, str] = attrs.field(factory=dict)  # lower-case names
    #: The body's length in bytes as received (0 when built without bytes).
    size: int = 0

    @classmethod
    def from_wire(
        cls, method: str, url: str, headers: Mapping[str, str], content: bytes | None, *, root: str
    ) -> FakeRequest:
        """Build from an HTTP request; ``root`` is the API path prefix (``/api/v1``).

        A body over :data:`MAX_BODY_BYTES` is not parsed: the
        router answers 413 for it.

        Raises:
            ValueError: the body is not JSON (answered with 400 by the router).
        """
        parts = urlsplit(url)
        path = parts.path[len(root) :] if parts.path.startswith(root) else parts.path
        content = content or b""
        size = len(content)
        parse = size <= MAX_BODY_BYTES and content.strip()
        return cls(
            method.upper(),
            path or "/",
            dict(parse_qsl(parts.query, keep_blank_values=True)),
            orjson.loads(content) if parse else None,
            {k.lower(): v for k, v in headers.items()},
            size,
        )


@attrs.frozen
class FakeResponse:
    """A response: a JSON body (or None for an empty one) and extra headers."""

    status: int
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()

    def content(self) -> bytes:
        """The body as bytes (empty when there is none)."""
        return b"" if self.body is None else orjson.dumps(self.body)

    def with_headers(self, *headers: tuple[str, str]) -> FakeResponse:
        """Return a copy with more headers."""
        return attrs.evolve(self, headers=(*self.headers, *headers))


def ok(body: Any) -> FakeResponse:
    """200 with a JSON body."""
    return FakeResponse(200, body)


def error(status: int, message: str) -> FakeResponse:
    """Close's plain error shape: ``{"error": "..."}``."""
    return FakeResponse(status, {"error": message})


def field_errors(problems: Mapping[str, str], errors: list[str] | None = None) -> FakeResponse:
    """Close's validation shape: 400 ``{"errors": [...], "field-errors": {...}}``."""
    return FakeResponse(400, {"errors": list(errors or []), "field-errors": dict(problems)})


def not_allowed(methods: Iterable[str]) -> FakeResponse:
    """405 for a URL that exists with other methods, saying which (``Allow``, as HTTP asks)."""
    allow = ", ".join(sorted(set(methods)))
    return error(405, "The method is not allowed for the requested URL.").with_headers(("Allow", allow))


def too_large() -> FakeResponse:
    """413 for a body over :data:`MAX_BODY_BYTES`."""
    return error(413, f"The request body is larger than the {MAX_BODY_BYTES // 2**20} MiB the server reads.")
