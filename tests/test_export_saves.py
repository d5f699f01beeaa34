"""An export saves each page while it fetches the next: one save at a time, in order.

A store that says its rows are handed over (:func:`handed_over`, as the PostgreSQL store
does before its ``COPY``) is written while the walk requests the next page; the next save
begins only once it has committed, is counted only then, and none is made after a
failure. A store that never says it (SQLite: its work is this process's) is awaited in
full before the walk goes on. The stores here hold their saves at a gate the test opens,
so what overlaps is seen, not timed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest

from closeasync import CloseAsync, RequestEvent
from closeasync.export import (
    ExportSpec,
    ExportStats,
    SQLiteStore,
    StoreWriteError,
    run_export,
)
from closeasync.fake import FakeClose
from closeasync.transports import Request, Response
from tests.export_support import Gated, turns

EMAILS = 6
SPEC = ExportSpec(what="emails", page_size=2)  # pages of 2: three saves, three page requests


def fake_with_emails() -> FakeClose:
    fake = FakeClose(seed=9)
    lead = fake.add_lead("Acme")["id"]
    for i in range(EMAILS):
        fake.add_activity("Email", lead_id=lead, subject=f"s{i}")
    return fake


def client(fake: FakeClose, log: list[str]) -> CloseAsync:
    """A client that logs each page request of the export's walk, and each scan of the
    event log."""
    pages = scans = 0

    def on_event(event: RequestEvent) -> None:
        nonlocal pages, scans
        if event.kind == "request" and "/activity/email/" in event.url:
            pages += 1
            log.append(f"page {pages}")
        elif event.kind == "request" and "/event/" in event.url:
            scans += 1
            log.append(f"scan {scans}")

    return CloseAsync(api_key=fake.api_key, transport=fake.transport(), on_event=on_event)


class Log(list[str]):
    """What happened, in order; :meth:`until` waits for an entry."""

    def __init__(self) -> None:
        super().__init__()
        self.grown = asyncio.Event()

    def append(self, entry: str) -> None:
        super().append(entry)
        self.grown.set()

    async def until(self, entry: str) -> None:
        with anyio.fail_after(10):
            while entry not in self:
                self.grown.clear()
                await self.grown.wait()


def rows_in(path: Path) -> dict[str, int]:
    store = SQLiteStore(path)
    try:
        return store.counts()
    finally:
        store.close()


async def test_the_next_page_is_fetched_while_a_handed_over_save_is_written(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log)
    stats = ExportStats()
    counted: list[int] = []
    async with client(fake_with_emails(), log) as close:
        export = asyncio.ensure_future(
            run_export(
                close, SPEC, store, stats=stats, changes=False, on_save=lambda s: counted.append(s.saved)
            )
        )
        await log.until("page 2")  # requested while save 1 is held at the gate
        assert log[:3] == ["page 1", "begin 1", "page 2"]
        await turns(20)
        assert "begin 2" not in log  # the next save waits for this one to commit
        assert stats.saved == 0  # nothing is counted before it has committed
        store.gate.set()
        with anyio.fail_after(10):
            result = await export
    await store.aclose()
    saves = [entry for entry in log if not entry.startswith("page")]
    assert saves == [e for n in range(1, store.calls + 1) for e in (f"begin {n}", f"end {n}")]
    assert counted == sorted(counted)  # counted as each one commits, in order
    assert counted[-1] == result.saved == EMAILS
    assert result.finished
    assert rows_in(tmp_path / "copy.sqlite") == {"email": EMAILS}


async def test_a_store_that_never_hands_over_is_awaited_in_full(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log, hands_over=False)
    store.gate.set()
    async with client(fake_with_emails(), log) as close:
        await run_export(close, SPEC, store, changes=False)
    await store.aclose()
    pages = [entry for entry in log if entry.startswith("page")]
    assert len(pages) >= 3
    for number in range(1, len(pages)):
        assert log.index(f"end {number}") < log.index(f"page {number + 1}")
    assert rows_in(tmp_path / "copy.sqlite") == {"email": EMAILS}


async def test_after_a_failed_save_no_other_is_made_and_a_resumed_run_loses_nothing(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log, fail_at=1)
    stats = ExportStats()
    fake = fake_with_emails()
    async with client(fake, log) as close:
        export = asyncio.ensure_future(run_export(close, SPEC, store, stats=stats, changes=False))
        await log.until("page 2")  # the walk went on while save 1 was in flight
        store.gate.set()  # ... and save 1 fails
        with pytest.raises(StoreWriteError, match="went away"), anyio.fail_after(10):
            await export
        assert store.calls == 1  # save 2 would have moved the resume point past save 1's rows
        assert stats.saved == 0
        assert await store.saved_state(SPEC.key(close)) is None
        await store.aclose()
        again = SQLiteStore(tmp_path / "copy.sqlite")
        try:
            resumed = await run_export(close, SPEC, again, resume=True, changes=False)
        finally:
            again.close()
    assert resumed.finished
    assert resumed.items == EMAILS
    assert rows_in(tmp_path / "copy.sqlite") == {"email": EMAILS}


async def test_cancelled_while_fetching_the_save_in_flight_ends_and_is_counted(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log)
    stats = ExportStats()
    async with client(fake_with_emails(), log) as close:
        export = asyncio.ensure_future(run_export(close, SPEC, store, stats=stats, changes=False))
        await log.until("page 2")
        export.cancel()  # asyncio's own cancellation, as asyncio.run does on Ctrl-C
        await turns(5)
        store.gate.set()
        with pytest.raises(asyncio.CancelledError), anyio.fail_after(10):
            await export
        await store.aclose()
        assert "end 1" in log
        copied = rows_in(tmp_path / "copy.sqlite")
        assert stats.saved == copied["email"] >= 2  # what was counted is what the copy holds
        again = SQLiteStore(tmp_path / "copy.sqlite")
        try:
            resumed = await run_export(close, SPEC, again, resume=True, changes=False)
        finally:
            again.close()
    assert resumed.finished
    assert stats.saved + resumed.items == EMAILS  # nothing fetched twice, nothing lost
    assert rows_in(tmp_path / "copy.sqlite") == {"email": EMAILS}


class HeldPage:
    """The fake's transport, holding the ``hold``-th page request of the walk until released."""

    def __init__(self, fake: FakeClose, hold: int) -> None:
        self.inner = fake.transport()
        self.hold = hold
        self.pages = 0
        self.reached = asyncio.Event()
        self.release = asyncio.Event()

    async def send(self, request: Request) -> Response:
        if "/activity/email/" in request.url:
            self.pages += 1
            if self.pages == self.hold:
                self.reached.set()
                await self.release.wait()
        return await self.inner.send(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_cancelled_while_the_save_before_ends_the_page_received_is_saved_too(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log)
    stats = ExportStats()
    async with client(fake_with_emails(), log) as close:
        export = asyncio.ensure_future(run_export(close, SPEC, store, stats=stats, changes=False))
        await log.until("page 2")
        await turns()  # page 2 arrives and is handed out; its save waits for save 1
        received = stats.items
        assert received > 2  # the state this test is about: a second page received, unsaved
        assert "begin 2" not in log
        export.cancel()  # Ctrl-C
        await turns(5)
        store.gate.set()
        with pytest.raises(asyncio.CancelledError), anyio.fail_after(10):
            await export
    await store.aclose()
    assert log[-2:] == ["begin 2", "end 2"]
    assert stats.saved == stats.items == received  # every row received is kept
    assert rows_in(tmp_path / "copy.sqlite") == {"email": received}


async def test_a_timeout_while_fetching_is_a_timeout_even_when_the_save_in_flight_fails(
    tmp_path: Path,
) -> None:
    """Whether a save fails inside the cancellation or while the walk fetches (with a save
    handed over), the cancellation goes on, the store's failure attached: ``asyncio.timeout``
    raises ``TimeoutError`` (the command exits as interrupted, not as a failed write)."""
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log, fail_at=1)
    fake = fake_with_emails()
    transport = HeldPage(fake, hold=2)
    async with CloseAsync(api_key=fake.api_key, transport=transport) as close:

        async def export() -> None:
            async with asyncio.timeout(None) as deadline:
                deadlines.append(deadline)
                await run_export(close, SPEC, store, changes=False)

        deadlines: list[asyncio.Timeout] = []
        running = asyncio.ensure_future(export())
        with anyio.fail_after(10):
            await transport.reached.wait()  # page 2 requested, save 1 handed over and held
        deadlines[0].reschedule(asyncio.get_running_loop().time())  # the deadline passes now
        await turns(5)
        store.gate.set()  # ... and save 1 fails
        with pytest.raises(TimeoutError) as caught, anyio.fail_after(10):
            await running
    await store.aclose()
    assert isinstance(caught.value.__cause__, asyncio.CancelledError)
    assert isinstance(caught.value.__cause__.__cause__, StoreWriteError)
    assert store.calls == 1


