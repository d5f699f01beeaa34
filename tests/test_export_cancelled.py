"""A save that has begun ends whole, however the export is cancelled.

anyio's shield holds off anyio's cancel scopes but not asyncio's own ``Task.cancel()``
(``asyncio.run`` on Ctrl-C, ``asyncio.timeout``): the export must finish the save it
began, count it, and only then go on cancelled.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from closeasync import CloseAsync, SyncCursor
from closeasync.export import (
    Deletion,
    ExportSpec,
    ExportState,
    ExportStats,
    SQLiteStore,
    StoreWriteError,
    async_store,
    run_export,
)
from closeasync.fake import FakeClose
from tests.export_support import PassingStore


class HeldSave(PassingStore):
    """A SQLite store whose first save waits, once begun, until the test lets it go on."""

    def __init__(self, path: Path, *, fail: bool = False) -> None:
        super().__init__(async_store(SQLiteStore(path)))
        self.begun = asyncio.Event()
        self.go = asyncio.Event()
        self.fail = fail
        self.calls = 0
        self.finished = 0

    async def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        self.calls += 1
        self.begun.set()
        await self.go.wait()
        if self.fail:
            raise StoreWriteError("the database went away")
        await self.inner.save(records, state, key, deletions)
        self.finished += 1


def fake_with_emails(count: int) -> FakeClose:
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Acme")["id"]
    for i in range(count):
        fake.add_activity("Email", lead_id=lead, subject=f"s{i}")
    return fake


async def test_a_save_begun_before_task_cancel_ends_whole_and_is_counted(tmp_path: Path) -> None:
    fake = fake_with_emails(5)
    store = HeldSave(tmp_path / "copy.sqlite")
    stats = ExportStats()
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        export = asyncio.ensure_future(
            run_export(close, ExportSpec(what="emails"), store, stats=stats, changes=False)
        )
        with anyio.fail_after(10):
            await store.begun.wait()
        export.cancel()  # asyncio's own cancellation, as asyncio.run does on Ctrl-C
        for _ in range(5):
            await asyncio.sleep(0)  # the cancellation reaches the export meanwhile
        store.go.set()
        with pytest.raises(asyncio.CancelledError):
            await export
    await store.aclose()
    assert (store.calls, store.finished) == (1, 1)  # not broken off and made again
    assert stats.saved == 5
    reopened = SQLiteStore(tmp_path / "copy.sqlite")
    try:
        assert reopened.counts() == {"email": 5}
    finally:
        reopened.close()


async def test_a_save_that_fails_while_cancelled_goes_on_cancelled_with_the_failure_attached(
    tmp_path: Path,
) -> None:
    fake = fake_with_emails(3)
    store = HeldSave(tmp_path / "copy.sqlite", fail=True)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        export = asyncio.ensure_future(run_export(close, ExportSpec(what="emails"), store, changes=False))
        with anyio.fail_after(10):
            await store.begun.wait()
        export.cancel()
        for _ in range(5):
            await asyncio.sleep(0)
        store.go.set()
        with pytest.raises(asyncio.CancelledError) as caught:
            await export
    assert isinstance(caught.value.__cause__, StoreWriteError)
    await store.aclose()
