"""An incremental export costs in proportion to the changes, not to the copy.

A fake Close (in-process, ``FakeClose.transport()``: no network, so the numbers are the
SDK's and the store's work, and requests are counted exactly) holds ``--activities``
emails, exported once into SQLite. Then ``--changes`` changes are made through the SDK
(a third edits, a third deletes, a third creates), the fake's clock moved past its
consolidation window, and two runs are measured in the same process:

- ``--since-last``: ``run_export(..., resume=True)`` on the existing copy;
- a full re-export: ``run_export(...)`` into a new file (what keeping a copy up to date
  costs without the event log).

Both end equal to Close (checked after each: the ids and each row's ``data``). Reported:
requests (counted by the client's ``on_event``), seconds, and the ratios.

    python benchmarks/bench_changes.py --activities 20000 --changes 100
"""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sqlite3
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from _common import append_results, table

from closeasync import CloseAsync, RequestEvent
from closeasync.export import ExportSpec, SQLiteStore, run_export
from closeasync.fake import FakeClose
from closeasync.models import to_dict

SPEC = ExportSpec(what="emails")


class Requests:
    """Counts the requests a client sends (``on_event``)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, event: RequestEvent) -> None:
        if event.kind == "request":
            self.count += 1


async def export(fake: FakeClose, path: Path, *, resume: bool) -> tuple[int, float]:
    """One export run: (requests, seconds)."""
    counter = Requests()
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport(), on_event=counter) as close:
        store = SQLiteStore(path)
        started = time.perf_counter()
        try:
            await run_export(close, SPEC, store, resume=resume, clock=lambda: fake.now)
        finally:
            store.close()
        return counter.count, time.perf_counter() - started


def rows(path: Path) -> dict[str, Any]:
    db = sqlite3.connect(path)
    try:
        return {ident: orjson.loads(data) for ident, data in db.execute("SELECT id, data FROM email")}
    finally:
        db.close()


async def close_state(fake: FakeClose) -> dict[str, Any]:
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        return {email.id: to_dict(email) async for email in close.emails.list(prefetch=8)}


async def change(fake: FakeClose, lead: str, changes: int) -> None:
    """``changes`` changes through the SDK: edits, deletions and creations in equal parts."""
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        ids = [email.id async for email in close.emails.list().limit(2 * changes)]
        third = changes // 3
        for ident in ids[:third]:
            await close.emails.update(ident, subject="edited")
        for ident in ids[third : 2 * third]:
            await close.emails.delete(ident)
        for n in range(changes - 2 * third):
            await close.emails.create(lead_id=lead, status="draft", subject=f"new {n}")


async def main(args: argparse.Namespace) -> None:
    fake = FakeClose(seed=1)
    lead = fake.add_lead("Acme")["id"]
    for n in range(args.activities):
        fake.add_activity("Email", lead_id=lead, status="draft", subject=f"email {n}", body_text="x" * 2000)
        if n % 100 == 99:
            fake.advance(60)  # a history, not one burst: a rescan of the last minutes meets few
    with tempfile.TemporaryDirectory(prefix="bench_changes_") as name:
        folder = Path(name)
        copy = folder / "copy.sqlite"
        await export(fake, copy, resume=False)
        fake.advance(3600)
        await change(fake, lead, args.changes)
        fake.advance(60)
        incremental = await export(fake, copy, resume=True)
        full = await export(fake, folder / "full.sqlite", resume=False)
        expected = await close_state(fake)
        for path in (copy, folder / "full.sqlite"):
            if rows(path) != expected:
                raise RuntimeError(f"{path.name} is not equal to Close")
    out = [
        ["run", "requests", "seconds"],
        ["--since-last", f"{incremental[0]:,}", f"{incremental[1]:.3f}"],
        ["full re-export", f"{full[0]:,}", f"{full[1]:.3f}"],
    ]
    verdicts = [
        f"requests, --since-last / full: {incremental[0] / full[0]:.3f} ({incremental[0]:,} for "
        f"{args.changes} changes to a copy of {args.activities:,})",
        f"time, --since-last / full: {incremental[1] / full[1]:.3f}",
    ]
    details = [
        f"Data: {args.activities:,} emails in a FakeClose (in-process transport), {args.changes} changes"
    ]
    print("\n".join(details))
    print(table(out, markdown=False))
    print("\n".join(verdicts))
    if not args.no_write:
        command = shlex.join(
            [
                "python",
                "benchmarks/bench_changes.py",
                f"--activities={args.activities}",
                f"--changes={args.changes}",
            ]
        )
        body = [table(out, markdown=True), "", *(f"- {line}" for line in verdicts)]
        append_results("Incremental export after changes", command, details, body)
        print("Appended to benchmarks/RESULTS.md")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--activities", type=int, default=20_000, help="emails in the copy (20000)")
    parser.add_argument("--changes", type=int, default=100, help="changes between the runs (100)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave RESULTS.md alone")
    args = parser.parse_args(argv)
    if not 3 <= args.changes <= args.activities // 2 or args.activities > 200_000:
        parser.error("3 <= --changes <= --activities / 2, and --activities <= 200000")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
