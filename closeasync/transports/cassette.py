"""Cassettes: recorded interactions as one versioned, human-diffable JSON file.

Pure functions only (no I/O besides reading and writing the file): how requests
and responses are stored, scrubbed and matched.

- JSON bodies are stored parsed (``{"json": ...}``) so diffs read well; other
  bodies as ``{"text": ...}`` (UTF-8) or ``{"base64": ...}``.
- The ``Authorization`` header is never stored. Other headers, query parameters
  and JSON body paths can be scrubbed (replaced by ``"<scrubbed>"``, keeping the
  JSON type), on write and on the live request before matching, so the two
  still match.
- A request matches on method, path, sorted query and canonical JSON body, less
  the query parameters and body paths declared ignorable (timestamps).
"""

from __future__ import annotations

import base64
import difflib
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import attrs
import orjson

from .._version import __version__
from ..pipeline.auth import header_secrets
from ..pipeline.wire import Request, Response

__all__ = [
    "CASSETTE_VERSION",
    "Cassette",
    "Interaction",
    "MatchOptions",
    "RecordedRequest",
    "RecordedResponse",
    "ScrubOptions",
    "base_url_of",
    "credentials_in",
    "secrets_in",
]

CASSETTE_VERSION = 1
SCRUBBED = "<scrubbed>"
_NEVER_STORED = frozenset({"authorization", "cookie", "proxy-authorization", "user-agent", "content-length"})


def encode_body(content: bytes | None) -> dict[str, Any] | None:
    """Store a body: parsed JSON when it is JSON, else text or base64."""
    if not content:
        return None
    try:
        return {"json": orjson.loads(content)}
    except orjson.JSONDecodeError:
        pass
    try:
        return {"text": content.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(content).decode("ascii")}


def decode_body(stored: Mapping[str, Any] | None) -> bytes:
    """The bytes of a stored body."""
    if not stored:
        return b""
    if "json" in stored:
        return orjson.dumps(stored["json"])
    if "text" in stored:
        return str(stored["text"]).encode("utf-8")
    return base64.b64decode(stored["base64"])


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return SCRUBBED
    if isinstance(value, list):
        return [_scrub_value(v) for v in value]
    if isinstance(value, dict):
        return {k: _scrub_value(v) for k, v in value.items()}
    return value


def _apply_path(value: Any, parts: Sequence[str], action: Any) -> Any:
    """Return ``value`` with ``action`` applied at the dotted path (``*`` any key, ``**`` any depth)."""
    if not parts:
        return action(value)
    head, rest = parts[0], parts[1:]
    if head == "**":
        value = _apply_path(value, rest, action)
        children = (
            value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        )
        updates = {k: _apply_path(v, parts, action) for k, v in children}
    elif isinstance(value, dict):
        keys = list(value) if head == "*" else [head] if head in value else []
        updates = {k: _apply_path(value[k], rest, action) for k in keys}
    elif isinstance(value, list) and (head == "*" or head.isdigit()):
        indexes = range(len(value)) if head == "*" else [int(head)] if int(head) < len(value) else []
        updates = {i: _apply_path(value[i], rest, action) for i in indexes}
    else:
        return value
    if isinstance(value, dict):
        return {**value, **updates}
    if isinstance(value, list):
        return [updates.get(i, v) for i, v in enumerate(value)]
    return value


_DROP = object()


def _drop_paths(value: Any, paths: Iterable[str]) -> Any:
    for path in paths:
        value = _apply_path(value, path.split("."), lambda _: _DROP)
    return _without_dropped(value)


def _without_dropped(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_dropped(v) for k, v in value.items() if v is not _DROP}
    if isinstance(value, list):
        return [_without_dropped(v) for v in value if v is not _DROP]
    return value


def _paths(paths: Iterable[str]) -> tuple[str, ...]:
    """The names or paths given; one bare string is one name, not its letters."""
    return (paths,) if isinstance(paths, str) else tuple(paths)


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(_paths(names))


def _lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.lower() for name in _paths(names))


@attrs.frozen
class ScrubOptions:
    """What to hide in a cassette besides the Authorization header (which is never kept).

    ``body_paths`` are dotted paths into JSON bodies of requests and responses:
    ``"sender"``, ``"data.*.to"``, ``"**.remote_phone"`` (any depth).
    """

    headers: frozenset[str] = attrs.field(default=frozenset(), converter=_lowered)
    query: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    body_paths: tuple[str, ...] = attrs.field(default=(), converter=_paths)

    def body(self, stored: dict[str, Any] | None) -> dict[str, Any] | None:
        """Scrub a stored JSON body."""
        if not stored or "json" not in stored or not self.body_paths:
            return stored
        value = stored["json"]
        for path in self.body_paths:
            value = _apply_path(value, path.split("."), _scrub_value)
        return {"json": value}


@attrs.frozen
class MatchOptions:
    """What may differ between a recorded and a live request (timestamps, nonces)."""

    ignore_query: frozenset[str] = attrs.field(default=frozenset(), converter=_names)
    ignore_body_paths: tuple[str, ...] = attrs.field(default=(), converter=_paths)


