"""Forwarding the names of a module that moved into :mod:`closeasync.listing` (deprecated)."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["forwarder"]


def forwarder(old: str, moved: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``old``: each name of ``moved`` (name -> its new module)
    is handed over with a :class:`DeprecationWarning` that says to import it from ``closeasync``."""

    def forward(name: str) -> Any:
        home = moved.get(name)
        if home is None:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        warnings.warn(
            f"{old} is deprecated: use 'from closeasync import {name}'", DeprecationWarning, stacklevel=2
        )
        return getattr(importlib.import_module(home), name)

    return forward
