"""Exporting 20,000 emails into SQLite and PostgreSQL: rows/s against the typed listing of the same walk.

A child process serves precomputed pages of ~6 KiB realistic emails on 127.0.0.1 (see
``_common.py``). Each paired run walks all N emails twice in this one process, in a
rotating order:

- listing (the baseline): the walk ``run_export`` makes, ``close.emails.sync()`` by
  ``date_created`` (built by ``ExportSpec(what="emails").open(close, None)``, so it is the
  same walk by construction), reading the same five columns of every email as
  ``bench_list.py`` (``read_columns``: ``id``, ``lead_id``, ``date_created`` typed,
  ``status`` typed, ``subject``);
- export: ``await run_export(close, ExportSpec(what="emails"), SQLiteStore(path))`` into a
  fresh SQLite file in a temporary folder, the store closed at the end (both timed), the
  file checked and deleted after (not timed);
- the store alone: the same emails (the served ones, as dicts) saved straight into a fresh
  ``SQLiteStore`` a page per save, as the export saves them, with no client and no network
  (in a thread, timed the same way). It tells what the disk and SQLite cost by themselves,
  hence the best ratio any export could reach with this store on this machine: storing after
  listing, listing / (listing + store); storing while the next page is fetched, at best
  listing / max(listing, store).

Both sides open their own client, send the same requests and get the same bytes, so the
ratio export/listing is the cost of turning each email into a row and writing it
(``to_dict``, the columns, ``orjson.dumps`` of the whole object, the upserts, a commit per
page, the WAL checkpoint on close) over the cost of the walk itself.

The server answers a sync walk's ``date_created__lte``/``__gte``/``__lt`` filters
(``_common.SyncAnswers``); a page is serialized on its first request, so the warm-up walk
fills its cache and measured runs only look up bytes. Every walk is checked: before the
warm-up one walk collects the ids (N distinct, newest first); every timed listing must count
N emails; every export must report N items, and its file must hold exactly N rows in its
``email`` table (upserted by id, so a repeated email would show as fewer rows) and a finished
resume point that counts N saved rows. A run that fails a check stops the benchmark.

PostgreSQL, in the same runs (``--no-postgres`` leaves it out): the same export with
``PostgresStore`` into a new schema of a throwaway cluster this script starts on 127.0.0.1
(``tests/postgres_server.py``, durable: fsync on, the server's defaults otherwise; or
``--postgres URL`` for a server of yours, where it makes and drops ``bench_export_*``
schemas), and the PostgreSQL store alone, the same way. Each schema is checked like the
SQLite file (N rows, a finished resume point counting N) and dropped. The PostgreSQL
server runs on the same two cores as the client and the page server.

Memory while streaming, untimed: the Python heap's peak (``tracemalloc``) during an export
of all N emails and during one of the newest quarter (``since``), into each store. A
streaming export holds a page or two whatever N is: the two peaks are close, while the
emails exported differ by three quarters of N (~90 MiB of JSON at N = 20,000).

Reported: the median rows/s of each, the median of the per-run ratios export/listing
(target >= 0.7), PostgreSQL's export rows/s over SQLite's (target >= 0.8), and for
information the export's extra time per 1,000 rows and the size per 1,000 rows (``data``
keeps each email's whole JSON).

    python benchmarks/bench_export.py --emails 20000 --runs 5

Every loop is bounded (runs are counted, a walk by the listing's own end) and each run has
a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import importlib
import shlex
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

from _common import (
    API_KEY,
    DEFAULT_SERVER,
    SERVER_KINDS,
    Server,
    append_results,
    async_page_server,
    build_emails,
    median,
    read_columns,
    table,
)

from closeasync import CloseAsync, SyncCursor
from closeasync.export import (
    AsyncStore,
    ExportSpec,
    PostgresStore,
    SQLiteStore,
    Store,
    async_store,
    run_export,
)

ROOT = Path(__file__).resolve().parent.parent
#: A single run that takes longer than this has gone wrong.
RUN_TIMEOUT = 120.0
#: The export's target: at least this fraction of the listing's rows/s.
TARGET = 0.7
#: PostgreSQL's target: at least this fraction of the SQLite export's rows/s.
PG_TARGET = 0.8
LISTING = "listing (sync walk, 5 columns)"
EXPORT = "export into SQLite"
STORE = "SQLiteStore alone (no network)"
EXPORT_PG = "export into PostgreSQL"
STORE_PG = "PostgresStore alone (no network)"


def spec_for(page_size: int, since: datetime | None = None) -> ExportSpec:
    return ExportSpec(what="emails", page_size=page_size, since=since)


class Postgres:
    """Where the PostgreSQL runs go: a new schema each run, checked and dropped after."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runs = 0
        self.sizes: list[int] = []
        self._pg = importlib.import_module("asyncpg")

    def store(self) -> tuple[PostgresStore, str]:
        self.runs += 1
        schema = f"bench_export_{self.runs}"
        return PostgresStore(self.url, schema=schema), schema

    async def check(self, schema: str, expected: int) -> int:
        """The schema holds exactly ``expected`` rows and a finished resume point; its size. Dropped."""
        conn = await self._pg.connect(self.url)
        try:
            rows = await conn.fetchval(f"SELECT count(*) FROM {schema}.email")
            saved = [
                tuple(r)
                for r in await conn.fetch(f"SELECT rows_saved, in_progress FROM {schema}.closeasync_exports")
            ]
            size = await conn.fetchval(f"SELECT pg_total_relation_size('{schema}.email')")
            await conn.execute(f"DROP SCHEMA {schema} CASCADE")
        finally:
            await conn.close()
        if rows != expected or saved != [(expected, False)]:
            raise RuntimeError(f"{schema} holds {rows} rows, resume point {saved}; expected {expected}")
        return int(size)


