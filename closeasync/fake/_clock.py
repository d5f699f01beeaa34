"""The fake's clock: frozen and moved by hand in tests, or following real time when served."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

__all__ = ["DEFAULT_START", "FakeClock"]

#: Where a frozen clock starts unless told otherwise.
DEFAULT_START = datetime(2026, 1, 5, 9, 0, 0, tzinfo=UTC)


class FakeClock:
    """A clock that only moves when :meth:`advance` is called, unless ``realtime``.

    A realtime clock starts at ``start`` and runs with the wall clock (plus anything
    advanced), which is what a served demo wants.
    """

    def __init__(self, start: datetime = DEFAULT_START, *, realtime: bool = False) -> None:
        if start.tzinfo is None:
            raise ValueError("the fake clock needs a timezone-aware start")
        self._start = start
        self._realtime = realtime
        self._origin = time.monotonic()
        self._offset = timedelta()

    def now(self) -> datetime:
        """The current fake time (timezone-aware, UTC)."""
        elapsed = timedelta(seconds=time.monotonic() - self._origin) if self._realtime else timedelta()
        return (self._start + elapsed + self._offset).astimezone(UTC)

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward and return the new time."""
        if seconds < 0:
            raise ValueError("the fake clock only moves forward")
        self._offset += timedelta(seconds=seconds)
        return self.now()

    def reset(self) -> None:
        """Go back to the start."""
        self._origin = time.monotonic()
        self._offset = timedelta()
