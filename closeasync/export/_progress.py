"""The progress line of an export: items, pages, rate, rate-limit waits; and its summary."""

from __future__ import annotations

import time
from typing import TextIO

from ._runner import ExportStats

__all__ = ["Progress", "summary"]


def _status(stats: ExportStats) -> str:
    parts = [
        f"{stats.items:,} items",
        f"{stats.pages:,} pages",
        f"{stats.rate:,.0f}/s",
        f"rate-limit waits {stats.rate_limit_waits} ({stats.waited:.1f} s)",
    ]
    if stats.retries:
        parts.append(f"retries {stats.retries}")
    if stats.events:
        parts.append(
            f"changes: {stats.events:,} events, {stats.updated:,} updated, {stats.deleted:,} deleted"
        )
    parts.append(f"saved {stats.saved:,}")
    return " | ".join(parts)


class Progress:
    """Shows an export's progress on ``stream`` (standard error).

    On a terminal it redraws one line in place, at most ``1/refresh`` times a second.
    Elsewhere (a log file, a pipe) it writes a line after the first save and then at
    most one every ``interval`` seconds, so logs stay short. The first save that counts
    rows is always shown, even right after a line drawn for a wait.
    """

    def __init__(
        self, stream: TextIO, *, terminal: bool, interval: float = 5.0, refresh: float = 0.1
    ) -> None:
        self._stream = stream
        self._terminal = terminal
        self._every = refresh if terminal else interval
        self._last = -float("inf")
        self._drawn = False
        self._shown_saved = False

    def update(self, stats: ExportStats) -> None:
        """Called after every save (and during waits); draws when it is time to."""
        now = time.monotonic()
        first_rows = stats.saved > 0 and not self._shown_saved
        if now - self._last < self._every and not first_rows:
            return
        self._last = now
        self._shown_saved = self._shown_saved or stats.saved > 0
        self._draw(stats)

    def _draw(self, stats: ExportStats) -> None:
        if self._terminal:
            self._stream.write("\r" + _status(stats) + "\x1b[K")
            self._drawn = True
        else:
            self._stream.write(_status(stats) + "\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        """A message on a line of its own (a retry, say), clearing a redrawn line first."""
        if self._terminal and self._drawn:
            self._stream.write("\r\x1b[K")
            self._drawn = False
            self._last = -float("inf")  # redraw the progress at the next update
        self._stream.write(text + "\n")
        self._stream.flush()

    def done(self, stats: ExportStats) -> None:
        """The last state, ending the redrawn line."""
        self._draw(stats)
        if self._terminal and self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def summary(stats: ExportStats, what: str, target: str) -> list[str]:
    """The lines that end an export, e.g. ``Exported 1,234 emails to out.sqlite in 2.0 s ...``."""
    if stats.finished:
        done = f"Exported {stats.items:,} {what} to {target}"
    else:
        done = f"Stopped after {stats.items:,} {what} ({stats.saved:,} saved to {target})"
    lines = [f"{done} in {stats.seconds:.2f} s ({stats.rate:,.0f}/s, {stats.pages:,} pages)"]
    if len(stats.by_type) > 1:  # one type says nothing the first line does not
        lines.append("by type: " + ", ".join(f"{name} {n:,}" for name, n in sorted(stats.by_type.items())))
    lines.append(
        f"rate-limit waits: {stats.rate_limit_waits} ({stats.waited:.1f} s); retries: {stats.retries}"
    )
    if stats.events or stats.updated or stats.deleted:
        lines.append(
            f"changes: {stats.events:,} events read, {stats.updated:,} rows updated, "
            f"{stats.deleted:,} removed"
        )
    if stats.changes_from_now:
        lines.append(
            "this copy was made before exports followed changes: edits and deletions are followed "
            "from this run on (a new full export picks up what changed before)"
        )
    if stats.resumed_from is not None:
        point = stats.resumed_from
        where = "an interrupted export" if point.in_progress else f"the last export (up to {point.watermark})"
        lines.append(f"resumed from {where}")
    return lines
