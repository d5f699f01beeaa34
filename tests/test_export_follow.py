"""``--follow``: after bringing the copy up to date, the export keeps applying changes.

In-process, the run is a task of the test: it is told to stop (cancelled) once the
changes made meanwhile have reached the copy. As a subprocess against the served fake,
it is interrupted with SIGINT: it exits 130 with what it applied saved.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import anyio

from closeasync import CloseAsync
from closeasync.cli import ExitCode
from closeasync.export import ExportSpec, ExportStats, async_store, run_export
from closeasync.fake import FakeClose
from tests.export_support import Copy
from tests.served import ServedFake

TO = ["Bob <bob@example.com>"]
BOUND = 30.0


def subjects(copy: Copy) -> dict[str, str]:
    """The subjects in the copy (none while the export has not made its table yet)."""
    return {ident: row["data"].get("subject") for ident, row in copy.rows("email").items()}


async def test_follow_applies_changes_made_while_it_runs(copy: Copy) -> None:
    fake = FakeClose(seed=8)
    lead = fake.add_lead("Acme")["id"]
    saves: list[ExportStats] = []
    changed = anyio.Event()
    walked = anyio.Event()

    def on_save(stats: ExportStats) -> None:
        saves.append(stats)
        if stats.walked:
            walked.set()
        if stats.updated >= 2 and stats.deleted >= 1:
            changed.set()

    async with CloseAsync(api_key=fake.api_key, transport=fake.transport()) as close:
        first = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="one")
        gone = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="two")
        store = async_store(copy.store())
        with anyio.fail_after(BOUND):
            async with anyio.create_task_group() as group:

                async def follow() -> None:
                    await run_export(
                        close,
                        ExportSpec(what="emails"),
                        store,
                        poll=0.01,
                        on_save=on_save,
                        clock=lambda: fake.now,
                    )

                group.start_soon(follow)
                await walked.wait()
                fake.advance(60)
                await close.emails.update(first, subject="edited")
                new = await close.emails.create(lead_id=lead, status="draft", to=TO, subject="new")
                await close.emails.delete(gone)
                await changed.wait()
                group.cancel_scope.cancel()
        await store.aclose()
    assert subjects(copy) == {first.id: "edited", new.id: "new"}


def test_follow_as_a_command_until_interrupted(copy: Copy) -> None:
    fake = FakeClose(seed=9)
    lead = fake.add_lead("Acme")["id"]
    with ServedFake(fake) as served:

        async def create(subject: str) -> str:
            async with CloseAsync(api_key=fake.api_key, base_url=served.base_url) as close:
                email = await close.emails.create(lead_id=lead, status="draft", to=TO, subject=subject)
                return email.id

        async def edit(ident: str) -> None:
            async with CloseAsync(api_key=fake.api_key, base_url=served.base_url) as close:
                await close.emails.update(ident, subject="edited")

        ident = asyncio.run(create("one"))
        env = {**os.environ, "CLOSE_API_KEY": fake.api_key, "CLOSE_BASE_URL": served.base_url}
        argv = [sys.executable, "-m", "closeasync", "export", "emails", *copy.args, "--follow"]
        process = subprocess.Popen([*argv, "--poll", "0.05"], env=env, stderr=subprocess.PIPE, text=True)
        try:
            with anyio.from_thread.start_blocking_portal() as portal:

                async def until(check: str) -> None:
                    with anyio.fail_after(BOUND):
                        while subjects(copy).get(ident) != check:
                            assert process.poll() is None, process.communicate()[1]
                            await anyio.sleep(0.02)  # polling the copy, bounded by fail_after

                portal.call(until, "one")
                served.call(lambda: fake.advance(60))
                asyncio.run(edit(ident))
                portal.call(until, "edited")
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=BOUND)
        finally:
            if process.poll() is None:
                process.kill()
            if process.stderr is not None and not process.stderr.closed:
                process.communicate(timeout=BOUND)  # reaps it and closes its pipe
    assert process.returncode == ExitCode.INTERRUPTED, err
    assert "interrupted" in err
    assert subjects(copy) == {ident: "edited"}
