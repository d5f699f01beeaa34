"""``CassetteConfig``, kept out of the plugin module so pytest's startup does not import it.

It needs attrs, the client (for the default base URL) and the cassette options, which
the pytest plugin (imported by every pytest run where closeasync is installed) must not
import until a test asks for ``close_cassette``.
"""

from __future__ import annotations

import attrs

from ..client import DEFAULT_BASE_URL
from ..transports.cassette import MatchOptions, ScrubOptions

__all__ = ["CassetteConfig"]


@attrs.frozen
class CassetteConfig:
    """How ``close_cassette`` records and replays; override the fixture to change it."""

    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    match: MatchOptions = attrs.field(factory=MatchOptions)
    scrub: ScrubOptions = attrs.field(factory=ScrubOptions)
    allow_unused: bool = True
