"""Route a fake request to its handler, with authentication, rate limits and faults.

The order mirrors a real service: a body too large (413), unknown URL (404) or a
method the URL does not serve (405, with ``Allow``), credentials (401), rate limit
(429, nothing processed), faults decided, pending sends delivered, the handler,
then the faults that strike after processing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import attrs

from ..models.registry import ACTIVITY_BY_RESOURCE
from ..pipeline.auth import credential_in
from ..pipeline.routes import ROUTES, Route
from ..pipeline.routes import match as match_route
from ._http import MAX_BODY_BYTES, FakeRequest, FakeResponse, error, field_errors, not_allowed, too_large
from .handlers import activities, events, logged, messages
from .handlers import webhooks as webhook_handlers
from .limits import Chosen

if TYPE_CHECKING:
    from .core import FakeClose

__all__ = ["Outcome", "route_request"]


@attrs.frozen
class Outcome:
    """The fake's answer, and how the transport must deliver it."""

    response: FakeResponse
    delay: float = 0.0
    drop: Literal["before", "after"] | None = None


def _with_override(request: FakeRequest) -> FakeRequest | FakeResponse:
    """Apply Close's long-URL fallback: POST + ``x-http-method-override: GET`` + ``_params``."""
    override = request.headers.get("x-http-method-override", "").upper()
    if not override:
        return request
    if override != "GET" or request.method != "POST":
        return field_errors({}, ["x-http-method-override is only supported as GET on POST requests."])
    params = request.body.get("_params") if isinstance(request.body, dict) else None
    if not isinstance(params, dict):
        return field_errors({}, ["A GET override needs a JSON body with a _params object."])
    query = {**request.query, **{str(k): _param_text(v) for k, v in params.items()}}
    return attrs.evolve(request, method="GET", query=query, body=None)


def _param_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_param_text(v) for v in value)
    return str(value)


Handler = Callable[["FakeClose", FakeRequest, dict[str, str]], FakeResponse]


def _dispatch(fake: FakeClose, route: Route, params: dict[str, str], request: FakeRequest) -> FakeResponse:
    state = fake.state
    resource = next(name for name, routes in ROUTE_NAMES.items() if route in routes)
    action = ROUTE_NAMES[resource][route]
    if resource == "activity":
        return activities.list_all(state, request, fake.list_rules)
    if resource == "event":
        if action == "list":
            return events.list_events(state, request)
        return events.get_event(state, params["id"], request)
    if resource == "webhook":
        return webhook_handlers.handle(fake.webhooks.subscriptions, action, params.get("id"), request)
    if resource in ("email", "sms"):
        kind = resource
        if action == "create":
            return messages.create(state, kind, request)
        if action == "get":
            return messages.get(state, kind, params["id"], request)
        if action == "update":
            return messages.update(state, kind, params["id"], request)
        if action == "delete":
            return messages.delete(state, kind, params["id"])
    if resource in logged.KINDS and action in ("create", "update"):
        if action == "create":
            return logged.create(state, resource, request)
        return logged.update(state, resource, params["id"], request)
    model = ACTIVITY_BY_RESOURCE.get(resource)
    if model is not None:
        if action == "list":
            return activities.list_type(state, model.TYPE, request, fake.list_rules)
        if action == "get":
            return activities.get(state, model.TYPE, params["id"], request)
        if action == "delete":
            return activities.delete(state, model.TYPE, params["id"])
    return error(405, f"The fake does not implement {route.method} {route.template}.")


def _methods_at(path: str) -> set[str]:
    """The methods some route serves at ``path`` (none: the URL does not exist)."""
    return {
        route.method
        for routes in ROUTES.values()
        for route in routes.values()
        if route.match(route.method, path) is not None
    }


def _route_names() -> dict[str, dict[Route, str]]:
    return {name: {route: action for action, route in routes.items()} for name, routes in ROUTES.items()}


ROUTE_NAMES = _route_names()


def route_request(fake: FakeClose, request: FakeRequest) -> Outcome:
    """Answer one request the way Close would."""
    if request.size > MAX_BODY_BYTES:  # as the served fake, which never reads past the limit
        return Outcome(too_large())
    overridden = _with_override(request)
    if isinstance(overridden, FakeResponse):
        return Outcome(overridden)
    request = overridden
    found = match_route(request.method, request.path)
    if found is None:
        allowed = _methods_at(request.path)
        if allowed:
            return Outcome(not_allowed(allowed))
        return Outcome(error(404, "The requested URL was not found."))
    route, params = found
    credential = credential_in(request.headers.get("authorization"))
    if credential not in fake.credentials:
        return Outcome(error(401, "Unauthorized"))
    limited, headers = fake.rate_limits.check(route.group)
    if limited is not None:
        return Outcome(limited)
    chosen = fake.faults.choose(route.group)
    if chosen.status is not None and not chosen.status_after:
        return Outcome(_injected(chosen, "Injected failure."), chosen.delay)
    if chosen.drop == "before":
        return Outcome(error(502, "dropped"), chosen.delay, "before")
    messages.deliver_due(fake.state)
    # The changes the handler makes are this request's events (one request id for all).
    with fake.state.events.during_request(
        request.method,
        fake.root + request.path,
        user_id=fake.me["id"],
        api_key_id=fake.api_key_id(credential),
    ):
        response = _dispatch(fake, route, params, request).with_headers(*headers)
    if chosen.status is not None:
        response = _injected(chosen, "Injected failure after processing.")
    return Outcome(response, chosen.delay, chosen.drop)


def _injected(chosen: Chosen, message: str) -> FakeResponse:
    """An injected error answer, saying when to retry if the fault says so."""
    assert chosen.status is not None
    response = error(chosen.status, message)
    if chosen.retry_after is None:
        return response
    wait = chosen.retry_after
    return response.with_headers(
        ("RateLimit", f"limit=100, remaining=0, reset={wait:g}"), ("Retry-After", str(math.ceil(wait)))
    )
