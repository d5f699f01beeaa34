"""Record and replay: a scenario over real HTTP replayed with the server stopped,
concurrency, matching, record modes, secrets and instant waits.

Recordings of the served fake go through aiohttp on 127.0.0.1; everything else
records through the conftest's ``StubTransport`` or the in-process fake.
"""

from __future__ import annotations

import asyncio
import base64
import random
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import anyio
import attrs
import orjson
import pytest

from closeasync import CloseAsync
from closeasync.errors import (
    BadRequestError,
    CassetteSecretError,
    CloseError,
    ConfigurationError,
    ConnectError,
    NotFoundError,
    RateLimitError,
    UnmatchedRequestError,
    UnusedInteractionsError,
)
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.models import SMS, Email
from closeasync.pipeline.auth import Credentials
from closeasync.pipeline.routes import ROUTES
from closeasync.transports import AiohttpTransport, Request, Response, Transport
from closeasync.transports.cassette import Cassette, MatchOptions, ScrubOptions
from closeasync.transports.replay import CassetteTransport, RecordingTransport, ReplayTransport
from tests.conftest import NO_RETRY, StubTransport, json_response

GET_EMAIL = ROUTES["email"]["get"]
#: Bounds every recording against the served fake (loopback: it takes well under a second).
RECORD_LIMIT = 30.0
#: Replay is instant; this only keeps a hang from stalling the suite.
REPLAY_LIMIT = 5.0


def facts(error: CloseError) -> tuple[Any, ...]:
    """What must be identical about an error on replay."""
    return (
        type(error),
        getattr(error, "status", None),
        getattr(error, "message", str(error)),
        getattr(error, "field_errors", None),
        getattr(error, "retry_after", None),
    )


@attrs.frozen
class Outcome:
    models: list[object]
    errors: list[tuple[Any, ...]]


async def email_scenario(close: CloseAsync, lead_id: str, fake: FakeClose | None) -> Outcome:
    """Create, update, send, list in pages, a 429 then success, a 404, a 400.

    ``fake`` is the live fake while recording (to switch its rate limit on and off)
    and None on replay, where the cassette answers the same.
    """
    models: list[object] = []
    failures: list[tuple[Any, ...]] = []
    draft = await close.emails.create(
        lead_id=lead_id, status="draft", subject="Hello", to=["ann@example.com"]
    )
    edited = await close.emails.update(draft, body_text="Hi Ann")
    sent = await close.emails.send(edited, sender="me@fake.close.test")
    models += [draft, edited, sent]
    for n in range(4):
        models.append(await close.emails.create(lead_id=lead_id, status="draft", subject=f"Note {n}"))
    pages = [page async for page in close.emails.list(lead_id=lead_id, page_size=2).pages()]
    models.append([(page.skip, page.has_more, page.items) for page in pages])

    if fake is not None:
        # A short window: after the 429 the client holds this group until it ends.
        fake.rate_limits.set(GET_EMAIL.group, budget=1, window=0.5)
    models.append(await close.emails.get(sent.id))
    with pytest.raises(RateLimitError) as limited:
        await close.emails.get(sent.id)
    failures.append(facts(limited.value))
    if fake is not None:
        fake.rate_limits.clear()
    models.append(await close.emails.get(sent.id))  # asked again by hand (this client does not retry)

    with pytest.raises(NotFoundError) as missing:
        await close.emails.get("acti_doesnotexist")
    failures.append(facts(missing.value))
    with pytest.raises(BadRequestError) as refused:
        await close.emails.update(sent.id, subject="Too late")  # by id: Close itself refuses
    failures.append(facts(refused.value))
    return Outcome(models, failures)


