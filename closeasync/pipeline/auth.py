"""Credentials: built into an Authorization header once, and never shown."""

from __future__ import annotations

import base64
import binascii
import threading
import weakref
from typing import Any

from ..errors import ConfigurationError

__all__ = ["Credentials", "live_secrets"]

#: Every credential a program still holds. An object handed out (a model, a page) keeps
#: none, so an error raised later, when one of its fields is read, is cleaned against these.
_LIVE: weakref.WeakSet[Credentials] = weakref.WeakSet()
#: Adding to the set while another thread reads it would break that read.
_LOCK = threading.Lock()
#: Their secrets, worked out again only after a credential came or went (read per response).
_cached: frozenset[str] | None = frozenset()
#: Bumped whenever a credential comes or goes, so a union computed meanwhile is not kept.
_generation = 0


def live_secrets() -> frozenset[str]:
    """Every form of every credential still in use (see :meth:`Credentials.secrets`)."""
    global _cached
    secrets = _cached
    if secrets is not None:
        return secrets
    with _LOCK:
        generation = _generation
        secrets = frozenset().union(*(credentials.secrets() for credentials in list(_LIVE)))
        if generation == _generation:  # no credential came or went meanwhile (a GC, say)
            _cached = secrets
    return secrets


def _forget_cached(_: object = None) -> None:
    # Also called by the garbage collector, from any thread: no lock, two plain stores.
    global _cached, _generation
    _generation += 1
    _cached = None


def _register(credentials: Credentials) -> None:
    with _LOCK:
        _LIVE.add(credentials)
        _forget_cached()
    weakref.finalize(credentials, _forget_cached)


class Credentials:
    """An API key (HTTP Basic, key as the username) or an OAuth access token (Bearer).

    The secret is kept only inside the header value; ``repr`` and ``str`` say which
    kind of credential it is and nothing else.

    >>> Credentials.api_key("api_abc")
    <Credentials api_key (hidden)>
    """

    __slots__ = ("__weakref__", "_header", "kind")

    def __init__(self, kind: str, header: str) -> None:
        self.kind = kind
        self._header = header
        _register(self)

    @classmethod
    def api_key(cls, key: str) -> Credentials:
        """Basic auth with the key as username and an empty password, as Close asks."""
        _check("api_key", key)
        token = base64.b64encode(f"{key}:".encode()).decode("ascii")
        return cls("api_key", f"Basic {token}")

    @classmethod
    def oauth_token(cls, token: str) -> Credentials:
        """Bearer auth with an OAuth 2.0 access token."""
        _check("oauth_token", token)
        return cls("oauth_token", f"Bearer {token}")

    @property
    def header(self) -> str:
        """The ``Authorization`` header value (contains the secret: never log it)."""
        return self._header

    def secrets(self) -> frozenset[str]:
        """Every form of the secret that could leak: the header, the token, the key."""
        return header_secrets(self._header)

    def __repr__(self) -> str:
        return f"<Credentials {self.kind} (hidden)>"

    __str__ = __repr__


def credential_in(header: str | None) -> str | None:
    """The API key (Basic, key as username) or token (Bearer) an Authorization header carries.

    >>> credential_in("Basic YXBpX2FiYzo=")
    'api_abc'
    """
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    if scheme.lower() == "basic":
        try:
            user = base64.b64decode(value.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            return None
        return user or None
    return None


def header_secrets(header: str | None) -> frozenset[str]:
    """Every form of the secret in an Authorization header: the value, its token, the key."""
    if not header:
        return frozenset()
    forms = {header, header.partition(" ")[2].strip(), credential_in(header) or ""}
    return frozenset(f for f in forms if f)


def _check(name: str, secret: object) -> None:
    if not isinstance(secret, str) or not secret.strip():
        raise ConfigurationError(f"{name} must be a non-empty string")
    if any(c.isspace() or ord(c) < 32 for c in secret):
        # A newline here would let a header be injected; whitespace is never part of a key.
        raise ConfigurationError(f"{name} contains whitespace or control characters")


def _scrub(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, "<redacted>")
        return value
    if isinstance(value, bytes):
        for secret in secrets:
            value = value.replace(secret.encode(), b"<redacted>")
        return value
    if type(value) in (list, tuple):  # exactly: a named tuple is someone else's structure
        return type(value)(_scrub(v, secrets) for v in value)
    if type(value) is dict:
        return {_scrub(k, secrets): _scrub(v, secrets) for k, v in value.items()}
    return value


def redact_exception(exc: BaseException, secrets: frozenset[str]) -> None:
    """Remove credentials from an error and every exception chained to it: message, args, attributes.

    Defence in depth: Close never echoes a key, but a proxy or a fake might, and an
    error's body, field errors or cause would then carry it into logs. The whole chain is
    cleaned (``__cause__``, ``__context__``, the members of a group), closeasync's errors
    and others alike: a parser's error holds what it failed on (orjson's ``doc`` is the
    whole body), a ``ValueError`` quotes the value.
    """
    if not secrets:
        return
    seen: set[int] = set()
    pending: list[BaseException | None] = [exc]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.args = _scrub(current.args, secrets)
        values = current.__dict__  # written directly: a property or a frozen class cannot refuse
        for name, value in list(values.items()):
            values[name] = _scrub(value, secrets)
        pending += (current.__cause__, current.__context__)
        if isinstance(current, BaseExceptionGroup):
            pending += current.exceptions