@contextlib.asynccontextmanager
async def postgres(args: argparse.Namespace) -> AsyncIterator[Postgres | None]:
    """The server the PostgreSQL runs use: ``--postgres URL``, or a throwaway cluster."""
    if args.no_postgres:
        yield None
        return
    if args.postgres:
        yield Postgres(args.postgres)
        return
    sys.path.insert(0, str(ROOT))  # the tests' cluster helper
    from tests.postgres_server import PostgresServer

    server = await asyncio.to_thread(PostgresServer(durable=True).start)
    try:
        yield Postgres(server.url())
    finally:
        await asyncio.to_thread(server.stop)


async def walk_listing(base_url: str, page_size: int) -> int:
    """The baseline: the export's own walk, each email's five columns read."""
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        count = 0
        async for email in spec_for(page_size).open(close, None):  # close.emails.sync(None, ...)
            read_columns(email)
            count += 1
        return count


async def export(
    base_url: str, page_size: int, made: Store | AsyncStore, since: datetime | None = None
) -> int:
    """The export into a new store, closed after (as ``closeasync export`` does)."""
    store = async_store(made)
    try:
        async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
            stats = await run_export(close, spec_for(page_size, since), store)
    finally:
        await store.aclose()
    if not stats.finished:
        raise RuntimeError("the export did not finish")
    return stats.items


async def store_alone(emails: list[dict[str, Any]], page_size: int, made: Store | AsyncStore) -> int:
    """What the store costs by itself: the same emails, saved a page per transaction as the
    export saves them (rows built, upserted, resume point written), with no listing at all."""
    store = async_store(made)
    scope, key = "/activity/email/", "bench"
    try:
        for start in range(0, len(emails), page_size):
            page = emails[start : start + page_size]
            walking = SyncCursor(scope=scope, position=datetime.fromisoformat(page[-1]["date_created"]))
            await store.save(page, walking, key)
        await store.save([], SyncCursor(scope=scope), key)  # finished, as the export's last save
    finally:
        await store.aclose()
    return len(emails)


async def traced_peak(run: Callable[[], Awaitable[int]]) -> float:
    """The Python heap's peak above its start while ``run`` runs (MiB), untimed."""
    gc.collect()
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        await run()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return (peak - start) / 2**20


