"""The export engine (``closeasync.export``) through its public API, on the in-process fake.

What an export must guarantee: the rows are exactly the source's activities, by type;
a run stopped at any point (an error, a cancellation, a half-written file) is finished
by a resumed run without losing or repeating a row; a resumed run after a finished one
fetches only what is new.
"""

from __future__ import annotations

import ast
import io
import os
from contextlib import closing
from datetime import datetime
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest

from closeasync import CloseAsync, InvalidRequestError, RetryPolicy, ServerError, SyncCursor
from closeasync.export import (
    ExportSpec,
    ExportStats,
    JsonLinesStore,
    Progress,
    SQLiteStore,
    StoreBusyError,
    StoreError,
    async_store,
    run_export,
    summary,
    table_for,
)
from closeasync.fake import FakeClose
from closeasync.fake.demo import load_demo
from tests.conftest import NO_RETRY
from tests.export_support import Copy, by_table, export_to, sorted_ids

PAGE = 25


@pytest.fixture
def fake() -> FakeClose:
    fake = FakeClose(seed=5)
    load_demo(fake, leads=12)
    return fake


def client(fake: FakeClose, retry: RetryPolicy = NO_RETRY, **options: Any) -> CloseAsync:
    return CloseAsync(api_key=fake.api_key, transport=fake.transport(), retry=retry, **options)


def jsonl_ids(path: Path) -> list[str]:
    return [orjson.loads(line)["id"] for line in path.read_bytes().splitlines()]


async def test_an_export_holds_every_activity_in_its_types_table(fake: FakeClose, copy: Copy) -> None:
    async with client(fake) as close:
        stats = await export_to(copy, close, ExportSpec(what="activities", page_size=PAGE))
    expected = by_table(fake)
    assert len(expected) >= 8  # the demo has calls, notes, meetings...: a table for each
    assert copy.ids() == sorted_ids(expected)
    assert stats.finished
    assert stats.items == stats.saved == len(fake.activities)
    assert sum(stats.by_type.values()) == stats.items
    assert stats.pages >= len(fake.activities) // PAGE


async def test_rows_hold_the_lifted_columns_and_the_whole_object(fake: FakeClose, copy: Copy) -> None:
    async with client(fake) as close:
        await export_to(copy, close, ExportSpec(what="emails"))
    rows = copy.rows("email")
    assert rows
    for ident, row in rows.items():
        source = fake.activities[ident]
        assert row["subject"] == source["subject"]
        assert row["status"] == source["status"]
        assert row["date_created"] == source["date_created"]  # Close's string, exactly
        assert row["to"] == source["to"]
        assert row["data"] == source  # the object as Close sent it, whole
    # The resume point is saved with the rows, and says the walk is complete.
    assert copy.exports() == [("/activity/email/", False, len(rows))]


@pytest.mark.parametrize(("what", "table", "kind"), [("emails", "email", "Email"), ("sms", "sms", "SMS")])
async def test_message_exports_hold_only_their_type(
    fake: FakeClose, copy: Copy, what: Any, table: str, kind: str
) -> None:
    async with client(fake) as close:
        stats = await export_to(copy, close, ExportSpec(what=what, page_size=PAGE))
    assert copy.ids() == sorted_ids(by_table(fake, {kind}))
    assert set(stats.by_type) == {kind}


async def test_filters_select_one_leads_calls_and_notes(fake: FakeClose, copy: Copy) -> None:
    lead = next(obj["lead_id"] for obj in fake.activities.values() if obj["_type"] == "Call")
    spec = ExportSpec(what="activities", lead_ids=(lead,), types=("Call", "Note"))
    async with client(fake) as close:
        await export_to(copy, close, spec)
    expected: dict[str, set[str]] = {}
    for ident, obj in fake.activities.items():
        if obj["lead_id"] == lead and obj["_type"] in ("Call", "Note"):
            expected.setdefault(table_for(obj["_type"]), set()).add(ident)
    assert copy.ids() == sorted_ids(expected)


