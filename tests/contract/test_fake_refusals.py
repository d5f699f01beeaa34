"""The fake refuses what Close refuses, in Close's shapes, whatever a raw client sends.

- A wrong kind of value in any field (a list for ``status`` or ``user_id``, an object for
  ``contact_id``, a string for ``opens``...) is a 400 ``{"errors": [], "field-errors": {...}}``
  naming that field, in-process and over HTTP, with nothing stored: never a crash (over
  HTTP that was aiohttp's plain-text 500). Hypothesis sends random JSON in every field of
  every body and checks each answer against Close's documents (the contract checker).
- A body over 32 MiB is a 413 with a JSON body (over HTTP, announced or chunked; in-process too).
- A method a URL does not serve is a 405 with ``Allow`` (PATCH anywhere; PUT or DELETE on a
  list URL; POST on an item URL or a list without a create), not a 404.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import aiohttp
import anyio
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeasync.fake import FakeRequest
from closeasync.fake._http import MAX_BODY_BYTES
from closeasync.fake.app import serve
from closeasync.rules.activity_bodies import (
    CALL_CREATE_FIELDS,
    CALL_UPDATE_FIELDS,
    MEETING_UPDATE_FIELDS,
    NOTE_CREATE_FIELDS,
    NOTE_UPDATE_FIELDS,
)
from closeasync.rules.messages import EMAIL_FIELDS, SMS_FIELDS
from tests.spec_examples import iter_openapi_examples

from .conftest import BOUND, Backend, CheckedFake, assert_faithful, basic, make_fake

FILE = "https://app.close.com/go/file/temporary/user_x/token/a.pdf/"
#: Placeholders the test replaces with its own objects.
LEAD, DRAFT = "<lead>", "<draft>"

WRONG_KINDS = [
    ("email", {"status": ["draft"]}, "status"),
    ("email", {"user_id": ["user_1"]}, "user_id"),
    ("email", {"contact_id": {"id": "cont_1"}}, "contact_id"),
    ("email", {"opens": "x"}, "opens"),
    ("email", {"opens": ["x"]}, "opens"),
    ("email", {"opens": [{"opened_at": 5}]}, "opens"),
    ("email", {"in_reply_to_id": ["acti_1"]}, "in_reply_to_id"),
    ("email", {"lead_id": [LEAD]}, "lead_id"),
    ("email", {"template_id": 5}, "template_id"),
    ("email", {"followup_sequence_add_cc_bcc": "yes"}, "followup_sequence_add_cc_bcc"),
    (
        "email",
        {"attachments": [{"url": FILE, "filename": "a", "size": 1, "content_type": []}]},
        "attachments",
    ),
    ("sms", {"direction": ["inbound"]}, "direction"),
    ("sms", {"attachments": [{"url": FILE, "filename": "a", "content_type": ["image/png"]}]}, "attachments"),
    ("sms", {"user_id": {"x": 1}}, "user_id"),
    ("sms", {"contact_id": 5}, "contact_id"),
    ("sms", {"text": ["hi"]}, "text"),
    ("note", {"user_id": ["user_1"]}, "user_id"),
    ("note", {"attachments": [{"url": FILE, "filename": ["a"]}]}, "attachments"),
    ("call", {"duration": "10"}, "duration"),
    ("call", {"recording_url": ["https://x.test/r.mp3"]}, "recording_url"),
    ("call", {"custom.cf_1": {"a": 1}}, "custom.cf_1"),
]
CREATE_BASE = {"email": {"lead_id": LEAD, "status": "draft"}, "sms": {"status": "draft"}}


def _filled(body: Mapping[str, Any], refs: Mapping[str, str]) -> dict[str, Any]:
    def fill(value: Any) -> Any:
        if isinstance(value, str):
            return refs.get(value, value)
        if isinstance(value, list):
            return [fill(v) for v in value]
        return value

    return {k: fill(v) for k, v in body.items()}


@pytest.mark.parametrize(("route", "body", "field"), WRONG_KINDS, ids=[f"{r}-{f}" for r, _, f in WRONG_KINDS])
async def test_a_wrong_kind_of_value_is_a_400_naming_the_field(
    backend: Backend, lead: dict[str, Any], route: str, body: dict[str, Any], field: str
) -> None:
    refs = {LEAD: lead["id"]}
    stored = len(backend.fake.activities)
    sent = _filled({**CREATE_BASE.get(route, {"lead_id": LEAD}), **body}, refs)
    raw = await backend.raw("POST", f"/activity/{route}/", json=sent)
    assert list(raw.field_errors()) == [field]
    assert raw.body["errors"] == []
    assert len(backend.fake.activities) == stored


UPDATES = [
    ("email", {"to": "ann@example.com"}, "to"),
    ("email", {"status": ["outbox"]}, "status"),
    ("email", {"send_in": "5", "status": "outbox", "sender": "me@example.com"}, "send_in"),
    ("email", {"opens": [{}]}, "opens"),
    ("sms", {"attachments": [{"url": FILE, "filename": "a", "content_type": []}]}, "attachments"),
    ("sms", {"user_id": ["user_1"]}, "user_id"),
    ("note", {"pinned": "yes"}, "pinned"),
    ("call", {"status": ["completed"]}, "status"),
    ("meeting", {"outcome_id": 5}, "outcome_id"),
]
TYPES = {"email": "Email", "sms": "SMS", "note": "Note", "call": "Call", "meeting": "Meeting"}


@pytest.mark.parametrize(("route", "body", "field"), UPDATES, ids=[f"{r}-{f}" for r, _, f in UPDATES])
async def test_an_update_with_a_wrong_kind_of_value_is_a_400_and_changes_nothing(
    backend: Backend, lead: dict[str, Any], route: str, body: dict[str, Any], field: str
) -> None:
    state = {"status": "draft"} if route in ("email", "sms") else {}
    stored = backend.fake.add_activity(TYPES[route], lead_id=lead["id"], **state)
    before = dict(stored)
    raw = await backend.raw("PUT", f"/activity/{route}/{stored['id']}/", json=body)
    assert list(raw.field_errors()) == [field]
    assert backend.fake.activities[stored["id"]] == before


LIST_QUERIES = [
    ("/activity/email/", {"date_created__gt": "junk"}, "date_created__gt"),
    ("/activity/note/", {"lead_id": "lead_1,"}, "lead_id"),
    ("/activity/call/", {"id__in": ""}, "id__in"),
    ("/activity/sms/", {"organization_id": "orga_1,orga_2"}, "organization_id"),
    ("/activity/", {"lead_id": "lead_1", "_order_by": "5"}, "_order_by"),
    ("/activity/", {"lead_id": "lead_1", "user_id__in": "user_1,,user_2"}, "user_id__in"),
]


@pytest.mark.parametrize(("path", "query", "field"), LIST_QUERIES, ids=[f for _, _, f in LIST_QUERIES])
async def test_a_malformed_filter_is_a_400_naming_it(
    backend: Backend, path: str, query: dict[str, str], field: str
) -> None:
    raw = await backend.raw("GET", path, query=query)
    assert list(raw.field_errors()) == [field]


# -- random JSON in every field: never a crash, always a faithful answer ---------------------------------

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
BODIES = {
    ("POST", "email"): sorted(EMAIL_FIELDS),
    ("POST", "sms"): sorted(SMS_FIELDS),
    ("POST", "note"): sorted(NOTE_CREATE_FIELDS),
    ("POST", "call"): sorted(CALL_CREATE_FIELDS | {"custom.cf_1"}),
    ("PUT", "email"): sorted(EMAIL_FIELDS),
    ("PUT", "sms"): sorted(SMS_FIELDS),
    ("PUT", "note"): sorted(NOTE_UPDATE_FIELDS),
    ("PUT", "call"): sorted(CALL_UPDATE_FIELDS | {"custom.cf_1"}),
    ("PUT", "meeting"): sorted(MEETING_UPDATE_FIELDS),
}


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str, dict[str, Any]]:
    method, route = draw(st.sampled_from(sorted(BODIES)))
    names = draw(st.lists(st.sampled_from(BODIES[method, route]), min_size=1, max_size=3, unique=True))
    return method, route, {name: draw(JSON) for name in names}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests())
def test_random_json_in_any_field_gets_a_faithful_answer(request: tuple[str, str, dict[str, Any]]) -> None:
    method, route, fields = request
    fake = make_fake()
    lead = fake.add_lead("Acme")["id"]
    auth = {"authorization": basic(fake.api_key)}
    if method == "POST":
        body = {**_filled(CREATE_BASE.get(route, {"lead_id": LEAD}), {LEAD: lead}), **fields}
        path = f"/activity/{route}/"
    else:
        path = f"/activity/{route}/{_seed(fake, route, lead, auth)}/"
        body = fields
    answer = fake.handle(FakeRequest(method, path, {}, orjson.loads(orjson.dumps(body)), auth)).response
    assert answer.status in (200, 400), answer
    if answer.status == 400:
        assert set(answer.body) == {"errors", "field-errors"}
        assert set(answer.body["field-errors"]) <= set(body) | {"lead_id", "status", "local_phone", "sender"}
    assert_faithful(fake)  # each answer, a stored object included, is what Close documents


def _seed(fake: CheckedFake, route: str, lead: str, auth: Mapping[str, str]) -> str:
    """A whole object to update, as Close makes it (a meeting: Close's own example)."""
    if route == "meeting":
        example = next(
            e.body
            for e in iter_openapi_examples()
            if (e.method, e.path, e.kind) == ("GET", "/activity/meeting/{id}/", "response")
        )
        ours = {"id", "organization_id", "lead_id", "user_id", "user_name", "users", "created_by", "_type"}
        ours |= {"created_by_name", "updated_by", "updated_by_name", "contact_id"}
        fields = {k: v for k, v in example.items() if k not in ours}
        fields["attendees"] = [{**a, "user_id": None, "contact_id": None} for a in fields["attendees"]]
        return str(fake.add_activity("Meeting", lead_id=lead, **fields)["id"])
    body = _filled(CREATE_BASE.get(route, {"lead_id": LEAD}), {LEAD: lead})
    made = fake.handle(FakeRequest("POST", f"/activity/{route}/", {}, body, auth)).response
    assert made.status == 200, made.body
    return str(made.body["id"])


# -- 413 ------------------------------------------------------------------------------------------------


def _padded_note(lead_id: str, size: int) -> bytes:
    """A valid note create of exactly ``size`` bytes (JSON padded with spaces)."""
    body = orjson.dumps({"lead_id": lead_id, "note": "big"})
    return body + b" " * (size - len(body))


def test_a_body_over_32_mib_is_a_413_in_process(fake: CheckedFake, lead: dict[str, Any]) -> None:
    headers = {"authorization": basic(fake.api_key), "content-type": "application/json"}
    for size, status in ((MAX_BODY_BYTES + 1, 413), (MAX_BODY_BYTES, 200)):
        request = FakeRequest.from_wire(
            "POST", "/api/v1/activity/note/", headers, _padded_note(lead["id"], size), root=fake.root
        )
        answer = fake.handle(request).response
        assert answer.status == status, answer.body
    assert answer.status == 200
    assert_faithful(fake)


async def test_a_body_over_32_mib_is_a_413_with_json_over_http(
    fake: CheckedFake, lead: dict[str, Any]
) -> None:
    headers = {"authorization": basic(fake.api_key), "content-type": "application/json"}
    async with serve(fake) as server, aiohttp.ClientSession() as session:
        url = f"{server.base_url}/activity/note/"

        async def post(content: bytes, *, chunked: bool) -> tuple[int, Any]:
            data = _chunks(content) if chunked else io.BytesIO(content)
            async with session.post(
                url, data=data, headers=headers, timeout=aiohttp.ClientTimeout(total=BOUND * 3)
            ) as response:
                assert response.content_type == "application/json"
                return response.status, await response.json()

        too_big = _padded_note(lead["id"], MAX_BODY_BYTES + 1)
        for chunked in (False, True):  # announced by Content-Length, or found out while reading
            status, body = await post(too_big, chunked=chunked)
            assert status == 413
            assert isinstance(body["error"], str)
        status, body = await post(_padded_note(lead["id"], MAX_BODY_BYTES), chunked=False)
        assert status == 200, body
        assert body["note"] == "big"


async def _chunks(content: bytes, size: int = 1 << 20) -> Any:
    for start in range(0, len(content), size):
        await anyio.lowlevel.checkpoint()
        yield content[start : start + size]


# -- 405 ------------------------------------------------------------------------------------------------

NOT_ALLOWED = [
    ("PATCH", "/activity/email/acti_1/", "DELETE, GET, PUT"),
    ("PATCH", "/activity/", "GET"),
    ("PUT", "/activity/email/", "GET, POST"),
    ("DELETE", "/activity/note/", "GET, POST"),
    ("POST", "/activity/call/acti_1/", "DELETE, GET, PUT"),
    ("POST", "/activity/meeting/", "GET"),
    ("PUT", "/activity/emailthread/acti_1/", "DELETE, GET"),
    ("POST", "/event/ev_1/", "GET"),
    ("DELETE", "/webhook/", "GET, POST"),
]


@pytest.mark.parametrize(
    ("method", "path", "allow"), NOT_ALLOWED, ids=[f"{m} {p}" for m, p, _ in NOT_ALLOWED]
)
async def test_a_method_the_url_does_not_serve_is_a_405_with_allow(
    backend: Backend, method: str, path: str, allow: str
) -> None:
    raw = await backend.raw(method, path, json={} if method in ("PATCH", "PUT", "POST") else None)
    assert (raw.status, raw.headers["allow"]) == (405, allow)
    assert isinstance(raw.body["error"], str)


async def test_an_unknown_url_is_still_a_404_and_a_served_method_is_not_refused(backend: Backend) -> None:
    assert (await backend.raw("PATCH", "/nothing/here/")).status == 404
    assert (await backend.raw("GET", "/activity/email/")).status == 200
    assert (await backend.raw("GET", "/activity/email/acti_nope/")).status == 404  # served: no such email
