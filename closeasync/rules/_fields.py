"""The kinds of value a JSON field of a body may hold, and the checks every body shares (internal).

A body's rules are a table ``{field: check}`` (:data:`Checks`): each check takes a value that
is not null and returns why it is wrong, or None. :func:`check_values` runs a table over a
body and also refuses any value that cannot be sent as JSON at all (a lone surrogate in a
string, a Python object): the SDK runs the same tables before sending and the fake to answer
400, so a wrong kind of value is refused by both, naming the field, and never reaches
``orjson`` or a handler that would trip over it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "DATETIME_MESSAGE",
    "FILE_URL_PREFIX",
    "Body",
    "Check",
    "Checks",
    "Errors",
    "boolean",
    "check_values",
    "datetime_problem",
    "file_url",
    "given",
    "integer",
    "json_problem",
    "list_of",
    "object_with",
    "one_of",
    "shown",
    "string",
    "text_problem",
    "unknown_keys",
    "url",
]

Body = Mapping[str, Any]
Errors = dict[str, str]
Check = Callable[[Any], "str | None"]
Checks = Mapping[str, Check]

#: Where a file uploaded with Close's Files API lives; attachments must point there.
FILE_URL_PREFIX = "https://app.close.com/go/file/"
DATETIME_MESSAGE = "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-01-05T09:00:00+00:00"
SURROGATE_MESSAGE = "holds a lone surrogate (not valid Unicode), which cannot be sent as UTF-8"
#: orjson writes integers of at most 64 bits; Close reads no larger.
_INT_RANGE = (-(2**63), 2**64 - 1)
#: Nesting deeper than this is no Close field's (and orjson stops at 255).
_MAX_DEPTH = 64


def given(body: Body, key: str) -> bool:
    """Whether ``key`` holds a value (not missing, null or empty)."""
    return body.get(key) not in (None, "")


def unknown_keys(body: Body, allowed: frozenset[str], errors: Errors) -> None:
    """Name every key Close does not accept in this body (its schemas forbid extra keys)."""
    for key in body:
        if key not in allowed:
            errors[key] = "is not a field Close accepts here"


def text_problem(value: str) -> str | None:
    """Why a string cannot be sent (a lone surrogate), or None; ASCII is decided at once."""
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE_MESSAGE
    return None


def json_problem(value: Any) -> str | None:
    """Why ``value`` cannot be sent as JSON, or None: only null, booleans, finite numbers
    (integers of 64 bits), strings of valid Unicode, lists and objects with string keys.

    >>> json_problem({"a": [1, "x", None]}), json_problem(object())
    (None, 'cannot be sent as JSON (an object)')
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if item is None or isinstance(item, bool):
            continue
        if isinstance(item, str):
            if (problem := text_problem(item)) is not None:
                return problem
        elif isinstance(item, int):
            if not _INT_RANGE[0] <= item <= _INT_RANGE[1]:
                return "holds an integer too large to send"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "holds a number that is not finite (JSON has no NaN or infinity)"
        elif depth >= _MAX_DEPTH and isinstance(item, list | dict):
            return f"is nested more than {_MAX_DEPTH} levels deep"
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, dict):
            for key, child in item.items():
                if not isinstance(key, str):
                    return f"holds an object key that is not a string ({shown(key)})"
                stack.append((key, depth + 1))
                stack.append((child, depth + 1))
        else:
            return f"cannot be sent as JSON ({shown(item)})"
    return None


def check_values(body: Body, checks: Checks, errors: Errors) -> None:
    """Check each value of ``body`` by its field's kind (null passes: it clears the field),
    and refuse any value that cannot be sent as JSON. Keys already in ``errors`` are skipped."""
    for key, value in body.items():
        if key in errors:
            continue
        check = checks.get(key)
        problem = None if value is None or check is None else check(value)
        if problem is None:
            problem = json_problem(value)
        if problem is not None:
            errors[key] = problem


# -- kinds ------------------------------------------------------------------------------------


