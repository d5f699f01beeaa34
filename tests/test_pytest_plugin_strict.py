"""The pytest plugin in anyone's project: strict pytest-asyncio, no configuration, light startup.

A fresh project has no ``asyncio_mode = auto``, so pytest-asyncio runs in strict mode and
would not run an unmarked ``async def`` test; the plugin marks the ones asking for its
fixtures. And every pytest run of such a project imports the plugin (the ``pytest11``
entry point), so importing it must not pull in the client, the fake or aiohttp.
"""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
import textwrap
from typing import Any

import pytest
import pytest_asyncio.plugin

import closeasync.testing
from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.testing import plugin
from closeasync.transports.replay import RECORD_MODES, RecordingTransport

from .test_pytest_plugin import FAKE_TESTS, HAS_TRIO, run
from .test_readme import plugin_examples

pytest_plugins = ["pytester"]

#: Modules the plugin must not import at pytest's startup (each costs tens of milliseconds).
HEAVY = (
    *("aiohttp", "cattrs", "attr", "orjson", "anyio"),  # "attr" covers attrs too
    *("closeasync.client", "closeasync.fake", "closeasync.models", "closeasync.transports"),
)
#: pytest-asyncio 1.x can run each test on several loops (none of this in 0.24).
HAS_LOOP_FACTORIES = hasattr(
    getattr(pytest_asyncio.plugin, "PytestAsyncioSpecs", None), "pytest_asyncio_loop_factories"
)

#: Tests beside the README's: ways of asking for the fixtures, and tests that are not ours.
MORE_TESTS = """
    import pytest


    @pytest.fixture
    def my_client(close_fake_client):
        return close_fake_client


    class TestInAClass:
        async def test_method(self, close_fake_client):
            assert await close_fake_client.emails.list(lead_id="lead_x").collect() == []


    @pytest.mark.usefixtures("close_fake")
    async def test_by_usefixtures():
        pass


    @pytest.mark.parametrize("n", [1, 2])
    async def test_parametrized(close_fake, n):
        assert close_fake.sent_emails == []


    async def test_unrelated():
        pass


    async def test_through_a_fixture_of_the_project(my_client):
        pass
"""
#: The tests above that do not name a plugin fixture: strict mode must not run them.
NOT_OURS = ("test_unrelated", "test_through_a_fixture_of_the_project")

#: A test for another runner (anyio's plugin on trio) that asks for a plugin fixture.
TRIO_TEST = """
    import pytest
    import trio


    @pytest.fixture
    def anyio_backend():
        return "trio"


    @pytest.mark.anyio
    async def test_on_trio(close_fake_client):
        trio.lowlevel.current_task()  # raises unless trio runs this test
        assert await close_fake_client.emails.list(lead_id="lead_x").collect() == []
"""


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs must not see a developer's key or pytest options (which could set a mode)."""
    for name in ("CLOSE_API_KEY", "CLOSE_BASE_URL", "PYTEST_ADDOPTS"):
        monkeypatch.delenv(name, raising=False)


def seeded_fake() -> FakeClose:
    """A fake holding what the README examples look for (an email on ``lead_...``)."""
    fake = FakeClose(seed=11)
    fake.add_activity("Email", lead_id="lead_...", subject="Hi", status="sent", direction="outgoing")
    return fake


async def write_readme_examples(pytester: pytest.Pytester) -> int:
    """Each README plugin example as a test module, cassettes recorded; returns how many tests.

    A test asking for ``close_cassette`` is run once against the fake through a recorder,
    which writes the cassette its pytest run then replays.
    """
    tests = 0
    for index, code in enumerate(plugin_examples()):
        module = f"test_readme_{index}"
        pytester.makepyfile(**{module: code})
        namespace: dict[str, Any] = {}
        exec(code, namespace)
        for name, test in namespace.items():
            if not name.startswith("test_") or not callable(test):
                continue
            tests += 1
            wanted = inspect.signature(test).parameters
            if "close_cassette" not in wanted:
                continue
            fake = seeded_fake()
            path = pytester.path / "cassettes" / module / f"{name}.json"
            async with RecordingTransport(fake.transport(), path) as recorder:
                fixtures = {
                    "close_cassette": CloseAsync(api_key=fake.api_key, transport=recorder),
                    "close_fake": fake,
                    "close_fake_client": CloseAsync(api_key=fake.api_key, transport=fake.transport()),
                }
                await test(**{parameter: fixtures[parameter] for parameter in wanted})
    assert tests, "the README shows no test using the plugin's fixtures"
    return tests


