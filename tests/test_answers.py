"""Answers that would give silently wrong data are refused, and what stays lenient.

- A get, create or update answered with an empty body, a 204, a list or a list envelope,
  an object without ``id`` (unless ``fields=[...]`` left it out) or an object of another
  ``_type`` raises :class:`ResponseValidationError` naming the status, method and URL, with
  no credential and without quoting the body; ``closeasync get`` exits 3 with one line.
- Unknown keys, unknown enum values and a missing ``_type`` are still accepted.
- A secret echoed in a body or a field value is nowhere in the error raised: not in its
  message, args, attributes, nor anywhere in its chain (``__cause__``, ``__context__``).
- A model holding a malformed value copies and pickles without reading it.
"""

from __future__ import annotations

import base64
import copy
import pickle
import traceback
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import orjson
import pytest

from closeasync import (
    CloseAsync,
    ConnectError,
    FieldValueError,
    ResponseValidationError,
    TransportError,
)
from closeasync.cli import ExitCode, main
from closeasync.fake import FakeClose, FakeRequest, FakeResponse, Outcome
from closeasync.models import Email, Note, to_dict
from closeasync.models.enums import MessageStatus
from closeasync.transports import Request, Response
from tests.conftest import API_KEY, NO_RETRY, StubTransport, json_response
from tests.served import ServedFake

BASE = "https://close.test/api/v1"
EMAIL_URL = f"{BASE}/activity/email/acti_1/"
OAUTH_TOKEN = "oauthSECRETtoken0123456789abcdef"
EMPTY = Response(200, (("content-type", "application/json"),), b"")
NO_CONTENT = Response(204)

Call = Callable[[CloseAsync], Awaitable[Any]]
CALLS: dict[str, tuple[Call, str, str]] = {
    "get": (lambda c: c.emails.get("acti_1"), "GET", EMAIL_URL),
    "create": (
        lambda c: c.emails.create(lead_id="lead_1", status="draft"),
        "POST",
        f"{BASE}/activity/email/",
    ),
    "update": (lambda c: c.emails.update("acti_1", subject="Hi"), "PUT", EMAIL_URL),
}
#: Each answer that is not one Email, and what the error says of it.
WRONG = [
    pytest.param(EMPTY, "got an empty answer", id="empty-200"),
    pytest.param(NO_CONTENT, "got an empty answer", id="204"),
    pytest.param(json_response({}), "without an id", id="empty-object"),
    pytest.param(json_response({"_type": "Email", "subject": "Hi"}), "without an id", id="no-id"),
    pytest.param(json_response({"_type": "Email", "id": ""}), "without an id", id="empty-id"),
    pytest.param(json_response({"_type": "Email", "id": 7}), "id is a JSON number", id="number-id"),
    pytest.param(json_response({"_type": "SMS", "id": "acti_1"}), "of _type 'SMS'", id="an-SMS"),
    pytest.param(
        json_response({"data": [{"_type": "Email", "id": "acti_1"}], "has_more": False}),
        "list envelope",
        id="list-envelope",
    ),
    pytest.param(json_response([{"_type": "Email", "id": "acti_1"}]), "got a JSON list", id="list"),
    pytest.param(json_response("acti_1"), "got a JSON string", id="string"),
    pytest.param(json_response(None), "got a JSON null", id="null"),
]


@pytest.mark.parametrize("action", list(CALLS))
@pytest.mark.parametrize(("answer", "said"), WRONG)
async def test_an_answer_that_is_not_one_object_is_refused(
    stub: StubTransport, close: CloseAsync, action: str, answer: Response, said: str
) -> None:
    call, method, url = CALLS[action]
    stub.handler = lambda request: answer
    with pytest.raises(ResponseValidationError) as caught:
        await call(close)
    error = caught.value
    assert (error.status, error.method, error.url, error.body) == (answer.status, method, url, answer.content)
    assert said in str(error)
    assert str(error).startswith("expected one Email object, got ")
    assert str(error).endswith(f"(HTTP {answer.status} from {method} {url})")
    assert "\n" not in str(error)
    assert len(stub.requests) == 1  # refused, not repeated (a create may have happened)


