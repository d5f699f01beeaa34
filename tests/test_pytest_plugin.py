"""The pytest plugin, tested with pytest's own ``pytester``: real pytest runs of small projects.

The plugin is loaded in those runs as users get it, through the ``pytest11`` entry
point, together with pytest-asyncio or anyio's plugin. Each run is a subprocess, so
the recording run's served fake really is gone when the replay run starts.
"""

from __future__ import annotations

import asyncio
import importlib.util
import socket
import textwrap
import threading
from pathlib import Path

import anyio
import orjson
import pytest

from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.testing._threadloop import ThreadLoopTransport
from closeasync.transports import Request, Response
from closeasync.transports.replay import RecordingTransport

pytest_plugins = ["pytester"]

HAS_TRIO = importlib.util.find_spec("trio") is not None
#: Nothing listens here: a replay run pointed at it would fail on any network use.
DEAD_URL = "http://127.0.0.1:9/api/v1"
#: Bounds each pytest subprocess (they take about a second).
RUN_TIMEOUT = 120.0

FAKE_TESTS = """
    async def test_send_an_email(close_fake_client, close_fake):
        lead = close_fake.add_lead("Acme")["id"]
        draft = await close_fake_client.emails.create(lead_id=lead, status="draft", subject="Hi")
        sent = await close_fake_client.emails.send(draft, sender="me@fake.close.test")
        assert sent.status == "outbox"
        assert close_fake.sent_emails == []
        close_fake.advance(1)
        assert [m.id for m in close_fake.sent_emails] == [draft.id]
        assert close_fake.sent_emails[0].message["status"] == "sent"

    async def test_each_test_has_a_fresh_fake(close_fake_client, close_fake):
        assert close_fake.sent_emails == [] and close_fake.activities == {}
        assert close_fake_client.transport.fake is close_fake
"""

SERVING_CONFTEST = f"""
    import asyncio
    import os
    import threading

    import pytest

    from closeasync.fake import FakeClose
    from closeasync.fake.app import serve
    from closeasync.testing import CassetteConfig

    FAKE = FakeClose(seed=7)
    LEAD_ID = FAKE.add_lead("Acme")["id"]  # the same id in every run: the ids are seeded


    class ServedInThread:
        \"\"\"The fake served over HTTP from a background thread with its own event loop.\"\"\"

        def __init__(self, fake):
            self.loop = asyncio.new_event_loop()
            self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
            self.thread.start()
            self.context = serve(fake)
            server = self.call(self.context.__aenter__())
            self.base_url = server.base_url

        def call(self, coroutine):
            return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

        def stop(self):
            self.call(self.context.__aexit__(None, None, None))
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(10)
            self.loop.close()


    @pytest.fixture(scope="session")
    def base_url():
        if os.environ.get("SERVE_FAKE") != "1":
            yield {DEAD_URL!r}
            return
        served = ServedInThread(FAKE)
        yield served.base_url
        served.stop()


    @pytest.fixture
    def close_cassette_config(base_url):
        return CassetteConfig(api_key=FAKE.api_key, base_url=base_url)


    @pytest.fixture
    def lead_id():
        return LEAD_ID
"""

CASSETTE_TESTS = """
    import pytest

    from closeasync import NotFoundError

    async def test_emails(close_cassette, lead_id):
        draft = await close_cassette.emails.create(lead_id=lead_id, status="draft", subject="Hi")
        sent = await close_cassette.emails.send(draft, sender="me@fake.close.test")
        assert sent.status == "outbox"
        assert [e.id for e in await close_cassette.emails.list(lead_id=lead_id).collect()] == [draft.id]
        with pytest.raises(NotFoundError):
            await close_cassette.emails.get("acti_missing")


    class TestGrouped:
        async def test_emails(self, close_cassette):
            with pytest.raises(NotFoundError):
                await close_cassette.emails.get("acti_grouped")
"""

ANYIO_HEADER = """
    import pytest

    pytestmark = pytest.mark.anyio

    @pytest.fixture(params={backends!r})
    def anyio_backend(request):
        return request.param
"""


ANYIO_ONE_BACKEND = """
pytestmark = pytest.mark.anyio

@pytest.fixture
def anyio_backend():
    return {backend!r}
"""


@pytest.fixture(autouse=True)
def _no_close_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs must not see a developer's real key or URL."""
    monkeypatch.delenv("CLOSE_API_KEY", raising=False)
    monkeypatch.delenv("CLOSE_BASE_URL", raising=False)
    monkeypatch.delenv("SERVE_FAKE", raising=False)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=RUN_TIMEOUT)


