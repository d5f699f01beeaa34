"""Views (the production converter) read exactly like the reference, which converts at once.

Production models are views over the JSON, converting timestamps, enums and nested
models on first read (``closeasync.models._views``); ``make_model_converter(lazy=False)``
converts every field at once with the interpreted reference functions, the
specification. Here both structure the same inputs, and reading every field of the
view (nested views too) must give the reference's model down to the types of values,
or fail on the same field with the same message: every response example, the whole
demo organization, and variants with keys dropped, nulls, unknown keys and enum
values, and values of the wrong type. Then what a view promises beyond that: the JSON
it came from is never changed, conversions happen once, and unknown or shadowing
keys stay out of the model's behaviour.
"""

from __future__ import annotations

import copy
import enum
import pickle
import random
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, cast

import attrs
import orjson
import pytest

from closeasync import CloseAsync, FieldValueError, ResponseValidationError
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from closeasync.models import (
    ACTIVITY_TYPES,
    UNSET,
    Attachment,
    Call,
    Email,
    EmailEnvelope,
    EmailIdentity,
    Meeting,
    MessageStatus,
    Model,
    evolve,
    extra_fields,
    is_loaded,
    loaded_fields,
    to_dict,
)
from closeasync.models._converter import StructureError, converter, make_model_converter
from closeasync.models._views import LazyField
from closeasync.models.activity import ActivityBase
from closeasync.models.registry import Activity
from tests.conftest import ACTIVITY_UNION, API_KEY, StubTransport, json_response
from tests.spec_examples import typed_objects

reference = make_model_converter(lazy=False)


def _same(a: Any, b: Any, where: str = "") -> None:
    """Assert ``a`` and ``b`` are equal and of the same types all the way down (reading every field)."""
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


def _read_all(value: Any) -> None:
    """Read every field of a view, nested views too (a misfit raises FieldValueError)."""
    if isinstance(value, Model):
        for name in sorted(loaded_fields(value)):
            _read_all(getattr(value, name))
    elif isinstance(value, list):
        for item in value:
            _read_all(item)


def _check(data: Any, target: Any) -> None:
    before = copy.deepcopy(data)
    try:
        expected = reference.structure(data, target)
    except StructureError as exc:
        message = str(exc)
    else:
        _same(converter.structure(data, target), expected, getattr(target, "__name__", "Activity"))
        assert data == before  # the JSON a view came from is never changed
        return
    if not isinstance(data, dict):  # not an object: refused at once, as the reference does
        with pytest.raises(StructureError) as refused:
            converter.structure(data, target)
        assert str(refused.value) == message
        return
    view = converter.structure(data, target)
    with pytest.raises(FieldValueError) as info:
        _read_all(view)
    # The reference names the path from the top; the view, the field that was read.
    assert message.endswith(str(info.value)), (message, str(info.value))
    assert data == before


def _examples() -> list[dict[str, Any]]:
    return typed_objects()


def _demo() -> list[dict[str, Any]]:
    fake = FakeClose(seed=3)
    load_demo(fake, leads=40)
    return list(fake.state.of_type())


def test_views_are_in_use() -> None:
    assert getattr(converter.get_structure_hook(Email), "__closeasync_view__", False)
    assert not getattr(reference.get_structure_hook(Email), "__closeasync_view__", False)


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
    count = failures = 0
    for data in objects:
        cls = ACTIVITY_TYPES.get(data["_type"])
        for variant in _mutations(data, rng):
            _check(variant, ACTIVITY_UNION)
            if cls is not None:
                _check(variant, cls)
                try:
                    reference.structure(variant, cls)
                except StructureError:
                    failures += 1
            count += 1
    assert count > 1000
    assert failures > 100  # the comparison covered errors, not only successes


def test_non_objects_fail_the_same_way() -> None:
    for value in (None, [], "x", 3, [{"id": "acti_1"}]):
        _check(value, Email)


