"""Every object exactly as Close sent it: lossless models, honest absence, no secret inside.

- Close's examples, with unknown keys put in at random depths and timestamps written in
  every form Close uses, come back from ``to_dict`` exactly, before and after every field
  (nested models' included) was read.
- ``attrs.asdict``, ``attrs.evolve``, ``copy``, ``pickle`` and cattrs work on whole
  objects; a partial one (``fields=``) still refuses the fields it was not sent.
- Nothing reachable from a model, a page or an error holds the API key, the OAuth
  token or the Authorization header value.
- The export writes each object as Close sent it.
"""

from __future__ import annotations

import copy
import gc
import pickle
import sqlite3
import types
from collections.abc import Iterator
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import cattrs
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from closeasync import CloseAsync, FieldValueError
from closeasync.export import ExportSpec, SQLiteStore, run_export
from closeasync.fake import FakeClose
from closeasync.models import (
    ACTIVITY_TYPES,
    UNSET,
    Email,
    FieldNotLoaded,
    Model,
    evolve,
    extra_fields,
    is_loaded,
    to_dict,
    to_json,
)
from closeasync.models._converter import converter
from tests.conftest import ACTIVITY_UNION, API_KEY, StubTransport, json_response
from tests.spec_examples import typed_objects

EXAMPLES = [obj for obj in typed_objects() if obj["_type"] in ACTIVITY_TYPES]
TIMESTAMP = datetime(2026, 1, 5, 8, 55, 40, 515263)
#: Every form Close writes a timestamp in: naive (its docs), with an offset, with Z,
#: with and without microseconds.
TIMESTAMP_FORMS = [
    "2026-01-05T08:55:40.515263",
    "2026-01-05T08:55:40",
    "2026-01-05T08:55:40.515263+00:00",
    "2026-01-05T08:55:40+00:00",
    "2026-01-05T08:55:40.515Z",
    "2026-01-05T08:55:40Z",
    "2026-01-05T03:55:40.515263-05:00",
]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


def _paths_to_objects(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The path of every JSON object inside ``value`` (itself included)."""
    if isinstance(value, dict):
        yield path
        for key, item in value.items():
            yield from _paths_to_objects(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths_to_objects(item, (*path, index))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _retime(value: Any, form: str) -> Any:
    """``value`` with every timestamp string written as ``form``."""
    if isinstance(value, dict):
        return {k: _retime(v, form) for k, v in value.items()}
    if isinstance(value, list):
        return [_retime(v, form) for v in value]
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        return form
    return value


@st.composite
def close_objects(draw: st.DrawFn) -> dict[str, Any]:
    """One of Close's examples, its timestamps in one of Close's forms, with unknown keys inside."""
    data: dict[str, Any] = _retime(
        copy.deepcopy(draw(st.sampled_from(EXAMPLES))), draw(st.sampled_from(TIMESTAMP_FORMS))
    )
    paths = list(_paths_to_objects(data))
    for _ in range(draw(st.integers(1, 4))):
        target = _at(data, draw(st.sampled_from(paths)))
        name = "x_" + draw(st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=10))
        target[name] = draw(JSON_VALUES)
    return data


def _read_everything(model: Model) -> None:
    """Read every field, nested models' too (timestamps, enums and models convert now)."""
    for attribute in attrs.fields(type(model)):
        value = getattr(model, attribute.name)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, Model):
                _read_everything(item)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(close_objects())
def test_every_object_comes_back_exactly_as_sent(data: dict[str, Any]) -> None:
    sent = copy.deepcopy(data)
    model = converter.structure(data, ACTIVITY_UNION)
    assert to_dict(model) == sent
    _read_everything(model)
    assert to_dict(model) == sent
    assert orjson.loads(to_json(model)) == sent
    assert data == sent  # the JSON handed over was not changed either
    assert to_dict(copy.deepcopy(model)) == sent
    assert to_dict(pickle.loads(pickle.dumps(model))) == sent
    # The unknown top-level keys are readable, and never as attributes.
    for key, value in extra_fields(model).items():
        assert key.startswith("x_") or key not in attrs.fields_dict(type(model))
        assert sent[key] == value


@settings(max_examples=100, deadline=None)
@given(close_objects(), st.sampled_from(TIMESTAMP_FORMS))
def test_a_change_is_written_over_what_close_sent_and_nothing_else(data: dict[str, Any], form: str) -> None:
    sent = copy.deepcopy(data)
    model = converter.structure(data, ACTIVITY_UNION)
    stamp = datetime.fromisoformat(form)
    changed = evolve(model, id="acti_changed", date_created=stamp)
    out = to_dict(changed)
    assert out["id"] == "acti_changed"
    assert datetime.fromisoformat(out["date_created"]) == stamp
    assert {k: v for k, v in out.items() if k not in ("id", "date_created")} == {
        k: v for k, v in sent.items() if k not in ("id", "date_created")
    }
    assert to_dict(model) == sent  # the original is untouched
    assert "id" not in to_dict(evolve(model, id=UNSET))


