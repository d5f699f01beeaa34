"""The cassette file: one versioned JSON document, stable bytes, bodies that survive exactly.

Everything here runs at our own seam: recordings are made through the conftest's
``StubTransport`` or the in-process fake, and read back from the file's bytes.
"""

from __future__ import annotations

import base64
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import orjson
import pytest

from closeasync import CloseAsync
from closeasync.errors import NotFoundError, UnmatchedRequestError
from closeasync.fake import FakeClose
from closeasync.models import Email
from closeasync.models._converter import strict_converter
from closeasync.pipeline.routes import ROUTES
from closeasync.pipeline.wire import build_request
from closeasync.transports import Request, Response
from closeasync.transports.cassette import (
    CASSETTE_VERSION,
    Cassette,
    MatchOptions,
    RecordedRequest,
    ScrubOptions,
    base_url_of,
    decode_body,
    encode_body,
)
from closeasync.transports.replay import RecordingTransport, ReplayTransport
from tests.conftest import ACTIVITY_UNION, StubTransport, json_response

BASE_URL = "https://close.test/api/v1"
SAMPLE = Path(__file__).parent / "data" / "cassettes" / "v1_email_lifecycle.json"

HTML = b"<!DOCTYPE html>\r\n<html><body><h1>502 Bad Gateway</h1>\n\t\xc3\xa9t\xc3\xa9</body></html>\n"
BINARY = b"\x89PNG\r\n\x1a\n\x00\xff\xfe\x80 not utf-8 \xc3\x28"


def read_json(path: Path) -> dict[str, Any]:
    data = orjson.loads(path.read_bytes())
    assert isinstance(data, dict)
    return cast(dict[str, Any], data)


def request(method: str, url: str, content: bytes | None = None, *headers: tuple[str, str]) -> Request:
    return Request(method, url, (("authorization", "Basic c2VjcmV0a2V5Og=="), *headers), content)


