"""Seeded ids in Close's formats: ``acti_`` + 43 base62 characters, ``ev_`` + 22, ..."""

from __future__ import annotations

import random
import string

__all__ = ["IdFactory"]

_ALPHABET = string.digits + string.ascii_letters
#: Prefixes whose ids have the newer, 22-character body (CLOSE_API_NOTES §9).
_SHORT = frozenset({"actitype", "ev", "req", "seq", "sub", "outcome", "pipe", "media", "whsub", "tmpl"})


class IdFactory:
    """Make ids deterministically from a seed (the same seed gives the same ids).

    >>> IdFactory(1).new("acti")[:5], len(IdFactory(1).new("acti"))
    ('acti_', 48)
    """

    def __init__(self, seed: int | str) -> None:
        self._random = random.Random(seed)

    def new(self, prefix: str) -> str:
        """Return a fresh id such as ``acti_...`` (43 chars) or ``ev_...`` (22 chars)."""
        size = 22 if prefix in _SHORT else 43
        return f"{prefix}_" + "".join(self._random.choices(_ALPHABET, k=size))