async def test_filters_close_refuses_are_refused_before_sending(fake: FakeClose, tmp_path: Path) -> None:
    sent: list[object] = []
    async with client(fake, on_event=sent.append) as close:
        with (
            pytest.raises(InvalidRequestError) as types_without_lead,
            closing(SQLiteStore(tmp_path / "a.db")) as store,
        ):
            await run_export(close, ExportSpec(what="activities", types=("Call",)), store)
        with (
            pytest.raises(InvalidRequestError) as types_of_emails,
            closing(SQLiteStore(tmp_path / "b.db")) as store,
        ):
            await run_export(close, ExportSpec(what="emails", types=("Call",)), store)
    assert "types" in types_without_lead.value.field_errors
    assert "types" in types_of_emails.value.field_errors
    assert sent == []


def jsonl_store(path: Path, resume: bool) -> JsonLinesStore:
    return JsonLinesStore(path, resume=resume, overwrite=not resume)


@pytest.mark.parametrize("copy", ["sqlite", "jsonl", "postgresql"], indirect=True)
async def test_an_export_stopped_by_an_error_resumes_without_loss_or_duplicates(
    fake: FakeClose, copy: Copy
) -> None:
    spec = ExportSpec(what="activities", page_size=PAGE)
    fake.faults.add("status", status=503, count=1, skip=6)  # the 7th page fails, no retries
    stats = ExportStats()
    async with client(fake) as close:
        with pytest.raises(ServerError):
            await export_to(copy, close, spec, stats=stats)
    assert not stats.finished
    assert 0 < stats.saved == stats.items < len(fake.activities)  # what it had is saved
    resumed = ExportStats()
    async with client(fake) as close:
        await export_to(copy, close, spec, resume=True, stats=resumed)
    assert resumed.resumed_from is not None
    assert resumed.resumed_from.in_progress
    assert stats.items + resumed.items == len(fake.activities)  # nothing fetched twice
    assert copy.ids() == sorted_ids(by_table(fake))  # sorted lists: a doubled row would show


async def test_a_cancelled_export_saves_what_it_received(fake: FakeClose, copy: Copy) -> None:
    """Cancelled right after a save began: that save is committed whole (it is shielded),
    and so is the batch the cancellation interrupted."""
    spec = ExportSpec(what="activities", page_size=PAGE)
    stats = ExportStats()
    store = async_store(copy.store())
    try:
        async with client(fake) as close, anyio.create_task_group() as group:

            async def export() -> None:
                await run_export(
                    close,
                    spec,
                    store,
                    stats=stats,
                    save_every=30,
                    on_save=lambda _: group.cancel_scope.cancel(),
                )

            group.start_soon(export)
        assert not stats.finished
        assert 0 < stats.saved == stats.items < len(fake.activities)
        assert sum(map(len, copy.ids().values())) == stats.saved
        async with client(fake) as close:
            resumed = await run_export(close, spec, store, resume=True)
    finally:
        await store.aclose()
    assert stats.items + resumed.items == len(fake.activities)
    assert copy.ids() == sorted_ids(by_table(fake))


async def test_jsonl_resume_drops_lines_written_after_the_last_save(fake: FakeClose, tmp_path: Path) -> None:
    path = tmp_path / "close.jsonl"
    spec = ExportSpec(what="emails", page_size=PAGE)
    fake.faults.add("status", status=503, count=1, skip=2)
    store = jsonl_store(path, False)
    async with client(fake) as close:
        with pytest.raises(ServerError):
            await run_export(close, spec, store)
    store.close()
    saved = len(jsonl_ids(path))
    # A run killed while writing its next batch leaves lines (and half a line) no save covers.
    with path.open("ab") as file:
        file.write(b'{"_type":"Email","id":"acti_unsaved"}\n{"_type":"Em')
    store = jsonl_store(path, True)
    async with client(fake) as close:
        resumed = await run_export(close, spec, store, resume=True)
    store.close()
    ids = jsonl_ids(path)
    expected = by_table(fake, {"Email"})["email"]
    assert saved + resumed.items == len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == expected


async def test_resuming_a_finished_export_fetches_only_what_is_new(fake: FakeClose, copy: Copy) -> None:
    spec = ExportSpec(what="activities", page_size=PAGE)
    async with client(fake) as close:
        await export_to(copy, close, spec)
        fake.advance(60)
        lead = next(iter(fake.activities.values()))["lead_id"]
        new = fake.add_activity("Note", lead_id=lead, note="Called back, wants a quote")
        again = await export_to(copy, close, spec, resume=True)
        nothing = await export_to(copy, close, spec, resume=True)
    assert (again.items, dict(again.by_type)) == (1, {"Note": 1})
    assert nothing.items == 0
    assert new["id"] in copy.ids()["note"]
    assert copy.ids() == sorted_ids(by_table(fake))