@attrs.frozen
class RecordedRequest:
    """A request as stored: no credentials, query sorted, body parsed."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: dict[str, Any] | None = None

    @classmethod
    def from_request(cls, request: Request, scrub: ScrubOptions) -> RecordedRequest:
        """Store a live request (scrubbed)."""
        parts = urlsplit(request.url)
        query = tuple(
            sorted(
                (k, SCRUBBED if k in scrub.query else v)
                for k, v in parse_qsl(parts.query, keep_blank_values=True)
            )
        )
        headers = tuple(
            (k.lower(), SCRUBBED if k.lower() in scrub.headers else v)
            for k, v in request.headers
            if k.lower() not in _NEVER_STORED
        )
        return cls(request.method, parts.path, query, headers, scrub.body(encode_body(request.content)))

    def key(self, options: MatchOptions) -> tuple[str, str, tuple[tuple[str, str], ...], bytes]:
        """What must be equal for two requests to match."""
        query = tuple((k, v) for k, v in self.query if k not in options.ignore_query)
        body = b""
        if self.body and "json" in self.body:
            canonical = _drop_paths(self.body["json"], options.ignore_body_paths)
            body = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
        elif self.body:
            body = decode_body(self.body)
        return (self.method, self.path, query, body)

    def describe(self) -> str:
        """One line for error messages."""
        query = "&".join(f"{k}={v}" for k, v in self.query)
        body = "" if not self.body else " " + orjson.dumps(self.body.get("json", self.body)).decode()[:300]
        return f"{self.method} {self.path}{'?' + query if query else ''}{body}"


@attrs.frozen
class RecordedResponse:
    """A response as stored."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: dict[str, Any] | None = None

    @classmethod
    def from_response(cls, response: Response, scrub: ScrubOptions) -> RecordedResponse:
        """Store a live response (scrubbed)."""
        headers = tuple(
            (k, SCRUBBED if k.lower() in scrub.headers else v)
            for k, v in response.headers
            if k.lower() not in ("set-cookie", "content-length")
        )
        return cls(response.status, headers, scrub.body(encode_body(response.content)))

    def to_response(self, request: Request) -> Response:
        """The response to hand back on replay."""
        return Response(self.status, self.headers, decode_body(self.body), request)


@attrs.frozen
class Interaction:
    """One request and the response it got."""

    request: RecordedRequest
    response: RecordedResponse


def _pairs(value: Any) -> tuple[tuple[str, str], ...]:
    return tuple((str(k), str(v)) for k, v in value)


@attrs.define
class Cassette:
    """A recording: metadata and interactions in the order the requests were made."""

    base_url: str = ""
    recorded_at: str = attrs.field(factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    closeasync_version: str = __version__
    interactions: list[Interaction] = attrs.field(factory=list)

    @classmethod
    def load(cls, path: Path) -> Cassette:
        """Read a cassette file.

        Raises:
            ValueError: not a cassette of a version this closeasync reads.
        """
        data = orjson.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != CASSETTE_VERSION:
            raise ValueError(f"{path} is not a version-{CASSETTE_VERSION} closeasync cassette")
        return cls(
            base_url=data.get("base_url", ""),
            recorded_at=data.get("recorded_at", ""),
            closeasync_version=data.get("closeasync_version", ""),
            interactions=[
                Interaction(
                    RecordedRequest(
                        r["request"]["method"],
                        r["request"]["path"],
                        _pairs(r["request"].get("query", ())),
                        _pairs(r["request"].get("headers", ())),
                        r["request"].get("body"),
                    ),
                    RecordedResponse(
                        r["response"]["status"],
                        _pairs(r["response"].get("headers", ())),
                        r["response"].get("body"),
                    ),
                )
                for r in data.get("interactions", [])
            ],
        )

    def dumps(self) -> bytes:
        """The file's bytes: indented, keys sorted, one stable layout for clean diffs."""
        return (
            orjson.dumps(
                {
                    "version": CASSETTE_VERSION,
                    "closeasync_version": self.closeasync_version,
                    "base_url": self.base_url,
                    "recorded_at": self.recorded_at,
                    "interactions": [
                        {
                            "request": {
                                "method": i.request.method,
                                "path": i.request.path,
                                "query": [list(p) for p in i.request.query],
                                "headers": [list(p) for p in i.request.headers],
                                "body": i.request.body,
                            },
                            "response": {
                                "status": i.response.status,
                                "headers": [list(p) for p in i.response.headers],
                                "body": i.response.body,
                            },
                        }
                        for i in self.interactions
                    ],
                },
                option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS,
            )
            + b"\n"
        )


def credentials_in(request: Request) -> set[str]:
    """The secrets a request carries: the Authorization value, its token, a Basic key."""
    return {s for s in header_secrets(request.header("authorization")) if len(s) >= 6}


def secrets_in(cassette: Cassette, content: bytes, secrets: Iterable[str]) -> bool:
    """Whether the file's bytes, or a body stored as base64 in it, contain one of ``secrets``."""
    needles = [s.encode("utf-8") for s in secrets if s]
    if not needles:
        return False
    hidden = [
        decode_body(body)
        for interaction in cassette.interactions
        for body in (interaction.request.body, interaction.response.body)
        if body and "base64" in body
    ]
    return any(needle in blob for blob in (content, *hidden) for needle in needles)


def base_url_of(request: Request) -> str:
    """The API root a request was sent to: its origin and the path before its route.

    Never the URL's user information (it may hold a credential).
    """
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
    route = request.route
    if route is not None:
        for start in (i for i, char in enumerate(parts.path) if char == "/"):
            if route.match(route.method, parts.path[start:]) is not None:
                return origin + parts.path[:start]
    return origin


def nearest(recorded: Sequence[Interaction], live: RecordedRequest, n: int = 3) -> list[str]:
    """Describe the recorded requests most like ``live``, best first."""
    target = live.describe()

    def score(item: Interaction) -> float:
        same = (item.request.method == live.method) + (item.request.path == live.path)
        return same + difflib.SequenceMatcher(None, item.request.describe(), target).ratio()

    ranked = sorted(recorded, key=score, reverse=True)[:n]
    return [i.request.describe() for i in ranked]
