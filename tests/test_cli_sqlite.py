"""``closeasync export --to close.sqlite``: the copy is indexed for the usual questions.

Every activity table gets an index on ``lead_id`` (a lead's history) and one on
``date_created`` (a period), also a copy an older version made without them, once it
is opened again. Through the command, against a fake served over HTTP.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from closeasync.cli import ExitCode, main
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from tests.export_support import by_table
from tests.served import ServedFake

INDEXED = {"lead_id", "date_created"}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedFake]:
    fake = FakeClose(seed=13)
    load_demo(fake, leads=8)
    with ServedFake(fake) as served:
        monkeypatch.setenv("CLOSE_API_KEY", fake.api_key)
        monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)
        yield served


def indexed_columns(db: sqlite3.Connection, table: str) -> set[str]:
    """The columns that lead an index of ``table`` (PRAGMA index_list, then index_info)."""
    names = [row[1] for row in db.execute(f'PRAGMA index_list("{table}")')]
    return {db.execute(f'PRAGMA index_info("{name}")').fetchone()[2] for name in names}


def activity_tables(db: sqlite3.Connection) -> list[str]:
    query = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'closeasync\\_%' ESCAPE '\\'"
    )
    return [name for (name,) in db.execute(query)]


def plan(db: sqlite3.Connection, query: str, *args: object) -> str:
    return " ".join(row[3] for row in db.execute("EXPLAIN QUERY PLAN " + query, args))


def test_every_table_is_indexed_by_lead_and_creation_date(served: ServedFake, tmp_path: Path) -> None:
    path = tmp_path / "close.sqlite"
    assert main(["export", "activities", "--to", str(path)]) == ExitCode.OK
    with closing(sqlite3.connect(path)) as db:
        tables = activity_tables(db)
        assert len(tables) >= 8  # a table per type: email, sms, call, note...
        for table in tables:
            assert indexed_columns(db, table) >= INDEXED, table
        named = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        lead = db.execute("SELECT lead_id FROM email LIMIT 1").fetchone()[0]
        by_lead = plan(db, "SELECT * FROM email WHERE lead_id = ?", lead)
        by_date = plan(db, "SELECT * FROM sms WHERE date_created >= ?", "2026-01-01")
    assert {"idx_email_lead_id", "idx_email_date_created"} <= named
    # SQLite searches the index instead of scanning the table.
    assert "USING INDEX idx_email_lead_id (lead_id=?)" in by_lead
    assert "USING INDEX idx_sms_date_created (date_created>?)" in by_date


def test_a_copy_made_without_indexes_gets_them_when_opened_again(served: ServedFake, tmp_path: Path) -> None:
    path = tmp_path / "close.sqlite"
    assert main(["export", "activities", "--to", str(path)]) == ExitCode.OK
    # What an older version left: the same tables without indexes. And what a user may add:
    # a table of their own, and SQLite's statistics table (which cannot be indexed).
    with closing(sqlite3.connect(path)) as db:
        made = db.execute("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL")
        for (name,) in made.fetchall():
            db.execute(f'DROP INDEX "{name}"')
        db.execute("CREATE TABLE my_notes (text TEXT)")
        db.execute("ANALYZE")
        db.commit()
        assert all(not INDEXED & indexed_columns(db, table) for table in activity_tables(db))

    assert main(["export", "activities", "--to", str(path), "--since-last"]) == ExitCode.OK
    with closing(sqlite3.connect(path)) as db:
        ours = [table for table in activity_tables(db) if table not in ("my_notes", "sqlite_stat1")]
        for table in ours:
            assert indexed_columns(db, table) >= INDEXED, table
        assert indexed_columns(db, "my_notes") == set()  # not ours: left as it was
        ids = {table: {i for (i,) in db.execute(f'SELECT id FROM "{table}"')} for table in ours}
    assert ids == by_table(served.fake)  # and every row is there