async def test_the_message_never_quotes_the_body(stub: StubTransport, close: CloseAsync) -> None:
    for body in (
        {"data": [{"subject": "quoted-nowhere"}], "has_more": False},
        {"_type": "Note quoted-nowhere", "id": "acti_1"},
        {"subject": "quoted-nowhere"},
    ):
        stub.handler = lambda request, body=body: json_response(body)  # type: ignore[misc]
        with pytest.raises(ResponseValidationError) as caught:
            await close.emails.get("acti_1")
        assert "quoted-nowhere" not in str(caught.value)
        assert b"quoted-nowhere" in caught.value.body  # what came is kept, for whoever looks


async def test_another_resource_and_an_event_are_checked_the_same_way(
    stub: StubTransport, close: CloseAsync
) -> None:
    stub.handler = lambda request: json_response({"_type": "Call", "id": "acti_1"})
    with pytest.raises(
        ResponseValidationError, match="expected one Note object, got an object of _type 'Call'"
    ):
        await close.notes.get("acti_1")
    stub.handler = lambda request: json_response({})
    with pytest.raises(
        ResponseValidationError, match="expected one Event object, got an object without an id"
    ):
        await close.events.get("ev_1")


async def test_activities_get_refuses_an_activity_of_another_type(
    stub: StubTransport, close: CloseAsync
) -> None:
    """``activities.get("Note", id)`` structures into Note, not the union of every activity."""
    stub.handler = lambda request: json_response({"_type": "Email", "id": "acti_1"})
    with pytest.raises(
        ResponseValidationError, match="expected one Note object, got an object of _type 'Email'"
    ):
        await close.activities.get("Note", "acti_1")
    stub.handler = lambda request: json_response({"_type": "Note", "id": "acti_1", "note": "hi"})
    note = await close.activities.get("Note", "acti_1")
    assert (type(note).__name__, note.id) == ("Note", "acti_1")
    stub.handler = lambda request: json_response({"id": "acti_2"})  # no _type: taken as asked
    assert type(await close.activities.get(Note, "acti_2")).__name__ == "Note"


async def test_what_stays_lenient(stub: StubTransport, close: CloseAsync) -> None:
    """Unknown keys and enum values, and an object without ``_type``, are what Close may send."""
    sent = {"id": "acti_1", "status": "brand-new-status", "new_in_2027": {"x": 1}, "subject": "Hi"}
    stub.handler = lambda request: json_response(sent)
    email = await close.emails.get("acti_1")
    assert (email.id, email.subject, email.status) == ("acti_1", "Hi", "brand-new-status")
    assert to_dict(email) == sent
    stub.handler = lambda request: json_response({**sent, "_type": "Email", "status": "draft"})
    assert (await close.emails.update("acti_1", subject="Hi")).status is MessageStatus.DRAFT


async def test_fields_without_id_may_come_without_one(stub: StubTransport, close: CloseAsync) -> None:
    stub.handler = lambda request: json_response({"subject": "Hi"})
    partial = await close.emails.get("acti_1", fields=["subject"])
    assert partial.subject == "Hi"
    with pytest.raises(ResponseValidationError, match="without an id"):
        await close.emails.get("acti_1", fields=["id", "subject"])
    stub.handler = lambda request: EMPTY
    with pytest.raises(ResponseValidationError, match="got an empty answer"):
        await close.emails.get("acti_1", fields=["subject"])  # no body is never an object