async def test_a_scenario_recorded_over_http_replays_with_the_server_stopped(tmp_path: Path) -> None:
    path = tmp_path / "scenario.json"
    fake = FakeClose(seed=11)
    lead = fake.add_lead("Acme")["id"]
    async with serve(fake) as server:
        base_url = server.base_url
        with anyio.fail_after(RECORD_LIMIT):
            async with RecordingTransport(AiohttpTransport(), path) as recorder:
                close = CloseAsync(
                    retry=NO_RETRY,
                    pace_rate_limits=False,
                    api_key=fake.api_key,
                    base_url=base_url,
                    transport=recorder,
                )
                recorded = await email_scenario(close, lead, fake)

    # What was recorded is what the scenario asserts about.
    pages = recorded.models[7]
    assert isinstance(pages, list)
    assert [(skip, more, len(items)) for skip, more, items in pages] == [
        (0, True, 2),
        (2, True, 2),
        (4, False, 1),
    ]
    assert [f[:2] for f in recorded.errors] == [
        (RateLimitError, 429),
        (NotFoundError, 404),
        (BadRequestError, 400),
    ]
    assert 0 < recorded.errors[0][4] <= 0.5  # retry_after, from the RateLimit header's reset
    assert recorded.errors[2][3]["status"].startswith("only drafts can be modified")

    # The server is stopped: anything that used the network now would fail.
    probe = AiohttpTransport()
    with anyio.fail_after(REPLAY_LIMIT), pytest.raises(ConnectError):
        await probe.send(Request("GET", f"{base_url}/activity/email/"))
    await probe.aclose()

    written = path.read_bytes()
    with anyio.fail_after(REPLAY_LIMIT):
        async with ReplayTransport(path, allow_unused=False) as replay:
            assert isinstance(replay, ReplayTransport)
            assert not replay.recording
            close = CloseAsync(
                retry=NO_RETRY,
                pace_rate_limits=False,
                api_key=fake.api_key,
                base_url=base_url,
                transport=replay,
            )
            replayed = await email_scenario(close, lead, None)
    assert replayed.models == recorded.models
    assert replayed.errors == recorded.errors
    assert path.read_bytes() == written  # replay writes nothing


async def test_fifty_concurrent_gets_replay_the_same_in_any_order(tmp_path: Path) -> None:
    path = tmp_path / "concurrent.json"
    fake = FakeClose(seed=12)
    lead = fake.add_lead("Acme")["id"]
    setup = CloseAsync(
        retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=fake.transport()
    )
    ids = [
        (await setup.emails.create(lead_id=lead, status="draft", subject=f"Email {n}")).id for n in range(50)
    ]

    async with serve(fake) as server:
        with anyio.fail_after(RECORD_LIMIT):
            async with RecordingTransport(AiohttpTransport(), path) as recorder:
                close = CloseAsync(
                    retry=NO_RETRY,
                    pace_rate_limits=False,
                    api_key=fake.api_key,
                    base_url=server.base_url,
                    transport=recorder,
                )
                recorded = await asyncio.gather(*(close.emails.get(i) for i in ids))
    expected = {email.id: email for email in recorded}
    assert list(expected) == ids
    assert len({email.subject for email in recorded}) == 50

    orders = []
    for seed in range(3):
        order = ids.copy()
        random.Random(seed).shuffle(order)
        orders.append(order)
        with anyio.fail_after(REPLAY_LIMIT):
            async with ReplayTransport(path, allow_unused=False) as replay:
                close = CloseAsync(
                    retry=NO_RETRY,
                    pace_rate_limits=False,
                    api_key=fake.api_key,
                    base_url=server.base_url,
                    transport=replay,
                )
                replayed = await asyncio.gather(*(close.emails.get(i) for i in order))
        assert [email.id for email in replayed] == order  # each id gets its own email
        assert {email.id: email for email in replayed} == expected
    assert len({tuple(order) for order in [ids, *orders]}) == 4  # really different orders


