"""What only the PostgreSQL copy has: its URL and password, its schema, its lock, its types,
its indexes, its driver as an extra. Against the tests' throwaway server, never a mock.

The behaviour every store shares (the rows, resuming, kills, changes) is tested for each
store by the export tests, parametrized by ``copy``.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from closeasync import CloseAsync, RequestEvent, SyncCursor
from closeasync.cli import ExitCode, main
from closeasync.export import Deletion, ExportSpec, PostgresStore, StoreError, run_export
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from tests import postgres_server
from tests.export_support import PostgresCopy, by_table, sorted_ids
from tests.postgres_server import PostgresServer, Unavailable
from tests.served import ServedFake

SECRET = "hunter2SECRET"
INSTALL = 'pip install "closeasync[postgres]"'


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedFake]:
    fake = FakeClose(seed=17)
    load_demo(fake, leads=8)
    with ServedFake(fake) as served:
        monkeypatch.setenv("CLOSE_API_KEY", fake.api_key)
        monkeypatch.setenv("CLOSE_BASE_URL", served.base_url)
        yield served


@pytest.fixture
def database(postgres_server: PostgresServer) -> Iterator[str]:
    name = postgres_server.create_database()
    yield name
    postgres_server.drop_database(name)


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """An exception and every one it carries (cause and context)."""
    while exc is not None:
        yield exc
        exc = exc.__cause__ or exc.__context__


def test_an_export_into_a_schema_shows_the_url_without_its_password(
    served: ServedFake,
    postgres_server: PostgresServer,
    database: str,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = postgres_server.url(database, password=SECRET)  # accepted (trust) and never shown
    argv = ["export", "activities", "--to", url, "--schema", "Close Copy", "--progress"]
    assert main(argv) == ExitCode.OK
    out, err = capsys.readouterr()
    shown = f"postgresql://postgres@127.0.0.1:{postgres_server.port}/{database}"
    assert f"Exported {len(served.fake.activities):,} activities to {shown} (schema Close Copy) in " in out
    copy = PostgresCopy(postgres_server, database, "Close Copy")
    assert copy.ids() == sorted_ids(by_table(served.fake))
    assert PostgresCopy(postgres_server, database).ids() == {}  # nothing in the default schema
    # postgres:// names it too; the run goes on from the copy's resume point.
    again = [
        "export",
        "activities",
        "--to",
        url.replace("postgresql://", "postgres://"),
        "--schema",
        "Close Copy",
    ]
    assert main([*again, "--since-last"]) == ExitCode.OK
    out2, err2 = capsys.readouterr()
    assert "resumed from the last export" in out2
    assert SECRET not in out + err + out2 + err2 + caplog.text


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("{server}/no_such_database", 'database "no_such_database" does not exist'),
        ("postgresql://postgres:{secret}@127.0.0.1:{closed}/db", "cannot connect to postgresql://postgres@"),
        ("{plain}/postgres?password={secret}&sslmode=disable", None),
        ("postgresql://postgres:{secret}@[::1/db", "Invalid IPv6 URL"),  # a URL that does not parse
    ],
)
def test_a_database_that_cannot_be_used_is_a_usage_error_and_the_password_never_shows(
    served: ServedFake,
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
    where: str,
    message: str | None,
) -> None:
    server = postgres_server.url("", password=SECRET).rstrip("/")
    plain = postgres_server.url("").rstrip("/")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]  # nobody listens there
    url = where.format(server=server, plain=plain, secret=SECRET, closed=closed)
    code = main(["export", "sms", "--to", url, "--schema", "crm"])
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    if message is None:  # a password in the query works, and is not shown either
        assert code == ExitCode.OK, err
        assert "to postgresql://postgres@127.0.0.1:" in out
        return
    assert code == ExitCode.USAGE
    assert message in err
    assert "cannot connect to postgresql://postgres@" in err
    assert "Traceback" not in err


async def test_a_store_keeps_its_password_out_of_its_repr_and_its_errors(
    postgres_server: PostgresServer,
) -> None:
    url = postgres_server.url("no_such_database", password=SECRET)
    store = PostgresStore(url, schema="crm")
    assert SECRET not in repr(store)
    assert repr(store) == f"PostgresStore('{postgres_server.url('no_such_database')}', schema='crm')"
    with pytest.raises(StoreError, match="does not exist") as refused:
        await store.saved_state("sms")
    await store.aclose()
    for exc in chain(refused.value):  # chained to nothing of the driver's
        assert exc is refused.value
        assert SECRET not in str(exc) + repr(exc)


async def test_two_schemas_are_two_copies_written_at_once(
    postgres_server: PostgresServer, database: str
) -> None:
    url, cursor = postgres_server.url(database), SyncCursor(scope="/activity/sms/")
    first, second = PostgresStore(url, schema="one"), PostgresStore(url, schema="two")
    try:
        await first.save([{"_type": "SMS", "id": "acti_1"}], cursor, "sms")
        await second.save([{"_type": "SMS", "id": "acti_2"}], cursor, "sms")  # not busy: another schema
        assert await first.row_ids() == {"sms": {"acti_1"}}
        assert await second.counts() == {"sms": 1}
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_columns_are_typed_for_postgresql(postgres_server: PostgresServer, database: str) -> None:
    """Close's strings stay text (exactly as sent), lists are jsonb, data is the object as jsonb."""
    email = {
        "_type": "Email",
        "id": "acti_1",
        "date_created": "2026-01-05T09:30:00.123456+00:00",
        "to": ["Bob <bob@example.com>"],
        "cc": [],
        "subject": "Hi",
        "envelope": {"is_autoreply": False, "sender": [{"email": "me@example.com"}]},
    }
    store = PostgresStore(postgres_server.url(database))
    try:
        await store.save([email], SyncCursor(scope="/activity/email/"), "emails")
    finally:
        await store.aclose()
    types = postgres_server.json(
        database,
        "SELECT column_name AS name, data_type AS type FROM information_schema.columns "
        "WHERE table_name = 'email'",
    )
    kinds = {row["name"]: row["type"] for row in types}
    assert kinds["id"] == kinds["date_created"] == kinds["subject"] == "text"
    assert kinds["to"] == kinds["cc"] == kinds["data"] == "jsonb"
    assert kinds["exported_at"] == "timestamp with time zone"
    [row] = postgres_server.json(database, 'SELECT date_created, data, "to" FROM email')
    assert row == {"date_created": email["date_created"], "data": email, "to": email["to"]}
    # jsonb operators work on the copy: containment in data, membership in a list column.
    query = (
        'SELECT id FROM email WHERE data @> \'{"envelope": {"is_autoreply": false}}\' '
        "AND \"to\" ? 'Bob <bob@example.com>'"
    )
    assert postgres_server.json(database, query) == [{"id": "acti_1"}]


