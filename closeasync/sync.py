"""Deprecated: import these names from ``closeasync`` (``from closeasync import SyncCursor``).

The sync walk lives in :mod:`closeasync.listing`; this module only forwards the names it
used to offer, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from .listing.moved import forwarder

#: Each public name this module offered, and where it lives now.
_MOVED = {
    "SyncCursor": "closeasync.listing.cursor",
    "SyncIterator": "closeasync.listing.keyset",
}

__all__: list[str] = []

__getattr__ = forwarder(__name__, _MOVED)