async def test_identical_requests_replay_in_recorded_order(tmp_path: Path) -> None:
    path = tmp_path / "identical.json"
    fake = FakeClose(seed=13)
    lead = fake.add_lead("Acme")["id"]

    async def gets_between_updates(close: CloseAsync, email_id: str) -> list[Email]:
        seen = []
        for n in range(5):
            seen.append(await close.emails.get(email_id))
            await close.emails.update(email_id, subject=f"Version {n + 1}")
        return seen

    async with serve(fake) as server:
        with anyio.fail_after(RECORD_LIMIT):
            async with RecordingTransport(AiohttpTransport(), path) as recorder:
                close = CloseAsync(
                    retry=NO_RETRY,
                    pace_rate_limits=False,
                    api_key=fake.api_key,
                    base_url=server.base_url,
                    transport=recorder,
                )
                draft = await close.emails.create(lead_id=lead, status="draft", subject="Version 0")
                versions = await gets_between_updates(close, draft.id)
    assert [v.subject for v in versions] == [f"Version {n}" for n in range(5)]

    with anyio.fail_after(REPLAY_LIMIT):
        # Five identical gets at once: each takes the next recorded answer, in the order started.
        async with ReplayTransport(path) as replay:
            close = CloseAsync(
                retry=NO_RETRY,
                pace_rate_limits=False,
                api_key=fake.api_key,
                base_url=server.base_url,
                transport=replay,
            )
            concurrent = await asyncio.gather(*(close.emails.get(draft.id) for _ in range(5)))
        assert concurrent == versions
        # The same sequence again plays every interaction, in order.
        async with ReplayTransport(path, allow_unused=False) as replay:
            close = CloseAsync(
                retry=NO_RETRY,
                pace_rate_limits=False,
                api_key=fake.api_key,
                base_url=server.base_url,
                transport=replay,
            )
            assert await close.emails.create(lead_id=lead, status="draft", subject="Version 0") == draft
            assert await gets_between_updates(close, draft.id) == versions