def test_every_table_is_indexed_by_lead_and_creation_date(
    served: ServedFake, postgres_server: PostgresServer, database: str
) -> None:
    assert main(["export", "activities", "--to", postgres_server.url(database)]) == ExitCode.OK
    indexes = postgres_server.json(
        database, "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    )
    tables = {row["tablename"] for row in indexes} - {"closeasync_exports", "closeasync_deletions"}
    assert len(tables) >= 8  # a table per type
    for table in tables:
        named = {row["indexname"] for row in indexes if row["tablename"] == table}
        assert {f"idx_{table}_lead_id", f"idx_{table}_date_created", f"{table}_pkey"} <= named, table
    lead = postgres_server.json(database, "SELECT lead_id FROM email LIMIT 1")[0]["lead_id"]
    # With sequential scans ruled out (the tables are small), the planner reaches for the indexes.
    plans = postgres_server.psql(
        database,
        "SET enable_seqscan = off; "
        f"EXPLAIN SELECT * FROM email WHERE lead_id = '{lead}'; "
        "EXPLAIN SELECT * FROM sms WHERE date_created >= '2026-01-01'",
    )
    assert "idx_email_lead_id" in plans
    assert "idx_sms_date_created" in plans


def test_without_the_driver_the_message_says_what_to_install(
    served: ServedFake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)  # as if the extra were not installed
    with pytest.raises(StoreError, match="needs the asyncpg driver") as missing:
        PostgresStore("postgresql://me@db.example.com/crm")
    assert INSTALL in str(missing.value)
    assert main(["export", "emails", "--to", "postgresql://me@127.0.0.1:9/crm"]) == ExitCode.USAGE
    assert INSTALL in capsys.readouterr().err


@pytest.mark.parametrize("url", ["close.sqlite", "postgresql:/missing-slash", "mysql://me@db/crm"])
def test_only_a_postgresql_url_makes_a_postgresql_store(url: str) -> None:
    assert not PostgresStore.is_url(url)
    with pytest.raises(StoreError, match="postgresql://"):
        PostgresStore(url)


@pytest.mark.parametrize(
    ("required", "outcome"), [(None, pytest.skip.Exception), ("1", pytest.fail.Exception)]
)
def test_the_server_fixture_skips_only_where_postgresql_is_missing_unless_required(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, required: str | None, outcome: type[BaseException]
) -> None:
    """Where neither pg_config nor initdb is found: skipped with the reason, or with
    CLOSEASYNC_REQUIRE_POSTGRES=1 (``.ci/run``) a failure."""
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no PostgreSQL
    if required is None:
        monkeypatch.delenv(postgres_server.REQUIRE, raising=False)
    else:
        monkeypatch.setenv(postgres_server.REQUIRE, required)
    with pytest.raises(Unavailable):
        postgres_server.find_bindir()
    with pytest.raises(outcome, match="no PostgreSQL binaries"):
        next(postgres_server.session_server())
    assert os.environ["PATH"] == str(tmp_path)


async def test_a_nul_character_is_stored_as_the_replacement_character(
    postgres_server: PostgresServer, database: str
) -> None:
    """PostgreSQL text cannot hold U+0000: refusing the row would stop every run at it, so
    the copy holds U+FFFD there (keys and nested values too) and goes on."""
    email = {
        "_type": "Email",
        "id": "acti_1",
        "subject": "a\x00b",
        "envelope": {"odd\x00key": ["x\x00"]},
        "body_text": "a literal \\u0000 stays as written",
    }
    store = PostgresStore(postgres_server.url(database))
    try:
        await store.save([email], SyncCursor(scope="/activity/email/"), "emails")
        await store.save([{"_type": "Email", "id": "acti_2"}], SyncCursor(scope="/activity/email/"), "emails")
        assert await store.row_ids() == {"email": {"acti_1", "acti_2"}}
    finally:
        await store.aclose()
    [row] = postgres_server.json(database, "SELECT subject, data FROM email WHERE id = 'acti_1'")
    assert row["subject"] == "a\ufffdb"
    assert row["data"] == {
        **email,
        "subject": "a\ufffdb",
        "envelope": {"odd\ufffdkey": ["x\ufffd"]},
    }


@pytest.mark.parametrize("password", [f"{SECRET}?x", f"{SECRET}/x", f"{SECRET}#x"])
def test_a_password_with_an_unencoded_separator_is_refused_without_showing_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", "api_never_used")
    url = f"postgresql://postgres:{password}@127.0.0.1:5432/db"
    with pytest.raises(StoreError, match="percent-encode") as caught:
        PostgresStore(url)
    assert SECRET not in str(caught.value)
    assert PostgresStore.shown_url(url) == "a PostgreSQL URL that does not parse"
    assert main(["export", "sms", "--to", url]) == ExitCode.USAGE
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    assert "percent-encode" in err


def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLOSE_API_KEY", "api_never_used")
    code = main(["export", "sms", "--to", "postgresql://postgres@127.0.0.1:99999/db"])
    _, err = capsys.readouterr()
    assert code == ExitCode.USAGE
    assert "cannot connect to postgresql://postgres@127.0.0.1:99999/db" in err
    assert "Traceback" not in err


def test_a_schema_name_postgresql_cannot_hold_is_refused_before_anything_is_fetched() -> None:
    with pytest.raises(StoreError, match="at most 63 bytes"):
        PostgresStore("postgresql://postgres@127.0.0.1/db", schema="s" * 64)


async def test_a_save_cancelled_midway_leaves_no_transaction_open_behind_it(
    postgres_server: PostgresServer, database: str
) -> None:
    """Cancelled at any step of its transaction, a save leaves nothing; the next ones commit
    (asyncpg would otherwise nest them, as savepoints, in the broken-off transaction)."""
    url, cursor = postgres_server.url(database), SyncCursor(scope="/activity/sms/")
    store = PostgresStore(url)
    try:
        await store.save([{"_type": "SMS", "id": "acti_0"}], cursor, "sms")
        for steps in range(1, 12):
            attempt = asyncio.ensure_future(
                store.save([{"_type": "SMS", "id": f"acti_x{steps}"}], cursor, "sms")
            )
            for _ in range(steps):
                await asyncio.sleep(0)  # let it reach one more step of its transaction
            attempt.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await attempt
            await store.save([{"_type": "SMS", "id": f"acti_{steps}"}], cursor, "sms")
            # Seen from another session: committed, whatever became of the cancelled one.
            seen = {row["id"] for row in postgres_server.json(database, "SELECT id FROM sms")}
            assert {f"acti_{n}" for n in range(steps + 1)} <= seen
    finally:
        await store.aclose()


async def test_an_applications_own_tables_in_the_schema_are_left_alone(
    postgres_server: PostgresServer, database: str
) -> None:
    """A copy in ``public`` shares it with the application's tables: a deletion of unknown
    type, the counts and the ids look only at closeasync's tables."""
    postgres_server.psql(database, "CREATE TABLE users (id int PRIMARY KEY); INSERT INTO users VALUES (1)")
    postgres_server.psql(
        database, "CREATE TABLE notes_app (id text PRIMARY KEY); INSERT INTO notes_app VALUES ('acti_1')"
    )
    store = PostgresStore(postgres_server.url(database))
    cursor = SyncCursor(scope="/activity/sms/")
    try:
        await store.save([{"_type": "SMS", "id": "acti_1"}], cursor, "sms")
        await store.save([], cursor, "sms", [Deletion(id="acti_1", type=None, deleted_at=None)])
        assert await store.counts() == {"sms": 0}
    finally:
        await store.aclose()
    assert postgres_server.json(database, "SELECT id FROM notes_app") == [{"id": "acti_1"}]
    assert postgres_server.json(database, "SELECT id FROM users") == [{"id": 1}]


def test_under_trio_the_store_says_it_runs_on_asyncio_only(postgres_server: PostgresServer) -> None:
    store = PostgresStore(postgres_server.url())

    async def read() -> None:
        await store.saved_state("sms")

    with pytest.raises(StoreError, match="asyncio only"):
        anyio.run(read, backend="trio")


async def test_the_export_fetches_on_while_postgresql_writes_a_page(
    postgres_server: PostgresServer, database: str
) -> None:
    """The store hands a page over before its ``COPY``: while the server holds that ``COPY``
    (on a lock another session has), the export already requests the next page."""
    asyncpg = importlib.import_module("asyncpg")  # the postgres extra (no type hints)

    fake = FakeClose(seed=9)
    lead = fake.add_lead("Acme")["id"]
    fake.add_activity("Email", lead_id=lead, subject="first")
    spec = ExportSpec(what="emails", page_size=2)
    pages: list[str] = []
    second_page = asyncio.Event()

    def on_event(event: RequestEvent) -> None:
        if event.kind == "request" and "/activity/email/" in event.url:
            pages.append(event.url)
            if len(pages) == 2:
                second_page.set()

    url = postgres_server.url(database)
    store = PostgresStore(url, schema="held")
    locker = await asyncpg.connect(url)
    try:
        async with CloseAsync(api_key=fake.api_key, transport=fake.transport(), on_event=on_event) as close:
            await run_export(close, spec, store, changes=False)  # the table exists from here on
            fake.advance(60)
            for i in range(6):
                fake.add_activity("Email", lead_id=lead, subject=f"new {i}")
            async with locker.transaction():
                await locker.execute("LOCK TABLE held.email IN SHARE MODE")  # no row goes in
                pages.clear()
                second_page.clear()
                export = asyncio.ensure_future(run_export(close, spec, store, resume=True, changes=False))
                with anyio.fail_after(10):
                    await second_page.wait()  # requested while page 1's COPY waits for the lock
                assert await locker.fetchval("SELECT count(*) FROM held.email") == 1
                assert not export.done()
            with anyio.fail_after(30):
                stats = await export
        assert stats.items == 6
        assert await store.counts() == {"email": 7}
    finally:
        await locker.close()
        await store.aclose()
