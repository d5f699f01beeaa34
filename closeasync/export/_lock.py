"""One export at a time per output file: an advisory lock held while the store is open."""

from __future__ import annotations

from typing import IO, Any

try:
    import fcntl
except ImportError:  # Windows: no flock; concurrent exports there are not refused
    fcntl: Any = None  # type: ignore[no-redef]

from ._stores_base import StoreBusyError

__all__ = ["lock_output"]


def lock_output(file: IO[Any], name: str) -> None:
    """Hold ``file``'s advisory lock until it is closed, or refuse if another export holds it.

    ``flock`` locks are independent of SQLite's own byte-range locks, so locking a
    database file this way does not disturb SQLite.

    Raises:
        StoreBusyError: another export (another process, or another store in this one)
            is writing to the same file.
    """
    if fcntl is None:
        return
    try:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise StoreBusyError(f"another closeasync export is writing to {name}; wait for it to end") from None
