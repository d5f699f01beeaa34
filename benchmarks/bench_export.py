"""Exporting 20,000 emails into SQLite: rows/s against the typed listing of the same walk.

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

Reported: the median rows/s of each, the median of the per-run ratios export/listing
(target >= 0.7), and for information the export's extra time per 1,000 rows and the
SQLite file size per 1,000 rows (``data`` keeps each email's whole JSON).

    python benchmarks/bench_export.py --emails 20000 --runs 5

Every loop is bounded (runs are counted, a walk by the listing's own end) and each run has
a time limit.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import shlex
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
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
from closeasync.export import ExportSpec, SQLiteStore, run_export

#: A single run that takes longer than this has gone wrong.
RUN_TIMEOUT = 120.0
#: The export's target: at least this fraction of the listing's rows/s.
TARGET = 0.7
LISTING = "listing (sync walk, 5 columns)"
EXPORT = "export into SQLite"
STORE = "SQLiteStore alone (no network)"


def spec_for(page_size: int) -> ExportSpec:
    return ExportSpec(what="emails", page_size=page_size)


async def walk_listing(base_url: str, page_size: int) -> int:
    """The baseline: the export's own walk, each email's five columns read."""
    async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
        count = 0
        async for email in spec_for(page_size).open(close, None):  # close.emails.sync(None, ...)
            read_columns(email)
            count += 1
        return count


async def export_sqlite(base_url: str, page_size: int, path: Path) -> int:
    """The export into a new SQLite file, the store closed (as ``closeasync export`` does)."""
    store = SQLiteStore(path)
    try:
        async with CloseAsync(api_key=API_KEY, base_url=base_url) as close:
            stats = await run_export(close, spec_for(page_size), store)
    finally:
        store.close()
    if not stats.finished:
        raise RuntimeError("the export did not finish")
    return stats.items


def store_alone(emails: list[dict[str, Any]], page_size: int, path: Path) -> int:
    """What the store costs by itself: the same emails, saved a page per transaction as the
    export saves them (rows built, upserted, resume point written), with no listing at all."""
    store = SQLiteStore(path)
    scope, key = "/activity/email/", "bench"
    try:
        for start in range(0, len(emails), page_size):
            page = emails[start : start + page_size]
            walking = SyncCursor(scope=scope, position=datetime.fromisoformat(page[-1]["date_created"]))
            store.save(page, walking, key)
        store.save([], SyncCursor(scope=scope), key)  # finished, as the export's last save
    finally:
        store.close()
    return len(emails)


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
    server: Server, args: argparse.Namespace, folder: Path
) -> tuple[list[list[str]], dict[str, float]]:
    n, size = args.emails, args.page_size
    sizes: list[int] = []
    files = 0
    emails = build_emails(n)  # the served emails (the page server's default seed)

    async def run(name: str) -> float:
        """One timed walk; an export's file is checked (untimed) and deleted."""
        nonlocal files
        if name == LISTING:
            return await timed(lambda: walk_listing(server.base_url, size), n)
        files += 1
        path = folder / f"export-{files}.sqlite"
        try:
            if name == EXPORT:
                elapsed = await timed(lambda: export_sqlite(server.base_url, size, path), n)
                sizes.append(check_file(path, n))
            else:
                elapsed = await timed(lambda: asyncio.to_thread(store_alone, emails, size, path), n)
                check_file(path, n)
        finally:
            remove(path)
        return elapsed

    await check_walk(server.base_url, size, n)
    order = [LISTING, EXPORT, STORE]
    for name in order:  # warm up: connections, imports, the server's cache of filtered pages
        await run(name)
    sizes.clear()
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
    rows = [["variant", "median s", "rows/s", "runs (s)"]]
    for name in order:
        med = median(times[name])
        rows.append([name, f"{med:.3f}", f"{n / med:,.0f}", " ".join(f"{t:.2f}" for t in times[name])])
    return rows, summary


def verdicts(summary: dict[str, float], mean_bytes: float) -> list[str]:
    ratio = summary["ratio"]
    return [
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
    return shlex.join(argv)


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_export_", dir=args.dir) as name:
        folder = Path(name)
        async with async_page_server(args.emails, page_size=args.page_size, server=args.server) as server:
            rows, summary = await measure(server, args, folder)
    details = [
        f"Data: {args.emails:,} emails of {server.mean_bytes / 1024:.1f} KiB mean JSON, "
        f"pages of {args.page_size}, server in a child process ({args.server})",
        f"Paired runs: {args.runs} (medians); SQLite files in {Path(name).parent} (a new file each run)",
    ]
    print("\n".join(details))
    print(table(rows, markdown=False))
    print("\n" + "\n".join(verdicts(summary, server.mean_bytes)))
    if not args.no_write:
        body = [
            table(rows, markdown=True),
            "",
            *(f"- {line}" for line in verdicts(summary, server.mean_bytes)),
        ]
        append_results(f"Export of {args.emails:,} emails into SQLite", rerun_command(args), details, body)
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
    args = parser.parse_args(argv)
    if min(args.emails, args.runs) < 1 or args.page_size < 2:
        parser.error("--emails and --runs must be positive, --page-size at least 2 (a sync walk's minimum)")
    if args.emails > 200_000 or args.runs > 50:
        parser.error("keep it bounded: --emails <= 200000, --runs <= 50")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