async def test_lossless_through_the_client(stub: StubTransport, close: CloseAsync) -> None:
    """get() and list() give back what Close sent, unknown keys at every depth included."""
    sent = {
        "_type": "Email",
        "id": "acti_1",
        "date_created": "2015-06-26T02:01:43.059265",
        "date_updated": "2026-01-05T08:55:40Z",
        "body_html_quoted": [{"expand": True, "html": "<p>hi</p>", "new_in_quote": 1}],
        "envelope": {"from": [{"email": "a@example.com", "name": "A", "x": 2}], "to": [], "odd": {"k": "v"}},
        "opens": [{"ip_address": "1.2.3.4", "opened_at": "2026-01-05T09:00:00Z", "device": "phone"}],
        "attachments": [{"url": "https://app.close.com/go/file/x/", "filename": "x", "size": 3, "etag": "e"}],
        "brand_new": {"nested": [1, 2]},
    }
    stub.handler = lambda request: json_response(
        sent if "/acti_1/" in request.url else {"data": [sent], "has_more": False}
    )
    got = await close.emails.get("acti_1")
    [listed] = await close.emails.list().collect()
    for email in (got, listed):
        assert to_dict(email) == sent
        _read_everything(email)
        assert to_dict(email) == sent
        assert extra_fields(email) == {"brand_new": {"nested": [1, 2]}}
        assert email.envelope is not None
        assert extra_fields(email.envelope) == {"odd": {"k": "v"}}
        assert to_dict(email.envelope.from_[0]) == {"email": "a@example.com", "name": "A", "x": 2}
        assert email.sender is None  # Close left it out of a whole object: empty
        assert not is_loaded(email, "sender")


async def test_updating_with_a_model_sends_only_what_the_caller_set(
    stub: StubTransport, close: CloseAsync
) -> None:
    sent = {"_type": "Email", "id": "acti_1", "status": "draft", "subject": "Hi", "unknown": 1}
    stub.handler = lambda request: json_response(sent)
    email = await close.emails.get("acti_1")
    await close.emails.update(email, subject="Hello")
    assert stub.last.json() == {"subject": "Hello"}


async def test_the_usual_tools_work_on_whole_objects_and_partial_ones_stay_honest(
    stub: StubTransport, close: CloseAsync
) -> None:
    sent = {"_type": "Email", "id": "acti_1", "subject": "Hi", "date_created": "2026-01-05T08:55:40Z", "z": 1}
    stub.handler = lambda request: json_response(sent)
    whole = await close.emails.get("acti_1")
    partial = await close.emails.get("acti_1", fields=["id", "subject"])
    # Whole: every tool reads every field; absent ones are empty.
    as_dict = attrs.asdict(whole)
    assert as_dict["subject"] == "Hi"
    assert as_dict["body_text"] is None
    assert as_dict["to"] == []
    assert attrs.evolve(whole, subject="Yo").subject == "Yo"
    assert cattrs.Converter().unstructure(whole)["subject"] == "Hi"
    assert converter.unstructure(whole) == sent
    # Partial: copies keep it partial; a field it was not sent still says so.
    for model in (partial, copy.copy(partial), copy.deepcopy(partial), pickle.loads(pickle.dumps(partial))):
        assert to_dict(model) == sent
        assert model.subject == "Hi"
        with pytest.raises(FieldNotLoaded, match="fields=\\['id', 'subject'\\]"):
            _ = model.body_text
    with pytest.raises(FieldNotLoaded):
        attrs.asdict(partial)
    assert to_dict(evolve(partial, subject="Yo")) == {**sent, "subject": "Yo"}


def _referents(root: Any) -> Iterator[Any]:
    """Every object reachable from ``root`` through instance data (not classes, modules, code)."""
    seen: set[int] = set()
    pending = [root]
    while pending:
        obj = pending.pop()
        if id(obj) in seen or isinstance(
            obj, type | types.ModuleType | types.FunctionType | types.BuiltinFunctionType | types.CodeType
        ):
            continue
        seen.add(id(obj))
        yield obj
        pending.extend(gc.get_referents(obj))


def _assert_no_secret(root: Any, secrets: list[str]) -> None:
    walked = 0
    for obj in _referents(root):
        walked += 1
        if isinstance(obj, str | bytes):
            text = obj.decode("latin-1") if isinstance(obj, bytes) else obj
            assert not any(secret in text for secret in secrets), (type(root).__name__, text[:80])
    assert walked > 3  # the walk did go inside


