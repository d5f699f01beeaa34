"""Models as views over Close's JSON: every field there at once, conversions on first read.

The production converter (:mod:`closeasync.models._converter`) structures a model class
with the view :func:`build_view` makes for it. A view does not build the model field
by field: it gives the model a copy of the JSON object's modelled keys as its instance
``__dict__``, and keeps the object itself, untouched, beside them (under ``SOURCE``: see
:mod:`closeasync.models._base`):

- a field whose JSON value *is* the attribute value (``str``, ``int``, ``bool``,
  ``float``, dicts, lists of those, ``None``) is read straight from that dict, at the
  speed of any attribute;
- a field that needs converting (timestamps, enums, nested models, lists of models)
  has a data descriptor on the class, a :class:`LazyField` (installed by
  :func:`build_view`; for the SDK's models, when the converter is built). Its first
  read converts the JSON value (as :mod:`closeasync.models._values` says for its
  annotation; a nested object through its own view) and stores the result in the
  instance dict in place of it, so later reads only pass through the descriptor; the
  source keeps the value as Close sent it, which ``to_dict`` gives back;
- an absent key is an absent field (see :class:`~closeasync.models.Model`).

Why: a listing spends its time building models. Converting each of an email's ~50
fields eagerly, even with generated straight-line code and direct slot writes, cost
11-13 us an email alone and about twice that inside the I/O loop, more than the
network and parsing together (``benchmarks/RESULTS.md``). A view costs one dict copy
and one object, ~0.7 us, and a program pays for the conversions of the fields it reads.

What it changes, on purpose:

- A value Close sent malformed (a timestamp that does not parse, a string where an
  object belongs) raises :class:`~closeasync.errors.FieldValueError` when that field is
  read (made by :func:`~closeasync.models._base.field_error`), naming the model, the
  field and the response it came in, instead of failing the listing at that item. A
  non-object item still fails the listing at once.
- The JSON given is never changed: the instance dict is a copy (a conversion replaces
  a value there, never inside the JSON), so the source stays exactly what Close sent.
  Nested objects and lists are shared with that JSON: do not change JSON after
  handing it to a model.
- Only the model's own keys go into its dict: keys this version does not model stay
  in the source only (``extra_fields`` reads them), so nothing but fields can be read
  as attributes (no "subject" on a Call, no "__html__" for a template engine to call).
- ``to_dict`` gives back the source, with only the fields :func:`evolve` changed
  written over it; a malformed value goes back as Close sent it.

The strict converter and ``make_model_converter(lazy=False)`` still convert everything
at once (the tests compare both ways on every example, see
``tests/test_serde_views.py``).
"""

from __future__ import annotations

import enum
import threading
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import attrs
import orjson

from ._base import ORIGIN, SOURCE, Model, Origin, field_error, modelled_keys, set_values, wire_name
from ._values import HookBuilder, enum_of, is_model, split_optional

__all__ = ["LazyField", "build_view", "install_views"]

_new = object.__new__
_fromisoformat = datetime.fromisoformat
#: Two threads reading one field for the first time must end with the same object.
_PUBLISH = threading.Lock()

#: ``view(data, _=None, origin=None)``: a model over the JSON object ``data``.
View = Callable[..., Model]
#: ``convert(json_value, origin)``: the attribute value of one non-null JSON value.
_Convert = Callable[[Any, "Origin | None"], Any]


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
            origin = values.get(ORIGIN)
            # Objects nested in a partial one are whole: ``_fields`` picks top-level keys.
            converted = self.convert(value, origin if origin is None else origin.nested())
        except Exception as exc:
            error = field_error(obj, self.name, exc)
        else:
            with _PUBLISH:  # the first conversion stored wins: every reader gets that object
                current = values.get(self.name, value)
                if current is value:
                    values[self.name] = converted
                    return converted
            return current
        # Raised out of the except block, so nothing is chained to it (not even as
        # ``__context__``): the cause's message holds the value, which the error redacts.
        raise error


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
                error = field_error(obj, self.name, exc)
            else:
                if parsed.tzinfo is None:
                    parsed = parsed.replace(tzinfo=UTC)
                values[self.name] = parsed
                return parsed
            raise error  # out of the except block: nothing chained (see LazyField._load)
        return self._load(obj, values, value)


