"""Models as views over Close's JSON: every field there at once, conversions on first read.

The production converter does not build a model field by field. It gives the model a
copy of the JSON object as its instance ``__dict__``:

- a field whose JSON value *is* the attribute value (``str``, ``int``, ``bool``,
  ``float``, dicts, lists of those, ``None``) is read straight from that dict, at the
  speed of any attribute;
- a field that needs converting (timestamps, enums, nested models, lists of models)
  has a data descriptor on the class (installed here, the first time the class is
  structured). Its first read converts the JSON value and stores the result in place
  of it, so later reads only pass through the descriptor;
- an absent key is an absent field: reading it raises
  :class:`~closeasync.models.FieldNotLoaded`, as for every model.

Why: a listing spends its time building models. Converting each of an email's ~50
fields eagerly, even with generated straight-line code and direct slot writes, cost
11-13 us an email alone and about twice that inside the I/O loop, more than the
network and parsing together (``benchmarks/RESULTS.md``). A view costs one dict copy
and one object, ~0.7 us, and a program pays for the conversions of the fields it reads.

What it changes, on purpose:

- A value Close sent malformed (a timestamp that does not parse, a string where an
  object belongs) raises :class:`~closeasync.errors.FieldValueError` when that field is
  read, naming the model, the field and the response it came in, instead of failing
  the listing at that item. A non-object item still fails the listing at once.
- The JSON a caller passes is copied, never changed, so a model cannot change behind
  its ``frozen`` contract and a page's ``raw`` items stay exactly as Close sent them.
  JSON the SDK parsed itself and hands to nobody else (the items of a listing, a
  response body) is adopted instead (``adopt=True``): one allocation less per item.
- Unknown keys stay in the copy (they are not fields: equality, ``repr``, pickling and
  unstructuring never see them). Keys that would shadow what Python looks up on an
  instance (``__reduce_ex__``, ``TYPE``...) are dropped.

The strict converter and ``make_model_converter(lazy=False)`` still convert everything
at once (the tests compare both ways on every example, see
``tests/test_serde_views.py``).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, Protocol

import attrs
import orjson

from ._convert import HookBuilder, enum_of, is_model, split_optional
from .errors import FieldValueError
from .models._base import Model, wire_name

__all__ = ["ORIGIN", "LazyField", "Origin", "View", "build_view"]

#: The key under which a view keeps where its JSON came from (for FieldValueError).
ORIGIN = "__closeasync_origin__"

_new = object.__new__
_fromisoformat = datetime.fromisoformat
#: Writes an instance's ``__dict__`` (every model class shares Model's descriptor).
_set_values: Callable[[Any, dict[str, Any]], None] = Model.__dict__["__dict__"].__set__

#: Names an instance ``__dict__`` must not hold: pickle and copy ask the instance for
#: these, and ORIGIN is ours. Non-dunder class attributes (``TYPE``) are added per class.
_SHADOWING = frozenset(
    {
        "__copy__",
        "__deepcopy__",
        "__getnewargs__",
        "__getnewargs_ex__",
        "__getstate__",
        "__reduce__",
        "__reduce_ex__",
        "__setstate__",
        "__wire_prefixes__",
        ORIGIN,
    }
)


class Origin(Protocol):
    """Where a view's JSON came from: turns a misfit field into the error to raise."""

    def field_error(self, model: str, field: str, message: str, body: bytes) -> Exception:
        """The error for ``model.field`` whose value did not convert."""
        ...


#: ``view(data, _=None, origin=None)``: a model over the JSON object ``data``.
View = Callable[..., Model]
#: ``convert(json_value, origin)``: the attribute value of one non-null JSON value.
_Convert = Callable[[Any, "Origin | None"], Any]


def field_error(obj: Model, field: str, exc: Exception) -> Exception:
    """The FieldValueError for ``obj.field``, whose value raised ``exc`` when converted."""
    values = obj.__dict__
    model = type(obj).__name__
    message = f"{model}.{field}: {exc}"
    body = _object_json(values)
    origin: Origin | None = values.get(ORIGIN)
    if origin is not None:
        return origin.field_error(model, field, message, body)
    return FieldValueError(message, model=model, field=field, body=body)


