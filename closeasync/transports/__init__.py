"""Transports: how requests reach Close (or a stand-in for it).

The fake's in-process transport is :class:`closeasync.fake.FakeTransport`, made by
``FakeClose.transport()``.
"""

from __future__ import annotations

from ..pipeline.wire import Request, Response, Timeout
from .aiohttp import AiohttpTransport
from .base import Transport
from .cassette import MatchOptions, ScrubOptions
from .replay import CassetteTransport, RecordingTransport, RecordMode, ReplayTransport

__all__ = [
    "AiohttpTransport",
    "CassetteTransport",
    "MatchOptions",
    "RecordMode",
    "RecordingTransport",
    "ReplayTransport",
    "Request",
    "Response",
    "ScrubOptions",
    "Timeout",
    "Transport",
]