def test_every_model_class_gets_a_view_with_lazy_fields_where_needed() -> None:
    seen: set[type] = set()

    def walk(cls: type[Model]) -> None:
        if cls in seen:
            return
        seen.add(cls)
        assert getattr(converter.get_structure_hook(cls), "__closeasync_view__", False), cls
        for attribute in attrs.fields(cls):
            plain = attribute.type in ("str", "str | None", "int | None", "bool", "list[str]")
            lazy = isinstance(cls.__dict__.get(attribute.name), LazyField)
            assert not (plain and lazy), f"{cls.__name__}.{attribute.name}"
            for arg in _type_args(attribute.type):
                if isinstance(arg, type) and issubclass(arg, Model):
                    walk(arg)

    for cls in ACTIVITY_TYPES.values():
        walk(cls)
    assert ActivityBase not in seen  # abstract: never structured on its own
    assert len(seen) > len(ACTIVITY_TYPES)
    for name in ("date_created", "status", "envelope", "attachments", "body_html_quoted"):
        assert isinstance(Email.__dict__[name], LazyField), name
    for name in ("subject", "to", "has_reply", "send_attempts"):
        assert name not in Email.__dict__, name  # read straight from the instance dict


def _type_args(tp: Any) -> Iterator[Any]:
    yield tp
    for arg in getattr(tp, "__args__", ()):
        yield from _type_args(arg)


STAMP = "2026-01-05T08:55:40.515263+00:00"
RAW: dict[str, Any] = {
    "_type": "Email",
    "id": "acti_1",
    "subject": "Hi",
    "status": "sent",
    "date_created": STAMP,
    "envelope": {"from": [{"email": "a@example.com", "name": "A"}], "to": []},
    "attachments": [{"url": "https://app.close.com/go/file/x/", "size": 3}],
}


def test_conversions_happen_once_and_are_kept() -> None:
    email = converter.structure(copy.deepcopy(RAW), Email)
    assert email.date_created == datetime(2026, 1, 5, 8, 55, 40, 515263, tzinfo=UTC)
    assert email.date_created is email.date_created
    assert email.envelope is email.envelope
    assert email.attachments is email.attachments
    assert email.status is MessageStatus.SENT
    assert email.envelope is not None
    assert email.envelope.from_ == [EmailIdentity(email="a@example.com", name="A")]


def test_a_view_equals_the_model_built_by_hand_and_round_trips() -> None:
    by_hand = Email(
        id="acti_1",
        subject="Hi",
        status=MessageStatus.SENT,
        date_created=datetime(2026, 1, 5, 8, 55, 40, 515263, tzinfo=UTC),
        envelope=EmailEnvelope(from_=[EmailIdentity(email="a@example.com", name="A")], to=[]),
        attachments=[Attachment(url="https://app.close.com/go/file/x/", size=3)],
    )
    fresh = converter.structure(copy.deepcopy(RAW), Email)
    assert fresh == by_hand
    assert by_hand == fresh
    assert to_dict(converter.structure(copy.deepcopy(RAW), Email)) == RAW
    for copied in (
        pickle.loads(pickle.dumps(converter.structure(copy.deepcopy(RAW), Email))),
        copy.deepcopy(converter.structure(copy.deepcopy(RAW), Email)),
        copy.copy(converter.structure(copy.deepcopy(RAW), Email)),
        evolve(converter.structure(copy.deepcopy(RAW), Email)),
    ):
        assert copied == by_hand
        assert loaded_fields(copied) == loaded_fields(by_hand)
    assert repr(fresh) == repr(by_hand)


def test_unknown_and_shadowing_keys_stay_out_of_the_model() -> None:
    data = {**RAW, "brand_new": 1, "TYPE": "Hacked", "__reduce_ex__": "x", "__closeasync_origin__": 5}
    email = converter.structure(data, Email)
    assert email.TYPE == "Email"
    assert pickle.loads(pickle.dumps(email)) == email
    assert "brand_new" not in repr(email)
    assert not hasattr(email, "brand_new")  # never an attribute ...
    assert to_dict(email) == data  # ... but kept, and given back as sent
    assert extra_fields(email) == {
        "brand_new": 1,
        "TYPE": "Hacked",
        "__reduce_ex__": "x",
        "__closeasync_origin__": 5,
    }
    assert email == converter.structure(copy.deepcopy(RAW), Email)
    assert email.envelope is not None
    assert loaded_fields(email.envelope) == {"from_", "to"}
    alias_only = converter.structure({"from_": [{"email": "b@example.com"}]}, EmailEnvelope)
    assert not is_loaded(alias_only, "from_")  # only the wire name "from" fills from_