def _object_json(values: dict[str, Any]) -> bytes:
    """The JSON of the object holding a misfit field, as far as it can be written."""
    try:
        return orjson.dumps({k: v for k, v in values.items() if k != ORIGIN}, default=_jsonable)
    except Exception:  # the error being reported matters more than its body
        return b""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        from ._serde import unstructure  # the converter imports this module

        return unstructure(value)
    raise TypeError(type(value).__name__)


class LazyField:
    """A data descriptor: the field's JSON value, converted on its first read and kept.

    Subclasses decide, per kind of field, whether the stored value still needs
    converting (``__get__`` inlines that test: it runs on every read).
    """

    __slots__ = ("convert", "name")

    def __init__(self, name: str, convert: _Convert) -> None:
        self.name = name
        self.convert = convert

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.name] = value

    def __delete__(self, obj: Any) -> None:
        try:
            del obj.__dict__[self.name]
        except KeyError:
            raise AttributeError(self.name) from None

    def _load(self, obj: Any, values: dict[str, Any], value: Any) -> Any:
        try:
            converted = self.convert(value, values.get(ORIGIN))
        except Exception as exc:
            raise field_error(obj, self.name, exc) from exc
        values[self.name] = converted
        return converted


# In every __get__ below, a missing key raises a bare AttributeError: Python then calls
# Model.__getattr__, which raises FieldNotLoaded with its explanation.


