"""The closeasync pytest plugin: a fake Close, and cassettes per test.

Fixtures (all synchronous, so they work under pytest-asyncio in any mode and under
anyio's plugin):

``close_fake``
    a fresh :class:`~closeasync.fake.FakeClose` for the test.
``close_fake_client``
    a :class:`~closeasync.CloseAsync` talking to ``close_fake`` in-process.
``close_cassette``
    a :class:`~closeasync.CloseAsync` on the test's own cassette,
    ``cassettes/<module>/<test>.json`` beside the test file. Replays by default;
    ``pytest --close-record-mode=once`` (or ``new_episodes``, ``all``) records
    through the real API with ``CLOSE_API_KEY`` (and ``CLOSE_BASE_URL`` if set).
``close_cassette_config``
    override it to change the key, base URL, matching or scrubbing.

Mark a test with ``@pytest.mark.close_cassette("other/name.json", allow_unused=False)``
to choose its file or to fail when recorded interactions go unplayed.

Under pytest-asyncio's strict mode an unmarked ``async def`` test that asks for one of
these fixtures is marked ``asyncio`` for the user, so the tests in the README run in a
project with no configuration. Tests marked for another runner (anyio, trio), already
marked, or not asking for these fixtures are left alone.

This module is imported at the start of every pytest run of any project with closeasync
installed (the ``pytest11`` entry point), so it imports only pytest and the standard
library at module level: the client, the fake and the transports are imported by the
fixtures that use them.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ..client import CloseAsync
    from ..fake import FakeClose
    from ..transports.replay import RecordMode
    from ._config import CassetteConfig

__all__: list[str] = []

#: The key used on replay when CLOSE_API_KEY is not set: never sent anywhere.
REPLAY_KEY = "api_replay_only_not_a_real_key"
#: ``closeasync.transports.replay.RECORD_MODES``, repeated here because the option is
#: declared at startup, before anything heavy may be imported (a test keeps them equal).
RECORD_MODES = ("none", "once", "new_episodes", "all")
#: Whether the test's own call failed (then unplayed interactions are no news).
_CALL_FAILED = pytest.StashKey[bool]()
#: The fixtures this plugin provides: an async test asking for one is marked for pytest-asyncio.
FIXTURES = frozenset({"close_fake", "close_fake_client", "close_cassette", "close_cassette_config"})
#: Marks that hand a coroutine test to a runner: such a test is not ours to mark.
_RUNNER_MARKS = ("asyncio", "anyio", "trio")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("closeasync", "closeasync cassettes")
    group.addoption(
        "--close-record-mode",
        choices=RECORD_MODES,
        default=None,
        help="how close_cassette records: none (replay only; default), once, new_episodes, all",
    )
    parser.addini("close_record_mode", "default record mode of close_cassette", default="none")


def pytest_configure(config: pytest.Config) -> None:
    _record_mode(config)  # a bad ini value is a usage error up front, not an error in each test
    config.addinivalue_line(
        "markers",
        "close_cassette(path=None, *, allow_unused=True): the cassette file of this test "
        "(relative to the test's cassettes/ folder) and whether unplayed interactions fail it",
    )


# -- running async tests that use the fixtures under pytest-asyncio's strict mode ---------------


def _needs_asyncio_mark(item: pytest.Function) -> bool:
    """Whether ``item`` is an unmarked ``async def`` test asking for our fixtures itself.

    Only fixtures the test names (as parameters or with ``usefixtures``) count, not ones
    its other fixtures use: a test that does not name ours is not ours to run.
    """
    if not item.config.pluginmanager.has_plugin("asyncio") or not inspect.iscoroutinefunction(item.obj):
        return False
    if any(item.get_closest_marker(name) for name in _RUNNER_MARKS) or "anyio_backend" in item.fixturenames:
        return False  # already someone's: anyio also runs tests that ask for anyio_backend
    named = set(inspect.signature(item.obj).parameters)
    for mark in item.iter_markers("usefixtures"):
        named.update(mark.args)
    return not named.isdisjoint(FIXTURES)


@pytest.hookimpl(wrapper=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> Generator[None, None, None]:
    # pytest-asyncio 1.x parametrizes marked tests here (over its loop factories), before
    # the items exist: mark the definition first, as a decorator would have.
    if _needs_asyncio_mark(metafunc.definition):
        metafunc.definition.add_marker(pytest.mark.asyncio)
    return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> Generator[None, object, object]:
    # pytest-asyncio turns marked coroutine items into its own items in its own wrapper of
    # this hook; trylast makes ours the inner wrapper, so the mark is there when it looks.
    result = yield
    for item in result if isinstance(result, list) else [result]:
        if isinstance(item, pytest.Function) and _needs_asyncio_mark(item):
            item.add_marker(pytest.mark.asyncio)
    return result


# -- cassettes -----------------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _record_mode(config: pytest.Config) -> RecordMode:
    mode = config.getoption("--close-record-mode") or config.getini("close_record_mode")
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"close_record_mode must be one of {', '.join(RECORD_MODES)}, not {mode!r}")
    return mode  # type: ignore[no-any-return]


def cassette_path(node: pytest.Item, marked: str | None = None) -> Path:
    """``cassettes/<module>/<test>.json`` beside the test file (or the marked name).

    A test in a class is ``<Class>.<test>.json``, so methods of the same name in two
    classes of one module do not share a cassette.
    """
    folder = Path(node.path).parent / "cassettes" / Path(node.path).stem
    if marked:
        return folder.parent / marked
    cls = getattr(node, "cls", None)
    name = f"{cls.__name__}.{node.name}" if cls is not None else node.name
    return folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") + ".json")


@pytest.fixture
def close_fake() -> FakeClose:
    """A fresh fake Close organization."""
    from ..fake import FakeClose

    return FakeClose()


@pytest.fixture
def close_fake_client(close_fake: FakeClose) -> CloseAsync:
    """A client on ``close_fake``, in-process (nothing to close)."""
    from ..client import CloseAsync

    return CloseAsync(api_key=close_fake.api_key, transport=close_fake.transport())


@pytest.fixture
def close_cassette_config() -> CassetteConfig:
    """Key and base URL from ``CLOSE_API_KEY``/``CLOSE_BASE_URL``; override for more."""
    from ..client import DEFAULT_BASE_URL
    from ._config import CassetteConfig

    return CassetteConfig(
        api_key=os.environ.get("CLOSE_API_KEY"), base_url=os.environ.get("CLOSE_BASE_URL", DEFAULT_BASE_URL)
    )


@pytest.fixture
def close_cassette(
    request: pytest.FixtureRequest, close_cassette_config: CassetteConfig
) -> Iterator[CloseAsync]:
    """A client on this test's cassette (replayed, or recorded per ``--close-record-mode``)."""
    from ..client import CloseAsync
    from ..transports.aiohttp import AiohttpTransport
    from ..transports.replay import CassetteTransport
    from ._threadloop import ThreadLoopTransport

    config = close_cassette_config
    marker = request.node.get_closest_marker("close_cassette")
    marked_path = marker.args[0] if marker and marker.args else None
    allow_unused = marker.kwargs.get("allow_unused", config.allow_unused) if marker else config.allow_unused
    path = cassette_path(request.node, marked_path)
    mode = _record_mode(request.config)
    records = mode in ("all", "new_episodes") or (mode == "once" and not path.exists())
    if mode == "none" and not path.exists():
        pytest.fail(
            f"no cassette at {path}: record it once with `pytest --close-record-mode=once` "
            "(with CLOSE_API_KEY set, or a close_cassette_config override), then commit it",
            pytrace=False,
        )
    if records and not config.api_key:
        pytest.fail(
            f"recording {path.name} needs CLOSE_API_KEY (or a close_cassette_config override)",
            pytrace=False,
        )
    inner = ThreadLoopTransport(AiohttpTransport) if records else None
    try:
        transport = CassetteTransport(
            path,
            inner=inner,
            mode=mode,
            match=config.match,
            scrub=config.scrub,
            allow_unused=allow_unused,
            base_url=config.base_url,
        )
    except Exception:
        if inner is not None:
            inner.close()
        raise
    client = CloseAsync(api_key=config.api_key or REPLAY_KEY, base_url=config.base_url, transport=transport)
    yield client
    try:
        transport.save()
    finally:
        if inner is not None:
            inner.close()
    if not request.node.stash.get(_CALL_FAILED, False):
        # A test that failed part way naturally left interactions unplayed: its failure says more.
        transport.check_unused()
