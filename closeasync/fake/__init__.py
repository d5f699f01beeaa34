"""An in-memory fake of Close: state, Close's rules, and ways to reach it.

``FakeClose`` holds one organization; ``fake.transport()`` reaches it in-process
and :func:`closeasync.fake.app.serve` over real HTTP on 127.0.0.1.
"""

from __future__ import annotations

from ._clock import DEFAULT_START, FakeClock
from ._http import FakeRequest, FakeResponse
from .core import DEFAULT_API_KEY, FakeClose
from .handlers.listing import ListRules
from .limits import Fault, Faults, RateLimits
from .router import Outcome
from .state import SentMessage
from .transport import FakeTransport

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_START",
    "FakeClock",
    "FakeClose",
    "FakeRequest",
    "FakeResponse",
    "FakeTransport",
    "Fault",
    "Faults",
    "ListRules",
    "Outcome",
    "RateLimits",
    "SentMessage",
]