async def check_walk(base_url: str, page_size: int, expected: int) -> None:
    """Once, untimed: the walk hands out every served email exactly once, newest first."""
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        ids: list[str] = []
        dates: list[datetime] = []
        async for email in spec_for(page_size).open(close, None):
            if email.date_created is None:
                raise RuntimeError(f"email {email.id} has no date_created")
            ids.append(email.id)
            dates.append(email.date_created)
            if len(ids) > expected:
                break  # bounded: more than were served is wrong already
    if len(ids) != expected or len(set(ids)) != expected:
        raise RuntimeError(
            f"the sync walk gave {len(ids)} emails ({len(set(ids))} distinct), expected {expected}"
        )
    if any(newer < older for newer, older in pairwise(dates)):
        raise RuntimeError("the sync walk was not newest first")


def check_file(path: Path, expected: int) -> int:
    """The exported file holds exactly ``expected`` email rows and a finished resume point; its size."""
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists() and side.stat().st_size:
            raise RuntimeError(f"{side} was left behind with {side.stat().st_size} bytes")
    size = path.stat().st_size
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        rows = db.execute("SELECT COUNT(*) FROM email").fetchone()[0]
        saved = db.execute("SELECT rows_saved, in_progress FROM closeasync_exports").fetchall()
    finally:
        db.close()
    if sorted(tables) != ["closeasync_deletions", "closeasync_exports", "email"]:
        raise RuntimeError(f"unexpected tables in the export: {tables}")
    if rows != expected or saved != [(expected, 0)]:
        raise RuntimeError(f"the export file holds {rows} rows, resume point {saved}; expected {expected}")
    return size


def remove(path: Path) -> None:
    for name in (path.name, path.name + "-wal", path.name + "-shm"):
        path.with_name(name).unlink(missing_ok=True)


async def timed(run: Callable[[], Awaitable[int]], expected: int) -> float:
    gc.collect()
    started = time.perf_counter()
    async with asyncio.timeout(RUN_TIMEOUT):
        count = await run()
    elapsed = time.perf_counter() - started
    if count != expected:
        raise RuntimeError(f"walked {count} emails, expected {expected}")
    return elapsed


async def measure(
    server: Server, args: argparse.Namespace, folder: Path, pg: Postgres | None
) -> tuple[list[list[str]], dict[str, float]]:
    n, size = args.emails, args.page_size
    sizes: list[int] = []
    files = 0
    emails = build_emails(n)  # the served emails (the page server's default seed)

    def sqlite_file() -> Path:
        nonlocal files
        files += 1
        return folder / f"export-{files}.sqlite"

    async def run(name: str) -> float:
        """One timed walk; an export's output is checked (untimed) and deleted."""
        if name == LISTING:
            return await timed(lambda: walk_listing(server.base_url, size), n)
        if name in (EXPORT_PG, STORE_PG):
            assert pg is not None
            store, schema = pg.store()
            if name == EXPORT_PG:
                elapsed = await timed(lambda: export(server.base_url, size, store), n)
                pg.sizes.append(await pg.check(schema, n))
            else:
                elapsed = await timed(lambda: store_alone(emails, size, store), n)
                await pg.check(schema, n)
            return elapsed
        path = sqlite_file()
        try:
            if name == EXPORT:
                elapsed = await timed(lambda: export(server.base_url, size, SQLiteStore(path)), n)
                sizes.append(check_file(path, n))
            else:
                elapsed = await timed(lambda: store_alone(emails, size, SQLiteStore(path)), n)
                check_file(path, n)
        finally:
            remove(path)
        return elapsed

    await check_walk(server.base_url, size, n)
    order = [LISTING, EXPORT, STORE, *([EXPORT_PG, STORE_PG] if pg is not None else [])]
    for name in order:  # warm up: connections, imports, the server's cache of filtered pages
        await run(name)
    sizes.clear()
    if pg is not None:
        pg.sizes.clear()
    times: dict[str, list[float]] = {name: [] for name in order}
    for index in range(args.runs):
        shift = index % len(order)
        for name in order[shift:] + order[:shift]:
            times[name].append(await run(name))

    pairs = list(zip(times[LISTING], times[EXPORT], strict=True))
    triples = zip(times[LISTING], times[EXPORT], times[STORE], strict=True)
    summary = {
        "ratio": median([listing / export for listing, export in pairs]),  # rows/s export / listing
        # The best ratio an export that lists, then stores, could reach with this store on this disk.
        "ceiling": median(
            [listing / (listing + store) for listing, store in zip(times[LISTING], times[STORE], strict=True)]
        ),
        # ... and one that stored each page while fetching the next, overlapping perfectly.
        "overlap ceiling": median(
            [
                listing / max(listing, store)
                for listing, store in zip(times[LISTING], times[STORE], strict=True)
            ]
        ),
        "sdk ms per 1000": median(
            [(export - listing - store) / n * 1e6 for listing, export, store in triples]
        ),
        "store ms per 1000": median([store / n * 1e6 for store in times[STORE]]),
        "extra ms per 1000": median([(export - listing) / n * 1000 * 1000 for listing, export in pairs]),
        "KiB per 1000": median([s / n * 1000 / 1024 for s in sizes]),
    }
    if pg is not None:
        # Rows/s into PostgreSQL over rows/s into SQLite: SQLite's time over PostgreSQL's, per run.
        summary["pg ratio"] = median([e / p for e, p in zip(times[EXPORT], times[EXPORT_PG], strict=True)])
        summary["pg store ratio"] = median(
            [e / p for e, p in zip(times[STORE], times[STORE_PG], strict=True)]
        )
        summary["pg KiB per 1000"] = median([s / n * 1000 / 1024 for s in pg.sizes])
        summary["pg store ms per 1000"] = median([t / n * 1e6 for t in times[STORE_PG]])
    await memory(server, args, folder, pg, emails, summary)
    rows = [["variant", "median s", "rows/s", "runs (s)"]]
    for name in order:
        med = median(times[name])
        rows.append([name, f"{med:.3f}", f"{n / med:,.0f}", " ".join(f"{t:.2f}" for t in times[name])])
    return rows, summary


