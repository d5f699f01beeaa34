"""Transports: how requests reach Close (or a stand-in for it).

A transport is one coroutine, ``send(Request) -> Response``, and ``aclose()`` (see
:class:`Transport`); :class:`Request` and :class:`Response` are the values it trades in.
The fake's in-process transport is :class:`closeasync.fake.FakeTransport`, made by
``FakeClose.transport()``. (``Timeout``, which a request carries, is ``closeasync.Timeout``.)
"""

from __future__ import annotations

from ..pipeline.wire import Request, Response
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
    "Transport",
]
