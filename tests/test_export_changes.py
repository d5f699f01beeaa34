"""The copy stays equal to Close: creations, edits, sends, cancels and deletions included.

Random histories of changes made through the SDK against the fake Close (with its event
log), with ``--since-last`` exports between them, some killed at a random save (before
or after the save's transaction commits) and resumed by the next run. After every run
that finishes, the SQLite copy holds exactly Close's emails, each exactly as ``GET``
returns it, and no deleted one; deletions are recorded in ``closeasync_deletions``.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Mapping, Sequence
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from closeasync import CloseAsync, CloseError, NotFoundError, SyncCursor
from closeasync.export import (
    ExportSpec,
    ExportStats,
    JsonLinesStore,
    SQLiteStore,
    Store,
    StoreBusyError,
    run_export,
)
from closeasync.export._state import Deletion, ExportState
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.models import to_dict

ME = "Me <me@example.com>"
TO = ["Bob <bob@example.com>"]


class Killed(BaseException):
    """The process dies here (``kill -9``): nothing after it runs."""


class Dying:
    """A store that dies at its ``at``-th save, before or after that save's commit."""

    def __init__(self, inner: Store, at: int, after_commit: bool) -> None:
        self.inner, self.at, self.after_commit, self.saves = inner, at, after_commit, 0

    def saved_state(self, key: str) -> ExportState | None:
        return self.inner.saved_state(key)

    def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        self.saves += 1
        if self.saves == self.at and not self.after_commit:
            raise Killed
        self.inner.save(records, state, key, deletions)
        if self.saves == self.at:
            raise Killed

    def close(self) -> None:
        self.inner.close()


async def close_state(close: CloseAsync) -> dict[str, dict[str, Any]]:
    """Close's emails, each as GET returns it."""
    ids = [email.id async for email in close.emails.list()]
    return {ident: to_dict(await close.emails.get(ident)) for ident in ids}


def copy_of(path: Path) -> dict[str, dict[str, Any]]:
    db = sqlite3.connect(path)
    try:
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "email" not in tables:
            return {}
        return {ident: orjson.loads(data) for ident, data in db.execute("SELECT id, data FROM email")}
    finally:
        db.close()


def deletions_of(path: Path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {ident for (ident,) in db.execute("SELECT id FROM closeasync_deletions")}
    finally:
        db.close()


# One step: ("create", n), ("edit", n), ("send", n), ("schedule", n), ("cancel", n),
# ("delete", n), ("tick", seconds), ("export", kill at save k: 0 none), ("export_late", k).
STEP = st.one_of(
    st.tuples(
        st.sampled_from(["create", "edit", "send", "schedule", "cancel", "delete"]), st.integers(0, 99)
    ),
    st.tuples(st.just("tick"), st.integers(1, 4000)),
    st.tuples(st.just("export"), st.integers(0, 4)),
)


async def history(steps: list[tuple[str, int]], folder: Path, *, over_http: bool = False) -> None:
    fake = FakeClose(seed=5)
    if over_http:  # the same, through aiohttp against the fake served on 127.0.0.1
        async with serve(fake) as server, CloseAsync(api_key=fake.api_key, base_url=server.base_url) as close:
            await run_history(steps, folder, fake, close)
    else:
        async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
            await run_history(steps, folder, fake, close)


async def run_history(steps: list[tuple[str, int]], folder: Path, fake: FakeClose, close: CloseAsync) -> None:
    lead = fake.add_lead("Acme")["id"]
    path = folder / "copy.sqlite"
    spec = ExportSpec(what="emails", page_size=3)  # small pages: many saves to die at
    removed: set[str] = set()

    async def pick(n: int) -> str | None:
        ids = sorted([e.id async for e in close.emails.list()])
        return ids[n % len(ids)] if ids else None

    async def export(kill_at: int) -> None:
        store: Store = SQLiteStore(path)
        if kill_at:
            store = Dying(store, kill_at, after_commit=kill_at % 2 == 0)
        try:
            await run_export(close, spec, store, resume=True, clock=lambda: fake.now, save_every=4)
        except Killed:
            return  # the next run goes on
        finally:
            store.close()
        assert copy_of(path) == await close_state(close)
        assert removed & set(copy_of(path)) == set()

    for kind, value in steps:
        ident = await pick(value)
        try:
            if kind == "create":
                await close.emails.create(lead_id=lead, status="draft", to=TO, subject=f"s{value}")
            elif kind == "edit" and ident:
                await close.emails.update(ident, subject=f"edited {value}")
            elif kind == "send" and ident:
                await close.emails.send(await close.emails.get(ident), sender=ME)
            elif kind == "schedule" and ident:
                at = fake.now + timedelta(seconds=600)
                await close.emails.schedule(await close.emails.get(ident), at=at, sender=ME)
            elif kind == "cancel" and ident:
                await close.emails.cancel(await close.emails.get(ident))
            elif kind == "delete" and ident:
                await close.emails.delete(ident)
                removed.add(ident)
        except NotFoundError:
            raise  # every id picked exists
        except CloseError:  # a change Close refuses (sending a sent email...): none is made
            pass
        if kind == "tick":
            fake.advance(value)  # the clock sends what is due
        elif kind == "export":
            await export(value)
    await export(0)  # a last, uninterrupted run: the copy equals Close
    before = path.read_bytes() if path.exists() else b""
    await export(0)
    if before:
        assert path.read_bytes() == before or copy_of(path) == await close_state(close)

    if removed and path.exists():
        assert removed & set(copy_of(path)) == set()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=25))
