"""Checks of single JSON fields that several bodies' rules share (internal).

Each ``check_*`` adds ``{field: message}`` to ``errors``; each ``*_problem`` returns the
message for one value, or None when the value is fine.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = [
    "DATETIME_MESSAGE",
    "FILE_URL_PREFIX",
    "Body",
    "Errors",
    "check_datetimes",
    "check_str",
    "datetime_problem",
    "given",
    "unknown_keys",
]

Body = Mapping[str, Any]
Errors = dict[str, str]

#: Where a file uploaded with Close's Files API lives; attachments must point there.
FILE_URL_PREFIX = "https://app.close.com/go/file/"
DATETIME_MESSAGE = "must be an ISO 8601 date-time with a UTC offset, e.g. 2026-01-05T09:00:00+00:00"


def given(body: Body, key: str) -> bool:
    """Whether ``key`` holds a value (not missing, null or empty)."""
    return body.get(key) not in (None, "")


def unknown_keys(body: Body, allowed: frozenset[str], errors: Errors) -> None:
    """Name every key Close does not accept in this body (its schemas forbid extra keys)."""
    for key in body:
        if key not in allowed:
            errors[key] = "is not a field Close accepts here"


def check_str(body: Body, key: str, errors: Errors, max_length: int | None = None) -> None:
    """A string (or null), at most ``max_length`` characters."""
    value = body.get(key)
    if value is None:
        return
    if not isinstance(value, str):
        errors[key] = f"must be a string, got {type(value).__name__}"
    elif max_length is not None and len(value) > max_length:
        errors[key] = f"must be at most {max_length} characters (got {len(value)})"


def datetime_problem(value: Any) -> str | None:
    """Times must be ISO 8601 with an offset: a naive one is ambiguous (and Close's own are not)."""
    try:
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in value:
        return DATETIME_MESSAGE
    return None


def check_datetimes(body: Body, errors: Errors, keys: tuple[str, ...]) -> None:
    """Each of ``keys`` holds an ISO 8601 date-time with an offset, or null."""
    for key in keys:
        value = body.get(key)
        if value is not None and (problem := datetime_problem(value)) is not None:
            errors[key] = problem
