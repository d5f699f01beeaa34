"""The one cattrs converter: Close's JSON in, attrs models out, and back.

Where the pieces sit, on the way from JSON to a value a program reads:

1. a JSON object (a dict, as orjson parsed it) goes to the structure hook this module
   registers for its model class (or, for :data:`~closeasync.models.Activity`, to the
   one dispatching on ``_type``);
2. in production that hook is the class's *view* (:mod:`closeasync.models._views`):
   the model keeps the JSON, its converting fields are lazy;
3. a field is converted on its first read, by the value conversion
   :mod:`closeasync.models._values` gives for its annotation;
4. a malformed value raises :class:`~closeasync.errors.FieldValueError` then, made by
   :func:`closeasync.models._base.field_error` with the model's origin.

``_type`` is not an attribute: each activity class carries it as ``TYPE`` and the
:data:`~closeasync.models.Activity` union (the registry,
:mod:`closeasync.models.registry`, which knows nothing of converting) dispatches on it,
with :class:`~closeasync.models.UnknownActivity` catching types this version does not
know. Keys the server sends that the model does not know are skipped (production)
or refused (the strict converter the tests run over every example and fake
response, so drift shows up as a failure).

Two ways to structure a model
-----------------------------
- *Views* (production, :mod:`closeasync.models._views`): the model's ``__dict__`` is a copy
  of the JSON object; timestamps, enums and nested models are converted when first
  read. Structuring a listing costs about what parsing it does, and a program pays
  for the conversions of the fields it reads.
- *Reference* (``_reference_structure_fn``): every field converted at once, checked
  as strictly as asked. It is the specification: the strict converter uses it, so
  does ``make_model_converter(lazy=False)``, and the views fall back to it to report
  what is not a JSON object. ``tests/test_serde_views.py`` checks that reading every
  field of a view gives what the reference gives, on every example, the whole demo
  organization and thousands of malformed variants, or fails on the same field.

Why views: building models was where a listing spent its time. Generated
straight-line hooks writing slots directly (this module's previous design) reached
11-13 us an email, about twice that inside the I/O loop, against ~0.7 us for a view
(``benchmarks/RESULTS.md`` has the measurements and the design history).

Every model hook, views included, takes ``(data, cls, origin=None)``: cattrs' two
arguments, then the :class:`~closeasync.models._base.Origin` the model keeps (the
listing engine and the resources pass their response's).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ..errors import FieldValueError
from . import event  # noqa: F401  # the one model outside the registry: for install_views
from ._base import CHANGED, SOURCE, Model, set_values, wire_name
from ._values import (
    Conv,
    HookBuilder,
    StructureError,
    format_datetime,
    is_model,
    parse_datetime,
    split_optional,
)
from ._views import build_view, install_views
from .activity import UnknownActivity
from .registry import ACTIVITY_TYPES, Activity

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
_new = object.__new__


def _reference_structure_fn(cls: type[Model], builder: HookBuilder) -> Callable[..., Model]:
    """The plain, interpreted structuring of ``cls``: the specification the views follow.

    The strict converter uses it as it is; the views fall back to it to report
    what is not a JSON object. ``origin`` is accepted for the views' signature and not
    needed: nothing is left to convert later.
    """
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    specs: dict[str, tuple[str, Conv | None, bool]] = {}
    for attribute in attrs.fields(cls):
        if attribute.name in prefixed:
            continue  # filled only from prefixed keys, as unstructuring writes it back
        inner, nullable = split_optional(attribute.type)
        specs[wire_name(attribute)] = (attribute.name, builder.value_hook(inner), nullable)
    type_tag: str | None = getattr(cls, "TYPE", None)
    strict = builder.strict
    name = cls.__name__

    def structure(data: Any, _: Any = None, origin: Any = None) -> Model:
        if type(data) is not dict:
            raise StructureError(f"{name}: expected a JSON object, got {type(data).__name__}")
        values: dict[str, Any] = {}
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
            values[attr] = value
        for _, field in prefixes:  # present even when empty: no custom field is set
            values[field] = collected.get(field, {}) if collected else {}
        values[SOURCE] = data  # what Close sent, given back by to_dict
        obj = _new(cls)
        set_values(obj, values)
        return obj

    return structure


def _model_unstructure_fn(cls: type[Model], builder: HookBuilder) -> Callable[[Any], Any]:
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field: prefix for prefix, field in prefixes}
    specs = [
        (a.name, wire_name(a), builder.unstructure_hook(a.type))
        for a in attrs.fields(cls)
        if a.name not in prefixed
    ]
    type_tag: str | None = getattr(cls, "TYPE", None)

    by_attr = {attr: (key, hook) for attr, key, hook in specs}

    def write(
        out: dict[str, Any], obj: Model, values: dict[str, Any], attr: str, key: str, hook: Any
    ) -> None:
        try:
            value = getattr(obj, attr)  # through a view's lazy field, when it has one
        except FieldValueError:
            out[key] = values[attr]  # malformed: written back as Close sent it
            return
        out[key] = value if value is None or hook is None else hook(value)

    def unstructure(obj: Model) -> dict[str, Any]:
        values = obj.__dict__
        source = values.get(SOURCE)
        if source is not None:
            # What Close sent, as it sent it (unknown keys, timestamp strings), with only
            # the fields evolve() changed written over it.
            out = dict(source)
            for attr in values.get(CHANGED, ()):
                if attr in prefixed:
                    prefix = prefixed[attr]
                    for key in [k for k in out if k.startswith(prefix)]:
                        del out[key]
                    out.update((prefix + k, v) for k, v in values.get(attr, {}).items())
                    continue
                key, hook = by_attr[attr]
                if attr in values:
                    write(out, obj, values, attr, key, hook)
                else:
                    out.pop(key, None)
            return out
        out = {} if type_tag is None else {"_type": type_tag}
        for attr, key, hook in specs:
            if attr in values:
                write(out, obj, values, attr, key, hook)
        for field, prefix in prefixed.items():
            for key, value in values.get(field, {}).items():
                out[prefix + key] = value
        return out

    return unstructure


def _model_structure_fn(cls: type[Model], builder: HookBuilder) -> Callable[..., Model]:
    reference = _reference_structure_fn(cls, builder)
    if not builder.lazy:
        return reference
    return build_view(cls, builder, reference)


def make_model_converter(*, strict: bool = False, lazy: bool = True) -> OrjsonConverter:
    """Build a converter for closeasync models.

    ``strict=True`` refuses unknown keys, unknown enum values, nulls where the
    schema has none and values of the wrong JSON type; the test-suite uses it to
    catch drift between the models and Close's documents. ``lazy=False`` converts
    every field at once with the reference functions instead of building views (the
    strict converter always does); the tests compare the two.
    """
    conv = make_converter()
    builder = HookBuilder(conv, strict, lazy)
    conv.register_structure_hook(datetime, lambda v, _: parse_datetime(v))
    conv.register_unstructure_hook(datetime, format_datetime)
    conv.register_structure_hook_factory(is_model, lambda cls: _model_structure_fn(cls, builder))
    conv.register_unstructure_hook_factory(is_model, lambda cls: _model_unstructure_fn(cls, builder))
    conv.register_unstructure_hook_func(
        lambda tp: isinstance(tp, type) and issubclass(tp, enum.Enum), lambda e: e.value
    )
    _register_activity_union(conv, strict=strict)
    if builder.lazy:
        # Every SDK model class exists by now (imported above: the activities and the
        # models they nest with the registry, Event on its own), whatever imported this.
        install_views(conv.get_structure_hook)
    return conv


def _register_activity_union(conv: OrjsonConverter, *, strict: bool) -> None:
    """Teach ``conv`` to structure :data:`~closeasync.models.Activity` by its ``_type`` tag."""
    hooks: dict[str, Callable[..., Model]] = {
        name: conv.get_structure_hook(cls) for name, cls in ACTIVITY_TYPES.items()
    }
    known = ACTIVITY_TYPES

    def structure_activity(data: Any, _: Any = None, origin: Any = None) -> Model:
        tag = data.get("_type") if type(data) is dict else None
        hook = hooks.get(tag) if type(tag) is str else None
        if hook is not None:
            model: Model = hook(data, known[tag], origin)  # type: ignore[index]  # tag is a str here
            return model
        if strict:
            raise StructureError(f"activity with unknown _type {tag!r}")
        return _unknown(data)

    conv.register_structure_hook_func(lambda tp: tp == Activity, structure_activity)

    def structure_unknown(data: Any, _: Any = None, origin: Any = None) -> UnknownActivity:
        return _unknown(data)

    conv.register_structure_hook(UnknownActivity, structure_unknown)
    conv.register_unstructure_hook(UnknownActivity, _unknown_as_sent)


#: The identifiers an UnknownActivity lifts out of ``raw``, by the JSON key they come from.
_LIFTED = {"type": "_type", "id": "id", "lead_id": "lead_id"}


def _unknown_as_sent(obj: UnknownActivity) -> dict[str, Any]:
    """``raw`` as Close sent it, with the lifted identifiers as they are now (``evolve``)."""
    values = obj.__dict__
    out = dict(values.get("raw") or {})
    for attr, key in _LIFTED.items():
        if attr in values:
            out[key] = values[attr]
        else:
            out.pop(key, None)
    return out


def _unknown(data: Any) -> UnknownActivity:
    if type(data) is not dict:
        raise StructureError(f"activity: expected a JSON object, got {type(data).__name__}")
    fields = {k: data.get(k) for k in ("id", "lead_id") if isinstance(data.get(k), str)}
    return UnknownActivity(type=data.get("_type"), raw=data, **fields)


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
