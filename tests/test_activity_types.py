"""``types=`` of ``close.activities.list``/``sync``: what is sent as ``_type__in``, and what is refused.

Close's ``_type``/``_type__in`` filter takes a type's name (``Email``, ``SMS``),
``Custom`` for every custom activity, or a custom activity type id (``actitype_...``)
for one custom type; ``CustomActivity`` (the ``_type`` custom activities carry, and
our model's name) is not among them. The SDK refuses what Close would not know
before sending, and the fake answers a raw request for it with a 400, as Close would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from closeasync import CloseAsync, InvalidRequestError
from closeasync.fake.demo import load_demo
from closeasync.models import (
    ACTIVITY_TYPES,
    SMS,
    ActivityBase,
    Call,
    CustomActivity,
    Email,
    UnknownActivity,
)
from tests.conftest import StubTransport, json_response
from tests.contract.conftest import BACKENDS, Backend, CheckedFake, assert_faithful, make_fake, open_backend

TYPE_ID = "actitype_1h5m6uHM9BZOpwVhyRJb4Y"  # the id in Close's docs
EMPTY_PAGE = {"data": [], "has_more": False}

Build = Callable[[CloseAsync, Any], Any]
LIST: Build = lambda c, types: c.activities.list(lead_id="lead_1", types=types)  # noqa: E731
SYNC: Build = lambda c, types: c.activities.sync(lead_id="lead_1", types=types)  # noqa: E731
WALKS = [pytest.param(LIST, id="list"), pytest.param(SYNC, id="sync")]


def _query(stub: StubTransport) -> dict[str, str]:
    assert len(stub.requests) == 1
    return dict(parse_qsl(urlsplit(stub.last.url).query, keep_blank_values=True))


async def _first_page(stub: StubTransport, walk: Any) -> None:
    stub.queue(json_response(EMPTY_PAGE))
    assert stub.requests == []  # lazy: nothing until iterated
    async for _ in walk:
        pass


# -- what is sent ----------------------------------------------------------------------------


ACCEPTED = [
    pytest.param([CustomActivity], "Custom", id="CustomActivity-class"),
    pytest.param(["Custom"], "Custom", id="Custom-string"),
    pytest.param([TYPE_ID], TYPE_ID, id="custom-type-id"),
    pytest.param([Email], "Email", id="Email-class"),
    pytest.param(["Email", "SMS"], "Email,SMS", id="close-names"),
    pytest.param([Email, "SMS", Call, "Custom", TYPE_ID], f"Email,SMS,Call,Custom,{TYPE_ID}", id="mixed"),
    pytest.param((SMS, CustomActivity), "SMS,Custom", id="tuple"),
    pytest.param([CustomActivity, "Custom", Email, "Email"], "Custom,Email", id="repeats-sent-once"),
    pytest.param(["EmailThread"], "EmailThread", id="EmailThread"),
    pytest.param("Email", "Email", id="bare-string-is-one-type"),
    pytest.param("Custom", "Custom", id="bare-string-Custom"),
    pytest.param(CustomActivity, "Custom", id="bare-class"),
]


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize(("types", "sent"), ACCEPTED)
async def test_types_are_sent_as_close_names(
    close: CloseAsync, stub: StubTransport, walk: Build, types: Any, sent: str
) -> None:
    await _first_page(stub, walk(close, types))
    query = _query(stub)
    assert stub.last.url.split("?")[0] == "https://close.test/api/v1/activity/"
    assert (query["lead_id"], query["_type__in"]) == ("lead_1", sent)


@pytest.mark.parametrize("model", list(ACTIVITY_TYPES.values()), ids=list(ACTIVITY_TYPES))
async def test_every_model_class_sends_the_name_close_filters_by(
    close: CloseAsync, stub: StubTransport, model: type[ActivityBase]
) -> None:
    await _first_page(stub, close.activities.list(lead_id="lead_1", types=[model]))
    expected = "Custom" if model is CustomActivity else model.TYPE
    assert _query(stub)["_type__in"] == expected


async def test_the_exact_query_of_a_custom_listing(close: CloseAsync, stub: StubTransport) -> None:
    await _first_page(stub, close.activities.list(lead_id="lead_1", types=[CustomActivity, TYPE_ID]))
    assert (
        stub.last.url
        == f"https://close.test/api/v1/activity/?lead_id=lead_1&_type__in=Custom,{TYPE_ID}&_limit=100"
    )


# -- what is refused before sending ----------------------------------------------------------------

REFUSED = [
    pytest.param(["CustomActivity"], id="CustomActivity-string"),
    pytest.param(["Email", "CustomActivity"], id="CustomActivity-among-others"),
    pytest.param(["Bogus"], id="unknown-name"),
    pytest.param(["email"], id="wrong-case"),
    pytest.param(["Custom Activity"], id="spaced"),
    pytest.param(["Email,SMS"], id="comma-joined"),
    pytest.param([""], id="empty-name"),
    pytest.param(["actitype_"], id="type-id-without-body"),
    pytest.param(["actitype_abc,Email"], id="type-id-with-comma"),
    pytest.param(["acti_ICUkwteuKAaJvhNqF1QBoVOWKQuSbFuOYoZxGeWQAeg"], id="activity-id"),
    pytest.param("CustomActivity", id="bare-string-CustomActivity"),
    pytest.param("Email,SMS", id="bare-string-comma-joined"),
    pytest.param([], id="empty-list"),
    pytest.param([None], id="None-item"),
    pytest.param([Email, None], id="None-after-class"),
    pytest.param([1], id="int-item"),
    pytest.param([int], id="non-model-class"),
    pytest.param([ActivityBase], id="base-class"),
    pytest.param([UnknownActivity], id="UnknownActivity-class"),
    pytest.param([Email()], id="model-instance"),
    pytest.param(3, id="not-iterable"),
]


@pytest.mark.parametrize("walk", WALKS)
@pytest.mark.parametrize("types", REFUSED)
async def test_refused_before_anything_is_sent(
    close: CloseAsync, stub: StubTransport, walk: Build, types: Any
) -> None:
    with pytest.raises(InvalidRequestError) as refused:
        walk(close, types)  # list() and sync() are plain defs: the refusal comes at the call
    assert list(refused.value.field_errors) == ["types"], refused.value.field_errors
    assert stub.requests == []


def _refusal(close: CloseAsync, types: Any, **filters: Any) -> str:
    with pytest.raises(InvalidRequestError) as refused:
        close.activities.list(types=types, **filters)
    assert list(refused.value.field_errors) == ["types"]
    return refused.value.field_errors["types"]


async def test_refusals_say_what_to_use(close: CloseAsync, stub: StubTransport) -> None:
    custom = _refusal(close, ["CustomActivity"], lead_id="lead_1")
    assert "'Custom'" in custom
    assert "CustomActivity class" in custom
    assert "actitype_" in custom
    assert "one activity type per item" in _refusal(close, "Email,SMS", lead_id="lead_1")  # never split
    assert "item 0 (None)" in _refusal(close, [None], lead_id="lead_1")
    assert "item 1 (int)" in _refusal(close, [Email, int], lead_id="lead_1")
    assert "did you mean 'SMS'?" in _refusal(close, ["sms"], lead_id="lead_1")
    assert "did you mean 'Email'?" in _refusal(close, ["Emails"], lead_id="lead_1")
    unknown = _refusal(close, ["Bogus"], lead_id="lead_1")
    assert "'Bogus' is not an activity type Close knows" in unknown
    assert "Custom, Email" in unknown  # the names Close knows are listed
    assert "one activity type per item" in _refusal(close, ["Email,SMS"], lead_id="lead_1")
    # A bad item and a missing single lead: both are said, the item first.
    both = _refusal(close, ["CustomActivity"])
    assert both.startswith("'CustomActivity' is the model's name")
    assert both.endswith("can only be used together with a single lead_id")
    assert stub.requests == []


# -- against the fake -------------------------------------------------------------------------------


def _org(fake: CheckedFake) -> dict[str, Any]:
    """The demo organization, with a second custom activity type on the lead that has a custom activity.

    Returns the lead's id, its custom activities by type id, and its other activities.
    """
    load_demo(fake, leads=4)
    template = next(a for a in fake.activities.values() if a["_type"] == "CustomActivity")
    lead_id = template["lead_id"]
    second_type = fake.state.ids.new("actitype")
    copied = {
        k: v
        for k, v in template.items()
        if k not in ("_type", "id", "lead_id", "custom_activity_type_id") and not k.startswith("custom.")
    }
    copied.update(status="draft", last_published_at=None)  # a draft may leave its fields empty
    fake.add_activity("CustomActivity", lead_id=lead_id, custom_activity_type_id=second_type, **copied)
    customs: dict[str, set[str]] = {}
    others: set[str] = set()
    for activity in fake.activities.values():
        if activity["lead_id"] != lead_id:
            continue
        if activity["_type"] == "CustomActivity":
            customs.setdefault(activity["custom_activity_type_id"], set()).add(activity["id"])
        else:
            others.add(activity["id"])
    assert len(customs) >= 2
    assert others
    assert any(a["_type"] == "CustomActivity" and a["lead_id"] != lead_id for a in fake.activities.values())
    return {"lead_id": lead_id, "customs": customs, "others": others, "second_type": second_type}


@pytest.fixture(params=BACKENDS)
async def backend(request: pytest.FixtureRequest) -> AsyncIterator[Backend]:
    """The fake in-process or served over HTTP; its answers are checked at teardown."""
    fake = make_fake()
    async with open_backend(request.param, fake) as reached:
        yield reached
    assert_faithful(fake)


async def test_custom_lists_exactly_the_custom_activities(backend: Backend) -> None:
    org = _org(backend.fake)
    every_custom = set().union(*org["customs"].values())
    async with backend.client() as close:
        choices: list[list[str | type[ActivityBase]]] = [
            [CustomActivity],
            ["Custom"],
            [CustomActivity, "Custom"],
        ]
        for types in choices:
            found = await close.activities.list(lead_id=org["lead_id"], types=types).collect()
            assert {a.id for a in found} == every_custom
            assert all(isinstance(a, CustomActivity) for a in found)
            synced = [a async for a in close.activities.sync(lead_id=org["lead_id"], types=types)]
            assert {a.id for a in synced} == every_custom
        mixed = await close.activities.list(lead_id=org["lead_id"], types=[CustomActivity, Email]).collect()
        emails = {k for k in org["others"] if backend.fake.activities[k]["_type"] == "Email"}
        assert {a.id for a in mixed} == every_custom | emails


async def test_a_custom_activity_type_id_lists_only_that_type(backend: Backend) -> None:
    org = _org(backend.fake)
    async with backend.client() as close:
        for type_id, ids in org["customs"].items():
            found = await close.activities.list(lead_id=org["lead_id"], types=[type_id]).collect()
            assert {a.id for a in found} == ids
            assert all(isinstance(a, CustomActivity) and a.custom_activity_type_id == type_id for a in found)
        unused = backend.fake.state.ids.new("actitype")
        assert await close.activities.list(lead_id=org["lead_id"], types=[unused]).collect() == []


async def test_refused_forms_never_reach_the_fake(backend: Backend) -> None:
    org = _org(backend.fake)
    seen = len(backend.fake.checker.exchanges)
    async with backend.client() as close:
        refused: list[Any] = [["CustomActivity"], ["Bogus"], "Email,SMS", [None]]
        for types in refused:
            with pytest.raises(InvalidRequestError):
                close.activities.list(lead_id=org["lead_id"], types=types)
            with pytest.raises(InvalidRequestError):
                close.activities.sync(lead_id=org["lead_id"], types=types)
    assert len(backend.fake.checker.exchanges) == seen


RAW_REFUSED = [
    pytest.param({"_type__in": "CustomActivity"}, "_type__in", id="_type__in-CustomActivity"),
    pytest.param({"_type": "CustomActivity"}, "_type", id="_type-CustomActivity"),
    pytest.param({"_type__in": "Email,CustomActivity"}, "_type__in", id="among-others"),
    pytest.param({"_type__in": "Bogus"}, "_type__in", id="unknown-name"),
    pytest.param({"_type__in": "actitype_"}, "_type__in", id="type-id-without-body"),
    pytest.param({"_type__in": ""}, "_type__in", id="empty"),
]


@pytest.mark.parametrize(("query", "field"), RAW_REFUSED)
async def test_the_raw_fake_answers_400_to_names_close_does_not_know(
    backend: Backend, query: dict[str, str], field: str
) -> None:
    org = _org(backend.fake)
    raw = await backend.raw("GET", "/activity/", query={"lead_id": org["lead_id"], **query})
    problems = raw.field_errors()  # asserts Close's 400 shape: {"errors": [...], "field-errors": {...}}
    assert list(problems) == [field]
    if "CustomActivity" in query.get(field, ""):
        assert "'Custom'" in problems[field]
        assert "actitype_" in problems[field]


async def test_the_raw_fake_lists_custom_and_type_ids(backend: Backend) -> None:
    org = _org(backend.fake)
    every_custom = set().union(*org["customs"].values())

    async def ids(**query: str) -> set[str]:
        raw = await backend.raw("GET", "/activity/", query={"lead_id": org["lead_id"], **query})
        assert raw.status == 200, raw.body
        return {a["id"] for a in raw.body["data"]}

    assert await ids(_type__in="Custom") == every_custom
    assert await ids(_type="Custom") == every_custom
    second = org["second_type"]
    assert await ids(_type__in=second) == org["customs"][second]
    first = next(t for t in org["customs"] if t != second)
    assert await ids(_type__in=f"{first},{second}") == every_custom
    # _type and _type__in both given: each must match.
    assert await ids(_type="Custom", _type__in=second) == org["customs"][second]
    # Without a single lead the value is still checked, and the single-lead rule is reported.
    raw = await backend.raw("GET", "/activity/", query={"_type__in": "Custom"})
    assert list(raw.field_errors()) == ["_type__in"]
