"""Load the JSON examples kept under ``tests/data`` for use in tests.

Three sources are read, all stored inside the project (see ``tests/data/SOURCE.md``):

* ``tests/data/openapi/*.yml``: third-party OpenAPI files for the Close API. Every
  ``example`` (and every value of an ``examples`` mapping) under the
  ``application/json`` content of a request body or a response is yielded by
  :func:`iter_openapi_examples`.
* ``tests/data/close_docs/*.json``: JSON examples taken from Close's developer
  documentation pages, yielded by :func:`iter_docs_examples`.
* ``tests/data/openapi_extra/*.json``: examples copied from the same third-party
  OpenAPI repository for resources whose ``.yml`` files are not kept here,
  yielded by :func:`iter_extra_examples`.

All produce :class:`SpecExample` objects whose ``body`` holds only JSON types
(``dict``, ``list``, ``str``, ``int``, ``float``, ``bool``, ``None``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "DATA_DIR",
    "DOCS_DIR",
    "EXTRA_DIR",
    "SPEC_DIR",
    "Kind",
    "SpecExample",
    "iter_docs_examples",
    "iter_extra_examples",
    "iter_openapi_examples",
    "load_spec",
    "typed_objects",
]

DATA_DIR: Path = Path(__file__).resolve().parent / "data"
"""Directory holding the copied reference data."""

SPEC_DIR: Path = DATA_DIR / "openapi"
"""Directory holding the OpenAPI ``*.yml`` files."""

DOCS_DIR: Path = DATA_DIR / "close_docs"
"""Directory holding the JSON examples extracted from Close's documentation."""

EXTRA_DIR: Path = DATA_DIR / "openapi_extra"
"""Directory holding the examples copied from OpenAPI files not kept in ``SPEC_DIR``."""

Kind = Literal["request", "response"]

_HTTP_METHODS: frozenset[str] = frozenset(
    {"get", "put", "post", "delete", "options", "head", "patch", "trace", "query"}
)
_JSON_CONTENT_TYPE = "application/json"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# Endpoint of each documentation page, keyed by the page stem used in the file
# names. Paths are written as in the OpenAPI files, i.e. relative to the server
# URL ``https://api.close.com/api/v1`` (the pages show ``/api/v1/...``).
_DOCS_PAGES: dict[str, tuple[str, str]] = {
    "000_get_email": ("GET", "/activity/email/{id}/"),
    "001_create_email": ("POST", "/activity/email/"),
    "002_update_email": ("PUT", "/activity/email/{id}/"),
    "003_list_activities": ("GET", "/activity/"),
    "004_get_sms": ("GET", "/activity/sms/{id}/"),
}
# Endpoint and schema of each extra example, keyed by file name. The schema is
# the one the OpenAPI file gives for the body (for a list response, for its
# items); the status-change request bodies have none.
_EXTRA_EXAMPLES: dict[str, tuple[str, str, str | None]] = {
    "created_get_response.json": ("GET", "/activity/created/{id}/", "CreatedActivity"),
    "custom_activity_create_request.json": (
        "POST",
        "/activity/custom/",
        "CreateCustomActivity",
    ),
    "custom_activity_create_response.json": ("POST", "/activity/custom/", "CustomActivity"),
    "custom_activity_list_response.json": ("GET", "/activity/custom/", "CustomActivity"),
    "custom_activity_update_request.json": (
        "PUT",
        "/activity/custom/{id}/",
        "UpdateCustomActivity",
    ),
    "form_submission_get_response.json": (
        "GET",
        "/activity/form_submission/{id}/",
        "FormSubmissionActivity",
    ),
    "lead_merge_get_response.json": (
        "GET",
        "/activity/lead_merge/{id}/",
        "LeadMergeActivity",
    ),
    "lead_status_change_create_request.json": ("POST", "/activity/status_change/lead/", None),
    "lead_status_change_get_response.json": (
        "GET",
        "/activity/status_change/lead/{id}/",
        "LeadStatusChangeActivity",
    ),
    "opportunity_status_change_create_request.json": (
        "POST",
        "/activity/status_change/opportunity/",
        None,
    ),
    "opportunity_status_change_get_response.json": (
        "GET",
        "/activity/status_change/opportunity/{id}/",
        "OpportunityStatusChangeActivity",
    ),
    "task_completed_get_response.json": (
        "GET",
        "/activity/task_completed/{id}/",
        "TaskCompletedActivity",
    ),
    "whatsapp_message_create_request.json": (
        "POST",
        "/activity/whatsapp_message/",
        "CreateWhatsAppMessage",
    ),
    "whatsapp_message_get_response.json": (
        "GET",
        "/activity/whatsapp_message/{id}/",
        "WhatsAppMessageActivity",
    ),
    "whatsapp_message_update_response.json": (
        "PUT",
        "/activity/whatsapp_message/{id}/",
        "WhatsAppMessageActivity",
    ),
}
_EXTRA_FILE_RE = re.compile(r"^[a-z0-9_]+_(?P<kind>request|response)\.json$")
_DOCS_FILE_RE = re.compile(r"^(?P<stem>\d{3}_[a-z0-9_]+?)_(?P<kind>request|response)_(?P<n>\d+)\.json$")


