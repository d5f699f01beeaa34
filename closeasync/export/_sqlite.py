"""An export into SQLite (stdlib ``sqlite3``): a table per activity type, upserted by id.

Each table has the common columns (``id`` is the primary key), a few per-type columns
worth querying directly (see :mod:`closeasync.export._tables`), ``data`` (the whole
object as JSON, for ``json_extract``) and ``exported_at``. The table
``closeasync_exports`` keeps one resume point per export (listing, filters and date
bounds), saved in the same transaction as the rows it covers.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from .. import InvalidRequestError, SyncCursor
from ._lock import lock_output
from ._state import Deletion, ExportState
from ._stores_base import StoreError
from ._tables import UNTYPED, columns_for, row_values, table_for

__all__ = ["SQLiteStore"]

_STATE_TABLE = "closeasync_exports"
#: Objects Close deleted, removed from their table: when, and from which table.
_DELETIONS_TABLE = "closeasync_deletions"
_BOOKKEEPING = (_STATE_TABLE, _DELETIONS_TABLE)
#: Columns indexed in every activity table: the usual questions are a lead's history and a period.
_INDEXED = ("lead_id", "date_created")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_indexes(db: sqlite3.Connection, table: str) -> None:
    """Index ``table``'s ``lead_id`` and ``date_created`` (a no-op when they are there).

    A table someone else added to the file, without those columns, is left alone.
    """
    columns = {row[1] for row in db.execute(f"PRAGMA table_info({_quote(table)})")}
    for column in _INDEXED:
        if column in columns:
            index = _quote(f"idx_{table}_{column}")
            db.execute(f"CREATE INDEX IF NOT EXISTS {index} ON {_quote(table)} ({_quote(column)})")


class SQLiteStore:
    """Rows upserted by id, and the resume point, in one SQLite file.

    >>> import tempfile, os
    >>> store = SQLiteStore(os.path.join(tempfile.mkdtemp(), "close.sqlite"))
    >>> cursor = SyncCursor(scope="/activity/sms/")
    >>> store.save([{"_type": "SMS", "id": "acti_1", "text": "hi"}], cursor, "sms")
    >>> store.counts()
    {'sms': 1}
    >>> store.close()
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise StoreError(
                f"{self.path} is a folder; give a file name such as {self.path / 'close.sqlite'}"
            )
        self._connection: sqlite3.Connection | None = None
        self._lock: IO[bytes] | None = None
        self._upserts: dict[str, str] = {}

    @property
    def _db(self) -> sqlite3.Connection:
        """The connection, made on first use: a run that fails before its first save leaves no file."""
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, isolation_level=None)  # transactions by hand
        lock: IO[bytes] | None = None
        try:
            # WAL + NORMAL: a commit survives the process being killed; readers never block us.
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_STATE_TABLE} (export TEXT PRIMARY KEY, cursor TEXT NOT NULL, "
                "in_progress INTEGER NOT NULL, rows_saved INTEGER NOT NULL, updated_at TEXT NOT NULL)"
            )
            db.execute(
                f"CREATE TABLE IF NOT EXISTS {_DELETIONS_TABLE} (id TEXT PRIMARY KEY, "
                '"table" TEXT, deleted_at TEXT, recorded_at TEXT NOT NULL)'
            )
            lock = open(self.path, "rb")  # noqa: SIM115  (held, locked, until close())
            lock_output(lock, str(self.path))
            # A copy made by an older version has no indexes: add them once it is ours
            # (after the lock, so as not to write under another export's feet).
            for table in self._tables(db):
                _create_indexes(db, table)
        except BaseException as exc:
            db.close()
            if lock is not None:
                lock.close()
            if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
                raise StoreError(f"{self.path} is not a SQLite database: {exc}") from None
            raise  # cannot open or write it (no such folder, read-only, locked): not the file's fault
        self._lock = lock
        return db

    def saved_state(self, key: str) -> ExportState | None:
        if self._connection is None and not self.path.exists():
            return None
        row = self._db.execute(f"SELECT cursor FROM {_STATE_TABLE} WHERE export = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return ExportState.from_json(row[0])
        except InvalidRequestError:
            raise StoreError(f"the resume point of {key} in {self.path} is damaged") from None

    def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        state = ExportState.of(state)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        by_table: dict[str, list[list[Any]]] = {}
        for record in records:
            table = table_for(str(record.get("_type") or UNTYPED))
            values = row_values(columns_for(table), record)
            values += (orjson.dumps(record).decode(), now)
            by_table.setdefault(table, []).append(values)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for table, rows in by_table.items():
                db.executemany(self._upsert(table), rows)
            present = self._tables(db) if deletions else []  # read once per save, not per row
            for deletion in deletions:
                self._delete(deletion, now, present)
            db.execute(
                f"INSERT INTO {_STATE_TABLE} VALUES (?, ?, ?, ?, ?) ON CONFLICT(export) DO UPDATE SET "
                "cursor = excluded.cursor, in_progress = excluded.in_progress, "
                "rows_saved = rows_saved + excluded.rows_saved, updated_at = excluded.updated_at",
                (key, state.to_json(), int(state.walk.in_progress), len(records), now),
            )
        except BaseException:
            db.execute("ROLLBACK")
            self._upserts.clear()  # a table made in this transaction is gone again
            raise
        db.execute("COMMIT")

    def _delete(self, deletion: Deletion, now: str, present: list[str]) -> None:
        """Remove one object from its table (from every ``present`` table when its type is
        unknown) and record when, if it was in the copy (Close never reuses an id)."""
        tables = [table_for(deletion.type)] if deletion.type else present
        removed = None
        for table in tables:
            if table in present:
                cursor = self._db.execute(f"DELETE FROM {_quote(table)} WHERE id = ?", (deletion.id,))
                if cursor.rowcount:
                    removed = table
        if removed is not None:
            self._db.execute(
                f"INSERT INTO {_DELETIONS_TABLE} VALUES (?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
                '"table" = excluded."table", deleted_at = excluded.deleted_at, '
                "recorded_at = excluded.recorded_at",
                (deletion.id, removed, deletion.deleted_at, now),
            )

    def _upsert(self, table: str) -> str:
        """The table's upsert statement (creating the table on first use)."""
        statement = self._upserts.get(table)
        if statement is None:
            columns = [*columns_for(table), "data", "exported_at"]
            names = ", ".join(_quote(c) for c in columns)
            definitions = ", ".join(
                f"{_quote(c)} TEXT PRIMARY KEY" if c == "id" else _quote(c) for c in columns
            )
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {_quote(table)} ({definitions})")
            _create_indexes(self._db, table)
            updates = ", ".join(f"{_quote(c)} = excluded.{_quote(c)}" for c in columns if c != "id")
            marks = ", ".join("?" for _ in columns)
            statement = (
                f"INSERT INTO {_quote(table)} ({names}) VALUES ({marks}) "
                f"ON CONFLICT(id) DO UPDATE SET {updates}"
            )
            self._upserts[table] = statement
        return statement

    def _activity_tables(self) -> list[str]:
        if self._connection is None and not self.path.exists():
            return []
        return self._tables(self._db)

    @staticmethod
    def _tables(db: sqlite3.Connection) -> list[str]:
        """The activity tables (not the resume points, nor SQLite's own ``sqlite_stat1``...)."""
        query = (
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT IN (?, ?) "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name"
        )
        return [name for (name,) in db.execute(query, _BOOKKEEPING)]

    def counts(self) -> dict[str, int]:
        """Rows per activity table."""
        return {
            t: int(self._db.execute(f"SELECT COUNT(*) FROM {_quote(t)}").fetchone()[0])
            for t in self._activity_tables()
        }

    def row_ids(self) -> dict[str, set[str]]:
        """The ids in each activity table (for checking an export against its source)."""
        return {
            table: {row[0] for row in self._db.execute(f"SELECT id FROM {_quote(table)}")}
            for table in self._activity_tables()
        }

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