class _Enum(LazyField):
    """An ``Enum | str`` field: a known value becomes its member, an unknown one stays a string."""

    __slots__ = ("lookup",)

    def __init__(self, name: str, lookup: Callable[[Any, Any], Any]) -> None:
        super().__init__(name, lambda value, _: lookup(value, value))
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
    hook = builder.value_hook(tp)
    if hook is None:
        return None
    if tp is datetime or tp is date:
        return _Timestamp(name, lambda value, _: hook(value), tp)
    members = enum_of(tp)
    if members is not None:
        return _Enum(name, {member.value: member for member in members}.get)
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


def _as_parsed_keys(names: set[str]) -> frozenset[str]:
    """``names`` as the very string objects orjson gives for them as keys.

    orjson keeps the keys it parses in a cache and hands out the same object each time,
    so every email's ``"subject"`` is one object. A set of those objects finds each key
    by identity; a set of other equal strings compares characters for every key of every
    object (measured: the check of a 49-key email takes half the time). Should orjson
    not cache a key, the check is as exact, only slower.
    """
    return frozenset(orjson.loads(orjson.dumps(dict.fromkeys(names))))


def build_view(cls: type[Model], builder: HookBuilder, fallback: Callable[..., Model]) -> View:
    """Install ``cls``'s lazy fields and return its view function (see the module docs).

    ``fallback`` structures what is not a JSON object, to raise the reference's error.

    Raises:
        TypeError: ``cls`` keeps fields in slots (a view needs them in the instance dict).
    """
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    renames: list[tuple[str, str]] = []
    for attribute in attrs.fields(cls):
        if any(attribute.name in getattr(k, "__slots__", ()) for k in cls.__mro__):
            raise TypeError(f"{cls.__name__}.{attribute.name} is a slot: declare models with slots=False")
        if attribute.name in prefixed:
            continue
        wire = wire_name(attribute)
        if wire != attribute.name:
            renames.append((wire, attribute.name))
        descriptor = _lazy_field(attribute.name, split_optional(attribute.type)[0], builder)
        if descriptor is not None:
            setattr(cls, attribute.name, descriptor)
    # Only the model's own keys go in: an unknown key would be readable as an attribute
    # (a "subject" on a Call, or a "__html__" that rich or MarkupSafe would then call).
    allowed = _as_parsed_keys(set(modelled_keys(cls)[0]))
    collect = _prefix_collector(prefixes, allowed) if prefixes else None

    def view(data: Any, _: Any = None, origin: Origin | None = None) -> Model:
        if data.__class__ is not dict:
            return fallback(data)  # raises the error naming the model
        # The usual case: one pass in C (``issuperset`` of the dict itself skips the generic
        # containment calls ``data.keys() <= allowed`` makes per key: ~25% cheaper).
        if allowed.issuperset(data):
            values = data.copy()  # conversions write here, never into what Close sent
        else:  # keys this version does not model (kept in the source), or prefixed custom fields
            values = {key: value for key, value in data.items() if key in allowed}
        values.pop("_type", None)
        for wire, attr in renames:
            if wire in values:
                values[attr] = values.pop(wire)
        if collect is not None:
            values.update(collect(data))
        values[SOURCE] = data
        if origin is not None:
            values[ORIGIN] = origin
        obj = _new(cls)
        set_values(obj, values)
        return obj

    view.__qualname__ = f"view_{cls.__name__}"
    view.__doc__ = f"A {cls.__name__} over a JSON object (see closeasync.models._views)."
    view.__closeasync_view__ = True  # type: ignore[attr-defined]
    return view


def install_views(get_hook: Callable[[type[Model]], Any]) -> None:
    """Build the view of every model class now, so each has its lazy fields from the start.

    Otherwise a model built by hand with a JSON string for a timestamp would convert it
    on read only once some model of its class had been structured.
    """
    pending = list(Model.__subclasses__())
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.__module__.startswith("closeasync."):  # a subclass of yours: when first structured
            get_hook(cls)
