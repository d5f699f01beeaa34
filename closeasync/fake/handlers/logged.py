"""Notes, calls and meetings: create (notes; calls made outside Close) and update, with Close's rules.

Reads, lists and deletes of every type are :mod:`~closeasync.fake.handlers.activities`'.
Bodies are checked with :mod:`closeasync.rules.activity_bodies` (the SDK's own rules) and
the references Close checks (the lead, contact and user exist); a refusal is a 400 in
Close's field-errors shape and changes nothing. Each change is logged in the event log
once stored.

The objects are what Close's examples show: a created note has ``source`` ``api``; a logged
call ``source`` ``External``, ``call_method`` ``external``, ``status`` ``completed`` unless
given, ``cost`` ``"0"`` and the remote number from ``phone``. Rich text and plain text
follow Close's rule: setting ``note_html`` or ``note`` rewrites the other, ``note_html``
winning when both are given (the same for a meeting's ``user_note_html``/``user_note``).
What the fake cannot know it guesses plainly (the disposition from the status, an
``outbound`` direction unless given). A call's ``conversation_type_id``, ``playbook_id``,
``quality_info`` and ``custom.*`` keys are accepted and not kept: Close's Call objects
show none of them.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ...models._converter import format_datetime
from ...rules._fields import FILE_URL_PREFIX
from ...rules.activity_bodies import (
    call_create_errors,
    call_update_errors,
    meeting_update_errors,
    note_create_errors,
    note_update_errors,
)
from .._http import FakeRequest, FakeResponse, error, field_errors, ok
from .._objects import base_fields, format_phone
from ..state import FakeState
from .messages import bad_body, reference_errors

__all__ = ["KINDS", "create", "plain_text", "rich_text", "update"]

#: Route table resource -> ``_type``: the types this module creates or updates.
KINDS = {"note": "Note", "call": "Call", "meeting": "Meeting"}
_CREATE_RULES: dict[str, Callable[[Mapping[str, Any]], dict[str, str]]] = {
    "note": note_create_errors,
    "call": call_create_errors,
}
_UPDATE_RULES: dict[str, Callable[[Mapping[str, Any], Mapping[str, Any] | None], dict[str, str]]] = {
    "note": note_update_errors,
    "call": call_update_errors,
    "meeting": meeting_update_errors,
}
#: (plain key, rich key, mentions key or None, the value both take when cleared).
_TEXTS: dict[str, tuple[str, str, str | None, str | None]] = {
    "Note": ("note", "note_html", "note_mentions", ""),
    "Call": ("note", "note_html", None, ""),
    "Meeting": ("user_note", "user_note_html", "user_note_mentions", None),
}
#: Keys a body sets that are handled apart (or not kept) rather than copied onto the object.
_APART = frozenset(
    {"note", "note_html", "user_note", "user_note_html", "attachments", "pinned", "phone"}
    | {"conversation_type_id", "playbook_id", "quality_info", "organization_id"}
)
#: Keys that never hold null on the object: a null in the body leaves them as they are.
_NEVER_NULL = frozenset({"activity_at", "date_created", "duration", "status", "direction", "source"})
_DISPOSITIONS = {"completed": "answered", "no-answer": "no-answer", "busy": "busy"}
_BLOCK_END = re.compile(r"</(?:p|div|li|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_SPAN = re.compile(r"<span\b[^>]*>", re.IGNORECASE)
_DATA_ID = re.compile(r'data-id="([^"]+)"')


def plain_text(rich: str) -> str:
    """The plain rendering of Close's rich text: one line per block, tags dropped."""
    return html.unescape(_TAG.sub("", _BLOCK_END.sub("\n", rich))).strip()


def rich_text(plain: str) -> str:
    """Plain text as Close's rich text: a paragraph per line inside ``<body>``."""
    lines = plain.split("\n")
    return "<body>" + "".join(f"<p>{html.escape(line, quote=False)}</p>" for line in lines) + "</body>"


def _mentions(rich: str | None) -> list[str]:
    """The ids @-mentioned in rich text (``<span data-type="mention" data-id="...">``)."""
    found = []
    for tag in _SPAN.findall(rich or ""):
        ident = _DATA_ID.search(tag)
        if 'data-type="mention"' in tag and ident and ident[1] not in found:
            found.append(ident[1])
    return found


def _apply_text(obj: dict[str, Any], body: Mapping[str, Any]) -> None:
    plain, rich, mentions, cleared = _TEXTS[obj["_type"]]
    if body.get(rich) is not None:
        obj[rich], obj[plain] = body[rich], plain_text(body[rich])
    elif body.get(plain) is not None:
        obj[plain], obj[rich] = body[plain], rich_text(body[plain])
    elif rich in body or plain in body:
        obj[plain] = obj[rich] = cleared
    else:
        return
    if mentions is not None:
        obj[mentions] = _mentions(obj[rich])


