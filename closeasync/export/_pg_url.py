"""PostgreSQL URLs as the export reads and shows them: never with their password."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote

__all__ = ["ambiguous", "is_postgres_url", "secrets_of", "shown_url"]

_SCHEMES = ("postgresql", "postgres")


def is_postgres_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://`` or ``postgres://``).

    >>> is_postgres_url("postgres://me@db/crm"), is_postgres_url("close.sqlite")
    (True, False)
    """
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.lower() in _SCHEMES


#: scheme, authority (user info and hosts), path: read by hand, so that no URL makes it raise.
_URL = re.compile(r"([^:/?#]+)://([^/?#]*)([^?#]*)")


def ambiguous(url: str) -> bool:
    """Whether a password may hold an unencoded ``/``, ``?`` or ``#`` (an ``@`` after one of
    them): such a URL splits where its author did not mean, and shows part of the password."""
    rest = url.partition("://")[2]
    at = rest.rfind("@")
    return at >= 0 and any(mark in rest[:at] for mark in "/?#")


def shown_url(url: str) -> str:
    """``url`` as messages show it: no password, no query (which may hold one).

    >>> shown_url("postgresql://me:s3cret@db.example.com:5433/crm?sslmode=require")
    'postgresql://me@db.example.com:5433/crm'
    """
    found = _URL.match(url)
    if found is None or ambiguous(url):
        return "a PostgreSQL URL that does not parse"
    scheme, authority, path = found.groups()
    user_info, at, hosts = authority.rpartition("@")
    return f"{scheme}://{user_info.partition(':')[0]}{at}{hosts}{path}"


def secrets_of(url: str) -> set[str]:
    """The password of ``url`` (in its user info or its query), as written and decoded, to
    keep out of messages."""
    found = _URL.match(url)
    authority = found.group(2) if found is not None else url
    words = [authority.rpartition("@")[0].partition(":")[2]]
    words += [value for name, value in parse_qsl(url.partition("?")[2]) if "password" in name.lower()]
    return {form for word in words if word for form in (word, unquote(word))}