def test_looking_at_a_view_converts_nothing() -> None:
    email = converter.structure({"id": "acti_1", "date_created": "not a date"}, Email)
    assert is_loaded(email, "date_created")
    assert loaded_fields(email) == {"id", "date_created"}
    assert not is_loaded(email, "subject")
    assert email.subject is None  # left out by Close: empty, still not loaded
    with pytest.raises(FieldValueError):
        email.date_created  # noqa: B018 - the read is the test
    assert to_dict(email) == {"id": "acti_1", "date_created": "not a date"}  # as sent
    travelled = pickle.loads(pickle.dumps(email))  # the state travels as it is, unread
    assert to_dict(travelled) == to_dict(email)
    with pytest.raises(FieldValueError):
        travelled.date_created  # noqa: B018 - the read is the test


def test_values_given_by_hand_are_kept_as_given() -> None:
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    attachments = (Attachment(url="u"),)
    email = Email(date_created=stamp, attachments=attachments, status="weird")  # type: ignore[arg-type]
    assert email.date_created is stamp
    assert email.attachments is cast("Any", attachments)
    assert email.status == "weird"
    # JSON given by hand is converted on read, as from Close.
    assert Email(date_created=STAMP).date_created == datetime.fromisoformat(STAMP)  # type: ignore[arg-type]


MEETING = {
    "_type": "Meeting",
    "id": "acti_m",
    "date_created": STAMP,
    "_paused_subscriptions": [
        {"id": "sub_1", "sequence_id": "seqn_1", "sequence_name": "S", "sequence_status": "paused"}
    ],
}


@pytest.mark.parametrize("prefetch", [0, 3])
async def test_listing_items_and_pages_keep_the_json_as_sent(prefetch: int) -> None:
    """Items of a listing keep every field; a page handed out keeps its raw JSON as sent.

    A misfit after a renamed key (``_paused_subscriptions``) must not structure the
    earlier items a second time: they keep every field.
    """
    items: list[Any] = [{**MEETING, "id": f"acti_{i}"} for i in range(5)] + ["not an object"]
    stub = StubTransport()
    stub.handler = lambda r: json_response({"data": items, "has_more": False})
    async with CloseAsync(api_key=API_KEY, transport=stub) as close:
        got: list[Activity] = []

        async def consume() -> None:
            async for activity in close.activities.list(lead_id="lead_1", prefetch=prefetch):
                got.append(activity)

        with pytest.raises(ResponseValidationError):
            await consume()
        assert [a.id for a in got] == [f"acti_{i}" for i in range(5)]
        for activity in got:
            assert isinstance(activity, Meeting)
            assert activity.paused_subscriptions[0].sequence_name == "S"
        stub.handler = lambda r: json_response({"data": [MEETING], "has_more": False})
        async for page in close.activities.list(lead_id="lead_1").pages():
            for activity in page:
                assert isinstance(activity, Meeting)
                _read_all(activity)
            assert page.raw == [MEETING]  # as Close sent it: nothing renamed, nothing converted
            assert [a.id for a in page] == ["acti_m"]  # and it can be read again


def test_only_fields_can_be_read_as_attributes() -> None:
    """Keys this version does not model never become attributes (duck typing stays honest)."""
    call = converter.structure(
        {"_type": "Call", "id": "acti_c", "subject": {"not": "a field"}, "__html__": "<b>x</b>"}, Call
    )
    assert getattr(call, "subject", None) is None
    assert not hasattr(call, "__html__")
    assert not hasattr(call, "_type")
    assert call.id == "acti_c"


@attrs.frozen(kw_only=True, eq=False, repr=False, slots=False)
class _Holder(Model):
    attachments: list[Attachment] = UNSET


def test_two_first_reads_end_with_the_same_object() -> None:
    """Another reader converting and storing during a first read: both get the stored object."""
    holder = converter.structure({"attachments": [{"url": "u"}]}, _Holder)
    field = _Holder.__dict__["attachments"]
    original = field.convert
    inner: list[Any] = []

    def racing(value: Any, origin: Any) -> Any:
        if not inner:  # the other reader, in the middle of this one's conversion
            inner.append(None)
            inner[0] = holder.attachments
        return original(value, origin)

    field.convert = racing
    try:
        first = holder.attachments
    finally:
        field.convert = original
    assert first is inner[0]
    assert holder.attachments is first


