"""Every parameter of every create, update and list method, given wrong values (hypothesis).

For each parameter of ``close.emails``, ``.sms``, ``.notes``, ``.calls``, ``.meetings``
(``create``/``update``/``list``), ``close.activities.list`` and ``close.events.list``,
wrong-typed and malformed values (lone surrogates, Python objects, out-of-range numbers,
junk dates, lists where a string goes...) must raise :class:`InvalidRequestError` naming
the parameter (or Close's name for it: ``page_size`` is ``_limit``, ``fields`` is
``_fields``, an update's target is ``id``), and nothing may reach the transport. A wrong
body value that can be written as JSON is also sent raw to the fake, which must answer
Close's 400 naming the same field (both run the rules of ``closeasync/rules/``).

Each parameter also has a right value that the fake accepts on the same base arguments:
so the refusal is about the value, not about the rest of the call. A completeness check
fails when a method gains a parameter this table does not cover.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import closeasync.params
from closeasync import CloseAsync, InvalidRequestError
from closeasync.fake import FakeClose, FakeRequest
from closeasync.resources._arguments import to_wire_body
from closeasync.rules._fields import json_problem
from closeasync.transports import Request, Response
from tests.contract.conftest import basic
from tests.input_kinds import BAD, Param, good_value, params_of

FAKE_SEED = 11


class Recording:
    """A transport in front of a fake that records every request reaching it."""

    def __init__(self, fake: FakeClose) -> None:
        self.inner = fake.transport()
        self.requests: list[Request] = []

    async def send(self, request: Request) -> Response:
        self.requests.append(request)
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.frozen
class World:
    """A fake holding one of everything a right value may refer to."""

    fake: FakeClose
    refs: Mapping[str, str]


async def _world(close: CloseAsync, fake: FakeClose) -> World:
    lead = fake.add_lead("Acme")["id"]
    contact = fake.add_contact(lead, "Ann", emails=["ann@example.com"])["id"]
    email = await close.emails.create(lead_id=lead, status="draft", subject="Hi")
    sms = await close.sms.create(status="draft", lead_id=lead, text="Hi")
    note = await close.notes.create(lead_id=lead, note="Hi")
    call = await close.calls.create(lead_id=lead, duration=10)
    meeting = fake.add_activity("Meeting", lead_id=lead, title="Demo", user_note_html="", outcome_id=None)
    refs = {
        "lead": lead,
        "contact": contact,
        "user": fake.me["id"],
        "org": fake.state.organization_id,
        "emails": email.id,
        "sms": sms.id,
        "notes": note.id,
        "calls": call.id,
        "meetings": meeting["id"],
    }
    return World(fake, refs)


def _invoke(close: CloseAsync, param: Param, value: Any, refs: Mapping[str, str]) -> Any:
    """Call the method with its base arguments and ``value`` for ``param``."""
    api = getattr(close, param.resource)
    kwargs = {k: good_value(v, refs) for k, v in param.base.items()}
    target = refs.get(param.resource, "acti_1")
    if param.name == "target":
        return api.update(value, **kwargs)
    kwargs[param.name] = value
    if param.method == "update":
        return api.update(target, **kwargs)
    return getattr(api, param.method)(**kwargs)


async def _run(call: Any) -> Any:
    """Await a create/update; take the first page of a listing (a list call sends on iteration)."""
    if inspect.isawaitable(call):
        return await call
    async for item in call:
        return item
    return None


ALL_PARAMS = params_of()


@pytest.mark.parametrize("param", ALL_PARAMS, ids=[p.id for p in ALL_PARAMS])
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_a_wrong_value_is_refused_by_name_and_nothing_is_sent(param: Param, data: st.DataObject) -> None:
    value = data.draw(BAD[param.kind], label=param.id)
    anyio.run(_refused, param, value)


async def _refused(param: Param, value: Any) -> None:
    fake = FakeClose(seed=FAKE_SEED)
    transport = Recording(fake)
    refs = {"lead": "lead_1", "contact": "cont_1", "user": "user_1", "org": "orga_1"}
    async with CloseAsync(api_key=fake.api_key, transport=transport) as close:
        with pytest.raises(InvalidRequestError) as refused:
            await _run(_invoke(close, param, value, refs))
    named = set(refused.value.field_errors)
    assert named & param.names, (param.id, value, refused.value.field_errors)
    assert transport.requests == []
    if param.body:
        _fake_refuses_it_too(fake, param, value)


def _fake_refuses_it_too(fake: FakeClose, param: Param, value: Any) -> None:
    """Send the wrong value raw (when it can be written as JSON): the fake names it in a 400."""
    try:
        wire = to_wire_body({param.name: value})
    except InvalidRequestError:
        return  # a naive datetime: the SDK's own refusal, nothing JSON could carry
    if json_problem(wire) is not None:
        return  # not JSON at all (a lone surrogate, an object): no raw client can send it
    lead = fake.add_lead("Raw")["id"]
    body = to_wire_body({**{k: good_value(v, {"lead": lead}) for k, v in param.base.items()}, **wire})
    auth = {"authorization": basic(fake.api_key)}
    if param.method == "create":
        request = FakeRequest("POST", f"/activity/{param.route}/", {}, body, auth)
    else:
        kind = {"email": "Email", "sms": "SMS", "note": "Note", "call": "Call", "meeting": "Meeting"}[
            param.route
        ]
        state = {"status": "draft"} if kind in ("Email", "SMS") else {}
        stored = fake.add_activity(kind, lead_id=lead, **state)
        request = FakeRequest("PUT", f"/activity/{param.route}/{stored['id']}/", {}, body, auth)
    answer = fake.handle(request).response
    assert answer.status == 400, (param.id, value, answer.body)
    assert set(answer.body) == {"errors", "field-errors"}
    assert param.name in answer.body["field-errors"], (param.id, value, answer.body)


# -- the right values pass, on the same base arguments ---------------------------------------------


@pytest.mark.parametrize("param", ALL_PARAMS, ids=[p.id for p in ALL_PARAMS])
async def test_a_right_value_on_the_same_base_is_accepted(param: Param) -> None:
    fake = FakeClose(seed=FAKE_SEED)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as setup:
        world = await _world(setup, fake)
    transport = Recording(fake)
    async with CloseAsync(api_key=fake.api_key, transport=transport) as close:
        value = good_value(param.good, world.refs)
        await _run(_invoke(close, param, value, world.refs))
    # One request (a listing asked to prefetch may ask for its next page ahead too).
    assert 1 <= len(transport.requests) <= (value if param.name == "prefetch" else 1), param.id


# -- every parameter is covered ---------------------------------------------------------------------


def _declared(resource: str, method: str) -> set[str]:
    """The parameters a method takes, its TypedDict keywords (``**fields: Unpack[...]``) included."""
    names: set[str] = set()
    api = getattr(CloseAsync(api_key="api_example"), resource)
    for parameter in inspect.signature(getattr(api, method)).parameters.values():
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            typed = str(parameter.annotation).removeprefix("Unpack[").removesuffix("]")
            names |= set(getattr(closeasync.params, typed).__annotations__)
        elif parameter.kind is inspect.Parameter.POSITIONAL_ONLY or (method == "update" and not names):
            names.add("target")  # the object to update (an id or a model)
        else:
            names.add(parameter.name)
    return names


METHODS = [
    (resource, method)
    for resource in ("emails", "sms", "notes", "calls", "meetings", "activities", "events")
    for method in ("create", "update", "list")
    if hasattr(getattr(CloseAsync(api_key="api_example"), resource), method)
]


@pytest.mark.parametrize(("resource", "method"), METHODS)
def test_every_parameter_of_every_method_is_generated(resource: str, method: str) -> None:
    covered = {p.name for p in ALL_PARAMS if (p.resource, p.method) == (resource, method)}
    assert covered == _declared(resource, method)


# -- ids in paths ------------------------------------------------------------------------------------

BAD_IDS = ["\ud800", "acti_\udfff", "", "  ", ".", 5, None, ["acti_1"], object()]


def _by_id(resource: str, method: str) -> Callable[[CloseAsync, Any], Any]:
    return lambda close, ident: getattr(getattr(close, resource), method)(ident)


PATH_CALLS: list[tuple[str, Callable[[CloseAsync, Any], Any], str]] = [
    *(
        (f"{r}.{m}", _by_id(r, m), "id")
        for r in ("emails", "sms", "notes", "calls", "meetings", "email_threads")
        for m in ("get", "delete")
    ),
    ("emails.update", lambda c, i: c.emails.update(i, subject="x"), "id"),
    ("notes.update", lambda c, i: c.notes.update(i, note="x"), "id"),
    ("activities.get", lambda c, i: c.activities.get("Note", i), "activity_id"),
    ("events.get", lambda c, i: c.events.get(i), "event_id"),
]


@pytest.mark.parametrize(("what", "call", "field"), PATH_CALLS, ids=[w for w, _, _ in PATH_CALLS])
@pytest.mark.parametrize("ident", BAD_IDS, ids=[repr(i)[:12] for i in BAD_IDS])
async def test_an_id_that_cannot_go_in_a_path_is_refused(
    what: str, call: Callable[[CloseAsync, Any], Any], field: str, ident: Any
) -> None:
    fake = FakeClose(seed=FAKE_SEED)
    transport = Recording(fake)
    async with CloseAsync(api_key=fake.api_key, transport=transport) as close:
        with pytest.raises(InvalidRequestError) as refused:
            await call(close, ident)
    assert field in refused.value.field_errors, refused.value.field_errors
    assert transport.requests == []


# -- the cases of issue #20, one by one ---------------------------------------------------------------


@pytest.fixture
async def recorded() -> AsyncIterator[tuple[CloseAsync, Recording]]:
    fake = FakeClose(seed=FAKE_SEED)
    transport = Recording(fake)
    async with CloseAsync(api_key=fake.api_key, transport=transport) as close:
        yield close, transport


async def test_types_as_one_string_is_one_type_never_split(recorded: tuple[CloseAsync, Recording]) -> None:
    close, transport = recorded
    await _run(close.activities.list(lead_id="lead_1", types="Email"))
    assert "_type__in=Email&" in transport.requests[0].url


def wrong(value: object) -> Any:
    """A value of the wrong type, passed on purpose (typed ``Any`` for the type checker)."""
    return value


ISSUE_CASES: list[tuple[str, Callable[[CloseAsync], Any], str]] = [
    ("types-None-item", lambda c: c.activities.list(lead_id="lead_1", types=wrong([None])), "types"),
    ("status-list", lambda c: c.emails.create(lead_id="lead_1", status=wrong(["draft"])), "status"),
    (
        "subject-surrogate",
        lambda c: c.emails.create(lead_id="l", status="draft", subject="\ud800"),
        "subject",
    ),
    (
        "body-surrogate",
        lambda c: c.emails.create(lead_id="l", status="draft", body_text="a\udc00"),
        "body_text",
    ),
    ("sms-text-surrogate", lambda c: c.sms.create(status="draft", text="\ud800"), "text"),
    (
        "template-surrogate",
        lambda c: c.emails.create(lead_id="l", status="draft", template_id="\ud800"),
        "template_id",
    ),
    ("get-surrogate", lambda c: c.emails.get("\ud800"), "id"),
    (
        "template-object",
        lambda c: c.emails.create(lead_id="l", status="draft", template_id=wrong(object())),
        "template_id",
    ),
    (
        "contact-int",
        lambda c: c.emails.create(lead_id="l", status="draft", contact_id=wrong(123)),
        "contact_id",
    ),
    ("opens-str", lambda c: c.emails.create(lead_id="l", status="draft", opens=wrong("x")), "opens"),
    ("date-junk", lambda c: c.emails.list(date_created__gt=wrong("junk")), "date_created__gt"),
    ("get_many-None", lambda c: c.emails.get_many(wrong(None)), "ids"),
    ("create_many-None", lambda c: c.emails.create_many(wrong(None)), "items"),
]


@pytest.mark.parametrize(
    ("call", "field"), [(c, f) for _, c, f in ISSUE_CASES], ids=[n for n, _, _ in ISSUE_CASES]
)
async def test_each_case_of_the_issue_is_refused_before_sending(
    recorded: tuple[CloseAsync, Recording], call: Callable[[CloseAsync], Any], field: str
) -> None:
    close, transport = recorded
    with pytest.raises(InvalidRequestError) as refused:
        await _run(call(close))
    assert list(refused.value.field_errors) == [field]
    assert transport.requests == []


async def test_to_none_clears_the_recipients_and_the_email_shows_them_empty(
    recorded: tuple[CloseAsync, Recording],
) -> None:
    """``to=None`` is what Close's schemas allow (null clears a list): sent, and read back as []."""
    close, transport = recorded
    fake = transport.inner.fake
    lead = fake.add_lead("Acme")["id"]
    draft = await close.emails.create(lead_id=lead, status="draft", to=["a@example.com"], cc=None)
    assert (draft.to, draft.cc) == (["a@example.com"], [])
    cleared = await close.emails.update(draft, to=None)
    assert cleared.to == [] == fake.activities[draft.id]["to"]
    assert transport.requests[-1].json() == {"to": None}


@pytest.mark.parametrize(
    "value", ["\ud800", object(), {"a": 1}, [None]], ids=["surrogate", "object", "dict", "None-item"]
)
async def test_a_raw_call_refuses_a_query_value_it_cannot_send(
    recorded: tuple[CloseAsync, Recording], value: Any
) -> None:
    close, transport = recorded
    with pytest.raises(InvalidRequestError) as refused:
        await close.get("/lead/", params={"query": value})
    assert list(refused.value.field_errors) == ["query"]
    assert transport.requests == []
