"""Model behaviour: partial objects, absent vs null, enums, timestamps, the converters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from closeasync import CloseAsync, FieldValueError
from closeasync.models import (
    ACTIVITY_TYPES,
    SMS,
    Attachment,
    Email,
    EmailEnvelope,
    EmailIdentity,
    FieldNotLoaded,
    MessageStatus,
    PhoneDirection,
    evolve,
    is_loaded,
    loaded_fields,
)
from closeasync.models._converter import StructureError, converter, strict_converter
from closeasync.models.registry import ACTIVITY_BY_RESOURCE
from closeasync.pipeline.routes import ROUTES
from tests.conftest import ACTIVITY_UNION, StubTransport, json_response


def test_absent_field_reads_empty_and_stays_absent() -> None:
    """A field Close left out reads as its empty value, yet is not loaded and not written back."""
    email = converter.structure({"id": "acti_1", "subject": None}, Email)
    assert email.subject is None
    assert email.body_text is None
    assert email.to == []  # a list field's empty value
    assert email.to is not email.to  # a new list each time: nobody shares a default
    assert hasattr(email, "body_text")
    assert loaded_fields(email) == {"id", "subject"}
    assert is_loaded(email, "subject")
    assert not is_loaded(email, "sender")
    assert converter.unstructure(email) == {"id": "acti_1", "subject": None}


async def test_a_field_left_out_by_fields_raises_field_not_loaded(
    stub: StubTransport, close: CloseAsync
) -> None:
    """On an object fetched with fields=[...], a field not asked for raises, saying so."""
    stub.handler = lambda request: json_response({"id": "acti_1", "subject": "Hi"})
    email = await close.emails.get("acti_1", fields=["id", "subject"])
    assert email.subject == "Hi"
    with pytest.raises(FieldNotLoaded, match=r"Email\.body_text was not loaded") as info:
        _ = email.body_text
    assert isinstance(info.value, AttributeError)
    assert (info.value.model, info.value.field) == ("Email", "body_text")
    assert info.value.requested == ("id", "subject")
    assert "fields=['id', 'subject']" in str(info.value)
    assert not hasattr(email, "body_text")
    assert getattr(email, "body_text", "default") == "default"
    # A field that was asked for and that Close left out is simply empty.
    stub.handler = lambda request: json_response({"id": "acti_1"})
    email = await close.emails.get("acti_1", fields=["id", "subject"])
    assert email.subject is None


def test_misspelt_attribute_is_a_plain_attribute_error() -> None:
    """Only real fields get the FieldNotLoaded message."""
    with pytest.raises(AttributeError) as info:
        _ = Email(id="x").subjekt  # type: ignore[attr-defined]  # misspelt on purpose
    assert not isinstance(info.value, FieldNotLoaded)


def test_partial_model_unstructures_to_only_its_fields() -> None:
    """Absent fields are left out of the JSON, so a partial object round-trips exactly."""
    data = {"_type": "Email", "id": "acti_1", "subject": "Hi", "cc": []}
    assert converter.unstructure(converter.structure(data, Email)) == data


def test_built_models_leave_unpassed_fields_absent() -> None:
    """Constructing a model with a few fields keeps the others absent."""
    email = Email(id="acti_1", status=MessageStatus.DRAFT)
    assert loaded_fields(email) == {"id", "status"}
    assert converter.unstructure(email) == {"_type": "Email", "id": "acti_1", "status": "draft"}


def test_equality_and_repr_respect_absent_fields() -> None:
    """Equal when the same fields hold equal values; repr shows only loaded fields."""
    assert Email(id="a", subject=None) == Email(id="a", subject=None)
    assert Email(id="a", subject=None) == Email(id="a")  # an absent field reads None
    assert Email(id="a", subject="Hi") != Email(id="a")
    assert Email(id="a") != SMS(id="a")
    assert repr(Email(id="a", subject="Hi")) == "Email(id='a', subject='Hi')"
    with pytest.raises(TypeError):
        hash(Email(id="a"))


def test_models_are_frozen() -> None:
    """Models cannot be changed in place."""
    email = Email(id="a")
    with pytest.raises(AttributeError):
        email.id = "b"  # type: ignore[misc]  # writing a frozen field on purpose


def test_enums_accept_plain_strings_and_unknown_values() -> None:
    """Known values become enum members equal to their strings; unknown ones stay strings."""
    sms = converter.structure({"status": "sent", "direction": "sideways"}, SMS)
    assert sms.status == "sent"
    assert sms.status is MessageStatus.SENT
    assert sms.direction == "sideways"
    assert not isinstance(sms.direction, PhoneDirection)
    with pytest.raises(StructureError, match="sideways"):
        strict_converter.structure({"direction": "sideways"}, SMS)


def test_timestamps_parse_with_utc_for_naive_ones() -> None:
    """Close's offset timestamps and the docs' naive ones both parse, as UTC-aware datetimes."""
    email = converter.structure(
        {"date_created": "2015-06-26T02:01:43.059265", "date_updated": "2013-02-08T05:03:16.281000+00:00"},
        Email,
    )
    assert email.date_created == datetime(2015, 6, 26, 2, 1, 43, 59265, tzinfo=UTC)
    assert email.date_updated.tzinfo is not None
    # Written back as Close sent it, read or not; a changed one in ISO 8601 with its offset.
    assert converter.unstructure(email)["date_created"] == "2015-06-26T02:01:43.059265"
    later = evolve(email, date_created=datetime(2016, 1, 1, tzinfo=UTC))
    assert converter.unstructure(later)["date_created"] == "2016-01-01T00:00:00.000000+00:00"
    assert converter.unstructure(later)["date_updated"] == "2013-02-08T05:03:16.281000+00:00"


def test_bad_values_raise_errors_naming_the_field() -> None:
    """A malformed timestamp names the model and field when read; a non-object fails at once."""
    email = converter.structure({"id": "acti_1", "date_created": "yesterday"}, Email)
    assert email.id == "acti_1"
    with pytest.raises(FieldValueError, match=r"Email\.date_created") as caught:
        email.date_created  # noqa: B018 - the read is the test
    assert (caught.value.model, caught.value.field) == ("Email", "date_created")
    with pytest.raises(StructureError, match=r"Email\.date_created"):
        strict_converter.structure({"date_created": "yesterday"}, Email)
    with pytest.raises(StructureError, match="expected a JSON object"):
        converter.structure(["not", "an", "object"], Email)


def test_strict_converter_refuses_what_production_ignores() -> None:
    """Unknown keys, wrong types and forbidden nulls fail only under the strict converter."""
    data = {"id": "acti_1", "brand_new_field": 1}
    assert converter.structure(data, Email).id == "acti_1"
    with pytest.raises(StructureError, match="brand_new_field"):
        strict_converter.structure(data, Email)
    with pytest.raises(StructureError, match="null"):
        strict_converter.structure({"id": None}, Email)
    with pytest.raises(StructureError, match="a string"):
        strict_converter.structure({"subject": 5}, Email)


def test_nested_models_and_wire_names() -> None:
    """Envelope 'from' maps to from_ and back; attachments become models."""
    data = {
        "envelope": {"from": [{"email": "a@example.com", "name": "A"}], "to": []},
        "attachments": [{"url": "https://app.close.com/go/file/x/", "filename": "x.png", "size": 3}],
    }
    email = strict_converter.structure(data, Email)
    assert email.envelope is not None
    assert email.envelope.from_ == [EmailIdentity(email="a@example.com", name="A")]
    assert isinstance(email.envelope, EmailEnvelope)
    assert email.attachments == [Attachment(url="https://app.close.com/go/file/x/", filename="x.png", size=3)]
    assert strict_converter.unstructure(email) == data  # exactly as sent (it had no _type)
    rebuilt = Email(envelope=email.envelope, attachments=email.attachments)  # by hand: its own _type
    assert strict_converter.unstructure(rebuilt) == {"_type": "Email", **data}


def test_activity_union_dispatches_on_type() -> None:
    """The union picks the class from _type, for every modelled type."""
    for name, cls in ACTIVITY_TYPES.items():
        model = converter.structure({"_type": name, "id": "acti_1"}, ACTIVITY_UNION)
        assert type(model) is cls
        assert converter.unstructure(model) == {"_type": name, "id": "acti_1"}


def test_every_activity_route_has_a_model() -> None:
    """The route table and the model registry describe the same activity types."""
    activity_resources = {
        name for name, routes in ROUTES.items() if routes["list"].template.startswith("/activity/")
    }
    assert activity_resources - {"activity"} == set(ACTIVITY_BY_RESOURCE)
    assert set(ACTIVITY_BY_RESOURCE.values()) == set(ACTIVITY_TYPES.values())
