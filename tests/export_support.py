"""What the export tests compare: a fake's activities and an export's output, by table."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson

from closeasync.export import table_for
from closeasync.fake import FakeClose


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
