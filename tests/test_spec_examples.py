"""Every JSON example we hold structures into our models and unstructures back unchanged.

The examples come from the third-party OpenAPI files, Close's documentation pages
and the extra OpenAPI examples (see ``tests/data/SOURCE.md``). Response bodies go
through the strict converter, which refuses unknown keys, unknown enum values and
nulls the models do not allow, so any drift between the models and what Close
documents fails here. Request bodies structure into the model of their endpoint
the same way, and the Email and SMS ones pass the SDK's own input rules and are
sent byte-for-byte by the public create/update methods.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from closeasync import CloseAsync
from closeasync.models import (
    ACTIVITY_TYPES,
    Call,
    CallStatus,
    CustomActivity,
    Event,
    MeetingIntegration,
    Model,
    UnknownActivity,
)
from closeasync.models._converter import StructureError, converter, parse_datetime, strict_converter
from closeasync.models.registry import ACTIVITY_BY_RESOURCE
from closeasync.pipeline.routes import ROUTES
from closeasync.pipeline.routes import match as match_route
from closeasync.rules.messages import (
    email_create_errors,
    email_update_errors,
    sms_create_errors,
    sms_update_errors,
)
from tests.conftest import ACTIVITY_UNION, StubTransport
from tests.spec_examples import (
    SpecExample,
    iter_docs_examples,
    iter_extra_examples,
    iter_openapi_examples,
)

EXAMPLES: list[SpecExample] = [
    *iter_openapi_examples(),
    *iter_docs_examples(),
    *iter_extra_examples(),
]

# Responses whose objects carry no ``_type``: the model is chosen by endpoint.
_CLASS_BY_PATH: dict[str, type[Model]] = {
    "/event/": Event,
    "/event/{id}/": Event,
    "/activity/meeting/{id}/integration/": MeetingIntegration,
}

# The keys of Close's list envelopes: offset pagination, and the event log's cursors.
_ENVELOPES = ({"data", "has_more"}, {"data", "cursor_next", "cursor_previous"})


def _params(kind: str) -> list[Any]:
    return [pytest.param(e, id=e.source) for e in EXAMPLES if e.kind == kind]


# Close's documentation shows some timestamps without an offset
# ("2015-06-26T02:01:43.059265"), and some without microseconds
# ("2013-02-01T00:51:33+00:00"). The models read naive timestamps as UTC and always
# write microseconds and the offset, so the same instant comes back spelled
# differently. Comparing the normalised spelling (naive read as UTC, then written
# the one way the models write it) accepts exactly that and nothing else: a
# different instant or a different offset still fails.
_ISO_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T")


def _normalise(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normalise(item) for item in value]
    if isinstance(value, str) and _ISO_TIMESTAMP.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return value
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.isoformat(timespec="microseconds")
    return value


def _structure(item: Any, example: SpecExample) -> Model:
    if isinstance(item, dict) and "_type" in item:
        model: Model = strict_converter.structure(item, ACTIVITY_UNION)
        return model
    cls = _CLASS_BY_PATH.get(example.path)
    if cls is None:
        pytest.fail(f"no model is known for an object without _type from {example.path}")
    return strict_converter.structure(item, cls)


@pytest.mark.parametrize("example", _params("response"))
def test_response_example_round_trips(example: SpecExample) -> None:
    body = example.body
    if example.is_list:
        assert set(body) in _ENVELOPES, f"unexpected list envelope {sorted(body)}"
        models = [_structure(item, example) for item in body["data"]]
        result: Any = {**body, "data": [strict_converter.unstructure(m) for m in models]}
    else:
        models = [_structure(body, example)]
        result = strict_converter.unstructure(models[0])

    unknown = [m for m in models if isinstance(m, UnknownActivity)]
    assert not unknown, f"_type not modelled: {[m.type for m in unknown]}"
    assert _normalise(result) == _normalise(body)


def _type_tags(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        if isinstance(value.get("_type"), str):
            yield value["_type"]
        for item in value.values():
            yield from _type_tags(item)
    elif isinstance(value, list):
        for item in value:
            yield from _type_tags(item)


def test_every_type_in_the_examples_is_modelled() -> None:
    """Also the nested ones: thread emails, the object inside an event's ``data``."""
    tags = {tag for e in EXAMPLES if e.kind == "response" for tag in _type_tags(e.body)}
    assert tags, "no _type found in the examples"
    assert sorted(tags - set(ACTIVITY_TYPES)) == []


def test_example_ids_are_unique() -> None:
    sources = [e.source for e in EXAMPLES]
    assert len(sources) == len(set(sources))


def _extra_body(file_name: str) -> Any:
    (example,) = (e for e in iter_extra_examples() if e.source.split()[0].endswith(file_name))
    return example.body


def test_custom_activity_fields_are_gathered_in_custom() -> None:
    body = _extra_body("custom_activity_create_response.json")
    activity = strict_converter.structure(body, ACTIVITY_UNION)

    assert isinstance(activity, CustomActivity)
    assert activity.custom == {
        "cf_UpyNBvr6Rw8UBHh7zRboL3PYhbOVJl3XvwgPm3jg64S": "thedarknight@close.com",
        "cf_cSh3fWT3rEJ1BFSezme2YAG6bPrZV5wUWKKrW4iN19g": "Yes",
    }
    assert strict_converter.unstructure(activity) == body


