"""Deprecated: import these names from ``closeasync`` (``from closeasync import AsyncPaginator``).

The listing engine lives in :mod:`closeasync.listing`; this module only forwards the
names it used to offer, with a :class:`DeprecationWarning`.
"""

from __future__ import annotations

from .listing.moved import forwarder

#: Each public name this module offered, and where it lives now.
_MOVED = {
    "AsyncPaginator": "closeasync.listing.paginator",
    "ItemStream": "closeasync.listing.paginator",
    "Page": "closeasync.listing.paginator",
}

__all__: list[str] = []

__getattr__ = forwarder(__name__, _MOVED)