@pytest.mark.parametrize(
    "answer",
    [FakeResponse(200, {}), FakeResponse(204), FakeResponse(200, {"_type": "SMS", "id": "acti_x"})],
    ids=["empty-object", "204", "an-SMS"],
)
def test_closeasync_get_exits_with_one_line_for_such_an_answer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], answer: FakeResponse
) -> None:
    fake = FakeClose(seed=3)

    def handle(request: FakeRequest) -> Outcome:
        return Outcome(answer)

    monkeypatch.setattr(fake, "handle", handle)
    with ServedFake(fake) as served:
        monkeypatch.setenv("CLOSE_API_KEY", fake.api_key)
        monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)
        code = main(["get", "email", "acti_x"])
    out, err = capsys.readouterr()
    assert code == ExitCode.API
    assert out == ""  # no {"_type": "Email"} printed as if it were the email
    [line] = err.splitlines()
    assert line.startswith("closeasync get: Close's answer was not what the SDK expects: expected one Email")
    assert f"HTTP {answer.status} from GET {served.base_url}/activity/email/acti_x/" in line


# -- secrets echoed back are nowhere in the error, its chain included -----------------------------


def chained(error: BaseException) -> Iterator[BaseException]:
    """``error`` and every exception reachable from it through ``__cause__`` and ``__context__``."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        item = pending.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending += [item.__cause__, item.__context__]


def assert_nowhere(error: BaseException, secrets: list[str]) -> None:
    texts = ["".join(traceback.format_exception(error))]
    for item in chained(error):
        texts += [str(item), repr(item), repr(item.args), repr(vars(item))]
    texts.append(pickle.dumps(error).decode("latin-1"))
    for secret in secrets:
        assert all(secret not in text for text in texts), secret


@pytest.fixture(params=["api_key", "oauth_token"])
def credential(request: pytest.FixtureRequest) -> tuple[dict[str, str], list[str]]:
    """The client's credential argument, and every form of it that must not leak."""
    if request.param == "api_key":
        token = base64.b64encode(f"{API_KEY}:".encode()).decode()
        return {"api_key": API_KEY}, [API_KEY, token]
    return {"oauth_token": OAUTH_TOKEN}, [OAUTH_TOKEN]


async def test_a_body_that_is_not_json_keeps_no_secret_and_no_parser_error(
    credential: tuple[dict[str, str], list[str]],
) -> None:
    given, secrets = credential
    stub = StubTransport()
    echoed = " ".join(secrets).encode()
    stub.handler = lambda request: Response(200, (("content-type", "text/html"),), b"<p>" + echoed + b"</p>")
    async with CloseAsync(transport=stub, base_url=BASE, **given) as close:  # type: ignore[arg-type]
        with pytest.raises(ResponseValidationError) as caught:
            await close.emails.get("acti_1")
    assert_nowhere(caught.value, secrets)
    assert list(chained(caught.value)) == [caught.value]  # orjson's error (its doc: the body) is not kept
    assert "bytes of text/html that are not JSON" in str(caught.value)
    assert caught.value.body.startswith(b"<p>")


async def test_a_field_value_echoing_a_secret_is_cleaned_from_its_error(
    credential: tuple[dict[str, str], list[str]],
) -> None:
    given, secrets = credential
    stub = StubTransport()
    sent = {"_type": "Email", "id": "acti_1", "date_created": secrets[0], "opens": [secrets[-1]]}
    stub.handler = lambda request: json_response(sent)
    async with CloseAsync(transport=stub, base_url=BASE, **given) as close:  # type: ignore[arg-type]
        email = await close.emails.get("acti_1")
        for field in ("date_created", "opens"):  # parsed inline, and through a nested view
            with pytest.raises(FieldValueError) as caught:
                getattr(email, field)
            assert caught.value.field == field
            assert_nowhere(caught.value, secrets)
            assert list(chained(caught.value)) == [caught.value]  # "Invalid isoformat string: '<secret>'"


