"""Faithfulness checks for every response the fake produces during the contract tests.

Two independent judges look at each exchange:

* the strict converter (:data:`closeasync.models._converter.strict_converter`), which refuses
  unknown keys, unknown enum values and misplaced nulls, structures every activity
  object of a 2xx body (``Activity`` for objects with ``_type``, the route's model
  for a ``_fields`` projection without it);
* jsonschema (Draft 2020-12) validates the body against the response schema of the
  matching operation in ``tests/data/openapi/*.yml``. List bodies are checked as
  ``{data, has_more}`` (event pages as ``{data, cursor_next, cursor_previous}``, each
  event structured as ``Event``) and item by item; ``GET /activity/`` items are checked against
  the schema of their ``_type``. With ``_fields`` the objects are partial, so the
  object-level ``required`` is dropped. Routes without a stored OpenAPI file are
  skipped, and the skip is noted (:data:`SKIPPED`).

Error bodies must have Close's shapes: 400 ``{"errors": [...], "field-errors": {...}}``,
every other error ``{"error": "..."}``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs
import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from closeasync.fake import FakeRequest, FakeResponse
from closeasync.fake.router import _with_override
from closeasync.models import Activity
from closeasync.models._converter import StructureError, strict_converter
from closeasync.models.event import Event
from closeasync.models.registry import ACTIVITY_BY_RESOURCE
from closeasync.pipeline.routes import ROUTES, Route
from closeasync.pipeline.routes import match as match_route

__all__ = ["SKIPPED", "Checker", "Exchange", "check_exchange"]

SPEC_DIR = Path(__file__).resolve().parent.parent / "data" / "openapi"
#: Notes about what could not be checked (route or ``_type`` without a schema), for the summary.
SKIPPED: set[str] = set()
_ACTIVITY_TARGET: Any = Activity  # a union: cattrs structures it, mypy cannot type it as type[T]

_formats = FormatChecker()


@_formats.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    """Close's timestamps: ISO 8601 with a time part (``fromisoformat`` must read them)."""
    if not isinstance(value, str):
        return True
    datetime.fromisoformat(value)
    return "T" in value


@attrs.frozen
class _Schema:
    """Where an object schema lives: the file's URI and the name under components/schemas."""

    uri: str
    name: str

    def ref(self, *, partial: bool) -> dict[str, str]:
        return {"$ref": f"{self.partial_uri if partial else self.uri}#/components/schemas/{self.name}"}

    @property
    def partial_uri(self) -> str:
        return f"{self.uri}-partial-{self.name}"

    def label(self) -> str:
        return f"{self.uri.removeprefix('urn:close:')}.yml#/components/schemas/{self.name}"


def _ref_name(schema: Any) -> str | None:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None


def _without_required(document: dict[str, Any], name: str) -> dict[str, Any]:
    """A copy where schema ``name`` requires none of its keys (a ``_fields`` projection)."""
    partial = copy.deepcopy(document)
    partial["components"]["schemas"][name].pop("required", None)
    return partial


class _Specs:
    """Every stored OpenAPI file: the 200 schema of each operation and one per ``_type``."""

    def __init__(self, directory: Path = SPEC_DIR) -> None:
        self.documents: dict[str, dict[str, Any]] = {}
        #: (method, template) -> the schema of the 200 body (of each item, for a list), if any.
        self.operations: dict[tuple[str, str], _Schema | None] = {}
        for path in sorted(directory.glob("*.yml")):
            document = yaml.safe_load(path.read_text())
            uri = f"urn:close:{path.stem}"
            self.documents[uri] = document
            for template, operations in document["paths"].items():
                for method, operation in operations.items():
                    if not isinstance(operation, dict) or "responses" not in operation:
                        continue
                    ok = operation["responses"].get("200", {})
                    schema = ok.get("content", {}).get("application/json", {}).get("schema")
                    is_list = isinstance(schema, dict) and schema.get("type") == "object"
                    item = schema["properties"]["data"]["items"] if is_list else schema
                    name = _ref_name(item)
                    key = (method.upper(), template)
                    self.operations[key] = None if name is None else _Schema(uri, name)
        self.registry: Registry[Any] = Registry().with_resources(
            (uri, DRAFT202012.create_resource(document)) for uri, document in self.documents.items()
        )
        self.by_type: dict[str, _Schema] = {}
        for resource, model in ACTIVITY_BY_RESOURCE.items():
            get = ROUTES[resource].get("get")
            found = None if get is None else self.operations.get((get.method, get.template))
            if found is not None:
                self.by_type[model.TYPE] = found
        threads = self.by_type.get("EmailThread")
        #: The stripped-down Email of ``thread_emails=true`` is the threads file's EmailInThread.
        self.stripped_email = None if threads is None else _Schema(threads.uri, "EmailInThread")
        self._validators: dict[tuple[_Schema, bool], Draft202012Validator] = {}

    def knows(self, route: Route) -> bool:
        return (route.method, route.template) in self.operations

    def validator(self, schema: _Schema, *, partial: bool) -> Draft202012Validator:
        key = (schema, partial)
        if key not in self._validators:
            registry = self.registry
            if partial:
                document = _without_required(self.documents[schema.uri], schema.name)
                registry = registry.with_resource(schema.partial_uri, DRAFT202012.create_resource(document))
            self._validators[key] = Draft202012Validator(
                schema.ref(partial=partial), registry=registry, format_checker=_formats
            )
        return self._validators[key]


_SPECS: _Specs | None = None


def specs() -> _Specs:
    """The OpenAPI files, loaded once."""
    global _SPECS
    if _SPECS is None:
        _SPECS = _Specs()
    return _SPECS


