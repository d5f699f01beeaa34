"""The faithfulness checker is not vacuous: it catches wrong objects and wrong error shapes."""

from __future__ import annotations

from typing import Any

import pytest

from closeasync.fake import FakeClose, FakeRequest, FakeResponse

from .checker import SKIPPED, Exchange, check_exchange
from .conftest import basic


def _email() -> dict[str, Any]:
    """A real Email as the fake answers a create."""
    fake = FakeClose(seed=1)
    lead = fake.add_lead("Acme")
    body = {"lead_id": lead["id"], "status": "draft", "subject": "Hi"}
    request = FakeRequest(
        "POST", "/activity/email/", body=body, headers={"authorization": basic(fake.api_key)}
    )
    outcome = fake.handle(request)
    assert outcome.response.status == 200
    email: dict[str, Any] = outcome.response.body
    return email


def _check(method: str, path: str, status: int, body: Any, query: dict[str, str] | None = None) -> list[str]:
    return check_exchange(Exchange(FakeRequest(method, path, query or {}), FakeResponse(status, body)))


def test_a_faithful_email_passes() -> None:
    assert _check("POST", "/activity/email/", 200, _email()) == []


def test_a_missing_required_field_is_caught_with_request_and_schema_path() -> None:
    email = _email()
    del email["thread_id"]
    (problem,) = _check("POST", "/activity/email/", 200, email)
    assert "'thread_id' is a required property" in problem
    assert "close-activities-emails-api-openapi.yml#/components/schemas/EmailActivity" in problem
    assert "required" in problem.rsplit("at ", 1)[1]
    exchange = Exchange(FakeRequest("POST", "/activity/email/"), FakeResponse(200, email))
    assert exchange.describe() == "POST /activity/email/ -> 200"


def test_a_wrong_type_is_caught_by_schema_and_strict_converter() -> None:
    email = _email()
    email["has_reply"] = "no"
    problems = _check("GET", f"/activity/email/{email['id']}/", 200, email)
    assert any("strict converter" in p and "has_reply" in p for p in problems)
    assert any("'no' is not of type 'boolean'" in p and "has_reply" in p for p in problems)


def test_an_unknown_key_is_caught_by_the_strict_converter_only() -> None:
    email = _email()
    email["surprise"] = 1
    (problem,) = _check("GET", f"/activity/email/{email['id']}/", 200, email)
    assert "strict converter" in problem
    assert "unexpected key 'surprise'" in problem


def test_a_bad_datetime_is_caught() -> None:
    email = _email()
    email["date_updated"] = "yesterday"
    problems = _check("GET", f"/activity/email/{email['id']}/", 200, email)
    assert any("date_updated" in p and "date-time" in p for p in problems)


def test_list_items_are_checked_one_by_one() -> None:
    good, bad = _email(), _email()
    del bad["status"]
    problems = _check("GET", "/activity/email/", 200, {"data": [good, bad], "has_more": False})
    assert problems
    assert all(p.startswith("data[1]") for p in problems)
    assert _check("GET", "/activity/email/", 200, {"data": [good]}) != []


def test_projections_need_no_required_fields_but_keep_their_types() -> None:
    query = {"_fields": "id,subject"}
    assert (
        _check("GET", "/activity/email/", 200, {"data": [{"id": "acti_1"}], "has_more": False}, query) == []
    )
    problems = _check("GET", "/activity/email/", 200, {"data": [{"id": 5}], "has_more": False}, query)
    assert any("5 is not of type 'string'" in p for p in problems)


def test_all_activities_items_use_the_schema_of_their_type() -> None:
    sms = {"_type": "SMS", "id": "acti_1", "status": "sent"}
    problems = _check("GET", "/activity/", 200, {"data": [_email(), sms], "has_more": False})
    assert problems
    assert all("close-activities-sms-api-openapi.yml#/components/schemas/SMSActivity" in p for p in problems)
    assert any("'activity_at' is a required property" in p for p in problems)


def test_error_bodies_must_have_close_shapes() -> None:
    assert _check("GET", "/activity/email/", 400, {"errors": [], "field-errors": {"_limit": "x"}}) == []
    assert _check("GET", "/activity/email/", 400, {"error": "bad"}) != []
    assert _check("GET", "/activity/email/x/", 404, {"error": "Email not found"}) == []
    assert _check("GET", "/activity/email/x/", 404, {"errors": ["nope"]}) != []
    assert _check("GET", "/activity/email/", 401, {"detail": "no"}) != []
    assert _check("DELETE", "/activity/email/x/", 200, {"deleted": True}) != []


@pytest.mark.parametrize("template", ["/activity/custom/", "/activity/created/"])
def test_routes_without_a_stored_schema_are_skipped_with_a_note(template: str) -> None:
    assert _check("GET", template, 200, {"data": [], "has_more": False}) == []
    assert f"schema: GET {template} (no stored OpenAPI file for this route)" in SKIPPED
