"""What the commands say when something is wrong: retries as they happen, an output that
cannot be written (before anything is fetched), a listing that is not there (a wrong
``--base-url``). In-process (``cli.main``) against a fake served over HTTP.
"""

from __future__ import annotations

import errno
import os
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from closeasync.cli import ExitCode, main
from closeasync.fake import FakeClose, FakeRequest, Outcome
from closeasync.fake.demo import load_demo
from tests.served import ServedFake

SECRET_KEY = "api_wrongSECRET0123456789abcdef"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedFake]:
    fake = FakeClose(seed=11)
    load_demo(fake, leads=5)
    with ServedFake(fake) as served:
        monkeypatch.setenv("CLOSE_API_KEY", fake.api_key)
        monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)
        yield served


@pytest.fixture
def reached(served: ServedFake, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every request that reached the served fake, as ``METHOD /path``."""
    seen: list[str] = []
    handle = served.fake.handle

    def counting(request: FakeRequest) -> Outcome:
        seen.append(f"{request.method} {request.path}")
        return handle(request)

    monkeypatch.setattr(served.fake, "handle", counting)
    return seen


def closed_port() -> int:
    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- retries are told as they happen ---------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [["export", "emails", "--to", "close.sqlite"], ["list", "emails"], ["get", "email", "acti_1"]],
    ids=["export", "list", "get"],
)
def test_each_retry_of_an_unreachable_host_is_told_before_the_exit_4(
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOSE_API_KEY", SECRET_KEY)
    base_url = f"http://127.0.0.1:{closed_port()}/api/v1"
    assert main([*argv, "--base-url", base_url, "--retries", "1"]) == ExitCode.NETWORK
    out, err = capsys.readouterr()
    lines = err.splitlines()
    refused = os.strerror(errno.ECONNREFUSED).lower()  # "connection refused"
    told = f"closeasync {argv[0]}: cannot reach {base_url}: {refused}; retrying in "
    assert lines[0].startswith(told), err
    assert lines[0].endswith(" s (attempt 2 of 2)")
    assert lines[-1].startswith(f"closeasync {argv[0]}: cannot reach Close at {base_url}")  # then the end
    assert len(lines) == 2  # one retry, told once
    assert SECRET_KEY not in out + err


def test_a_retried_server_error_is_told_apart_from_the_progress_lines(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    served.call(lambda: served.fake.faults.add("status", status=503, count=1, skip=1))
    path = tmp_path / "close.sqlite"
    argv = ["export", "emails", "--to", str(path), "--page-size", "10", "--progress", "--retries", "1"]
    assert main(argv) == ExitCode.OK
    err = capsys.readouterr().err.splitlines()
    told = [line for line in err if "retrying" in line]
    assert len(told) == 1, err
    assert told[0].startswith(
        "closeasync export: Close answered HTTP 503 to GET /activity/email/; retrying in "
    )
    assert told[0].endswith(" s (attempt 2 of 2)")
    assert all(" | saved " in line for line in err if line not in told)  # the rest are progress lines


# -- an output that cannot be written is refused before anything is fetched ------------------


def _too_long(tmp_path: Path) -> Path:
    return tmp_path / ("x" * 300 + ".sqlite")  # longer than any file system's name limit


def _under_a_file(tmp_path: Path) -> Path:
    (tmp_path / "notes.txt").write_text("a file, not a folder\n")
    return tmp_path / "notes.txt" / "close.jsonl"


def _read_only_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder / "close.sqlite"
    pytest.skip("this process may write into a read-only folder (root, or Windows)")


with_proc = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")


@pytest.mark.parametrize(
    ("output", "message"),
    [
        (lambda tmp: tmp / "no such folder" / "close.sqlite", "does not exist"),
        (_under_a_file, "notes.txt is not a folder"),
        (_too_long, "cannot write --to"),
        (_read_only_folder, "cannot write --to"),
        # A folder that takes no new file, even from root.
        pytest.param(lambda tmp: Path("/proc/close.jsonl"), "cannot write --to", marks=with_proc),
    ],
    ids=["missing-folder", "under-a-file", "name-too-long", "read-only-folder", "proc"],
)
def test_an_output_that_cannot_be_written_is_refused_before_any_request(
    served: ServedFake,
    reached: list[str],
    tmp_path: Path,
    output: Callable[[Path], Path],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = output(tmp_path)
    assert main(["export", "sms", "--to", str(target)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.startswith("closeasync export: ")
    assert message in err
    assert reached == []  # refused before the first request: nothing fetched to be lost
    assert not os.path.lexists(target)
    # The same fake answers a run whose output can be written (the check above is not vacuous).
    assert main(["export", "sms", "--to", str(tmp_path / "ok.sqlite")]) == ExitCode.OK
    assert reached


def test_an_existing_output_is_checked_without_being_changed(
    served: ServedFake, reached: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "keep me"}\n')
    assert main(["export", "sms", "--to", str(path)]) == ExitCode.USAGE  # exists, and no --overwrite
    assert path.read_text() == '{"id": "keep me"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.jsonl"]  # no probe left behind
    assert reached == []


# -- a listing that is not there: the API root is wrong --------------------------------------


@pytest.mark.parametrize(
    "argv", [["export", "emails", "--to", "close.sqlite"], ["list", "emails"]], ids=["export", "list"]
)
def test_a_404_on_a_listing_points_at_the_base_url(
    served: ServedFake,
    argv: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    wrong = served.base_url.replace("/api/v1", "/api/v2")  # served, but no /activity/email/ there
    assert main([*argv, "--base-url", wrong]) == ExitCode.API
    err = capsys.readouterr().err
    assert f"not found (HTTP 404): GET {wrong}/" in err  # Close's clock, or the listing
    assert f"--base-url (or CLOSE_BASE_URL) is {wrong}" in err
    assert "https://api.close.com/api/v1" in err  # what it should be
    assert not (tmp_path / "close.sqlite").exists()


def test_a_404_of_one_object_is_not_blamed_on_the_base_url(
    served: ServedFake, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["get", "email", "acti_missing"]) == ExitCode.API
    err = capsys.readouterr().err
    assert "not found (HTTP 404): GET " in err
    assert "--base-url" not in err
