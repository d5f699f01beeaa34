"""Listing the way Close does: filters, ordering, ``_fields``, ``_skip``/``_limit``/``has_more``.

Unknown query parameters are refused with a field error rather than ignored, so a
client that misspells a filter finds out here instead of silently listing
everything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import attrs

from ... import _rules
from ..._serde import parse_datetime
from .._http import FakeResponse, field_errors, ok

__all__ = ["ListRules", "list_objects", "parse_filter_time", "project"]

DATE_FILTERS = frozenset(_rules.DATE_FILTERS)
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
_ORDERS = frozenset({"date_created", "-date_created", "activity_at", "-activity_at"})


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


def parse_filter_time(value: str, tz_offset_hours: float) -> datetime:
    """A date filter value: a date or a datetime; naive ones are in the X-TZ-Offset zone.

    Raises:
        ValueError: not an ISO 8601 date or datetime.
    """
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(timedelta(hours=tz_offset_hours)))
    return parsed.astimezone(UTC)


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
    kind = obj.get("_type")
    if kind in wanted:
        return True
    if kind == "CustomActivity":
        return "Custom" in wanted or obj.get("custom_activity_type_id") in wanted
    return False


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
    limit = _int_param(query, "_limit", rules.default_limit, rules.max_limit, 1)
    skip = _int_param(query, "_skip", 0, rules.max_skip, 0)
    for name, value in (("_limit", limit), ("_skip", skip)):
        if isinstance(value, str):
            problems[name] = value
    order = query.get("_order_by", "-date_created")
    if order not in _ORDERS:
        problems["_order_by"] = f"Must be one of {', '.join(sorted(_ORDERS))}."
    bounds: list[tuple[str, str, datetime]] = []
    for name in DATE_FILTERS & set(query):
        field, _, op = name.partition("__")
        try:
            bounds.append((field, op, parse_filter_time(query[name], tz_offset)))
        except ValueError:
            problems[name] = "Enter a valid date or date/time."
    if problems:
        return field_errors(problems)
    assert isinstance(limit, int)
    assert isinstance(skip, int)
    selected = [obj for obj in objects if _matches(obj, query, bounds)]
    field = order.lstrip("-")
    selected.sort(key=lambda o: (_time(o.get(field)), o.get("id", "")), reverse=order.startswith("-"))
    page = selected[skip : skip + limit]
    projector = _projector(query)
    return ok({"data": [projector(o) for o in page], "has_more": skip + len(page) < len(selected)})


_EPOCH = datetime.min.replace(tzinfo=UTC)


def _time(value: Any) -> datetime:
    return parse_datetime(value) if isinstance(value, str) else _EPOCH


def _matches(
    obj: Mapping[str, Any], query: Mapping[str, str], bounds: list[tuple[str, str, datetime]]
) -> bool:
    for name, field in _LIST_FILTERS.items():
        if name in query and obj.get(field) not in set(query[name].split(",")):
            return False
    types = query.get("_type__in") or query.get("_type")
    if types and not _type_matches(obj, set(types.split(","))):
        return False
    for field, op, bound in bounds:
        value = obj.get(field)
        if not isinstance(value, str):
            return False
        when = parse_datetime(value)
        if not {"gt": when > bound, "gte": when >= bound, "lt": when < bound, "lte": when <= bound}[op]:
            return False
    return True
