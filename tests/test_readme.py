"""The README runs as written: its set-up commands, its Quick start, and every Python block.

- The Quick start block is ``examples/quickstart.py`` byte for byte, and that file runs
  against ``closeasync serve --demo`` with only ``CLOSE_BASE_URL`` and ``CLOSE_API_KEY`` set.
- Every other Python block runs, in README order, in one namespace (as a reader pastes them
  into one session); a parameterless ``test_*`` coroutine a block defines is run too.
- The command examples run line by line against that served demo, the placeholders
  (``api_...``, ``lead_...``, ``acti_...``) filled with its key and ids; so do the
  PostgreSQL section's commands, into a database of the tests' throwaway PostgreSQL
  server, and its SQL query runs there with ``psql``; the development
  block names only nox sessions the noxfile defines. The
  blocks that are pytest tests using the plugin's fixtures run under pytest itself, in a
  fresh project in strict mode, in ``tests/test_pytest_plugin_strict.py``, which takes them
  from here (:func:`plugin_examples`).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from closeasync import CloseAsync
from closeasync.fake import DEFAULT_API_KEY
from tests.postgres_server import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
QUICKSTART = ROOT / "examples" / "quickstart.py"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", flags=re.DOTALL | re.MULTILINE)
TIMEOUT = 120


def blocks(language: str | None = None) -> list[tuple[str, str, str]]:
    """``(heading, language, code)`` of each fenced block, in README order."""
    found = []
    for match in BLOCK.finditer(README):
        headings = re.findall(r"^## (.+)$", README[: match.start()], flags=re.MULTILINE)
        heading = headings[-1] if headings else ""
        if language is None or match.group(1) == language:
            found.append((heading, match.group(1), match.group(2)))
    return found


def _takes_fixtures(code: str) -> bool:
    """Whether the block defines a test function with parameters (pytest fixtures)."""
    return any(
        isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        and node.name.startswith("test_")
        and node.args.args
        for node in ast.walk(ast.parse(code))
    )


def plugin_examples() -> list[str]:
    """The README's Python blocks that are pytest tests using the plugin's fixtures."""
    return [code for _, _, code in blocks("python") if _takes_fixtures(code)]


def test_readme_opens_with_the_demo_and_the_ci_test_command() -> None:
    """Exactly two set-up commands: the demo against the fake, then what .ci/run runs."""
    _, language, first = blocks()[0]
    assert language == "bash"
    demo, tests = first.strip().splitlines()
    assert demo.endswith("closeasync demo")
    assert "pytest" in tests
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert tests in ci_lines


def test_the_quick_start_block_is_the_example_file() -> None:
    """What the README shows is exactly the file the next test runs."""
    quick = [code for heading, _, code in blocks("python") if heading == "Quick start"]
    assert quick == [QUICKSTART.read_text(encoding="utf-8")]


def test_the_quick_start_commands_name_the_served_fake() -> None:
    """The bash lines above the Quick start give the URL and key `closeasync serve --demo` uses."""
    [commands] = [code for heading, language, code in blocks("bash") if heading == "Quick start"]
    assert "closeasync serve --demo" in commands
    assert f"CLOSE_API_KEY={DEFAULT_API_KEY}" in commands
    assert "CLOSE_BASE_URL=http://127.0.0.1:8000/api/v1" in commands  # serve's default port
    assert "python examples/quickstart.py" in commands


@pytest.fixture(scope="module")
def served_demo() -> Iterator[str]:
    """``closeasync serve --demo`` as a user starts it (a free port): its base_url."""
    server = subprocess.Popen(
        [sys.executable, "-m", "closeasync", "serve", "--demo", "--leads", "40", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        facts = {}
        for line in server.stdout:
            name, _, value = line.partition(": ")
            facts[name] = value.strip()
            if name == "demo":
                break
        assert facts.get("api_key") == DEFAULT_API_KEY, facts
        yield facts["base_url"]
    finally:
        server.send_signal(signal.SIGINT)
        server.communicate(timeout=TIMEOUT)


async def run_in_shell(
    setup: list[str], command: str, env: dict[str, str], folder: Path
) -> subprocess.CompletedProcess[str]:
    """One README command in bash, after its ``export`` lines, as a reader would run it."""
    return await asyncio.to_thread(
        subprocess.run,
        ["bash", "-c", "\n".join(["set -euo pipefail", *setup, command])],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


async def test_the_quick_start_runs_against_the_served_demo(served_demo: str) -> None:
    """examples/quickstart.py exits 0 with only the two variables set, and did what it says."""
    env = {"PATH": os.environ["PATH"], "CLOSE_BASE_URL": served_demo, "CLOSE_API_KEY": DEFAULT_API_KEY}
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, str(QUICKSTART)],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    assert re.search(r"^sent: acti_\w+ outbox$", result.stdout, flags=re.MULTILINE), result.stdout
    assert re.search(r"^\d+ emails walked$", result.stdout, flags=re.MULTILINE)
    assert "['acti_missing']" in result.stdout  # get_many's one failure, reported per item
    # What it did is in the fake: the sent email, three drafts, the SMS; the scheduled one deleted.
    async with CloseAsync(api_key=DEFAULT_API_KEY, base_url=served_demo) as close:
        ours = ("Hello", "Later", "Hi 0", "Hi 1", "Hi 2")
        mine = sorted([(e.subject, str(e.status)) async for e in close.emails.list() if e.subject in ours])
        drafts = [("Hi 0", "draft"), ("Hi 1", "draft"), ("Hi 2", "draft")]
        assert mine in ([("Hello", "outbox"), *drafts], [("Hello", "sent"), *drafts])
        texts = [t async for t in close.sms.list() if t.text == "See you at 3pm"]
        assert [str(t.status) for t in texts] in (["outbox"], ["sent"])


def _run_block(code: str, namespace: dict[str, Any]) -> None:
    before = set(namespace)
    exec(compile(code, "README.md", "exec"), namespace)
    for name in sorted(set(namespace) - before):
        function = namespace[name]
        if name.startswith("test_") and inspect.iscoroutinefunction(function):
            asyncio.run(function())


def test_every_other_python_block_runs() -> None:
    """Each Python block outside the Quick start runs as written, in order, in one namespace."""
    namespace: dict[str, Any] = {"__name__": "readme"}
    ran = 0
    for heading, _, code in blocks("python"):
        if heading == "Quick start" or _takes_fixtures(code):
            continue
        _run_block(code, namespace)
        ran += 1
    assert ran >= 5
    # The blocks did what they say: the fake block's test sent one email; the retry block's hook.
    assert len(namespace["fake"].sent_emails) == 1
    assert namespace["close"].base_url == "https://api.close.com/api/v1"


def test_the_plugin_examples_are_found() -> None:
    """The pytest-fixture blocks exist (test_pytest_plugin_strict runs them under pytest)."""
    examples = plugin_examples()
    assert examples
    assert all("close_" in code for code in examples)


def test_readme_python_examples_use_public_names() -> None:
    """What every Python example imports from closeasync is a public name of it."""
    import closeasync

    for _, _, code in blocks("python"):
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.ImportFrom) and node.module == "closeasync":
                for alias in node.names:
                    assert alias.name in closeasync.__all__, alias.name


def _command_block() -> str:
    [code] = [
        code for heading, language, code in blocks("bash") if heading.startswith("The `closeasync` command")
    ]
    return code


async def test_the_command_examples_run_against_the_served_demo(served_demo: str, tmp_path: Path) -> None:
    """Each line of the command block exits 0 with its placeholders filled, and does what it says."""
    async with CloseAsync(api_key=DEFAULT_API_KEY, base_url=served_demo) as close:
        [email] = await close.emails.list().limit(1).collect()
    assert email.lead_id is not None
    filled = (
        _command_block()
        .replace("api_...", DEFAULT_API_KEY)
        .replace("http://127.0.0.1:8000/api/v1", served_demo)
        .replace("lead_...", email.lead_id)
        .replace("acti_...", email.id)
    )
    lines = [line.split("  #")[0].strip() for line in filled.strip().splitlines()]
    setup = [line for line in lines if line.startswith("export ")]
    commands = [line for line in lines if not line.startswith("export ")]
    assert len(setup) == 2
    assert all(command.startswith("closeasync ") for command in commands)
    env = {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    out = {}
    for command in commands:
        result = await run_in_shell(setup, command, env, tmp_path)
        assert result.returncode == 0, (command, result.stderr)
        out[command.split(" --")[0]] = result.stdout
    assert (tmp_path / "close.sqlite").stat().st_size > 0
    kinds = {json.loads(line)["_type"] for line in (tmp_path / "lead.jsonl").read_text().splitlines()}
    assert kinds
    assert kinds <= {"Call", "Note"}
    texts = out["closeasync export sms"].splitlines()
    assert len(texts) == 3
    assert all(json.loads(line)["_type"] == "SMS" for line in texts)
    assert json.loads(out[f"closeasync get email {email.id}"])["id"] == email.id
    timeline = out["closeasync list activities"].splitlines()
    assert 0 < len(timeline) <= 50
    assert {json.loads(line)["lead_id"] for line in timeline} == {email.lead_id}


def test_the_development_block_names_real_nox_sessions() -> None:
    """The sessions the README runs exist in noxfile.py (read, not imported: nox may be absent)."""
    [code] = [code for heading, language, code in blocks("bash") if heading == "Development"]
    tree = ast.parse((ROOT / "noxfile.py").read_text(encoding="utf-8"))
    sessions = {node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.decorator_list}
    named = set(re.findall(r"-s ([\w\-. ]+?)\s+#", code))
    assert named
    for group in named:
        for session in group.split():
            assert session.split("-")[0] in sessions, session


def _postgres_blocks() -> tuple[str, str]:
    """The PostgreSQL section's commands and its query."""
    [commands] = [code for heading, _, code in blocks("bash") if heading.startswith("PostgreSQL")]
    [query] = [code for heading, _, code in blocks("sql") if heading.startswith("PostgreSQL")]
    return commands, query


