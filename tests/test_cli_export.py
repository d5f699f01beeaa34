"""``closeasync export``, ``get`` and ``list``: in-process (``cli.main``) against a fake served over HTTP.

The subprocess runs (a kill midway, Ctrl+C) are in ``test_cli_export_process.py``.
"""

from __future__ import annotations

import http.server
import json
import logging
import re
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import anyio.from_thread
import orjson
import pytest

from closeasync import SyncCursor
from closeasync.cli import ExitCode, main
from closeasync.export import async_store
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from tests.export_support import Copy, by_table, output_ids, sorted_ids
from tests.served import ServedFake

SECRET_KEY = "api_wrongSECRET0123456789abcdef"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedFake]:
    fake = FakeClose(seed=11)
    load_demo(fake, leads=15)
    with ServedFake(fake) as served:
        monkeypatch.setenv("CLOSE_API_KEY", fake.api_key)
        monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)
        yield served


def sqlite_ids(path: Path) -> dict[str, set[str]]:
    return {table: set(ids) for table, ids in output_ids(path).items()}


def test_export_all_activities_to_sqlite(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "close.sqlite"
    assert main(["export", "activities", "--to", str(path), "--page-size", "40"]) == ExitCode.OK
    assert sqlite_ids(path) == by_table(served.fake)
    out, err = capsys.readouterr()
    total = len(served.fake.activities)
    assert f"Exported {total:,} activities to {path}" in out
    assert "rate-limit waits: 0 (0.0 s); retries: 0" in out
    assert err == ""  # no progress on a non-terminal unless asked for


def test_export_emails_to_jsonl_then_only_what_is_new(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "emails.jsonl"
    assert main(["export", "emails", "--to", str(path)]) == ExitCode.OK
    emails = by_table(served.fake, {"Email"})["email"]
    lines = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    assert sorted(line["id"] for line in lines) == sorted(emails)
    assert all(line["_type"] == "Email" for line in lines)

    def add_email() -> str:
        served.fake.advance(60)
        lead = next(iter(served.fake.activities.values()))["lead_id"]
        return str(served.fake.add_activity("Email", lead_id=lead, subject="Re: pricing")["id"])

    new = served.call(add_email)
    capsys.readouterr()
    assert main(["export", "emails", "--to", str(path), "--since-last"]) == ExitCode.OK
    out = capsys.readouterr().out
    assert "Exported 1 emails" in out
    assert "resumed from the last export" in out
    ids = [orjson.loads(line)["id"] for line in path.read_bytes().splitlines()]
    assert len(ids) == len(set(ids)) == len(emails) + 1
    assert ids[-1] == new


def test_export_under_429s_and_resets_loses_and_repeats_nothing(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def faults() -> None:
        served.fake.faults.add("status", status=429, count=3, skip=1, retry_after=0.02)
        served.fake.faults.add("drop", count=2, skip=5)  # the connection is reset, no answer

    served.call(faults)
    path = tmp_path / "close.sqlite"
    argv = ["export", "activities", "--to", str(path), "--page-size", "20", "--progress"]
    assert main(argv) == ExitCode.OK
    assert sqlite_ids(path) == by_table(served.fake)
    out, err = capsys.readouterr()
    found = re.search(r"rate-limit waits: (\d+) \(([\d.]+) s\); retries: (\d+)", out)
    assert found is not None, out
    # Three 429s waited out (and any waits pacing by their RateLimit header), two resets retried.
    assert int(found[1]) >= 3
    assert float(found[2]) >= 0.05
    assert int(found[3]) == 2
    # The progress lines (not a terminal: a line per save, at most every few seconds).
    assert f"rate-limit waits {found[1]} ({found[2]} s) | retries 2 | " in err.splitlines()[-1]


def test_since_and_until_bound_the_export(served: ServedFake, tmp_path: Path) -> None:
    stamps = sorted(o["date_created"] for o in served.fake.activities.values() if o["_type"] == "SMS")
    since, until = stamps[len(stamps) // 4], stamps[3 * len(stamps) // 4]
    path = tmp_path / "sms.jsonl"
    argv = ["export", "sms", "--to", str(path), "--since", since, "--until", until]
    assert main(argv) == ExitCode.OK
    ids = {orjson.loads(line)["id"] for line in path.read_bytes().splitlines()}
    expected = {
        i
        for i, o in served.fake.activities.items()
        if o["_type"] == "SMS" and since <= o["date_created"] < until
    }
    assert ids == expected
    assert 0 < len(ids) < len(stamps)


def test_export_to_standard_output(served: ServedFake, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert main(["export", "sms", "--to", "-"]) == ExitCode.OK
    out, err = capsysbinary.readouterr()
    ids = [orjson.loads(line)["id"] for line in out.splitlines()]
    assert sorted(ids) == sorted(by_table(served.fake, {"SMS"})["sms"])
    assert b"Exported" in err  # the summary goes where the rows do not


def test_get_prints_one_message_as_json(served: ServedFake, capsys: pytest.CaptureFixture[str]) -> None:
    email = next(o for o in served.fake.activities.values() if o["_type"] == "Email")
    assert main(["get", "email", email["id"]]) == ExitCode.OK
    assert json.loads(capsys.readouterr().out) == email
    sms = next(o for o in served.fake.activities.values() if o["_type"] == "SMS")
    assert main(["get", "sms", sms["id"], "--fields", "id,text"]) == ExitCode.OK
    # Exactly what Close sent for fields=id,text (no _type: it was not asked for).
    assert json.loads(capsys.readouterr().out) == {"id": sms["id"], "text": sms["text"]}


def test_list_prints_json_lines(served: ServedFake, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "emails", "--limit", "3"]) == ExitCode.OK
    newest = sorted(
        (o for o in served.fake.activities.values() if o["_type"] == "Email"),
        key=lambda o: o["date_created"],
        reverse=True,
    )
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["id"] for line in lines] == [o["id"] for o in newest[:3]]
    lead = next(o["lead_id"] for o in served.fake.activities.values() if o["_type"] == "Call")
    assert main(["list", "activities", "--lead", lead, "--type", "Call", "--limit", "0"]) == ExitCode.OK
    calls = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    expected = {i for i, o in served.fake.activities.items() if o["_type"] == "Call" and o["lead_id"] == lead}
    assert {c["id"] for c in calls} == expected
    assert {c["_type"] for c in calls} == {"Call"}


# -- errors: a plain message and an exit status that says what kind ------------------------


def test_a_missing_key_is_a_usage_error(
    served: ServedFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOSE_API_KEY")
    assert main(["export", "emails", "--to", str(tmp_path / "a.db")]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "no API key: set CLOSE_API_KEY, or pass --api-key-file PATH" in err


def test_the_key_can_come_from_a_file(
    served: ServedFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CLOSE_API_KEY")
    key_file = tmp_path / "key"
    key_file.write_text(served.fake.api_key + "\n")
    assert main(["list", "sms", "--limit", "1", "--api-key-file", str(key_file)]) == ExitCode.OK
    assert main(["list", "sms", "--api-key-file", str(tmp_path / "missing")]) == ExitCode.USAGE
    key_file.write_text("  \n")
    assert main(["list", "sms", "--api-key-file", str(key_file)]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "cannot read --api-key-file" in err
    assert "is empty" in err


def test_a_wrong_key_says_401_and_never_shows_the_key(
    served: ServedFake,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("CLOSE_API_KEY", SECRET_KEY)
    previous = tmp_path / "previous.jsonl"
    assert main(["export", "sms", "--to", str(previous)]) == ExitCode.API  # nothing to write: no file
    assert not previous.exists()
    previous.write_text('{"id": "an earlier export"}\n')
    argv = ["export", "emails", "--to", str(previous), "--overwrite"]
    assert main(argv) == ExitCode.API
    assert previous.read_text() == '{"id": "an earlier export"}\n'  # not emptied by a failed run
    assert main(["get", "email", "acti_1"]) == ExitCode.API
    out, err = capsys.readouterr()
    assert err.count("Close refused the API key (HTTP 401)") == 3
    assert SECRET_KEY not in out + err + caplog.text


def test_the_key_is_in_no_output_file_or_log(
    served: ServedFake,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = served.fake.api_key
    assert main(["export", "emails", "--to", str(tmp_path / "a.sqlite"), "--progress"]) == ExitCode.OK
    assert main(["export", "sms", "--to", str(tmp_path / "a.jsonl")]) == ExitCode.OK
    out, err = capsys.readouterr()
    assert key not in out + err + caplog.text
    for path in tmp_path.iterdir():  # the database, its WAL, the JSON Lines and its state file
        assert key.encode() not in path.read_bytes(), path


def test_a_key_file_that_is_not_text_is_a_usage_error(
    served: ServedFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(b"\xff\xfeapi")
    assert main(["list", "sms", "--api-key-file", str(key_file)]) == ExitCode.USAGE
    assert "is not UTF-8 text" in capsys.readouterr().err


@pytest.mark.parametrize("base_url", ["http://[::1/api/v1", "https://user:hunter2@api.close.com/api/v1"])
def test_a_malformed_base_url_is_a_usage_error(
    base_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", "api_x")
    assert main(["export", "sms", "--to", str(tmp_path / "a.db"), "--base-url", base_url]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert "base_url must" in err
    assert "hunter2" not in err
    assert not (tmp_path / "a.db").exists()


def test_a_filter_refused_before_sending_is_a_usage_error(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["export", "activities", "--type", "Call", "--to", str(tmp_path / "a.db")]
    assert main(argv) == ExitCode.USAGE
    assert "refused before sending:\n  types: can only be used together with a single lead_id" in (
        capsys.readouterr().err
    )


class _Refusing(http.server.BaseHTTPRequestHandler):
    """Answers every request as Close does a filter it refuses: 400 with field errors."""

    def do_GET(self) -> None:
        body = json.dumps({"errors": [], "field-errors": {"user_id": "Object does not exist."}}).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:  # keep the test output clean
        pass


def test_a_filter_close_refuses_shows_its_field_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Refusing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("CLOSE_API_KEY", "api_x")
        base_url = f"http://127.0.0.1:{server.server_address[1]}/api/v1"
        argv = [
            "export",
            "emails",
            "--user",
            "user_gone",
            "--to",
            str(tmp_path / "a.db"),
            "--base-url",
            base_url,
        ]
        assert main(argv) == ExitCode.API
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert (
        "Close refused the request (HTTP 400):\n  user_id: Object does not exist." in capsys.readouterr().err
    )


def test_no_network_is_its_own_exit_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    monkeypatch.setenv("CLOSE_API_KEY", "api_x")
    base_url = f"http://127.0.0.1:{port}/api/v1"
    argv = ["export", "emails", "--to", str(tmp_path / "a.db"), "--base-url", base_url, "--retries", "0"]
    assert main(argv) == ExitCode.NETWORK
    assert f"cannot reach Close at {base_url}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["export", "emails", "--to", "out.txt"], "cannot tell the format"),
        (["export", "emails", "--to", "-", "--since-last"], "cannot be resumed"),
        (["export", "emails", "--to", "a.db", "--overwrite"], "--overwrite is for JSON Lines"),
        (["export", "emails", "--to", "a.db", "--since", "2026-02-01", "--until", "2026-01-01"], "before"),
        (["list", "emails", "--type", "Call"], "--type is for activities"),
        (["export", "emails", "--to", "a.jsonl", "--since-last", "--overwrite"], "give one of them"),
        (["export", "emails", "--to", "a.db", "--page-size", "1000"], "100 or less"),
        (["export", "emails", "--to", "a.db", "--lead", " "], "cannot be empty"),
        (["export", "emails", "--to", "a.db", "--schema", "crm"], "--schema is for a PostgreSQL output"),
        (
            ["export", "emails", "--to", "postgresql://me@h/db", "--overwrite"],
            "--overwrite is for JSON Lines",
        ),
        (["export", "emails", "--to", "postgres://me@h/db", "--format", "sqlite"], "--format is for files"),
        (["export", "emails", "--to", "postgresql://me@h/db", "--schema", " "], "cannot be empty"),
    ],
)
def test_usage_errors(
    argv: list[str],
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CLOSE_API_KEY", "api_x")
    monkeypatch.setenv("CLOSE_BASE_URL", "http://127.0.0.1:9/api/v1")  # never reached
    assert main(argv) == ExitCode.USAGE
    assert message in capsys.readouterr().err


def test_an_existing_jsonl_file_is_not_overwritten(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "mine.jsonl"
    path.write_text('{"id": "keep me"}\n')
    assert main(["export", "sms", "--to", str(path)]) == ExitCode.USAGE
    assert "exists; pass --since-last to add what is new, or --overwrite" in capsys.readouterr().err
    assert path.read_text() == '{"id": "keep me"}\n'


@pytest.mark.parametrize(
    ("command", "options"),
    [
        (
            ["export"],
            ["--to", "--lead", "--user", "--type", "--since", "--until", "--since-last", "--api-key-file"],
        ),
        (["get"], ["--fields", "--api-key-file", "--base-url"]),
        (["list"], ["--limit", "--lead", "--type", "--fields"]),
    ],
)
def test_help_is_useful_on_its_own(
    command: list[str], options: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--help"]) == ExitCode.OK
    out = capsys.readouterr().out
    for text in [*options, "examples:", "exit status:", "CLOSE_API_KEY", "never printed"]:
        assert text in out


@pytest.mark.parametrize("name", ["close.sqlite", "close.jsonl"])
def test_an_output_in_a_missing_folder_or_a_folder_is_refused(
    served: ServedFake, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "no such folder" / name
    assert main(["export", "sms", "--to", str(target)]) == ExitCode.USAGE
    assert "does not exist" in capsys.readouterr().err
    folder = tmp_path / name
    folder.mkdir()
    assert main(["export", "sms", "--to", str(folder), "--format", "jsonl"]) == ExitCode.USAGE
    assert "is a folder" in capsys.readouterr().err


def test_an_export_already_writing_the_copy_is_not_disturbed(
    served: ServedFake, copy: Copy, capsys: pytest.CaptureFixture[str]
) -> None:
    with anyio.from_thread.start_blocking_portal() as portal:  # another export, in its own loop
        other = async_store(copy.store())
        portal.call(other.save, [], SyncCursor(scope="/activity/sms/"), "other")
        try:
            assert main(["export", "sms", *copy.args]) == ExitCode.FAILED
        finally:
            portal.call(other.aclose)
    assert "another closeasync export is writing to" in capsys.readouterr().err
    assert main(["export", "sms", *copy.args]) == ExitCode.OK
    assert copy.ids() == sorted_ids(by_table(served.fake, {"SMS"}))


def test_a_file_that_is_not_sqlite_is_refused(
    served: ServedFake, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes.db"
    target.write_text("my notes, not a database\n" * 100)
    assert main(["export", "sms", "--to", str(target)]) == ExitCode.USAGE
    assert "is not a SQLite database" in capsys.readouterr().err
    assert target.read_text() == "my notes, not a database\n" * 100