async def test_a_full_export_again_replaces_rows_in_place(fake: FakeClose, copy: Copy) -> None:
    spec = ExportSpec(what="sms", page_size=PAGE)
    async with client(fake) as close:
        await export_to(copy, close, spec)
        changed = next(obj for obj in fake.activities.values() if obj["_type"] == "SMS")
        changed["text"] = "Edited after the first export"
        await export_to(copy, close, spec)
    rows = copy.rows("sms")
    assert sorted(rows) == sorted(by_table(fake, {"SMS"})["sms"])
    assert rows[changed["id"]]["text"] == changed["text"]
    assert rows[changed["id"]]["data"] == changed


async def test_stats_count_rate_limit_waits_and_retries(fake: FakeClose, tmp_path: Path) -> None:
    fake.faults.add("status", status=429, count=2, skip=1, retry_after=0.01)
    fake.faults.add("drop", count=1, skip=4)
    retry = RetryPolicy(backoff_base=0.001, backoff_max=0.001, rate_limit_jitter=0)
    stats = ExportStats()
    async with client(fake, retry=retry, on_event=stats.record) as close:
        with closing(SQLiteStore(tmp_path / "close.sqlite")) as store:
            await run_export(close, ExportSpec(what="emails", page_size=PAGE), store, stats=stats)
            assert store.row_ids() == by_table(fake, {"Email"})
    assert stats.rate_limit_waits >= 2
    assert stats.waited >= 0.02
    assert stats.retries == 1


