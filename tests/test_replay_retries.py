"""Recorded 429s and the client's own retries replay at once, with the same results."""

from __future__ import annotations

from pathlib import Path

import anyio

from closeasync import CloseAsync
from closeasync.fake import FakeClose
from closeasync.fake.app import serve
from closeasync.transports import AiohttpTransport
from closeasync.transports.replay import RecordingTransport, ReplayTransport

GET_EMAIL = "GET /activity/email/{id}/"


async def test_automatic_retries_after_429_replay_without_waiting(tmp_path: Path) -> None:
    """Recording waits out real 429s (the client retries by itself); replay does not wait at all."""
    path = tmp_path / "retries.json"
    fake = FakeClose(seed=5)
    lead = fake.add_lead("Waits Ltd")
    events: list[str] = []
    async with serve(fake) as server:
        setup = CloseAsync(api_key=fake.api_key, transport=fake.transport())
        email = await setup.emails.create(lead_id=lead["id"], status="draft", subject="Hello")
        fake.rate_limits.set(GET_EMAIL, budget=2, window=0.3)
        recorder = RecordingTransport(AiohttpTransport(), path)
        # Pacing off, so the client really meets the 429s and retries them.
        close = CloseAsync(
            api_key=fake.api_key,
            base_url=server.base_url,
            transport=recorder,
            pace_rate_limits=False,
            on_event=lambda e: events.append(e.kind),
        )
        with anyio.fail_after(10):
            async with close:
                recorded = [await close.emails.get(email.id) for _ in range(6)]
    assert fake.rate_limits.rejected >= 1  # Close (the fake) refused some, and the client retried them
    assert events.count("retry") == fake.rate_limits.rejected
    assert all(r == recorded[0] for r in recorded)

    replay_events: list[str] = []
    replay = CloseAsync(
        api_key=fake.api_key,
        base_url=server.base_url,
        transport=ReplayTransport(path, allow_unused=False),
        pace_rate_limits=False,
        on_event=lambda e: replay_events.append(e.kind),
    )
    with anyio.fail_after(0.25):  # far less than one real 429 window: nothing sleeps
        async with replay:
            replayed = [await replay.emails.get(email.id) for _ in range(6)]
    assert replayed == recorded
    assert replay_events.count("retry") == events.count("retry")
