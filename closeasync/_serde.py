"""The one cattrs converter: JSON values in, attrs models out, and back.

``_type`` is not an attribute: each activity class carries it as ``TYPE`` and the
:data:`~closeasync.models.Activity` union dispatches on it, with
:class:`~closeasync.models.UnknownActivity` catching types this version does not
know. Keys the server sends that the model does not know are skipped (production)
or refused (the strict converter the tests run over every example and fake
response, so drift shows up as a failure).

Why structuring is fast
-----------------------
Structuring is where a listing spends its time (a page of 100 emails is ~7,000
JSON values), so each model class gets a structure function generated as Python
source, compiled once with ``exec`` and cached by the converter. For ``Email`` it
reads, field after field::

    v = data.get('subject', M)        # one lookup; M marks an absent key
    if v is not M:
        s_subject(obj, v)             # the slot's own __set__: a direct write

What makes that fast, measured on CPython 3.11 (see ``benchmarks/``):

- *Straight-line code.* No loop over keys, no per-key dispatch table, no tuple
  unpacking: each field is a constant key, a local, an ``is`` test and a call.
  Fields that need no conversion (``str``, ``int``, ``float``, ``bool``, dicts,
  lists of those, ``Optional`` of any of them) get nothing more: in production the
  JSON value *is* the attribute value (lists are kept, not copied).
- *Slot writes through member descriptors.* Models are frozen, so ``setattr``
  raises and ``__init__`` (with its defaults and ``__attrs_post_init__``) is
  bypassed; ``object.__setattr__`` works but looks the descriptor up every time
  (~130 ns a field). The slot descriptor's bound ``__set__``, found once per
  field, writes the slot in ~55 ns. (Writing through a mutable twin class and then
  assigning ``__class__`` was measured and is slower: the store does not
  specialise and the class switch costs more than it saves.)
- *Conversions inline.* A known enum is one ``dict.get(v, v)`` (unknown values stay
  strings); a nested model calls the nested class's generated function directly;
  a list of models is one comprehension, skipped for an empty list; a datetime is
  ``datetime.fromisoformat`` (C) with ``tzinfo=UTC`` added only to naive values,
  and equal strings within one object (``date_created``, ``activity_at`` and
  ``date_sent`` often are) share one parsed, immutable ``datetime``.
- *No per-field error handling.* One ``try`` (free in 3.11 until something
  raises) covers the body; when anything fails, the object is structured again by
  the interpreted *reference* function, which raises the error naming the model
  and field (``Email.date_created: ...``). Errors cost twice; success costs nothing.
- *Few allocations.* Nothing is allocated beyond the model, its nested models,
  their lists and the datetimes: no intermediate dicts, no bound methods, no
  reference cycles. That matters beyond the allocation itself: the garbage
  collector runs by allocation count, and in a listing it already spends a large
  share of a pass on the parsed JSON pages (its cost depends on how many container
  objects stay alive, so the library keeps none alive that it does not return).
  Disabling or freezing the collector would be faster still and is left to the
  application (``benchmarks/bench_list.py --gc-info`` shows the difference).

The reference function (``_reference_structure_fn``) is the specification: the
strict converter uses it as it is, and ``tests/test_serde_generated.py`` checks the
generated functions against it (``make_model_converter(generated=False)``) on every
example, the whole demo organization and thousands of malformed variants: same
models down to the types of values, or the same error.
"""

from __future__ import annotations

import enum
import linecache
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
#: "No such key" in generated code (``None`` is a value: JSON null).
_MISSING: Any = object()


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

    def __init__(self, conv: OrjsonConverter, strict: bool, generated: bool = True) -> None:
        self.conv = conv
        self.strict = strict
        self.generated = generated and not strict

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


def _reference_structure_fn(cls: type[Model], builder: _HookBuilder) -> Callable[[Any, Any], Model]:
    """The plain, interpreted structuring of ``cls``: the specification the generated code follows.

    The strict converter uses it as it is; the production converter falls back to it
    to report a value that does not fit (with the model and field in the message).
    """
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


