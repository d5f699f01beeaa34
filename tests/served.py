"""A fake Close served over real HTTP on 127.0.0.1 from a background thread.

For tests that run the command (``cli.main`` or a subprocess): those start their own
event loop, so the server cannot share the test's. Changes to the fake (faults, new
activities) go through :meth:`ServedFake.call`, which runs them on the server's loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from closeasync.fake import FakeClose
from closeasync.fake.app import serve

T = TypeVar("T")
TIMEOUT = 30.0


class ServedFake:
    """``with ServedFake(fake) as served:`` serves ``fake`` at ``served.base_url``."""

    def __init__(self, fake: FakeClose) -> None:
        self.fake = fake
        self.base_url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="served-fake", daemon=True)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test thread by __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with serve(self.fake) as server:
            self.base_url = server.base_url
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServedFake:
        self._thread.start()
        if not self._ready.wait(TIMEOUT) or self._error is not None:
            raise RuntimeError(f"the fake did not start: {self._error!r}")
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None
        assert self._stop is not None
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(TIMEOUT)
        assert not self._thread.is_alive(), "the served fake did not stop"

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's loop (between requests) and return its result."""
        assert self._loop is not None
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(function())
            except BaseException as exc:
                future.set_exception(exc)

        self._loop.call_soon_threadsafe(run)
        result: T = future.result(TIMEOUT)
        return result