@dataclass(frozen=True)
class SpecExample:
    """One JSON example body together with where it came from.

    Attributes:
        source: Human-readable origin, e.g.
            ``"close-activities-emails-api-openapi.yml GET /activity/email/ 200"``.
        method: HTTP method in upper case.
        path: Endpoint path relative to ``/api/v1``, e.g. ``/activity/email/{id}/``.
        kind: ``"request"`` for a request body, ``"response"`` for a response body.
        status: Response status code as a string (``"200"``); ``None`` for request
            bodies and for documentation examples, whose pages give no code.
        schema_name: Last segment of the ``$ref`` of the schema next to the
            example (for a list response, the ``$ref`` of ``data.items``);
            ``None`` when there is no such reference.
        is_list: ``True`` for list responses (``{"data": [...], ...}``).
        body: The example itself, made only of JSON types.
    """

    source: str
    method: str
    path: str
    kind: Kind
    status: str | None
    schema_name: str | None
    is_list: bool
    body: Any = field(hash=False)


class _JSONSafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that leaves unquoted timestamps as strings.

    PyYAML would otherwise turn values such as ``2013-02-01T00:54:51`` into
    ``datetime`` objects, which are not JSON types.
    """


# Copy the resolver table rather than editing SafeLoader's own (shared) one.
_JSONSafeLoader.yaml_implicit_resolvers = {
    first_char: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first_char, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_spec(path: Path) -> dict[str, Any]:
    """Load one OpenAPI YAML file without turning timestamps into ``datetime``.

    Args:
        path: The ``.yml`` file to read.

    Returns:
        The parsed document.

    Raises:
        TypeError: If the document is not a mapping.
    """
    with path.open(encoding="utf-8") as stream:
        document = yaml.load(stream, Loader=_JSONSafeLoader)
    if not isinstance(document, dict):
        raise TypeError(f"{path.name}: expected a mapping at the top level")
    return document


def _check_json(body: Any, source: str) -> Any:
    """Return ``body`` after checking that it round-trips through JSON unchanged.

    Raises:
        ValueError: If ``body`` holds a non-JSON value (e.g. a ``datetime``, a
            non-string key, NaN) or changes on the round trip.
    """
    try:
        text = json.dumps(body, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: example is not JSON-serialisable: {exc}") from exc
    if json.loads(text) != body:
        raise ValueError(f"{source}: example changes when round-tripped through JSON")
    return body


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow a local ``{"$ref": "#/..."}`` reference (repeatedly) in ``document``.

    Nodes that are not references are returned unchanged.
    """
    seen: set[str] = set()
    while isinstance(node, Mapping) and isinstance(node.get("$ref"), str):
        ref: str = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        target: Any = document
        for part in ref[2:].split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or key not in target:
                raise ValueError(f"dangling $ref {ref!r}")
            target = target[key]
        node = target
    return node