def string(max_length: int | None = None, *, min_length: int = 0) -> Check:
    """A string of valid Unicode, of ``min_length`` to ``max_length`` characters (an id is one
    too: Close takes ids and numbers-as-text as strings, so an ``int`` is refused)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a string, got {type(value).__name__}"
        if len(value) < min_length:
            return "must not be empty" if min_length == 1 else f"must be at least {min_length} characters"
        if max_length is not None and len(value) > max_length:
            return f"must be at most {max_length} characters (got {len(value)})"
        return text_problem(value)

    return check


def boolean(value: Any) -> str | None:
    """``true`` or ``false`` (not 0/1 or a string)."""
    return None if isinstance(value, bool) else "must be true or false"


def integer(minimum: int | None = None, maximum: int | None = None, *, what: str = "a whole number") -> Check:
    """An integer (a bool is not one) within the bounds; the message says ``what`` it counts."""
    if minimum is not None and maximum is not None:
        bounds = f" from {minimum} to {maximum}"
    elif minimum is not None:
        bounds = f" of at least {minimum}"
    else:
        bounds = "" if maximum is None else f" of at most {maximum}"
    message = f"must be {what}{bounds}"

    def check(value: Any) -> str | None:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            return f"{message}, got {shown(value)}"
        return None

    return check


def one_of(values: frozenset[str]) -> Check:
    """One of Close's values for an enum (a string: a list or object is no value)."""

    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in values:
            return None
        return f"must be one of {', '.join(sorted(values))}; got {shown(value)}"

    return check


def shown(value: Any, limit: int = 60) -> str:
    """A short, safe picture of a wrong value for a message: a scalar's repr, else its type."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"an integer of {value.bit_length()} bits"  # (Python refuses to print a huge one)
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        return text if len(text) <= limit else text[: limit - 3] + "..."
    name = type(value).__name__
    return f"{'an' if name[:1] in 'aeiouAEIOU' else 'a'} {name}"


def path_id_problem(value: Any) -> str | None:
    """Why ``value`` cannot be an id in a URL path (None: it can): not a non-empty string,
    ``.``/``..`` (which would move the path), or text UTF-8 cannot encode (a lone surrogate)."""
    if not isinstance(value, str) or not value.strip() or value in (".", ".."):
        return f"must be a non-empty id, got {shown(value)}"
    return text_problem(value)


def datetime_problem(value: Any) -> str | None:
    """Times must be ISO 8601 with an offset: a naive one is ambiguous (and Close's own are not)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        return DATETIME_MESSAGE
    return None


def url(*, secure: bool) -> Check:
    """An absolute URL (``https://`` when ``secure``)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"must be a URL string, got {type(value).__name__}"
        parts = urlsplit(value)
        if secure and parts.scheme != "https":
            return "must be a secure URL (starting with https://)"
        if not parts.scheme or not parts.netloc or any(c.isspace() for c in value):
            return "must be an absolute URL, e.g. https://example.com/recording.mp3"
        return text_problem(value)

    return check


def file_url(value: Any) -> str | None:
    """A file uploaded with Close's Files API (attachments must point there)."""
    if isinstance(value, str) and value.startswith(FILE_URL_PREFIX):
        return text_problem(value)
    return f"must start with {FILE_URL_PREFIX} (upload the file with the Files API first)"


def list_of(item: Check, *, max_items: int | None = None, what: str = "a list") -> Check:
    """A list of at most ``max_items``, each passing ``item`` (the first bad one is named)."""

    def check(value: Any) -> str | None:
        if not isinstance(value, list):
            return f"must be {what}, got {type(value).__name__}"
        if max_items is not None and len(value) > max_items:
            return f"must have at most {max_items} items (got {len(value)})"
        for index, element in enumerate(value):
            problem = item(element)
            if problem is not None:
                return f"item {index}: {problem}"
        return None

    return check


def object_with(fields: Checks, *, required: tuple[str, ...] = ()) -> Check:
    """An object whose ``required`` keys hold a value and whose known keys pass their
    checks (``"url must start with..."``); other keys are left to :func:`json_problem`."""

    def check(value: Any) -> str | None:
        if not isinstance(value, Mapping):
            return f"must be an object, got {type(value).__name__}"
        missing = [key for key in required if not given(value, key)]
        if missing:
            return f"missing {', '.join(missing)}"
        for key, kind in fields.items():
            held = value.get(key)
            if held is not None and (problem := kind(held)) is not None:
                return f"{key} {problem}"
        return None

    return check