def _slot_setter(cls: type, attr: str) -> Callable[[Any, Any], None]:
    """The fastest way to fill slot ``attr`` of a new ``cls``: the slot's own ``__set__``.

    A frozen class refuses ``setattr``; ``object.__setattr__`` gets past that but looks
    the descriptor up on every call. The member descriptor writes the slot directly.
    """
    for klass in cls.__mro__:
        found = klass.__dict__.get(attr)
        if found is not None:
            if isinstance(found, types.MemberDescriptorType):
                setter: Callable[[Any, Any], None] = found.__set__
                return setter
            break
    return lambda obj, value: _set(obj, attr, value)


def _prefix_collector(
    prefixes: tuple[tuple[str, str], ...], known: frozenset[str]
) -> Callable[[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Gather flat ``prefix<name>`` keys into one dict per field (``custom.cf_1`` -> ``custom``)."""

    def collect(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
        collected: dict[str, dict[str, Any]] = {field: {} for _, field in prefixes}
        for key, value in data.items():
            if key in known:
                continue
            for prefix, field in prefixes:
                if key.startswith(prefix):
                    collected[field][key[len(prefix) :]] = value
                    break
        return collected

    return collect


class _Codegen:
    """The source of one generated structure function and the names it uses."""

    def __init__(self, cls: type[Model], fallback: Callable[[Any, Any], Model]) -> None:
        self.cls = cls
        self.namespace: dict[str, Any] = {
            "__name__": __name__,  # the generated function's __module__
            "cls": cls,
            "dict": dict,
            "list": list,
            "new": _new,
            "M": _MISSING,
            "fallback": fallback,
            "fromiso": datetime.fromisoformat,
            "UTC": UTC,
        }
        self.lines: list[str] = []
        self.uses_datetimes = False

    def bind(self, prefix: str, attr: str, value: Any) -> str:
        name = f"{prefix}_{attr}"
        self.namespace[name] = value
        return name

    def field(self, attr: str, wire: str, tp: Any, builder: _HookBuilder) -> None:
        """Emit: look the key up once; if present, convert (unless null) and write the slot."""
        setter = self.bind("s", attr, _slot_setter(self.cls, attr))
        convert = self.conversion(attr, tp, builder)
        add = self.lines.append
        add(f"        v = data.get({wire!r}, M)")
        add("        if v is not M:")
        if convert:
            add("            if v is not None:")
            self.lines.extend("                " + line for line in convert)
        add(f"            {setter}(obj, v)")

    def conversion(self, attr: str, tp: Any, builder: _HookBuilder) -> list[str]:
        """Statements turning a non-null ``v`` into the attribute value (none: keep it)."""
        if tp in _PLAIN or tp is Any or tp is object or tp is dict or typing.get_origin(tp) is dict:
            return []  # JSON already has the value (the strict converter checks the type)
        if tp is datetime:
            # Inline parse; equal strings (date_created, activity_at, date_sent of one
            # activity often are) share one parsed, immutable datetime. Two are kept:
            # date_updated, between them in field order, often differs.
            self.uses_datetimes = True
            return [
                "if v == text1:",
                "    v = time1",
                "elif v == text2:",
                "    v = time2",
                "else:",
                "    text2, time2 = text1, time1",
                "    text1 = v",
                "    v = time1 = fromiso(v)",
                "    if v.tzinfo is None:",
                "        v = time1 = v.replace(tzinfo=UTC)",
            ]
        members = _enum_of(tp)
        if members is not None:
            # Unknown values stay plain strings (see _enum_hook).
            by_value = self.bind("e", attr, {member.value: member for member in members}.get)
            return [f"v = {by_value}(v, v)"]
        if _is_model(tp):
            return [f"v = {self.bind('m', attr, _direct_hook(builder, tp))}(v)"]
        if typing.get_origin(tp) is list:
            (item_tp,) = typing.get_args(tp) or (Any,)
            item_tp, _ = _split_optional(item_tp)
            item = _direct_hook(builder, item_tp) if _is_model(item_tp) else builder.value_hook(item_tp)
            if item is None:
                return []  # a list of JSON values: kept as it came
            name = self.bind("i", attr, item)
            # An empty list needs no new list; anything else (a non-list too) goes through
            # the comprehension, which fails on what the reference refuses as well.
            return ["if v.__class__ is not list or v:", f"    v = [x if x is None else {name}(x) for x in v]"]
        hook = builder.value_hook(tp)
        return [] if hook is None else [f"v = {self.bind('h', attr, hook)}(v)"]

    def source(self, name: str, prefixes: bool) -> str:
        head = [
            f"def structure_{name}(data, _=None):",
            "    if data.__class__ is not dict:",
            "        return fallback(data)",
            "    try:",
            "        obj = new(cls)",
        ]
        if self.uses_datetimes:
            head.append("        text1 = text2 = time1 = time2 = None  # the last two timestamps parsed")
        tail = []
        if prefixes:
            tail += [
                "        for field, values in collect(data).items():",
                "            setattr_(obj, field, values)",
            ]
        tail += [
            "    except Exception:",
            "        return fallback(data)  # raises the error naming the model and field",
            "    return obj",
        ]
        return "\n".join([*head, *self.lines, *tail]) + "\n"


def _enum_of(tp: Any) -> type[enum.Enum] | None:
    """The enum of an ``Enum`` or ``Enum | str`` annotation (after removing None)."""
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        enums = [a for a in args if isinstance(a, type) and issubclass(a, enum.Enum)]
        if len(enums) == 1 and set(args) == {enums[0], str}:
            return enums[0]
    return None


def _direct_hook(builder: _HookBuilder, tp: Any) -> _Conv:
    """A one-argument structure function for model ``tp``: its generated one when it has it."""
    hook = builder.conv.get_structure_hook(tp)
    if getattr(hook, "__closeasync_generated__", False):
        return typing.cast(_Conv, hook)  # generated functions take the class as optional
    return lambda value: hook(value, tp)


def _generated_structure_fn(
    cls: type[Model], builder: _HookBuilder, fallback: Callable[[Any, Any], Model]
) -> Callable[[Any, Any], Model]:
    """Generate and compile the production structure function of ``cls`` (see the module docs)."""
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    code = _Codegen(cls, fallback)
    known = set()
    for attribute in attrs.fields(cls):
        if attribute.name in prefixed:
            continue
        wire = wire_name(attribute)
        known.add(wire)
        inner, _ = _split_optional(attribute.type)
        code.field(attribute.name, wire, inner, builder)
    if prefixes:
        if getattr(cls, "TYPE", None) is not None:
            known.add("_type")
        code.namespace["collect"] = _prefix_collector(prefixes, frozenset(known))
        code.namespace["setattr_"] = _set
    name = cls.__name__
    source = code.source(name, bool(prefixes))
    filename = f"<closeasync generated structure {cls.__module__}.{cls.__qualname__}>"
    # Registered with linecache so that tracebacks and profilers show the generated lines.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), code.namespace)
    structure: Callable[[Any, Any], Model] = code.namespace[f"structure_{name}"]
    structure.__closeasync_generated__ = True  # type: ignore[attr-defined]
    structure.__qualname__ = f"structure_{name}"
    structure.__doc__ = f"Structure a JSON object into {name} (generated; see closeasync._serde)."
    return structure


def _model_structure_fn(cls: type[Model], builder: _HookBuilder) -> Callable[[Any, Any], Model]:
    reference = _reference_structure_fn(cls, builder)
    if not builder.generated:
        return reference
    return _generated_structure_fn(cls, builder, reference)


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


def make_model_converter(*, strict: bool = False, generated: bool = True) -> OrjsonConverter:
    """Build a converter for closeasync models.

    ``strict=True`` refuses unknown keys, unknown enum values, nulls where the
    schema has none and values of the wrong JSON type; the test-suite uses it to
    catch drift between the models and Close's documents. ``generated=False``
    structures with the interpreted reference functions only (the strict converter
    always does); the tests compare the two.
    """
    conv = make_converter()
    builder = _HookBuilder(conv, strict, generated)
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