def test_custom_activity_without_custom_fields_has_an_empty_custom() -> None:
    items = _extra_body("custom_activity_list_response.json")["data"]
    bare = next(item for item in items if not any(k.startswith("custom.") for k in item))
    activity = strict_converter.structure(bare, CustomActivity)

    assert activity.custom == {}
    assert strict_converter.unstructure(activity) == bare


def test_custom_activity_built_by_hand_sends_flat_custom_keys() -> None:
    activity = CustomActivity(id="acti_1", custom={"cf_1": "Yes", "cf_2": None})

    assert converter.unstructure(activity) == {
        "_type": "CustomActivity",
        "id": "acti_1",
        "custom.cf_1": "Yes",
        "custom.cf_2": None,
    }


def test_literal_custom_key_is_not_a_custom_field() -> None:
    # Only the flat "custom.<id>" keys fill ``custom``; a key named "custom" is unknown.
    data = {"_type": "CustomActivity", "custom": {"cf_1": "Yes"}}

    with pytest.raises(StructureError, match="unexpected key 'custom'"):
        strict_converter.structure(data, CustomActivity)
    assert converter.structure(data, CustomActivity).custom == {}


def test_unknown_type_is_kept_raw_in_production() -> None:
    data = {"_type": "Hologram", "id": "acti_1", "lead_id": "lead_1", "beam": {"w": 3}}

    activity = converter.structure(data, ACTIVITY_UNION)

    assert isinstance(activity, UnknownActivity)
    assert (activity.type, activity.id, activity.lead_id) == ("Hologram", "acti_1", "lead_1")
    assert activity.raw == data
    assert converter.unstructure(activity) == data
    with pytest.raises(StructureError, match="unknown _type 'Hologram'"):
        strict_converter.structure(data, ACTIVITY_UNION)


def test_unknown_enum_value_stays_a_string_in_production() -> None:
    data = {"_type": "Call", "id": "acti_1", "status": "ringing", "direction": "outbound"}

    call = converter.structure(data, ACTIVITY_UNION)

    assert isinstance(call, Call)
    assert call.status == "ringing"
    assert type(call.status) is str
    assert call.direction == "outbound"
    assert type(call.direction) is not str  # a known value becomes the enum member
    assert converter.unstructure(call) == data
    with pytest.raises(StructureError, match="status"):
        strict_converter.structure(data, ACTIVITY_UNION)


def test_known_enum_value_becomes_the_member() -> None:
    call = strict_converter.structure({"_type": "Call", "status": "no-answer"}, Call)

    assert call.status is CallStatus.NO_ANSWER


def _model_for_path(path: str) -> type[Model]:
    if path in _CLASS_BY_PATH:
        return _CLASS_BY_PATH[path]
    found = match_route("GET", path)
    assert found is not None, f"no route serves {path}"
    resource = next(name for name, routes in ROUTES.items() if found[0] in routes.values())
    return ACTIVITY_BY_RESOURCE[resource]


@pytest.mark.parametrize("example", _params("request"))
def test_request_example_fits_its_model(example: SpecExample) -> None:
    """A documented request body uses only fields (and types) of the endpoint's model."""
    body = example.body
    model = strict_converter.structure(body, _model_for_path(example.path))
    result = strict_converter.unstructure(model)
    result.pop("_type", None)
    assert _normalise(result) == _normalise(body)


_SENDERS: dict[tuple[str, str], tuple[Any, Any]] = {
    ("POST", "/activity/email/"): (email_create_errors, lambda c, b: c.emails.create(**b)),
    ("PUT", "/activity/email/{id}/"): (email_update_errors, lambda c, b: c.emails.update("acti_1", **b)),
    ("POST", "/activity/sms/"): (sms_create_errors, lambda c, b: c.sms.create(**b)),
    ("PUT", "/activity/sms/{id}/"): (sms_update_errors, lambda c, b: c.sms.update("acti_1", **b)),
}


@pytest.mark.parametrize(
    "example", [p for p in _params("request") if (p.values[0].method, p.values[0].path) in _SENDERS]
)
async def test_documented_message_bodies_pass_our_rules_and_are_sent_as_is(example: SpecExample) -> None:
    """Close's own example bodies are valid for the SDK, and the SDK sends exactly them."""
    rule, send = _SENDERS[(example.method, example.path)]
    body = example.body
    assert rule(body) == {}
    kwargs = {
        key: parse_datetime(value) if key in _DATETIME_FIELDS and isinstance(value, str) else value
        for key, value in body.items()
    }
    stub = StubTransport()  # answers with a minimal object of the route's type
    async with CloseAsync(api_key="api_example", transport=stub) as close:
        await send(close, kwargs)
    (request,) = stub.requests
    assert _normalise(request.json()) == _normalise(body)


_DATETIME_FIELDS = {"activity_at", "date_created", "date_scheduled", "followup_date"}
