"""``closeasync export`` as a subprocess against a fake served over HTTP: killed, interrupted, resumed.

To stop an export midway deterministically, the fake holds back every answer from the
12th request on (a 60 s delay fault): the export saves each page as it arrives, says so
on its progress line, and then waits on a request that will not be answered in the
test's lifetime. The test kills it there; the served fake cancels the held answer when
the client goes away. Every wait is bounded.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from closeasync.cli import ExitCode
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from tests.export_support import Copy, PostgresCopy, by_table, output_ids, sorted_ids
from tests.served import ServedFake

COMMAND = [sys.executable, "-m", "closeasync"]
TIMEOUT = 60.0
PAGE = "10"
HELD_FROM = 11  # requests answered before the fake holds the rest back


@pytest.fixture
def served() -> Iterator[ServedFake]:
    fake = FakeClose(seed=21)
    load_demo(fake, leads=12)
    with ServedFake(fake) as served:
        yield served


class Export:
    """A running ``closeasync export`` whose standard error is read line by line."""

    def __init__(self, served: ServedFake, *args: str, command: str = "export") -> None:
        env = {**os.environ, "CLOSE_API_KEY": served.fake.api_key, "CLOSE_BASE_URL": served.base_url}
        self.process = subprocess.Popen(
            [*COMMAND, command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        with self.process.stderr:
            for line in self.process.stderr:
                self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str) -> str:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no {text!r} on stderr within {TIMEOUT} s; got {self.seen}") from None
            if line is None:
                raise AssertionError(f"the export ended before {text!r}; stderr: {self.seen}")
            self.seen.append(line)
            if text in line:
                return line

    def wait_for_a_save(self) -> str:
        """The first progress line that counts saved rows (a wait for the rate limit, drawn
        while it lasts, says ``saved 0``)."""
        while True:
            line = self.wait_for("saved")
            if re.search(r"saved [1-9]", line):
                return line

    def finish(self) -> tuple[int, str, str]:
        assert self.process.stdout is not None
        with self.process.stdout:
            out = self.process.stdout.read()  # standard error is the reader thread's
        self.process.wait(TIMEOUT)
        err = "".join(self.seen)
        while (line := self.lines.get(timeout=TIMEOUT)) is not None:
            err += line
        return self.process.returncode, out, err


def run(served: ServedFake, *args: str) -> tuple[int, str, str]:
    return Export(served, *args).finish()


def expected(fake: FakeClose) -> dict[str, list[str]]:
    return sorted_ids(by_table(fake))


def test_a_full_export_as_a_subprocess(served: ServedFake, copy: Copy) -> None:
    code, out, err = run(served, "activities", *copy.args)
    assert code == ExitCode.OK, err
    assert copy.ids() == expected(served.fake)
    assert f"Exported {len(served.fake.activities):,} activities to {copy.args[1]}" in out


def hold_answers(served: ServedFake, answered: int = HELD_FROM) -> None:
    served.call(lambda: served.fake.faults.add("delay", delay=60.0, count=1000, skip=answered))


def release(served: ServedFake) -> None:
    served.call(served.fake.faults.clear)


@pytest.mark.parametrize("copy", ["sqlite", "jsonl", "postgresql"], indirect=True)
def test_killed_midway_then_resumed_equals_a_clean_run(served: ServedFake, copy: Copy) -> None:
    clean = copy.another()
    code, _, err = run(served, "activities", *clean.args, "--page-size", PAGE)
    assert code == ExitCode.OK, err

    hold_answers(served)
    export = Export(served, "activities", *copy.args, "--page-size", PAGE, "--progress")
    export.wait_for_a_save()  # it has saved a page, and cannot finish: the fake holds its requests
    export.process.kill()  # SIGKILL: no cleanup at all, as in a crash
    code, _, _ = export.finish()
    assert code == -signal.SIGKILL
    partial = sum(map(len, copy.ids().values()))
    assert 0 < partial < len(served.fake.activities)

    release(served)
    code, out, err = run(served, "activities", *copy.args, "--page-size", PAGE, "--since-last")
    assert code == ExitCode.OK, err
    assert "resumed from an interrupted export" in out
    assert copy.ids() == clean.ids() == expected(served.fake)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_export_saves_its_rows_and_says_how_to_go_on(
    served: ServedFake, copy: Copy, signum: int, status: int
) -> None:
    hold_answers(served)
    export = Export(served, "activities", *copy.args, "--page-size", PAGE, "--progress")
    export.wait_for_a_save()
    export.process.send_signal(signum)
    code, out, err = export.finish()
    assert code == status
    name = signal.Signals(signum).name
    saved = sum(map(len, copy.ids().values()))
    assert 0 < saved < len(served.fake.activities)
    # Everything received before the signal is saved, and the message says how much.
    assert f"closeasync export: interrupted ({name}); {saved} rows saved. " in err
    assert "Run it again with --since-last to go on." in err
    assert f"Stopped after {saved} activities" in out

    release(served)
    code, out, err = run(served, "activities", *copy.args, "--since-last")
    assert code == ExitCode.OK, err
    assert copy.ids() == expected(served.fake)


@pytest.mark.parametrize("copy", ["postgresql"], indirect=True)
def test_a_lost_database_connection_ends_with_status_1_and_the_rest_follows_later(
    served: ServedFake, copy: Copy
) -> None:
    """The server ends the export's session while it waits for Close: the next save fails,
    nothing of it is kept, and the next run goes on from the last save."""
    assert isinstance(copy, PostgresCopy)
    hold_answers(served)
    export = Export(served, "activities", *copy.args, "--page-size", PAGE, "--progress")
    export.wait_for_a_save()
    ended = copy.server.json(
        copy.database,
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
        "WHERE application_name = 'closeasync export'",
    )
    assert ended == [{"ended": True}]
    saved = sum(map(len, copy.ids().values()))
    release(served)
    code, _, err = export.finish()
    assert code == ExitCode.FAILED, err
    assert f"cannot write {copy.url}: " in err
    assert f"{saved} rows were saved; run again with --since-last to go on from there" in err
    assert "Traceback" not in err
    assert sum(map(len, copy.ids().values())) == saved  # the failed save left nothing

    code, out, err = run(served, "activities", *copy.args, "--since-last")
    assert code == ExitCode.OK, err
    assert "resumed from an interrupted export" in out
    assert copy.ids() == expected(served.fake)


@pytest.mark.parametrize("copy", ["postgresql"], indirect=True)
def test_killed_inside_a_transaction_leaves_neither_its_rows_nor_its_resume_point(
    served: ServedFake, copy: Copy
) -> None:
    """Another session locks the resume points' table: the export's next save copies its rows,
    then waits for the lock inside its transaction, and is killed there. PostgreSQL rolls back:
    none of those rows is in the copy, and the next run fetches them again."""
    assert isinstance(copy, PostgresCopy)
    hold_answers(served)
    export = Export(served, "activities", *copy.args, "--page-size", PAGE, "--progress")
    export.wait_for_a_save()
    psql = copy.server.bindir / "psql"
    where = ["-h", "127.0.0.1", "-p", str(copy.server.port), "-U", "postgres", "-d", copy.database]
    locker = subprocess.Popen(
        [str(psql), "-X", "-q", "-A", "-t", *where], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert locker.stdin is not None
        assert locker.stdout is not None
        locker.stdin.write("BEGIN; LOCK TABLE closeasync_exports; SELECT 'locked';\n")
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "locked"
        release(served)  # the next page arrives; its save waits for the lock
        waiting = (
            "SELECT count(*) AS n FROM pg_stat_activity "
            "WHERE application_name = 'closeasync export' AND wait_event_type = 'Lock'"
        )
        deadline = time.monotonic() + TIMEOUT
        while copy.server.json(copy.database, waiting) != [{"n": 1}]:
            assert time.monotonic() < deadline, "the export never waited for the lock"
            time.sleep(0.02)  # polling the server, bounded by the deadline
        # Its open transaction has written rows into an activity table (none visible yet).
        writing = (
            "SELECT count(*) AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE a.application_name = 'closeasync export' AND l.mode = 'RowExclusiveLock' "
            "AND l.granted AND l.relation::regclass::text NOT LIKE 'closeasync%'"
        )
        assert copy.server.json(copy.database, writing)[0]["n"] >= 1
        saved = copy.ids()  # what was committed before
        export.process.kill()
        assert export.finish()[0] == -signal.SIGKILL
    finally:
        if export.process.poll() is None:
            export.process.kill()
            export.process.wait(TIMEOUT)
        locker.communicate(timeout=TIMEOUT)  # its input ends: psql ends, its transaction rolled back
    assert copy.ids() == saved  # the killed transaction's rows are not there
    code, _, err = run(served, "activities", *copy.args, "--page-size", PAGE, "--since-last")
    assert code == ExitCode.OK, err
    assert copy.ids() == expected(served.fake)


@pytest.mark.skipif(shutil.which("head") is None, reason="needs head(1)")
@pytest.mark.parametrize("command", ["export", "list"])
def test_a_reader_that_goes_away_ends_the_command_quietly_with_0(served: ServedFake, command: str) -> None:
    """``closeasync export sms --to - | head -2``: the pipeline a shell makes, with head itself.

    The fake holds back every answer after the first page, so head has its two lines and
    is gone before the next page is written: that write meets a closed pipe, every time.
    """
    hold_answers(served, answered=1)
    # Both read more than one page: 17 SMS in pages of 10, 249 activities in pages of 100.
    args = (
        ["sms", "--to", "-", "--page-size", PAGE] if command == "export" else ["activities", "--limit", "0"]
    )
    env = {**os.environ, "CLOSE_API_KEY": served.fake.api_key, "CLOSE_BASE_URL": served.base_url}
    producer = subprocess.Popen(
        [*COMMAND, command, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert producer.stdout is not None
    head = subprocess.Popen(["head", "-2"], stdin=producer.stdout, stdout=subprocess.PIPE)
    producer.stdout.close()  # head holds the only reading end, as in a shell pipeline
    try:
        shown, _ = head.communicate(timeout=TIMEOUT)
        assert head.returncode == 0
        release(served)  # the next page arrives, and writing it meets the closed pipe
        _, err = producer.communicate(timeout=TIMEOUT)
    finally:
        for process in (producer, head):
            if process.poll() is None:
                process.kill()
                process.wait(TIMEOUT)
    lines = shown.splitlines()
    assert len(lines) == 2
    assert all(orjson.loads(line)["_type"] for line in lines)
    assert producer.returncode == ExitCode.OK, err
    assert err == b""  # quietly: no "Broken pipe", no summary, no traceback


def test_an_export_under_429s_and_resets_as_a_subprocess(served: ServedFake, tmp_path: Path) -> None:
    def faults() -> None:
        served.fake.faults.add("status", status=429, count=2, skip=2, retry_after=0.02)
        served.fake.faults.add("drop", count=2, skip=6)

    served.call(faults)
    path = tmp_path / "close.jsonl"
    code, out, err = run(served, "activities", "--to", str(path), "--page-size", "25")
    assert code == ExitCode.OK, err
    assert output_ids(path) == expected(served.fake)
    assert "retries: 2" in out
    assert "rate-limit waits: 0 " not in out


def test_a_lost_network_ends_with_its_status_and_the_rest_follows_later(
    served: ServedFake, copy: Copy
) -> None:
    # The first request reads Close's clock (where the copy's change feed starts); from the
    # 5th request on, every connection is dropped: retries run out after three pages.
    served.call(lambda: served.fake.faults.add("drop", count=1000, skip=4))
    code, _, err = run(served, "activities", *copy.args, "--page-size", PAGE, "--retries", "1")
    assert code == ExitCode.NETWORK
    assert f"cannot reach Close at {served.base_url}" in err
    saved = sum(map(len, copy.ids().values()))
    assert saved == 3 * int(PAGE) - 2  # three pages, less the item each later page repeats
    assert f"{saved} rows were saved; run again with --since-last to go on from there" in err
    assert "Traceback" not in err

    release(served)
    code, _, err = run(served, "activities", *copy.args, "--page-size", PAGE, "--since-last")
    assert code == ExitCode.OK, err
    assert copy.ids() == expected(served.fake)


@pytest.mark.parametrize(
    ("env", "args", "status", "message"),
    [
        ({"CLOSE_API_KEY": ""}, [], ExitCode.USAGE, "no API key: set CLOSE_API_KEY"),
        (
            {"CLOSE_API_KEY": "api_wrongSECRET0123456789"},
            [],
            ExitCode.API,
            "Close refused the API key (HTTP 401)",
        ),
        ({}, ["--type", "Call"], ExitCode.USAGE, "types: can only be used together with a single lead_id"),
        (
            {"CLOSE_BASE_URL": "http://127.0.0.1:9/api/v1"},
            ["--retries", "0"],
            ExitCode.NETWORK,
            "cannot reach",
        ),
    ],
)
def test_error_messages_as_a_subprocess(
    served: ServedFake, copy: Copy, env: dict[str, str], args: list[str], status: int, message: str
) -> None:
    child_env = {
        **os.environ,
        "CLOSE_API_KEY": served.fake.api_key,
        "CLOSE_BASE_URL": served.base_url,
        **env,
    }
    result = subprocess.run(
        [*COMMAND, "export", "activities", *copy.args, *args],
        capture_output=True,
        text=True,
        env=child_env,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == status
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stdout + result.stderr
    assert not copy.snapshot()  # nothing is created when nothing was fetched (no file, no table)
