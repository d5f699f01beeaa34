"""Models back to JSON: the shape Close itself sends, for storing or printing them.

:func:`to_dict` unstructures with the production converter
(:mod:`closeasync.models._converter`), which gives a model from Close back as it came.
"""

from __future__ import annotations

from typing import Any

import orjson

from ._base import SOURCE, Model, modelled_keys
from ._converter import unstructure

__all__ = ["extra_fields", "to_dict", "to_json"]


def to_dict(model: Model) -> dict[str, Any]:
    """The model as Close's JSON object: for a model from Close, exactly what Close sent.

    Every key comes back, those this version does not model included, with its value
    as Close sent it (timestamps as the strings they were, malformed values too),
    whether or not fields were read; only fields changed with
    :func:`~closeasync.models.evolve` are written over it. A model built by hand gives
    the fields it was given: wire names, ISO 8601 timestamps, ``_type`` for activities.
    The result is a new dict; nested values are shared with the model (do not change them).

    >>> from closeasync.models._converter import converter
    >>> from closeasync.models import SMS
    >>> sent = {"id": "acti_1", "date_created": "2026-01-05T09:00:00Z", "new_in_2027": True}
    >>> to_dict(converter.structure(sent, SMS)) == sent
    True
    >>> to_dict(SMS(id="acti_1", text="hi"))
    {'_type': 'SMS', 'id': 'acti_1', 'text': 'hi'}
    """
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


def extra_fields(model: Model) -> dict[str, Any]:
    """The keys of the object Close sent that this version does not model, with their values.

    Close adds fields without notice; they are never attributes (so none can shadow a
    method), but they are kept: here, and in :func:`to_dict`. A model built by hand has none.

    >>> from closeasync.models._converter import converter
    >>> from closeasync.models import SMS
    >>> extra_fields(converter.structure({"id": "acti_1", "new_in_2027": True}, SMS))
    {'new_in_2027': True}
    """
    source = model.__dict__.get(SOURCE)
    if source is None:
        return {}
    known, prefixes = modelled_keys(type(model))
    return {
        key: value
        for key, value in source.items()
        if key not in known and not (prefixes and key.startswith(prefixes))
    }
