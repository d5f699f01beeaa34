"""Deprecated: import these names from ``closeasync`` (``from closeasync import SyncCursor``).

The sync walk lives in :mod:`closeasync.listing`; this module only forwards the names it
used to offer, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

#: Each public name this module offered, and where it lives now.
_MOVED = {
    "SyncCursor": "closeasync.listing.cursor",
    "SyncIterator": "closeasync.listing.keyset",
}

__all__: list[str] = []


def __getattr__(name: str) -> Any:
    home = _MOVED.get(name)
    if home is None:
        raise AttributeError(f"module 'closeasync.sync' has no attribute {name!r}")
    warnings.warn(
        f"closeasync.sync is deprecated: use 'from closeasync import {name}'",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(home), name)