@pytest.mark.parametrize("credential", ["api_key", "oauth_token"])
async def test_nothing_reachable_from_a_model_holds_a_secret(credential: str) -> None:
    secret = API_KEY if credential == "api_key" else "oauthSECRETtoken0123456789"
    stub = StubTransport()
    sent = {"_type": "Email", "id": "acti_1", "date_created": "yesterday", "envelope": {"from": []}}
    stub.handler = lambda request: json_response(
        sent if "/acti_1/" in request.url else {"data": [sent], "has_more": False}
    )
    base_url = "https://close.test/api/v1"
    client = (
        CloseAsync(api_key=secret, transport=stub, base_url=base_url)
        if credential == "api_key"
        else CloseAsync(oauth_token=secret, transport=stub, base_url=base_url)
    )
    async with client as close:
        got = await close.emails.get("acti_1")
        [listed] = await close.emails.list().collect()
        pages = [page async for page in close.emails.list().pages()]
        partial = await close.emails.get("acti_1", fields=["id"])
        secrets = [secret, stub.last.header("authorization") or ""]
        assert all(secrets)
        for root in (got, listed, pages[0], partial, vars(got), evolve(got, subject="x")):
            _assert_no_secret(root, secrets)
        # A malformed field still names its response, with no credential in the error either.
        with pytest.raises(FieldValueError) as caught:
            got.date_created  # noqa: B018 - the read is the test
        assert (caught.value.status, caught.value.method) == (200, "GET")
        assert caught.value.url == "https://close.test/api/v1/activity/email/acti_1/"
        _assert_no_secret(caught.value, secrets)


async def test_the_export_writes_each_object_as_close_sent_it(tmp_path: Path) -> None:
    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        draft = await close.emails.create(lead_id=lead["id"], status="draft", subject="Hi")
    stored = fake.activities[draft.id]
    stored["new_in_2027"] = {"kept": True}
    stored["date_updated"] = "2026-01-05T08:55:40"  # naive, as Close's docs write it
    path = tmp_path / "copy.sqlite"
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        store = SQLiteStore(path)
        try:
            await run_export(close, ExportSpec(what="emails"), store)
        finally:
            store.close()
    with closing(sqlite3.connect(path)) as db:
        [(data, updated)] = db.execute("SELECT data, date_updated FROM email").fetchall()
    assert orjson.loads(data) == stored
    assert updated == "2026-01-05T08:55:40"


async def test_objects_nested_in_a_partial_one_are_whole(stub: StubTransport, close: CloseAsync) -> None:
    """``_fields`` picks top-level keys: a nested object's missing keys read empty, never FieldNotLoaded."""
    sent = {
        "_type": "Email",
        "id": "acti_1",
        "envelope": {"subject": "Hi", "to": []},
        "opens": [{"ip_address": "1"}],
    }
    stub.handler = lambda request: json_response(sent)
    email = await close.emails.get("acti_1", fields=["id", "envelope", "opens"])
    assert email.envelope is not None
    assert email.envelope.from_ == []
    assert email.envelope.date is None
    assert email.opens is not None
    assert email.opens[0].opened_at is None
    with pytest.raises(FieldNotLoaded):
        _ = email.subject  # the top level is still partial
    assert to_dict(email) == sent


async def test_a_long_get_still_knows_which_fields_it_asked_for() -> None:
    """get_many of many ids goes out as POST + override (the URL would be too long): still partial."""
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Acme")
    methods: list[str] = []
    async with CloseAsync(
        api_key=fake.api_key, transport=fake.transport(), on_event=lambda e: methods.append(e.method)
    ) as close:
        created = await close.emails.create_many(
            [{"lead_id": lead["id"], "status": "draft", "subject": f"S{n}"} for n in range(60)]
        )
        ids = [email.id for email in created.ok.values()]
        methods.clear()
        found = await close.emails.get_many(ids, fields=["subject"])
    assert len(found.ok) == 60
    assert "POST" in methods  # the long-URL fallback was taken
    for email in found.ok.values():
        assert email.subject is not None
        with pytest.raises(FieldNotLoaded, match="body_text"):
            _ = email.body_text


def test_models_with_a_malformed_value_still_compare() -> None:
    """``==`` (and so ``in``) compares a malformed value as Close sent it instead of raising."""
    sent = {"_type": "Email", "id": "acti_1", "date_created": "bad-date"}
    one, other = converter.structure(sent, Email), converter.structure(dict(sent), Email)
    assert one == other
    assert one in [other]
    assert one != converter.structure({**sent, "date_created": "worse"}, Email)


def test_an_unknown_activity_gives_back_what_close_sent_with_its_changes() -> None:
    sent = {"_type": "Brandnew", "id": "acti_9", "lead_id": "lead_1", "foo": [1]}
    unknown = converter.structure(sent, ACTIVITY_UNION)
    assert type(unknown).__name__ == "UnknownActivity"
    assert to_dict(unknown) == sent
    assert to_dict(evolve(unknown, id="acti_10")) == {**sent, "id": "acti_10"}
    assert to_dict(evolve(unknown, lead_id=UNSET)) == {k: v for k, v in sent.items() if k != "lead_id"}
