"""The values Close's activity list filters take, as pure functions (ids, dates, ordering).

The SDK checks every filter value before a listing is built (``close.emails.list(...)``,
``close.activities.list(...)``) and the fake checks the query it receives with the same
functions, so a value one refuses the other refuses too, naming the same parameter.
On the wire each is text: an id filter is one id or ids joined by commas, a date filter
an ISO 8601 date or date-time (a naive one read in the client's ``X-TZ-Offset`` zone).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from ._fields import Errors, shown, text_problem

__all__ = [
    "DATE_FILTERS",
    "ID_FILTERS",
    "ORDERS",
    "id_filter_problem",
    "one_id_problem",
    "order_problem",
    "parse_filter_time",
    "query_value_errors",
    "sdk_filter_problem",
    "time_filter_problem",
]

#: Filters that take one id, or several joined by commas.
ID_FILTERS = frozenset(
    {"lead_id", "contact_id", "user_id", "id__in", "lead_id__in", "contact_id__in", "user_id__in"}
)
#: Filters that take exactly one id.
SINGLE_ID_FILTERS = frozenset({"organization_id"})
DATE_FILTERS = tuple(
    f"{field}__{op}" for field in ("date_created", "activity_at") for op in ("gt", "gte", "lt", "lte")
)
#: How an activity list may be sorted.
ORDERS = frozenset({"date_created", "-date_created", "activity_at", "-activity_at"})
TIME_MESSAGE = "must be an ISO 8601 date or date-time, e.g. 2026-01-05 or 2026-01-05T09:00:00+00:00"


def parse_filter_time(value: str, tz_offset_hours: float) -> datetime:
    """A date filter's value as a UTC datetime; a naive one is in the ``X-TZ-Offset`` zone.

    >>> parse_filter_time("2026-01-05T10:00:00", 1.0).isoformat()
    '2026-01-05T09:00:00+00:00'

    Raises:
        ValueError: not an ISO 8601 date or date-time.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(timedelta(hours=tz_offset_hours)))
    return parsed.astimezone(UTC)


def time_filter_problem(text: str) -> str | None:
    """Why a date filter's text is not one Close reads, or None."""
    try:
        parse_filter_time(text, 0.0)
    except (ValueError, OverflowError):
        return f"{TIME_MESSAGE}; got {shown(text)}"
    return None


def id_filter_problem(text: str) -> str | None:
    """Why an id filter's text (ids joined by commas) is not one Close reads, or None."""
    if any(not item or item != item.strip() for item in text.split(",")):
        return f"must be one id, or ids joined by commas, none empty; got {shown(text)}"
    return None


def order_problem(value: object) -> str | None:
    """Why ``value`` is not an order of an activity list, or None."""
    if isinstance(value, str) and value in ORDERS:
        return None
    return f"must be one of {', '.join(sorted(ORDERS))}; got {shown(value)}"


def query_value_errors(query: Mapping[str, str]) -> Errors:
    """Check the values of the id, date and ordering parameters of a list query (the fake's side)."""
    errors: Errors = {}
    for name, text in query.items():
        problem = None
        if name in ID_FILTERS:
            problem = id_filter_problem(text)
        elif name in SINGLE_ID_FILTERS:
            problem = None if text and "," not in text else f"must be one id, got {shown(text)}"
        elif name in DATE_FILTERS:
            problem = time_filter_problem(text)
        elif name == "_order_by":
            problem = order_problem(text)
        if problem is not None:
            errors[name] = problem
    return errors


def one_id_problem(value: object, several: bool = False) -> str | None:
    """Why ``value`` is not one id Close reads in an id filter (``several``: a list was an
    option too, and the message says so), or None."""
    if not isinstance(value, str):
        return f"must be an id (a string){' or a list of ids' if several else ''}, got {shown(value)}"
    if "," in value:
        return f"one id per item: pass a list for several, not {shown(value)}"
    return text_problem(value) or id_filter_problem(value)


def sdk_filter_problem(name: str, value: Any) -> str | None:
    """Why the SDK cannot send ``value`` for the filter ``name`` (a Python value), or None.

    Id filters take an id or a list, tuple or set of ids; ``organization_id`` one id;
    date filters a ``date``, a ``datetime`` or an ISO 8601 string. Other names are not
    checked here.
    """
    if name in ID_FILTERS:
        if isinstance(value, list | tuple | set | frozenset):
            if not value:
                return "must not be an empty list"
            return next(
                (f"item {i}: {p}" for i, item in enumerate(value) if (p := one_id_problem(item, False))), None
            )
        return one_id_problem(value, True)
    if name in SINGLE_ID_FILTERS:
        return one_id_problem(value, False)
    if name in DATE_FILTERS:
        if isinstance(value, date):  # a datetime is a date; sent as its isoformat()
            return time_filter_problem(value.isoformat())
        if isinstance(value, str):
            return text_problem(value) or time_filter_problem(value)
        return f"must be a date, a datetime or an ISO 8601 string, got {shown(value)}"
    return None