async def test_a_failed_save_of_a_store_in_this_process_stops_the_export_at_once(tmp_path: Path) -> None:
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log, hands_over=False, fail_at=1)
    store.gate.set()
    async with client(fake_with_emails(), log) as close:
        with pytest.raises(StoreWriteError):
            await run_export(close, SPEC, store, changes=False)
    await store.aclose()
    assert list(log) == ["page 1", "begin 1"]  # no other page fetched after it


async def test_following_stops_at_a_failed_save(tmp_path: Path) -> None:
    """``--follow`` saves each scan's changes before it scans again: a save that fails ends
    it, even when nothing else changes for a long time (no later save would tell)."""
    fake = fake_with_emails()
    first = Gated(tmp_path / "copy.sqlite", Log())
    first.gate.set()
    async with client(fake, Log()) as close:
        await run_export(close, SPEC, first)  # the copy, and its place in the event log
    await first.aclose()
    log = Log()
    store = Gated(tmp_path / "copy.sqlite", log, fail_at=1)  # its first save: the change below
    async with client(fake, log) as close:
        following = asyncio.ensure_future(run_export(close, SPEC, store, resume=True, poll=0.001))
        await log.until("scan 2")  # following; nothing changed yet, nothing saved
        assert store.calls == 0
        fake.advance(60)
        fake.add_activity("Email", lead_id=fake.add_lead("Other")["id"], subject="new")
        await log.until("begin 1")  # the change's save, handed over and held
        scans = sum(entry.startswith("scan") for entry in log)
        await turns()
        assert sum(entry.startswith("scan") for entry in log) == scans  # no scan before it is saved
        store.gate.set()  # ... and it fails
        with pytest.raises(StoreWriteError), anyio.fail_after(10):
            await following
    await store.aclose()
    assert store.calls == 1
