"""A throwaway PostgreSQL cluster on 127.0.0.1 for the tests (and the export benchmark).

``initdb`` into a new folder, ``pg_ctl start`` on a free port, ``pg_ctl stop`` and the
folder removed at the end, by a watchdog process that does it also when the tests'
process is killed (no cluster outlives a run stopped by a time limit). ``initdb`` refuses
to run as root, so as root the cluster belongs to the ``postgres`` system user
(``runuser -u postgres --``), its folder handed to it; as anyone else it is the caller's.
Trust authentication on 127.0.0.1 only: a password in a URL is accepted and ignored,
which lets the tests check it is never shown.

The binaries are found by ``pg_config --bindir``, else by ``initdb`` on ``PATH``.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

__all__ = ["REQUIRE", "PostgresServer", "Unavailable", "find_bindir", "session_server"]

SUPERUSER = "postgres"
#: Set to 1 (``.ci/run`` does) to fail, not skip, where PostgreSQL is missing.
REQUIRE = "CLOSEASYNC_REQUIRE_POSTGRES"
TIMEOUT = 60.0


class Unavailable(Exception):
    """No PostgreSQL binaries here (or no way to run them): the reason."""


def find_bindir() -> Path:
    """The folder of ``initdb``, ``pg_ctl`` and ``psql``.

    Raises:
        Unavailable: there is none.
    """
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        folder = Path(found.stdout.strip())
        if found.returncode == 0 and (folder / "initdb").exists():
            return folder
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).resolve().parent
    raise Unavailable("no PostgreSQL binaries: neither pg_config nor initdb is on PATH")


#: The watchdog: waits for its input to end, then stops the cluster and removes its folder.
_WATCHDOG = """
import json, shutil, subprocess, sys
stop, folder = json.loads(sys.argv[1])
sys.stdin.buffer.read()
subprocess.run(stop, capture_output=True, timeout=60, check=False)
shutil.rmtree(folder, ignore_errors=True)
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """A cluster of our own; :meth:`start` it, :meth:`stop` it (both bounded in time).

    ``durable=False`` (the tests) turns fsync off: the tests kill clients, never the server.
    """

    def __init__(self, *, durable: bool = False) -> None:
        self.bindir = find_bindir()
        self.durable = durable
        self.port = 0
        self.folder: Path | None = None
        self._names = itertools.count(1)
        self._as: list[str] = []
        self._watchdog: subprocess.Popen[bytes] | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam(SUPERUSER)
            except KeyError:
                raise Unavailable(
                    f"running as root, and there is no {SUPERUSER!r} user to run initdb"
                ) from None
            self._as = ["runuser", "-u", SUPERUSER, "--"]

    def _run(self, *argv: str) -> None:
        done = subprocess.run(
            [*self._as, *argv], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"{Path(argv[0]).name} failed ({done.returncode}): {done.stderr or done.stdout}"
            )

    def start(self) -> PostgresServer:
        self.folder = Path(tempfile.mkdtemp(prefix="closeasync-pg-"))
        if self._as:
            shutil.chown(self.folder, SUPERUSER)
        data = self.folder / "data"
        initdb = ["-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-locale", "--no-sync"]
        options = f"-k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log, wait = ["-l", str(self.folder / "log")], ["-w", "-t", str(int(TIMEOUT))]
        try:
            self._run(str(self.bindir / "initdb"), *initdb)
            for attempt in range(3):  # another process may take the free port first
                self.port = _free_port()
                try:
                    server = ["-o", f"-p {self.port} {options}"]
                    self._run(str(self.bindir / "pg_ctl"), "-D", str(data), *log, *server, *wait, "start")
                    break
                except RuntimeError:
                    if attempt == 2:
                        raise
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None
            raise
        self._watchdog = self._watch(data, self.folder)
        return self

    def _watch(self, data: Path, folder: Path) -> subprocess.Popen[bytes]:
        """A process that stops the cluster and removes its folder once our end of its input
        closes: when :meth:`stop` closes it, and also when this process dies without stopping
        (killed, or a time limit's SIGTERM), so no cluster outlives the tests."""
        stop = [*self._as, str(self.bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]
        return subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, orjson.dumps([stop, str(folder)]).decode()],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C of the tests does not end it before its work
        )

    def stop(self) -> None:
        """Stop the cluster and remove its folder (the watchdog's work; waited for here)."""
        watchdog, self._watchdog, self.folder = self._watchdog, None, None
        if watchdog is not None:
            assert watchdog.stdin is not None
            watchdog.stdin.close()
            watchdog.wait(TIMEOUT)

    def url(self, database: str = "postgres", password: str | None = None) -> str:
        """A URL of one of its databases (the password accepted and ignored)."""
        user = SUPERUSER if password is None else f"{SUPERUSER}:{password}"
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def psql(self, database: str, sql: str) -> str:
        """What ``psql`` prints for ``sql`` (unaligned, tuples only), as a reader would see it."""
        where = ["-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database]
        argv = [str(self.bindir / "psql"), "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", *where, "-c", sql]
        env = {**os.environ, "PGCONNECT_TIMEOUT": "30"}
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, env=env, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr}")
        return done.stdout

    def json(self, database: str, query: str) -> Any:
        """The rows of ``query`` as JSON objects (jsonb columns as JSON, text as strings)."""
        out = self.psql(database, f"SELECT coalesce(json_agg(r), '[]') FROM ({query}) AS r")
        return orjson.loads(out)

    def create_database(self) -> str:
        name = f"test_{next(self._names)}"
        self.psql("postgres", f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.psql("postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def session_server() -> Iterator[PostgresServer]:
    """The tests' cluster for a whole session: skipped with the reason where PostgreSQL is
    missing (a failure when :data:`REQUIRE` is set), stopped at the end."""
    try:
        server = PostgresServer()
    except Unavailable as exc:
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1 but {exc}")
        pytest.skip(f"PostgreSQL tests skipped: {exc}")
    server.start()
    try:
        yield server
    finally:
        server.stop()
