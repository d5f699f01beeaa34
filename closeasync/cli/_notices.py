"""What the commands say while the client retries or waits, so a slow failure is not silent.

Without it, a host that cannot be reached gives seconds of silence (every retry's
backoff) before the error; with it, each retry is told as it starts::

    closeasync export: cannot reach http://127.0.0.1:1/api/v1: connection refused;
    retrying in 0.8 s (attempt 2 of 4)
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .. import RequestEvent

__all__ = ["LONG_WAIT", "RetryNotices", "reason"]

#: A retry after a 429 that pauses at least this long (seconds) is told; shorter ones are
#: routine pacing, counted by the export's progress line and summary.
LONG_WAIT = 5.0

_ERRNO = re.compile(r"\[Errno (?P<number>\d+)\]")


def reason(message: str | None) -> str:
    """A plain reason from an event's ``message``: an OS error number named as the OS names it.

    >>> reason("could not connect: [Errno 111] Connect call failed ('127.0.0.1', 1)")
    'connection refused'
    >>> reason("timed out connecting (ConnectionTimeoutError)")
    'timed out connecting (ConnectionTimeoutError)'
    """
    if not message:
        return "no answer"
    number = _ERRNO.search(message)
    if number is not None:  # os.strerror's "Connection refused" says it better than asyncio's text
        return os.strerror(int(number["number"])).lower()
    return message


class RetryNotices:
    """An ``on_event`` hook that tells each retry (but short 429 pauses) through ``say``.

    ``secret`` (the API key) is blanked from anything said, should an error text ever hold it.
    """

    def __init__(self, base_url: str, attempts: int, say: Callable[[str], None], *, secret: str) -> None:
        self._base_url = base_url
        self._attempts = attempts
        self._say = say
        self._secret = secret

    def on_event(self, event: RequestEvent) -> None:
        text = self.describe(event)
        if text is not None:
            self._say(text.replace(self._secret, "[API key]") if self._secret else text)

    def describe(self, event: RequestEvent) -> str | None:
        """What to say about ``event`` (None: nothing worth a line)."""
        # Only retries: they are told before their pause. A "wait" event comes after its
        # wait is over, too late to explain a silence; the export's progress line counts those.
        if event.kind != "retry":
            return None
        then = f"retrying in {event.delay:.1f} s (attempt {event.attempt + 1} of {self._attempts})"
        if event.status is None:  # no answer at all: the connection failed or was lost
            return f"cannot reach {self._base_url}: {reason(event.message)}; {then}"
        if event.status == 429:
            if event.delay < LONG_WAIT:
                return None
            return f"Close's rate limit refused {event.group} (HTTP 429); {then}"
        return f"Close answered HTTP {event.status} to {event.group}; {then}"