def _attachments(state: FakeState, obj: dict[str, Any], given: list[Any] | None) -> list[dict[str, Any]]:
    """Attachments as Close keeps them: moved to the note's own (persisted) place."""
    kept = {a["url"]: a for a in obj.get("attachments") or []}
    out = []
    for item in given or []:
        if item["url"] in kept:  # one the note already holds (sent back as read)
            out.append(kept[item["url"]])
            continue
        name = item["filename"]
        place = f"persisted/{obj['organization_id']}/activity.note/{obj['id']}/{state.ids.new('file')}"
        url = f"{FILE_URL_PREFIX}{place}/{quote(name)}/"
        image = str(item.get("content_type") or "").startswith("image/")
        thumbnail = f"{url}thumbnail/" if image else None
        out.append(
            {
                "content_type": item.get("content_type"),
                "filename": name,
                "size": None,
                "thumbnail_url": thumbnail,
                "url": url,
            }
        )
    return out


def _apply(state: FakeState, obj: dict[str, Any], body: Mapping[str, Any], *, now: str) -> None:
    """Set what ``body`` says on ``obj`` (a new or a stored object), by Close's rules."""
    for key, value in body.items():
        if key in _APART or key.startswith("custom.") or (value is None and key in _NEVER_NULL):
            continue
        obj[key] = value
    for key, name in (("user_id", "user_name"), ("created_by", "created_by_name")):
        if key in body:
            named = state.users.get(body[key] or "")
            obj[name] = named["name"] if named else None
    _apply_text(obj, body)
    kind = obj["_type"]
    if kind == "Note":
        if "attachments" in body:
            obj["attachments"] = _attachments(state, obj, body["attachments"])
        if body.get("pinned") is not None and body["pinned"] != obj.get("pinned"):
            obj["pinned"] = body["pinned"]
            obj["pinned_at"] = now if body["pinned"] else None
    elif kind == "Call":
        if body.get("status") is not None:
            obj["disposition"] = _DISPOSITIONS.get(body["status"])
        if "phone" in body:
            obj["phone"] = obj["remote_phone"] = body["phone"]
            obj["remote_phone_formatted"], obj["remote_country_iso"] = format_phone(body["phone"])
    elif kind == "Meeting" and ("user_note_html" in body or "user_note" in body):
        obj["user_note_date_updated"] = now


def _new_object(state: FakeState, kind: str, body: Mapping[str, Any]) -> dict[str, Any]:
    user = state.user_for(body.get("user_id"))
    now = state.now()
    obj = base_fields(
        kind=KINDS[kind],
        ident=state.ids.new("acti"),
        org=state.organization_id,
        user=user,
        now=now,
        lead_id=body.get("lead_id"),
    )
    if kind == "note":
        obj |= {"title": None, "note": "", "note_html": "", "note_mentions": [], "attachments": []}
        obj |= {"pinned": False, "pinned_at": None, "source": "api"}
    else:
        status = body.get("status") or "completed"
        source = body.get("source") or "External"
        obj |= {
            "status": status,
            "source": source,
            "direction": body.get("direction") or "outbound",
            "call_method": "external" if source == "External" else "regular",
            "disposition": _DISPOSITIONS.get(status),
            "duration": 0,
            "cost": "0",
            "note": "",
            "note_html": rich_text(""),
        }
        obj |= dict.fromkeys(("phone", "outcome_id", "recording_url", "voicemail_url", "voicemail_duration"))
        obj |= dict.fromkeys(("local_phone", "local_phone_formatted", "local_country_iso", "remote_phone"))
        obj |= dict.fromkeys(("remote_phone_formatted", "remote_country_iso", "dialer_id"))
        obj |= dict.fromkeys(("dialer_saved_search_id", "sequence_id", "sequence_name"))
        obj["sequence_subscription_id"] = None
    _apply(state, obj, body, now=format_datetime(now))
    return obj


def create(state: FakeState, kind: str, request: FakeRequest) -> FakeResponse:
    """``POST /activity/note/`` and ``POST /activity/call/``."""
    body = request.body
    if (bad := bad_body(body)) is not None:
        return bad
    problems = _CREATE_RULES[kind](body) or reference_errors(state, body)
    if problems:
        return field_errors(problems)
    obj = _new_object(state, kind, body)
    state.activities[obj["id"]] = obj
    state.events.created(obj)
    return ok(obj)


def update(state: FakeState, kind: str, ident: str, request: FakeRequest) -> FakeResponse:
    """``PUT /activity/{note,call,meeting}/{id}/`` (PUT acts as PATCH)."""
    obj = state.activities.get(ident)
    if obj is None or obj["_type"] != KINDS[kind]:
        return error(404, f"{KINDS[kind]} not found")
    body = request.body
    if (bad := bad_body(body)) is not None:
        return bad
    problems = _UPDATE_RULES[kind](body, obj) or reference_errors(state, body)
    if problems:
        return field_errors(problems)
    before = dict(obj)  # top-level values are replaced below, never changed in place
    stamp = format_datetime(state.now())
    _apply(state, obj, body, now=stamp)
    user = state.user_for(None)
    obj.update(date_updated=stamp, updated_by=user["id"], updated_by_name=user["name"])
    state.events.updated(before, obj)
    return ok(obj)
