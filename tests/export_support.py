"""What the export tests compare, and the copies they write to.

A :class:`Copy` is one output of an export: a SQLite file, a PostgreSQL schema (on the
tests' throwaway server) or a JSON Lines file. The tests make stores on it, give its
``--to`` to the command, and read it back the way any other reader would (``sqlite3``,
``psql``, the file's lines), never through the store under test.
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest

from closeasync import CloseAsync, SyncCursor
from closeasync.export import (
    AsyncStore,
    Deletion,
    ExportSpec,
    ExportState,
    ExportStats,
    JsonLinesStore,
    PostgresStore,
    SQLiteStore,
    Store,
    StoreWriteError,
    async_store,
    handed_over,
    run_export,
    table_for,
)
from closeasync.export._tables import JSON_COLUMNS
from closeasync.fake import FakeClose
from tests.postgres_server import PostgresServer

#: The database stores every store-behaviour test runs against.
STORES = ["sqlite", "postgresql"]
_BOOKKEEPING = ("closeasync_exports", "closeasync_deletions")


def by_table(fake: FakeClose, types: set[str] | None = None) -> dict[str, set[str]]:
    """The fake's activity ids (of ``types``, or all), by the table an export puts them in."""
    tables: dict[str, set[str]] = {}
    for ident, obj in fake.activities.items():
        if types is None or obj["_type"] in types:
            tables.setdefault(table_for(obj["_type"]), set()).add(ident)
    return tables


def output_ids(path: Path) -> dict[str, list[str]]:
    """Every id in an export's output, SQLite or JSON Lines, by table (sorted lists: a doubled
    row would show). Read straight from the file, as any other reader would."""
    found: dict[str, list[str]] = {}
    if path.suffix == ".jsonl":
        for line in path.read_bytes().splitlines():
            obj = orjson.loads(line)
            found.setdefault(table_for(obj["_type"]), []).append(obj["id"])
    else:
        db = sqlite3.connect(path)
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        names = [n for n in names if not n.startswith("closeasync_")]  # resume points, deletions
        found = {n: [i for (i,) in db.execute(f'SELECT id FROM "{n}"')] for n in names}
        db.close()
    return {table: sorted(ids) for table, ids in found.items()}


def sorted_ids(tables: dict[str, set[str]]) -> dict[str, list[str]]:
    """``by_table``'s sets as ``output_ids``' sorted lists."""
    return {table: sorted(ids) for table, ids in tables.items()}


class PassingStore:
    """An :class:`AsyncStore` in front of another: every call passes through (tests override
    ``save`` to die, wait or fail around the real one)."""

    def __init__(self, inner: AsyncStore) -> None:
        self.inner = inner

    async def saved_state(self, key: str) -> ExportState | None:
        return await self.inner.saved_state(key)

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        await self.inner.save(records, state, key, deletions)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Gated(PassingStore):
    """A SQLite store whose saves wait at a gate the test opens (after handing over, if it
    does: see ``handed_over``), and fail at the ``fail_at``-th; ``log`` gets ``begin N`` and
    ``end N`` as each save begins and commits, ``begun`` is set when one has begun."""

    def __init__(
        self, path: Path, log: list[str] | None = None, *, hands_over: bool = True, fail_at: int = 0
    ) -> None:
        super().__init__(async_store(SQLiteStore(path)))
        self.log = log if log is not None else []
        self.hands_over = hands_over
        self.fail_at = fail_at
        self.gate = asyncio.Event()
        self.begun = asyncio.Event()
        self.calls = 0
        self.finished = 0

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        self.calls += 1
        number = self.calls
        self.log.append(f"begin {number}")
        self.begun.set()
        if self.hands_over:
            handed_over()
        await self.gate.wait()
        if number == self.fail_at:
            raise StoreWriteError("the server went away")
        await self.inner.save(records, state, key, deletions)
        self.finished += 1
        self.log.append(f"end {number}")


async def turns(count: int = 50) -> None:
    """Let the event loop run the other tasks' ready steps (the fake answers in one)."""
    for _ in range(count):
        await asyncio.sleep(0)


