"""``closeasync export``: emails, SMS or all activities into SQLite, PostgreSQL or JSON Lines, resumably."""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
from pathlib import Path
from typing import Any

from .. import RequestEvent
from ..export import (
    AsyncStore,
    ExportSpec,
    ExportStats,
    JsonLinesStore,
    PostgresStore,
    Progress,
    SQLiteStore,
    Store,
    StoreBusyError,
    StoreError,
    StoreWriteError,
    StreamStore,
    async_store,
    run_export,
    summary,
)
from ._common import (
    CONNECTION_HELP,
    EXIT_CODES_HELP,
    ExitCode,
    Interrupted,
    UsageError,
    add_connection_args,
    count,
    explain,
    fail,
    open_client,
    run_async,
    seconds,
    when,
)

__all__ = ["add_export_command"]

_DESCRIPTION = f"""\
Copy Close emails, SMS or all activities into a SQLite database or a PostgreSQL
schema (a table per activity type, upserted by id, with the whole object as JSON in
`data`) or a JSON Lines file, showing progress and a summary. PostgreSQL needs the
asyncpg driver: pip install "closeasync[postgres]".

The export walks the listing by creation date, then applies what Close's event
log says changed meanwhile, and saves its resume point together with the rows.
Run the same command with --since-last to bring the copy up to date: an
interrupted export (Ctrl+C, a crash, a lost network) continues where it stopped,
without losing or repeating a row; a finished one adds what was created since and
applies every edit and deletion since the last run (edited objects are fetched
again; deleted ones leave their table and are listed in closeasync_deletions, or
get a {{"_deleted": true, "id": ...}} line in JSON Lines). --follow keeps applying
changes until interrupted. Close keeps events for 30 days: a copy last brought up
to date longer ago must be made again. Each combination of listing, filters and
--since/--until has its own resume point.

{CONNECTION_HELP}"""
_EPILOG = f"""\
examples:
  closeasync export emails --to close.sqlite
  closeasync export emails --to close.sqlite --since-last      # later: what is new or changed
  closeasync export emails --to close.sqlite --since-last --follow --poll 30
  closeasync export activities --to postgresql://me@db.example.com/crm --schema close --since-last
  closeasync export activities --lead lead_abc --type Call --type Note --to lead.jsonl
  closeasync export sms --since 2026-01-01 --until 2026-02-01 --to - | jq .text

{EXIT_CODES_HELP}"""
_SQLITE_SUFFIXES = {".sqlite", ".sqlite3", ".db"}
_JSONL_SUFFIXES = {".jsonl", ".ndjson", ".json"}


