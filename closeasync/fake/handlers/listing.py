"""Listing the way Close does: filters, ordering, ``_fields``, ``_skip``/``_limit``/``has_more``.

Unknown query parameters are refused with a field error rather than ignored, so a
client that misspells a filter finds out here instead of silently listing
everything.
"""

from __future__ import annotations

import functools
import heapq
import operator
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from ...models._converter import parse_datetime
from ...rules import activities as _activity_rules
from ...rules.filters import parse_filter_time, query_value_errors
from .._http import FakeResponse, field_errors, ok

__all__ = ["ListRules", "list_objects", "project"]

DATE_FILTERS = frozenset(_activity_rules.DATE_FILTERS)
#: Filters every activity list takes (Close's ``ActivityFilters``), plus paging and projection.
COMMON_PARAMS = (
    frozenset(
        {
            "_limit",
            "_skip",
            "_fields",
            "_order_by",
            "id__in",
            "lead_id",
            "contact_id",
            "user_id",
            "organization_id",
            "_type",
        }
    )
    | DATE_FILTERS
)
_LIST_FILTERS = {
    "id__in": "id",
    "lead_id": "lead_id",
    "lead_id__in": "lead_id",
    "contact_id": "contact_id",
    "contact_id__in": "contact_id",
    "user_id": "user_id",
    "user_id__in": "user_id",
    "organization_id": "organization_id",
}


@attrs.frozen
class ListRules:
    """The caps of a list endpoint (Close's vary per resource and are not published)."""

    max_limit: int = 100
    max_skip: int = 35_000
    default_limit: int = 100


def project(obj: Mapping[str, Any], query: Mapping[str, str]) -> FakeResponse:
    """Answer one object, keeping only ``_fields`` when asked."""
    return ok(_projector(query)(obj))


def _projector(query: Mapping[str, str]) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    fields = [f for f in query.get("_fields", "").split(",") if f]
    if not fields:
        return dict
    return lambda obj: {f: obj[f] for f in fields if f in obj}


def _int_param(query: Mapping[str, str], name: str, default: int, maximum: int, minimum: int) -> int | str:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return "Input should be a valid integer"
    if value < minimum:
        return f"Input should be greater than or equal to {minimum}"
    if value > maximum:
        return f"Input should be less than or equal to {maximum}"
    return value


def _type_matches(obj: Mapping[str, Any], wanted: set[str]) -> bool:
    """Whether ``obj`` is among the ``_type`` filter's values (checked by ``_activity_rules`` first).

    A custom activity is asked for as ``Custom`` or by its type id, never by its
    ``_type`` (``CustomActivity``), which Close refuses as a filter value.
    """
    kind = obj.get("_type")
    if kind == "CustomActivity":
        return "Custom" in wanted or obj.get("custom_activity_type_id") in wanted
    return kind in wanted


def list_objects(
    objects: Iterable[Mapping[str, Any]],
    query: Mapping[str, str],
    *,
    allowed: frozenset[str],
    rules: ListRules,
    tz_offset: float = 0.0,
    extra_errors: Mapping[str, str] | None = None,
) -> FakeResponse:
    """Filter, order, page and project ``objects`` as Close's list endpoints do."""
    problems = dict(extra_errors or {})
    for name in query:
        if name not in allowed:
            problems[name] = "Unknown parameter."
    for name in ("_type", "_type__in"):
        if name in query and name in allowed:
            for field, problem in _activity_rules.activity_type_errors(name, query[name].split(",")).items():
                problems.setdefault(field, problem)
    limit = _int_param(query, "_limit", rules.default_limit, rules.max_limit, 1)
    skip = _int_param(query, "_skip", 0, rules.max_skip, 0)
    for name, value in (("_limit", limit), ("_skip", skip)):
        if isinstance(value, str):
            problems[name] = value
    for name, problem in query_value_errors({k: v for k, v in query.items() if k in allowed}).items():
        problems.setdefault(name, problem)
    order = query.get("_order_by", "-date_created")
    if problems:
        return field_errors(problems)
    bounds: list[tuple[str, str, datetime]] = []
    for name in DATE_FILTERS & set(query):
        field, _, op = name.partition("__")
        try:
            bounds.append((field, op, parse_filter_time(query[name], tz_offset)))
        except (ValueError, OverflowError):  # beyond the calendar in the X-TZ-Offset zone
            return field_errors({name: "is outside the dates a datetime can hold"})
    assert isinstance(limit, int)
    assert isinstance(skip, int)
    matches = _predicate(query, bounds)
    selected = [obj for obj in objects if matches(obj)]
    field = order.lstrip("-")

    def key(obj: Mapping[str, Any]) -> tuple[datetime, str]:
        return _time(obj.get(field)), str(obj.get("id", ""))

    # Only the first skip + limit in order matter: pick them, not sort everything (as
    # sorted(...)[:n] would give: the id in the key leaves no ties).
    first = heapq.nlargest if order.startswith("-") else heapq.nsmallest
    page = first(skip + limit, selected, key=key)[skip:]
    projector = _projector(query)
    return ok({"data": [projector(o) for o in page], "has_more": skip + len(page) < len(selected)})


_EPOCH = datetime.min.replace(tzinfo=UTC)


@functools.lru_cache(maxsize=1 << 16)
def _parsed(value: str) -> datetime:
    """Stored timestamps are read on every listing: parse each once (the fake's hot path)."""
    return parse_datetime(value)


def _time(value: Any) -> datetime:
    return _parsed(value) if isinstance(value, str) else _EPOCH


_COMPARE: dict[str, Callable[[datetime, datetime], bool]] = {
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _predicate(
    query: Mapping[str, str], bounds: list[tuple[str, str, datetime]]
) -> Callable[[Mapping[str, Any]], bool]:
    """Whether an object passes the query's filters, with the query read once, not per object."""
    wanted = [
        (field, frozenset(query[name].split(","))) for name, field in _LIST_FILTERS.items() if name in query
    ]
    # _type and _type__in both filter (like lead_id and lead_id__in): each must match.
    types = [set(query[name].split(",")) for name in ("_type", "_type__in") if name in query]
    compare = [(field, _COMPARE[op], bound) for field, op, bound in bounds]

    def matches(obj: Mapping[str, Any]) -> bool:
        for field, allowed in wanted:
            if obj.get(field) not in allowed:
                return False
        if types and not all(_type_matches(obj, wanted_types) for wanted_types in types):
            return False
        for field, op, bound in compare:
            value = obj.get(field)
            if not isinstance(value, str) or not op(_parsed(value), bound):
                return False
        return True

    return matches