def asyncio_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        asyncio_mode = auto
        asyncio_default_fixture_loop_scope = function
        filterwarnings = error
        """
    )


def anyio_ini(pytester: pytest.Pytester) -> None:
    pytester.makeini(
        """
        [pytest]
        filterwarnings = error
        """
    )


# -- close_fake and close_fake_client -----------------------------------------------------------


def test_fake_fixtures_under_pytest_asyncio(pytester: pytest.Pytester) -> None:
    asyncio_ini(pytester)
    pytester.makepyfile(test_fake=textwrap.dedent(FAKE_TESTS))
    result = run(pytester, "-p", "no:anyio")
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize(
    "backend",
    ["asyncio", pytest.param("trio", marks=pytest.mark.skipif(not HAS_TRIO, reason="trio is not installed"))],
)
def test_fake_fixtures_under_anyio(pytester: pytest.Pytester, backend: str) -> None:
    anyio_ini(pytester)
    header = textwrap.dedent(ANYIO_HEADER.format(backends=[backend]))
    pytester.makepyfile(test_fake=header + textwrap.dedent(FAKE_TESTS))
    result = run(pytester, "-p", "no:asyncio", "-v")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines([f"*test_send_an_email?{backend}? PASSED*"])


# -- close_cassette -----------------------------------------------------------------------------


def refused(url: str) -> bool:
    """Whether nothing listens at ``url``'s port on 127.0.0.1."""
    port = int(url.split(":")[2].split("/")[0])
    with socket.socket() as probe:
        probe.settimeout(5)
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize(
    "runner",
    [
        "pytest-asyncio",
        "anyio-asyncio",
        pytest.param("anyio-trio", marks=pytest.mark.skipif(not HAS_TRIO, reason="trio is not installed")),
    ],
)
def test_record_once_against_the_served_fake_then_replay_without_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, runner: str
) -> None:
    pytester.makeconftest(textwrap.dedent(SERVING_CONFTEST))
    if runner.startswith("anyio-"):
        anyio_ini(pytester)
        backend = runner.removeprefix("anyio-")
        # One backend, not a parametrized one: the tests keep their names (and cassettes).
        marks = ANYIO_ONE_BACKEND.format(backend=backend)
        plugin_args = ["-p", "no:asyncio"]
    else:
        asyncio_ini(pytester)
        marks = ""
        plugin_args = ["-p", "no:anyio"]
    pytester.makepyfile(test_recorded=textwrap.dedent(CASSETTE_TESTS) + marks)
    folder = pytester.path / "cassettes" / "test_recorded"

    monkeypatch.setenv("SERVE_FAKE", "1")
    recording = run(pytester, *plugin_args, "--close-record-mode=once")
    recording.assert_outcomes(passed=2)
    assert sorted(p.name for p in folder.iterdir()) == ["TestGrouped.test_emails.json", "test_emails.json"]
    cassette = orjson.loads((folder / "test_emails.json").read_bytes())
    assert cassette["version"] == 1
    assert cassette["base_url"].startswith("http://127.0.0.1:")
    assert cassette["base_url"] != DEAD_URL
    methods = [i["request"]["method"] for i in cassette["interactions"]]
    assert methods == ["POST", "PUT", "GET", "GET"]
    assert FakeClose().api_key.encode() not in (folder / "test_emails.json").read_bytes()

    monkeypatch.delenv("SERVE_FAKE")
    assert refused(cassette["base_url"])
    assert refused(DEAD_URL)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    replaying = run(pytester, *plugin_args)  # the default mode: none
    replaying.assert_outcomes(passed=2)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before

    # once with the cassettes present replays too (and sends nothing: nothing is listening).
    run(pytester, *plugin_args, "--close-record-mode=once").assert_outcomes(passed=2)


def test_replay_fails_clearly_when_a_test_asks_for_something_else(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makeconftest(textwrap.dedent(SERVING_CONFTEST))
    asyncio_ini(pytester)
    pytester.makepyfile(
        test_changed="""
        async def test_emails(close_cassette, lead_id):
            await close_cassette.emails.list(lead_id=lead_id).collect()
        """
    )
    monkeypatch.setenv("SERVE_FAKE", "1")
    run(pytester, "--close-record-mode=once").assert_outcomes(passed=1)
    monkeypatch.delenv("SERVE_FAKE")
    pytester.makepyfile(
        test_changed="""
        async def test_emails(close_cassette, lead_id):
            await close_cassette.emails.list(lead_id="lead_other").collect()
        """
    )
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*UnmatchedRequestError: no recorded interaction left for GET /api/v1/activity/email/?*other*",
            "*nearest recorded requests:*",
        ]
    )


async def record_gets(path: Path, fake: FakeClose, ids: list[str]) -> None:
    async with RecordingTransport(fake.transport(), path) as recorder:
        close = CloseAsync(api_key=fake.api_key, transport=recorder)  # the default base URL
        for email_id in ids:
            await close.emails.get(email_id)


