"""The production converter's generated hooks behave exactly like the interpreted reference.

``closeasync._serde`` generates one structure function per model for speed and keeps
the plain, interpreted version as the specification (the strict converter and every
error message use it). Here both production variants structure the same inputs and
must give the same models, down to the types of values, or the same error: every
response example, the whole demo organization, and variants of them with keys
dropped, nulls, unknown keys and enum values, and values of the wrong type.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import attrs
import pytest

from closeasync._serde import StructureError, converter, make_model_converter
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from closeasync.models import ACTIVITY_TYPES, Email, Model, loaded_fields
from closeasync.models.activity import ActivityBase
from tests.conftest import ACTIVITY_UNION
from tests.spec_examples import iter_docs_examples, iter_extra_examples, iter_openapi_examples

reference = make_model_converter(generated=False)


def _same(a: Any, b: Any, where: str = "") -> None:
    """Assert ``a`` and ``b`` are equal and of the same types all the way down."""
    assert type(a) is type(b), f"{where}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, Model):
        assert loaded_fields(a) == loaded_fields(b), where
        for name in sorted(loaded_fields(a)):
            _same(getattr(a, name), getattr(b, name), f"{where}.{name}")
    elif isinstance(a, list):
        assert len(a) == len(b), where
        for index, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{index}]")
    elif isinstance(a, dict):
        assert list(a) == list(b), where
        for key in a:
            _same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, enum.Enum):
        assert a is b, where
    elif isinstance(a, datetime):
        assert (a, a.utcoffset()) == (b, b.utcoffset()), where
    else:
        assert a == b, where


def _check(data: Any, target: Any) -> None:
    try:
        expected = reference.structure(data, target)
    except StructureError as exc:
        message = str(exc)
    else:
        _same(converter.structure(data, target), expected, getattr(target, "__name__", "Activity"))
        return
    with pytest.raises(StructureError) as info:
        converter.structure(data, target)
    assert str(info.value) == message


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object with a ``_type`` in ``value`` (nested ones too)."""
    if isinstance(value, dict):
        if isinstance(value.get("_type"), str):
            yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _examples() -> list[dict[str, Any]]:
    examples = [*iter_openapi_examples(), *iter_docs_examples(), *iter_extra_examples()]
    return [obj for e in examples if e.kind == "response" for obj in _objects(e.body)]


def _demo() -> list[dict[str, Any]]:
    fake = FakeClose(seed=3)
    load_demo(fake, leads=40)
    return list(fake.state.of_type())


def test_generated_hooks_are_in_use() -> None:
    hook = converter.get_structure_hook(Email)
    assert getattr(hook, "__closeasync_generated__", False)
    assert not getattr(reference.get_structure_hook(Email), "__closeasync_generated__", False)


@pytest.mark.parametrize("source", ["examples", "demo"])
def test_same_models_as_the_reference(source: str) -> None:
    objects = _examples() if source == "examples" else _demo()
    assert len(objects) > 20
    for data in objects:
        _check(data, ACTIVITY_UNION)
        cls = ACTIVITY_TYPES.get(data["_type"])
        if cls is not None:
            _check(data, cls)


_ODD_VALUES: list[Any] = [
    None,
    "",
    "not-a-date",
    "2024-02-30T00:00:00",
    0,
    1.5,
    True,
    [],
    [None],
    {},
    {"x": 1},
]


def _mutations(data: dict[str, Any], rng: random.Random) -> Iterator[dict[str, Any]]:
    keys = list(data)
    yield {k: v for k, v in data.items() if rng.random() < 0.5}  # a partial object (fields=)
    yield dict.fromkeys(keys)  # every value null
    yield {**data, "brand_new_field": {"a": 1}, "custom.cf_x": "y"}
    for key in rng.sample(keys, min(6, len(keys))):
        for odd in rng.sample(_ODD_VALUES, 4):
            yield {**data, key: odd}
        if isinstance(data[key], dict):  # one level down: a nested model's field
            for inner in list(data[key])[:3]:
                yield {**data, key: {**data[key], inner: rng.choice(_ODD_VALUES)}}
        if isinstance(data[key], list) and data[key] and isinstance(data[key][0], dict):
            first = data[key][0]
            for inner in list(first)[:3]:
                yield {**data, key: [{**first, inner: rng.choice(_ODD_VALUES)}, *data[key][1:]]}


def test_same_models_or_errors_for_odd_input() -> None:
    rng = random.Random(7)
    objects = _examples() + _demo()[::7]
    count = 0
    for data in objects:
        cls = ACTIVITY_TYPES.get(data["_type"])
        for variant in _mutations(data, rng):
            _check(variant, ACTIVITY_UNION)
            if cls is not None:
                _check(variant, cls)
            count += 1
    assert count > 1000


def test_non_objects_fail_the_same_way() -> None:
    for value in (None, [], "x", 3, [{"id": "acti_1"}]):
        _check(value, Email)


def test_equal_timestamps_share_one_datetime_and_stay_correct() -> None:
    stamp = "2026-01-05T08:55:40.515263+00:00"
    email = converter.structure(
        {"date_created": stamp, "activity_at": stamp, "date_updated": "2026-01-05T08:55:40"}, Email
    )
    assert email.date_created is email.activity_at  # immutable, so sharing is safe
    assert email.date_updated.utcoffset() is not None
    assert email.date_updated != email.date_created


def test_every_model_class_gets_a_generated_hook() -> None:
    seen: set[type] = set()

    def walk(cls: type[Model]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        assert getattr(converter.get_structure_hook(cls), "__closeasync_generated__", False), cls
        for attribute in attrs.fields(cls):
            for arg in _type_args(attribute.type):
                if isinstance(arg, type) and issubclass(arg, Model):
                    walk(arg)

    for cls in ACTIVITY_TYPES.values():
        walk(cls)
    assert ActivityBase not in seen  # abstract: never structured on its own
    assert len(seen) > len(ACTIVITY_TYPES)


def _type_args(tp: Any) -> Iterator[Any]:
    yield tp
    for arg in getattr(tp, "__args__", ()):
        yield from _type_args(arg)
