"""Close's rules for reading the event log (``GET /event/``), as pure functions over queries.

Close documents which filters may be combined (quoted in ``CLOSE_API_NOTES.md`` section 8):
any other combination is refused. ``date_updated`` bounds may be added to any of them, and
no filter at all lists every event. Paging is by cursor: ``_limit`` of at most 50, no
``_skip``. The SDK runs these before sending and the fake answers 400 with them, so the
two cannot disagree. Each function returns ``{field: message}`` (empty when valid).
"""

from __future__ import annotations

from collections.abc import Collection

from ..models.registry import ACTIVITY_OBJECT_TYPES

__all__ = [
    "ACTIVITY_OBJECT_TYPES",
    "DATE_FILTERS",
    "EVENT_FILTERS",
    "MAX_EVENT_LIMIT",
    "SUPPORTED_COMBINATIONS",
    "event_list_errors",
]

Errors = dict[str, str]

#: The filters of ``GET /event/`` other than the dates.
EVENT_FILTERS = ("object_type", "object_id", "action", "lead_id", "user_id", "request_id")
#: The ``date_updated`` bounds, which may be added to any combination.
DATE_FILTERS = ("date_updated__gt", "date_updated__gte", "date_updated__lt", "date_updated__lte")
#: Close's largest (and default) page of events.
MAX_EVENT_LIMIT = 50

#: The combinations of :data:`EVENT_FILTERS` Close supports, as it lists them (and none at all).
SUPPORTED_COMBINATIONS: frozenset[frozenset[str]] = frozenset(
    frozenset(names)
    for names in (
        (),
        ("object_type", "object_id"),
        ("object_type", "action"),
        ("object_id", "action"),
        ("lead_id", "object_type"),
        ("lead_id", "object_type", "action"),
        ("lead_id", "user_id", "object_type"),
        ("lead_id", "user_id", "object_type", "action"),
        ("lead_id", "user_id"),
        ("user_id", "object_id"),
        ("user_id", "object_id", "action"),
        ("user_id", "object_type"),
        ("user_id", "object_type", "action"),
        ("lead_id",),
        ("user_id",),
        ("request_id",),
    )
)


def _shown(names: Collection[str]) -> str:
    return " + ".join(sorted(names)) if names else "no filter"


def event_list_errors(
    present: Collection[str], *, limit: int | None = None, skip: int | None = None
) -> Errors:
    """What is wrong with a ``GET /event/`` query holding the filters ``present``.

    ``present`` are the names given (``_cursor``, ``_limit``, ``_skip`` and ``_fields`` are
    paging, not filters, and are ignored here; pass ``limit`` and ``skip`` to check them).

    >>> event_list_errors({"object_type", "action", "date_updated__gte"})
    {}
    >>> event_list_errors({"object_type"})["object_type"].split(";")[0]
    'Close does not support filtering the event log by object_type alone'
    >>> event_list_errors(set(), limit=100)
    {'_limit': 'at most 50 events a page'}
    """
    errors: Errors = {}
    paging = {"_cursor", "_limit", "_skip", "_fields"}
    unknown = sorted(set(present) - set(EVENT_FILTERS) - set(DATE_FILTERS) - paging)
    for name in unknown:
        known = ", ".join((*EVENT_FILTERS, "date_updated__gt/gte/lt/lte"))
        errors[name] = f"not a filter of the event log (filters: {known})"
    given = frozenset(name for name in present if name in EVENT_FILTERS)
    if given not in SUPPORTED_COMBINATIONS:
        allowed = sorted(
            (_shown(combo) for combo in SUPPORTED_COMBINATIONS if combo and combo > given),
            key=lambda text: (text.count("+"), text),
        )
        hint = f"; add one of: {', '.join(allowed[:4])}" if allowed else ""
        key = sorted(given)[0]
        what = f"{_shown(given)} together" if len(given) > 1 else f"{key} alone"
        errors[key] = f"Close does not support filtering the event log by {what}{hint}"
    if limit is not None and not 0 < limit <= MAX_EVENT_LIMIT:
        errors["_limit"] = f"at most {MAX_EVENT_LIMIT} events a page"
    if skip:
        errors["_skip"] = "the event log pages by cursor (_cursor), not _skip"
    return errors