class GatedTransport:
    """Answers each request only when the test opens its gate, so they finish in any order."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, anyio.Event] = {}
        self.waiting = 0
        self.all_waiting = anyio.Event()
        self.expected = 0

    async def send(self, request: Request) -> Response:
        self.started.append(request.url)
        gate = self.gates.setdefault(request.url, anyio.Event())
        self.waiting += 1
        if self.waiting == self.expected:
            self.all_waiting.set()
        await gate.wait()
        return json_response({"url": request.url})

    async def aclose(self) -> None:
        pass


async def test_concurrent_requests_are_recorded_in_the_order_they_started(tmp_path: Path) -> None:
    path = tmp_path / "started.json"
    gated = GatedTransport()
    gated.expected = 5
    urls = [f"https://close.test/api/v1/activity/email/acti_{n}/" for n in range(5)]
    finished: list[str] = []
    done = {url: anyio.Event() for url in urls}

    async def one(recorder: RecordingTransport, url: str) -> None:
        await recorder.send(Request("GET", url))
        finished.append(url)
        done[url].set()

    with anyio.fail_after(REPLAY_LIMIT):
        async with RecordingTransport(gated, path) as recorder, anyio.create_task_group() as tasks:
            for url in urls:
                tasks.start_soon(one, recorder, url)
            await gated.all_waiting.wait()
            for url in reversed(gated.started):  # the last to start finishes first
                gated.gates[url].set()
                await done[url].wait()
    assert finished == list(reversed(gated.started))
    stored = [i.request.path for i in Cassette.load(path).interactions]
    assert stored == [url.removeprefix("https://close.test") for url in gated.started]


# -- matching ---------------------------------------------------------------------------------


def counting_stub() -> StubTransport:
    """A stub whose every answer says which request it was (so re-recordings differ)."""
    stub = StubTransport()
    stub.handler = lambda request: json_response({"n": len(stub.requests), "url": request.url})
    return stub


def get(url: str, body: bytes | None = None, method: str = "GET") -> Request:
    return Request(method, f"https://close.test/api/v1{url}", (("authorization", "Bearer tok_123456"),), body)


async def record(path: Path, *requests: Request, **options: Any) -> list[Response]:
    async with RecordingTransport(counting_stub(), path, **options) as recorder:
        return [await recorder.send(r) for r in requests]


async def test_query_order_and_body_key_order_do_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    [answer] = await record(
        path, get("/activity/email/?b=2&a=1&a=0", b'{"x": 1, "y": {"p": [1, 2], "q": 3}}', "POST")
    )
    async with ReplayTransport(path, allow_unused=False) as replay:
        again = await replay.send(
            get("/activity/email/?a=0&a=1&b=2", b'{"y":{"q":3,"p":[1,2]},"x":1}', "POST")
        )
    assert again.content == answer.content


@pytest.mark.parametrize(
    "live",
    [
        get("/activity/email/?b=2&a=1", b'{"x": 1}', "PUT"),  # method
        get("/activity/sms/?b=2&a=1", b'{"x": 1}', "POST"),  # path
        get("/activity/email/?b=3&a=1", b'{"x": 1}', "POST"),  # a query value
        get("/activity/email/?a=1", b'{"x": 1}', "POST"),  # a query parameter fewer
        get("/activity/email/?b=2&a=1", b'{"x": 2}', "POST"),  # a body value
        get("/activity/email/?b=2&a=1", b'{"x": 1, "z": null}', "POST"),  # a body key more
        get("/activity/email/?b=2&a=1", b"x=1", "POST"),  # not JSON
    ],
    ids=["method", "path", "query-value", "query-missing", "body-value", "body-key", "body-form"],
)
async def test_what_differs_does_not_match(tmp_path: Path, live: Request) -> None:
    path = tmp_path / "c.json"
    await record(path, get("/activity/email/?b=2&a=1", b'{"x": 1}', "POST"))
    async with ReplayTransport(path) as replay:
        with pytest.raises(UnmatchedRequestError):
            await replay.send(live)


async def test_an_unmatched_request_shows_itself_and_the_nearest_candidates(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(
        path,
        get("/activity/email/?lead_id=lead_1"),
        get("/activity/sms/?lead_id=lead_9"),
        get("/activity/note/", b'{"note": "hi"}', "POST"),
        get("/activity/email/acti_1/", b'{"subject": "x"}', "PUT"),
    )
    async with ReplayTransport(path) as replay:
        with pytest.raises(UnmatchedRequestError) as caught:
            await replay.send(get("/activity/email/?lead_id=lead_2"))
        message = str(caught.value)
        assert message.startswith(
            "no recorded interaction left for GET /api/v1/activity/email/?lead_id=lead_2\n"
        )
        candidates = message.split("nearest recorded requests:\n", 1)[1].splitlines()
        assert candidates[0] == "  GET /api/v1/activity/email/?lead_id=lead_1"
        assert len([c for c in candidates if c.startswith("  ")]) == 3
        assert str(path) in message
        assert "mode none" in message
        assert "tok_123456" not in message
        assert "Bearer" not in message

        # A recorded request answers once: asking again is unmatched too.
        await replay.send(get("/activity/sms/?lead_id=lead_9"))
        with pytest.raises(
            UnmatchedRequestError, match=r"left for GET /api/v1/activity/sms/\?lead_id=lead_9"
        ):
            await replay.send(get("/activity/sms/?lead_id=lead_9"))


async def test_an_empty_cassette_says_so(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(Cassette().dumps())
    async with ReplayTransport(path) as replay:
        with pytest.raises(UnmatchedRequestError, match=r"\(the cassette is empty\)"):
            await replay.send(get("/activity/"))


async def test_ignored_query_params_and_body_paths_let_timestamps_differ(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    fake = FakeClose(seed=14)
    lead = fake.add_lead("Acme")["id"]
    then = fake.now + timedelta(days=1)
    ignoring = MatchOptions(ignore_query={"date_created__gt"}, ignore_body_paths=("date_scheduled",))

    async def schedule_and_list(close: CloseAsync, at_offset: timedelta) -> list[Email]:
        draft = await close.emails.create(lead_id=lead, status="draft", subject="Later")
        await close.emails.schedule(draft, at=then + at_offset, sender="me@fake.close.test")
        since = fake.now - timedelta(hours=1) + at_offset
        return await close.emails.list(lead_id=lead, date_created__gt=since).collect()

    async with RecordingTransport(fake.transport(), path, match=ignoring) as recorder:
        recorded = await schedule_and_list(
            CloseAsync(retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=recorder),
            timedelta(0),
        )
    assert [e.status for e in recorded] == ["scheduled"]

    async with ReplayTransport(path, match=ignoring, allow_unused=False) as replay:
        close = CloseAsync(retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=replay)
        assert await schedule_and_list(close, timedelta(minutes=7)) == recorded

    async with ReplayTransport(path) as strict:
        close = CloseAsync(retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=strict)
        with pytest.raises(UnmatchedRequestError, match="date_scheduled"):
            await schedule_and_list(close, timedelta(minutes=7))
    async with ReplayTransport(path) as strict:
        close = CloseAsync(retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=strict)
        await close.emails.create(lead_id=lead, status="draft", subject="Later")
        with pytest.raises(UnmatchedRequestError, match="date_created__gt"):
            await close.emails.list(lead_id=lead, date_created__gt=fake.now).collect()


async def test_unused_interactions_are_reported_or_fail(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, get("/a/"), get("/b/?x=1"), get("/c/", b'{"k": 1}', "POST"))

    lenient = ReplayTransport(path)
    await lenient.send(get("/a/"))
    assert [i.request.describe() for i in lenient.unused()] == [
        "GET /api/v1/b/?x=1",
        'POST /api/v1/c/ {"k":1}',
    ]
    await lenient.aclose()  # allowed by default

    strict = ReplayTransport(path, allow_unused=False)
    await strict.send(get("/a/"))
    with pytest.raises(UnusedInteractionsError) as caught:
        await strict.aclose()
    assert str(caught.value) == (
        '2 recorded interactions were never requested:\n  GET /api/v1/b/?x=1\n  POST /api/v1/c/ {"k":1}'
    )

    async def fail_part_way() -> None:
        async with ReplayTransport(path, allow_unused=False) as failing:
            await failing.send(get("/a/"))
            raise NotFoundError("the block's own failure", status=404)

    with pytest.raises(NotFoundError):  # a block that fails part way keeps its own error
        await fail_part_way()

    complete = ReplayTransport(path, allow_unused=False)
    for r in (get("/c/", b'{"k":1}', "POST"), get("/b/?x=1"), get("/a/")):  # any order
        await complete.send(r)
    await complete.aclose()


# -- record modes -----------------------------------------------------------------------------


def stored_paths(path: Path) -> list[str]:
    return [
        i.request.path + "?" + "&".join("=".join(q) for q in i.request.query)
        for i in Cassette.load(path).interactions
    ]


def stored_n(path: Path) -> list[int]:
    out = []
    for interaction in Cassette.load(path).interactions:
        body = interaction.response.body
        assert body is not None
        out.append(body["json"]["n"])
    return out


def test_mode_none_needs_a_cassette(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"no cassette at .*missing\.json; record it first"):
        ReplayTransport(tmp_path / "missing.json")
    with pytest.raises(ConfigurationError, match="no cassette"):
        CassetteTransport(tmp_path / "missing.json", inner=counting_stub())
    assert not (tmp_path / "missing.json").exists()


async def test_mode_none_never_records(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, get("/a/"))
    inner = counting_stub()
    async with CassetteTransport(path, inner=inner, mode="none") as transport:
        assert transport.instant_waits is True
        assert not transport.recording
        await transport.send(get("/a/"))
        with pytest.raises(UnmatchedRequestError):
            await transport.send(get("/b/"))
    assert inner.requests == []
    assert inner.closed
    assert stored_paths(path) == ["/api/v1/a/?"]


async def test_mode_once_records_when_missing_and_replays_when_present(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "c.json"
    first = counting_stub()
    async with CassetteTransport(path, inner=first, mode="once") as transport:
        assert transport.recording
        assert transport.instant_waits is False
        recorded = [await transport.send(get(u)) for u in ("/a/", "/b/", "/a/")]
    assert len(first.requests) == 3
    assert path.exists()

    second = counting_stub()
    async with CassetteTransport(path, inner=second, mode="once", allow_unused=False) as transport:
        assert not transport.recording
        assert transport.instant_waits is True
        replayed = [await transport.send(get(u)) for u in ("/a/", "/b/", "/a/")]
        with pytest.raises(UnmatchedRequestError):  # a present cassette is not added to
            await transport.send(get("/c/"))
    assert second.requests == []  # the second run sent nothing
    assert [r.content for r in replayed] == [r.content for r in recorded]
    assert stored_n(path) == [1, 2, 3]


async def test_mode_once_without_requests_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    async with CassetteTransport(path, inner=counting_stub(), mode="once"):
        pass
    assert not path.exists()


async def test_mode_new_episodes_replays_the_known_and_records_the_new(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, get("/a/"), get("/b/"))
    inner = counting_stub()
    async with CassetteTransport(path, inner=inner, mode="new_episodes") as transport:
        assert transport.recording
        assert transport.instant_waits is False
        known = await transport.send(get("/a/"))
        await transport.send(get("/c/"))
        await transport.send(get("/a/"))  # the recorded /a/ is used up: this one is new
    assert orjson.loads(known.content)["n"] == 1  # from the cassette
    assert [r.url for r in inner.requests] == [get("/c/").url, get("/a/").url]
    assert stored_paths(path) == ["/api/v1/a/?", "/api/v1/b/?", "/api/v1/c/?", "/api/v1/a/?"]
    assert stored_n(path) == [1, 2, 1, 2]


async def test_mode_all_records_afresh(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    await record(path, get("/a/"), get("/b/"))
    before = Cassette.load(path)
    inner = counting_stub()
    inner.handler = lambda request: json_response({"n": 100 + len(inner.requests), "url": request.url})
    async with CassetteTransport(path, inner=inner, mode="all") as transport:
        assert transport.recording
        assert transport.instant_waits is False
        await transport.send(get("/a/"))
        await transport.send(get("/c/"))
    assert len(inner.requests) == 2  # /a/ was sent again although it was recorded
    assert stored_paths(path) == ["/api/v1/a/?", "/api/v1/c/?"]
    assert stored_n(path) == [101, 102]
    assert Cassette.load(path).recorded_at >= before.recorded_at


def test_bad_modes_and_missing_inner_transports_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="record mode must be one of none, once, new_episodes, all"):
        CassetteTransport(tmp_path / "c.json", mode="sometimes")  # type: ignore[arg-type]
    for mode in ("once", "new_episodes", "all"):
        with pytest.raises(ConfigurationError, match="needs an inner transport"):
            CassetteTransport(tmp_path / "c.json", mode=mode)


# -- secrets ----------------------------------------------------------------------------------

API_KEY = "api_SECRETKEY0123456789abcdefghij"
OAUTH_TOKEN = "oauth_SECRETTOKEN_abcdef0123456789"
CUSTOM = "custom-header-secret-9f8e7d"
QUERY_EMAIL = "carol.query@example.com"
SENDER = "Ann Secret <ann.secret@example.com>"
RECIPIENT = "bob.secret@example.com"
PHONE = "+14155550123"
SCRUB = ScrubOptions(
    headers={"X-Custom"},
    query={"email"},
    body_paths=(
        "sender",
        "to",
        "envelope",
        "data.*.sender",
        "data.*.to",
        "data.*.envelope",
        "**.remote_phone",
        "**.remote_phone_formatted",
    ),
)


class Tagging:
    """Adds a custom header (and, on gets, an ``email`` query parameter) to every request."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    async def send(self, request: Request) -> Response:
        url = request.url
        if request.route in (GET_EMAIL, ROUTES["sms"]["get"]):
            url += ("&" if "?" in url else "?") + "email=" + quote(QUERY_EMAIL, safe="")
        tagged = attrs.evolve(request, url=url, headers=(*request.headers, ("X-Custom", CUSTOM)))
        return await self.inner.send(tagged)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def __aenter__(self) -> Tagging:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class EchoCustomHeader:
    """The fake, answering with the request's custom header (a response header to scrub)."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner

    async def send(self, request: Request) -> Response:
        response = await self.inner.send(request)
        echoed = (*response.headers, ("X-Custom", request.header("x-custom") or ""))
        return attrs.evolve(response, headers=echoed)

    async def aclose(self) -> None:
        await self.inner.aclose()


@attrs.frozen
class Personal:
    emails: list[Email]
    sms: list[SMS]


async def personal_scenario(make: Callable[..., CloseAsync], lead_id: str) -> Personal:
    """Emails and SMS full of personal data, by API key and by OAuth token."""
    close = make(api_key=API_KEY)
    draft = await close.emails.create(
        lead_id=lead_id, status="draft", subject="Hi", to=[RECIPIENT], sender=SENDER
    )
    sent = await close.emails.send(draft)
    listed = await close.emails.list(lead_id=lead_id).collect()
    sms = await close.sms.create(lead_id=lead_id, status="draft", remote_phone=PHONE, text="Hello")
    by_token = make(oauth_token=OAUTH_TOKEN)
    return Personal(
        [draft, sent, *listed, await by_token.emails.get(draft.id)], [sms, await close.sms.get(sms.id)]
    )


async def test_no_credential_and_no_scrubbed_value_reaches_the_cassette(tmp_path: Path) -> None:
    path = tmp_path / "personal.json"
    fake = FakeClose(seed=15, api_keys=(API_KEY,), oauth_tokens=(OAUTH_TOKEN,))
    lead = fake.add_lead("Acme")["id"]
    basic = Credentials.api_key(API_KEY).header
    secrets = {
        "API key": API_KEY,
        "OAuth token": OAUTH_TOKEN,
        "Basic header": basic,
        "Basic token": basic.removeprefix("Basic "),
        "Bearer header": f"Bearer {OAUTH_TOKEN}",
        "custom header": CUSTOM,
        "query email": QUERY_EMAIL,
        "query email, encoded": quote(QUERY_EMAIL, safe=""),
        "sender": "ann.secret",
        "recipient": RECIPIENT,
        "phone": PHONE,
        "phone, formatted": "415-555-0123",
    }

    recorder = RecordingTransport(EchoCustomHeader(fake.transport()), path, scrub=SCRUB)
    async with Tagging(recorder) as transport:
        recorded = await personal_scenario(
            lambda **kw: CloseAsync(retry=NO_RETRY, pace_rate_limits=False, **kw, transport=transport), lead
        )
    assert recorded.emails[0].sender == SENDER  # the live answers are whole
    assert recorded.sms[1].remote_phone == PHONE

    content = path.read_bytes()
    for name, secret in secrets.items():
        assert secret.encode() not in content, f"the {name} is in the cassette"
    assert b"authorization" not in content.lower()
    assert b"bearer" not in content.lower()
    assert b"<scrubbed>" in content
    first = Cassette.load(path).interactions[0]
    assert ("x-custom", "<scrubbed>") in first.request.headers
    assert ("X-Custom", "<scrubbed>") in first.response.headers

    # Replay scrubs the live requests the same way, so they still match.
    replay = ReplayTransport(path, scrub=SCRUB, allow_unused=False)
    async with Tagging(replay) as transport:
        replayed = await personal_scenario(
            lambda **kw: CloseAsync(retry=NO_RETRY, pace_rate_limits=False, **kw, transport=transport), lead
        )
    assert [m.id for m in replayed.emails + replayed.sms] == [m.id for m in recorded.emails + recorded.sms]
    assert {(e.sender, tuple(e.to or ())) for e in replayed.emails} == {("<scrubbed>", ("<scrubbed>",))}
    assert [s.remote_phone for s in replayed.sms] == ["<scrubbed>", "<scrubbed>"]
    assert [s.text for s in replayed.sms] == ["Hello", "Hello"]  # what was not scrubbed is intact


class EchoCredentials:
    """A server that echoes the caller's credential back: in a body, a header, text or bytes."""

    def __init__(self, where: str) -> None:
        self.where = where

    async def send(self, request: Request) -> Response:
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        secret = base64.b64decode(token).decode().rstrip(":") if scheme == "Basic" else token
        if self.where == "json":
            return json_response({"you": {"key": secret}}, headers=())
        if self.where == "header":
            return Response(200, (("X-Echo", header),), b"{}", request)
        if self.where == "text":
            return Response(200, (("content-type", "text/plain"),), f"your key is {secret}".encode(), request)
        return Response(200, (("content-type", "application/octet-stream"),), b"\xff\x00" + secret.encode())

    async def aclose(self) -> None:
        pass


