"""A save that has begun ends whole, however the export is cancelled.

anyio's shield holds off anyio's cancel scopes but not asyncio's own ``Task.cancel()``
(``asyncio.run`` on Ctrl-C, ``asyncio.timeout``): the export must finish the save it
began, count it, and only then go on cancelled.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import anyio
import pytest

from closeasync import CloseAsync
from closeasync.export import (
    ExportSpec,
    ExportStats,
    SQLiteStore,
    StoreWriteError,
    run_export,
)
from closeasync.fake import FakeClose
from tests.export_support import Gated, turns


def fake_with_emails(count: int) -> FakeClose:
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Acme")["id"]
    for i in range(count):
        fake.add_activity("Email", lead_id=lead, subject=f"s{i}")
    return fake


async def test_a_save_begun_before_task_cancel_ends_whole_and_is_counted(tmp_path: Path) -> None:
    fake = fake_with_emails(5)
    store = Gated(tmp_path / "copy.sqlite", hands_over=False)  # held inside its save
    stats = ExportStats()
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        export = asyncio.ensure_future(
            run_export(close, ExportSpec(what="emails"), store, stats=stats, changes=False)
        )
        with anyio.fail_after(10):
            await store.begun.wait()
        export.cancel()  # asyncio's own cancellation, as asyncio.run does on Ctrl-C
        await turns(5)  # the cancellation reaches the export meanwhile
        store.gate.set()
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
    store = Gated(tmp_path / "copy.sqlite", hands_over=False, fail_at=1)
    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        export = asyncio.ensure_future(run_export(close, ExportSpec(what="emails"), store, changes=False))
        with anyio.fail_after(10):
            await store.begun.wait()
        export.cancel()
        await turns(5)
        store.gate.set()
        with pytest.raises(asyncio.CancelledError) as caught:
            await export
    assert isinstance(caught.value.__cause__, StoreWriteError)
    await store.aclose()
