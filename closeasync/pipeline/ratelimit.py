"""Rate-limit headers: what a response says about its endpoint group's limit.

Close's rate-limit headers come in several forms, all of which are parsed:

- ``RateLimit: limit=100, remaining=50, reset=5`` (documented, commas);
- ``ratelimit: limit=160; remaining=159; reset=8`` (observed live, semicolons);
- ``x-rate-limit-limit`` / ``-remaining`` / ``-reset`` (before July 2023), and the
  draft-RFC ``RateLimit-Limit`` / ``-Remaining`` / ``-Reset`` fields.

``reset`` is seconds from now (possibly fractional), not an epoch. Malformed
fields are ignored, as the RFC asks, so a bad header never breaks a request. Every
function here is pure: headers in, numbers out.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, TypeAlias

import attrs
import orjson

if TYPE_CHECKING:
    from .wire import Response

__all__ = [
    "Headers",
    "RateLimit",
    "get_header",
    "parse_rate_limit",
    "parse_retry_after",
    "read_rate_limit",
    "retry_delay",
    "shown_seconds",
    "usual_rate_limit",
]

#: HTTP headers as (name, value) pairs, in the order received.
Headers: TypeAlias = tuple[tuple[str, str], ...]


def get_header(headers: Headers, name: str) -> str | None:
    """Return the first value of a header (case-insensitive name), or None."""
    lowered = name.lower()
    if lowered.isascii():
        # Most names differ from the one sought in length: comparing lengths first spares a
        # lowercased copy of each (~0.2k instructions a header; error responses and
        # retry decisions search several). Exact for an ASCII name: the one lowercasing that
        # changes a length (U+0130) brings a non-ASCII character.
        size = len(lowered)
        for key, value in headers:
            if len(key) == size and key.lower() == lowered:
                return value
        return None
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


@attrs.frozen
class RateLimit:
    """What a response said about its endpoint group's rate limit.

    ``reset`` is the number of seconds until the window resets.
    """

    limit: float | None = None
    remaining: float | None = None
    reset: float | None = None


def _number(text: str) -> float | None:
    try:
        value = float(text.strip().strip('"'))
    except ValueError:
        return None
    return value if value >= 0 and value == value and value != float("inf") else None


_SEPARATORS = re.compile(r"[,;]")


def _combined_rate_limit(headers: Headers) -> dict[str, float]:
    """The one-header form: ``RateLimit: limit=.., remaining=.., reset=..`` (, or ;)."""
    found: dict[str, float] = {}
    for item in _SEPARATORS.split(get_header(headers, "ratelimit") or ""):
        key, sep, value = item.partition("=")
        number = _number(value) if sep else None
        key = key.strip().lower()
        if number is not None and key in _RATE_LIMIT_KEYS:
            found.setdefault(key, number)
    return found


def _separate_rate_limit(headers: Headers) -> dict[str, float]:
    """The older one-header-per-value forms: ``x-rate-limit-*``, then ``RateLimit-*``."""
    for prefix in ("x-rate-limit-", "ratelimit-"):
        found: dict[str, float] = {}
        for key in _RATE_LIMIT_KEYS:
            raw = get_header(headers, prefix + key)
            number = _number(raw) if raw is not None else None
            if number is not None:
                found[key] = number
        if found:
            return found
    return {}


_RATE_LIMIT_KEYS = ("limit", "remaining", "reset")


def parse_rate_limit(headers: Headers) -> RateLimit | None:
    """Parse any of Close's rate-limit header forms (see the module docstring).

    The current one-header form wins; the older per-value headers are read only
    when it is absent or holds nothing valid.

    >>> parse_rate_limit((("ratelimit", "limit=160; remaining=159; reset=8"),))
    RateLimit(limit=160.0, remaining=159.0, reset=8.0)
    """
    found = read_rate_limit(headers)
    return None if found is None else RateLimit(*found)


#: Close's form to the letter (commas as documented, or semicolons as seen live): a
#: sublanguage of ``_USUAL_FORM`` with the same groups, without its optional spaces and
#: case-folding, which cost the regex engine about as much again on every response
#: that carries it.
#: Possessive repeats (``{1,15}+``): the same language, with nothing for the engine to
#: backtrack into (~15% cheaper on every response).
_NUMBER = r"(\d{1,15}+(?:\.\d{1,15}+)?+)"
_CLOSE_FORM = re.compile(rf"limit={_NUMBER}[,;] remaining={_NUMBER}[,;] reset={_NUMBER}", re.ASCII)

#: Close's ``RateLimit``, when it sends one, in its order: the general parser gives the
#: same numbers, at several times the cost. Every response is read (the pacer needs it) and
#: ``remaining``/``reset`` differ from one response to the next, so a cache would miss.
#: Digits are bounded so that every match is a finite float; longer numbers (junk) go
#: to the general parser, which drops what is not finite.
_USUAL_FORM = re.compile(
    r"\s*limit\s*=\s*(\d{1,15}(?:\.\d{1,15})?)\s*[,;]\s*remaining\s*=\s*(\d{1,15}(?:\.\d{1,15})?)"
    r"\s*[,;]\s*reset\s*=\s*(\d{1,15}(?:\.\d{1,15})?)\s*",
    re.IGNORECASE | re.ASCII,
)


def usual_rate_limit(value: str | None) -> tuple[float, float, float] | None:
    """``limit``, ``remaining`` and ``reset`` of a ``RateLimit`` value in Close's usual form.

    None when the value is absent or in any other form (:func:`parse_rate_limit` reads those).

    >>> usual_rate_limit("limit=160, remaining=159, reset=8")
    (160.0, 159.0, 8.0)
    """
    if value is not None:
        usual = _CLOSE_FORM.fullmatch(value) or _USUAL_FORM.fullmatch(value)
        if usual is not None:
            limit, remaining, reset = usual.groups()
            return float(limit), float(remaining), float(reset)
    return None


#: Every header name a rate-limit form uses, and their lengths (a cheap first test).
_RATE_LIMIT_NAMES = frozenset(
    {
        "ratelimit",
        *(f"{prefix}{key}" for prefix in ("x-rate-limit-", "ratelimit-") for key in _RATE_LIMIT_KEYS),
    }
)
_RATE_LIMIT_NAME_LENGTHS = frozenset(len(name) for name in _RATE_LIMIT_NAMES)


def read_rate_limit(headers: Headers) -> tuple[float | None, float | None, float | None] | None:
    """``limit``, ``remaining`` and ``reset`` from whichever form ``headers`` carry; None without any.

    The reader behind :func:`parse_rate_limit`, which the pacer calls directly: one pass
    over the headers for Close's usual form and for a response without any rate-limit
    header (Close often sends none), which between them are nearly every response. Any
    other form goes to the general parsers.

    >>> read_rate_limit((("Date", "x"), ("RateLimit", "limit=160, remaining=159, reset=8")))
    (160.0, 159.0, 8.0)
    >>> read_rate_limit((("Date", "x"),)) is None
    True
    """
    other_form = False
    for key, value in headers:
        if len(key) in _RATE_LIMIT_NAME_LENGTHS:
            name = key.lower()
            if name == "ratelimit":  # the first one decides, as for get_header
                usual = usual_rate_limit(value)
                if usual is not None:
                    return usual
                other_form = True
                break
            other_form = other_form or name in _RATE_LIMIT_NAMES
    if not other_form:
        return None
    general = _combined_rate_limit(headers) or _separate_rate_limit(headers)
    if not general:
        return None
    return general.get("limit"), general.get("remaining"), general.get("reset")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Parse ``Retry-After``: delay seconds, or an HTTP date (then relative to ``now``).

    >>> parse_retry_after("3")
    3.0
    """
    if value is None:
        return None
    seconds = _number(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def retry_delay(response: Response, *, now: datetime | None = None) -> float | None:
    """How long a 429 asks us to wait, or None if it does not say.

    In order: ``RateLimit``'s ``reset`` (exact; ``Retry-After`` is rounded up to a
    whole second), ``Retry-After``, the older per-value ``reset`` headers, and the
    legacy body's ``error.rate_reset``.
    """
    for delay in (
        _combined_rate_limit(response.headers).get("reset"),
        parse_retry_after(response.header("retry-after"), now=now),
        _separate_rate_limit(response.headers).get("reset"),
        _legacy_body_reset(response.content),
    ):
        if delay is not None:
            return delay
    return None


def _legacy_body_reset(content: bytes) -> float | None:
    try:
        body = orjson.loads(content) if content.strip() else None
    except orjson.JSONDecodeError:
        return None
    error = body.get("error") if isinstance(body, dict) else None
    reset = error.get("rate_reset") if isinstance(error, dict) else None
    if isinstance(reset, int | float) and not isinstance(reset, bool) and 0 <= reset < 1e15:
        return float(reset)
    return None


def shown_seconds(value: float) -> str:
    """Seconds for a message: one decimal, or three significant digits once absurdly large
    (a server may announce ``reset=1e300``; a message of 300 digits helps nobody).

    >>> shown_seconds(2.345), shown_seconds(1e300)
    ('2.3', '1e+300')
    """
    return f"{value:.1f}" if abs(value) < 1e6 else f"{value:.3g}"