async def test_the_postgresql_commands_and_query_run_against_a_real_server(
    served_demo: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """The install line names the extra pyproject.toml declares; the export lines make a copy
    of the served demo in a database of the tests' server (the second going on from the
    first); the SQL block runs there with psql and answers what its comment says."""
    commands, query = _postgres_blocks()
    install, *lines = [line.split("  #")[0].strip() for line in commands.strip().splitlines()]
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert install == 'pip install "closeasync[postgres]"'
    assert extras["optional-dependencies"]["postgres"] == ["asyncpg>=0.30.0"]
    database = await asyncio.to_thread(postgres_server.create_database)
    try:
        url = postgres_server.url(database)
        setup = [line for line in lines if line.startswith("export ")]
        runs = [
            line.replace("postgresql://me@localhost:5432/crm", url) for line in lines if line not in setup
        ]
        assert len(runs) == 2
        assert all(run.startswith("closeasync export ") and url in run for run in runs)
        env = {
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "CLOSE_API_KEY": DEFAULT_API_KEY,
            "CLOSE_BASE_URL": served_demo,
        }
        for command in runs:
            result = await run_in_shell(setup, command, env, tmp_path)
            assert result.returncode == 0, (command, result.stderr)
        assert "resumed from the last export" in result.stdout
        answer = await asyncio.to_thread(postgres_server.psql, database, query)
        copied = await asyncio.to_thread(postgres_server.json, database, "SELECT data FROM close.email")
    finally:
        await asyncio.to_thread(postgres_server.drop_database, database)
    async with CloseAsync(api_key=DEFAULT_API_KEY, base_url=served_demo) as close:
        ids = {email.id async for email in close.emails.list()}
    assert {row["data"]["id"] for row in copied} == ids  # the copy holds Close's emails
    per = Counter((row["data"]["user_name"], row["data"]["status"]) for row in copied)
    top = sorted(per.items(), key=lambda item: (-item[1], *item[0]))[:10]
    assert answer.splitlines() == [f"{user}|{status}|{count}" for (user, status), count in top]
    assert len(top) > 1