@example(
    steps=[
        ("create", 0),
        ("create", 1),
        ("export", 0),
        ("edit", 0),
        ("send", 1),
        ("tick", 30),
        ("export", 2),
        ("delete", 0),
        ("export", 1),
        ("create", 2),
        ("schedule", 0),
        ("export", 0),
        ("tick", 700),
        ("cancel", 0),
        ("export", 0),
    ]
)
def test_the_copy_equals_close_after_every_run(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        anyio.run(history, steps, Path(folder))


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, max_size=15))
@example(steps=[("create", 0), ("export", 0), ("edit", 0), ("create", 1), ("export", 1), ("delete", 1)])
def test_the_copy_equals_close_over_http(steps: list[tuple[str, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        anyio.run(partial(history, over_http=True), steps, Path(folder))


async def test_an_edit_and_a_deletion_reach_the_copy_and_a_quiet_run_changes_nothing(tmp_path: Path) -> None:
    fake = FakeClose(seed=2)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.sqlite"
    spec = ExportSpec(what="emails")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        kept = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        gone = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="two")

        async def export() -> ExportStats:
            store = SQLiteStore(path)
            try:
                return await run_export(close, spec, store, resume=True, clock=lambda: fake.now)
            finally:
                store.close()

        await export()
        fake.advance(3600)
        await close.emails.update(kept, subject="edited")
        await close.emails.delete(gone)
        stats = await export()
        copy = copy_of(path)
        assert set(copy) == {kept.id}
        assert copy[kept.id]["subject"] == "edited"
        assert deletions_of(path) == {gone.id}
        assert (stats.updated, stats.deleted) == (1, 1)
        assert stats.events == 2
        mtime, content = path.stat().st_mtime_ns, path.read_bytes()
        quiet = await export()
        assert (quiet.items, quiet.updated, quiet.deleted, quiet.saved) == (0, 0, 0, 0)
        assert path.read_bytes() == content
        assert path.stat().st_mtime_ns == mtime


async def test_json_lines_get_change_records_a_reader_can_replay(tmp_path: Path) -> None:
    fake = FakeClose(seed=3)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.jsonl"
    spec = ExportSpec(what="emails")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        first = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        second = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="two")
        for resume in (False, True):
            store = JsonLinesStore(path, resume=resume)
            try:
                await run_export(close, spec, store, resume=resume, clock=lambda: fake.now)
            finally:
                store.close()
            fake.advance(3600)
            if not resume:
                await close.emails.update(first, subject="edited")
                await close.emails.delete(second)
        replayed: dict[str, dict[str, Any]] = {}
        for line in path.read_bytes().splitlines():
            obj = orjson.loads(line)
            if obj.get("_deleted"):
                replayed.pop(obj["id"], None)
            else:
                replayed[obj["id"]] = obj
        assert replayed == await close_state(close)


async def test_a_copy_left_longer_than_the_event_log_keeps_is_refused(tmp_path: Path) -> None:
    from closeasync import EventLogExpiredError

    fake = FakeClose(seed=4)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.sqlite"
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        store = SQLiteStore(path)
        await run_export(close, ExportSpec(what="emails"), store, clock=lambda: fake.now)
        fake.advance(31 * 86400)
        with pytest.raises(EventLogExpiredError):
            await run_export(close, ExportSpec(what="emails"), store, resume=True, clock=lambda: fake.now)
        store.close()


async def test_close_s_clock_is_read_from_its_answers(tmp_path: Path) -> None:
    """No clock given: the export and its feed read Close's time from the Date of its answers
    (the fake's clock is frozen months before this machine's), and still see every change."""
    fake = FakeClose(seed=6)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.sqlite"
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        assert await close.events.server_time() == fake.now
        email = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        for step in range(2):
            store = SQLiteStore(path)
            try:
                await run_export(close, ExportSpec(what="emails"), store, resume=True)
            finally:
                store.close()
            if step == 0:
                fake.advance(3600)
                await close.emails.update(email, subject="edited")
        assert copy_of(path) == await close_state(close)
        assert copy_of(path)[email.id]["subject"] == "edited"


async def test_an_object_created_backdated_reaches_the_copy(tmp_path: Path) -> None:
    """An import dated before the last walk is never listed by the next walk by creation
    date: its creation event brings it."""
    fake = FakeClose(seed=7)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.sqlite"
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        await close.emails.create(lead_id=lead, status="draft", to=TO, subject="now")
        for step in range(2):
            store = SQLiteStore(path)
            try:
                stats = await run_export(close, ExportSpec(what="emails"), store, resume=True)
            finally:
                store.close()
            if step == 0:
                fake.advance(3600)
                old = fake.now - timedelta(days=3)
                imported = fake.add_activity("Email", lead_id=lead, status="draft", date_created=old)
        assert stats.items == 0  # the walk by creation date did not see it...
        assert imported["id"] in copy_of(path)  # ...the event log did
        assert copy_of(path) == await close_state(close)


async def export_once(close: CloseAsync, spec: ExportSpec, path: Path, **options: Any) -> ExportStats:
    store = SQLiteStore(path)
    try:
        return await run_export(close, spec, store, **options)
    finally:
        store.close()


async def test_an_activity_moved_to_another_lead_leaves_a_lead_s_copy(tmp_path: Path) -> None:
    fake = FakeClose(seed=11)
    mine, other = fake.add_lead("Mine")["id"], fake.add_lead("Other")["id"]
    path = tmp_path / "copy.sqlite"
    spec = ExportSpec(what="sms", lead_ids=(mine,))
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        sms = fake.add_activity("SMS", lead_id=mine, status="draft", text="hi", direction="outbound")
        fake.advance(60)
        await export_once(close, spec, path, resume=True)
        fake.advance(600)
        await close.sms.update(sms["id"], lead_id=other)  # Close logs it under its new lead
        fake.advance(600)
        stats = await export_once(close, spec, path, resume=True)
    assert stats.deleted == 1
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT COUNT(*) FROM sms").fetchone() == (0,)
    finally:
        db.close()


async def test_an_import_made_while_the_walk_runs_reaches_the_copy(tmp_path: Path) -> None:
    """Created during the first walk, dated where the walk had already passed: no walk lists it."""
    fake = FakeClose(seed=12)
    lead = fake.add_lead("Acme")["id"]
    for n in range(10):
        fake.advance(60)
        fake.add_activity("Email", lead_id=lead, status="draft", subject=f"s{n}")
    path = tmp_path / "copy.sqlite"
    imported: list[str] = []

    def on_save(stats: ExportStats) -> None:
        if stats.saved >= 4 and not imported:
            fake.advance(1)  # Close's clock moves on while the walk runs
            old = fake.now - timedelta(seconds=90)
            imported.append(fake.add_activity("Email", lead_id=lead, status="draft", date_created=old)["id"])

    spec = ExportSpec(what="emails", page_size=2)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        await export_once(close, spec, path, resume=True, on_save=on_save)
        assert imported[0] in copy_of(path)
        assert copy_of(path) == await close_state(close)


async def test_a_quiet_copy_does_not_age_past_the_event_log(tmp_path: Path) -> None:
    """A lead's copy brought up to date every day while nothing of it changes: still fine at
    day 40, and the quiet runs right after one another write nothing."""
    fake = FakeClose(seed=13)
    lead, busy = fake.add_lead("Quiet")["id"], fake.add_lead("Busy")["id"]
    path = tmp_path / "copy.sqlite"
    spec = ExportSpec(what="emails", lead_ids=(lead,))
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        await export_once(close, spec, path, resume=True)
        for day in range(40):
            fake.advance(86400)
            await close.emails.create(lead_id=busy, status="draft", to=TO, subject=f"day {day}")
            await export_once(close, spec, path, resume=True)
        content = path.read_bytes()
        await export_once(close, spec, path, resume=True)
        assert path.read_bytes() == content
        assert copy_of(path) == {i: e for i, e in (await close_state(close)).items() if e["lead_id"] == lead}


async def test_walking_a_copy_again_still_applies_the_deletions_since(tmp_path: Path) -> None:
    fake = FakeClose(seed=14)
    lead = fake.add_lead("Acme")["id"]
    path = tmp_path / "copy.sqlite"
    spec = ExportSpec(what="emails")
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        gone = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="gone")
        await close.emails.create(lead_id=lead, status="draft", to=TO, subject="kept")
        await export_once(close, spec, path, resume=True)
        fake.advance(3600)
        await close.emails.delete(gone)
        await export_once(close, spec, path)  # not resumed: walked again from scratch
        assert gone.id not in copy_of(path)
        assert copy_of(path) == await close_state(close)


def test_overwriting_a_json_lines_file_another_export_holds_leaves_it_whole(tmp_path: Path) -> None:
    path = tmp_path / "copy.jsonl"
    first = JsonLinesStore(path, resume=False)
    try:
        first.save([{"id": "acti_1", "_type": "SMS"}], SyncCursor(scope="/activity/sms/"), "k")
        size = path.stat().st_size
        second = JsonLinesStore(path, resume=False, overwrite=True)
        with pytest.raises(StoreBusyError):
            second.save([], SyncCursor(scope="/activity/sms/"), "k")
        second.close()
        assert path.stat().st_size == size
    finally:
        first.close()