async def test_allow_unused_false_fails_a_test_that_leaves_interactions_unplayed(
    pytester: pytest.Pytester,
) -> None:
    fake = FakeClose(seed=8)
    lead = fake.add_lead("Acme")["id"]
    setup = CloseAsync(api_key=fake.api_key, transport=fake.transport())
    first, second = [(await setup.emails.create(lead_id=lead, status="draft", subject=s)).id for s in "ab"]
    folder = pytester.path / "cassettes"
    for name in (
        "test_unused/test_partial.json",
        "test_unused/test_everything.json",
        "test_unused/test_lenient.json",
        "test_unused/test_fails_part_way.json",
    ):
        await record_gets(folder / name, fake, [first, second])
    await record_gets(folder / "shared" / "both.json", fake, [first, second])

    asyncio_ini(pytester)
    pytester.makepyfile(
        test_unused=f"""
        import pytest

        @pytest.mark.close_cassette(allow_unused=False)
        async def test_partial(close_cassette):
            await close_cassette.emails.get({first!r})

        @pytest.mark.close_cassette(allow_unused=False)
        async def test_everything(close_cassette):
            await close_cassette.emails.get({first!r})
            await close_cassette.emails.get({second!r})

        async def test_lenient(close_cassette):
            await close_cassette.emails.get({first!r})

        @pytest.mark.close_cassette(allow_unused=False)
        async def test_fails_part_way(close_cassette):
            await close_cassette.emails.get({first!r})
            assert False, "the test's own failure"

        @pytest.mark.close_cassette("shared/both.json", allow_unused=False)
        async def test_named_cassette(close_cassette):
            await close_cassette.emails.get({second!r})
            await close_cassette.emails.get({first!r})
        """
    )
    result = run(pytester, "-p", "no:anyio")
    result.assert_outcomes(passed=4, errors=1, failed=1)  # a failed test gets no teardown error too
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_partial*",
            "*UnusedInteractionsError: 1 recorded interactions were never requested:*",
            f"*GET /api/v1/activity/email/{second}/*",
        ]
    )
    summary = result.stdout.str().split("short test summary info")[1]
    assert "test_everything" not in summary
    assert "ERROR test_unused.py::test_fails_part_way" not in summary
    assert "FAILED test_unused.py::test_fails_part_way - AssertionError" in summary


def test_a_bogus_record_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    asyncio_ini(pytester)
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = run(pytester, "--close-record-mode=bogus")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--close-record-mode: invalid choice: 'bogus'*"])


def test_a_bogus_ini_record_mode_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nclose_record_mode = sometimes\n")
    pytester.makepyfile(test_nothing="def test_nothing():\n    pass\n")
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*close_record_mode must be one of none, once, new_episodes, all*"])


def test_replay_without_a_cassette_says_how_to_record(pytester: pytest.Pytester) -> None:
    asyncio_ini(pytester)
    pytester.makepyfile(
        test_new="""
        async def test_fresh(close_cassette):
            await close_cassette.emails.get("acti_1")
        """
    )
    result = run(pytester)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*no cassette at *cassettes/test_new/test_fresh.json: record it once with*--close-record-mode=once*"]
    )
    assert not (pytester.path / "cassettes").exists()


def test_recording_without_a_key_says_what_is_missing(pytester: pytest.Pytester) -> None:
    asyncio_ini(pytester)
    pytester.makepyfile(
        test_new="""
        async def test_fresh(close_cassette):
            await close_cassette.emails.get("acti_1")
        """
    )
    result = run(pytester, "--close-record-mode=once")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*recording test_fresh.json needs CLOSE_API_KEY*"])


# -- the private loop recordings run on --------------------------------------------------------


class OnPrivateLoop:
    """An inner transport that notes which thread and loop it runs on, and whether it was cancelled."""

    def __init__(self, answer_after: float = 0.0) -> None:
        self.answer_after = answer_after
        self.started = threading.Event()
        self.cancelled = threading.Event()
        self.closed = threading.Event()
        self.threads: set[int] = set()

    async def send(self, request: Request) -> Response:
        asyncio.get_running_loop()  # an asyncio-only transport: this must not raise
        self.threads.add(threading.get_ident())
        self.started.set()
        try:
            # A slow server; the bound turns a regression into a failure, not a hang.
            await asyncio.sleep(self.answer_after)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return Response(200, (), b"{}", request)

    async def aclose(self) -> None:
        self.threads.add(threading.get_ident())
        self.closed.set()


async def test_the_private_loop_sends_and_closes() -> None:
    inner = OnPrivateLoop()
    transport = ThreadLoopTransport(lambda: inner)
    with anyio.fail_after(10):
        responses = [await transport.send(Request("GET", "http://127.0.0.1:9/")) for _ in range(3)]
        await transport.aclose()
        await transport.aclose()  # twice is fine
    assert [r.status for r in responses] == [200, 200, 200]
    assert inner.closed.is_set()
    assert len(inner.threads) == 1
    assert threading.get_ident() not in inner.threads


async def test_cancelling_a_recording_request_cancels_it_on_the_private_loop() -> None:
    inner = OnPrivateLoop(answer_after=10)
    transport = ThreadLoopTransport(lambda: inner)
    try:
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(transport.send, Request("GET", "http://127.0.0.1:9/"))
                assert await anyio.to_thread.run_sync(inner.started.wait, 5)
                tasks.cancel_scope.cancel()
            assert await anyio.to_thread.run_sync(inner.cancelled.wait, 5)
    finally:
        await transport.aclose()
