"""Webhook subscriptions: ``/webhook/`` list, get, create, update, delete.

The answer to the create (201) is the only one holding ``signature_key``, as in Close.
Bodies are checked by :mod:`closeasync.rules.webhooks`; beyond Close's rules the fake
refuses an ``extra_filter`` it would have to evaluate (it delivers on ``object_type`` and
``action`` alone, so accepting one would deliver events Close would filter out).
"""

from __future__ import annotations

from typing import Any

from ...rules.webhooks import MAX_SUBSCRIPTIONS, webhook_create_errors, webhook_update_errors
from .._http import FakeRequest, FakeResponse, error, field_errors, ok
from ..subscriptions import Subscriptions

__all__ = ["handle"]


def _refused(body: Any, problems: dict[str, str]) -> FakeResponse | None:
    if "body" in problems and not isinstance(body, dict):
        return field_errors({}, ["The request body must be a JSON object."])
    entries = body.get("events") if not problems and isinstance(body, dict) else None
    if isinstance(entries, list) and any(e.get("extra_filter") is not None for e in entries):
        problems = {"events": "the fake does not evaluate extra_filter (leave it out, or null)"}
    return field_errors(problems) if problems else None


def _not_found() -> FakeResponse:
    return error(404, "Webhook subscription not found.")


def handle(
    subscriptions: Subscriptions, action: str, ident: str | None, request: FakeRequest
) -> FakeResponse:
    """Answer one ``/webhook/`` request; ``action`` is the route's (``list``, ``get``...)."""
    if action == "list":
        return ok({"data": [s.to_json() for s in subscriptions.all()], "has_more": False})
    if action == "create":
        refused = _refused(request.body, webhook_create_errors(request.body))
        if refused is not None:
            return refused
        if len(subscriptions) >= MAX_SUBSCRIPTIONS:
            return field_errors({}, [f"An organization can have at most {MAX_SUBSCRIPTIONS} webhooks."])
        return FakeResponse(201, subscriptions.create(request.body).to_json(with_key=True))
    found = subscriptions.by_id.get(ident or "")
    if found is None:
        return _not_found()
    if action == "get":
        return ok(found.to_json())
    if action == "update":
        refused = _refused(request.body, webhook_update_errors(request.body))
        if refused is not None:
            return refused
        return ok(subscriptions.update(found, request.body).to_json())
    if action == "delete":
        subscriptions.delete(found.id)
        return ok({})
    return error(405, f"The fake does not implement {request.method} /webhook/.")
