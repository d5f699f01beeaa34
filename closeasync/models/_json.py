"""Models back to JSON: the shape Close itself sends, for storing or printing them."""

from __future__ import annotations

from typing import Any

import orjson

from ._base import Model

__all__ = ["to_dict", "to_json"]


def to_dict(model: Model) -> dict[str, Any]:
    """The model as Close's JSON object: wire names, ISO 8601 timestamps, absent fields left out.

    An :class:`~closeasync.models.UnknownActivity` gives back the object exactly as
    it arrived, and so does a field Close sent malformed (one that raises
    :class:`~closeasync.errors.FieldValueError` when read): a copy of Close's data
    keeps what Close has, rather than failing on it.

    >>> from closeasync.models import SMS
    >>> to_dict(SMS(id="acti_1", text="hi"))
    {'_type': 'SMS', 'id': 'acti_1', 'text': 'hi'}
    """
    from .._serde import unstructure  # the converter imports the models: import it late

    data = unstructure(model)
    if not isinstance(data, dict):
        raise TypeError(f"to_dict() takes a model, got {type(model).__name__}")
    return data


def to_json(model: Model, *, indent: bool = False) -> str:
    """The model as a JSON string (``indent=True``: two-space indented, for people).

    >>> from closeasync.models import SMS
    >>> print(to_json(SMS(id="acti_1", text="hi")))
    {"_type":"SMS","id":"acti_1","text":"hi"}
    """
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(to_dict(model), option=option).decode()