@attrs.frozen
class Exchange:
    """One request the fake answered, and its answer."""

    request: FakeRequest
    response: FakeResponse

    def describe(self) -> str:
        query = "&".join(f"{k}={v}" for k, v in sorted(self.request.query.items()))
        where = f"{self.request.method} {self.request.path}{'?' + query if query else ''}"
        if len(where) > 300:
            where = where[:300] + "..."
        return f"{where} -> {self.response.status}"


def _error_shape(status: int, body: Any) -> Iterator[str]:
    if status == 400:
        if not isinstance(body, dict):
            yield f"400 body must be an object, got {body!r}"
            return
        if not isinstance(body.get("errors"), list):
            yield f"400 body needs an 'errors' list: {body!r}"
        if not isinstance(body.get("field-errors"), dict):
            yield f"400 body needs a 'field-errors' object: {body!r}"
    elif body is not None and not (isinstance(body, dict) and isinstance(body.get("error"), str)):
        yield f"{status} body must be {{'error': str}}, got {body!r}"


def _structure(obj: Any, model: type[Any] | None, where: str) -> Iterator[str]:
    if not isinstance(obj, dict):
        yield f"{where}: expected an object, got {type(obj).__name__}"
        return
    target = _ACTIVITY_TARGET if "_type" in obj else model
    if target is None:
        SKIPPED.add("strict converter: an object without _type from GET /activity/ (no model to use)")
        return
    try:
        strict_converter.structure(obj, target)
    except (StructureError, TypeError, ValueError, KeyError) as exc:
        yield f"{where}: strict converter: {exc}"


def _validate(obj: Any, schema: _Schema, partial: bool, where: str) -> Iterator[str]:
    validator = specs().validator(schema, partial=partial)
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path))[:5]:
        schema_path = "/".join(str(p) for p in error.absolute_schema_path)
        yield f"{where}{error.json_path[1:]}: {error.message} (schema {schema.label()} at {schema_path})"


def _item_schema(route: Route, obj: Any, query: Mapping[str, str]) -> _Schema | None:
    loaded = specs()
    if route.template != "/activity/":
        return loaded.operations.get((route.method, route.template))
    kind = obj.get("_type") if isinstance(obj, dict) else None
    if kind == "Email" and query.get("thread_emails") == "true":
        return loaded.stripped_email
    if not isinstance(kind, str):
        SKIPPED.add("schema: GET /activity/ items without _type (a _fields projection: no type to pick)")
        return None
    schema = loaded.by_type.get(kind)
    if schema is None:
        SKIPPED.add(f"schema: GET /activity/ items of _type {kind!r} (no stored OpenAPI schema)")
    return schema


def _names(route: Route) -> tuple[str, str]:
    """The resource and action of a route in the route table (``("email", "list")``)."""
    return next(
        (name, action) for name, routes in ROUTES.items() for action, r in routes.items() if r == route
    )


def check_exchange(exchange: Exchange) -> list[str]:
    """Every way ``exchange``'s response departs from Close's documents (empty when faithful)."""
    request, response = exchange.request, exchange.response
    overridden = _with_override(request)
    if isinstance(overridden, FakeRequest):
        request = overridden
    body = response.body
    if response.status >= 400:
        return list(_error_shape(response.status, body))
    found = match_route(request.method, request.path)
    if found is None:
        return [f"a {response.status} answer for a URL no route serves"]
    route, _ = found
    if route.method == "DELETE":
        return [] if body == {} else [f"DELETE must answer {{}}, got {body!r}"]
    resource, action = _names(route)
    model = Event if resource == "event" else ACTIVITY_BY_RESOURCE.get(resource)
    if action == "list" and resource == "event":  # the event log pages by cursor
        envelope = body if isinstance(body, dict) else {}
        if set(envelope) != {"data", "cursor_next", "cursor_previous"} or not isinstance(
            envelope["data"], list
        ):
            return [f"an event page must be {{data, cursor_next, cursor_previous}}, got {sorted(envelope)}"]
        cursors = (envelope["cursor_next"], envelope["cursor_previous"])
        if not all(c is None or (isinstance(c, str) and c) for c in cursors):
            return [f"cursors must be null or non-empty strings, got {cursors!r}"]
        items = [(f"data[{i}]", item) for i, item in enumerate(envelope["data"])]
    elif action == "list":
        envelope = body if isinstance(body, dict) else {}
        if set(envelope) != {"data", "has_more"} or not isinstance(envelope.get("data"), list):
            return [f"a list body must be exactly {{data: [...], has_more}}, got keys {sorted(envelope)}"]
        if not isinstance(envelope["has_more"], bool):
            return [f"has_more must be a boolean, got {envelope['has_more']!r}"]
        items = [(f"data[{i}]", item) for i, item in enumerate(envelope["data"])]
    else:
        items = [("body", body)]
    if route.template != "/activity/" and not specs().knows(route):
        SKIPPED.add(f"schema: {route.method} {route.template} (no stored OpenAPI file for this route)")
    partial = "_fields" in request.query
    problems: list[str] = []
    for where, item in items:
        problems.extend(_structure(item, model, where))
        schema = _item_schema(route, item, request.query)
        if schema is not None:
            problems.extend(_validate(item, schema, partial, where))
    return problems


class Checker:
    """Collects the exchanges of one test and reports the unfaithful ones."""

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []

    def record(self, request: FakeRequest, response: FakeResponse) -> None:
        self.exchanges.append(Exchange(request, response))

    def problems(self) -> list[str]:
        """One line per problem, naming the request."""
        out: list[str] = []
        for exchange in self.exchanges:
            out.extend(f"{exchange.describe()}: {p}" for p in check_exchange(exchange))
        return out