class Copy:
    """One output of an export, read back from outside."""

    kind: str

    @property
    def args(self) -> list[str]:
        """The command's arguments naming it."""
        raise NotImplementedError

    def store(self, resume: bool = True) -> Store | AsyncStore:
        """A new store on it (``resume``: JSON Lines goes on from its state; else starts again)."""
        raise NotImplementedError

    def ids(self) -> dict[str, list[str]]:
        """Every id by table, sorted (a doubled row would show)."""
        raise NotImplementedError

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        """A table's rows by id, every column; ``data`` and the list columns as JSON values."""
        raise NotImplementedError

    def exports(self) -> list[tuple[str, bool, int]]:
        """The resume points: ``(export, in_progress, rows_saved)``."""
        raise NotImplementedError

    def deleted(self) -> set[str]:
        """The ids in ``closeasync_deletions``."""
        raise NotImplementedError

    def snapshot(self) -> object:
        """All it holds, to tell whether a run wrote anything at all."""
        raise NotImplementedError

    def another(self) -> Copy:
        """A new, empty copy of the same kind."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{self.kind} copy {' '.join(self.args)}>"


class FileCopy(Copy):
    """A SQLite file, or a JSON Lines file (``kind="jsonl"``)."""

    def __init__(self, folder: Path, kind: str, name: str = "close") -> None:
        self.kind, self.folder = kind, folder
        self.path = folder / f"{name}.{kind}"
        self._names = itertools.count(1)

    @property
    def args(self) -> list[str]:
        return ["--to", str(self.path)]

    def store(self, resume: bool = True) -> Store:
        if self.kind == "jsonl":
            return JsonLinesStore(self.path, resume=resume, overwrite=not resume)
        return SQLiteStore(self.path)

    def ids(self) -> dict[str, list[str]]:
        return output_ids(self.path) if self.path.exists() else {}

    def _query(self, table: str, sql: str) -> list[sqlite3.Row]:
        """The rows of ``sql``, none while ``table`` is not made yet."""
        if not self.path.exists():
            return []
        with closing(sqlite3.connect(self.path)) as db:
            db.row_factory = sqlite3.Row
            made = db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            return db.execute(sql).fetchall() if made.fetchone() else []

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        found = {}
        for row in self._query(table, f'SELECT * FROM "{table}"'):
            values = dict(row)
            for name in ("data", *JSON_COLUMNS):  # SQLite holds a list as its JSON, a string as is
                if isinstance(values.get(name), str) and values[name][:1] in ("[", "{"):
                    values[name] = orjson.loads(values[name])
            found[values["id"]] = values
        return found

    def exports(self) -> list[tuple[str, bool, int]]:
        query = "SELECT export, in_progress, rows_saved FROM closeasync_exports"
        return [(e, bool(p), n) for e, p, n in self._query("closeasync_exports", query)]

    def deleted(self) -> set[str]:
        return {row[0] for row in self._query("closeasync_deletions", "SELECT id FROM closeasync_deletions")}

    def snapshot(self) -> object:
        return (self.path.read_bytes(), self.path.stat().st_mtime_ns) if self.path.exists() else None

    def another(self) -> FileCopy:
        return FileCopy(self.folder, self.kind, f"close-{next(self._names)}")


class PostgresCopy(Copy):
    """A schema of a database on the tests' server (``None``: the default one, ``public``)."""

    kind = "postgresql"
    #: Shared by every copy: another one is a new schema, whichever copy it came from.
    _names = itertools.count(1)

    def __init__(self, server: PostgresServer, database: str, schema: str | None = None) -> None:
        self.server, self.database, self.schema = server, database, schema

    @property
    def url(self) -> str:
        return self.server.url(self.database)

    @property
    def args(self) -> list[str]:
        return ["--to", self.url, *(["--schema", self.schema] if self.schema else [])]

    def store(self, resume: bool = True) -> PostgresStore:
        return PostgresStore(self.url, schema=self.schema)

    def _json(self, query: str) -> Any:
        return self.server.json(self.database, query)

    def _tables(self) -> list[str]:
        query = f"SELECT tablename FROM pg_tables WHERE schemaname = '{self.schema or 'public'}'"
        return [row["tablename"] for row in self._json(query)]

    def _of(self, table: str) -> str:
        return f'"{self.schema or "public"}"."{table}"'

    def ids(self) -> dict[str, list[str]]:
        tables = [t for t in self._tables() if t not in _BOOKKEEPING]
        return {t: sorted(row["id"] for row in self._json(f"SELECT id FROM {self._of(t)}")) for t in tables}

    def rows(self, table: str) -> dict[str, dict[str, Any]]:
        if table not in self._tables():
            return {}
        return {row["id"]: row for row in self._json(f"SELECT * FROM {self._of(table)}")}

    def exports(self) -> list[tuple[str, bool, int]]:
        if "closeasync_exports" not in self._tables():
            return []
        rows = self._json(f"SELECT export, in_progress, rows_saved FROM {self._of('closeasync_exports')}")
        return [(row["export"], row["in_progress"], row["rows_saved"]) for row in rows]

    def deleted(self) -> set[str]:
        if "closeasync_deletions" not in self._tables():
            return set()
        return {row["id"] for row in self._json(f"SELECT id FROM {self._of('closeasync_deletions')}")}

    def snapshot(self) -> object:
        return {
            table: sorted(map(orjson.dumps, self._json(f"SELECT * FROM {self._of(table)}")))
            for table in sorted(self._tables())
        }

    def another(self) -> PostgresCopy:
        return PostgresCopy(self.server, self.database, f"copy_{next(self._names)}")


def open_copy(kind: str, request: pytest.FixtureRequest, folder: Path) -> Iterator[Copy]:
    """A copy of ``kind`` (``sqlite``, ``jsonl``, ``postgresql``: a new database on the
    session's server, dropped after the test)."""
    if kind != "postgresql":
        yield FileCopy(folder, kind)
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    database = server.create_database()
    try:
        yield PostgresCopy(server, database)
    finally:
        server.drop_database(database)


async def export_to(copy: Copy, close: CloseAsync, spec: ExportSpec, **options: Any) -> ExportStats:
    """``run_export`` into a new store on ``copy``, closed after (``resume`` as given)."""
    store = async_store(copy.store(resume=options.get("resume", False)))
    try:
        return await run_export(close, spec, store, **options)
    finally:
        await store.aclose()
