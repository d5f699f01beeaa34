"""Close's rules for webhook subscriptions (``POST`` / ``PUT /webhook/``), as pure functions.

A subscription is ``{url, events: [{object_type, action, extra_filter?}], verify_ssl?}``
(``CLOSE_API_NOTES.md`` section 8); an update may also set ``status`` (``active`` or
``paused``). Each entry of ``events`` names both an ``object_type`` and an ``action``:
Close documents no wildcard, so an entry missing either is refused. An organization has
at most 40 subscriptions. Each function returns ``{field: message}`` (empty when valid).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "MAX_SUBSCRIPTIONS",
    "SUBSCRIPTION_STATUSES",
    "webhook_create_errors",
    "webhook_update_errors",
]

Errors = dict[str, str]

#: Close's limit of subscriptions per organization.
MAX_SUBSCRIPTIONS = 40
#: The statuses a subscription can have (and an update can set).
SUBSCRIPTION_STATUSES = ("active", "paused")
_CREATE_FIELDS = frozenset({"url", "events", "verify_ssl"})
_UPDATE_FIELDS = _CREATE_FIELDS | {"status"}
_ENTRY_FIELDS = frozenset({"object_type", "action", "extra_filter"})
MAX_URL = 2000


def _url_error(url: Any) -> str | None:
    if not isinstance(url, str) or not url:
        return "must be a non-empty URL"
    if len(url) > MAX_URL:
        return f"must be at most {MAX_URL} characters"
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http:// or https:// URL"
    return None


def _entry_error(index: int, entry: Any) -> str | None:
    if not isinstance(entry, Mapping):
        return f"entry {index} must be an object"
    unknown = sorted(set(entry) - _ENTRY_FIELDS)
    if unknown:
        return f"entry {index}: {', '.join(unknown)} is not a field Close accepts here"
    for name in ("object_type", "action"):
        value = entry.get(name)
        if not isinstance(value, str) or not value.strip():
            return f"entry {index}: {name} is required (a non-empty string)"
    extra = entry.get("extra_filter")
    if extra is not None and not isinstance(extra, Mapping):
        return f"entry {index}: extra_filter must be an object"
    return None


def _events_error(events: Any) -> str | None:
    if not isinstance(events, list) or not events:
        return "must be a non-empty list of {object_type, action} objects"
    return next((e for e in (_entry_error(i, entry) for i, entry in enumerate(events)) if e), None)


def _check(body: Any, allowed: frozenset[str], *, create: bool) -> Errors:
    if not isinstance(body, Mapping):
        return {"body": "must be a JSON object"}
    errors: Errors = {key: "is not a field Close accepts here" for key in body if key not in allowed}
    if create or "url" in body:
        problem = _url_error(body.get("url"))
        if problem:
            errors["url"] = problem
    if create or "events" in body:
        problem = _events_error(body.get("events"))
        if problem:
            errors["events"] = problem
    if "verify_ssl" in body and not isinstance(body["verify_ssl"], bool):
        errors["verify_ssl"] = "must be true or false"
    if "status" in body and body["status"] not in SUBSCRIPTION_STATUSES:
        errors["status"] = f"must be one of {', '.join(SUBSCRIPTION_STATUSES)}"
    return errors


def webhook_create_errors(body: Any) -> Errors:
    """What is wrong with a ``POST /webhook/`` body (``url`` and ``events`` are required).

    >>> webhook_create_errors({"url": "https://example.com/hook",
    ...                        "events": [{"object_type": "activity.email", "action": "created"}]})
    {}
    >>> problems = webhook_create_errors({"url": "ftp://x", "events": [{"object_type": "lead"}]})
    >>> for field, problem in problems.items():
    ...     print(f"{field}: {problem}")
    url: must be an http:// or https:// URL
    events: entry 0: action is required (a non-empty string)
    """
    return _check(body, _CREATE_FIELDS, create=True)


def webhook_update_errors(body: Any) -> Errors:
    """What is wrong with a ``PUT /webhook/{id}/`` body (every field optional)."""
    return _check(body, _UPDATE_FIELDS, create=False)
