"""The ``closeasync`` command: ``serve`` and ``demo`` as subprocesses, and its arguments in-process.

Every wait is bounded, and everything listens on 127.0.0.1 only.
"""

from __future__ import annotations

import io
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from importlib.metadata import entry_points

import pytest

import closeasync
from closeasync import CloseAsync
from closeasync.cli import main
from closeasync.cli.demo import run_demo
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
COMMAND = [sys.executable, "-m", "closeasync"]


class Served:
    """A ``closeasync serve`` subprocess and the ``name: value`` facts it printed."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [*COMMAND, "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.facts: dict[str, str] = {}

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)
        self.lines.put(None)  # end of output

    def wait_for(self, *names: str, timeout: float = START_TIMEOUT) -> dict[str, str]:
        """Read stdout until every fact in ``names`` was printed (or fail at the deadline)."""
        deadline = time.monotonic() + timeout
        while not all(name in self.facts for name in names):
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"serve printed no {names} within {timeout} s; got {self.facts}")
            if line is None:
                pytest.fail(f"serve exited early ({self.process.wait(STOP_TIMEOUT)}): {self._stderr()}")
            name, _, value = line.rstrip("\n").partition(": ")
            self.facts[name] = value
        return self.facts

    def _stderr(self) -> str:
        return self.process.stderr.read() if self.process.stderr is not None else ""

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Send ``signum`` and return the exit code (bounded by STOP_TIMEOUT)."""
        self.process.send_signal(signum)
        return self.process.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def served() -> Iterator[list[Served]]:
    """Started servers, killed at the end whatever the test did."""
    started: list[Served] = []
    yield started
    for server in started:
        server.kill()


posix_only = pytest.mark.skipif(sys.platform == "win32", reason="sends SIGINT/SIGTERM to a subprocess")


@posix_only
async def test_serve_demo_answers_the_sdk_and_stops_cleanly_on_sigint(served: list[Served]) -> None:
    server = Served("--port", "0", "--demo", "--leads", "20", "--seed", "3")
    served.append(server)
    facts = server.wait_for("base_url", "api_key", "demo")
    assert facts["base_url"].startswith("http://127.0.0.1:")
    assert facts["base_url"].endswith("/api/v1")
    assert facts["seed"] == "3"
    assert facts["clock"].startswith("running from ")
    expected = load_demo(FakeClose(seed=3), leads=20)
    assert facts["demo"] == expected.describe()
    async with CloseAsync(api_key=facts["api_key"], base_url=facts["base_url"]) as close:
        emails = await close.emails.list().collect()
        texts = await close.sms.list().collect()
    assert len(emails) == expected.counts["Email"]
    assert len(texts) == expected.counts["SMS"]
    assert server.stop(signal.SIGINT) == 0


@posix_only
def test_serve_stops_cleanly_on_sigterm_and_uses_the_given_key(served: list[Served]) -> None:
    server = Served("--port", "0", "--api-key", "api_test_key", "--frozen-clock")
    served.append(server)
    facts = server.wait_for("base_url", "api_key", "clock")
    assert facts["api_key"] == "api_test_key"
    assert facts["clock"] == "frozen at 2026-01-05T09:00:00+00:00"
    assert "demo" not in facts
    assert server.stop(signal.SIGTERM) == 0


def test_demo_command_runs_and_reports() -> None:
    result = subprocess.run(
        [*COMMAND, "demo", "--leads", "20"], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "closeasync demo: the SDK against a fake Close at http://127.0.0.1:" in out
    assert "20 leads" in out
    assert "closeasync export activities --to close.sqlite" in out
    assert "activities/s" in out
    assert "    email " in out
    assert "    sms " in out
    assert "every row matches the fake's" in out
    assert "items/s" in out
    assert "2 new activities (Email 1, SMS 1) in 1 page(s)" in out
    assert ", 1 removed" in out  # the email the demo deleted left the copy
    assert "the copy holds exactly the fake's activities again, the deleted email gone" in out
    assert "refused by the SDK, nothing sent (InvalidRequestError)" in out
    assert "sender: is required" in out
    assert "local_phone: is required" in out
    assert "refused by the fake Close with HTTP 400 (BadRequestError)" in out
    assert out.count("status: draft -> draft -> outbox -> draft -> scheduled -> sent") == 2
    assert "fake.sent_emails: 1 " in out
    assert "fake.sent_sms: 1 " in out
    assert "Done in " in out


async def test_run_demo_in_process() -> None:
    out = io.StringIO()
    assert await run_demo(leads=5, seed=2, out=out) == 0
    assert "every step behaved as Close documents" in out.getvalue()


@pytest.mark.parametrize(
    ("argv", "options"),
    [
        (["--help"], ["serve", "demo", "--version", "examples:"]),
        (
            ["serve", "--help"],
            ["--host", "--port", "--seed", "--demo", "--leads", "--api-key", "--frozen-clock", "examples:"],
        ),
        (["demo", "--help"], ["--leads", "--seed", "examples:"]),
    ],
)
def test_help_describes_every_option(
    argv: list[str], options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: closeasync")
    for option in options:
        assert option in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"closeasync {closeasync.__version__}"
    result = subprocess.run([*COMMAND, "--version"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0
    assert closeasync.__version__ in result.stdout


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["bogus"],
        ["serve", "--port", "70000"],
        ["serve", "--port", "http"],
        ["serve", "--seed", "one"],
        ["serve", "--leads", "5"],  # --leads needs --demo
        ["serve", "--demo", "--leads", "-1"],
        ["serve", "--unknown"],
        ["demo", "--leads", "0"],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "usage: closeasync" in capsys.readouterr().err


def test_serve_reports_a_port_in_use(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err


def test_console_script_is_declared() -> None:
    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "closeasync"]
    assert script.value == "closeasync.cli:main"
