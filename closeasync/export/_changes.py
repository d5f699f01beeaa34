"""Turning a batch of events into what the copy must do: rows to upsert, rows to delete.

An event says *that* an object changed; what it is now is asked of Close, so the copy
holds exactly what ``GET`` returns (Close may leave ``data`` out of older events, and
several events of one object in a batch collapse to its present state). Per object the
newest event of the batch decides: ``deleted`` removes it; anything else fetches it (a
404 means it is gone since: removed too), and it is kept if it still matches the
export's filters (an edit can move an activity to another lead), removed otherwise.
Requests are in proportion to the objects changed, not to the size of the copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import anyio

from .. import NotFoundError
from ..models import ACTIVITY_OBJECT_TYPES, Event, to_dict
from ._spec import ExportSpec, timestamp
from ._state import Deletion

if TYPE_CHECKING:
    from .. import CloseAsync

__all__ = ["CHANGE_FETCHES", "Changes", "Walked", "changes_of"]

#: Objects fetched at once while applying changes.
CHANGE_FETCHES = 8
#: What a run's walk by creation date covered: objects that existed when it started (the
#: second: Close's clock then), dated from the first bound (None: all) to the third (where it
#: ended: its newest item, or an interrupted walk's top). See :func:`changes_of`.
Walked = tuple["datetime | None", "datetime | None", "datetime | None"]
_TYPE_OF_OBJECT = {object_type: tag for tag, object_type in ACTIVITY_OBJECT_TYPES.items()}


class Changes:
    """What a batch of events does to the copy."""

    __slots__ = ("deletions", "upserts")

    def __init__(self) -> None:
        self.upserts: list[dict[str, Any]] = []
        self.deletions: list[Deletion] = []


async def changes_of(close: CloseAsync, spec: ExportSpec, events: Sequence[Event], walked: Walked) -> Changes:
    """The rows to upsert and delete for ``events`` (oldest first) of this export's objects.

    ``walked`` is what this run's walk by creation date covered (see :data:`Walked`): an
    object that existed when it started, dated within its bounds. An object
    whose only events are its creation and which lies within it is in the copy already;
    one dated before (a backdated import) or created later (while the walk ran, or while
    ``--follow`` runs) is fetched here.
    """
    latest: dict[str, Event] = {}
    only_created: dict[str, bool] = {}
    for event in events:
        if spec.may_concern(event) and isinstance(event.object_id, str):
            ident = event.object_id
            latest.pop(ident, None)
            latest[ident] = event  # the newest decides; insertion order = its order
            only_created[ident] = only_created.get(ident, True) and event.action == "created"
    out = Changes()
    to_fetch: list[tuple[str, str]] = []
    for object_id, event in latest.items():
        tag = _TYPE_OF_OBJECT[event.object_type]
        if only_created[object_id] and _walked(event, walked):
            continue
        if event.action == "deleted":
            out.deletions.append(Deletion(object_id, tag, _stamp(event)))
        else:
            to_fetch.append((tag, object_id))
    found: dict[str, dict[str, Any] | None] = {}
    limiter = anyio.CapacityLimiter(CHANGE_FETCHES)

    async def fetch(tag: str, object_id: str) -> None:
        async with limiter:
            try:
                model = await close.activities.get(tag, object_id)
            except NotFoundError:
                found[object_id] = None  # deleted since the event
                return
        record = to_dict(model)
        record.setdefault("_type", tag)
        found[object_id] = record

    async with anyio.create_task_group() as group:
        for tag, object_id in to_fetch:
            group.start_soon(fetch, tag, object_id)
    for tag, object_id in to_fetch:  # in the events' order, whatever order the answers came in
        record = found[object_id]
        if record is None:
            out.deletions.append(Deletion(object_id, tag, _stamp(latest[object_id])))
        elif spec.matches(record):
            out.upserts.append(record)
        elif spec.may_have_left(record):  # its lead or user changed: it is not ours any more
            out.deletions.append(Deletion(object_id, tag, None))
        # else it never was in the copy (another type, outside the dates): nothing to do
    return out


def _walked(event: Event, walked: Walked) -> bool:
    """Whether the walk listed a created object: it existed when the walk started, and its
    ``date_created`` lies within the dates the walk covered (False when it cannot be told:
    Close may leave ``data`` out)."""
    start, started, end = walked
    data = event.data if isinstance(event.data, dict) else None
    when = timestamp(data.get("date_created")) if data is not None else None
    if started is None or end is None or event.date_created is None or when is None:
        return False
    return event.date_created <= started and (start is None or when >= start) and when <= end


def _stamp(event: Event) -> str | None:
    value = to_dict(event).get("date_updated")
    return value if isinstance(value, str) else None
