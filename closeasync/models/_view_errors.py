"""What a view reports when a field's JSON value does not convert (see :mod:`closeasync.models._views`).

A view keeps, under :data:`ORIGIN` in its instance dict, the response it came in
(``closeasync.listing.pages.ResponseOrigin``); reading a malformed field then raises a
:class:`~closeasync.errors.FieldValueError` naming the model, the field and that
response, with the object as Close sent it as ``body``.
"""

from __future__ import annotations

from typing import Any, Protocol

import attrs
import orjson

from ..errors import FieldValueError
from ..pipeline.auth import live_secrets, redact_exception
from ._base import HIDDEN, ORIGIN, SOURCE, Model, wire_name

__all__ = ["ORIGIN", "Origin", "as_sent", "field_error"]


class Origin(Protocol):
    """Where a view's JSON came from: turns a misfit field into the error to raise."""

    def field_error(self, model: str, field: str, message: str, body: bytes) -> Exception:
        """The error for ``model.field`` whose value did not convert."""
        ...

    def nested(self) -> Origin:
        """The origin of the objects nested in this one's (never partial)."""
        ...


def field_error(obj: Model, field: str, exc: Exception) -> Exception:
    """The FieldValueError for ``obj.field``, whose value raised ``exc`` when converted."""
    model = type(obj).__name__
    message = f"{model}.{field}: {exc}"
    source = obj.__dict__.get(SOURCE)
    try:
        body = orjson.dumps(source if source is not None else as_sent(obj), default=_jsonable)
    except Exception:  # the error being reported matters more than its body
        body = b""
    origin: Origin | None = obj.__dict__.get(ORIGIN)
    if origin is not None:
        error = origin.field_error(model, field, message, body)
    else:
        error = FieldValueError(message, model=model, field=field, body=body)
    # No model keeps a credential, so the error is cleaned against the open clients' ones.
    secrets = live_secrets()
    if secrets:
        redact_exception(error, secrets)
    return error


def as_sent(model: Model) -> dict[str, Any]:
    """A view's JSON object as Close sent it (what is converted already, as converted).

    Wire names are restored (``from_`` is ``from`` again); nested views come out the
    same way when written with ``orjson.dumps(..., default=_jsonable)``.
    """
    wire = _wire_names(type(model))
    tag: str | None = getattr(type(model), "TYPE", None)
    sent: dict[str, Any] = {} if tag is None else {"_type": tag}  # a view keeps no _type key
    sent.update((wire.get(k, k), v) for k, v in model.__dict__.items() if k not in HIDDEN)
    return sent


def _jsonable(value: Any) -> Any:
    if isinstance(value, Model):
        return as_sent(value)
    raise TypeError(type(value).__name__)


_WIRE_NAMES: dict[type[Model], dict[str, str]] = {}


def _wire_names(cls: type[Model]) -> dict[str, str]:
    """Attribute name -> JSON key, for the attributes whose JSON key differs."""
    names = _WIRE_NAMES.get(cls)
    if names is None:
        names = {a.name: wire_name(a) for a in attrs.fields(cls) if wire_name(a) != a.name}
        _WIRE_NAMES[cls] = names
    return names