async def test_a_listing_item_echoing_a_secret_is_cleaned_from_the_whole_chain(
    credential: tuple[dict[str, str], list[str]],
) -> None:
    given, secrets = credential
    stub = StubTransport()
    stub.handler = lambda request: json_response({"data": [{"id": "acti_1"}, secrets], "has_more": False})
    async with CloseAsync(transport=stub, base_url=BASE, **given) as close:  # type: ignore[arg-type]
        with pytest.raises(ResponseValidationError, match="item 1 of the listing") as caught:
            await close.emails.list().collect()
    assert len(list(chained(caught.value))) > 1  # the cause is kept, cleaned
    assert_nowhere(caught.value, secrets)


class EchoingTransport(StubTransport):
    """A transport failing with an error chain that quotes the credential (as a proxy's might)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    async def send(self, request: Request) -> Response:
        echoed = " ".join(self.secrets)
        try:
            orjson.loads(f"<html>{echoed}</html>")
        except orjson.JSONDecodeError as parse_error:  # its doc quotes it
            try:
                raise ValueError(f"proxy said {echoed}") from parse_error
            except ValueError as exc:  # a ConnectError whose cause and context quote it
                raise ConnectError(f"refused: {echoed}", method=request.method, url=request.url) from exc
        raise AssertionError("orjson parsed HTML")


async def test_a_transport_error_chain_quoting_a_secret_is_cleaned_throughout(
    credential: tuple[dict[str, str], list[str]],
) -> None:
    given, secrets = credential
    transport = EchoingTransport(secrets)
    async with CloseAsync(transport=transport, base_url=BASE, retry=NO_RETRY, **given) as close:  # type: ignore[arg-type]
        with pytest.raises(TransportError) as caught:
            await close.emails.get("acti_1")
    assert len(list(chained(caught.value))) >= 3  # the chain is kept, cleaned
    assert any(isinstance(item, orjson.JSONDecodeError) for item in chained(caught.value))
    assert_nowhere(caught.value, secrets)


# -- copying never reads a field ------------------------------------------------------------------


def _replace(model: Email, **changes: Any) -> Email:
    """``copy.replace`` (Python 3.13), or the method it calls."""
    replace = getattr(copy, "replace", None)
    if replace is not None:
        replaced: Email = replace(model, **changes)
        return replaced
    return model.__replace__(**changes)


async def test_a_model_holding_a_malformed_value_copies_and_pickles_as_it_came(
    stub: StubTransport, close: CloseAsync
) -> None:
    sent = {"_type": "Email", "id": "acti_1", "date_created": "junk", "status": "draft", "envelope": "junk"}
    stub.handler = lambda request: json_response(sent)
    email = await close.emails.get("acti_1")
    assert email.status is MessageStatus.DRAFT  # one field converted already
    copies = [
        copy.copy(email),
        copy.deepcopy(email),
        pickle.loads(pickle.dumps(email)),
        _replace(email),
        _replace(email, subject="Hi"),
    ]
    for twin in copies:
        assert twin.id == "acti_1"
        assert twin.status is MessageStatus.DRAFT
        for field in ("date_created", "envelope"):  # still malformed, and still naming its response
            with pytest.raises(FieldValueError) as caught:
                getattr(twin, field)
            assert (caught.value.status, caught.value.method, caught.value.url) == (200, "GET", EMAIL_URL)
    assert [to_dict(twin) for twin in copies[:-1]] == [sent] * 4
    assert to_dict(copies[-1]) == {**sent, "subject": "Hi"}


def test_a_model_built_by_hand_with_a_malformed_value_copies_too() -> None:
    note = Note(id="acti_1", date_created="junk")  # type: ignore[arg-type]  # what a careless caller passes
    for twin in (copy.copy(note), copy.deepcopy(note), pickle.loads(pickle.dumps(note))):
        assert twin.__dict__ == note.__dict__
        with pytest.raises(FieldValueError, match=r"Note\.date_created"):
            twin.date_created  # noqa: B018 - the read is the test