def add_export_command(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser(
        "export",
        help="export emails, SMS or activities to SQLite, PostgreSQL or JSON Lines",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", choices=("emails", "sms", "activities"), help="what to export")
    parser.add_argument(
        "--to",
        required=True,
        metavar="PATH|URL",
        help=(
            "the output: a .sqlite/.db file, a postgresql://user@host:port/db URL (the password "
            "best in PGPASSWORD or ~/.pgpass), a .jsonl file, or - for JSON Lines on standard output"
        ),
    )
    parser.add_argument(
        "--format", choices=("sqlite", "jsonl"), help="the output format (default: from the file name)"
    )
    parser.add_argument(
        "--schema",
        metavar="NAME",
        help="PostgreSQL: the schema to write to, made if missing (default: the current one, usually public)",
    )
    filters = parser.add_argument_group("filters")
    filters.add_argument(
        "--lead", action="append", default=[], metavar="ID", help="only this lead (repeatable)"
    )
    filters.add_argument(
        "--user", action="append", default=[], metavar="ID", help="only this user (repeatable)"
    )
    filters.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help=(
            "activities only: this type, e.g. Email, Call, Custom, or an actitype_ id "
            "(repeatable; Close needs one --lead)"
        ),
    )
    filters.add_argument(
        "--since", type=when, metavar="WHEN", help="created at or after (date or datetime, UTC)"
    )
    filters.add_argument("--until", type=when, metavar="WHEN", help="created before (date or datetime, UTC)")
    run = parser.add_argument_group("resuming and output")
    run.add_argument(
        "--since-last",
        action="store_true",
        help="go on from the resume point saved in the output by the last export with the same filters",
    )
    run.add_argument(
        "--follow",
        action="store_true",
        help="after bringing the copy up to date, keep applying changes until interrupted",
    )
    run.add_argument(
        "--poll",
        type=seconds,
        default=30.0,
        metavar="SECONDS",
        help="with --follow: how long to wait between looks at the event log (default: %(default)s)",
    )
    run.add_argument("--overwrite", action="store_true", help="JSON Lines: start an existing file again")
    run.add_argument(
        "--page-size",
        type=count(2, 100),
        default=100,
        metavar="N",
        help="items per request, 2 to 100 (default: %(default)s)",
    )
    progress = run.add_mutually_exclusive_group()
    progress.add_argument(
        "--progress", dest="progress", action="store_true", default=None, help="always show progress"
    )
    progress.add_argument("--no-progress", dest="progress", action="store_false", help="never show progress")
    add_connection_args(parser)
    parser.set_defaults(run=_run, parser=parser)


def _format(args: argparse.Namespace) -> str:
    if PostgresStore.is_url(args.to):
        if args.format:
            raise UsageError("--format is for files; a postgresql:// --to is PostgreSQL")
        return "postgresql"
    if args.format:
        return str(args.format)
    if args.to == "-":
        return "jsonl"
    suffix = Path(args.to).suffix.lower()
    if suffix in _SQLITE_SUFFIXES:
        return "sqlite"
    if suffix in _JSONL_SUFFIXES:
        return "jsonl"
    raise UsageError(f"cannot tell the format of {args.to!r} from its name: pass --format sqlite or jsonl")


def _check_output(args: argparse.Namespace, form: str) -> None:
    """Refuse what can be known wrong before connecting (nothing is created or emptied)."""
    if args.overwrite and (args.since_last or args.follow):
        raise UsageError("--overwrite starts again and --since-last/--follow go on: give one of them")
    if args.schema is not None and form != "postgresql":
        raise UsageError("--schema is for a PostgreSQL output (--to postgresql://...)")
    if form == "postgresql":
        if args.overwrite:
            raise UsageError("--overwrite is for JSON Lines; PostgreSQL rows are upserted by id")
        return
    if args.to == "-":
        if form != "jsonl" or args.since_last or args.follow:
            raise UsageError("--to - writes JSON Lines to standard output, which cannot be resumed")
        return
    path = Path(args.to)
    if form == "sqlite" and args.overwrite:
        raise UsageError("--overwrite is for JSON Lines; SQLite rows are upserted by id")
    try:
        _check_writable(path, form)
    except OSError as exc:  # a name too long, a folder we may not look into...
        raise UsageError(f"cannot write --to {path}: {exc.strerror or exc}") from None


def _check_writable(path: Path, form: str) -> None:
    """Refuse an output that cannot be written before anything is fetched, leaving no trace.

    The stores open their file at the first save (so that a run failing before it leaves
    nothing behind): without this check, a read-only folder or an impossible name would
    be found only after the first page had been fetched.

    Raises:
        UsageError: ``path`` is a folder, or its folder is missing.
        OSError: ``path`` cannot be written.
    """
    if path.is_dir():
        raise UsageError(f"--to {path} is a folder; give a file in it, e.g. {path / ('close.' + form)}")
    folder = path.absolute().parent
    if not folder.is_dir():
        problem = f"{folder} is not a folder" if folder.exists() else f"the folder {folder} does not exist"
        raise UsageError(f"--to {path}: {problem}")
    try:
        if path.exists():
            with path.open("r+b"):  # open for writing, without emptying it
                pass
            if path.is_file():
                # The folder must take new files too: SQLite's -wal and -shm, JSON Lines' state file.
                with tempfile.TemporaryFile(dir=folder):
                    pass
        else:
            # Create the very file (its name may be what is refused), and only it: O_EXCL
            # never takes over a file another process made meanwhile.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            path.unlink()
    except FileExistsError:
        pass  # made by someone else since exists(): the store will find out what it is


def _store(args: argparse.Namespace, form: str) -> Store | AsyncStore:
    if args.to == "-":
        return StreamStore(sys.stdout.buffer)
    if form == "postgresql":
        return PostgresStore(args.to, schema=args.schema)
    if form == "sqlite":
        return SQLiteStore(args.to)
    return JsonLinesStore(args.to, resume=args.since_last or args.follow, overwrite=args.overwrite)


def _spec(args: argparse.Namespace) -> ExportSpec:
    if args.since and args.until and args.since >= args.until:
        raise UsageError("--since must be before --until")
    return ExportSpec(
        what=args.what,
        lead_ids=tuple(args.lead),
        user_ids=tuple(args.user),
        types=tuple(args.type),
        since=args.since,
        until=args.until,
        page_size=args.page_size,
    )


def _target(args: argparse.Namespace) -> str:
    """The output as messages name it (a URL without its password)."""
    if args.to == "-":
        return "standard output"
    if PostgresStore.is_url(args.to):
        return PostgresStore.shown_url(args.to) + (f" (schema {args.schema})" if args.schema else "")
    return str(args.to)


def _run(args: argparse.Namespace) -> int:
    stats = ExportStats()
    target = _target(args)
    # The summary goes to standard output, unless the rows do.
    report = sys.stderr if args.to == "-" else sys.stdout
    show = sys.stderr.isatty() if args.progress is None else args.progress
    progress = Progress(sys.stderr, terminal=sys.stderr.isatty()) if show else None
    try:
        spec = _spec(args)
        form = _format(args)
        _check_output(args, form)
    except UsageError as exc:
        return fail("export", ExitCode.USAGE, str(exc))

    def on_event(event: RequestEvent) -> None:
        stats.record(event)
        if progress is not None and event.kind in ("wait", "retry"):
            progress.update(stats)  # a long wait for the rate limit shows while it lasts

    def say(text: str) -> None:  # a retry, told on a line of its own (off the redrawn progress line)
        text = "closeasync export: " + text
        if progress is not None:
            progress.note(text)
        else:
            print(text, file=sys.stderr, flush=True)

    async def main() -> int:
        async with open_client(args, on_event=on_event, say=say) as close:
            spec.key(close)  # a filter Close refuses is refused before any file is touched
            store = async_store(_store(args, form))
            try:
                await run_export(
                    close,
                    spec,
                    store,
                    resume=args.since_last or args.follow,
                    stats=stats,
                    on_save=None if progress is None else progress.update,
                    poll=args.poll if args.follow else None,
                    # Standard output is one pass that cannot be resumed: the walk only.
                    changes=args.to != "-",
                )
            finally:
                await store.aclose()  # in the loop: a database connection closes there
        return 0

    try:
        run_async(main)
    except Interrupted as exc:
        _finish(stats, spec, target, progress, report)
        print(
            f"closeasync export: interrupted ({exc}); {stats.saved:,} rows saved. "
            + ("Run it again with --since-last to go on." if args.to != "-" else ""),
            file=sys.stderr,
            flush=True,
        )
        return exc.code
    except Exception as exc:  # every error becomes a message and an exit status
        if isinstance(exc, BrokenPipeError) and args.to == "-":
            # The reader of standard output went away (`| head`): stop quietly, as Unix tools
            # do (main() exits 0). Rows on standard output cannot be resumed: no summary.
            if progress is not None:
                progress.done(stats)
            raise
        known = explain(exc, args.base_url, listing=True) or _output_error(exc, target)
        if known is None:
            raise
        _finish(stats, spec, target, progress, report)
        code, message = known
        if stats.saved and args.to != "-":
            message += f"\n{stats.saved:,} rows were saved; run again with --since-last to go on from there"
        return fail("export", code, message)
    _finish(stats, spec, target, progress, report)
    return ExitCode.OK


def _output_error(exc: Exception, target: str) -> tuple[ExitCode, str] | None:
    if isinstance(exc, StoreBusyError | StoreWriteError):
        return ExitCode.FAILED, str(exc)
    if isinstance(exc, StoreError):
        return ExitCode.USAGE, str(exc)
    if isinstance(exc, OSError | sqlite3.Error):  # a full disk, a file locked by another export
        return ExitCode.FAILED, f"cannot write {target}: {exc}"
    return None


def _finish(
    stats: ExportStats, spec: ExportSpec, target: str, progress: Progress | None, report: Any
) -> None:
    if progress is not None:
        progress.done(stats)
    if stats.items or stats.finished:
        for line in summary(stats, spec.what, target):
            print(line, file=report, flush=True)
