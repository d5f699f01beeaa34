"""The one cattrs converter: JSON values in, attrs models out, and back.

Structuring is where a listing spends its time, so model hooks are generated
once per class and do as little as possible per key: one dict lookup, a call only
for fields that need conversion (datetimes, enums, nested models), and a direct
slot assignment that bypasses ``__init__``. Keys the server sends that the model
does not know are skipped (production) or refused (the strict converter the tests
run over every example and fake response, so drift shows up as a failure).

``_type`` is not an attribute: each activity class carries it as ``TYPE`` and the
:data:`~closeasync.models.Activity` union dispatches on it, with
:class:`~closeasync.models.UnknownActivity` catching types this version does not
know.
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import attrs
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from .models._base import UNSET, Model, wire_name

__all__ = [
    "StructureError",
    "converter",
    "format_datetime",
    "make_model_converter",
    "parse_datetime",
    "strict_converter",
    "structure",
    "unstructure",
]

T = TypeVar("T")
_Conv = Callable[[Any], Any]
_new = object.__new__
_set = object.__setattr__


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


def _identity(value: Any) -> Any:
    return value


def _enum_hook(enum_cls: type[enum.Enum], strict: bool) -> _Conv:
    if strict:
        return enum_cls
    by_value = {member.value: member for member in enum_cls}
    # Unknown values stay plain strings so a value Close adds later never breaks a listing.
    return lambda value: by_value.get(value, value)


def _type_checker(expected: tuple[type, ...], label: str) -> _Conv:
    def check(value: Any) -> Any:
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            raise StructureError(f"expected {label}, got {type(value).__name__}: {value!r}")
        return value

    return check


_PLAIN: dict[Any, tuple[tuple[type, ...], str]] = {
    str: ((str,), "a string"),
    int: ((int,), "an integer"),
    float: ((int, float), "a number"),
    bool: ((bool,), "a boolean"),
}


def _split_optional(tp: Any) -> tuple[Any, bool]:
    """Return (type without None, whether None is allowed)."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        rest = tuple(a for a in args if a is not type(None))
        if len(rest) != len(args):
            return (rest[0] if len(rest) == 1 else typing.Union[rest]), True  # noqa: UP007
    return tp, False


class _HookBuilder:
    """Turns annotations into per-value conversion functions for one converter."""

    def __init__(self, conv: OrjsonConverter, strict: bool) -> None:
        self.conv = conv
        self.strict = strict

    def value_hook(self, tp: Any) -> _Conv | None:
        """Return a function converting a non-null JSON value, or None for identity."""
        if tp is Any or tp is object:
            return None
        if tp in _PLAIN:
            return _type_checker(*_PLAIN[tp]) if self.strict else None
        if tp is datetime:
            return parse_datetime
        if tp is date:
            return date.fromisoformat
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            args = typing.get_args(tp)
            enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
            if len(enums) == 1 and set(args) == {enums[0], str}:
                return _enum_hook(enums[0], self.strict)
            lists = [a for a in args if typing.get_origin(a) is list]
            if len(args) == 2 and len(lists) == 1:
                # A field Close sends as an object in some places and a list in others.
                as_list = self.value_hook(lists[0])
                (other,) = (a for a in args if a is not lists[0])
                as_other = self.value_hook(other)
                return lambda value: (
                    (as_list or _identity) if type(value) is list else (as_other or _identity)
                )(value)
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return _enum_hook(tp, self.strict)
        if origin is list:
            (item_tp,) = typing.get_args(tp) or (Any,)
            item_tp, _ = _split_optional(item_tp)
            item = self.value_hook(item_tp)
            if item is None:
                return _type_checker((list,), "a list") if self.strict else None
            return lambda values: [v if v is None else item(v) for v in values]
        if origin is dict or tp is dict:
            return _type_checker((dict,), "an object") if self.strict else None
        # Nested models and the Activity union: whatever the converter has for them.
        hook = self.conv.get_structure_hook(tp)
        return lambda value: hook(value, tp)

    def unstructure_hook(self, tp: Any) -> _Conv | None:
        """Return a function turning a non-null attribute value into JSON, or None."""
        tp, _ = _split_optional(tp)
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


