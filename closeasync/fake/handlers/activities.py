"""Every activity type's read endpoints, email threads, and the all-activities list.

Email threads are not stored: like Close's, they are views over the emails that
share a ``thread_id``, built when asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from ...rules.activities import activity_list_errors
from .._http import FakeRequest, FakeResponse, error, ok
from ..state import FakeState
from .listing import COMMON_PARAMS, ListRules, list_objects, project

__all__ = ["delete", "get", "list_all", "list_type", "stripped", "threads"]

ALL_ACTIVITY_PARAMS = COMMON_PARAMS | {
    "lead_id__in",
    "user_id__in",
    "contact_id__in",
    "_type__in",
    "thread_emails",
}
_BODY_FIELDS = ("body_text", "body_html", "body_text_quoted", "body_html_quoted")
_SUBJECT_PREFIX = re.compile(r"^\s*((re|fwd?|aw)\s*:\s*)+", re.IGNORECASE)


def stripped(email: Mapping[str, Any]) -> dict[str, Any]:
    """The stripped-down Email Close shows inside threads: no bodies, only the preview."""
    return {k: v for k, v in email.items() if k not in _BODY_FIELDS}


def _thread(thread_id: str, emails: list[dict[str, Any]]) -> dict[str, Any]:
    emails.sort(key=lambda e: (e["date_created"], e["id"]))
    first, last = emails[0], emails[-1]
    participants: dict[str, dict[str, Any]] = {}
    for email in emails:
        for identity in (email.get("envelope") or {}).get("from", []):
            participants.setdefault(identity["email"], identity)
    users = sorted({e["user_id"] for e in emails if e.get("user_id")})
    return {
        "_type": "EmailThread",
        "id": thread_id,
        "organization_id": first["organization_id"],
        "lead_id": first["lead_id"],
        "contact_id": first.get("contact_id"),
        "user_id": first.get("user_id"),
        "user_name": first.get("user_name"),
        "users": users,
        "created_by": first.get("created_by"),
        "created_by_name": first.get("created_by_name"),
        "updated_by": last.get("updated_by"),
        "updated_by_name": last.get("updated_by_name"),
        "date_created": first["date_created"],
        "date_updated": max(e["date_updated"] for e in emails),
        "activity_at": last.get("activity_at"),
        "emails": [stripped(e) for e in emails],
        "latest_normalized_subject": _SUBJECT_PREFIX.sub("", last.get("subject") or ""),
        "n_emails": len(emails),
        "participants": list(participants.values()),
    }


def threads(state: FakeState) -> dict[str, dict[str, Any]]:
    """Every email thread, by id."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for email in state.of_type("Email"):
        grouped.setdefault(email.get("thread_id") or email["id"], []).append(email)
    return {tid: _thread(tid, emails) for tid, emails in grouped.items()}


def _objects_of(state: FakeState, type_name: str) -> Iterator[dict[str, Any]]:
    if type_name == "EmailThread":
        return iter(threads(state).values())
    return state.of_type(type_name)


def list_type(state: FakeState, type_name: str, request: FakeRequest, rules: ListRules) -> FakeResponse:
    """``GET /activity/<type>/``."""
    return list_objects(
        _objects_of(state, type_name),
        request.query,
        allowed=COMMON_PARAMS,
        rules=rules,
        tz_offset=_tz(request),
    )


def get(state: FakeState, type_name: str, ident: str, request: FakeRequest) -> FakeResponse:
    """``GET /activity/<type>/{id}/``."""
    found = threads(state).get(ident) if type_name == "EmailThread" else state.activities.get(ident)
    if found is None or found["_type"] != type_name:
        return error(404, f"{type_name} not found")
    return project(found, request.query)


def delete(state: FakeState, type_name: str, ident: str) -> FakeResponse:
    """``DELETE /activity/<type>/{id}/``; deleting a thread deletes its emails (an event each)."""
    if type_name == "EmailThread":
        thread = threads(state).get(ident)
        if thread is None:
            return error(404, "EmailThread not found")
        for email in thread["emails"]:
            deleted = state.activities.pop(email["id"], None)
            state.pending.pop(email["id"], None)
            if deleted is not None:  # threads are views: their emails' events are the log's
                state.events.deleted(deleted)
        return ok({})
    found = state.activities.get(ident)
    if found is None or found["_type"] != type_name:
        return error(404, f"{type_name} not found")
    del state.activities[ident]
    state.events.deleted(found)
    return ok({})


def _tz(request: FakeRequest) -> float:
    try:
        return float(request.headers.get("x-tz-offset", "0"))
    except ValueError:
        return 0.0


def list_all(state: FakeState, request: FakeRequest, rules: ListRules) -> FakeResponse:
    """``GET /activity/``: every type, with Close's single-lead and ordering rules."""
    query = request.query
    mode = query.get("thread_emails")
    problems = activity_list_errors(
        set(query),
        single_lead="lead_id" in query and "," not in query["lead_id"],
        order_by=query.get("_order_by"),
        thread_emails=mode,
    )
    objects: list[dict[str, Any]] = []
    for activity in state.of_type():
        # thread_emails changes how emails are shown (whole, stripped, or only as threads);
        # every other type is listed as usual.
        if activity["_type"] != "Email" or mode is None:
            objects.append(activity)
        elif mode == "true":
            objects.append(stripped(activity))
    if mode in ("true", "only"):
        objects.extend(threads(state).values())
    return list_objects(
        objects,
        query,
        allowed=ALL_ACTIVITY_PARAMS,
        rules=rules,
        tz_offset=_tz(request),
        extra_errors=problems,
    )
