"""Where an export writes: the store protocol, and JSON Lines files.

A store saves a batch of rows *together with* the sync cursor that covers them, so
what is saved and where to resume can never disagree: a run killed between two saves
loses only the unsaved batch, and the next run fetches exactly that batch again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any, Protocol

import orjson

from ..errors import InvalidRequestError
from ..sync import SyncCursor

__all__ = ["JsonLinesStore", "Store", "StoreError", "StreamStore"]

_STATE_VERSION = 1


class StoreError(Exception):
    """The output cannot be used as asked (exists without resume, another export's file...)."""


class Store(Protocol):
    """What an export writes to (see :class:`SQLiteStore` and :class:`JsonLinesStore`)."""

    def saved_cursor(self, scope: str) -> SyncCursor | None:
        """The resume point saved for ``scope`` (None: nothing exported there yet)."""
        ...

    def save(self, records: Sequence[Mapping[str, Any]], cursor: SyncCursor) -> None:
        """Write ``records`` (upsert by ``id``) and ``cursor`` as one unit."""
        ...

    def close(self) -> None:
        """Release the output (everything saved is already durable)."""
        ...


class JsonLinesStore:
    """One JSON object per line, in a file; the resume point in ``<file>.state.json``.

    Every save appends the batch, flushes it, then replaces the state file (written
    aside, then renamed) with the cursor and the file's length. Resuming first cuts the
    file back to the length the state recorded, dropping any line a killed run wrote
    after its last save: those items are fetched again, so none is lost or doubled.

    Args:
        path: the ``.jsonl`` file.
        resume: go on from the saved state (the file is kept, cut back to the state).
        overwrite: start again, emptying an existing file (without it an existing
            file is refused, so an export never clobbers data by accident).
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".state.json")
        self._state = self._read_state() if resume else None
        exists = self.path.exists() and self.path.stat().st_size > 0
        if resume and exists and self._state is None:
            raise StoreError(
                f"{self.path} has no resume state ({self.state_path.name} is missing): "
                "it was not written by closeasync export; use --overwrite to start it again"
            )
        if self._state is not None and not self.path.exists():
            raise StoreError(f"{self.path} is gone but its resume state is not; use --overwrite to restart")
        if not resume and exists and not overwrite:
            raise StoreError(f"{self.path} exists; pass --since-last to add what is new, or --overwrite")
        self._file: IO[bytes] = open(self.path, "r+b" if self._state is not None else "wb")  # noqa: SIM115
        if self._state is not None:
            self._file.truncate(int(self._state["offset"]))
            self._file.seek(0, os.SEEK_END)
        elif self.state_path.exists():
            self.state_path.unlink()

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError:
            raise StoreError(
                f"{self.state_path} is damaged (not JSON); use --overwrite to start again"
            ) from None
        if not isinstance(state, dict) or state.get("version") != _STATE_VERSION:
            raise StoreError(f"{self.state_path} was not written by this version of closeasync")
        return state

    def saved_cursor(self, scope: str) -> SyncCursor | None:
        if self._state is None:
            return None
        cursor = self._state.get("cursor")
        try:
            loaded = SyncCursor.from_dict(cursor) if isinstance(cursor, dict) else None
        except InvalidRequestError:
            loaded = None
        if loaded is None:
            raise StoreError(f"{self.state_path} holds no readable resume point; use --overwrite")
        if loaded.scope != scope:
            raise StoreError(
                f"{self.path} holds another export ({loaded.scope}); give the same listing and "
                "filters, or another file"
            )
        return loaded

    def save(self, records: Sequence[Mapping[str, Any]], cursor: SyncCursor) -> None:
        self._file.write(b"".join(orjson.dumps(record) + b"\n" for record in records))
        self._file.flush()
        state = {"version": _STATE_VERSION, "offset": self._file.tell(), "cursor": cursor.to_dict()}
        aside = self.state_path.with_name(self.state_path.name + ".tmp")
        aside.write_bytes(orjson.dumps(state))
        os.replace(aside, self.state_path)
        self._state = state

    def close(self) -> None:
        self._file.close()


class StreamStore:
    """JSON Lines to an open stream (``--to -``: standard output); nothing to resume from."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def saved_cursor(self, scope: str) -> SyncCursor | None:
        return None

    def save(self, records: Sequence[Mapping[str, Any]], cursor: SyncCursor) -> None:
        self._stream.write(b"".join(orjson.dumps(record) + b"\n" for record in records))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