def test_a_jsonl_file_is_never_clobbered_or_mixed_up(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text('{"id": "mine"}\n')
    with pytest.raises(StoreError, match="exists"):
        JsonLinesStore(path, resume=False)
    with pytest.raises(StoreError, match="no resume state"):
        JsonLinesStore(path, resume=True)
    assert path.read_text() == '{"id": "mine"}\n'
    store = JsonLinesStore(path, resume=False, overwrite=True)
    assert path.read_text() == '{"id": "mine"}\n'  # replaced only when there is something to write
    store.save([{"id": "acti_1"}], SyncCursor(scope="/activity/sms/"), "sms")
    store.close()
    assert path.read_text() == '{"id":"acti_1"}\n'
    with pytest.raises(StoreError, match="exclude each other"):
        JsonLinesStore(path, resume=True, overwrite=True)


def test_a_jsonl_file_shorter_than_its_resume_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    store = JsonLinesStore(path, resume=False)
    store.save([{"id": "acti_1"}, {"id": "acti_2"}], SyncCursor(scope="/activity/sms/"), "sms")
    store.close()
    path.write_text('{"id":"acti_1"}\n')  # cut short outside closeasync
    with pytest.raises(StoreError, match="shorter than its resume state"):
        JsonLinesStore(path, resume=True)
    path.unlink()
    with pytest.raises(StoreError, match="is gone"):
        JsonLinesStore(path, resume=True)


@pytest.mark.parametrize("copy", ["sqlite", "jsonl", "postgresql"], indirect=True)
async def test_two_exports_never_write_the_same_copy_at_once(copy: Copy) -> None:
    cursor = SyncCursor(scope="/activity/sms/")
    first, second = async_store(copy.store()), async_store(copy.store())
    try:
        await first.save([{"_type": "SMS", "id": "acti_1"}], cursor, "sms")
        with pytest.raises(StoreBusyError, match="another closeasync export is writing to"):
            await second.save([{"_type": "SMS", "id": "acti_2"}], cursor, "sms")
    finally:
        await second.aclose()
        await first.aclose()
    third = async_store(copy.store())
    try:
        await third.save([{"_type": "SMS", "id": "acti_2"}], cursor, "sms")  # free again once closed
    finally:
        await third.aclose()
    assert copy.ids() == {"sms": ["acti_1", "acti_2"]}


async def test_a_date_bounded_export_has_its_own_resume_point(fake: FakeClose, copy: Copy) -> None:
    everything = ExportSpec(what="activities", page_size=PAGE)
    fake.faults.add("status", status=503, count=1, skip=3)
    async with client(fake) as close:
        with pytest.raises(ServerError):
            await export_to(copy, close, everything)  # interrupted, its resume point saved
        stamps = sorted(o["date_created"] for o in fake.activities.values())
        recent = ExportSpec(what="activities", since=datetime.fromisoformat(stamps[-10]), page_size=PAGE)
        bounded = await export_to(copy, close, recent, resume=True)
        assert bounded.items == 10
        assert bounded.resumed_from is None  # not the interrupted export's point
        resumed = await export_to(copy, close, everything, resume=True)
    assert resumed.resumed_from is not None
    assert resumed.resumed_from.in_progress
    assert copy.ids() == sorted_ids(by_table(fake))


async def test_a_resumed_bounded_export_keeps_its_bounds(fake: FakeClose, copy: Copy) -> None:
    stamps = sorted(o["date_created"] for o in fake.activities.values())
    until = datetime.fromisoformat(stamps[len(stamps) // 2])
    spec = ExportSpec(what="activities", until=until, page_size=PAGE)
    fake.faults.add("status", status=503, count=1, skip=1)
    async with client(fake) as close:
        with pytest.raises(ServerError):
            await export_to(copy, close, spec)
        await export_to(copy, close, spec, resume=True)
    expected: dict[str, set[str]] = {}
    for ident, obj in fake.activities.items():
        if datetime.fromisoformat(obj["date_created"]) < until:
            expected.setdefault(table_for(obj["_type"]), set()).add(ident)
    assert copy.ids() == sorted_ids(expected)


async def test_a_failed_save_then_a_good_one_writes_no_line_twice(
    fake: FakeClose, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "out.jsonl"
    real_replace = os.replace
    failures = iter([False, False, True])  # the third save's state file cannot be written

    def flaky_replace(source: Any, target: Any) -> None:
        if next(failures, False):
            raise OSError(28, "No space left on device")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", flaky_replace)
    spec = ExportSpec(what="emails", page_size=PAGE)
    store = jsonl_store(path, False)
    async with client(fake) as close:
        with pytest.raises(OSError, match="No space left"):
            await run_export(close, spec, store)
        store.close()
        store = jsonl_store(path, True)
        await run_export(close, spec, store, resume=True)
    store.close()
    ids = jsonl_ids(path)
    assert len(ids) == len(set(ids))
    assert set(ids) == by_table(fake, {"Email"})["email"]


def test_the_same_filters_in_any_order_are_the_same_export(fake: FakeClose) -> None:
    close = client(fake)
    one = ExportSpec(what="emails", lead_ids=("lead_b", "lead_a"), user_ids=("user_2", "user_1", "user_2"))
    other = ExportSpec(what="emails", lead_ids=("lead_a", "lead_b"), user_ids=("user_1", "user_2"))
    assert one.key(close) == other.key(close)
    assert one.key(close) != ExportSpec(what="emails", lead_ids=("lead_a",)).key(close)
    typed = ExportSpec(what="activities", lead_ids=("lead_a",), types=("Note", "Call"))
    assert typed.key(close) == ExportSpec(
        what="activities", lead_ids=("lead_a",), types=("Call", "Note")
    ).key(close)
    with pytest.raises(InvalidRequestError, match="cannot be empty"):
        ExportSpec(what="emails", lead_ids=("",)).key(close)


async def test_a_store_refuses_the_resume_point_of_another_export(fake: FakeClose, tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    async with client(fake) as close:
        store = jsonl_store(path, False)
        await run_export(close, ExportSpec(what="emails"), store)
        store.close()
        store = jsonl_store(path, True)
        with pytest.raises(StoreError, match="another export"):
            await run_export(close, ExportSpec(what="sms"), store, resume=True)
        store.close()


def test_the_export_package_uses_only_the_public_sdk() -> None:
    """``closeasync export`` is meant as the SDK's example: no private module of the SDK."""
    package = Path(__file__).parent.parent / "closeasync" / "export"
    private: list[str] = []
    for source in package.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2 and node.module:
                if any(part.startswith("_") for part in node.module.split(".")):
                    private.append(f"{source.name}: from {'.' * node.level}{node.module}")
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                parts = node.module.split(".")
                if parts[0] == "closeasync" and any(p.startswith("_") for p in parts[1:]):
                    private.append(f"{source.name}: from {node.module}")
    assert private == []


def test_progress_redraws_one_line_on_a_terminal_and_writes_lines_elsewhere() -> None:
    stats = ExportStats(items=1234, saved=1200, pages=13, rate_limit_waits=2, waited=1.5, retries=1)
    terminal = io.StringIO()
    progress = Progress(terminal, terminal=True, refresh=0.0)
    progress.update(stats)
    stats.items = 1300
    progress.update(stats)
    progress.done(stats)
    drawn = terminal.getvalue()
    assert drawn.count("\r") == 3
    assert drawn.endswith("\x1b[K\n")
    assert "1,300 items | 13 pages | " in drawn
    assert "rate-limit waits 2 (1.5 s) | retries 1 | saved 1,200" in drawn
    # A message (a retry, say) clears the redrawn line, takes a line of its own, and the
    # next update draws the progress again at once.
    noted = io.StringIO()
    progress = Progress(noted, terminal=True, refresh=3600)
    progress.update(stats)
    progress.note("retrying in 0.5 s (attempt 2 of 6)")
    progress.update(stats)
    first, told, again = noted.getvalue().split("\r")[1:]
    assert told == "\x1b[Kretrying in 0.5 s (attempt 2 of 6)\n"
    assert first.startswith("1,300 items")
    assert again.startswith("1,300 items")  # within the refresh interval, but the line was gone
    log = io.StringIO()
    progress = Progress(log, terminal=False, interval=3600)
    progress.update(stats)
    progress.update(stats)  # within the interval: not repeated
    progress.done(stats)
    assert "\r" not in log.getvalue()
    assert len(log.getvalue().splitlines()) == 2
    # A wait for the rate limit before anything was saved draws a line; the first save that
    # counts rows is shown at once all the same (a log says the export is under way).
    waiting = io.StringIO()
    progress = Progress(waiting, terminal=False, interval=3600)
    progress.update(ExportStats(rate_limit_waits=1))
    progress.update(stats)
    progress.update(stats)
    lines = waiting.getvalue().splitlines()
    assert [line.rpartition(" | ")[2] for line in lines] == ["saved 0", "saved 1,200"]


def test_the_summary_says_what_was_done() -> None:
    stats = ExportStats(items=3, pages=1, finished=True)
    stats.by_type.update({"Email": 2, "SMS": 1})
    first, kinds, waits = summary(stats, "activities", "close.sqlite")
    assert first.startswith("Exported 3 activities to close.sqlite in ")
    assert first.endswith("/s, 1 pages)")
    assert kinds == "by type: Email 2, SMS 1"
    assert waits == "rate-limit waits: 0 (0.0 s); retries: 0"
    del stats.by_type["SMS"]
    assert len(summary(stats, "emails", "close.sqlite")) == 2  # one type: no line for it
    stats.finished = False
    assert summary(stats, "emails", "-")[0].startswith("Stopped after 3 emails")


async def test_values_close_sent_malformed_are_kept_as_sent(fake: FakeClose, copy: Copy) -> None:
    """A timestamp that does not parse or a string for an object: exported as sent, not a failure.

    The models convert such fields only when read (where they raise FieldValueError);
    an export copies what Close has, so nothing is skipped and the walk finishes.
    """
    email = next(a for a in fake.activities.values() if a["_type"] == "Email")
    email["date_updated"] = "not a date"
    email["envelope"] = "not an object"
    email["to"] = "not a list"
    email["subject"] = 42
    async with client(fake) as close:
        stats = await export_to(copy, close, ExportSpec(what="emails", page_size=PAGE))
    assert stats.finished
    rows = copy.rows("email")
    assert rows[email["id"]]["data"] == email
    assert rows[email["id"]]["date_updated"] == "not a date"  # a lifted column keeps it too
    assert rows[email["id"]]["to"] == "not a list"
    assert rows[email["id"]]["subject"] in (42, "42")  # SQLite keeps the number; PostgreSQL its JSON text
    assert len(rows) == len(by_table(fake, {"Email"})["email"])