def _ref_name(schema: Any) -> str | None:
    """Return the last segment of ``schema["$ref"]``, or ``None`` if absent."""
    if isinstance(schema, Mapping):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return ref.rsplit("/", 1)[-1]
    return None


def _list_item_ref_name(schema: Any) -> str | None:
    """Return the item ``$ref`` name of an inline ``{"data": [items]}`` schema."""
    if not isinstance(schema, Mapping):
        return None
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return None
    data = properties.get("data")
    if not isinstance(data, Mapping) or data.get("type") != "array":
        return None
    return _ref_name(data.get("items"))


def _has_data_list(body: Any) -> bool:
    """Tell whether ``body`` looks like a list response: a mapping with a ``data`` list."""
    return isinstance(body, Mapping) and isinstance(body.get("data"), list)


def _media_examples(
    document: Mapping[str, Any], media: Mapping[str, Any]
) -> Iterator[tuple[str | None, Any]]:
    """Yield ``(name, value)`` for ``example`` and each ``examples`` entry of a media type.

    ``name`` is ``None`` for ``example`` and the mapping key for ``examples``.
    Entries that only have an ``externalValue`` are skipped.
    """
    if "example" in media:
        yield None, media["example"]
    examples = media.get("examples")
    if isinstance(examples, Mapping):
        for name, entry in examples.items():
            resolved = _resolve(document, entry)
            if isinstance(resolved, Mapping) and "value" in resolved:
                yield str(name), resolved["value"]


def _spec_file_examples(path: Path) -> Iterator[SpecExample]:
    """Yield the examples of one OpenAPI file, in document order."""
    document = load_spec(path)
    paths = document.get("paths") or {}
    for api_path, path_item in paths.items():
        path_item = _resolve(document, path_item)
        if not isinstance(path_item, Mapping):
            continue
        for method, operation in path_item.items():
            if method not in _HTTP_METHODS or not isinstance(operation, Mapping):
                continue
            # (kind, status, media type object) for every application/json body.
            bodies: list[tuple[Kind, str | None, Mapping[str, Any]]] = []
            request_body = _resolve(document, operation.get("requestBody"))
            if isinstance(request_body, Mapping):
                media = (request_body.get("content") or {}).get(_JSON_CONTENT_TYPE)
                if isinstance(media, Mapping):
                    bodies.append(("request", None, media))
            for status, response in (operation.get("responses") or {}).items():
                response = _resolve(document, response)
                if not isinstance(response, Mapping):
                    continue
                media = (response.get("content") or {}).get(_JSON_CONTENT_TYPE)
                if isinstance(media, Mapping):
                    bodies.append(("response", str(status), media))

            for kind, status, media in bodies:
                schema = media.get("schema")
                item_name = _list_item_ref_name(schema)
                label = "request" if status is None else status
                for name, value in _media_examples(document, media):
                    source = f"{path.name} {method.upper()} {api_path} {label}"
                    if name is not None:
                        source += f" examples[{name}]"
                    body = _check_json(value, source)
                    if item_name is not None:
                        schema_name: str | None = item_name
                        is_list = True
                    elif schema is not None:
                        schema_name = _ref_name(schema)
                        is_list = False
                    else:
                        # No schema given: fall back on the shape of the body.
                        schema_name = None
                        is_list = kind == "response" and _has_data_list(body)
                    yield SpecExample(
                        source=source,
                        method=method.upper(),
                        path=str(api_path),
                        kind=kind,
                        status=status,
                        schema_name=schema_name,
                        is_list=is_list,
                        body=body,
                    )


def iter_openapi_examples(spec_dir: Path = SPEC_DIR) -> Iterator[SpecExample]:
    """Yield every JSON request/response example of every OpenAPI file.

    Files are read in name order; within a file, operations follow document order,
    and the request body comes before the responses.

    Args:
        spec_dir: Directory holding the ``*.yml`` files (defaults to :data:`SPEC_DIR`).

    Raises:
        ValueError: If an example is not plain JSON or a ``$ref`` cannot be resolved.
    """
    for path in sorted(spec_dir.glob("*.yml")):
        yield from _spec_file_examples(path)


