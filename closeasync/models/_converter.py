"""The one cattrs converter: JSON values in, attrs models out, and back.

``_type`` is not an attribute: each activity class carries it as ``TYPE`` and the
:data:`~closeasync.models.Activity` union dispatches on it, with
:class:`~closeasync.models.UnknownActivity` catching types this version does not
know. Keys the server sends that the model does not know are skipped (production)
or refused (the strict converter the tests run over every example and fake
response, so drift shows up as a failure).

Two ways to structure a model
-----------------------------
- *Views* (production, :mod:`closeasync.models._views`): the model's ``__dict__`` is a copy
  of the JSON object; timestamps, enums and nested models are converted when first
  read. Structuring a listing costs about what parsing it does, and a program pays
  for the conversions of the fields it reads. A malformed value raises
  :class:`~closeasync.errors.FieldValueError` when its field is read.
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
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import attrs
from cattrs.preconf.orjson import OrjsonConverter, make_converter

from ..errors import FieldValueError
from ._base import CHANGED, SOURCE, Model, set_values, wire_name
from ._convert import (
    HookBuilder,
    StructureError,
    format_datetime,
    is_model,
    parse_datetime,
    split_optional,
)
from ._views import build_view, install_views

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


def _reference_structure_fn(cls: type[Model], builder: HookBuilder) -> Callable[..., Model]:
    """The plain, interpreted structuring of ``cls``: the specification the generated code follows.

    The strict converter uses it as it is; the views fall back to it to report
    what is not a JSON object. ``origin`` and ``adopt`` are accepted for the views'
    signature and not needed: nothing is left to convert later, nothing is adopted.
    """
    attrs.resolve_types(cls)
    prefixes: tuple[tuple[str, str], ...] = getattr(cls, "__wire_prefixes__", ())
    prefixed = {field for _, field in prefixes}
    specs: dict[str, tuple[str, _Conv | None, bool]] = {}
    for attribute in attrs.fields(cls):
        if attribute.name in prefixed:
            continue  # filled only from prefixed keys, as unstructuring writes it back
        inner, nullable = split_optional(attribute.type)
        specs[wire_name(attribute)] = (attribute.name, builder.value_hook(inner), nullable)
    type_tag: str | None = getattr(cls, "TYPE", None)
    strict = builder.strict
    name = cls.__name__

    def structure(data: Any, _: Any = None, origin: Any = None, adopt: bool = False) -> Model:
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
    # Imported late: the activity module needs the Model base from above.
    from .registry import register_activity_union

    register_activity_union(conv, strict=strict)
    if builder.lazy:
        install_views(conv.get_structure_hook)
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