class _Timestamp(LazyField):
    """A ``datetime`` or ``date`` field: an ISO 8601 string until read."""

    __slots__ = ("kind",)

    def __init__(self, name: str, convert: _Convert, kind: type) -> None:
        super().__init__(name, convert)
        self.kind = kind

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        try:
            value = values[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if value is None or isinstance(value, self.kind):
            return value
        if value.__class__ is str and self.kind is datetime:
            # The common case inline (a listing reads date_created of every item):
            # parse_datetime without the calls around it.
            try:
                parsed = _fromisoformat(value)
            except ValueError as exc:
                raise field_error(obj, self.name, exc) from exc
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            values[self.name] = parsed
            return parsed
        return self._load(obj, values, value)


class _Enum(LazyField):
    """An ``Enum | str`` field: a known value becomes its member, an unknown one stays a string."""

    __slots__ = ("lookup",)

    def __init__(self, name: str, convert: _Convert, lookup: Callable[[Any, Any], Any]) -> None:
        super().__init__(name, convert)
        self.lookup = lookup  # the members' dict.get: one C call per read of a string

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        try:
            value = values[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if value.__class__ is str:
            member = self.lookup(value, value)
            if member is not value:
                values[self.name] = member
            return member
        if value is None or isinstance(value, enum.Enum):
            return value
        # Anything else goes through the lookup as the reference does: numbers stay as
        # they are (lenient), lists and objects cannot be looked up and fail.
        return self._load(obj, values, value)


class _Nested(LazyField):
    """A nested model (or the activity union): a JSON object until read."""

    __slots__ = ()

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        try:
            value = values[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if value is None or isinstance(value, Model):
            return value
        return self._load(obj, values, value)


class _NestedList(LazyField):
    """A list of models, or (``either``) a model or a list of models."""

    __slots__ = ("either",)

    def __init__(self, name: str, convert: _Convert, either: bool) -> None:
        super().__init__(name, convert)
        self.either = either

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        values = obj.__dict__
        try:
            value = values[self.name]
        except KeyError:
            raise AttributeError(self.name) from None
        if value is None or (self.either and isinstance(value, Model)):
            return value
        if value.__class__ is list or value.__class__ is tuple:
            # Settled when the items are models: the first non-null one tells.
            for item in value:
                if item is not None:
                    if isinstance(item, Model):
                        return value
                    break
            else:
                return value  # empty, or only nulls: nothing to convert
        return self._load(obj, values, value)


def _lazy_field(name: str, tp: Any, builder: HookBuilder) -> LazyField | None:
    """The descriptor for a field of type ``tp`` (None: the JSON value is the value)."""
    if builder.value_hook(tp) is None:
        return None
    if tp is datetime or tp is date:
        parse = builder.value_hook(tp)
        assert parse is not None
        return _Timestamp(name, lambda value, _: parse(value), tp)
    members = enum_of(tp)
    if members is not None:
        by_value = {member.value: member for member in members}.get
        return _Enum(name, lambda value, _: by_value(value, value), by_value)
    view = _nested_view(tp, builder)
    if view is not None:
        return _Nested(name, view)
    item, either = _list_item(tp)
    view = _nested_view(item, builder) if item is not None else None
    if view is None:
        raise TypeError(f"no lazy conversion for {name}: {tp!r}")
    convert_item = view

    def convert_list(value: Any, origin: Origin | None) -> Any:
        if either and value.__class__ is not list:
            return convert_item(value, origin)  # the single-object form
        return [x if x is None else convert_item(x, origin) for x in value]

    return _NestedList(name, convert_list, either)


def _nested_view(tp: Any, builder: HookBuilder) -> _Convert | None:
    """``convert(value, origin)`` for a model or a union of models, else None."""
    args = (tp,) if is_model(tp) else _union_args(tp)
    if not args or not all(is_model(a) for a in args):
        return None
    hook: Callable[..., Any] = builder.conv.get_structure_hook(tp)  # every model hook takes an origin
    return lambda value, origin: hook(value, tp, origin)


def _union_args(tp: Any) -> tuple[Any, ...]:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return typing.get_args(tp)
    return ()


def _list_item(tp: Any) -> tuple[Any, bool]:
    """(item type, whether a single item may come instead of a list) of a list annotation."""
    if typing.get_origin(tp) is list:
        (item,) = typing.get_args(tp)
        return split_optional(item)[0], False
    lists = [a for a in _union_args(tp) if typing.get_origin(a) is list]
    if len(lists) == 1 and len(_union_args(tp)) == 2:
        (item,) = typing.get_args(lists[0])
        return split_optional(item)[0], True
    return None, False


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


def build_view(cls: type[Model], builder: HookBuilder, fallback: Callable[..., Model]) -> View:
    """Install ``cls``'s lazy fields and return its view function (see the module docs).

    ``fallback`` structures what is not a JSON object, to raise the reference's error.
    """
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    renames: list[tuple[str, str]] = []
    known = {"_type"}
    names = set()
    for attribute in attrs.fields(cls):
        names.add(attribute.name)
        if attribute.name in prefixed:
            continue
        wire = wire_name(attribute)
        known.add(wire)
        if wire != attribute.name:
            renames.append((wire, attribute.name))
        descriptor = _lazy_field(attribute.name, split_optional(attribute.type)[0], builder)
        if descriptor is not None:
            setattr(cls, attribute.name, descriptor)
    shadowing = _SHADOWING | {n for n in dir(cls) if not n.startswith("__") and n not in names}
    collect = _prefix_collector(prefixes, frozenset(known)) if prefixes else None

    def view(data: Any, _: Any = None, origin: Origin | None = None, adopt: bool = False) -> Model:
        if data.__class__ is not dict:
            return fallback(data)  # raises the error naming the model
        values = data if adopt else data.copy()
        for wire, attr in renames:
            if wire in values:
                values[attr] = values.pop(wire)
            else:
                values.pop(attr, None)  # an unknown key that is only the attribute's name
        if not values.keys().isdisjoint(shadowing):
            for name in shadowing:
                values.pop(name, None)
        if collect is not None:
            values.update(collect(data))
        if origin is not None:
            values[ORIGIN] = origin
        obj = _new(cls)
        _set_values(obj, values)
        return obj

    view.__qualname__ = f"view_{cls.__name__}"
    view.__doc__ = f"A {cls.__name__} over a JSON object (see closeasync._views)."
    view.__closeasync_view__ = True  # type: ignore[attr-defined]
    return view