def test_a_nested_misfit_reports_the_nested_object_as_sent() -> None:
    email = converter.structure({"envelope": {"from": ["not an object"], "subject": "s"}}, Email)
    envelope = email.envelope
    assert envelope is not None
    with pytest.raises(FieldValueError) as caught:
        envelope.from_  # noqa: B018 - the read is the test
    assert (caught.value.model, caught.value.field) == ("EmailEnvelope", "from_")
    assert orjson.loads(caught.value.body) == {"from": ["not an object"], "subject": "s"}
    assert caught.value.__cause__ is None  # the cause's message would hold the value unredacted
    outer = converter.structure({"date_created": "bad", "envelope": {"from": ["x"]}}, Email)
    assert outer.envelope is not None
    with pytest.raises(FieldValueError) as caught:
        outer.date_created  # noqa: B018 - the read is the test
    assert orjson.loads(caught.value.body) == {
        "date_created": "bad",
        "envelope": {"from": ["x"]},
    }


async def test_an_object_fetched_alone_names_its_response_and_holds_no_credentials() -> None:
    """get() keeps where the object came from as plain strings: a misfit field names the
    status, method and URL, and the model holds neither the request nor the API key."""
    stub = StubTransport()
    stub.handler = lambda request: json_response({"id": "acti_1", "date_created": "yesterday"}, status=201)
    async with CloseAsync(api_key=API_KEY, transport=stub, base_url="https://close.test/api/v1") as close:
        email = await close.emails.get("acti_1")
    with pytest.raises(FieldValueError) as caught:
        email.date_created  # noqa: B018 - the read is the test
    error = caught.value
    assert (error.status, error.method, error.url) == (
        201,
        "GET",
        "https://close.test/api/v1/activity/email/acti_1/",
    )
    state = vars(email)
    assert API_KEY not in repr(state)
    assert API_KEY not in str(pickle.dumps(state))  # the origin keeps strings, not the request
    for copied in (copy.copy(state), copy.deepcopy(state), pickle.loads(pickle.dumps(state))):
        assert copied.keys() == state.keys()
        assert repr(copied) == repr(state)
    assert all(isinstance(part, int | str | None) for part in state["__closeasync_origin__"])  # plain values


def test_a_slotted_model_class_is_refused() -> None:
    @attrs.frozen(kw_only=True, eq=False, repr=False)
    class Slotted(Model):
        note: str = UNSET

    with pytest.raises(TypeError, match="slots=False"):
        converter.structure({"note": "x"}, Slotted)


def test_every_sdk_model_has_its_lazy_fields_from_import() -> None:
    """A model built by hand converts JSON it is given whether or not one was structured before.

    Every model class of every module of ``closeasync.models`` has a lazy field for each
    field that converts, right after ``import closeasync.models``, before anything is
    structured: the converter, built by that import, imports every model module first.
    """
    code = """
import enum, importlib, pkgutil, typing
from datetime import date, datetime
import attrs
import closeasync.models as models
from closeasync.models import Event, Model
from closeasync.models._views import LazyField

event = Event(date_created="2026-01-05T08:55:40+00:00")
assert isinstance(event.date_created, datetime), type(event.date_created)

for info in pkgutil.iter_modules(models.__path__):
    importlib.import_module(f"closeasync.models.{info.name}")  # a module the package missed

def converts(tp):
    if isinstance(tp, type):
        return tp in (datetime, date) or issubclass(tp, (enum.Enum, Model))
    return any(converts(arg) for arg in typing.get_args(tp))

pending, classes = list(Model.__subclasses__()), []
while pending:
    cls = pending.pop()
    pending.extend(cls.__subclasses__())
    classes.append((cls, {k for k, v in vars(cls).items() if isinstance(v, LazyField)}))
missing = []
for cls, lazy in classes:
    attrs.resolve_types(cls)
    prefixed = {field for _, field in getattr(cls, "__wire_prefixes__", ())}
    for a in attrs.fields(cls):
        if a.name not in prefixed and converts(a.type) and a.name not in lazy:
            missing.append(f"{cls.__module__}.{cls.__name__}.{a.name}")
assert len(classes) > 30, len(classes)
assert not missing, missing
"""
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
