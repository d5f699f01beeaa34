"""``GET /event/`` and ``GET /event/{id}/``: the event log, read the way Close pages it.

Events are listed newest first by ``date_updated``; events with the same ``date_updated``
(changes of several objects under a frozen clock; one object's are a microsecond apart at
least) come latest change first. Paging is by cursor: ``cursor_next`` names the last event of a page by its
place in that order, and the next page holds the events strictly after it, so a walk over
an unchanging log gives every event exactly once. ``cursor_previous`` names the first, for
the events before it (newer). Close asks for the same filters with a cursor (the date
bounds may be left out); the fake applies whatever filters come with it. The filters are
checked by the rules the SDK uses (:func:`closeasync.rules.events.event_list_errors`):
Close's supported combinations only, ``_limit`` of at most 50, no ``_skip``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from ...rules.events import DATE_FILTERS, EVENT_FILTERS, MAX_EVENT_LIMIT, event_list_errors
from ...rules.filters import parse_filter_time
from .._http import FakeRequest, FakeResponse, error, field_errors, ok
from ..events import LoggedEvent
from ..state import FakeState
from .listing import project

__all__ = ["get_event", "list_events"]

Position = tuple[datetime, int]
_OPS: dict[str, Callable[[datetime, datetime], bool]] = {
    "gt": datetime.__gt__,
    "gte": datetime.__ge__,
    "lt": datetime.__lt__,
    "lte": datetime.__le__,
}


def encode_cursor(direction: str, position: Position) -> str:
    """An opaque cursor: ``n`` (older than) or ``p`` (newer than) an event's place."""
    at, seq = position
    raw = f"{direction}|{at.isoformat()}|{seq}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[str, Position]:
    """Read a cursor made by :func:`encode_cursor`.

    Raises:
        ValueError: not one.
    """
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError(cursor) from exc
    direction, _, rest = raw.partition("|")
    stamp, _, seq = rest.partition("|")
    if direction not in ("n", "p") or not seq.isdigit():
        raise ValueError(cursor)
    at = datetime.fromisoformat(stamp)
    if at.tzinfo is None:
        raise ValueError(cursor)
    return direction, (at, int(seq))


def _int(raw: str | None) -> int | str | None:
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        return "Input should be a valid integer"


def _problems(query: Mapping[str, str]) -> tuple[dict[str, str], int, list[tuple[str, datetime]]]:
    """Field errors of the query, the page size, and the date bounds."""
    problems: dict[str, str] = {}
    limit, skip = _int(query.get("_limit")), _int(query.get("_skip"))
    for name, value in (("_limit", limit), ("_skip", skip)):
        if isinstance(value, str):
            problems[name] = value
    problems.update(
        event_list_errors(
            set(query),
            limit=limit if isinstance(limit, int) else None,
            skip=skip if isinstance(skip, int) else None,
        )
    )
    bounds: list[tuple[str, datetime]] = []
    for name in DATE_FILTERS:
        if name in query:
            try:
                # Close's event timestamps are UTC: a bound without an offset is read as UTC.
                bounds.append((name.rpartition("__")[2], parse_filter_time(query[name], 0.0)))
            except (ValueError, OverflowError):
                problems[name] = "Enter a valid date or date/time."
    return problems, limit if isinstance(limit, int) else MAX_EVENT_LIMIT, bounds


def _matcher(query: Mapping[str, str], bounds: list[tuple[str, datetime]]) -> Callable[[LoggedEvent], bool]:
    wanted = [(name, query[name]) for name in EVENT_FILTERS if name in query]
    compare = [(_OPS[op], bound) for op, bound in bounds]

    def matches(entry: LoggedEvent) -> bool:
        event = entry.event
        return all(event.get(name) == value for name, value in wanted) and all(
            op(entry.at, bound) for op, bound in compare
        )

    return matches


def _projector(query: Mapping[str, str]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    fields = [f for f in query.get("_fields", "").split(",") if f]
    if not fields:
        return lambda event: event
    return lambda event: {f: event[f] for f in fields if f in event}


def list_events(state: FakeState, request: FakeRequest) -> FakeResponse:
    """``GET /event/``: filters, newest first, ``_cursor``/``_limit``, ``_fields``."""
    query = request.query
    problems, limit, bounds = _problems(query)
    direction, position = "n", None
    if query.get("_cursor"):
        try:
            direction, position = decode_cursor(query["_cursor"])
        except ValueError:
            problems["_cursor"] = "Invalid cursor."
    if problems:
        return field_errors(problems)
    matches = _matcher(query, bounds)
    selected = [entry for entry in state.events.entries() if matches(entry)]  # newest first
    if position is None:
        page = selected[:limit]
    elif direction == "n":
        page = [entry for entry in selected if entry.key < position][:limit]
    else:  # the newer events just before the cursor's, still newest first
        page = [entry for entry in selected if entry.key > position][-limit:]
    return _answer(query, page, selected)


def _answer(query: Mapping[str, str], page: list[LoggedEvent], selected: list[LoggedEvent]) -> FakeResponse:
    """The page, with a cursor each way when there are events that way (else null)."""
    older = bool(page) and selected[-1].key < page[-1].key
    newer = bool(page) and selected[0].key > page[0].key
    projector = _projector(query)
    return ok(
        {
            "data": [projector(entry.event) for entry in page],
            "cursor_next": encode_cursor("n", page[-1].key) if older else None,
            "cursor_previous": encode_cursor("p", page[0].key) if newer else None,
        }
    )


def get_event(state: FakeState, ident: str, request: FakeRequest) -> FakeResponse:
    """``GET /event/{id}/`` (with ``_fields``); 404 once older than Close keeps."""
    event = state.events.get(ident)
    if event is None:
        return error(404, "Event not found")
    return project(event, request.query)
