"""An export into PostgreSQL (asyncpg, the ``postgres`` extra): SQLite's tables, in a schema.

The same tables as :class:`SQLiteStore` (one per activity type, the lifted columns,
``data``, ``exported_at``; ``closeasync_exports`` and ``closeasync_deletions``), with
PostgreSQL's types (:mod:`closeasync.export._pg_sql`). Each save is one transaction:
rows, deletions and the resume point commit together or not at all, so a run killed at
any moment (the server rolls back what its connection had not committed) loses and
doubles nothing. One export writes to a schema at a time: the store holds a session
advisory lock on it for as long as it is open (PostgreSQL releases it when the
connection ends, also when the process was killed).

asyncpg is imported when a store is made, not with this package: without the extra,
``PostgresStore(...)`` raises :class:`StoreError` saying what to install.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import zlib
from collections.abc import Mapping, Sequence
from types import ModuleType
from typing import Any

import anyio
import orjson

from .. import InvalidRequestError, SyncCursor
from ._pg_sql import BOOKKEEPING, EXPORTS, SCHEMA_TABLES, Statements, bookkeeping_ddl, pg_values, quote
from ._pg_url import ambiguous, is_postgres_url, secrets_of, shown_url
from ._saves import handed_over
from ._state import Deletion, ExportState
from ._stores_base import StoreBusyError, StoreError, StoreWriteError
from ._tables import UNTYPED, columns_for, table_for

__all__ = ["INSTALL", "PostgresStore", "is_postgres_url", "shown_url"]

#: What to run for the driver.
INSTALL = 'pip install "closeasync[postgres]"'
#: The first key of closeasync's advisory locks (the second names the schema): "clas".
_LOCK_SPACE = 0x636C6173
#: PostgreSQL's codes for a character its text cannot hold (U+0000, which JSON may carry).
_UNSTORABLE = ("22021", "22P05")


def _driver() -> ModuleType:
    try:
        return importlib.import_module("asyncpg")
    except ImportError:
        raise StoreError(f"exporting to PostgreSQL needs the asyncpg driver: {INSTALL}") from None


def _lock_key(schema: str) -> int:
    """The schema's advisory lock key: its CRC-32 as PostgreSQL's signed ``integer``."""
    key = zlib.crc32(schema.encode())
    return key - (1 << 32) if key >= 1 << 31 else key


def _without_nul(value: Any) -> Any:
    """``value`` with every U+0000 in its strings (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def _pages(records: Sequence[Mapping[str, Any]]) -> dict[str, list[list[str | None]]]:
    """The rows of each table, an id once (the last one wins, as upserting one by one would).

    PostgreSQL's ``text`` and ``jsonb`` cannot hold U+0000, which JSON (and so Close) may
    carry: refusing the row would stop the copy at it on every run, so that one character
    is stored as U+FFFD, the replacement character (the SQLite and JSON Lines copies keep
    it). The test is one substring search of the JSON already made (``\\u0000`` is how
    orjson writes it; a false alarm on a literal backslash only costs a walk).
    """
    by_table: dict[str, dict[str | None, list[str | None]]] = {}
    for record in records:
        table = table_for(str(record.get("_type") or UNTYPED))
        data = orjson.dumps(record).decode()
        if "\\u0000" in data:
            record = _without_nul(record)
            data = orjson.dumps(record).decode()
        values = pg_values(columns_for(table), record)
        values.append(data)
        by_table.setdefault(table, {})[values[0]] = values
    return {table: list(rows.values()) for table, rows in by_table.items()}


class PostgresStore:
    """Rows upserted by id, and the resume point, in a schema of a PostgreSQL database.

    ``url`` is a libpq-style URL (``postgresql://user@host:5432/db``; a password is better
    kept in ``PGPASSWORD`` or ``~/.pgpass``, which asyncpg reads). ``schema`` is created if
    missing; by default, the connection's current schema (the first of its
    ``search_path`` that exists, usually ``public``). Nothing is sent until the first call.
    Its calls are coroutines (an :class:`AsyncStore`): close it with ``await aclose()``.
    The password never shows in its repr or its errors.

    >>> PostgresStore("postgresql://me:s3cret@db.example.com/crm", schema="close")
    PostgresStore('postgresql://me@db.example.com/crm', schema='close')

    >>> async def nightly(close):  # doctest: +SKIP
    ...     store = PostgresStore("postgresql://me@db.example.com/crm", schema="close")
    ...     try:
    ...         await run_export(close, ExportSpec(what="activities"), store, resume=True)
    ...     finally:
    ...         await store.aclose()

    Raises:
        StoreError: ``url`` is not a PostgreSQL URL, or the ``postgres`` extra is missing.
    """

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        connect_timeout: float = 30.0,
        command_timeout: float = 120.0,
    ) -> None:
        if not is_postgres_url(url):
            raise StoreError("a PostgreSQL output is a postgresql:// (or postgres://) URL")
        if schema is not None and not schema.strip():
            raise StoreError("the schema name cannot be empty")
        if schema is not None and len(schema.encode()) > 63:
            raise StoreError("a PostgreSQL schema name is at most 63 bytes")
        if ambiguous(url):
            raise StoreError(
                "the PostgreSQL URL's user info holds '/', '?' or '#': percent-encode them in the "
                "password (or leave the password out and set PGPASSWORD)"
            )
        self._pg = _driver()
        self._url = url
        self._connect_timeout = connect_timeout
        self._command_timeout = command_timeout
        self.name = shown_url(url)
        self.schema = schema
        self._conn: Any = None
        self._sql = Statements(schema or "public")
        self._ready: set[str] = set()  # tables (and their staging tables) known to exist
        self._dropped: int | None = None  # the server pid of a connection dropped after a failed save

    #: Whether a ``--to`` names PostgreSQL; how a URL is shown (see :func:`shown_url`).
    is_url = staticmethod(is_postgres_url)
    shown_url = staticmethod(shown_url)

    def __repr__(self) -> str:
        return f"PostgresStore({self.name!r}, schema={self.schema!r})"

    def _reason(self, exc: BaseException) -> str:
        text = str(exc) or type(exc).__name__
        for secret in sorted(secrets_of(self._url), key=len, reverse=True):
            text = text.replace(secret, "***")
        if getattr(exc, "sqlstate", None) in _UNSTORABLE:
            text += " (PostgreSQL text cannot hold the character U+0000, which Close sent)"
        return text

    def _failed(self, exc: BaseException) -> bool:
        """Whether ``exc`` is the database's (or the network's) failure, not ours.

        asyncpg's ``InternalClientError`` counts: a connection the server ended mid-save can
        surface as one ("another operation is in progress") when the rollback meets it.
        """
        pg = self._pg
        return isinstance(
            exc, OSError | TimeoutError | pg.PostgresError | pg.InterfaceError | pg.InternalClientError
        )

    async def _connection(self) -> Any:
        """The connection, made and locked on first use."""
        if self._conn is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:  # trio, say: asyncpg needs asyncio's loop
                raise StoreError(
                    "the PostgreSQL store runs on asyncio only (its driver, asyncpg, does): "
                    "run the export under asyncio"
                ) from None
            self._conn = await self._connect()
        return self._conn

    async def _connect(self) -> Any:
        # Errors are raised outside the ``except`` blocks: the driver's exception is not
        # chained to ours (nothing of the connection, its URL least, rides along).
        failure: str | None = None
        try:
            conn = await self._pg.connect(
                self._url,
                timeout=self._connect_timeout,
                # A statement that cannot go on (a lock someone holds, a network gone quiet)
                # fails the save instead of holding the export, and its Ctrl-C, for good.
                command_timeout=self._command_timeout,
                server_settings={"application_name": "closeasync export", "lock_timeout": "60s"},
            )
        except Exception as exc:
            if not (self._failed(exc) or isinstance(exc, ValueError | OverflowError)):  # a malformed URL
                raise
            failure = f"cannot connect to {self.name}: {self._reason(exc)}"
        if failure is not None:
            raise StoreError(failure)
        try:
            await self._wait_for_dropped(conn)
            await self._lock(conn)
        except BaseException as exc:
            conn.terminate()
            if not self._failed(exc):
                raise
            failure = f"cannot use {self.name}: {self._reason(exc)}"
        if failure is not None:
            raise StoreError(failure)
        return conn

    async def _wait_for_dropped(self, conn: Any) -> None:
        """Wait (10 s at most) for the session this store dropped to end on the server: it
        holds the schema's lock until then, and must not look like another export."""
        pid, self._dropped = self._dropped, None
        if pid is None:
            return
        for _ in range(500):  # the server tells no one when a session ends: ask (10 s at most)
            if not await conn.fetchval("SELECT true FROM pg_catalog.pg_stat_activity WHERE pid = $1", pid):
                return
            await anyio.sleep(0.02)

    async def _lock(self, conn: Any) -> None:
        """The session's settings, the schema, and the schema's lock (or :class:`StoreBusyError`)."""
        with contextlib.suppress(self._pg.PostgresError):  # PostgreSQL < 14, or built without lz4
            # lz4 compresses the 6 KiB ``data`` of an email twice as fast as pglz, the default
            # (see benchmarks/RESULTS.md); only this session's writes use it, reads need nothing.
            await conn.execute("SET default_toast_compression = lz4")
        # As SQLite's WAL with synchronous=NORMAL: a commit does not wait for the disk. A crash
        # of the database's machine may lose the last commits, rows and resume point together
        # (the next run fetches them again); no transaction is ever half there.
        await conn.execute("SET synchronous_commit = off")
        if self.schema is None:
            self.schema = await conn.fetchval("SELECT current_schema()")
            if self.schema is None:
                raise StoreError(f"{self.name} has no schema on its search_path; give one (--schema)")
            self._sql = Statements(self.schema)
        if not await conn.fetchval(
            "SELECT pg_try_advisory_lock($1, $2)", _LOCK_SPACE, _lock_key(self.schema)
        ):
            raise StoreBusyError(
                f"another closeasync export is writing to {self.name} (schema {self.schema}); "
                "wait for it to end"
            )

    async def saved_state(self, key: str) -> ExportState | None:
        """The resume point saved for ``key`` (None: nothing exported there yet).

        Raises:
            StoreBusyError: another export is writing to the same schema.
            StoreError: the database cannot be reached, or the resume point is damaged.
        """
        conn = await self._connection()
        failure = saved = None
        try:
            if await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", self._sql.table(EXPORTS)):
                saved = await conn.fetchval(self._sql.saved_state, key)
        except Exception as exc:
            if not self._failed(exc):
                raise
            failure = f"cannot read {self.name}: {self._reason(exc)}"
        if failure is not None:
            raise StoreWriteError(failure)
        if saved is None:
            return None
        try:
            return ExportState.from_json(saved)
        except InvalidRequestError:
            raise StoreError(f"the resume point of {key} in {self.name} is damaged") from None

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        """Write ``records``, remove ``deletions`` and save ``state`` in one transaction.

        Raises:
            StoreBusyError: another export is writing to the same schema.
            StoreWriteError: the database failed meanwhile (nothing of this save is kept).
        """
        state = ExportState.of(state)
        pages = _pages(records)
        conn = await self._connection()
        failure = None
        try:
            async with conn.transaction():
                await self._create(conn, pages)
                for table, rows in pages.items():
                    await self._write(conn, table, rows)
                if deletions:
                    await self._delete(conn, deletions)
                in_progress = state.walk.in_progress
                await conn.execute(self._sql.save_state, key, state.to_json(), in_progress, len(records))
        except BaseException as exc:
            self._ready.clear()  # what this transaction created is gone again
            # A save broken off (cancelled, or failed mid-protocol) can leave the connection
            # inside its transaction, where every later "commit" would only end a savepoint:
            # the connection goes (PostgreSQL rolls back, the lock is freed), the next call
            # connects again.
            self._drop()
            if not (isinstance(exc, Exception) and self._failed(exc)):
                raise
            failure = f"cannot write {self.name}: {self._reason(exc)}"
        if failure is not None:
            raise StoreWriteError(failure)

    async def _write(self, conn: Any, table: str, rows: list[list[str | None]]) -> None:
        """A page of one table: copied straight in when its ids are all new, else staged and
        upserted (see :mod:`closeasync.export._pg_sql`)."""
        columns = self._sql.copied(table)
        known = await conn.fetchval(self._sql.holds_any(table), [row[0] for row in rows])
        handed_over()  # the rest is mostly the server's: the export reads on meanwhile
        if not known:
            await conn.copy_records_to_table(table, records=rows, columns=columns, schema_name=self.schema)
            return
        stage = self._sql.stage(table)
        await conn.copy_records_to_table(stage, records=rows, columns=columns, schema_name="pg_temp")
        await conn.execute(self._sql.upsert(table))

    async def _create(self, conn: Any, pages: Mapping[str, Any]) -> None:
        """The schema, the bookkeeping tables and each page's table, if missing."""
        if "" not in self._ready:
            schema = self.schema or "public"
            if not await conn.fetchval("SELECT true FROM pg_catalog.pg_namespace WHERE nspname = $1", schema):
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
            for statement in bookkeeping_ddl(schema):
                await conn.execute(statement)
            self._ready.add("")
        for table in pages:
            if table not in self._ready:
                for statement in self._sql.create(table):
                    await conn.execute(statement)
                self._ready.add(table)

    async def _delete(self, conn: Any, deletions: Sequence[Deletion]) -> None:
        """Remove each object from its table (from every table when its type is unknown) and
        record when, if it was in the copy: one statement per table."""
        present = await self._tables(conn)
        gone: dict[str, dict[str, str | None]] = {}
        for deletion in deletions:
            for table in [table_for(deletion.type)] if deletion.type else present:
                gone.setdefault(table, {})[deletion.id] = deletion.deleted_at
        # By name, as SQLite's store goes: an id several tables held (never Close's doing) is
        # recorded under the last of them in both copies.
        for table, removed in sorted(gone.items()):
            if table in present:
                await conn.execute(self._sql.delete(table), list(removed), list(removed.values()), table)

    async def _tables(self, conn: Any) -> list[str]:
        """The activity tables: the schema's tables with an ``id``, bookkeeping left out."""
        rows = await conn.fetch(SCHEMA_TABLES, self.schema, list(BOOKKEEPING))
        return [row[0] for row in rows]

    async def counts(self) -> dict[str, int]:
        """Rows per activity table."""
        conn = await self._connection()
        return {
            table: int(await conn.fetchval(f"SELECT count(*) FROM {self._sql.table(table)}"))
            for table in await self._tables(conn)
        }

    async def row_ids(self) -> dict[str, set[str]]:
        """The ids in each activity table (for checking an export against its source)."""
        conn = await self._connection()
        found: dict[str, set[str]] = {}
        for table in await self._tables(conn):
            found[table] = {row[0] for row in await conn.fetch(f"SELECT id FROM {self._sql.table(table)}")}
        return found

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._dropped = conn.get_server_pid()
            conn.terminate()

    async def aclose(self) -> None:
        """Close the connection (which frees the schema for another export)."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.close(timeout=10)
        except Exception:
            conn.terminate()  # everything saved is committed: a failed goodbye loses nothing
        except BaseException:
            conn.terminate()
            raise
