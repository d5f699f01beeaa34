"""The route table: every endpoint closeasync knows, as data.

Resources build requests from these routes; the rate limiter groups requests by
route (Close limits per endpoint group: method + path); the fake Close and the
cassette matcher use :func:`match` to map a concrete request back to its route.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

import attrs

from ..errors import InvalidRequestError
from ..rules._fields import path_id_problem

__all__ = ["ROUTES", "Route", "match"]

_PARAM = re.compile(r"\{(\w+)\}")


@attrs.frozen
class Route:
    """An endpoint: an HTTP method and a path template such as ``/activity/email/{id}/``."""

    method: str
    template: str
    #: The endpoint group Close rate-limits together, e.g. ``GET /activity/email/``
    #: (an attribute, not a property: every request reads it).
    group: str = attrs.field(init=False, eq=False, repr=False)
    _pattern: re.Pattern[str] = attrs.field(init=False, eq=False, repr=False)
    # Worked out once: every request reads them (the URL's path).
    _pieces: tuple[str, ...] = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        pieces = _PARAM.split(self.template)  # literal, name, literal, name, ..., literal
        regex = "".join(
            f"(?P<{piece}>[^/]+)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces)
        )
        object.__setattr__(self, "_pattern", re.compile(regex + "$"))
        object.__setattr__(self, "_pieces", tuple(pieces))
        object.__setattr__(self, "group", f"{self.method} {self.template}")

    def path(self, **params: str) -> str:
        """Fill in the template, refusing ids that are empty or would change the path.

        >>> Route("GET", "/activity/email/{id}/").path(id="acti_1")
        '/activity/email/acti_1/'

        Raises:
            InvalidRequestError: a parameter is empty or not a plain id.
        """
        return self.fill(params)

    def fill(self, params: Mapping[str, str]) -> str:
        """:meth:`path` with the parameters as a mapping (no keyword arguments to pack)."""
        pieces = self._pieces
        if len(pieces) == 3 and len(params) == 1:
            # One id, the usual case. Close's ids (``acti_...``) are ASCII identifiers: such an
            # id needs neither the checks below nor quoting, and two string methods tell (a
            # third of a regex match's cost, and the general path costs as much again).
            value = params.get(pieces[1])
            if value.__class__ is str and value.isascii() and value.isidentifier():
                return pieces[0] + value + pieces[2]
        for name, value in params.items():
            problem = path_id_problem(value)
            if problem is not None:
                raise InvalidRequestError({name: problem})
        if len(pieces) == 1:
            return self.template
        return "".join(quote(params[piece], safe="") if i % 2 else piece for i, piece in enumerate(pieces))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        """Return the path parameters if ``method`` and ``path`` belong to this route."""
        if method.upper() != self.method:
            return None
        found = self._pattern.match(path)
        return None if found is None else found.groupdict()


def _crud(prefix: str, *, create: bool = True, update: bool = True) -> dict[str, Route]:
    item = prefix + "{id}/"
    routes = {"list": Route("GET", prefix), "get": Route("GET", item)}
    if create:
        routes["create"] = Route("POST", prefix)
    if update:
        routes["update"] = Route("PUT", item)
    routes["delete"] = Route("DELETE", item)
    return routes


#: Every route, by resource and action: ``ROUTES["email"]["create"]``.
ROUTES: dict[str, dict[str, Route]] = {
    "activity": {"list": Route("GET", "/activity/")},
    "email": _crud("/activity/email/"),
    "sms": _crud("/activity/sms/"),
    "note": _crud("/activity/note/"),
    "call": _crud("/activity/call/"),
    "emailthread": _crud("/activity/emailthread/", create=False, update=False),
    "meeting": _crud("/activity/meeting/", create=False),
    "whatsapp_message": _crud("/activity/whatsapp_message/"),
    "custom": _crud("/activity/custom/"),
    "created": {
        "list": Route("GET", "/activity/created/"),
        "get": Route("GET", "/activity/created/{id}/"),
    },
    "form_submission": _crud("/activity/form_submission/", create=False, update=False),
    "lead_status_change": _crud("/activity/status_change/lead/", update=False),
    "opportunity_status_change": _crud("/activity/status_change/opportunity/", update=False),
    "lead_merge": {
        "list": Route("GET", "/activity/lead_merge/"),
        "get": Route("GET", "/activity/lead_merge/{id}/"),
    },
    "task_completed": _crud("/activity/task_completed/", create=False, update=False),
    "event": {"list": Route("GET", "/event/"), "get": Route("GET", "/event/{id}/")},
    "webhook": _crud("/webhook/"),
}


def match(method: str, path: str) -> tuple[Route, dict[str, str]] | None:
    """Find the route serving ``method path`` (a path relative to the API root)."""
    for routes in ROUTES.values():
        for route in routes.values():
            params = route.match(method, path)
            if params is not None:
                return route, params
    return None
