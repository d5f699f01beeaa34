"""Value conversions: one JSON value in, one attribute value out, and back.

The converter (:mod:`closeasync.models._converter`) and the views
(:mod:`closeasync.models._views`) convert the same way: through a :class:`HookBuilder`,
which turns a field's annotation into the function converting one non-null JSON value
(``None`` when the JSON value *is* the attribute value: strings, numbers, dicts...).
A view calls it on a field's first read; the reference structuring calls it on every
field at once. What does not convert raises here (:class:`StructureError`,
``ValueError``...); a view turns that into a :class:`~closeasync.errors.FieldValueError`.

Also here: Close's timestamps (:func:`parse_datetime`, :func:`format_datetime`) and the
annotation helpers both modules read (:func:`split_optional`, :func:`enum_of`,
:func:`is_model`). No I/O and no converter of its own.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from cattrs.preconf.orjson import OrjsonConverter

from ._base import Model

__all__ = [
    "Conv",
    "HookBuilder",
    "StructureError",
    "enum_of",
    "format_datetime",
    "is_model",
    "parse_datetime",
    "split_optional",
]

Conv = Callable[[Any], Any]


class StructureError(ValueError):
    """A JSON value does not fit the model it was structured into."""


def parse_datetime(value: str) -> datetime:
    """Parse Close's ISO 8601 timestamps; naive ones (seen in the docs) are UTC.

    >>> parse_datetime("2015-06-26T02:01:43.059265").isoformat()
    '2015-06-26T02:01:43.059265+00:00'
    """
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_datetime(value: datetime) -> str:
    """Format a datetime the way Close does: microseconds and an offset if known."""
    return value.isoformat(timespec="microseconds")


def is_model(tp: Any) -> bool:
    """Tell whether ``tp`` is a closeasync model class."""
    return isinstance(tp, type) and issubclass(tp, Model)


def split_optional(tp: Any) -> tuple[Any, bool]:
    """Return (type without None, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) != len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True  # noqa: UP007
    return tp, False


def enum_of(tp: Any) -> type[enum.Enum] | None:
    """The enum of an ``Enum`` or ``Enum | str`` annotation (after removing None)."""
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if len(enums) == 1 and set(args) == {enums[0], str}:
            return enums[0]
    return None


def _identity(value: Any) -> Any:
    return value


def _enum_hook(enum_cls: type[enum.Enum], strict: bool) -> Conv:
    if strict:
        return enum_cls
    by_value = {member.value: member for member in enum_cls}
    # Unknown values stay plain strings so a value Close adds later never breaks a listing.
    return lambda value: by_value.get(value, value)


def _type_checker(expected: tuple[type, ...], label: str) -> Conv:
    def check(value: Any) -> Any:
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            raise StructureError(f"expected {label}, got {type(value).__name__}: {value!r}")
        return value

    return check


#: Types whose JSON value is the attribute value (the strict converter checks the JSON type).
_PLAIN: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    bool: ((bool,), "a boolean"),
}


class HookBuilder:
    """Turns annotations into per-value conversion functions for one converter."""

    def __init__(self, conv: OrjsonConverter, strict: bool, lazy: bool = True) -> None:
        self.conv = conv
        self.strict = strict
        self.lazy = lazy and not strict

    def value_hook(self, tp: Any) -> Conv | None:
        """Return a function converting a non-null JSON value, or None for identity."""
        if tp is Any or tp is object:
            return None
        if tp in _PLAIN:
            return _type_checker(*_PLAIN[tp]) if self.strict else None
        if tp is datetime:
            return parse_datetime
        if tp is date:
            return date.fromisoformat
        members = enum_of(tp)
        if members is not None:
            return _enum_hook(members, self.strict)
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(tp)
            lists = [a for a in args if typing.get_origin(a) is list]
            if len(args) == 2 and len(lists) == 1:
                # A field Close sends as an object in some places and a list in others.
                as_list = self.value_hook(lists[0])
                (other,) = (a for a in args if a is not lists[0])
                as_other = self.value_hook(other)
                return lambda value: (
                    (as_list or _identity) if type(value) is list else (as_other or _identity)
                )(value)
        if origin is list:
            (item_tp,) = typing.get_args(tp) or (Any,)
            item_tp, _ = split_optional(item_tp)
            item = self.value_hook(item_tp)
            if item is None:
                return _type_checker((list,), "a list") if self.strict else None
            return lambda values: [v if v is None else item(v) for v in values]
        if origin is dict or tp is dict:
            return _type_checker((dict,), "an object") if self.strict else None
        # Nested models and the Activity union: whatever the converter has for them.
        hook = self.conv.get_structure_hook(tp)
        return lambda value: hook(value, tp)

    def unstructure_hook(self, tp: Any) -> Conv | None:
        """Return a function turning a non-null attribute value into JSON, or None."""
        tp, _ = split_optional(tp)
        if tp is datetime:
            return format_datetime
        if tp is date:
            return date.isoformat
        origin = typing.get_origin(tp)
        if origin is list:
            (item_tp,) = typing.get_args(tp) or (Any,)
            item = self.unstructure_hook(item_tp)
            if item is None:
                return list
            return lambda values: [v if v is None else item(v) for v in values]
        if origin in (typing.Union, types.UnionType) or (
            isinstance(tp, type) and issubclass(tp, enum.Enum | Model)
        ):
            return self.conv.unstructure
        return None