async def memory(
    server: Server,
    args: argparse.Namespace,
    folder: Path,
    pg: Postgres | None,
    emails: list[dict[str, Any]],
    summary: dict[str, float],
) -> None:
    """The heap's peak exporting all N emails, then the newest quarter, into each store (untimed)."""
    n, size = args.emails, args.page_size
    newest = sorted((e["date_created"] for e in emails), reverse=True)
    quarter = datetime.fromisoformat(newest[n // 4 - 1]) if n >= 4 else None
    for label, since, expected in (("all", None, n), ("quarter", quarter, n // 4 if quarter else n)):
        path = folder / f"memory-{label}.sqlite"
        try:
            peak = await traced_peak(partial(export, server.base_url, size, SQLiteStore(path), since))
        finally:
            remove(path)
        summary[f"sqlite heap {label}"] = peak
        if pg is not None:
            store, schema = pg.store()
            summary[f"pg heap {label}"] = await traced_peak(
                partial(export, server.base_url, size, store, since)
            )
            await pg.check(schema, expected)


def verdicts(summary: dict[str, float], mean_bytes: float) -> list[str]:
    ratio = summary["ratio"]
    lines = [
        f"export / listing rows/s, median of the per-run ratios (target >= {TARGET:g}): {ratio:.2f} "
        f"({'met' if ratio >= TARGET else 'NOT met'})",
        f"the export's extra time per 1,000 rows (for information): {summary['extra ms per 1000']:.1f} ms, "
        f"of which the store alone (same rows, same saves, no network) {summary['store ms per 1000']:.1f} ms "
        f"and the rest {summary['sdk ms per 1000']:.1f} ms",
        f"ceiling for a list-then-store export with this store on this disk, listing / (listing + store "
        f"alone) (for information): {summary['ceiling']:.2f}; with storing overlapped perfectly with "
        f"listing, listing / max(listing, store alone): {summary['overlap ceiling']:.2f}",
        f"SQLite file per 1,000 rows (for information): {summary['KiB per 1000'] / 1024:.2f} MiB "
        f"({summary['KiB per 1000'] * 1024 / 1000 / mean_bytes:.2f}x the emails' JSON)",
    ]
    heaps = f"SQLite {summary['sqlite heap all']:.1f} / {summary['sqlite heap quarter']:.1f} MiB"
    if "pg ratio" in summary:
        pg = summary["pg ratio"]
        lines[1:1] = [
            f"export into PostgreSQL / export into SQLite rows/s, median of the per-run ratios (target >= "
            f"{PG_TARGET:g}): {pg:.2f} ({'met' if pg >= PG_TARGET else 'NOT met'}); the stores alone: "
            f"{summary['pg store ratio']:.2f} (PostgresStore alone {summary['pg store ms per 1000']:.1f} ms "
            "per 1,000 rows)",
        ]
        heaps = f"PostgreSQL {summary['pg heap all']:.1f} / {summary['pg heap quarter']:.1f} MiB, " + heaps
        lines.append(
            "PostgreSQL table per 1,000 rows (for information; data is jsonb, lz4 where the server has "
            f"it): {summary['pg KiB per 1000'] / 1024:.2f} MiB"
        )
    lines.append(
        "memory while streaming, the Python heap's peak (tracemalloc) exporting all the emails / the "
        f"newest quarter: {heaps}"
    )
    return lines


def rerun_command(args: argparse.Namespace) -> str:
    argv = [
        "python",
        "benchmarks/bench_export.py",
        f"--emails={args.emails}",
        f"--page-size={args.page_size}",
        f"--runs={args.runs}",
    ]
    if args.dir is not None:
        argv.append(f"--dir={args.dir}")
    if args.server != DEFAULT_SERVER:
        argv.append(f"--server={args.server}")
    if args.no_postgres:
        argv.append("--no-postgres")
    elif args.postgres:
        argv.append("--postgres=URL")  # never the URL itself: it may hold a password
    return shlex.join(argv)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_export_", dir=args.dir) as name:
        folder = Path(name)
        async with (
            async_page_server(args.emails, page_size=args.page_size, server=args.server) as server,
            postgres(args) as pg,
        ):
            rows, summary = await measure(server, args, folder, pg)
    details = [
        f"Data: {args.emails:,} emails of {server.mean_bytes / 1024:.1f} KiB mean JSON, "
        f"pages of {args.page_size}, server in a child process ({args.server})",
        f"Paired runs: {args.runs} (medians); SQLite files in {Path(name).parent} (a new file each run)",
    ]
    if pg is not None:
        where = (
            "--postgres (a server of yours)" if args.postgres else "a throwaway PostgreSQL cluster (fsync on)"
        )
        details.append(f"PostgreSQL: {where} on this machine, a new schema each run")
    print("\n".join(details))
    print(table(rows, markdown=False))
    print("\n" + "\n".join(verdicts(summary, server.mean_bytes)))
    if not args.no_write:
        body = [
            table(rows, markdown=True),
            "",
            *(f"- {line}" for line in verdicts(summary, server.mean_bytes)),
        ]
        into = "SQLite" if args.no_postgres else "SQLite and PostgreSQL"
        append_results(f"Export of {args.emails:,} emails into {into}", rerun_command(args), details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--emails", type=int, default=20_000, help="how many emails to export (20000)")
    parser.add_argument("--page-size", type=int, default=100, help="_limit per page (100)")
    parser.add_argument("--runs", type=int, default=5, help="paired runs (5)")
    parser.add_argument("--dir", default=None, help="folder for the SQLite files (the system's temp folder)")
    parser.add_argument(
        "--server", choices=SERVER_KINDS, default=DEFAULT_SERVER, help="page server (see _server.py)"
    )
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    parser.add_argument(
        "--postgres", metavar="URL", help="a PostgreSQL server to use (default: a throwaway cluster here)"
    )
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if min(args.emails, args.runs) < 1 or args.page_size < 2:
        parser.error("--emails and --runs must be positive, --page-size at least 2 (a sync walk's minimum)")
    if args.emails > 200_000 or args.runs > 50:
        parser.error("keep it bounded: --emails <= 200000, --runs <= 50")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