async def write_project(pytester: pytest.Pytester, *, trio: bool) -> int:
    """The README examples, the fake tests and MORE_TESTS; returns how many tests are ours."""
    readme_tests = await write_readme_examples(pytester)
    pytester.makepyfile(test_fake=textwrap.dedent(FAKE_TESTS), test_more=textwrap.dedent(MORE_TESTS))
    if trio:
        pytester.makepyfile(test_trio=textwrap.dedent(TRIO_TEST))
    return readme_tests + 2 + 4 + trio


async def test_readme_examples_pass_in_strict_mode_unconfigured(pytester: pytest.Pytester) -> None:
    ours = await write_project(pytester, trio=HAS_TRIO)
    result = run(pytester, "-v")  # anyio's plugin stays on too, as in most projects
    output = result.stdout.str()
    assert "configfile:" not in output  # nothing above pytester's folder configures it either
    assert re.search(r"^asyncio: mode=(Mode\.)?strict", output, flags=re.MULTILINE | re.IGNORECASE), output
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == ours, output
    for name in NOT_OURS:
        # pytest's own refusal of an unmarked coroutine: a failure since pytest 8.4, a skip before.
        assert re.search(rf"::{name} (FAILED|SKIPPED)", output), output
    assert "async def functions are not natively supported" in output
    if HAS_TRIO:
        result.stdout.fnmatch_lines(["*test_trio.py::test_on_trio PASSED*"])


async def test_auto_mode_runs_them_as_before(pytester: pytest.Pytester) -> None:
    ours = await write_project(pytester, trio=False)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    result = run(pytester, "-p", "no:anyio")
    result.assert_outcomes(passed=ours + len(NOT_OURS))


@pytest.mark.skipif(not HAS_LOOP_FACTORIES, reason="this pytest-asyncio has no loop factories")
def test_marked_tests_get_loop_factories_as_decorated_ones_do(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import asyncio

        def pytest_asyncio_loop_factories(config, item):
            return {"first": asyncio.new_event_loop, "second": asyncio.new_event_loop}
        """
    )
    pytester.makepyfile(
        test_loops="""
        async def test_fake(close_fake_client):
            assert await close_fake_client.emails.list(lead_id="lead_x").collect() == []
        """
    )
    result = run(pytester, "-v", "-p", "no:anyio")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_fake?first? PASSED*", "*test_fake?second? PASSED*"])


# -- importing the plugin at pytest's startup ---------------------------------------------------

#: closeasync/__init__.py as a bare package, so the run shows what closeasync.testing itself loads.
BARE_PACKAGE = """
import importlib.util, sys, types

package = types.ModuleType("closeasync")
package.__path__ = list(importlib.util.find_spec("closeasync").submodule_search_locations)
sys.modules["closeasync"] = package
"""


def loaded_by_importing_the_plugin(prelude: str = "") -> list[str]:
    """The modules of closeasync and of the heavy dependencies that importing the plugin loads."""
    code = f"import sys\n{prelude}\nimport closeasync.testing.plugin\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    return sorted(m for m in out.stdout.split() if m.startswith(("closeasync", *HEAVY)))


def test_the_plugin_imports_nothing_heavy_of_its_own() -> None:
    assert loaded_by_importing_the_plugin(BARE_PACKAGE) == [
        "closeasync",
        "closeasync.testing",
        "closeasync.testing.plugin",
    ]


def test_importing_the_plugin_as_pytest_does_imports_nothing_heavy() -> None:
    loaded = loaded_by_importing_the_plugin()
    assert [m for m in loaded if m.startswith(HEAVY)] == []


def test_the_record_modes_of_the_option_are_the_transports() -> None:
    assert plugin.RECORD_MODES == RECORD_MODES


def test_cassette_config_is_still_importable_from_closeasync_testing() -> None:
    config = closeasync.testing.CassetteConfig(api_key="api_x")
    assert config.allow_unused
    with pytest.raises(AttributeError, match="no attribute 'Missing'"):
        closeasync.testing.Missing  # noqa: B018