def iter_docs_examples(docs_dir: Path = DOCS_DIR) -> Iterator[SpecExample]:
    """Yield the JSON examples extracted from Close's documentation pages.

    File names have the form ``<stem>_<kind>_<n>.json`` (e.g.
    ``001_create_email_request_1.json``); the method and path come from the
    page's endpoint, ``kind`` from the file name. ``status`` and ``schema_name``
    are ``None``; ``is_list`` is ``True`` when the body has a ``data`` list.

    Args:
        docs_dir: Directory holding the ``*.json`` files (defaults to :data:`DOCS_DIR`).

    Raises:
        ValueError: If a file name does not match the pattern, names an unknown
            page, or holds something other than plain JSON.
    """
    entries: list[tuple[str, int, Kind, Path]] = []
    for path in docs_dir.glob("*.json"):
        match = _DOCS_FILE_RE.match(path.name)
        if match is None:
            raise ValueError(f"unexpected file name in {docs_dir}: {path.name}")
        stem = match["stem"]
        if stem not in _DOCS_PAGES:
            raise ValueError(f"{path.name}: unknown documentation page {stem!r}")
        kind: Kind = "request" if match["kind"] == "request" else "response"
        entries.append((stem, int(match["n"]), kind, path))

    for stem, _n, kind, path in sorted(entries, key=lambda entry: (entry[0], entry[1])):
        method, api_path = _DOCS_PAGES[stem]
        source = f"{path.name} {method} {api_path}"
        body = _check_json(json.loads(path.read_text(encoding="utf-8")), source)
        yield SpecExample(
            source=source,
            method=method,
            path=api_path,
            kind=kind,
            status=None,
            schema_name=None,
            is_list=_has_data_list(body),
            body=body,
        )


def iter_extra_examples(extra_dir: Path = EXTRA_DIR) -> Iterator[SpecExample]:
    """Yield the examples copied from OpenAPI files that are not kept in ``SPEC_DIR``.

    File names have the form ``<type>_<operation>_<kind>.json`` (e.g.
    ``custom_activity_create_request.json``). The method, path and schema name are
    recorded for each file and ``kind`` comes from the file name. ``status`` is
    ``"200"`` for responses (the only status those files give an example for) and
    ``None`` for request bodies; ``is_list`` is ``True`` when the body has a
    ``data`` list. Files are read in name order.

    Args:
        extra_dir: Directory holding the ``*.json`` files (defaults to :data:`EXTRA_DIR`).

    Raises:
        ValueError: If a file name does not match the pattern, names an unknown
            file, or holds something other than plain JSON.
    """
    for path in sorted(extra_dir.glob("*.json")):
        match = _EXTRA_FILE_RE.match(path.name)
        if match is None:
            raise ValueError(f"unexpected file name in {extra_dir}: {path.name}")
        if path.name not in _EXTRA_EXAMPLES:
            raise ValueError(f"{path.name}: no endpoint is recorded for this file")
        method, api_path, schema_name = _EXTRA_EXAMPLES[path.name]
        kind: Kind = "request" if match["kind"] == "request" else "response"
        source = f"openapi_extra/{path.name} {method} {api_path}"
        body = _check_json(json.loads(path.read_text(encoding="utf-8")), source)
        yield SpecExample(
            source=source,
            method=method,
            path=api_path,
            kind=kind,
            status="200" if kind == "response" else None,
            schema_name=schema_name,
            is_list=kind == "response" and _has_data_list(body),
            body=body,
        )


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object with a ``_type`` in ``value`` (nested ones too)."""
    if isinstance(value, dict):
        if isinstance(value.get("_type"), str):
            yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def typed_objects() -> list[dict[str, Any]]:
    """Every object with a ``_type`` in the responses of every stored example."""
    examples = [*iter_openapi_examples(), *iter_docs_examples(), *iter_extra_examples()]
    return [obj for e in examples if e.kind == "response" for obj in _objects(e.body)]
