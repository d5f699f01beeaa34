"""JSON Lines stores: a file that can be resumed, and standard output.

A store saves a batch of rows *together with* the sync cursor that covers them, so
what is saved and where to resume can never disagree: a run killed between two saves
loses only the unsaved batch, and the next run fetches exactly that batch again.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import orjson

from .. import InvalidRequestError, SyncCursor
from ._lock import lock_output
from ._state import Deletion, ExportState
from ._stores_base import Store, StoreBusyError, StoreError

__all__ = ["JsonLinesStore", "Store", "StoreBusyError", "StoreError", "StreamStore"]

_STATE_VERSION = 3
#: Earlier state files hold a bare SyncCursor under "cursor" (read as a walk without a change feed).
_READABLE_VERSIONS = (2, _STATE_VERSION)


def _lines(records: Sequence[Mapping[str, Any]], deletions: Sequence[Deletion] = ()) -> bytes:
    """One JSON object per line: each record, then each deletion as ``{"_deleted": true, ...}``.

    A reader replays the file in order: a line with ``"_deleted": true`` removes the object
    with that ``id``; any other line adds the object, or replaces the one with its ``id``.
    """
    lines = [orjson.dumps(record) + b"\n" for record in records]
    lines += [
        orjson.dumps({"_deleted": True, "id": d.id, "_type": d.type, "deleted_at": d.deleted_at}) + b"\n"
        for d in deletions
    ]
    return b"".join(lines)


class JsonLinesStore:
    """One JSON object per line, in a file; the resume point in ``<file>.state.json``.

    Every save goes back to the end of the last save, appends the batch, flushes it,
    then replaces the state file (written aside, then renamed) with the cursor and the
    file's length. Resuming first cuts the file back to that length, dropping any line
    a killed run wrote after its last save: those items are fetched again, so none is
    lost or doubled. The file is opened (and with ``overwrite`` emptied) only at the
    first save, so a run that fails before fetching anything leaves it as it was.

    Args:
        path: the ``.jsonl`` file.
        resume: go on from the saved state (the file is kept, cut back to the state).
        overwrite: start again, replacing an existing file (without it an existing
            file is refused, so an export never clobbers data by accident).

    Raises:
        StoreError: the file exists and neither ``resume`` nor ``overwrite`` says what
            to do with it, or it does not match its resume state.
    """

    def __init__(self, path: str | os.PathLike[str], *, resume: bool, overwrite: bool = False) -> None:
        self.path = Path(path)
        self.state_path = self.path.with_name(self.path.name + ".state.json")
        if resume and overwrite:
            raise StoreError("resume and overwrite exclude each other")
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder; give a file name such as {self.path / 'close.jsonl'}")
        self._state = self._read_state() if resume else None
        size = self.path.stat().st_size if self.path.exists() else 0
        if self._state is None and size and not overwrite:
            if resume:
                raise StoreError(
                    f"{self.path} has no resume state ({self.state_path.name} is missing): it was not "
                    "written by closeasync export; use --overwrite to start it again"
                )
            raise StoreError(f"{self.path} exists; pass --since-last to add what is new, or --overwrite")
        if self._state is not None:
            if not self.path.exists():
                raise StoreError(
                    f"{self.path} is gone but its resume state is not; use --overwrite to restart"
                )
            if size < self._state["offset"]:
                raise StoreError(
                    f"{self.path} is shorter than its resume state says (changed outside closeasync?); "
                    "use --overwrite to start again"
                )
        self._offset: int = self._state["offset"] if self._state is not None else 0
        self._file: IO[bytes] | None = None

    def _read_state(self) -> dict[str, Any] | None:
        try:
            state = orjson.loads(self.state_path.read_bytes())
        except FileNotFoundError:
            return None
        except orjson.JSONDecodeError:
            raise StoreError(
                f"{self.state_path} is damaged (not JSON); use --overwrite to start again"
            ) from None
        if (
            not isinstance(state, dict)
            or state.get("version") not in _READABLE_VERSIONS
            or not isinstance(state.get("offset"), int)
            or not isinstance(state.get("key"), str)
        ):
            raise StoreError(f"{self.state_path} was not written by this version of closeasync")
        return state

    def saved_state(self, key: str) -> ExportState | None:
        if self._state is None:
            return None
        if self._state["key"] != key:
            raise StoreError(
                f"{self.path} holds another export ({self._state['key']}); give the same listing, "
                "filters and dates, or another file"
            )
        saved = self._state.get("state", self._state.get("cursor"))
        try:
            return ExportState.from_dict(saved) if isinstance(saved, dict) else None
        except InvalidRequestError:
            raise StoreError(f"{self.state_path} holds no readable resume point; use --overwrite") from None

    def _opened(self) -> IO[bytes]:
        if self._file is None:
            # Opened without emptying it: another export may hold it, and must find it whole
            # when the lock refuses us. A new export empties it only once the lock is ours.
            file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666), "r+b")
            try:
                lock_output(file, str(self.path))
                if self._state is None:
                    # The old resume state goes first: killed right after, a resume must not
                    # cut the new file to the old one's length and go on from its cursor.
                    self.state_path.unlink(missing_ok=True)
                    file.truncate(0)
            except BaseException:
                file.close()
                raise
            self._file = file
        return self._file

    def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        file = self._opened()
        # Back to the end of the last save: a save that failed halfway leaves nothing behind.
        file.seek(self._offset)
        file.truncate()
        file.write(_lines(records, deletions))
        file.flush()
        saved = {
            "version": _STATE_VERSION,
            "key": key,
            "offset": file.tell(),
            "state": ExportState.of(state).to_dict(),
        }
        aside = self.state_path.with_name(self.state_path.name + ".tmp")
        aside.write_bytes(orjson.dumps(saved))
        os.replace(aside, self.state_path)
        self._state, self._offset = saved, file.tell()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()


class StreamStore:
    """JSON Lines to an open stream (``--to -``: standard output); nothing to resume from."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def saved_state(self, key: str) -> ExportState | None:
        return None

    def save(
        self,
        records: Sequence[Mapping[str, Any]],
        state: ExportState | SyncCursor,
        key: str,
        deletions: Sequence[Deletion] = (),
    ) -> None:
        self._stream.write(_lines(records, deletions))
        self._stream.flush()

    def close(self) -> None:
        self._stream.flush()
