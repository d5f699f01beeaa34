"""Turning keyword arguments into query parameters and JSON bodies."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from ..errors import InvalidRequestError
from ..models._base import UNSET, Model
from ..models._converter import converter, format_datetime
from ..params import ActivityFilters
from ..pipeline.routes import Route
from ..pipeline.wire import QueryValue, encode_query, format_query_value
from ..rules._fields import path_id_problem, shown, text_problem
from ..rules.filters import sdk_filter_problem

__all__ = [
    "check_keys",
    "check_query",
    "fields_param",
    "filters_query",
    "path_id",
    "sync_filters",
    "sync_scope",
    "to_wire_body",
    "to_wire_json",
]

#: Date filters a sync sets itself (it walks ``date_created``; ``since``/``until`` bound it).
_SYNC_OWNED = tuple(
    f"{f}__{op}" for f in ("date_created", "activity_at") for op in ("gt", "gte", "lt", "lte")
)


def check_keys(given: Mapping[str, Any], allowed: Mapping[str, Any], what: str) -> None:
    """Refuse keyword arguments that are not parameters (a typo would be silently ignored).

    Raises:
        InvalidRequestError: an unknown name, with the closest known ones suggested.
    """
    unknown = [key for key in given if key not in allowed]
    if unknown:
        import difflib

        problems = {}
        for key in unknown:
            close = difflib.get_close_matches(key, list(allowed), n=2)
            hint = f"; did you mean {' or '.join(close)}?" if close else ""
            problems[key] = f"is not a {what}{hint}"
        raise InvalidRequestError(problems)


def filters_query(filters: Mapping[str, Any]) -> dict[str, QueryValue]:
    """Validate list filters and return them as query parameters.

    Raises:
        InvalidRequestError: an unknown name, or a value Close would not read (an id that
            is not a string, a date filter that is no date), each named.
    """
    check_keys(filters, ActivityFilters.__annotations__, "filter of this list")
    problems = {
        key: problem
        for key, value in filters.items()
        if value is not None and (problem := sdk_filter_problem(key, value)) is not None
    }
    if problems:
        raise InvalidRequestError(problems)
    return {key: value for key, value in filters.items() if value is not None}


def path_id(value: object, name: str = "id") -> str:
    """``value`` as an id to put in a URL path.

    Raises:
        InvalidRequestError: not a non-empty string, or one that cannot be encoded (a lone
            surrogate), named ``name``.
    """
    problem = path_id_problem(value)
    if problem is not None:
        raise InvalidRequestError({name: problem})
    return str(value)  # a str already: path_id_problem refuses anything else


def sync_filters(filters: Mapping[str, Any]) -> dict[str, QueryValue]:
    """Validate the filters of a sync: those of a list, less the date filters it owns.

    Raises:
        InvalidRequestError: an unknown name, or a date filter (use ``since``/``until``).
    """
    query = filters_query(filters)
    owned = dict.fromkeys(_SYNC_OWNED, "a sync walks date_created itself: use since= and until=")
    problems = {name: owned[name] for name in query if name in owned}
    if problems:
        raise InvalidRequestError(problems)
    return query


def sync_scope(route: Route, query: Mapping[str, QueryValue]) -> str:
    """What a sync cursor belongs to: the route and its filters (not fields or page size)."""
    filters = {k: v for k, v in sorted(query.items()) if k not in ("_fields", "_skip", "_limit")}
    encoded = encode_query(filters)
    return f"{route.template}?{encoded}" if encoded else route.template


def check_query(query: Mapping[str, QueryValue]) -> None:
    """Check and format every value now, so a bad one fails when the call is made.

    Raises:
        InvalidRequestError: a value that cannot be sent (an empty id list, a lone
            surrogate, an object with no text form Close reads), named by its parameter.
    """
    for key, value in query.items():
        problem = _query_value_problem(value)
        if problem is not None:
            raise InvalidRequestError({key: problem})
        format_query_value(key, value)


#: What a query parameter's value (or each item of a list of them) may be.
_QUERY_SCALARS = (str, int, float, date, enum.Enum)


def _query_value_problem(value: object) -> str | None:
    if value is None:  # left out
        return None
    if isinstance(value, Mapping):
        return f"must be text, a number, a date or a list of them, got {shown(value)}"
    items = [value] if isinstance(value, str) or not isinstance(value, Iterable) else value
    for item in items:
        if item is None or not isinstance(item, _QUERY_SCALARS):
            return f"must be text, a number, a date or a list of them, got {shown(item)}"
        if isinstance(item, str) and (problem := text_problem(item)) is not None:
            return problem
    return None


def fields_param(fields: Sequence[str] | None, *, always: Sequence[str] = ()) -> str | None:
    """Build ``_fields``; ``always`` names fields the SDK needs (``_type`` for unions)."""
    if fields is None:
        return None
    if isinstance(fields, str):
        raise InvalidRequestError({"_fields": "pass a list of field names, not a string"})
    if not isinstance(fields, Sequence | set | frozenset) or not fields:
        problem = f"must be a non-empty list of field names, got {shown(fields)}"
        raise InvalidRequestError({"_fields": problem})
    for name in fields:
        if not isinstance(name, str) or not name or "," in name or text_problem(name) is not None:
            raise InvalidRequestError({"_fields": f"each must be one field name, got {shown(name)}"})
    return ",".join(dict.fromkeys([*fields, *always]))


def _wire_value(field: str, value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            problem = "must be timezone-aware (e.g. datetime.now(timezone.utc)); a naive time is ambiguous"
            raise InvalidRequestError({field: problem})
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Model):
        return converter.unstructure(value)
    if isinstance(value, list | tuple):
        return [_wire_value(field, v) for v in value]
    if isinstance(value, Mapping):
        return {k: _wire_value(field, v) for k, v in value.items()}
    return value


def to_wire_body(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return a JSON body of the given fields, leaving out those not given (UNSET).

    ``None`` is kept: in an update it clears the field (Close's PUT acts as PATCH).
    """
    return {key: _wire_value(key, value) for key, value in fields.items() if value is not UNSET}


def to_wire_json(value: Any) -> Any:
    """Return any JSON value with its datetimes, dates, enums and models as Close reads them.

    Raises:
        InvalidRequestError: a naive datetime (named by the key it is under).
    """
    if isinstance(value, Mapping):
        return {key: _wire_value(str(key), item) for key, item in value.items()}
    return _wire_value("json", value)
