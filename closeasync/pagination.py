"""Deprecated: import these names from ``closeasync`` (``from closeasync import AsyncPaginator``).

The listing engine lives in :mod:`closeasync.listing`; this module only forwards the
names it used to offer, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Each public name this module offered, and where it lives now.
_MOVED = {
    "AsyncPaginator": "closeasync.listing.paginator",
    "ItemStream": "closeasync.listing.paginator",
    "Page": "closeasync.listing.paginator",
}

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'closeasync.pagination' has no attribute {name!r}")
    warnings.warn(
        f"closeasync.pagination is deprecated: use 'from closeasync import {name}'",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)