@pytest.mark.parametrize("where", ["json", "header", "text", "binary"])
@pytest.mark.parametrize("credential", ["api_key", "oauth_token"])
async def test_a_cassette_that_would_hold_a_credential_is_not_written(
    tmp_path: Path, where: str, credential: str
) -> None:
    path = tmp_path / "sub" / "leaky.json"
    secret = API_KEY if credential == "api_key" else OAUTH_TOKEN
    recorder = RecordingTransport(EchoCredentials(where), path)
    auth = Credentials.api_key(secret) if credential == "api_key" else Credentials.oauth_token(secret)
    echoed = await recorder.send(
        Request("GET", "https://close.test/api/v1/me/", (("authorization", auth.header),))
    )
    assert secret.encode() in echoed.content or auth.header in dict(echoed.headers).values()
    with pytest.raises(
        CassetteSecretError, match=r"refusing to write .*leaky\.json: it would contain a credential"
    ) as caught:
        await recorder.aclose()
    assert secret not in str(caught.value)
    assert not path.exists()
    assert files_under(tmp_path) == []  # no file, no partial file, no folder


def files_under(folder: Path) -> list[Path]:
    return list(folder.rglob("*"))


async def test_scrubbing_the_echo_makes_the_cassette_writable(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    recorder = RecordingTransport(EchoCredentials("json"), path, scrub=ScrubOptions(body_paths=("you.key",)))
    auth = Credentials.api_key(API_KEY).header
    echoed = await recorder.send(Request("GET", "https://close.test/api/v1/me/", (("authorization", auth),)))
    assert API_KEY.encode() in echoed.content  # the caller still sees the live answer
    await recorder.aclose()
    assert API_KEY.encode() not in path.read_bytes()
    assert b'"key": "<scrubbed>"' in path.read_bytes()


async def test_declared_secrets_are_refused_too(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    stub = StubTransport()
    stub.queue(json_response({"webhook_secret": "whsec_0123456789"}))
    recorder = RecordingTransport(stub, path, secrets=("whsec_0123456789",))
    await recorder.send(get("/webhook/"))
    with pytest.raises(CassetteSecretError):
        await recorder.aclose()
    assert not path.exists()
    assert stub.closed  # the inner transport is closed even so


# -- instant waits ----------------------------------------------------------------------------


async def test_replaying_transports_wait_instantly_and_recording_ones_do_not(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    recorder = RecordingTransport(counting_stub(), path)
    assert recorder.instant_waits is False
    await recorder.send(get("/a/"))
    await recorder.aclose()
    assert ReplayTransport(path).instant_waits is True
    assert CassetteTransport(path, inner=counting_stub(), mode="once").instant_waits is True
    assert CassetteTransport(path, inner=counting_stub(), mode="new_episodes").instant_waits is False
    assert CassetteTransport(path, inner=counting_stub(), mode="all").instant_waits is False
    assert CassetteTransport(tmp_path / "new.json", inner=counting_stub(), mode="once").instant_waits is False


async def test_a_recorded_429_with_retry_after_replays_at_once(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    fake = FakeClose(seed=16)
    lead = fake.add_lead("Acme")["id"]
    email = await CloseAsync(
        retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=fake.transport()
    ).emails.create(lead_id=lead, status="draft", subject="Hi")
    stub = StubTransport()
    stub.queue(
        json_response(
            {"error": "API rate limit exceeded"},
            429,
            (("Retry-After", "30"), ("RateLimit", "limit=1, remaining=0, reset=30")),
        ),
        json_response(fake.activities[email.id]),
    )
    request = Request("GET", f"https://api.close.com/api/v1/activity/email/{email.id}/", route=GET_EMAIL)
    async with RecordingTransport(stub, path) as recorder:  # recorded without the client: no waiting
        await recorder.send(request)
        await recorder.send(request)

    with anyio.fail_after(REPLAY_LIMIT):
        async with ReplayTransport(path, allow_unused=False) as replay:
            close = CloseAsync(retry=NO_RETRY, pace_rate_limits=False, api_key=fake.api_key, transport=replay)
            waited: float | None = None
            try:
                got = await close.emails.get(email.id)
            except RateLimitError as limited:  # a client that does not retry by itself
                waited = limited.retry_after
                got = await close.emails.get(email.id)
    assert waited == 30
    assert got == email
