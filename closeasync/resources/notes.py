"""``close.notes``: Note activities."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Unpack

from ..models.note import Note
from ..params import NoteCreateFields, NoteUpdateFields
from ..pipeline.routes import ROUTES
from ..rules.activity_bodies import note_create_errors, note_update_errors
from ._arguments import check_keys
from ._crud import CreatableResource, Prepared

__all__ = ["NotesResource"]

_CREATE_NAMES = NoteCreateFields.__annotations__
_UPDATE_NAMES = NoteUpdateFields.__annotations__


class NotesResource(CreatableResource[Note]):
    """Note activities: free text (plain and rich) on a lead, maybe pinned, with attachments.

    >>> async def example(close):  # doctest: +SKIP
    ...     note = await close.notes.create(lead_id="lead_1", note_html="<body><p>Call back</p></body>")
    ...     note = await close.notes.update(note, pinned=True)
    ...     async for note in close.notes.list(lead_id="lead_1"):
    ...         print(note.note)
    """

    _model = Note
    _routes = ROUTES["note"]
    _update_rule = staticmethod(note_update_errors)

    async def create(self, *, lead_id: str, **fields: Unpack[NoteCreateFields]) -> Note:
        """Create a note on a lead.

        ``note_html`` (rich text in ``<body>...</body>``) or ``note`` (plain text) holds
        the text; given both, ``note_html`` wins and ``note`` becomes its plain rendering.

        Raises:
            InvalidRequestError: the input breaks one of Close's rules (nothing was sent).
            BadRequestError: Close refused it.
        """
        return await self._send_create(self._prepare(lead_id=lead_id, **fields))

    def _prepare(self, *, lead_id: str, **fields: Any) -> Prepared:
        check_keys(fields, _CREATE_NAMES, "field of a note")
        return self._prepared({"lead_id": lead_id, **fields}, note_create_errors)

    def _prepare_item(self, item: Mapping[str, Any]) -> Prepared:
        return self._prepare(**item)

    async def update(self, note: str | Note, /, **fields: Unpack[NoteUpdateFields]) -> Note:
        """Change a note (Close's PUT acts as PATCH: only the given fields change).

        Setting ``note_html`` or ``note`` rewrites the other; ``pinned=True`` pins it.

        Raises:
            InvalidRequestError: the change breaks one of Close's rules (nothing was sent).
        """
        check_keys(fields, _UPDATE_NAMES, "field of a note")
        return await self._update(note, fields)