def _model_structure_fn(cls: type[Model], builder: _HookBuilder) -> Callable[[Any, Any], Model]:
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    specs: dict[str, tuple[str, _Conv | None, bool]] = {}
    for attribute in attrs.fields(cls):
        if attribute.name in prefixed:
            continue  # filled only from prefixed keys, as unstructuring writes it back
        inner, nullable = _split_optional(attribute.type)
        specs[wire_name(attribute)] = (attribute.name, builder.value_hook(inner), nullable)
    type_tag: str | None = getattr(cls, "TYPE", None)
    strict = builder.strict
    name = cls.__name__

    def structure(data: Any, _: Any = None) -> Model:
        if type(data) is not dict:
            raise StructureError(f"{name}: expected a JSON object, got {type(data).__name__}")
        obj = _new(cls)
        collected: dict[str, dict[str, Any]] | None = None
        for key, value in data.items():
            spec = specs.get(key)
            if spec is None:
                if key == "_type" and type_tag is not None:
                    if strict and value != type_tag:
                        raise StructureError(f"{name}: _type is {value!r}, not {type_tag!r}")
                    continue
                for prefix, field in prefixes:
                    if key.startswith(prefix):
                        collected = collected or {}
                        collected.setdefault(field, {})[key[len(prefix) :]] = value
                        break
                else:
                    if strict:
                        raise StructureError(f"{name}: unexpected key {key!r}")
                continue
            attr, hook, nullable = spec
            if value is None:
                if strict and not nullable:
                    raise StructureError(f"{name}.{attr}: null is not allowed")
            elif hook is not None:
                try:
                    value = hook(value)
                except StructureError as exc:
                    raise StructureError(f"{name}.{attr}: {exc}") from None
                except (TypeError, ValueError, KeyError) as exc:
                    raise StructureError(f"{name}.{attr}: {exc}") from exc
            _set(obj, attr, value)
        for _, field in prefixes:  # present even when empty: no custom field is set
            _set(obj, field, collected.get(field, {}) if collected else {})
        return obj

    return structure


def _model_unstructure_fn(cls: type[Model], builder: _HookBuilder) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field: prefix for prefix, field in prefixes}
    specs = [
        (a.name, wire_name(a), builder.unstructure_hook(a.type))
        for a in attrs.fields(cls)
        if a.name not in prefixed
    ]
    type_tag: str | None = getattr(cls, "TYPE", None)

    def unstructure(obj: Model) -> dict[str, Any]:
        out: dict[str, Any] = {} if type_tag is None else {"_type": type_tag}
        for attr, key, hook in specs:
            value = getattr(obj, attr, UNSET)
            if value is UNSET:
                continue
            out[key] = value if value is None or hook is None else hook(value)
        for field, prefix in prefixed.items():
            for key, value in getattr(obj, field, {}).items():
                out[prefix + key] = value
        return out

    return unstructure


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, Model)


def make_model_converter(*, strict: bool = False) -> OrjsonConverter:
    """Build a converter for closeasync models.

    ``strict=True`` refuses unknown keys, unknown enum values, nulls where the
    schema has none and values of the wrong JSON type; the test-suite uses it to
    catch drift between the models and Close's documents.
    """
    conv = make_converter()
    builder = _HookBuilder(conv, strict)
    conv.register_structure_hook(datetime, lambda v, _: parse_datetime(v))
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook_factory(_is_model, lambda cls: _model_structure_fn(cls, builder))
    conv.register_unstructure_hook_factory(_is_model, lambda cls: _model_unstructure_fn(cls, builder))
    conv.register_unstructure_hook_func(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), lambda e: e.value
    )
    # Imported late: the activity module needs the Model base from above.
    from .models.registry import register_activity_union

    register_activity_union(conv, strict=strict)
    return conv


converter = make_model_converter()
strict_converter = make_model_converter(strict=True)


def structure(data: Any, cls: type[T]) -> T:
    """Structure parsed JSON into ``cls`` with the production converter.

    Raises:
        StructureError: ``data`` does not fit ``cls``.
    """
    return converter.structure(data, cls)


def unstructure(obj: Model | Mapping[str, Any]) -> Any:
    """Turn a model back into the JSON shape Close uses (absent fields stay absent)."""
    return converter.unstructure(obj)