async def test_file_is_one_versioned_json_document(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    stub = StubTransport()
    stub.queue(json_response({"data": [], "has_more": False}))
    stub.queue(json_response({"id": "acti_1", "_type": "Email", "status": "draft"}))
    headers = (("authorization", "Basic c2VjcmV0a2V5Og=="), ("accept", "application/json"))
    listing = build_request(
        ROUTES["email"]["list"],
        base_url=BASE_URL,
        query={"lead_id": "lead_1", "_limit": 2, "_fields": "id,status"},
        headers=headers,
    )
    creation = build_request(
        ROUTES["email"]["create"], base_url=BASE_URL, json={"status": "draft", "lead_id": "lead_1"}
    )
    async with RecordingTransport(stub, path) as transport:
        await transport.send(listing)
        await transport.send(creation)
    assert transport.instant_waits is False
    assert transport.recording

    data = read_json(path)
    assert set(data) == {"version", "closeasync_version", "base_url", "recorded_at", "interactions"}
    assert data["version"] == CASSETTE_VERSION == 1
    assert data["closeasync_version"] == __import__("closeasync").__version__
    assert data["base_url"] == BASE_URL  # the API root, taken from the first request
    assert datetime.fromisoformat(data["recorded_at"]).tzinfo is not None
    listed, created = data["interactions"]
    assert listed["request"] == {
        "method": "GET",
        "path": "/api/v1/activity/email/",
        # sorted, decoded: diffs show the parameters, not their URL encoding
        "query": [["_fields", "id,status"], ["_limit", "2"], ["lead_id", "lead_1"]],
        "headers": [["accept", "application/json"]],
        "body": None,
    }
    assert listed["response"]["status"] == 200
    assert listed["response"]["body"] == {"json": {"data": [], "has_more": False}}  # parsed
    assert created["request"]["body"] == {"json": {"lead_id": "lead_1", "status": "draft"}}
    assert created["request"]["headers"] == [["content-type", "application/json"]]
    assert created["response"]["body"] == {"json": {"_type": "Email", "id": "acti_1", "status": "draft"}}
    assert ["content-type", "application/json"] in created["response"]["headers"]
    # human-diffable: indented, one key per line, ending in a newline
    text = path.read_text("utf-8")
    assert text.endswith("}\n")
    assert '\n  "interactions": [\n' in text


async def test_non_json_and_binary_bodies_survive_exactly(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    stub = StubTransport()
    html = Response(502, (("Content-Type", "text/html; charset=utf-8"), ("X-Trace", "a b  c")), HTML)
    png = Response(200, (("Content-Type", "image/png"),), BINARY)
    text = Response(200, (("Content-Type", "text/plain"),), b"  plain words, not JSON  ")
    stub.queue(html, png, text)
    upload = request("POST", f"{BASE_URL}/files/upload/", BINARY, ("content-type", "image/png"))
    page = request("GET", f"{BASE_URL}/status/")
    words = request("POST", f"{BASE_URL}/note/", b"hello <b>there</b>", ("content-type", "text/plain"))
    async with RecordingTransport(stub, path) as recorder:
        recorded = [await recorder.send(r) for r in (page, upload, words)]

    stored = [i["response"]["body"] for i in read_json(path)["interactions"]]
    assert stored[0] == {"text": HTML.decode("utf-8")}
    assert stored[1] == {"base64": base64.b64encode(BINARY).decode("ascii")}
    assert stored[2] == {"text": "  plain words, not JSON  "}
    assert read_json(path)["interactions"][1]["request"]["body"] == {
        "base64": base64.b64encode(BINARY).decode("ascii")
    }

    async with ReplayTransport(path, allow_unused=False) as replay:
        replayed = [await replay.send(r) for r in (page, upload, words)]
    for live, again in zip(recorded, replayed, strict=True):
        assert (again.status, again.headers, again.content) == (live.status, live.headers, live.content)
    assert replayed[0].content == HTML
    assert replayed[1].content == BINARY
    assert replayed[1].request is upload  # the live request, for error messages


async def test_a_binary_request_body_must_match_byte_for_byte(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    async with RecordingTransport(StubTransport(), path) as recorder:
        await recorder.send(request("POST", f"{BASE_URL}/files/upload/", BINARY))
    async with ReplayTransport(path) as replay:
        with pytest.raises(UnmatchedRequestError, match="no recorded interaction left"):
            await replay.send(request("POST", f"{BASE_URL}/files/upload/", BINARY + b"!"))
        assert (await replay.send(request("POST", f"{BASE_URL}/files/upload/", BINARY))).status == 200


async def test_load_then_dumps_is_stable(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    stub = StubTransport()
    stub.queue(json_response({"b": [1, 2.5, None], "a": {"z": "é", "y": True}}), Response(200, (), BINARY))
    async with RecordingTransport(stub, path) as recorder:
        await recorder.send(request("PUT", f"{BASE_URL}/x/?z=1&a=2", b'{"k": 1, "c": [3]}'))
        await recorder.send(request("GET", f"{BASE_URL}/y/"))
    written = path.read_bytes()
    loaded = Cassette.load(path)
    assert loaded.dumps() == written
    assert loaded.dumps() == loaded.dumps()
    again = tmp_path / "again.json"
    again.write_bytes(loaded.dumps())
    assert Cassette.load(again) == loaded
    assert Cassette.load(again).dumps() == written


def test_the_committed_sample_still_loads_and_dumps_to_the_same_bytes() -> None:
    """A cassette written by an earlier closeasync: the version-1 format must keep reading."""
    cassette = Cassette.load(SAMPLE)
    assert cassette.dumps() == SAMPLE.read_bytes()
    assert cassette.base_url == "https://api.close.com/api/v1"
    assert [i.request.method for i in cassette.interactions] == ["POST", "PUT", "PUT", "GET", "GET"]


def test_the_committed_sample_fits_the_models_strictly() -> None:
    """Cassettes drift from the models like fake responses do: structure them strictly."""
    for interaction in Cassette.load(SAMPLE).interactions:
        body = interaction.response.body
        assert body is not None
        assert "json" in body
        data = body["json"]
        if interaction.response.status >= 400:
            assert isinstance(data.get("error"), str)
        elif "data" in data:
            for item in data["data"]:
                strict_converter.structure(item, ACTIVITY_UNION)
        else:
            strict_converter.structure(data, Email)


async def test_the_committed_sample_replays() -> None:
    async with ReplayTransport(SAMPLE, allow_unused=False) as transport:
        close = CloseAsync(api_key="api_replay_only_key", transport=transport)
        lead = "lead_zsgxX0MOSJOwyq3RzcvumlxCBs1eaARNNOfQF510Kf6"
        draft = await close.emails.create(lead_id=lead, status="draft", subject="Hello")
        draft = await close.emails.update(draft, body_text="Hi there")
        sent = await close.emails.send(draft, sender="me@fake.close.test")
        assert (draft.status, sent.status) == ("draft", "outbox")
        emails = await close.emails.list(lead_id=lead).collect()
        assert [e.id for e in emails] == [sent.id]
        with pytest.raises(NotFoundError, match="Email not found"):
            await close.emails.get("acti_missing")


def test_other_versions_and_other_files_are_refused(tmp_path: Path) -> None:
    future = tmp_path / "v2.json"
    future.write_bytes(orjson.dumps({"version": 2, "interactions": []}))
    with pytest.raises(ValueError, match="not a version-1 closeasync cassette"):
        Cassette.load(future)
    other = tmp_path / "list.json"
    other.write_bytes(b"[]")
    with pytest.raises(ValueError, match="not a version-1"):
        Cassette.load(other)


@pytest.mark.parametrize(
    ("content", "stored"),
    [
        (None, None),
        (b"", None),
        (b'{"a": [1, "x"]}', {"json": {"a": [1, "x"]}}),
        (b"null", {"json": None}),
        (b"42", {"json": 42}),
        (b"<p>caf\xc3\xa9</p>", {"text": "<p>café</p>"}),
        (b"\xff\x00", {"base64": "/wA="}),
    ],
)
def test_encode_body(content: bytes | None, stored: dict[str, Any] | None) -> None:
    assert encode_body(content) == stored
    if stored is not None and "json" not in stored:
        assert decode_body(stored) == content


def test_json_bodies_keep_their_meaning_not_their_spacing() -> None:
    """JSON is stored parsed (diffable); what comes back is the same value, compactly written."""
    stored = encode_body(b'{ "b" : 1,\n  "a": [true, null, 1.5] }')
    assert orjson.loads(decode_body(stored)) == {"b": 1, "a": [True, None, 1.5]}


def test_scrubbing_paths() -> None:
    scrub = ScrubOptions(body_paths=("sender", "to", "data.*.sender", "**.remote_phone", "cc.1", "missing.x"))
    body = {
        "sender": "Ann <ann@example.com>",
        "to": ["bob@example.com", "carol@example.com"],
        "cc": ["keep@example.com", "drop@example.com"],
        "count": 3,
        "data": [{"sender": "dan@example.com", "id": "a"}, {"sender": None, "id": "b"}],
        "nested": {"deeper": [{"remote_phone": "+14155550100", "local_phone": "+16503334444"}]},
        "remote_phone": "+14155550199",
    }
    scrubbed = scrub.body({"json": body})
    assert scrubbed == {
        "json": {
            "sender": "<scrubbed>",
            "to": ["<scrubbed>", "<scrubbed>"],
            "cc": ["keep@example.com", "<scrubbed>"],
            "count": 3,
            "data": [{"sender": "<scrubbed>", "id": "a"}, {"sender": None, "id": "b"}],
            "nested": {"deeper": [{"remote_phone": "<scrubbed>", "local_phone": "+16503334444"}]},
            "remote_phone": "<scrubbed>",
        }
    }
    assert body["sender"] == "Ann <ann@example.com>"  # the input is not changed in place
    assert scrub.body({"text": "sender=ann"}) == {"text": "sender=ann"}
    assert scrub.body(None) is None


def test_one_name_given_as_a_string_is_one_name() -> None:
    scrub = ScrubOptions(headers="X-Custom", query="email", body_paths="sender")
    assert scrub.headers == frozenset({"x-custom"})
    assert scrub.query == frozenset({"email"})
    assert scrub.body_paths == ("sender",)
    match = MatchOptions(ignore_query="date_created__gt", ignore_body_paths="date_scheduled")
    assert match.ignore_query == frozenset({"date_created__gt"})
    assert match.ignore_body_paths == ("date_scheduled",)


def test_match_keys() -> None:
    scrub = ScrubOptions(query=frozenset({"email"}))

    def key(url: str, body: bytes | None = None, match: MatchOptions | None = None) -> object:
        return RecordedRequest.from_request(request("POST", url, body), scrub).key(match or MatchOptions())

    assert key(f"{BASE_URL}/a/?x=1&y=2", b'{"p": 1, "q": {"r": 2, "s": 3}}') == key(
        f"{BASE_URL}/a/?y=2&x=1", b'{"q": {"s": 3, "r": 2}, "p": 1}'
    )
    assert key(f"{BASE_URL}/a/?x=1") != key(f"{BASE_URL}/a/?x=2")
    assert key(f"{BASE_URL}/a/", b'{"p": 1}') != key(f"{BASE_URL}/a/", b'{"p": 2}')
    assert key(f"{BASE_URL}/a/") != key(f"{BASE_URL}/b/")
    assert key(f"{BASE_URL}/a/?email=a@x.com") == key(f"{BASE_URL}/a/?email=b@x.com")  # scrubbed
    ignoring = MatchOptions(ignore_query={"t"}, ignore_body_paths=("when", "items.*.at"))
    assert key(f"{BASE_URL}/a/?t=1&x=1", b'{"when": 1, "items": [{"at": 1, "n": 1}]}', ignoring) == key(
        f"{BASE_URL}/a/?x=1&t=2", b'{"when": 2, "items": [{"at": 2, "n": 1}]}', ignoring
    )
    assert key(f"{BASE_URL}/a/", b'{"items": [{"at": 1, "n": 1}]}', ignoring) != key(
        f"{BASE_URL}/a/", b'{"items": [{"at": 1, "n": 2}]}', ignoring
    )


def test_base_url_of_a_request() -> None:
    route = ROUTES["email"]["get"]
    live = Request("GET", "http://user:pw@127.0.0.1:8123/api/v1/activity/email/acti_1/?x=1", route=route)
    assert base_url_of(live) == "http://127.0.0.1:8123/api/v1"  # never the user information
    assert base_url_of(Request("GET", "https://h.test/anything/")) == "https://h.test"


async def test_a_recording_of_the_fake_replays_models_equal(tmp_path: Path) -> None:
    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "c.json"
    async with RecordingTransport(fake.transport(), path) as recorder:
        close = CloseAsync(api_key=fake.api_key, transport=recorder)
        created = await close.emails.create(lead_id=lead, status="draft", subject="Ünïcode ✓")
        got = await close.emails.get(created.id)
    async with ReplayTransport(path, allow_unused=False) as replay:
        close = CloseAsync(api_key=fake.api_key, transport=replay)
        assert await close.emails.create(lead_id=lead, status="draft", subject="Ünïcode ✓") == created
        assert await close.emails.get(created.id) == got
